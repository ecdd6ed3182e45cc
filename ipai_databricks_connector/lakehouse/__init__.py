"""Plain-Python lakehouse helpers (no Odoo import): local Delta Lake backend, Databricks
Statement Execution and Jobs client, local Databricks-compatible API server, data-quality
rules and the demo dataset."""

import os

# Odoo caps each worker's *virtual* memory (limit_memory_hard, RLIMIT_AS, 2.5 GB by
# default). Arrow's default jemalloc pool reserves about 1 GB of address space on first
# use, enough for a delta-rs + DuckDB read to hit MemoryError under that cap; the system
# allocator reserves nothing up front. It must be chosen before pyarrow is imported.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
