"""Stream Arrow record batches into PostgreSQL ``COPY ... FROM STDIN (FORMAT csv)``.

One COPY for the whole result, fed from a file-like object that converts one
record batch at a time: memory stays at about one batch whatever the table size.
"""

import io
import json
import re

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

_CSV_OPTIONS = csv.WriteOptions(include_header=False)


def _csv_safe(column):
    """Types the CSV writer cannot write (lists, structs, maps, binary) become JSON text."""
    t = column.type
    if isinstance(t, pa.ExtensionType):  # e.g. a Databricks interval: its printed text
        return _csv_safe(column.storage)
    if pa.types.is_timestamp(t) and t.tz:
        # Odoo stores naive UTC datetimes.
        return pc.cast(column, pa.timestamp(t.unit))
    if (pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t)
            or pa.types.is_dictionary(t)):
        return pa.array([None if v is None else json.dumps(v, default=str)
                         for v in column.to_pylist()], pa.string())
    return column


_IOTA = pa.array([], pa.int64())  # 0, 1, 2, ...: grown on demand, shared by every load


def _ids(first, count):
    """``first .. first + count - 1`` as int64, vectorized (``pa.array(range(...))``
    converts one Python int at a time: ~70 ms per million rows)."""
    global _IOTA  # a cache; replacing it is atomic
    iota = _IOTA
    if len(iota) < count:
        iota = _IOTA = pa.array(range(max(count, 2 * len(iota))), pa.int64())
    return pc.add(iota.slice(0, count), pa.scalar(first, pa.int64()))


def _strip_nul(column, name, report):
    """PostgreSQL text cannot hold NUL (COPY rejects the whole load): drop them and
    count them per column in ``report``."""
    t = column.type
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return column
    found = pc.count_substring(column, "\x00")
    total = pc.sum(found).as_py() or 0
    if not total:
        return column
    report[name] = report.get(name, 0) + total
    return pc.replace_substring(column, "\x00", "")


def with_ids(batches, first_id, nul_report=None):
    """Prepend an ``id`` column numbered from ``first_id`` (the rows of the Odoo model).

    NUL characters in text are removed; ``nul_report`` (a dict) receives how many
    were removed per column.
    """
    report = {} if nul_report is None else nul_report
    next_id = first_id
    for batch in batches:
        if not batch.num_rows:
            continue
        ids = _ids(next_id, batch.num_rows)
        next_id += batch.num_rows
        columns = [ids] + [_strip_nul(_csv_safe(c), n, report)
                           for c, n in zip(batch.columns, batch.schema.names, strict=True)]
        yield pa.RecordBatch.from_arrays(columns, names=["id", *batch.schema.names])


class CopyStream(io.RawIOBase):
    """A read-only file over CSV chunks made lazily from record batches."""

    def __init__(self, batches):
        self._batches = iter(batches)
        self._chunk = memoryview(b"")
        self._pos = 0
        self.rows = 0

    def readable(self):
        return True

    def _next_chunk(self):
        for batch in self._batches:
            self.rows += batch.num_rows
            out = io.BytesIO()
            csv.write_csv(pa.Table.from_batches([batch]), out, _CSV_OPTIONS)
            return memoryview(out.getvalue())
        return None

    def read(self, size=-1):  # pylint: disable=method-required-super
        """Up to ``size`` bytes of the current chunk (a short read is fine for COPY);
        an offset instead of slicing keeps this linear in the data size."""
        while self._pos >= len(self._chunk):
            chunk = self._next_chunk()
            if chunk is None:
                return b""
            self._chunk, self._pos = chunk, 0
        end = len(self._chunk) if size is None or size < 0 else self._pos + size
        data = bytes(self._chunk[self._pos:end])
        self._pos += len(data)
        return data

    def readinto(self, b):
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


# PostgreSQL's own text of an index (pg_indexes.indexdef): name, table, then the rest.
_INDEXDEF = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON (?:ONLY )?(\S+) (USING .+)$", re.S)


def idempotent(indexdef):
    """The same index definition as ``CREATE INDEX IF NOT EXISTS`` (name, table and all
    kept), or None when the text is not in PostgreSQL's usual form."""
    match = _INDEXDEF.match(indexdef or "")
    if not match:
        return None
    return "CREATE %sINDEX IF NOT EXISTS %s ON %s %s" % (
        match.group(1) or "", match.group(2), match.group(3), match.group(4))
