"""Plain-Python lakehouse helpers (no Odoo import): local Delta Lake backend, Databricks
Statement Execution and Jobs client, local Databricks-compatible API server, data-quality
rules and the demo dataset."""
