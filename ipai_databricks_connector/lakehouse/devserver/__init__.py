"""A local HTTP server speaking the documented Databricks REST API over ``LocalLakehouse``.

It stands in for a workspace in tests, demos and benchmarks: Statement Execution API 2.0
(INLINE / EXTERNAL_LINKS, chunking, links that expire), Jobs 2.1/2.2 with SQL-file tasks
(run-now, one-time submit, idempotency tokens, repair, output per task run), a SQL
warehouse that starts and stops, clusters listings, the current user, and faults on
demand. Plain Python: no Odoo import, only stdlib + pyarrow + duckdb + deltalake::

    server = DatabricksApiServer(root, token="dapi-test").start()
    ...  # talk to server.url with "Authorization: Bearer dapi-test"
    server.stop()

Files: ``server.py`` (HTTP plumbing, auth, routing, faults, purge), ``statements.py``,
``jobs.py``, ``warehouses.py`` (one API area each, as mixins of the server),
``encoding.py`` (types and values as a warehouse sends them), ``errors.py``, ``cli.py``
(``python -m lakehouse.devserver``).
"""

from .cli import main
from .errors import ApiError
from .server import DatabricksApiServer

__all__ = ["ApiError", "DatabricksApiServer", "main"]
