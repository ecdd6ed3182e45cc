"""Databricks (Spark, ANSI mode) function semantics that sqlglot's DuckDB writer misses.

Each rewrite takes a node of the sqlglot tree read as Databricks SQL and replaces it by
DuckDB expressions with Databricks' result (value and type), as its SQL language reference
documents it (checked in ``tests/test_lakehouse_functions.py``). What has no faithful local
form is refused by name (:class:`SQLNotTranspilable`), never run with another result.
Plain Python: no Odoo import.
"""

import re

import sqlglot
from sqlglot import exp
from sqlglot.time import format_time

from .sql import unparen


class Refused(ValueError):
    """A construct without a faithful DuckDB form (raised as SQLNotTranspilable)."""


def _call(name, *args):
    return exp.Anonymous(this=name, expressions=list(args))


def _cast(node, to):
    return exp.Cast(this=node, to=exp.DataType.build(to))


def _string(node):
    node = unparen(node)
    return node.this if isinstance(node, exp.Literal) and node.is_string else None


def _sql(node):
    return node.sql(dialect="databricks")


# --- dates and times ------------------------------------------------------------------------

# date_trunc(unit, expr) units (case-insensitive); another unit gives NULL
_TS_UNITS = {"YEAR": "year", "YYYY": "year", "YY": "year", "QUARTER": "quarter",
             "MONTH": "month", "MM": "month", "MON": "month", "WEEK": "week", "DAY": "day",
             "DD": "day", "HOUR": "hour", "MINUTE": "minute", "SECOND": "second",
             "MILLISECOND": "millisecond", "MICROSECOND": "microsecond"}
# trunc(expr, unit) units
_DATE_UNITS = {k: v for k, v in _TS_UNITS.items() if v in ("year", "quarter", "month", "week")}
_DAYS = {}
for _number, _names in enumerate((("MO", "MON", "MONDAY"), ("TU", "TUE", "TUESDAY"),
                                  ("WE", "WED", "WEDNESDAY"), ("TH", "THU", "THURSDAY"),
                                  ("FR", "FRI", "FRIDAY"), ("SA", "SAT", "SATURDAY"),
                                  ("SU", "SUN", "SUNDAY")), start=1):
    _DAYS.update(dict.fromkeys(_names, _number))


def _ts(node):
    return _cast(node, "TIMESTAMP")


def _date(node):
    return _cast(node, "DATE")


def _tz(node):
    """A wall time read in the session's zone (UTC) as Databricks' TIMESTAMP, an instant
    (DuckDB's TIMESTAMPTZ): a naive result would be a TIMESTAMP_NTZ column."""
    return _cast(node, "TIMESTAMPTZ")


# parsed from Databricks SQL, a plain TIMESTAMP type comes from to_timestamp(s) and
# timestamp(s) only (CAST AS TIMESTAMP is TIMESTAMPTZ, AS TIMESTAMP_NTZ is TIMESTAMPNTZ)
_NAIVE = exp.DataType.Type.TIMESTAMP


def databricks_timestamps(tree):
    """``tree`` with the casts to_timestamp() and timestamp() stand for giving Databricks'
    TIMESTAMP (an instant), as ``CAST(... AS TIMESTAMP)`` does. Run on the parsed tree,
    before the rewrites add casts of their own."""
    for cast in list(tree.find_all(exp.Cast)):
        # to_utc_timestamp / from_utc_timestamp hold a wall time (their own naive cast)
        if cast.to is not None and cast.to.this == _NAIVE and not isinstance(
                cast.parent, (exp.FromTimeZone, exp.AtTimeZone)):
            cast.set("to", exp.DataType.build("TIMESTAMPTZ"))
    return tree


def _unit(node):
    unit = node.args.get("unit")
    if isinstance(unit, (exp.Var, exp.Identifier, exp.Column)):
        return unit.name.upper()
    return (_string(unit) or "").upper() if unit is not None else None


def _date_trunc(node):
    unit = _unit(node)
    if not unit:
        raise Refused("date_trunc needs a literal unit")
    if unit not in _TS_UNITS:
        return _cast(exp.Null(), "TIMESTAMPTZ")  # Databricks: NULL for an unknown unit
    return _tz(_call("date_trunc", exp.Literal.string(_TS_UNITS[unit]), _ts(node.this)))


