"""Local Delta Lake + DuckDB backend standing in for a Databricks SQL warehouse."""

import datetime as dt
import queue
import re
import threading

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

from . import dialect, sandbox
from .sql import is_identifier, qualify

_TOKEN = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|::|:([A-Za-z_]\w*)|[^'\":-]+|.", re.S
)


SQLRefused = sandbox.SQLRefused
BATCH_ROWS = 100_000  # rows per batch read from a Delta table and per result batch
_READ_BUFFER = 1 << 20  # Parquet pages are read through a 1 MiB buffer, not a whole column chunk


class DeltaStream:
    """A Delta table version as DuckDB scans it: every scan opens a fresh stream of batches
    of at most ``batch_size`` rows, read page by page from each Parquet file.

    A ``pyarrow.dataset`` scan decodes a whole row group before it slices it, so its memory
    grows with the row-group size (a 3M-row group: about 250 MB); ``ParquetFile.iter_batches``
    with a read buffer decodes ``batch_size`` rows at a time. Partition columns and columns a
    file lacks (added by a later schema change) come back as the dataset shows them.

    ``columns`` (names matched case-insensitively, unknown ones ignored) keeps only those
    columns, in the table's order, and reads only them: DuckDB pushes no projection into a
    stream. None keeps every column; an empty list (``count(*)``) keeps one column that costs
    nothing or little to read (a partition column, else the smallest in the Parquet file),
    since DuckDB refuses a stream without columns.
    """

    def __init__(self, dataset, batch_size=BATCH_ROWS, columns=None):
        self.dataset, self.batch_size = dataset, int(batch_size)
        schema = dataset.schema
        if columns is not None:
            wanted = {str(c).lower() for c in columns}
            kept = [f for f in schema if f.name.lower() in wanted] or [self._cheapest(schema)]
            schema = pa.schema(kept, metadata=schema.metadata)
        self.schema = schema

    def _cheapest(self, schema):
        """The field read at least cost when the query needs no column, only rows."""
        fragments = list(self.dataset.get_fragments())
        if not fragments:
            return schema.field(0)
        keys = pads.get_partition_keys(fragments[0].partition_expression) or {}
        source = self.dataset.filesystem.open_input_file(fragments[0].path)
        with pq.ParquetFile(source, pre_buffer=False) as parquet:
            meta, sizes = parquet.metadata, {}
            for group in range(meta.num_row_groups):
                for column in range(meta.num_columns):
                    chunk = meta.row_group(group).column(column)
                    top = chunk.path_in_schema.split(".")[0]
                    sizes[top] = sizes.get(top, 0) + chunk.total_compressed_size
            present = set(parquet.schema_arrow.names)
        for field in schema:
            if field.name in keys and field.name not in present:
                return field  # a partition value: not read from the files at all
        read = [f for f in schema if f.name in sizes]
        return min(read, key=lambda f: sizes[f.name]) if read else schema.field(0)

    def _file_batches(self, fragment):
        keys = pads.get_partition_keys(fragment.partition_expression) or {}
        source = self.dataset.filesystem.open_input_file(fragment.path)
        with pq.ParquetFile(source, pre_buffer=False, buffer_size=_READ_BUFFER) as parquet:
            present = set(parquet.schema_arrow.names)
            columns = [n for n in self.schema.names if n in present]
            # columns=[] reads no page, yet yields batches of the right number of rows
            for batch in parquet.iter_batches(self.batch_size, columns=columns,
                                              use_threads=False):
                arrays = []
                for field in self.schema:
                    if field.name in present:
                        array = batch.column(field.name)
                        arrays.append(array if array.type == field.type
                                      else array.cast(field.type))
                    elif keys.get(field.name) is not None:
                        arrays.append(pa.array([keys[field.name]] * batch.num_rows, field.type))
                    else:
                        arrays.append(pa.nulls(batch.num_rows, field.type))
                yield pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def batches(self):
        for fragment in self.dataset.get_fragments():
            yield from self._file_batches(fragment)

    def reader(self):
        return pa.RecordBatchReader.from_batches(self.schema, self.batches())

    def __arrow_c_stream__(self, requested_schema=None):
        return self.reader().__arrow_c_stream__(requested_schema)


