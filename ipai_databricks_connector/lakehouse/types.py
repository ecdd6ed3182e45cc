"""Databricks SQL / Arrow types -> Odoo field spec. Rule: exact, otherwise Char.

BIGINT/LONG maps to Char: Odoo Integer is int4 and Float is a Python float (exact only
to 2**53), so neither holds every int8 value exactly.
"""

import io
import re
from collections import namedtuple

import pyarrow as pa
from pyarrow import csv

FieldSpec = namedtuple("FieldSpec", "ttype pg_type digits note", defaults=(None, None))

_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")
_SIMPLE = {
    "BOOLEAN": FieldSpec("boolean", "boolean"),
    "BYTE": FieldSpec("integer", "int4"),
    "TINYINT": FieldSpec("integer", "int4"),
    "SHORT": FieldSpec("integer", "int4"),
    "SMALLINT": FieldSpec("integer", "int4"),
    "INT": FieldSpec("integer", "int4"),
    "INTEGER": FieldSpec("integer", "int4"),
    "LONG": FieldSpec("char", "varchar", note="BIGINT kept exact as text"),
    "BIGINT": FieldSpec("char", "varchar", note="BIGINT kept exact as text"),
    "FLOAT": FieldSpec("float", "float8"),
    "DOUBLE": FieldSpec("float", "float8"),
    "DATE": FieldSpec("date", "date"),
    "TIMESTAMP": FieldSpec("datetime", "timestamp", note="UTC, naive"),
    "TIMESTAMP_NTZ": FieldSpec("datetime", "timestamp"),
    "STRING": FieldSpec("char", "varchar"),
}


def field_spec(type_text):
    """Return the FieldSpec for a Databricks manifest ``type_text``."""
    text = (type_text or "").strip().upper()
    match = _DECIMAL.match(text)
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        if precision <= 15:
            return FieldSpec("float", "numeric(%d,%d)" % (precision, scale), (precision, scale))
        return FieldSpec("char", "varchar", note="DECIMAL precision > 15 kept exact as text")
    if text in _SIMPLE:
        return _SIMPLE[text]
    return FieldSpec("char", "varchar", note="%s stored as JSON text" % (text or "UNKNOWN"))


def arrow_field_spec(arrow_type):
    """Return the FieldSpec for a pyarrow DataType."""
    t = arrow_type
    if pa.types.is_boolean(t):
        return field_spec("BOOLEAN")
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_int32(t):
        return field_spec("INT")
    if pa.types.is_integer(t):
        return field_spec("BIGINT")
    if pa.types.is_floating(t):
        return field_spec("DOUBLE")
    if pa.types.is_decimal(t):
        return field_spec("DECIMAL(%d,%d)" % (t.precision, t.scale))
    if pa.types.is_date(t):
        return field_spec("DATE")
    if pa.types.is_timestamp(t):
        return field_spec("TIMESTAMP" if t.tz else "TIMESTAMP_NTZ")
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return field_spec("STRING")
    return field_spec(str(t))


def arrow_to_pg_copy_batches(reader, specs=None):
    """Yield CSV bytes (no header) per record batch, for ``COPY ... FROM STDIN WITH CSV``.

    ``specs`` is accepted for the contract; BIGINT/complex columns become text in CSV anyway.
    """
    options = csv.WriteOptions(include_header=False)
    for batch in reader:
        if not batch.num_rows:
            continue
        buf = io.BytesIO()
        csv.write_csv(pa.Table.from_batches([batch]), buf, options)
        yield buf.getvalue()