def _trunc(node):
    unit = node.args.get("unit")
    if _string(unit) is None:
        raise Refused("trunc(date, unit) needs a literal unit")
    unit = _string(unit).upper()
    if unit not in _DATE_UNITS:
        return _date(exp.Null())
    return _date(_call("date_trunc", exp.Literal.string(_DATE_UNITS[unit]), _date(node.this)))


def _next_day(node):
    name = _string(node.expression)
    if name is None:
        raise Refused("next_day needs a literal day of the week")
    if name.upper() not in _DAYS:
        return _call("error", exp.Literal.string(
            "[ILLEGAL_DAY_OF_WEEK] Illegal input for day of week: %s. SQLSTATE: 22009" % name))
    day = _date(node.this)
    # the first such day strictly after the date
    step = exp.Mod(this=exp.Paren(this=exp.Add(this=exp.Sub(
        this=exp.Literal.number(_DAYS[name.upper()]), expression=_call("isodow", day.copy())),
        expression=exp.Literal.number(6))), expression=exp.Literal.number(7))
    return exp.Add(this=day, expression=_cast(exp.Add(this=exp.Paren(this=step),
                                                      expression=exp.Literal.number(1)), "INT"))


def _dayofweek(node):
    # Databricks: 1 = Sunday ... 7 = Saturday; DuckDB's dayofweek: 0 = Sunday
    return _cast(exp.Add(this=_call("dayofweek", _date(_plain(node.this))),
                         expression=exp.Literal.number(1)), "INT")


def _plain(node):
    """The argument under sqlglot's own date conversion (TsOrDsToDate, TimeStrToTime)."""
    while isinstance(node, (exp.TsOrDsToDate, exp.TimeStrToTime, exp.TsOrDsToTimestamp)) \
            and not node.args.get("format"):
        node = node.this
    return node


def _days_add(node):
    unit = _unit(node)
    if unit != "DAY":
        return None
    # date_add / date_sub: a DATE (DuckDB would give a TIMESTAMP)
    return exp.Add(this=_date(_plain(node.this)), expression=_cast(node.expression, "INT"))


def _add_months(node):
    months = _call("to_months", _cast(node.expression, "INT"))
    return _date(exp.Add(this=_date(_plain(node.this)), expression=months))


def _months_between(node):
    """Spark's months_between: whole months when both days of month are equal or both the
    last; otherwise the day and time difference over 31-day months, rounded to 8 digits."""
    rounding = node.args.get("roundoff") or node.args.get("round_off")
    extra = [a for k, a in node.args.items() if k not in ("this", "expression") and a]
    if extra:
        rounding = extra[0]
    if rounding is not None and not isinstance(unparen(rounding), exp.Boolean):
        raise Refused("months_between needs a literal roundOff")
    round_off = rounding is None or unparen(rounding).this
    one, two = _ts(_plain(node.this)), _ts(_plain(node.expression))

    def months(t):
        return exp.Add(this=exp.Mul(this=_call("year", t.copy()),
                                    expression=exp.Literal.number(12)),
                       expression=_call("month", t.copy()))

    def day(t):
        return _call("day", t.copy())

    def last(t):
        return exp.EQ(this=day(t), expression=_call("day", _call("last_day", t.copy())))

    def seconds(t):  # since the month's day 0
        of_day = exp.Sub(this=_call("epoch", t.copy()), expression=_call("epoch", _call(
            "date_trunc", exp.Literal.string("day"), t.copy())))
        return exp.Add(this=exp.Mul(this=day(t), expression=exp.Literal.number(86400)),
                       expression=of_day)

    whole = exp.Sub(this=exp.Paren(this=months(one)), expression=exp.Paren(this=months(two)))
    fraction = exp.Add(this=_cast(whole.copy(), "DOUBLE"), expression=exp.Div(
        this=exp.Paren(this=exp.Sub(this=seconds(one), expression=seconds(two))),
        expression=exp.Literal.number(31 * 86400.0)))
    if round_off:  # Java's Math.round(x * 1e8) / 1e8
        fraction = exp.Div(this=_call("floor", exp.Add(
            this=exp.Mul(this=exp.Paren(this=fraction), expression=exp.Literal.number(1e8)),
            expression=exp.Literal.number(0.5))), expression=exp.Literal.number(1e8))
    same = exp.Or(this=exp.EQ(this=day(one), expression=day(two)),
                  expression=exp.And(this=last(one), expression=last(two)))
    return exp.Case(ifs=[exp.If(this=same, true=_cast(whole, "DOUBLE"))], default=fraction)