def split_name(name):
    parts = name.split(".")
    if len(parts) != 3 or not all(is_identifier(p) for p in parts):
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


class _Pump:
    """The batches of a reader, read ahead in a thread of their own (at most ``depth``
    waiting), as a reader for delta-rs's writer.

    The writer pulls its input on a tokio worker; a :class:`DeltaStream` read there opens
    its Parquet files through delta-rs's own file system, which then blocks inside the
    runtime that drives it and panics ("Cannot start a runtime from within a runtime",
    seen from about a million rows). Read here, the files are opened outside it.
    """

    _END = object()

    def __init__(self, reader, depth=2):
        self.schema, self.error = reader.schema, None
        self._queue, self._stop = queue.Queue(maxsize=depth), threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(reader,), daemon=True,
                                        name="ipai-delta-pump")
        self._thread.start()

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, reader):
        try:
            for batch in reader:
                if not self._put(batch):
                    return
            item = self._END
        except Exception as exc:  # raised again on the writer's side
            item = self.error = exc
        self._put(item)

    def _batches(self):
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    def reader(self):
        return pa.RecordBatchReader.from_batches(self.schema, self._batches())

    def close(self):
        """Stop reading ahead (the writer is done, or gave up)."""
        self._stop.set()
        self._thread.join(timeout=5)


