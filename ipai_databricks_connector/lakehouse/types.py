"""Databricks SQL / Arrow types -> Odoo field spec. Rule: stored exactly, and summable.

- BIGINT/LONG becomes an Integer field on a PostgreSQL ``int8`` column: every value is
  stored exactly and pivots sum it. Odoo reads values over 2**31 as floats, which are
  exact up to 2**53 (``EXACT_LIMITS``); a column holding larger values is flagged.
- DECIMAL(p, s) becomes a Float field on a ``numeric(p, s)`` column: exact in the
  database; Odoo reads it as a float, exact to 15 significant digits, so a column of
  DECIMAL(p > 15) holding wider values is flagged.
- Types with no Odoo equivalent (arrays, maps, structs) are JSON text; an interval is a
  Char of the text Databricks prints (``0-2``, ``1 02:03:04.000000000``).
"""

import datetime as dt
import decimal
import io
import re
from collections import namedtuple

import pyarrow as pa
from pyarrow import csv


class IntervalType(pa.ExtensionType):
    """A Databricks interval column: ``qualifier`` ``YEAR TO MONTH``, ``MONTH``, ``DAY TO
    SECOND``...; its values (string storage) are the text Databricks prints
    (:func:`interval_text`), as a JSON cell or a Char field shows them. DuckDB has one
    INTERVAL type: the local backend gives the qualifier its SQL wrote
    (:func:`.dialect.databricks_intervals`)."""

    def __init__(self, qualifier):
        self.qualifier = qualifier
        super().__init__(pa.string(), "ipai.databricks.interval")

    @property
    def year_month(self):
        return self.qualifier.split(" TO ")[0] in ("YEAR", "MONTH")

    def __arrow_ext_serialize__(self):
        return self.qualifier.encode()

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type, serialized):
        return cls(serialized.decode())

    def __reduce__(self):
        return IntervalType, (self.qualifier,)


pa.register_extension_type(IntervalType("DAY TO SECOND"))