def _timestamp_diff(node):
    """timestampdiff / datediff(unit, start, end): whole units elapsed (DuckDB's date_sub),
    not unit boundaries crossed (its date_diff)."""
    unit = _unit(node)
    if unit is None:
        raise Refused("%s needs a literal unit" % _sql(node))
    if isinstance(node, exp.DateDiff) and unit == "DAY":
        # datediff(end, start): days between the dates, an INT
        return _cast(_call("date_diff", exp.Literal.string("day"), _date(_plain(
            node.expression)), _date(_plain(node.this))), "INT")
    unit = {"WEEK": "week", "QUARTER": "quarter"}.get(unit, unit.lower())
    return _call("date_sub", exp.Literal.string(unit), _ts(_plain(node.expression)),
                 _ts(_plain(node.this)))


def _from_utc(node):
    """from_utc_timestamp(ts, zone): the wall time in ``zone`` of ``ts`` read as UTC (DuckDB's
    AT TIME ZONE reads ``ts`` as a wall time of ``zone``)."""
    value = unparen(node.this)
    value = value.this if type(value) is exp.Cast else value
    utc = _call("timezone", exp.Literal.string("UTC"), _ts(_plain(value)))
    return _tz(_call("timezone", node.args.get("zone"), utc))


_EXTRACT = {
    "YEAR": "year", "Y": "year", "YEARS": "year", "YR": "year", "YRS": "year",
    "QUARTER": "quarter", "QTR": "quarter", "MONTH": "month", "MON": "month",
    "MONS": "month", "MONTHS": "month", "WEEK": "week", "W": "week", "WEEKS": "week",
    "DAY": "day", "D": "day", "DAYS": "day", "DAYOFWEEK_ISO": "isodow", "DOW_ISO": "isodow",
    "DOY": "doy", "HOUR": "hour", "H": "hour", "HOURS": "hour", "HR": "hour",
    "HRS": "hour", "MINUTE": "minute", "M": "minute", "MIN": "minute", "MINS": "minute",
    "MINUTES": "minute"}


def _extract(node):
    unit = node.this.name.upper() if isinstance(node.this, (exp.Var, exp.Identifier,
                                                            exp.Column)) else None
    value = _ts(node.expression)
    if unit in ("DAYOFWEEK", "DOW"):
        return _cast(exp.Add(this=_call("dayofweek", value), expression=exp.Literal.number(1)),
                     "INT")
    if unit in ("SECOND", "S", "SEC", "SECONDS", "SECS"):
        # seconds with their fraction, a DECIMAL(8, 6)
        return _cast(exp.Div(this=_cast(_call("date_part", exp.Literal.string(
            "microseconds"), value), "DECIMAL(18, 0)"), expression=exp.Literal.number(
            1000000)), "DECIMAL(8, 6)")
    if unit not in _EXTRACT:
        raise Refused("extract(%s FROM ...) is not known here" % unit)
    return _cast(_call("date_part", exp.Literal.string(_EXTRACT[unit]), value), "INT")


