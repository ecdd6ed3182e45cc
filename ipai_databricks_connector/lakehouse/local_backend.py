"""Local Delta Lake + DuckDB backend standing in for a Databricks SQL warehouse."""

import datetime as dt
import json
import math
import queue
import re
import threading
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import CommitFailedError

from . import dialect, pruning, sandbox
from .sql import is_identifier, qualify

_TOKEN = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|::|:([A-Za-z_]\w*)|[^'\":-]+|.", re.S
)


SQLRefused = sandbox.SQLRefused
BATCH_ROWS = 100_000  # rows per batch read from a Delta table and per result batch
_READ_BUFFER = 1 << 20  # Parquet pages are read through a 1 MiB buffer, not a whole column chunk
_EPOCH_DATE = dt.date(1970, 1, 1)
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICRO = dt.timedelta(microseconds=1)
# A numeric literal may be compared as a DOUBLE (an exponent, a BIGINT beside a decimal):
# widened by far more than a double's rounding, a bound never excludes a row that matches.
_SLACK = Decimal("1e-9")
_TINY = Decimal("1e-300")  # below it a double may round to 0
# microseconds one unit of a timestamp column spans: a literal may be truncated to it
_UNIT_SLACK = {"s": 1_000_000, "ms": 1_000, "us": 0, "ns": 1}
_FAMILY = {"int": "number", "decimal": "number", "float": "number", "string": "string",
           "date": "date", "timestamp": "timestamp"}


class _Unsure(Exception):
    """A value the pruning cannot place for sure: that predicate is not used."""


def _kind(type_):
    """The family a column is pruned in, or None (never pruned on)."""
    if pa.types.is_signed_integer(type_):
        return "int"
    if pa.types.is_decimal(type_):
        return "decimal"
    if pa.types.is_float64(type_):  # not float32: DuckDB rounds a literal to it
        return "float"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "string"  # compared as UTF-8 bytes, as DuckDB and Parquet statistics do
    if pa.types.is_date32(type_):
        return "date"  # days since 1970-01-01
    if pa.types.is_timestamp(type_):
        return "timestamp"  # microseconds since 1970-01-01 UTC (the session runs in UTC)
    return None


def _micros(value):
    if value.tzinfo is None:
        return (value - _EPOCH) // _MICRO  # a TIMESTAMP is read as UTC, the session's zone
    return (value - _EPOCH_UTC) // _MICRO


def _exact(kind, value):
    """A partition value (or a constant column) in its family's form; None is NULL."""
    if value is None:
        return None
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "decimal" and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return value
    if kind == "float" and isinstance(value, float) and not math.isnan(value):
        return value
    if kind == "string" and isinstance(value, str):
        return value.encode("utf-8")
    if kind == "date" and type(value) is dt.date:
        return (value - _EPOCH_DATE).days
    if kind == "timestamp" and isinstance(value, dt.datetime):
        return _micros(value)
    raise _Unsure


class Predicate:
    """``field op values``, every row a query needs satisfying it (see
    :func:`pruning.predicates`), with its operands in the column's family: each value an
    interval ``(low, high)`` the literal lies in (a point but for numbers, widened by
    ``_SLACK``, and coarse timestamps), or None for a NULL literal."""

    __slots__ = ("field", "kind", "op", "values")

    def __init__(self, field, kind, op, values):
        self.field, self.kind, self.op, self.values = field, kind, op, values

    def __repr__(self):
        return "Predicate(%r, %r, %r)" % (self.field, self.op, self.values)

    def may_match(self, low, high, nulls, rows, exact=False):
        """Whether some row of a part may satisfy it: its values lie in ``[low, high]``
        (None: unknown), ``nulls`` of its ``rows`` are NULL (None: unknown). Not
        ``exact`` (Parquet statistics): a float column may hold NaN beyond its maximum
        (NaN is the greatest value, and no writer counts it), a string maximum may be a
        truncated prefix."""
        op = self.op
        if op == "null":
            return nulls is None or nulls > 0
        if op == "notnull":
            return nulls is None or nulls < rows
        if nulls is not None and nulls >= rows:
            return False  # only NULLs: no comparison is true
        values = self.values
        if op == "in":
            values = [v for v in values if v is not None]
            if not values:
                return False
        elif None in values:
            return False  # compared with NULL: never true
        if low is None or high is None or op == "<>":
            return True
        nan = self.kind == "float" and not exact
        prefix = self.kind == "string" and not exact

        def reaches(v):  # some non-NaN value of the part may be >= v
            return high >= v or (prefix and v.startswith(high))

        if op in ("=", "in"):
            return any(low <= hi and reaches(lo) for lo, hi in values)
        if op == "between":
            (lo, _hi), (_lo, hi) = values
            return lo <= hi and low <= hi and reaches(lo)
        if op in ("<", "<="):
            return low < values[0][1] if op == "<" else low <= values[0][1]
        if nan:
            return True  # NaN > anything
        return reaches(values[0][0])