def interval_text(year_month, value):
    """An interval as Databricks prints it in a result (Hive style): ``0-2`` for two
    months, ``1 02:03:04.000000000`` for a day-time interval (months, or microseconds)."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    if year_month:
        return "%s%d-%d" % (sign, value // 12, value % 12)
    seconds, micros = divmod(value, 10 ** 6)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    return "%s%d %02d:%02d:%02d.%09d" % (sign, days, hour, minute, second, micros * 1000)


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
    "LONG": FieldSpec("integer", "int8"),
    "BIGINT": FieldSpec("integer", "int8"),
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
        return FieldSpec("float", "numeric(%d,%d)" % (precision, scale), (precision, scale))
    if text in _SIMPLE:
        return _SIMPLE[text]
    return FieldSpec("char", "varchar", note="%s stored as JSON text" % (text or "UNKNOWN"))


FLOAT_DIGITS = 15  # significant digits a float always shows exactly
INT_EXACT = 2 ** 53  # the largest integer every float (and JavaScript number) holds exactly


def exact_limit(spec):
    """The absolute value under which every value of a column shows exactly in Odoo, or
    None when every value does (the type alone guarantees it)."""
    if spec.pg_type == "int8":
        return INT_EXACT
    if spec.digits and spec.digits[0] > FLOAT_DIGITS:
        # a value below it has at most 15 significant digits: 10**13 for DECIMAL(38,2),
        # 0.001 for DECIMAL(38,18) (which Spark infers for Python decimals)
        return decimal.Decimal(10) ** (FLOAT_DIGITS - spec.digits[1])
    return None


def type_text(arrow_type):
    """The Databricks SQL type name of an Arrow type (``BIGINT``, ``DECIMAL(38,2)``)."""
    t = arrow_type
    if pa.types.is_decimal(t):
        return "DECIMAL(%d,%d)" % (t.precision, t.scale)
    for test, name in ((pa.types.is_boolean, "BOOLEAN"), (pa.types.is_int8, "TINYINT"),
                       (pa.types.is_int16, "SMALLINT"), (pa.types.is_int32, "INT"),
                       (pa.types.is_integer, "BIGINT"), (pa.types.is_float32, "FLOAT"),
                       (pa.types.is_floating, "DOUBLE"), (pa.types.is_date, "DATE"),
                       (pa.types.is_string, "STRING"), (pa.types.is_large_string, "STRING"),
                       (pa.types.is_binary, "BINARY")):
        if test(t):
            return name
    if pa.types.is_timestamp(t):
        return "TIMESTAMP" if t.tz else "TIMESTAMP_NTZ"
    if pa.types.is_map(t):
        return "MAP<%s, %s>" % (type_text(t.key_type), type_text(t.item_type))
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return "ARRAY<%s>" % type_text(t.value_type)
    if pa.types.is_struct(t):
        return "STRUCT<%s>" % ", ".join("%s: %s" % (f.name, type_text(f.type)) for f in t)
    if isinstance(t, IntervalType):
        return "INTERVAL " + t.qualifier
    if pa.types.is_interval(t) or pa.types.is_duration(t):
        return "INTERVAL DAY TO SECOND"
    return str(t).upper()


_KEY = re.compile(r"(?:^|_)(?:id|ID|Id|key|KEY|Key)$|[a-z0-9](?:Id|ID|Key)$")
_ACRONYMS = {"id": "ID", "sku": "SKU", "kpi": "KPI", "url": "URL", "utc": "UTC", "vat": "VAT"}


def is_key(column, spec):
    """A key-like integer column (``store_id``, ``date_key``): shown without grouping."""
    return spec.ttype == "integer" and bool(_KEY.search(column))


def humanize(column):
    """``sale_date`` -> "Sale Date", ``peso_total`` -> "Peso Total", ``storeID`` kept."""
    words = [w for w in re.split(r"[_\s]+|(?<=[a-z])(?=[A-Z])", column.strip()) if w]
    if not words:
        return column
    return " ".join(_ACRONYMS.get(w.lower(), w[:1].upper() + w[1:]) for w in words)


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
    if isinstance(t, IntervalType):
        return FieldSpec("char", "varchar", note="INTERVAL %s as Databricks prints it"
                         % t.qualifier)
    return field_spec(str(t))


def arrow_to_pg_copy_batches(reader, specs=None):
    """Yield CSV bytes (no header) per record batch, for ``COPY ... FROM STDIN WITH CSV``.

    ``specs`` is accepted for the contract; BIGINT/complex columns become text in CSV anyway.
    """
    options = csv.WriteOptions(include_header=False)
    for batch in reader:
        if not batch.num_rows:
            continue
        if any(isinstance(f.type, IntervalType) for f in batch.schema):
            # the CSV writer takes no extension type: its text, for a Char column
            batch = pa.RecordBatch.from_arrays(
                [c.storage if isinstance(c.type, IntervalType) else c for c in batch.columns],
                names=batch.schema.names)
        buf = io.BytesIO()
        csv.write_csv(pa.Table.from_batches([batch]), buf, options)
        yield buf.getvalue()


PARAMETER_TYPES = ("STRING", "INT", "BIGINT", "DOUBLE", "DECIMAL", "DATE", "TIMESTAMP",
                   "BOOLEAN")


def parameter_value(kind, text):
    """A declared parameter's text value as the Python value bound for ``kind`` (a
    Databricks type name); ``None`` or "" is NULL. Raises ValueError when it does not read."""
    if text is None or text == "":
        return None
    kind = (kind or "STRING").upper()
    text = str(text).strip() if kind != "STRING" else str(text)
    if kind in ("INT", "BIGINT"):
        value = int(text)
        if kind == "INT" and not -2**31 <= value < 2**31:
            raise ValueError("%s is out of the INT range" % text)
        if not -2**63 <= value < 2**63:
            raise ValueError("%s is out of the BIGINT range" % text)
        return value
    if kind == "DOUBLE":
        return float(text)
    if kind == "DECIMAL":
        value = decimal.Decimal(text)
        if not value.is_finite():
            raise ValueError("%s is not a finite number" % text)
        return value
    if kind == "DATE":
        return dt.date.fromisoformat(text)
    if kind == "TIMESTAMP":
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # UTC unless told
    if kind == "BOOLEAN":
        if text.lower() not in ("true", "false"):
            raise ValueError("%s is not true or false" % text)
        return text.lower() == "true"
    return text