# Java (Spark) datetime pattern letters -> strftime; a run of a letter is read as one field
_STRFTIME = {
    ("y", 1): "%Y", ("y", 2): "%y", ("y", 3): "%Y", ("y", 4): "%Y",
    ("M", 1): "%-m", ("M", 2): "%m", ("M", 3): "%b", ("M", 4): "%B",
    ("L", 1): "%-m", ("L", 2): "%m", ("L", 3): "%b", ("L", 4): "%B",
    ("d", 1): "%-d", ("d", 2): "%d", ("D", 1): "%-j", ("D", 3): "%j",
    ("H", 1): "%-H", ("H", 2): "%H", ("h", 1): "%-I", ("h", 2): "%I",
    ("m", 1): "%-M", ("m", 2): "%M", ("s", 1): "%-S", ("s", 2): "%S",
    ("a", 1): "%p", ("E", 1): "%a", ("E", 2): "%a", ("E", 3): "%a", ("E", 4): "%A",
    ("S", 3): "%g", ("S", 6): "%f",
}
_JAVA_TOKENS = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|[^A-Za-z']+")


def java_format(java, value):
    """``date_format(value, java)`` as a DuckDB expression (strftime, and quarter and
    fractions of a second, which strftime lacks)."""
    parts = []
    text = ""
    for match in _JAVA_TOKENS.finditer(java):
        piece = match.group(0)
        if piece.startswith("'"):  # quoted text; '' is a quote
            text += "'" if piece == "''" else piece[1:-1].replace("''", "'").replace("%", "%%")
            continue
        if not piece[0].isalpha():
            text += piece.replace("%", "%%")
            continue
        letter, width = piece[0], len(piece)
        if (letter, width) in _STRFTIME:
            text += _STRFTIME[letter, width]
        elif letter in "Qq" and width <= 2:
            parts.append(text)
            text = ""
            quarter = _cast(_call("quarter", value.copy()), "VARCHAR")
            parts.append(_call("lpad", quarter, exp.Literal.number(width),
                               exp.Literal.string("0")))
        elif letter == "S" and width <= 9:  # the first digits of the microseconds
            parts.append(text)
            text = ""
            micros = _call("strftime", value.copy(), exp.Literal.string("%f"))
            parts.append(_call("rpad", _call("left", micros, exp.Literal.number(width)),
                               exp.Literal.number(width), exp.Literal.string("0")))
        else:
            raise Refused("the datetime pattern letter %r (in %r) is not known here"
                          % (piece, java))
    parts.append(text)
    pieces = [p if isinstance(p, exp.Expression) else _call(
        "strftime", value.copy(), exp.Literal.string(p)) for p in parts
        if not (isinstance(p, str) and not p)]
    if not pieces:
        return exp.Literal.string("")
    out = pieces[0]
    for piece in pieces[1:]:
        out = exp.DPipe(this=out, expression=piece)
    return out


def _databricks_format(node):
    """The Java pattern of a format sqlglot already turned into strftime, or None."""
    fmt = node.args.get("format")
    text = _string(fmt) if fmt is not None else None
    if text is None:
        return None
    dialect = sqlglot.Dialect.get_or_raise("databricks")
    return format_time(text, dialect.INVERSE_TIME_MAPPING, dialect.INVERSE_TIME_TRIE)


def _date_format(node):
    java = _databricks_format(node)
    if java is None:
        if node.args.get("format") is not None:
            raise Refused("date_format needs a literal pattern")
        return None
    return java_format(java, _ts(_plain(node.this)))


def _from_unixtime(node):
    java = _databricks_format(node) or "yyyy-MM-dd HH:mm:ss"
    if node.args.get("format") is not None and _string(node.args["format"]) is None:
        raise Refused("from_unixtime needs a literal pattern")
    return java_format(java, _call("make_timestamp", exp.Mul(
        this=_cast(node.this, "BIGINT"), expression=exp.Literal.number(1000000))))


def _check_parse_format(node, name):
    """A parsing pattern left with a letter strptime does not know is refused."""
    fmt = _string(node.args.get("format")) if node.args.get("format") is not None else None
    plain = re.sub(r"%-?[A-Za-z](?:strict)?|%%", "", fmt or "")
    if fmt is not None and re.search(r"[A-Za-z]", plain):
        raise Refused("%s cannot parse this datetime pattern locally: %s" % (name, _sql(node)))


def _unix_timestamp(node):
    fmt = _string(node.args.get("format")) if node.args.get("format") is not None else None
    if fmt is not None and not fmt.count("%"):  # to_unix_timestamp: left in Java's letters
        dialect = sqlglot.Dialect.get_or_raise("databricks")
        node.set("format", exp.Literal.string(format_time(fmt, dialect.TIME_MAPPING,
                                                          dialect.TIME_TRIE)))
    _check_parse_format(node, "unix_timestamp")
    value = _ts(node.this)
    if node.args.get("format") is not None:
        # a string is parsed with the pattern; a TIMESTAMP or DATE is taken as it is
        value = exp.Case(ifs=[exp.If(
            this=exp.EQ(this=_call("typeof", node.this.copy()),
                        expression=exp.Literal.string("VARCHAR")),
            true=exp.StrToTime(this=_cast(node.this.copy(), "VARCHAR"),
                               format=node.args.get("format")))],
            default=_tz(node.this.copy()))
    return _cast(_call("floor", _call("epoch", value)), "BIGINT")


# --- strings --------------------------------------------------------------------------------

def _java_replacement(text):
    """A java.util.regex replacement (``$1``, ``\\$``) as RE2's (``\\1``)."""
    out = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\\\\" if nxt == "\\" else nxt)
            i += 2
        elif char == "$":
            group = re.match(r"\d", text[i + 1:])
            if not group or re.match(r"\d\d", text[i + 1:]):
                raise Refused("regexp_replace: the replacement %r uses a group reference "
                              "that is not known here" % text)
            out.append("\\" + group.group(0))
            i += 2
        elif char == "\\":
            raise Refused("regexp_replace: the replacement %r ends with a backslash" % text)
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _regexp_replace(node):
    replacement = node.args.get("replacement")
    text = _string(replacement) if replacement is not None else None
    if text is not None and ("$" in text or "\\" in text):
        node.set("replacement", exp.Literal.string(_java_replacement(text)))
    elif replacement is not None and text is None:
        raise Refused("regexp_replace needs a literal replacement")
    return None


def _format_number(call):
    value, digits = call.expressions
    if not (isinstance(unparen(digits), exp.Literal) and unparen(digits).is_int):
        raise Refused("format_number needs an integer number of decimal places (a pattern "
                      "such as '#,###.##' is not known here)")
    places = int(unparen(digits).this)
    if places < 0:
        return _cast(exp.Null(), "VARCHAR")
    # Java's DecimalFormat: grouping, HALF_EVEN at the exact (decimal) value
    return _call("format", exp.Literal.string("{:,.%df}" % places),
                 _call("round_even", value, exp.Literal.number(places)))


def _substring_index(node):
    value, delim, count = node.this, node.args["delimiter"], node.args["count"]
    parts = _call("string_split", value, delim.copy())
    before = _call("list_slice", parts.copy(), exp.Literal.number(1), count.copy())
    after = _call("list_slice", parts.copy(), exp.Neg(this=count.copy()),
                  exp.Literal.number(-1))
    return exp.Case(ifs=[
        exp.If(this=exp.Or(this=exp.EQ(this=count.copy(), expression=exp.Literal.number(0)),
                           expression=exp.EQ(this=delim.copy(),
                                             expression=exp.Literal.string(""))),
               true=exp.Literal.string("")),
        exp.If(this=exp.GT(this=count.copy(), expression=exp.Literal.number(0)),
               true=_call("array_to_string", before, delim.copy()))],
        default=_call("array_to_string", after, delim.copy()))


# --- arrays and aggregates --------------------------------------------------------------------

def _array_contains(node):
    """NULL when the value is not found and the array holds a NULL (DuckDB: false)."""
    array, value = node.this, node.expression
    return exp.Case(ifs=[
        exp.If(this=exp.Or(this=exp.Is(this=value.copy(), expression=exp.Null()),
                           expression=exp.Is(this=array.copy(), expression=exp.Null())),
               true=_cast(exp.Null(), "BOOLEAN")),
        exp.If(this=_call("list_contains", array.copy(), value.copy()),
               true=exp.true()),
        exp.If(this=exp.LT(this=_call("list_count", array.copy()),
                           expression=_call("len", array.copy())),
               true=_cast(exp.Null(), "BOOLEAN"))], default=exp.false())


def _array_remove(node):
    """Keeps the NULL elements (DuckDB's list_filter with ``<>`` drops them)."""
    array, value = node.this, node.expression
    keep = exp.Lambda(this=exp.Or(this=exp.Is(this=exp.column("__x"), expression=exp.Null()),
                                  expression=exp.NEQ(this=exp.column("__x"),
                                                     expression=value.copy())),
                      expressions=[exp.to_identifier("__x")])
    return exp.Case(ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()),
                                true=exp.Null())],
                    default=_call("list_filter", array, keep))


