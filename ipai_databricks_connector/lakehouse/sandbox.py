"""The DuckDB sandbox: every connection of the lakehouse helpers opens here.

The SQL a Databricks Manager writes (view sources, job steps, quality rules, the
statements the local API server receives) runs inside the Odoo process, on the Odoo
host. DuckDB's defaults would let it read any file (``read_text('/proc/self/environ')``,
the vault key), write any path (``COPY ... TO``), ``ATTACH`` database files and
download extensions. So each connection:

- has external access disabled: no file system, no network, no ``ATTACH``;
- never installs or loads an extension, community or unsigned ones included;
- sees no Python variables (replacement scans are off): only what is registered;
- has a memory and thread limit, runs in UTC, and then locks its configuration, so
  the SQL cannot ``SET`` any of this back.

Delta tables reach it only as registered Arrow datasets (read by delta-rs/pyarrow).
Plain Python: no Odoo import.
"""

import os

import duckdb

# Settings applied at connect time (DuckDB refuses some of them once connected).
_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "python_enable_replacements": False,
}
DEFAULT_MEMORY_LIMIT = os.environ.get("IPAI_DUCKDB_MEMORY_LIMIT", "1GB")
DEFAULT_THREADS = int(os.environ.get("IPAI_DUCKDB_THREADS", "2"))


class SQLRefused(ValueError):
    """The SQL is not one SELECT statement, so it is never run."""


def connect(memory_limit=None, threads=None):
    """A locked-down in-memory DuckDB connection."""
    config = dict(_CONFIG, memory_limit=str(memory_limit or DEFAULT_MEMORY_LIMIT),
                  threads=int(threads or DEFAULT_THREADS))
    con = duckdb.connect(config=config)
    # The time zone needs the built-in ICU, which is set after connect; then nothing
    # the SQL says can change a setting again.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET lock_configuration = true")
    return con


def check_select(sql):
    """Return ``sql`` when it is exactly one SELECT statement; raise :class:`SQLRefused`
    (or DuckDB's ``ParserException`` when it does not parse).

    DuckDB's own parser decides (``extract_statements``), so comments, string
    literals and ``;`` inside them cannot fool a regular expression.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise SQLRefused("The SQL is empty.")
    if "\x00" in sql:
        raise SQLRefused("The SQL holds a NUL character.")
    con = duckdb.connect(config=dict(_CONFIG, threads=1))  # a parser only, never executes
    try:
        statements = con.extract_statements(sql)  # a syntax error raises ParserException
    finally:
        con.close()
    if len(statements) != 1:
        raise SQLRefused("The SQL must be exactly one SELECT statement; it holds %d statements."
                         % len(statements))
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise SQLRefused("The SQL must be a SELECT statement, not %s." % kind.name)
    return sql


__all__ = ["DEFAULT_MEMORY_LIMIT", "DEFAULT_THREADS", "SQLRefused", "check_select", "connect"]
