"""Values as a warehouse sends them: manifest column types, JSON_ARRAY cells, statement
parameters bound as Python values."""

import datetime as dt
import decimal
import json
import re
import time

import pyarrow as pa

from ..local_backend import _TOKEN
from ..types import IntervalType, interval_text
from .errors import ApiError


def now_ms():
    return int(time.time() * 1000)


def iso(epoch):
    stamp = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def column_type(t):
    """Arrow type -> (type_text, type_name, extra) as in a Databricks manifest."""
    if pa.types.is_decimal(t):
        return "DECIMAL(%d,%d)" % (t.precision, t.scale), "DECIMAL", {
            "type_precision": t.precision, "type_scale": t.scale}
    simple = [(pa.types.is_boolean, "BOOLEAN", "BOOLEAN"), (pa.types.is_int8, "TINYINT", "BYTE"),
              (pa.types.is_int16, "SMALLINT", "SHORT"), (pa.types.is_int32, "INT", "INT"),
              (pa.types.is_integer, "BIGINT", "LONG"), (pa.types.is_float32, "FLOAT", "FLOAT"),
              (pa.types.is_floating, "DOUBLE", "DOUBLE"), (pa.types.is_date, "DATE", "DATE"),
              (pa.types.is_string, "STRING", "STRING"),
              (pa.types.is_large_string, "STRING", "STRING"),
              (pa.types.is_binary, "BINARY", "BINARY"), (pa.types.is_null, "VOID", "NULL")]
    if pa.types.is_timestamp(t):  # Databricks: TIMESTAMP is zoned (UTC), TIMESTAMP_NTZ is not
        return ("TIMESTAMP", "TIMESTAMP", {}) if t.tz else ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ", {})
    for test, text, name in simple:
        if test(t):
            return text, name, {}
    if pa.types.is_map(t):
        return "MAP<%s, %s>" % (column_type(t.key_type)[0], column_type(t.item_type)[0]), \
            "MAP", {}
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return "ARRAY<%s>" % column_type(t.value_type)[0], "ARRAY", {}
    if pa.types.is_struct(t):
        fields = ", ".join("%s: %s" % (f.name, column_type(f.type)[0]) for f in t)
        return "STRUCT<%s>" % fields, "STRUCT", {}
    if isinstance(t, IntervalType):  # YEAR TO MONTH, MONTH, DAY TO SECOND... as written
        return "INTERVAL " + t.qualifier, "INTERVAL", {"type_interval_type": t.qualifier}
    if pa.types.is_interval(t) or pa.types.is_duration(t):
        return "INTERVAL DAY TO SECOND", "INTERVAL", {"type_interval_type": "DAY TO SECOND"}
    return str(t).upper(), "USER_DEFINED_TYPE", {}