def _array_distinct(node):
    """The first of each value, in order, a NULL kept once (DuckDB's list_distinct drops
    NULLs and loses the order)."""
    return _distinct_in_order(node.this)


def _distinct_in_order(array):
    keep = exp.Lambda(this=exp.EQ(this=_call("list_position", array.copy(),
                                             exp.column("__x")),
                                  expression=exp.column("__i")),
                      expressions=[exp.to_identifier("__x"), exp.to_identifier("__i")])
    return _call("list_filter", array.copy(), keep)


def _has_null(array):
    return exp.LT(this=_call("list_count", array.copy()), expression=_call("len", array.copy()))


def _array_union(call):
    """The distinct elements of both arrays in order, a NULL kept once."""
    return _distinct_in_order(_call("list_concat", *call.expressions))


def _arrays_overlap(call):
    """NULL when no common non-NULL element, both arrays non-empty and one holds a NULL."""
    one, two = call.expressions
    empty = exp.Or(this=exp.EQ(this=_call("len", one.copy()), expression=exp.Literal.number(0)),
                   expression=exp.EQ(this=_call("len", two.copy()),
                                     expression=exp.Literal.number(0)))
    return exp.Case(ifs=[
        exp.If(this=exp.Or(this=exp.Is(this=one.copy(), expression=exp.Null()),
                           expression=exp.Is(this=two.copy(), expression=exp.Null())),
               true=_cast(exp.Null(), "BOOLEAN")),
        exp.If(this=_call("list_has_any", one.copy(), two.copy()), true=exp.true()),
        exp.If(this=exp.And(this=exp.Not(this=exp.Paren(this=empty)), expression=exp.Paren(
            this=exp.Or(this=_has_null(one), expression=_has_null(two)))),
            true=_cast(exp.Null(), "BOOLEAN"))], default=exp.false())