def _exact_number(kind, number, value, scale):
    """Whether DuckDB compares this number with the column exactly (as integers or
    decimals), not as a DOUBLE: then the bound needs no slack."""
    if isinstance(value, float) or (isinstance(value, str) and "e" in value.lower()):
        return False  # a DOUBLE
    digits = len(number.as_tuple().digits)
    if kind == "int":
        return number == number.to_integral_value() and abs(number) < 2**63
    return kind == "decimal" and digits <= 18 and -number.as_tuple().exponent <= scale


def _operand(kind, operand, parameters, evaluate, unit_slack, scale=0):
    """A literal from :func:`pruning.predicates` as an interval of ``kind``'s form, or None
    for NULL; :class:`_Unsure` when it is not of the column's family or cannot be read."""
    what, value = operand
    if what == "null":
        return None
    python = what == "param"
    if python:
        if value not in parameters:
            raise _Unsure
        value = parameters[value]
        if value is None or isinstance(value, bool):
            raise _Unsure
        if isinstance(value, dt.datetime):
            what = "timestamp"
        elif isinstance(value, dt.date):
            what = "date"
        elif isinstance(value, (int, float, Decimal)):
            what = "number"
        elif isinstance(value, str):
            what = "string"
        else:
            raise _Unsure
    if _FAMILY[kind] != what:
        raise _Unsure  # Databricks would cast one side: not placed for sure
    try:
        if what == "number":
            number = Decimal(value)
            if not number.is_finite():
                raise _Unsure
            if _exact_number(kind, number, value, scale):
                return number, number
            slack = abs(number) * _SLACK + (_TINY if kind == "float" else 0)
            return number - slack, number + slack
        if what == "string":
            raw = value.encode("utf-8")
            return raw, raw
        if what == "date":
            day = (value - _EPOCH_DATE).days if python else \
                evaluate("date_diff('day', DATE '1970-01-01', %s)" % value)
        else:  # DuckDB reads the literal as the query does (time zone, formats)
            day = _micros(value) if python else evaluate("epoch_us(%s)" % value)
    except (ArithmeticError, ValueError, TypeError, UnicodeError, duckdb.Error):
        raise _Unsure from None
    if not isinstance(day, int) or isinstance(day, bool):
        raise _Unsure
    return day - unit_slack, day + unit_slack


def bind_predicates(found, schema, parameters=None, evaluate=None):
    """The :class:`Predicate` list of ``found`` (:func:`pruning.predicates` of one table)
    on a table of ``schema``: top-level columns matched case-insensitively, operands of
    their family only; anything else is left out. ``evaluate(duckdb_sql)`` gives the
    value of a DATE / TIMESTAMP literal as DuckDB reads it."""
    fields = {f.name.lower(): f for f in schema}
    out = []
    for column, op, operands in found or ():
        field = fields.get(column)
        kind = _kind(field.type) if field is not None else None
        if kind is None:
            continue
        slack = _UNIT_SLACK.get(field.type.unit, 1_000_000) if kind == "timestamp" else 0
        scale = field.type.scale if kind == "decimal" else 0
        try:
            values = [_operand(kind, o, parameters or {}, evaluate, slack, scale)
                      for o in operands]
        except _Unsure:
            continue
        out.append(Predicate(field.name, kind, op, values))
    return out