def _text(value):
    """One JSON_ARRAY cell: Databricks sends every value as a string (or null)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}.get(repr(value), repr(value))
    if isinstance(value, dt.datetime):
        if value.tzinfo:
            return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z"
        return value.isoformat()
    if isinstance(value, (dt.date, decimal.Decimal, int)):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dt.timedelta):  # a day-time interval, printed as Databricks does
        return interval_text(False, (value.days * 86400 + value.seconds) * 10 ** 6
                             + value.microseconds)
    if isinstance(value, pa.MonthDayNano) and not value.months:
        return interval_text(False, value.days * 86400 * 10 ** 6 + value.nanoseconds // 1000)
    return json.dumps(_json_value(value), default=str, separators=(",", ":"))  # as Databricks


def _json_value(value):
    """Nested values as Databricks writes them: a map is a JSON object."""
    if isinstance(value, list):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): _json_value(v) for k, v in value}  # pyarrow's map: (key, value)
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, (dt.date, dt.datetime, decimal.Decimal)):
        return _text(value)
    return value


def data_array(table):
    columns = [[_text(v) for v in col.to_pylist()] for col in table.columns]
    return [list(row) for row in zip(*columns, strict=True)]


_INT_TYPES = ("INT", "INTEGER", "BIGINT", "LONG", "SMALLINT", "SHORT", "TINYINT", "BYTE")
_SIMPLE_TYPES = (*_INT_TYPES, "STRING", "DOUBLE", "FLOAT", "REAL", "DATE", "TIMESTAMP",
                 "TIMESTAMP_LTZ", "TIMESTAMP_NTZ", "BOOLEAN")
_DECIMAL = re.compile(r"^(?:DECIMAL|DEC|NUMERIC)(?:\((\d+)(?:,(\d+))?\))?$")
_CHARS = re.compile(r"^(?:VAR)?CHAR\(\d+\)$")  # bound as a STRING
_NAME = re.compile(r"^[A-Za-z_]\w*$")


def parameters(raw):
    """The ``parameters`` of a statement request -> {name: Python value}, or ApiError 400.

    As documented: a list of ``{name, value, type}``; ``value`` a string or null (omitted:
    NULL), ``type`` a scalar SQL type (STRING when omitted; ARRAY, MAP, STRUCT unsupported);
    one entry per name."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise ApiError(400, "parameters must be a list of {name, value, type} objects")
    values = {}
    for pos, param in enumerate(raw):
        if not isinstance(param, dict):
            raise ApiError(400, "parameters[%d] must be an object with a name, a value and "
                           "optionally a type" % pos)
        name = param.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ApiError(400, "parameters[%d].name must be a parameter marker name "
                           "(a letter or _, then letters, digits, _)" % pos)
        if name in values:
            raise ApiError(400, "Parameter %s is given more than once in parameters" % name)
        values[name] = param_value(param)
    return values


def param_value(param):
    """Statement parameter {name, value, type} -> Python value bound by DuckDB (never SQL text)."""
    name, value, kind = param.get("name"), param.get("value"), param.get("type")
    if kind is None:
        kind = "STRING"
    if not isinstance(kind, str):
        raise ApiError(400, "Parameter %s: type must be a string such as INT, STRING or "
                       "DECIMAL(10,2)" % name)
    kind = kind.upper().replace(" ", "")
    decimal_type = _DECIMAL.match(kind)
    if kind not in _SIMPLE_TYPES and not decimal_type and not _CHARS.match(kind):
        raise ApiError(400, "Parameter %s: unsupported type %s (a scalar type such as STRING, "
                       "INT, BIGINT, DOUBLE, DECIMAL(p,s), DATE, TIMESTAMP or BOOLEAN; ARRAY, "
                       "MAP and STRUCT are not supported)" % (name, param.get("type")))
    if decimal_type:
        precision = int(decimal_type.group(1) or 10)
        scale = int(decimal_type.group(2) or 0)
        if not 1 <= precision <= 38 or scale > precision:
            raise ApiError(400, "Parameter %s: %s is not a valid DECIMAL type (precision 1 to "
                           "38, scale 0 to the precision)" % (name, param.get("type")))
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, "Parameter %s: value must be a string or null (as documented), "
                       "not %s" % (name, json.dumps(value)))
    try:
        if kind in _INT_TYPES:
            return int(value)
        if decimal_type:
            number = decimal.Decimal(value)
            if not number.is_finite():
                raise ValueError(value)
            number = number.quantize(decimal.Decimal(1).scaleb(-scale),
                                     context=decimal.Context(prec=80))  # 38 digits fit
            if number and number.adjusted() >= precision - scale:
                raise ValueError(value)  # more integer digits than the type holds
            return number
        if kind in ("DOUBLE", "FLOAT", "REAL"):
            return float(value)
        if kind == "DATE":
            return dt.date.fromisoformat(value)
        if kind.startswith("TIMESTAMP"):
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if kind == "BOOLEAN":
            if value.strip().lower() not in ("true", "false"):
                raise ValueError(value)
            return value.strip().lower() == "true"
    except (ValueError, ArithmeticError) as exc:
        raise ApiError(400, "Parameter %s: cannot cast %s to %s" % (
            name, json.dumps(value), param.get("type"))) from exc
    return value


def used_params(sql, values):
    """Only markers present in the SQL are bound (DuckDB rejects extra parameters)."""
    names = {m.group(1) for m in _TOKEN.finditer(sql) if m.group(1)}
    return {k: v for k, v in values.items() if k in names}