def _exists(node):
    """exists(array, x -> cond): true if a cond is true, else NULL if one is NULL."""
    if not isinstance(node.expression, exp.Lambda):
        return None
    found = _call("list_transform", node.this, node.expression)
    return exp.Case(ifs=[
        exp.If(this=exp.Is(this=node.this.copy(), expression=exp.Null()),
               true=_cast(exp.Null(), "BOOLEAN")),
        exp.If(this=_call("list_contains", found.copy(), exp.true()), true=exp.true()),
        exp.If(this=_has_null(found), true=_cast(exp.Null(), "BOOLEAN"))], default=exp.false())


def _width_bucket(node):
    """Spark's WidthBucket: 0 below the range, n + 1 above it, a BIGINT; NULL for n <= 0 or
    an empty range (DuckDB has no width_bucket)."""
    value, low, high, n = (_cast(node.args[k], "DOUBLE") for k in (
        "this", "min_value", "max_value", "num_buckets"))
    count = _cast(node.args["num_buckets"], "BIGINT")

    def bucket(distance):
        return exp.Add(this=_cast(_call("trunc", exp.Div(this=exp.Mul(
            this=n.copy(), expression=exp.Paren(this=distance)), expression=exp.Paren(
            this=_call("abs", exp.Sub(this=high.copy(), expression=low.copy()))))), "BIGINT"),
            expression=exp.Literal.number(1))

    over = exp.Add(this=count.copy(), expression=exp.Literal.number(1))
    rising = exp.Case(ifs=[
        exp.If(this=exp.LT(this=value.copy(), expression=low.copy()),
               true=exp.Literal.number(0)),
        exp.If(this=exp.GTE(this=value.copy(), expression=high.copy()), true=over.copy())],
        default=bucket(exp.Sub(this=value.copy(), expression=low.copy())))
    falling = exp.Case(ifs=[
        exp.If(this=exp.GT(this=value.copy(), expression=low.copy()),
               true=exp.Literal.number(0)),
        exp.If(this=exp.LTE(this=value.copy(), expression=high.copy()), true=over.copy())],
        default=bucket(exp.Sub(this=low.copy(), expression=value.copy())))
    return _cast(exp.Case(ifs=[
        exp.If(this=exp.Or(this=exp.LTE(this=count.copy(), expression=exp.Literal.number(0)),
                           expression=exp.EQ(this=low.copy(), expression=high.copy())),
               true=exp.Null()),
        exp.If(this=exp.LT(this=low.copy(), expression=high.copy()), true=rising)],
        default=falling), "BIGINT")


def _last_ignoring_nulls(node):
    """last(x, true) / last(x) IGNORE NULLS as an aggregate: DuckDB's last over the
    non-NULL rows (it has IGNORE NULLS for window functions only)."""
    if not isinstance(node.this, exp.Last) or node.find_ancestor(exp.Window) or isinstance(
            node.parent, exp.Window):
        return None
    value = node.this.this
    return exp.Filter(this=exp.Last(this=value), expression=exp.Where(
        this=exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))))