def _chunk_range(kind, chunk, logical):
    """``(low, high, nulls)`` of a column chunk from its Parquet statistics, in ``kind``'s
    form; None where they are missing or not of a type read here for sure."""
    stats = chunk.statistics
    if stats is None:
        return None, None, None
    nulls = stats.null_count if stats.has_null_count else None
    if not stats.has_min_max:
        return None, None, nulls
    physical, logical_type = chunk.physical_type, logical.get("Type")
    try:
        if kind == "int" and physical in ("INT32", "INT64") and logical_type in ("None", "Int") \
                and logical.get("isSigned", True):
            low, high = stats.min, stats.max
        elif kind == "decimal" and logical_type == "Decimal":
            low, high = stats.min, stats.max
        elif kind == "float" and physical == "DOUBLE" and logical_type == "None":
            low, high = stats.min, stats.max
            if math.isnan(low) or math.isnan(high):
                return None, None, nulls
        elif kind == "string" and physical == "BYTE_ARRAY" and logical_type == "String":
            low, high = stats.min_raw, stats.max_raw  # bytes: a truncated max may not decode
        elif kind == "date" and physical == "INT32" and logical_type == "Date":
            low, high = stats.min_raw, stats.max_raw
        elif kind == "timestamp" and physical == "INT64" and logical_type == "Timestamp":
            per = {"milliseconds": 1_000, "microseconds": 1, "nanoseconds": -1_000}.get(
                logical.get("timeUnit"))
            if per is None:
                return None, None, nulls
            low, high = stats.min_raw, stats.max_raw
            # nanoseconds: the microseconds around them, whichever way DuckDB truncates
            low, high = (low * per, high * per) if per > 0 else (low // 1000, -(-high // 1000))
        else:
            return None, None, nulls
    except (ValueError, TypeError, ArithmeticError, UnicodeError):
        return None, None, nulls
    if low is None or high is None or isinstance(low, bool) or low > high:
        return None, None, nulls
    return low, high, nulls


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

    ``where`` (:class:`Predicate` list, every row the query needs satisfies each) skips the
    files whose partition values, and the row groups whose Parquet statistics, prove that
    no row of theirs can (DuckDB pushes no filter into a stream; it still applies the whole
    WHERE). ``partitions``: the Delta partition columns, whose values come from the Delta
    log (the file path), never from the file.
    """

    def __init__(self, dataset, batch_size=BATCH_ROWS, columns=None, where=None,
                 partitions=None):
        self.dataset, self.batch_size = dataset, int(batch_size)
        self.where, self.partitions = list(where or ()), set(partitions or ())
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

    def _constant_may_match(self, keys, present=None):
        """Whether the columns that are constant in a file (a partition value; NULL for a
        column the file lacks) let some row match; ``present`` None: partitions only."""
        for pred in self.where:
            if pred.field in self.partitions:
                value = keys.get(pred.field)
            elif present is None or pred.field in present:
                continue
            else:  # as _file_batches fills it
                value = keys.get(pred.field)
            try:
                value = _exact(pred.kind, value)
            except _Unsure:
                continue
            if value is None and not pred.may_match(None, None, 1, 1, exact=True):
                return False
            if value is not None and not pred.may_match(value, value, 0, 1, exact=True):
                return False
        return True

    def _row_groups(self, parquet, present):
        """The row groups of a file whose statistics allow some row to match (None: all)."""
        meta = parquet.metadata
        columns = {meta.schema.column(j).path: j for j in range(meta.num_columns)}
        checks = []
        for pred in self.where:
            j = columns.get(pred.field)
            if pred.field in self.partitions or pred.field not in present or j is None \
                    or _kind(parquet.schema_arrow.field(pred.field).type) != pred.kind:
                continue  # a constant, a nested column, or a type changed since: read
            checks.append((pred, j, json.loads(meta.schema.column(j).logical_type.to_json())))
        if not checks:
            return None
        kept = []
        for group in range(meta.num_row_groups):
            row_group = meta.row_group(group)
            if all(pred.may_match(*_chunk_range(pred.kind, row_group.column(j), logical),
                                  row_group.num_rows) for pred, j, logical in checks):
                kept.append(group)
        return None if len(kept) == meta.num_row_groups else kept

    def _file_batches(self, fragment):
        keys = pads.get_partition_keys(fragment.partition_expression) or {}
        if self.where and not self._constant_may_match(keys):
            return  # a partition no row of which can match: the file is not opened
        source = self.dataset.filesystem.open_input_file(fragment.path)
        with pq.ParquetFile(source, pre_buffer=False, buffer_size=_READ_BUFFER) as parquet:
            present = set(parquet.schema_arrow.names) - self.partitions
            groups = None
            if self.where:
                if not self._constant_may_match(keys, present):
                    return
                groups = self._row_groups(parquet, present)
                if groups == []:
                    return  # no row group can match: only the footer was read
            columns = [n for n in self.schema.names if n in present]
            # columns=[] reads no page, yet yields batches of the right number of rows
            for batch in parquet.iter_batches(self.batch_size, row_groups=groups,
                                              columns=columns, use_threads=False):
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


def _closing(reader, con, names):
    """``reader``, closing ``con`` once its last batch is read, on its first error, or
    when it is dropped unread. An error DuckDB meets while it streams (a DIVIDE_BY_ZERO
    at row 900,000) is a :class:`dialect.LocalSQLError` too, as it is before."""

    def batches():
        try:
            yield from reader
        except (pa.ArrowException, OSError) as exc:  # DuckDB's errors reach Arrow as IOError
            raise dialect.from_duckdb(exc, names) from None
        finally:
            con.close()

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


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
        """``name`` as the lakehouse spells it, or None when there is no such table: names
        are case-insensitive, as on Databricks, so ``LAB.GOLD.Sales`` finds the folder
        ``lab/gold/sales``. The folders are listed only when the name is not found as
        written."""
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
                return None
            found.append(match[0])
        stored = ".".join(found)
        return stored if stored != name and self.table_exists(stored) else None

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
        name = txn and self.stored_name(name)
        if not name:
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
        # DEMO.Silver.Sales is the table demo.silver.sales, as on Databricks: never a twin
        name = self.stored_name(name) or name
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
        except CommitFailedError as exc:  # another writer committed to the table first
            raise dialect.delta_conflict(exc, name) from None
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

    def _connect(self, sql, catalog=None, schema=None, batch_size=None, project=True,
                 prune=True, parameters=None):
        """A sandboxed connection where each Delta table the Databricks SQL names is a
        :class:`DeltaStream` of ``batch_size`` rows, and that SQL in DuckDB's dialect
        (see :mod:`.dialect`).

        Names resolve as on Databricks: ``catalog.schema.table``, or ``schema.table`` and
        ``table`` in the default ``catalog`` (and ``schema``); each table is registered
        under its own full name (``@v3`` for a version), so errors name it as written.
        With ``project``, each stream reads only the columns whose names the query holds
        (:func:`dialect.column_names`; every column after a star and the like). With
        ``prune``, each stream skips the partitions and row groups that the WHERE's simple
        predicates on it exclude (:func:`pruning.predicates`, ``parameters`` bound).
        Returns (connection, duckdb sql, parameter names, {registered: written}, whether
        some table is read without some of its columns).
        """
        con = sandbox.connect(self.memory_limit, self.threads)
        datasets, partitions, keys = {}, {}, {}

        def resolve(name, travel):
            written = travel
            if travel and isinstance(travel[1], dialect.TravelExpression):
                travel = (travel[0], travel_value(*travel))
            key = name if not travel else "%s@%s" % (name, "v%s" % travel[1]
                                                      if travel[0] == "VERSION" else travel[1])
            if key not in datasets:
                stored = self.stored_name(name)
                if stored is None:
                    raise dialect.table_not_found(name)
                table = self._version(stored, travel)
                datasets[key] = table.to_pyarrow_dataset()
                partitions[key] = table.metadata().partition_columns
            keys[name, written] = key
            return key

        def evaluate(literal):  # a DATE / TIMESTAMP literal as this session reads it
            return con.execute("SELECT " + literal).fetchall()[0][0]  # the result done

        def travel_value(kind, select):  # e.g. current_timestamp() - INTERVAL 1 DAY
            missing = [k for k in select.params if k not in (parameters or {})]
            if missing:
                raise dialect.LocalSQLError(
                    "UNBOUND_SQL_PARAMETER", "42P02",
                    "Found the unbound parameter: %s." % missing[0])
            try:
                value = con.execute(select, {k: parameters[k] for k in select.params}
                                    or None).fetchall()[0][0]
            except duckdb.Error as exc:  # said of the clause, not of the SELECT behind it
                error = dialect.from_duckdb(exc)
                detail = re.sub(r"^[A-Za-z ]+ Error: ", "", str(exc).strip()).splitlines()[0]
                raise dialect.LocalSQLError(
                    error.error_class, error.sql_state,
                    "The %s AS OF expression cannot be evaluated: %s" % (kind, detail)) from None
            if value is None:
                raise dialect.LocalSQLError(
                    "INVALID_PARAMETER_VALUE", "22023",
                    "The %s AS OF expression is NULL." % kind)
            return int(value) if kind == "VERSION" else value.isoformat()

        try:
            final, params, names, columns = dialect.transpile(
                sql, resolve, catalog, schema, schemas=lambda key: datasets[key].schema)
            where = {}
            if prune:
                for found_key, found in pruning.predicates(sql, catalog, schema).items():
                    if found_key in keys:
                        where[keys[found_key]] = found
            narrowed = False
            for key, dataset in datasets.items():
                # registered once: a self-join reads the union of the columns it uses
                stream = DeltaStream(
                    dataset, batch_size or self.batch_size, columns if project else None,
                    where=bind_predicates(where.get(key), dataset.schema, parameters,
                                          evaluate),
                    partitions=partitions[key])
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
        Each Delta table is read for the columns the query uses only, skipping the
        partitions and row groups its WHERE excludes.

        Anything else raises :class:`sandbox.SQLRefused` before it runs; SQL errors are
        :class:`dialect.LocalSQLError` (Databricks error classes), naming tables as written.
        """
        batch_size = int(batch_size or self.batch_size)
        native = self._native(sql, catalog, schema)
        if native is not None:
            return native.to_reader(batch_size)
        con, final, used, names, narrowed = self._connect(sql, catalog, schema, batch_size,
                                                          parameters=parameters)
        params = {k: v for k, v in (parameters or {}).items() if k in used}
        try:
            dialect.check_duckdb(final)  # DuckDB's own parser: exactly one SELECT
            try:
                rel = con.sql(final, params=params or None)
            except duckdb.BinderException:
                if not narrowed:
                    raise
                # an unknown column (or a use the names missed): bound again on every
                # column, so the error (its candidate columns) or result is the full one
                con.close()
                con = self._connect(sql, catalog, schema, batch_size, project=False,
                                    parameters=parameters)[0]
                rel = con.sql(final, params=params or None)
            rel = dialect.databricks_types(rel)
            # streamed batch by batch, bounded memory
            reader = dialect.databricks_intervals(rel.to_arrow_reader(batch_size), sql)
        except BaseException as exc:
            # Closed now, not when the traceback's frames are collected: each connection
            # is a DuckDB instance with its own threads and memory.
            con.close()
            if isinstance(exc, duckdb.Error):
                raise dialect.from_duckdb(exc, names) from None
            raise
        return _closing(reader, con, names)

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
            if not name:
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


__all__ = ["BATCH_ROWS", "DeltaStream", "LocalLakehouse", "Predicate", "SQLRefused",
           "bind_predicates", "pa", "split_name", "translate_params"]