class LocalLakehouse:
    def __init__(self, root, storage_options=None, memory_limit=None, threads=None,
                 batch_size=BATCH_ROWS):
        self.root = str(root).rstrip("/")
        self.storage_options = storage_options or None
        self.memory_limit, self.threads = memory_limit, threads
        self.batch_size = int(batch_size)

    def table_uri(self, name):
        return "/".join([self.root, *split_name(name)])

    def _table(self, name):
        return DeltaTable(self.table_uri(name), storage_options=self.storage_options)

    def table_exists(self, name):
        return DeltaTable.is_deltatable(self.table_uri(name), self.storage_options)

    def stored_name(self, name):
        """``name`` as the lakehouse spells it: names are case-insensitive, as on
        Databricks, so ``LAB.GOLD.Sales`` finds the folder ``lab/gold/sales``. The
        folders are listed only when the name is not found as written."""
        if self.table_exists(name):
            return name
        fs, base = self._filesystem()
        found = []
        for part in split_name(name):
            infos = fs.get_file_info(pafs.FileSelector("/".join([base, *found]),
                                                       allow_not_found=True))
            match = sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory
                           and i.base_name.lower() == part.lower())
            if not match:
                return name
            found.append(match[0])
        return ".".join(found)

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
        pump = _Pump(data) if isinstance(data, pa.RecordBatchReader) else None
        try:
            write_deltalake(self.table_uri(name), pump.reader() if pump else data, mode=mode,
                            partition_by=partition_by, storage_options=self.storage_options,
                            commit_properties=commit,
                            schema_mode="overwrite" if mode == "overwrite" else None)
        except Exception:
            if pump and pump.error is not None:
                # the query's own error, not delta-rs's wrapping of it (a Python traceback)
                raise dialect.from_duckdb(pump.error) from None
            raise
        finally:
            if pump:
                pump.close()
        return self.table_version(name)

    def _filesystem(self):
        """``(pyarrow filesystem, path of the root in it)``: the local folder, or the
        bucket with the credentials delta-rs is given (``storage_options``)."""
        if "://" not in self.root:
            return pafs.LocalFileSystem(), self.root
        scheme, _sep, path = self.root.partition("://")
        if scheme not in ("s3", "s3a"):
            raise NotImplementedError("Listing tables needs a folder or an s3:// root.")
        opts = self.storage_options or {}
        endpoint = opts.get("AWS_ENDPOINT_URL") or ""
        endpoint_scheme, _sep, host = endpoint.rpartition("://")
        return pafs.S3FileSystem(
            access_key=opts.get("AWS_ACCESS_KEY_ID"), secret_key=opts.get("AWS_SECRET_ACCESS_KEY"),
            region=opts.get("AWS_REGION") or "us-east-1", endpoint_override=host or None,
            scheme=endpoint_scheme or "https", connect_timeout=10, request_timeout=60,
        ), path

    def list_tables(self):
        """Every ``catalog.schema.table`` under the root, in a folder or a bucket."""
        fs, base = self._filesystem()

        def folders(*parts):
            infos = fs.get_file_info(pafs.FileSelector("/".join([base, *parts]),
                                                       allow_not_found=True))
            # the API server's job files and sql_task folders are not identifiers
            return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory
                          and is_identifier(i.base_name))

        found = []
        for cat in folders():
            for sch in folders(cat):
                for tab in folders(cat, sch):
                    name = "%s.%s.%s" % (cat, sch, tab)
                    if self.table_exists(name):
                        found.append(name)
        return found

    def _version(self, name, travel):
        """The Delta table ``name``, at the version a time-travel clause asks for."""
        table = self._table(name)
        if not travel:
            return table
        kind, value = travel
        history = sorted(h["version"] for h in table.history())
        if kind == "VERSION":
            if value not in history:
                raise dialect.LocalSQLError(
                    "DELTA_VERSION_NOT_FOUND", "22003",
                    "Cannot time travel Delta table %s to version %s. Available versions: "
                    "[%s, %s]." % (name, value, history[0], history[-1]))
            table.load_as_version(value)
            return table
        try:
            when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise dialect.LocalSQLError(
                "INVALID_PARAMETER_VALUE", "22023",
                "The timestamp %r of TIMESTAMP AS OF cannot be read." % value) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)  # the session time zone is UTC
        commits = {h["version"]: h.get("timestamp") for h in table.history()}
        earliest = dt.datetime.fromtimestamp(commits[history[0]] / 1000, dt.UTC)
        latest = dt.datetime.fromtimestamp(commits[history[-1]] / 1000, dt.UTC)
        if when < earliest:
            raise dialect.LocalSQLError(
                "DELTA_TIMESTAMP_EARLIER_THAN_COMMIT_RETENTION", "42816",
                "The provided timestamp (%s) is before the earliest version available to "
                "this table (%s)." % (when.isoformat(), earliest.isoformat()))
        if when > latest:
            raise dialect.LocalSQLError(
                "DELTA_TIMESTAMP_GREATER_THAN_COMMIT", "42816",
                "The provided timestamp (%s) is after the latest version available to this "
                "table (%s)." % (when.isoformat(), latest.isoformat()))
        table.load_as_version(when)
        return table

    def _connect(self, sql, catalog=None, schema=None, batch_size=None, project=True):
        """A sandboxed connection where each Delta table the Databricks SQL names is a
        :class:`DeltaStream` of ``batch_size`` rows, and that SQL in DuckDB's dialect
        (see :mod:`.dialect`).

        Names resolve as on Databricks: ``catalog.schema.table``, or ``schema.table`` and
        ``table`` in the default ``catalog`` (and ``schema``); each table is registered
        under its own full name (``@v3`` for a version), so errors name it as written.
        With ``project``, each stream reads only the columns whose names the query holds
        (:func:`dialect.column_names`; every column after a star and the like).
        Returns (connection, duckdb sql, parameter names, {registered: written}, whether
        some table is read without some of its columns).
        """
        con = sandbox.connect(self.memory_limit, self.threads)
        datasets = {}

        def resolve(name, travel):
            key = name if not travel else "%s@%s" % (name, "v%s" % travel[1]
                                                      if travel[0] == "VERSION" else travel[1])
            if key not in datasets:
                stored = self.stored_name(name)
                if not self.table_exists(stored):
                    raise dialect.table_not_found(name)
                datasets[key] = self._version(stored, travel).to_pyarrow_dataset()
            return key

        try:
            final, params, names, columns = dialect.transpile(sql, resolve, catalog, schema)
            narrowed = False
            for key, dataset in datasets.items():
                # registered once: a self-join reads the union of the columns it uses
                stream = DeltaStream(dataset, batch_size or self.batch_size,
                                     columns if project else None)
                narrowed = narrowed or len(stream.schema) < len(dataset.schema)
                con.register(key, stream)
        except BaseException:
            con.close()
            raise
        return con, final, params, names, narrowed

    def execute(self, sql, parameters=None, catalog=None, schema=None, batch_size=None):
        """Run one Databricks SQL SELECT (or ``SHOW TABLES`` / ``DESCRIBE HISTORY``);
        returns a streaming ``pyarrow.RecordBatchReader`` of batches of at most
        ``batch_size`` rows (default: the lakehouse's), whatever the Parquet row groups are.
        Each Delta table is read for the columns the query uses only.

        Anything else raises :class:`sandbox.SQLRefused` before it runs; SQL errors are
        :class:`dialect.LocalSQLError` (Databricks error classes), naming tables as written.
        """
        batch_size = int(batch_size or self.batch_size)
        native = self._native(sql, catalog, schema)
        if native is not None:
            return native.to_reader(batch_size)
        con, final, used, names, narrowed = self._connect(sql, catalog, schema, batch_size)
        sandbox.check_select(final)  # DuckDB's own parser: exactly one SELECT
        params = {k: v for k, v in (parameters or {}).items() if k in used}
        try:
            try:
                rel = con.sql(final, params=params or None)
            except duckdb.BinderException:
                if not narrowed:
                    raise
                # an unknown column (or a use the names missed): bound again on every
                # column, so the error (its candidate columns) or result is the full one
                con.close()
                con = self._connect(sql, catalog, schema, batch_size, project=False)[0]
                rel = con.sql(final, params=params or None)
            return rel.to_arrow_reader(batch_size)  # streamed batch by batch, bounded memory
        except duckdb.Error as exc:
            raise dialect.from_duckdb(exc, names) from None

    def _native(self, sql, catalog=None, schema=None):
        """``SHOW TABLES`` and ``DESCRIBE HISTORY``, answered from the Delta log."""
        shown = dialect.show_tables(sql)
        if shown is not None:
            where, pattern = shown
            if where and "." not in where:
                where = "%s.%s" % (catalog, where) if catalog else None
            where = where or (catalog and schema and "%s.%s" % (catalog, schema))
            if not where:
                raise dialect.LocalSQLError("INVALID_PARAMETER_VALUE", "22023",
                                            "SHOW TABLES needs IN catalog.schema here.")
            rows = [t.split(".") for t in self.list_tables() if t.startswith(where + ".")]
            rows = [r for r in rows if not pattern or dialect.like(pattern, r[2])]
            return pa.table({"database": pa.array([r[1] for r in rows], pa.string()),
                             "tableName": pa.array([r[2] for r in rows], pa.string()),
                             "isTemporary": pa.array([False] * len(rows), pa.bool_())})
        described = dialect.describe_history(sql)
        if described is not None:
            written, limit = described
            name = qualify(written.split("."), catalog, schema)
            name = name and self.stored_name(name)
            if not name or not self.table_exists(name):
                raise dialect.table_not_found(written)
            history = self._table(name).history(limit)
            return pa.table({
                "version": pa.array([h.get("version") for h in history], pa.int64()),
                "timestamp": pa.array([dt.datetime.fromtimestamp(h["timestamp"] / 1000, dt.UTC)
                                       if h.get("timestamp") else None for h in history],
                                      pa.timestamp("ms", tz="UTC")),
                "operation": pa.array([h.get("operation") for h in history], pa.string()),
                "operationParameters": pa.array(
                    [{k: str(v) for k, v in (h.get("operationParameters") or {}).items()}
                     for h in history], pa.map_(pa.string(), pa.string())),
                "readVersion": pa.array([h.get("readVersion") for h in history], pa.int64()),
                "isBlindAppend": pa.array([h.get("isBlindAppend") for h in history],
                                          pa.bool_()),
                "engineInfo": pa.array([h.get("engineInfo") or h.get("clientVersion")
                                        for h in history], pa.string()),
            })
        return None

    def schema(self, sql, parameters=None, catalog=None, schema=None):
        return self.execute(sql, parameters, catalog, schema).schema

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


__all__ = ["BATCH_ROWS", "DeltaStream", "LocalLakehouse", "SQLRefused", "pa", "split_name",
           "translate_params"]