def _int_div(node):
    """div: the integral part, a BIGINT (DuckDB's // of a decimal keeps the fraction)."""
    left, right = node.this, node.expression
    whole = exp.Sub(this=exp.Paren(this=left.copy()), expression=exp.Mod(
        this=exp.Paren(this=left.copy()), expression=exp.Paren(this=right.copy())))
    return _cast(exp.IntDiv(this=exp.Paren(this=whole), expression=right.copy()), "BIGINT")


def _size(node):
    # cardinality: of an ARRAY or a MAP (DuckDB's array_length takes a list only)
    return _cast(_call("cardinality", node.this), "INT")


def _refused_function(name, why):
    def refuse(node):
        raise Refused("%s %s (in %s)" % (name, why, _sql(node)))
    return refuse


def _split(node):
    limit = node.args.get("limit")
    if limit is None:
        return None
    value = unparen(limit)
    number = -int(value.this.this) if isinstance(value, exp.Neg) and isinstance(
        value.this, exp.Literal) else int(value.this) if isinstance(value, exp.Literal) \
        and value.is_int else None
    if number is None or number > 0:
        raise Refused("split with a positive limit is not known here")
    node.set("limit", None)  # limit <= 0: every part, as without it
    return None


# --- numbers ----------------------------------------------------------------------------------

def _pmod(call):
    left, right = call.expressions
    rest = exp.Mod(this=exp.Paren(this=left), expression=exp.Paren(this=right))
    return exp.Case(ifs=[exp.If(this=exp.LT(this=rest.copy(), expression=exp.Literal.number(0)),
                                true=exp.Mod(this=exp.Paren(this=exp.Add(
                                    this=rest.copy(), expression=right.copy())),
                                    expression=right.copy()))],
                    default=rest.copy())


def _bround(call):
    args = list(call.expressions) + [exp.Literal.number(0)] * (2 - len(call.expressions))
    return _call("round_even", *args[:2])


_RENAMED = {"btrim": "trim", "every": "bool_and", "some": "bool_or", "octet_length": "strlen"}


def _anonymous(call):
    name = str(call.this).lower()
    if name == "format_number" and len(call.expressions) == 2:
        return _format_number(call)
    if name == "pmod" and len(call.expressions) == 2:
        return _pmod(call)
    if name == "array_union" and len(call.expressions) == 2:
        return _array_union(call)
    if name == "arrays_overlap" and len(call.expressions) == 2:
        return _arrays_overlap(call)
    if name == "bround" and 1 <= len(call.expressions) <= 2:
        return _bround(call)
    if name == "make_date" and len(call.expressions) == 3:
        # Databricks SQL: NULL for a field out of range (DuckDB fails the query)
        return _call("try", _call("make_date", *[_cast(e, "INT") for e in call.expressions]))
    if name == "nullifzero" and len(call.expressions) == 1:
        return exp.Nullif(this=call.expressions[0], expression=exp.Literal.number(0))
    if name == "zeroifnull" and len(call.expressions) == 1:
        return exp.Coalesce(this=call.expressions[0], expressions=[exp.Literal.number(0)])
    if name in _RENAMED:
        args = call.expressions
        if name == "octet_length":
            args = [_cast(args[0], "VARCHAR")] if len(args) == 1 else args
        return _call(_RENAMED[name], *args)
    if name == "weekday" and len(call.expressions) == 1:
        return _cast(exp.Sub(this=_call("isodow", _date(call.expressions[0])),
                             expression=exp.Literal.number(1)), "INT")
    return None


# Databricks returns an INT; DuckDB a BIGINT
_INT_RESULTS = (exp.WeekOfYear, exp.StrPosition, exp.Length, exp.ArraySize, exp.Year,
                exp.Month, exp.Day, exp.Quarter, exp.DayOfYear, exp.DayOfMonth, exp.Hour,
                exp.Minute, exp.Second)
_DATE_ARG = (exp.Year, exp.Month, exp.Day, exp.Quarter, exp.DayOfYear, exp.DayOfMonth,
             exp.WeekOfYear, exp.LastDay)
_TS_ARG = (exp.Hour, exp.Minute, exp.Second)


def _refuse(node):
    if isinstance(node, exp.FromJson) and node.args.get("options"):
        raise Refused("from_json with options (%s) is not known here" % _sql(
            node.args["options"]))
    if isinstance(node, exp.Lateral) and node.args.get("view") and node.args.get("outer"):
        raise Refused("LATERAL VIEW OUTER is not known here (an empty array would drop the "
                      "row): use LATERAL VIEW and a UNION, or a LEFT JOIN")


