"""Local Delta Lake + DuckDB backend standing in for a Databricks SQL warehouse."""

import os
import re

import duckdb
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

from . import sandbox

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_NAME3 = re.compile(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b")
_SHORT_NAME = re.compile(r"(?i)\b(?:from|join)\s+([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?\b(?!\.)")
_TOKEN = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|::|:([A-Za-z_]\w*)|[^'\":-]+|.", re.S
)


SQLRefused = sandbox.SQLRefused


def split_name(name):
    parts = name.split(".")
    if len(parts) != 3 or not all(_IDENT.match(p) for p in parts):
        raise ValueError("Table name must be catalog.schema.table: %r" % name)
    return parts


def translate_params(sql):
    """Translate Databricks ``:name`` markers to DuckDB ``$name`` outside literals."""
    out = []
    for match in _TOKEN.finditer(sql):
        if match.group(1) and not match.group(0).startswith(("'", '"', "--")):
            out.append("$" + match.group(1))
        else:
            out.append(match.group(0))
    return "".join(out)


class LocalLakehouse:
    def __init__(self, root, storage_options=None, memory_limit=None, threads=None):
        self.root = str(root).rstrip("/")
        self.storage_options = storage_options or None
        self.memory_limit, self.threads = memory_limit, threads

    def table_uri(self, name):
        return "/".join([self.root, *split_name(name)])

    def _table(self, name):
        return DeltaTable(self.table_uri(name), storage_options=self.storage_options)

    def table_exists(self, name):
        return DeltaTable.is_deltatable(self.table_uri(name), self.storage_options)

    def table_version(self, name):
        return self._table(name).version()

    def history(self, name):
        return [
            {"version": h.get("version"), "timestamp": h.get("timestamp"),
             "operation": h.get("operation")}
            for h in self._table(name).history()
        ]

    def committed_version(self, name, txn):
        """The table version written by transaction ``txn``, or None if it never ran."""
        if not (txn and self.table_exists(name)):
            return None
        table = self._table(name)
        if table.transaction_version(txn) is None:
            return None
        found = [h.get("version") for h in table.history() if h.get("ipai_txn") == txn]
        return found[0] if found else table.version()

    def write_table(self, name, data, mode="overwrite", partition_by=None, txn=None):
        """Write ``data``; returns the new version.

        ``txn`` makes the write idempotent: a second write with the same id (a job run
        again after its worker died) writes nothing and returns the first one's version.
        It is a Delta application transaction, recorded in the commit itself.
        """
        if mode not in ("overwrite", "append"):
            raise ValueError("mode must be overwrite or append")
        done = self.committed_version(name, txn)
        if done is not None:
            return done
        commit = None
        if txn:
            commit = CommitProperties(custom_metadata={"ipai_txn": txn},
                                      app_transactions=[Transaction(app_id=txn, version=1)])
        write_deltalake(self.table_uri(name), data, mode=mode, partition_by=partition_by,
                        storage_options=self.storage_options, commit_properties=commit,
                        schema_mode="overwrite" if mode == "overwrite" else None)
        return self.table_version(name)

    def list_tables(self):
        if "://" in self.root:
            raise NotImplementedError("list_tables is only implemented for local roots")
        found = []
        for cat in sorted(os.listdir(self.root)) if os.path.isdir(self.root) else []:
            for sch in sorted(os.listdir(os.path.join(self.root, cat))):
                for tab in sorted(os.listdir(os.path.join(self.root, cat, sch))):
                    name = "%s.%s.%s" % (cat, sch, tab)
                    if _IDENT.match(cat) and self.table_exists(name):
                        found.append(name)
        return found

    def _connect(self, sql, catalog=None, schema=None):
        """A sandboxed connection where each Delta table named in ``sql`` is an Arrow dataset.

        ``catalog.schema.table`` names are rewritten to registered views; with a default
        ``catalog`` (and ``schema``), ``schema.table`` (and ``table``) names after FROM or
        JOIN resolve as on Databricks. Returns (connection, sql, {view: table name}).
        """
        con = sandbox.connect(self.memory_limit, self.threads)
        names = {".".join(m.groups()) for m in _NAME3.finditer(sql)}
        rewritten, aliases = sql, {}
        for i, name in enumerate(sorted(names, key=len, reverse=True)):
            if not self.table_exists(name):
                continue
            view = "__t%d" % i
            con.register(view, self._table(name).to_pyarrow_dataset())
            rewritten = re.sub(r"\b%s\b" % re.escape(name), view, rewritten)
            aliases[view] = name
        if catalog and _IDENT.match(catalog):
            for match in _SHORT_NAME.finditer(rewritten):
                first, second = match.group(1), match.group(2)
                if second:  # schema.table in the default catalog
                    full, view, where = f"{catalog}.{first}.{second}", f"__s_{first}_{second}", \
                        f'"{first}"."{second}"'
                elif schema and _IDENT.match(schema):
                    full, view, where = f"{catalog}.{schema}.{first}", f"__s_{first}", \
                        f'"{first}"'
                else:
                    continue
                if view in aliases or first.startswith("__t") or not self.table_exists(full):
                    continue
                con.register(view, self._table(full).to_pyarrow_dataset())
                if second:
                    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{first}"')
                con.execute(f"CREATE VIEW {where} AS SELECT * FROM {view}")  # noqa: S608
                aliases[view] = full
        return con, rewritten, aliases

    def execute(self, sql, parameters=None, catalog=None, schema=None):
        """Run one SELECT; returns a streaming ``pyarrow.RecordBatchReader``.

        Anything but exactly one SELECT raises :class:`sandbox.SQLRefused` before it runs.
        Error messages name the tables as the SQL does, never the registered views.
        """
        con, rewritten, aliases = self._connect(sql, catalog, schema)
        final = sandbox.check_select(translate_params(rewritten))
        params = dict(parameters or {})
        try:
            rel = con.sql(final, params=params or None)
        except duckdb.Error as exc:
            text = str(exc)
            for view, name in sorted(aliases.items(), key=lambda kv: -len(kv[0])):
                text = text.replace(view, name)
            raise type(exc)(text) from None
        return rel.to_arrow_reader(100_000)  # streamed batch by batch, bounded memory

    def schema(self, sql, parameters=None):
        return self.execute(sql, parameters).schema

    def run_step(self, select_sql, target, mode="overwrite", parameters=None, txn=None):
        """Run a SELECT over Delta tables and write its result to ``target``.

        This is a local medallion job step; returns the new Delta version.
        The reader is streamed into delta-rs, so memory stays bounded. With ``txn``,
        a step that already committed is not run again (see :meth:`write_table`).
        """
        done = self.committed_version(target, txn)
        if done is not None:
            return done
        reader = self.execute(select_sql, parameters)
        return self.write_table(target, reader, mode=mode, txn=txn)


__all__ = ["LocalLakehouse", "SQLRefused", "pa", "split_name", "translate_params"]