def rewrite(tree):
    """``tree`` with the Databricks semantics above; raises :class:`Refused`."""
    for node in list(tree.walk()):
        _refuse(node)
    handlers = [
        (exp.TimestampTrunc, _date_trunc), (exp.DateTrunc, _trunc),
        (exp.NextDay, _next_day), (exp.DayOfWeek, _dayofweek), (exp.TsOrDsAdd, _days_add),
        (exp.AddMonths, _add_months), (exp.MonthsBetween, _months_between),
        (exp.TimestampDiff, _timestamp_diff), (exp.DateDiff, _timestamp_diff),
        (exp.AtTimeZone, _from_utc), (exp.Extract, _extract),
        (exp.TimeToStr, _date_format), (exp.UnixToStr, _from_unixtime),
        (exp.StrToUnix, _unix_timestamp), (exp.RegexpReplace, _regexp_replace),
        (exp.SubstringIndex, _substring_index), (exp.ArrayContains, _array_contains),
        (exp.ArrayRemove, _array_remove), (exp.ArrayDistinct, _array_distinct),
        (exp.RegexpSplit, _split), (exp.Anonymous, _anonymous),
        (exp.ArraySize, _size), (exp.Exists, _exists), (exp.WidthBucket, _width_bucket),
        (exp.IgnoreNulls, _last_ignoring_nulls), (exp.IntDiv, _int_div),
        (exp.Sign, lambda node: _cast(_call("sign", node.this), "DOUBLE")),
        (exp.ToNumber, _refused_function("to_number", "is not known here")),
        (exp.ToChar, lambda node: _refused_function(
            "to_char", "with a format is not known here")(node)
            if node.args.get("format") is not None else None),
    ]
    # innermost first: a rewritten argument is read as what it now is
    for node in reversed(list(tree.walk())):
        if isinstance(node, (exp.StrToTime, exp.StrToDate)) and not node.args.get("safe"):
            _check_parse_format(node, "to_timestamp")
        for kind, handler in handlers:
            if type(node) is kind:
                new = handler(node)
                if new is not None:
                    node.replace(new)
                    node = new
                break
        if isinstance(node, _DATE_ARG) and not isinstance(node.this, exp.Cast):
            node.set("this", _date(_plain(node.this)))
        elif isinstance(node, _TS_ARG) and not isinstance(node.this, exp.Cast):
            node.set("this", _ts(_plain(node.this)))
        if isinstance(node, (exp.StrToTime, exp.FromTimeZone, exp.TimestampFromParts)) \
                and not (isinstance(node.parent, exp.Cast) and node.parent.to is not None
                         and node.parent.to.this != _NAIVE):
            node.replace(_tz(node.copy()))  # Databricks' TIMESTAMP, not TIMESTAMP_NTZ
            continue
        if isinstance(node, exp.ConcatWs) and len(node.expressions) == 1:
            node.replace(exp.Literal.string(""))  # concat_ws(sep): the empty string
        elif isinstance(node, exp.JSONExtract) and node.args.get("variant_extract"):
            # expr:path is a STRING, a JSON string unquoted (DuckDB's ->: its JSON text)
            node.replace(exp.JSONExtractScalar(this=node.this, expression=node.expression))
        elif isinstance(node, exp.Format):  # format_string: Java's %d / %s, DuckDB's printf
            node.replace(_call("printf", node.this, *node.expressions))
        elif type(node) is exp.Quantile:  # percentile: exact, interpolated
            node.replace(_call("quantile_cont", node.this, node.args["quantile"]))
        elif type(node) is exp.ApproxQuantile:
            # percentile_approx: the smallest value with the given fraction at or below it
            node.replace(_call("quantile_disc", node.this, node.args["quantile"]))
        elif isinstance(node, exp.DateFromUnixDate):
            node.replace(_date(exp.Add(this=_date(exp.Literal.string("1970-01-01")),
                                       expression=_cast(node.this, "INT"))))
        elif isinstance(node, _INT_RESULTS) and not isinstance(node.parent, exp.Cast):
            node.replace(_cast(node.copy(), "INT"))
    return tree


__all__ = ["Refused", "databricks_timestamps", "java_format", "rewrite"]
