"""One SQL dialect: Databricks SQL, run on the local backend through sqlglot and DuckDB.

View sources, job steps and the statements of the local API server are written in
Databricks SQL. On the local backend each one is parsed by sqlglot (``read="databricks"``),
its tables resolved to Delta tables (with the statement's default catalog and schema and
any ``VERSION AS OF`` / ``TIMESTAMP AS OF`` clause), and written again for DuckDB
(``write="duckdb"``). A construct sqlglot cannot write for DuckDB is refused by name
(:class:`SQLNotTranspilable`), when the record is saved.

``SHOW TABLES`` and ``DESCRIBE HISTORY`` are answered from the Delta log, in the columns
Databricks returns. Failures are :class:`LocalSQLError`: a Databricks error class and
SQLSTATE, and a message that names tables as the SQL wrote them, never a registered name.

Why sqlglot: it is the maintained transpiler with a Databricks reader and a DuckDB
writer; a hand-written rewrite would miss most of the function library.
Plain Python: no Odoo import.
"""

import contextlib
import functools
import json
import re

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError, UnsupportedError

from . import errors, functions, sandbox, spark_hash
from .sql import qualify, unparen

_SHOW_TABLES = re.compile(
    r"(?is)^\s*SHOW\s+TABLES(?:\s+(?:IN|FROM)\s+([`\w]+(?:\.[`\w]+)?))?"
    r"(?:\s+(?:LIKE\s+)?'((?:[^']|'')*)')?\s*;?\s*$")
_DESCRIBE_HISTORY = re.compile(
    r"(?is)^\s*DESC(?:RIBE)?\s+HISTORY\s+([`\w.]+)(?:\s+LIMIT\s+(\d+))?\s*;?\s*$")

# DuckDB exception -> (Databricks error class, SQLSTATE); the first match wins.
_DUCKDB_CLASSES = [
    (duckdb.ParserException, "PARSE_SYNTAX_ERROR", "42601"),
    (duckdb.BinderException, "UNRESOLVED_COLUMN", "42703"),
    (duckdb.CatalogException, "TABLE_OR_VIEW_NOT_FOUND", "42P01"),
    (duckdb.ConversionException, "CAST_INVALID_INPUT", "22018"),
    (duckdb.OutOfRangeException, "ARITHMETIC_OVERFLOW", "22003"),
    (duckdb.InvalidInputException, "INVALID_PARAMETER_VALUE", "22023"),
]


class LocalSQLError(errors.DatabricksError, duckdb.Error):
    """A statement failed on the local backend, described as Databricks describes it.

    It is a ``duckdb.Error`` too, so the callers that catch DuckDB's errors keep working.
    """

    def __init__(self, error_class, sql_state, text):
        message = "[%s] %s SQLSTATE: %s" % (error_class, text, sql_state)
        code = "BAD_REQUEST" if sql_state[:2] in ("42", "22", "0A") else "INTERNAL_ERROR"
        super().__init__(message, error_code=code, sql_state=sql_state)
        self.error_class = error_class

    def __str__(self):
        return self.message


class SQLNotTranspilable(LocalSQLError):
    """A Databricks construct that has no DuckDB equivalent (refused before it runs)."""

    def __init__(self, text):
        super().__init__("UNSUPPORTED_FEATURE", "0A000", text)


def _ticks(name):
    return ".".join("`%s`" % part for part in name.split("."))


def table_not_found(name):
    return LocalSQLError(
        "TABLE_OR_VIEW_NOT_FOUND", "42P01",
        "The table or view %s cannot be found. Verify the spelling and correctness of the "
        "schema and catalog." % _ticks(name))


# delta-rs's commit conflicts, as Databricks names them (all SQLSTATE 2D521)
_DELTA_CONFLICTS = [
    ("added new data", "DELTA_CONCURRENT_APPEND", "ConcurrentAppendException: Files were "
     "added to the table by a concurrent update."),
    ("deleted data this operation read", "DELTA_CONCURRENT_DELETE_READ",
     "ConcurrentDeleteReadException: This transaction attempted to read one or more files "
     "that were deleted by a concurrent update."),
    ("deleted the same data", "DELTA_CONCURRENT_DELETE_DELETE",
     "ConcurrentDeleteDeleteException: This transaction attempted to delete one or more "
     "files that were deleted by a concurrent update."),
    ("Metadata changed", "DELTA_METADATA_CHANGED", "MetadataChangedException: The metadata "
     "of the Delta table has been changed by a concurrent update."),
    ("Protocol changed", "DELTA_PROTOCOL_CHANGED", "ProtocolChangedException: The protocol "
     "version of the Delta table has been changed by a concurrent update."),
]


def delta_conflict(exc, name):
    """A delta-rs ``CommitFailedError`` (another writer committed to ``name`` first) as
    Databricks' concurrency error: the write can be run again."""
    text = str(exc)
    klass, message = next(((k, m) for key, k, m in _DELTA_CONFLICTS if key in text),
                          ("DELTA_CONCURRENT_TRANSACTION", "ConcurrentTransactionException: "
                           "A concurrent transaction committed first."))
    return LocalSQLError(klass, "2D521", "%s Table %s. Please try the operation again."
                         % (message, _ticks(name)))


def from_duckdb(exc, names=None):
    """A DuckDB error as a :class:`LocalSQLError`; ``names`` maps registered names back to
    the names the SQL wrote."""
    if isinstance(exc, LocalSQLError):
        return exc
    text = str(exc).strip().replace("\n\n", "\n")
    for registered, written in sorted((names or {}).items(), key=lambda kv: -len(kv[0])):
        text = text.replace(registered, written)
    text = re.sub(r"^[A-Za-z ]+ Error: ", "", text)
    raised = re.search(r"\[(DIVIDE_BY_ZERO|USER_RAISED_EXCEPTION|UNSUPPORTED_FEATURE|"
                       r"CAST_INVALID_INPUT|INVALID_ARRAY_INDEX_IN_ELEMENT_AT|"
                       r"INVALID_INDEX_OF_ZERO)\] "
                       r"(.*) SQLSTATE: (\w{5})$", text, re.S)
    if raised:  # an error() of a transpiled guard or raise_error
        return LocalSQLError(raised.group(1), raised.group(3), raised.group(2))
    if re.search(r"out of range for the destination type INT64", text):  # a BIGINT sum
        return LocalSQLError(
            "ARITHMETIC_OVERFLOW", "22003",
            "long overflow. Use 'try_add' to tolerate overflow and return NULL instead.")
    routine = re.search(r"(?:Scalar|Table|Aggregate)? ?Function with name \"?(\w+)\"? does not "
                        r"exist", text)
    if routine:
        return LocalSQLError(
            "UNRESOLVED_ROUTINE", "42883",
            "Cannot resolve routine `%s` on search path [`system`.`builtin`, "
            "`system`.`session`]." % routine.group(1))
    if "not provided for the following parameters" in text or "Values were not provided" in text:
        return LocalSQLError("UNBOUND_SQL_PARAMETER", "42P02", text)
    column = re.search(r'Referenced column "([^"]+)" not found', text)
    if column:
        return LocalSQLError(
            "UNRESOLVED_COLUMN.WITHOUT_SUGGESTION", "42703",
            "A column, variable, or function parameter with name `%s` cannot be resolved."
            % column.group(1))
    klass, state = next(((k, s) for kind, k, s in _DUCKDB_CLASSES if isinstance(exc, kind)),
                        ("INTERNAL_ERROR", "XX000"))
    return LocalSQLError(klass, state, text)


def _refuse_non_select(sql):
    """Several statements, or not a SELECT, are refused as such (SQLRefused), by DuckDB's
    parser, even when sqlglot cannot read them."""
    with contextlib.suppress(duckdb.ParserException):  # then it is a syntax error
        sandbox.check_select(sql)


def parse(sql):
    """The sqlglot tree of one Databricks SQL statement."""
    if not isinstance(sql, str) or not sql.strip():
        raise sandbox.SQLRefused("The SQL is empty.")
    if "\x00" in sql:
        raise sandbox.SQLRefused("The SQL holds a NUL character.")
    try:
        trees = [t for t in sqlglot.parse(sql, read="databricks") if t is not None]
    except (ParseError, TokenError) as exc:
        _refuse_non_select(sql)
        first = (getattr(exc, "errors", None) or [{}])[0]
        detail = first.get("description") or str(exc).splitlines()[0]
        where = " (line %s, position %s)" % (first["line"], first["col"]) \
            if first.get("line") else ""
        raise LocalSQLError("PARSE_SYNTAX_ERROR", "42601",
                            "Syntax error: %s%s." % (detail, where)) from None
    if len(trees) != 1:
        raise sandbox.SQLRefused("The SQL must be exactly one SELECT statement; it holds %d "
                                 "statements." % len(trees))
    return trees[0]


def check_select(sql):
    """Refuse anything but one Databricks SELECT that DuckDB can run; returns its DuckDB
    text (tables unresolved). Called when a view or job step is saved."""
    tree = parse(sql)
    if not isinstance(tree, exp.Query):
        kind = tree.key.upper() if not isinstance(tree, exp.Command) else \
            str(tree.this).upper()
        raise sandbox.SQLRefused("The SQL must be a SELECT statement, not %s." % kind)
    for table in tree.find_all(exp.Table):
        if time_travel(table):  # checked now; resolved against the Delta log when it runs
            table.set("version", None)
    return check_duckdb(_generate(tree, sql=sql))


def check_duckdb(text):
    """``sandbox.check_select`` of the transpiled text; DuckDB's syntax errors are a
    construct the local backend cannot run (said in Databricks' terms)."""
    try:
        return sandbox.check_select(text)
    except duckdb.ParserException as exc:
        detail = re.sub(r"^[A-Za-z ]+ Error: ", "", str(exc).strip()).splitlines()[0]
        raise SQLNotTranspilable("This Databricks SQL has no local (DuckDB) equivalent: %s"
                                 % detail.rstrip(".")) from None


def _try_to_timestamp(tree):
    """``try_to_timestamp(expr, fmt)`` (NULL on an unparsable or impossible date, where
    ``to_date`` fails the statement) as DuckDB's ``TRY_STRPTIME``: sqlglot leaves it as an
    unknown function."""
    for call in list(tree.find_all(exp.Anonymous)):
        if str(call.this).lower() != "try_to_timestamp" or len(call.expressions) != 2:
            continue
        value, fmt = call.expressions
        if not isinstance(fmt, exp.Literal) or not fmt.is_string:
            raise SQLNotTranspilable("try_to_timestamp needs a literal format")
        fmt = sqlglot.Dialect.get_or_raise("databricks").format_time(fmt)
        call.replace(exp.StrToTime(this=value, format=fmt, safe=True))
    return tree


_DIVIDE_BY_ZERO = ("[DIVIDE_BY_ZERO] Division by zero. Use `try_divide` to tolerate divisor "
                   "being 0 and return NULL instead. SQLSTATE: 22012")


def _nonzero_literal(node):
    node = unparen(node)
    if isinstance(node, exp.Neg):
        node = unparen(node.this)
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return float(node.this) != 0
        except ValueError:
            return False
    return False


def _ansi_division(tree):
    """ANSI mode: ``x / 0``, ``x div 0`` and ``x % 0`` fail with DIVIDE_BY_ZERO, where DuckDB
    gives Infinity or NULL; the divisor is guarded by DuckDB's ``error()``."""
    for node in list(tree.find_all(exp.Div, exp.IntDiv, exp.Mod)):
        divisor = node.expression
        if divisor is None or _nonzero_literal(divisor) or isinstance(divisor, exp.Null):
            continue
        guard = exp.Case(ifs=[exp.If(this=exp.EQ(this=divisor.copy(), expression=exp.Literal
                                                 .number(0)),
                                     true=exp.Anonymous(this="error", expressions=[
                                         exp.Literal.string(_DIVIDE_BY_ZERO)]))],
                         default=divisor.copy())
        node.set("expression", guard)
    return tree


def _functions(tree):
    """Databricks functions that DuckDB has under another name or type."""
    for call in list(tree.find_all(exp.Anonymous)):
        name = str(call.this).lower()
        if name == "raise_error" and len(call.expressions) == 1:
            # USER_RAISED_EXCEPTION, its message as given (read back by from_duckdb)
            text = exp.func("concat", exp.Literal.string("[USER_RAISED_EXCEPTION] "),
                            exp.Coalesce(this=exp.cast(call.expressions[0], "VARCHAR"),
                                         expressions=[exp.Literal.string("null")]),
                            exp.Literal.string(" SQLSTATE: P0001"))
            call.replace(exp.Anonymous(this="error", expressions=[text]))
        elif name == "hash":
            # Databricks' hash is an INT; where the types are unknown (see _typed), DuckDB's
            # hash in the INT range
            wrapped = exp.Anonymous(this="hash", expressions=call.expressions)
            call.replace(exp.cast(exp.Sub(
                this=exp.cast(exp.Mod(this=wrapped, expression=exp.Literal.number(2 ** 32)),
                              "BIGINT"),
                expression=exp.Literal.number(2 ** 31)), "INT"))
    for node in list(tree.find_all(exp.FromJson)):
        schema = node.expression
        if not (isinstance(schema, exp.Literal) and schema.is_string):
            raise SQLNotTranspilable("from_json needs a literal schema")
        node.replace(exp.Anonymous(this="from_json", expressions=[
            node.this, exp.Literal.string(json.dumps(_json_structure(schema.this)))]))
    return tree


def _json_structure(ddl):
    """A Databricks schema (``a INT, b ARRAY<STRING>`` or ``STRUCT<...>``) as the JSON
    structure DuckDB's ``from_json`` takes."""
    text = ddl.strip()
    if not re.match(r"(?i)^(struct|map|array)\s*<", text):
        text = "STRUCT<%s>" % text
    try:
        kind = exp.DataType.build(text, dialect="databricks")
    except (ParseError, TokenError, ValueError):
        raise SQLNotTranspilable("from_json cannot read the schema %r" % ddl) from None

    def shape(t):
        if t.this == exp.DataType.Type.STRUCT:
            return {f.name: shape(f.args["kind"]) for f in t.expressions}
        if t.this == exp.DataType.Type.ARRAY:
            return [shape(t.expressions[0])]
        return t.sql(dialect="duckdb")

    return shape(kind)


_YM_UNITS = {"YEAR": "YEAR", "MONTH": "MONTH", "YEAR TO MONTH": "YEAR TO MONTH"}
_DT_UNITS = {"DAY": 86400, "HOUR": 3600, "MINUTE": 60, "SECOND": 1}


def interval_qualifier(node):
    """``YEAR TO MONTH``, ``DAY TO SECOND``, ``MONTH``... of a Databricks interval literal
    with a string value, or None."""
    node = unparen(node)
    if isinstance(node, exp.Neg):
        node = unparen(node.this)
    if not isinstance(node, exp.Interval) or not isinstance(node.this, exp.Literal) \
            or not node.this.is_string:
        return None
    unit = node.args.get("unit")
    if isinstance(unit, exp.IntervalSpan):
        text = "%s TO %s" % (unit.this.name.upper(), unit.expression.name.upper())
    elif unit is not None:
        text = unit.name.upper().rstrip("S")
    else:
        return None
    start, _sep, end = text.partition(" TO ")
    if text in _YM_UNITS or (start in _DT_UNITS and (not end or end in _DT_UNITS)):
        return text
    return None


def _interval_value(qualifier, text):
    """(months, microseconds) of a Databricks interval string for its qualifier."""
    value = text.strip()
    sign = -1 if value.startswith("-") else 1
    value = value.lstrip("+-").strip()
    if qualifier in _YM_UNITS:
        match = re.fullmatch(r"(\d+)(?:-(\d{1,2}))?", value)
        if not match or (match.group(2) and qualifier != "YEAR TO MONTH"):
            raise ValueError(text)
        first, months = int(match.group(1)), int(match.group(2) or 0)
        if months > 11:
            raise ValueError(text)
        total = first if qualifier == "MONTH" else first * 12 + months
        return sign * total, 0
    start, _sep, end = qualifier.partition(" TO ")
    units = list(_DT_UNITS)[list(_DT_UNITS).index(start):list(_DT_UNITS).index(end or start) + 1]
    match = re.fullmatch(r"(\d+)(?:[ :](\d{1,2}))?(?::(\d{1,2}))?(?::(\d{1,2}))?"
                         r"(?:\.(\d{1,9}))?", value)
    if not match:
        raise ValueError(text)
    parts = [int(p) for p in match.groups()[:4] if p is not None]
    fraction = match.group(5)
    if len(parts) != len(units) or (fraction and units[-1] != "SECOND"):
        raise ValueError(text)
    micros = sum(p * _DT_UNITS[u] * 10 ** 6 for p, u in zip(parts, units, strict=True))
    micros += int((fraction or "0").ljust(6, "0")[:6])
    return 0, sign * micros


def _intervals(tree):
    """Interval literals as DuckDB reads them (it has no ``DAY TO SECOND``)."""
    for node in list(tree.find_all(exp.Interval)):
        qualifier = interval_qualifier(node)
        if qualifier is None:
            continue
        try:
            months, micros = _interval_value(qualifier, node.this.this)
        except ValueError:
            raise LocalSQLError(
                "INVALID_INTERVAL_FORMAT", "22006",
                "Error parsing '%s' to interval: it is not of the form of INTERVAL %s."
                % (node.this.this, qualifier)) from None
        days, rest = divmod(abs(micros), 86400 * 10 ** 6)  # days kept, as DuckDB reads them
        sign = "-" if micros < 0 else ""
        text = "%d months" % months if qualifier in _YM_UNITS else \
            "%s%d days %s%d microseconds" % (sign, days, sign, rest)
        node.replace(exp.Interval(this=exp.Literal.string(text)))
    return tree


_INT_DIGITS = {exp.DataType.Type.TINYINT: 3, exp.DataType.Type.SMALLINT: 5,
               exp.DataType.Type.INT: 10, exp.DataType.Type.BIGINT: 20}


def _decimal_of(node, columns):
    """``(precision, scale)`` Databricks gives ``node`` in decimal arithmetic, when sure:
    a decimal or integer column of a table, a cast to one, or a numeric literal."""
    node = unparen(node)
    kind = None
    if isinstance(node, exp.Column):
        kind = columns(node)
    elif type(node) is exp.Cast:
        kind = node.to
    elif isinstance(node, exp.Literal) and not node.is_string:
        digits = str(node.this)
        if not re.fullmatch(r"\d+(\.\d+)?", digits):
            return None
        whole, _sep, fraction = digits.partition(".")
        return max(len(whole.lstrip("0")) + len(fraction), len(fraction), 1), len(fraction)
    if kind is None:
        return None
    if kind.this == exp.DataType.Type.DECIMAL:
        params = [int(e.this.this) for e in kind.expressions]
        return (params + [10, 0][len(params):])[0], (params + [10, 0][len(params):])[1]
    if kind.this in _INT_DIGITS:
        return _INT_DIGITS[kind.this], 0
    return None


def _bounded(precision, scale):
    """Databricks' result type of a decimal operation wider than 38 digits (precision
    loss allowed: at least 6 digits of scale kept)."""
    if precision <= 38:
        return precision, scale
    whole = precision - scale
    return 38, max(38 - whole, min(scale, 6))


def _decimal_type(precision, scale):
    return exp.DataType.build("DECIMAL(%d, %d)" % (precision, scale))


_INTEGRAL = (exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT,
             exp.DataType.Type.BIGINT)
_FRACTIONAL = (exp.DataType.Type.DECIMAL, exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT)
_TIMESTAMPS = (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPLTZ,
               exp.DataType.Type.TIMESTAMPTZ)


def _known_type(node, columns):
    """The Databricks type of ``node`` when sure (a literal, a typed column, a cast)."""
    node = unparen(node)
    while isinstance(node, exp.Neg):
        node = unparen(node.this)
    if isinstance(node, exp.Column):
        return columns(node)
    if type(node) is exp.Cast:
        return node.to
    if isinstance(node, exp.Literal) and not node.is_string:
        text = str(node.this)
        return exp.DataType.build("DOUBLE" if re.search(r"[eE]|[dD]$", text) else
                                  "DECIMAL" if "." in text else "BIGINT")
    if isinstance(node, exp.Div):
        return exp.DataType.build("DOUBLE")
    return None


def _error(*parts):
    """DuckDB's ``error()`` of a Databricks error text (read back by from_duckdb)."""
    return exp.Anonymous(this="error", expressions=[
        exp.Anonymous(this="concat", expressions=list(parts))])


_STRINGS = (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.CHAR)
_DUCKDB_INTS = {exp.DataType.Type.TINYINT: "TINYINT", exp.DataType.Type.SMALLINT: "SMALLINT",
                exp.DataType.Type.INT: "INT", exp.DataType.Type.BIGINT: "BIGINT"}


def _cast_integer_text(node):
    """ANSI mode: a string cast to an integer must be an integer literal (``'12.5'`` fails
    with CAST_INVALID_INPUT, where DuckDB rounds to 13; try_cast gives NULL)."""
    value = node.this
    text = exp.cast(value.copy(), "VARCHAR")
    valid = exp.Anonymous(this="regexp_full_match", expressions=[
        exp.Trim(this=text.copy()), exp.Literal.string(r"[+-]?[0-9]+")])
    fail = _error(exp.Literal.string("[CAST_INVALID_INPUT] The value '"), text.copy(),
                  exp.Literal.string(
                      "' of the type \"STRING\" cannot be cast to \"%s\" because it is "
                      "malformed. Correct the value as per the syntax, or change its target "
                      "type. Use `try_cast` to tolerate malformed input and return NULL "
                      "instead. If necessary set \"ANSI_MODE\" to \"false\" to bypass this "
                      "error. SQLSTATE: 22018" % _DUCKDB_INTS[node.to.this]))
    if isinstance(node, exp.TryCast):  # NULL instead of the error
        fail = exp.Null()
    node.set("this", exp.Case(ifs=[exp.If(this=exp.Or(
        this=exp.Is(this=value.copy(), expression=exp.Null()), expression=valid),
        true=value.copy())], default=fail))


def _ansi_cast(node, columns):
    """A cast as Databricks does it where DuckDB differs: a fractional number to an
    integer is truncated (DuckDB rounds), a timestamp to a string has no offset (DuckDB
    writes ``+00``), a number to a TIMESTAMP is seconds since the epoch (DuckDB has no
    such cast), a malformed string to an integer fails (ANSI mode)."""
    if node.to is None:
        return
    source = _known_type(node.this, columns)
    literal = unparen(node.this)
    if source is None and isinstance(literal, exp.Literal) and literal.is_string:
        source = exp.DataType.build("STRING")
    if source is None:
        return
    if node.to.this in _INTEGRAL and source.this in _STRINGS:
        _cast_integer_text(node)
    elif node.to.this in _TIMESTAMPS and source.this in _INTEGRAL + _FRACTIONAL:
        seconds = node.this
        if source.this == exp.DataType.Type.DECIMAL:
            seconds = exp.cast(seconds, "DOUBLE")
        node.set("this", exp.Anonymous(this="to_timestamp", expressions=[seconds]))
    elif node.to.this in _INTEGRAL and source.this in _FRACTIONAL:
        node.set("this", exp.Anonymous(this="trunc", expressions=[node.this]))
    elif node.to.this in (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT) \
            and source.this in _TIMESTAMPS:
        node.set("this", exp.Cast(this=node.this, to=exp.DataType.build("TIMESTAMP")))


def _is_array(node, columns):
    """True when ``node`` is sure to be an ARRAY (a literal, a typed column, a cast)."""
    node = unparen(node)
    if isinstance(node, exp.Array):
        return True
    kind = _known_type(node, columns) if isinstance(node, (exp.Column, exp.Cast)) else None
    return kind is not None and kind.this == exp.DataType.Type.ARRAY


def _element_at(node):
    """ANSI mode: ``element_at(array, i)`` fails for an index 0 or past either end, where
    DuckDB gives NULL (``try_element_at`` keeps the NULL)."""
    array, index = node.this, node.expressions[0]
    size = exp.Anonymous(this="len", expressions=[array.copy()])
    past = _error(exp.Literal.string("[INVALID_ARRAY_INDEX_IN_ELEMENT_AT] The index "),
                  exp.cast(index.copy(), "VARCHAR"),
                  exp.Literal.string(" is out of bounds. The array has "),
                  exp.cast(size.copy(), "VARCHAR"),
                  exp.Literal.string(
                      " elements. Use `try_element_at` to tolerate accessing element at "
                      "invalid index and return NULL instead. If necessary set \"ANSI_MODE\" "
                      "to \"false\" to bypass this error. SQLSTATE: 22003"))
    zero = _error(exp.Literal.string(
        "[INVALID_INDEX_OF_ZERO] The index 0 is invalid. An index shall be either < 0 or > 0 "
        "(the first element has index 1). SQLSTATE: 22003"))
    guarded = exp.Case(ifs=[
        exp.If(this=exp.EQ(this=index.copy(), expression=exp.Literal.number(0)), true=zero),
        exp.If(this=exp.GT(this=exp.Anonymous(this="abs", expressions=[index.copy()]),
                           expression=size), true=past)], default=index.copy())
    node.set("expressions", [guarded])


def _rounded(node, columns):
    """ceil / floor with Databricks' types: a BIGINT, or DECIMAL(p - s + 1, 0) of a
    DECIMAL(p, s); with a scale a DECIMAL, rounded in decimal (sqlglot's form is a
    DOUBLE). Left as DuckDB gives it where the argument's type is unknown."""
    value = unparen(node.this)
    while isinstance(value, exp.Neg):
        value = unparen(value.this)
    kind = _known_type(node.this, columns)
    digits = _decimal_of(value, columns)
    if kind is None or (kind.this not in _INTEGRAL and kind.this not in _FRACTIONAL):
        return
    scale = node.args.get("decimals")
    if scale is None:
        if kind.this == exp.DataType.Type.DECIMAL and digits:
            to = _decimal_type(min(digits[0] - digits[1] + 1, 38), 0)
        else:
            to = exp.DataType.build("BIGINT")
        node.replace(exp.Cast(this=node.copy(), to=to))
        return
    target = unparen(scale)
    sign = -1 if isinstance(target, exp.Neg) else 1
    target = unparen(target.this) if sign < 0 else target
    if not (isinstance(target, exp.Literal) and target.is_int):
        raise SQLNotTranspilable("%s needs a literal integer scale" % node.key)
    target = sign * int(target.this)
    if kind.this in _INTEGRAL:
        p_in, s_in = _INT_DIGITS[kind.this], 0
        floor = {exp.DataType.Type.TINYINT: 3, exp.DataType.Type.SMALLINT: 5,
                 exp.DataType.Type.INT: 10}.get(kind.this, 20)
        precision, result = max(floor, -target + 1), 0
    elif kind.this == exp.DataType.Type.DECIMAL and digits:
        p_in, s_in = digits
        precision, result = max(p_in - s_in + 1, -target + 1), min(s_in, max(0, target))
    else:  # DOUBLE, FLOAT
        p_in, s_in = 38, 15
        precision, result = max(30, -target + 1), min(15, max(0, target))
    precision = min(precision + (result if kind.this != exp.DataType.Type.DECIMAL else 0), 38)
    value = exp.Cast(this=node.this.copy(), to=_decimal_type(38, min(s_in, 38 - (
        p_in - s_in)) if kind.this == exp.DataType.Type.DECIMAL else s_in))
    if target < s_in:
        # x rounded at 10^-target: ceil(x * 10^target) * 10^-target, all in DECIMAL
        up = exp.Literal.number("1" + "0" * target) if target >= 0 else \
            exp.Literal.number("0." + "0" * (-target - 1) + "1")
        down = exp.Literal.number("0." + "0" * (target - 1) + "1") if target > 0 else \
            exp.Literal.number("1" + "0" * -target)
        value = exp.Mul(this=type(node)(this=exp.Mul(this=value, expression=up)),
                        expression=down)
    node.replace(exp.Cast(this=value, to=_decimal_type(precision, result)))


def _typed(tree, schemas):
    """Rewrites that need the tables' types (``schemas``: {registered name: {column:
    DataType}}), done only where the operand types are sure: decimal ``*`` and the
    ``sum`` / ``avg`` of a decimal have Databricks' result types."""
    def columns(column):
        select = column.find_ancestor(exp.Select)
        if select is None or not column.name:
            return None
        sources = [select.args.get("from_")] + list(select.args.get("joins") or [])
        tables = [s.this for s in sources if s is not None and isinstance(s.this, exp.Table)]
        if len(tables) != len([s for s in sources if s is not None]):
            return None  # a subquery among the sources: its columns are not typed here
        if column.table:
            tables = [t for t in tables if t.alias_or_name.lower() == column.table.lower()]
        found = [(schemas or {}).get(t.name.lower(), {}).get(column.name.lower())
                 for t in tables]
        found = [f for f in found if f is not None]
        return found[0] if len(found) == 1 and len(tables) >= 1 else None

    def is_decimal(node):
        node = unparen(node)
        kind = columns(node) if isinstance(node, exp.Column) else \
            node.to if type(node) is exp.Cast else None
        if isinstance(node, exp.Literal):
            return not node.is_string and "." in str(node.this)
        return kind is not None and kind.this == exp.DataType.Type.DECIMAL

    for node in list(tree.find_all(exp.Mul)):
        left, right = _decimal_of(node.this, columns), _decimal_of(node.expression, columns)
        if not (left and right) or not (is_decimal(node.this) or is_decimal(node.expression)):
            continue  # integers, not decimals
        precision, scale = _bounded(left[0] + right[0] + 1, left[1] + right[1])
        if scale < left[1] + right[1]:
            # DuckDB would hold the product at the full scale and overflow: the operands
            # are rounded so that their scales add up to the result's
            second = min(right[1], scale // 2)
            first = min(left[1], scale - second)
            second = min(right[1], scale - first)
            # (exp.Cast, not exp.cast: that keeps a cast to another DECIMAL as it is)
            node.set("this", exp.Cast(this=node.this.copy(), to=_decimal_type(38, first)))
            node.set("expression", exp.Cast(this=node.expression.copy(),
                                            to=_decimal_type(38, second)))
        node.replace(exp.Cast(this=exp.Paren(this=node.copy()),
                              to=_decimal_type(precision, scale)))
    for node in list(tree.find_all(exp.Cast)):
        _ansi_cast(node, columns)
    for node in list(tree.find_all(exp.Bracket)):
        if node.args.get("offset") == 1 and not node.args.get("safe") and \
                len(node.expressions) == 1 and _is_array(node.this, columns):
            _element_at(node)
    for node in list(tree.find_all(exp.Ceil, exp.Floor)):
        _rounded(node, columns)
    for call in list(tree.find_all(exp.Anonymous)) if schemas is not None else ():
        if str(call.this).lower() == "hash" and call.expressions:
            murmur = spark_hash.spark_hash(call, columns)
            if murmur is None:
                raise SQLNotTranspilable(
                    "hash() computes Databricks' value locally only of columns of a table, "
                    "literals and casts of a BOOLEAN, integer, DATE, TIMESTAMP, STRING or "
                    "DECIMAL(p <= 18) type: cast the argument, as in hash(CAST(x AS STRING)), "
                    "in %s" % call.sql(dialect="databricks"))
            call.replace(murmur)
    for node in list(tree.find_all(exp.Sum, exp.Avg)):
        arg = unparen(node.this)
        kind = columns(arg) if isinstance(arg, exp.Column) else \
            arg.to if type(arg) is exp.Cast else None
        if kind is None or kind.this != exp.DataType.Type.DECIMAL:
            continue
        precision, scale = _decimal_of(arg, columns)
        result = (min(precision + 10, 38), scale) if isinstance(node, exp.Sum) else \
            (min(precision + 4, 38), min(scale + 4, 38))
        value = node.copy()
        if isinstance(node, exp.Avg):  # DuckDB's decimal average is a DOUBLE: its shortest text
            value = exp.cast(value, "VARCHAR")
        node.replace(exp.Cast(this=value, to=_decimal_type(*result)))
    return tree


def _group_modifiers(tree):
    """``GROUP BY a, b WITH ROLLUP`` / ``WITH CUBE`` as ``GROUP BY ROLLUP (a, b)``: DuckDB
    has only the latter."""
    for group in tree.find_all(exp.Group):
        for key, kind in (("rollup", exp.Rollup), ("cube", exp.Cube)):
            marks = group.args.get(key) or []
            if len(marks) == 1 and not marks[0].expressions and group.expressions:
                group.set(key, [kind(expressions=list(group.expressions))])
                group.set("expressions", [])
    return tree


def _output_names(tree, sql=None):
    """``[(select, position, name, text)]`` of the unnamed output columns: a rewrite below
    must not rename them (``hash(s)`` stays ``hash(s)``)."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return []
    found = []
    for position, node in enumerate(select.expressions):
        if isinstance(node, (exp.Alias, exp.Column, exp.Star)):
            continue
        found.append((select, position, spark_name(node, sql), node.sql()))
    return found


# sqlglot reads these synonyms as one function; Spark names a column by the one written
# (the arguments in the same order)
_SYNONYMS = {"nvl": "coalesce", "ifnull": "coalesce", "len": "length",
             "char_length": "length", "character_length": "length", "lcase": "lower",
             "ucase": "upper", "pow": "power", "ceiling": "ceil", "dateadd": "date_add",
             "now": "current_timestamp", "approx_percentile": "percentile_approx",
             "sha1": "sha", "iff": "if", "substr": "substring", "array_agg": "collect_list"}


def spark_name(node, sql=None):
    """The name Databricks gives an output column without an alias, as Spark's
    ``toPrettySQL`` writes it: functions in lower case as written (``nvl``, not sqlglot's
    ``coalesce``; ``sql`` is the text parsed), string literals unquoted, column qualifiers
    dropped, every operator in parentheses, ``count(*)`` as ``count(1)`` (``SELECT region,
    count(*)`` has the columns ``region`` and ``count(1)``)."""
    node = node.copy()
    for sub in reversed(list(node.walk())):  # innermost first
        new = None
        written = _written_name(sub, sql)
        if written:
            text = sub.sql(dialect="databricks", normalize_functions="lower")
            new = exp.Var(this=written + text[len(_SYNONYMS[written]):])
        elif isinstance(sub, exp.Count) and isinstance(sub.this, exp.Star):
            sub.set("this", exp.Literal.number(1))
        elif isinstance(sub, exp.Literal) and sub.is_string:
            new = exp.Var(this=sub.this)
        elif isinstance(sub, exp.Column) and sub.table:
            new = exp.Column(this=sub.this.copy())
        elif isinstance(sub, exp.DPipe):
            new = exp.Anonymous(this="concat", expressions=[sub.this, sub.expression])
        elif isinstance(sub, exp.IntDiv):
            new = exp.Paren(this=exp.Var(this="%s div %s" % (
                sub.this.sql("databricks", normalize_functions="lower"),
                sub.expression.sql("databricks", normalize_functions="lower"))))
        elif isinstance(sub, exp.Neg):
            new = exp.Paren(this=exp.Var(this="- " + sub.this.sql(
                "databricks", normalize_functions="lower")))
        elif isinstance(sub, (exp.Binary, exp.Not)) and not isinstance(sub.parent, exp.Paren):
            new = exp.Paren(this=sub.copy())
        if new is not None:
            if sub is node:
                node = new
            else:
                sub.replace(new)
    return node.sql(dialect="databricks", normalize_functions="lower")


def _written_name(node, sql):
    """The synonym ``sql`` wrote for a function sqlglot renamed, or None."""
    start, end = node.meta.get("start"), node.meta.get("end")
    if not sql or not isinstance(node, exp.Func) or start is None or end is None:
        return None
    written = sql[start:end + 1].lower()
    canonical = _SYNONYMS.get(written)
    text = node.sql(dialect="databricks", normalize_functions="lower")
    return written if canonical and text.startswith(canonical + "(") else None


def _generate(tree, schemas=None, sql=None):
    names = _output_names(tree, sql)
    tree = functions.databricks_timestamps(tree)
    tree = _group_modifiers(tree)
    tree = _typed(tree, schemas)
    tree = _try_to_timestamp(tree)
    try:
        tree = functions.rewrite(tree)
    except functions.Refused as exc:
        raise SQLNotTranspilable("This Databricks SQL has no local (DuckDB) equivalent: %s"
                                 % exc) from None
    tree = _functions(tree)
    tree = _ansi_division(tree)
    tree = _intervals(tree)
    for select, position, name, _text in names:
        # always: DuckDB would name it in its own text (count_star(), "first"(s))
        node = select.expressions[position]
        node.replace(exp.alias_(node.copy(), name, quoted=True))
    try:
        return tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise SQLNotTranspilable(
            "This Databricks SQL has no local (DuckDB) equivalent: %s"
            % str(exc).strip().rstrip(".")) from None


def databricks_types(rel):
    """A DuckDB relation with Databricks' result types: DuckDB sums integers into a
    HUGEINT, Databricks into a BIGINT (a sum out of its range fails: ARITHMETIC_OVERFLOW)."""
    types = [str(t) for t in rel.types]
    if "HUGEINT" not in types or len(set(rel.columns)) != len(rel.columns):
        return rel
    quoted = ['"%s"' % c.replace('"', '""') for c in rel.columns]
    return rel.project(", ".join(
        "CAST(%s AS BIGINT) AS %s" % (q, q) if t == "HUGEINT" else q
        for q, t in zip(quoted, types, strict=True)))


def _interval_qualifiers(sql):
    """The interval qualifier of each output column of a SELECT whose expression is an
    interval literal (None for the others)."""
    try:
        tree = parse(sql)
    except (LocalSQLError, sandbox.SQLRefused):
        return []
    while isinstance(tree, exp.SetOperation):
        tree = tree.this
    if not isinstance(tree, exp.Select):
        return []
    return [interval_qualifier(e.unalias()) for e in tree.expressions]


def databricks_intervals(reader, sql):
    """``reader`` with its interval columns of a known qualifier as
    :class:`.types.IntervalType` (DuckDB has one INTERVAL type, Databricks two)."""
    from .types import IntervalType, interval_text  # noqa: PLC0415

    positions = [i for i, f in enumerate(reader.schema)
                 if pa.types.is_interval(f.type)]
    if not positions:
        return reader
    qualifiers = _interval_qualifiers(sql)
    kinds = {i: qualifiers[i] for i in positions if i < len(qualifiers) and qualifiers[i]}
    if not kinds:
        return reader
    fields = [pa.field(f.name, IntervalType(kinds[i])) if i in kinds else f
              for i, f in enumerate(reader.schema)]
    schema = pa.schema(fields)

    def value(v, year_month):
        if v is None:
            return None
        if year_month:
            return interval_text(True, v.months)
        return interval_text(False, (v.months * 30 + v.days) * 86400 * 10 ** 6
                             + v.nanoseconds // 1000)

    def batches():
        for batch in reader:
            columns = [pa.ExtensionArray.from_storage(schema.field(i).type, pa.array(
                [value(v, schema.field(i).type.year_month) for v in c.to_pylist()],
                pa.string())) if i in kinds else c for i, c in enumerate(batch.columns)]
            yield pa.RecordBatch.from_arrays(columns, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def table_name(table, catalog=None, schema=None):
    """``catalog.schema.table`` of a sqlglot table, completed from the defaults, or None
    when it cannot be completed."""
    return qualify((table.catalog, table.db, table.name), catalog, schema)


class TravelExpression(str):
    """The DuckDB ``SELECT`` that computes a time-travel value written as an expression
    (``TIMESTAMP AS OF current_timestamp() - INTERVAL 1 DAY``, ``VERSION AS OF :v``): it is
    evaluated once, when the query runs, before the Delta version is chosen. A str, so
    two clauses that say the same compare equal."""


def time_travel(table):
    """(kind, value) of a ``VERSION AS OF`` / ``TIMESTAMP AS OF`` clause, or None. The
    value is a literal's, or a :class:`TravelExpression` for a constant expression (a
    column, subquery, aggregate or window in it is refused: Databricks evaluates it once
    per query too)."""
    version = table.args.get("version")
    if not version:
        return None
    kind = str(version.this).upper()
    value = version.expression
    if isinstance(value, exp.Literal):
        value = int(value.this) if value.is_int else value.this
    else:
        if any(isinstance(n, (exp.Column, exp.Query, exp.AggFunc, exp.Window))
               for n in value.walk()):
            raise SQLNotTranspilable("%s AS OF needs a literal or a constant expression, "
                                     "not %s" % (kind, value.sql("databricks")))
        to = "BIGINT" if kind == "VERSION" else "TIMESTAMP"
        params = sorted({p.name for p in value.find_all(exp.Placeholder) if p.name})
        value = TravelExpression(_generate(exp.select(exp.alias_(exp.cast(
            value.copy(), exp.DataType.build(to, dialect="databricks")), "at"))))
        value.params = params
        return kind, value
    if kind == "VERSION" and not isinstance(value, int):
        raise LocalSQLError("INVALID_PARAMETER_VALUE", "22023",
                            "VERSION AS OF needs an integer version, not %r." % value)
    return kind, value


# a quoted identifier, a string literal (``IDENTIFIER('c')``) or a word of the DuckDB text
_NAMES = re.compile(r'"((?:[^"]|"")*)"|\'((?:[^\']|\'\')*)\'|(\w+)')


def _every_column(node, tables):
    """True when ``node`` may use columns it does not name: a star (not ``count(*)``),
    ``NATURAL JOIN``, ``PIVOT``, a sample, columns renamed by position (``t AS x(a, b)``),
    DuckDB's ``COLUMNS()``, a column named at run time, or a whole row (``to_json(t)``)."""
    if isinstance(node, exp.Star):
        return not (isinstance(node.parent, exp.Count) and node.arg_key == "this")
    if isinstance(node, exp.Join):
        return "NATURAL" in (node.text("method") + node.text("kind")).upper()
    if isinstance(node, (exp.Pivot, exp.TableSample, exp.Columns)):
        return True
    if isinstance(node, exp.Table):
        alias = node.args.get("alias")
        return bool(alias and alias.columns)
    if isinstance(node, exp.Anonymous):
        name = str(node.this).lower()
        return name == "columns" or (name == "identifier" and not all(
            isinstance(e, exp.Literal) and e.is_string for e in node.expressions))
    if isinstance(node, exp.Column):
        return not node.table and node.name.lower() in tables
    return False


def column_names(tree, text):
    """Lower-case names that a query may use as columns of its tables, or None when it may
    use every column. Over-inclusive on purpose: every identifier, word and string of the
    tree and of its DuckDB ``text``, whatever it names (columns of any table, aliases,
    struct fields, lambda variables); only a name in none of them is never bound."""
    tables = {t.alias_or_name.lower() for t in tree.find_all(exp.Table)}
    names = set()
    for node in tree.walk():
        if _every_column(node, tables):
            return None
        if isinstance(node, (exp.Identifier, exp.Var)):
            names.add(str(node.this).lower())
        elif isinstance(node, exp.Literal) and node.is_string:
            names.add(str(node.this).lower())
    reserved = _reserved()
    for match in _NAMES.finditer(text):
        quoted, literal, word = match.groups()
        if quoted is not None:
            names.add(quoted.replace('""', '"').lower())
        elif literal is not None:
            names.add(literal.replace("''", "'").lower())
        elif word.lower() not in reserved:  # SELECT, FROM: never a column unquoted
            names.add(word.lower())
    return names


@functools.cache
def _reserved():
    with duckdb.connect() as con:
        return frozenset(k.lower() for (k,) in con.execute(
            "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'"
        ).fetchall())


def _schemas(arrow_schemas):
    """{registered name: {column: sqlglot DataType}} of Arrow schemas."""
    from .types import type_text  # noqa: PLC0415 - plain Python, no cycle at import

    out = {}
    for name, arrow in (arrow_schemas or {}).items():
        columns = {}
        for field in arrow:
            try:
                columns[field.name.lower()] = exp.DataType.build(type_text(field.type),
                                                                 dialect="databricks")
            except (ParseError, TokenError, ValueError):
                continue
        out[name.lower()] = columns
    return out


def transpile(sql, resolve, catalog=None, schema=None, schemas=None):
    """DuckDB text of one Databricks SELECT, each Delta table replaced by the name that
    ``resolve(full_name, time_travel)`` returns (it registers the table). Returns
    ``(duckdb_sql, parameter_names, {registered: written}, column names)``, the names as
    :func:`column_names` gives them (None: every column). ``schemas(registered)`` gives a
    registered table's Arrow schema, for the rewrites that need types."""
    tree = parse(sql)
    if not isinstance(tree, exp.Query):
        raise sandbox.SQLRefused("The SQL must be a SELECT statement.")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    names = {}
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            continue  # a table function (range(), unnest()), not a table
        written = ".".join(p for p in (table.catalog, table.db, table.name) if p)
        if not (table.catalog or table.db) and table.name.lower() in ctes:
            continue
        full = table_name(table, catalog, schema)
        if full is None:
            raise table_not_found(written)
        registered = resolve(full, time_travel(table))
        names[registered] = written
        alias = table.args.get("alias")
        new = exp.Table(this=exp.to_identifier(registered, quoted=True))
        new.set("alias", alias or exp.TableAlias(this=exp.to_identifier(table.name)))
        for key, value in table.args.items():  # PIVOT, TABLESAMPLE: kept, never dropped
            if key not in ("this", "db", "catalog", "version", "alias") and value:
                new.set(key, value)
        table.replace(new)
    params = sorted({p.name for p in tree.find_all(exp.Placeholder) if p.name})
    text = _generate(tree, _schemas({r: schemas(r) for r in names}) if schemas else {}, sql)
    return text, params, names, column_names(tree, text)


# Prunable predicates: what a WHERE says of every row it lets through, for the reader to skip
# the partitions and row groups that cannot hold one. Anything unsure is left out: the
# reader then reads, and DuckDB still applies the whole WHERE.
def parameter_names(sql):
    """The ``:name`` parameter markers of Databricks SQL (sqlglot's reading; the marker
    scanner of the local backend when sqlglot cannot parse it)."""
    try:
        tree = parse(sql)
    except (LocalSQLError, sandbox.SQLRefused):
        from .local_backend import _TOKEN  # noqa: PLC0415 - avoids an import cycle

        return sorted({m.group(1) for m in _TOKEN.finditer(sql or "") if m.group(1)})
    return sorted({p.name for p in tree.find_all(exp.Placeholder) if p.name})


def show_tables(sql):
    """``(schema or None, pattern or None)`` for ``SHOW TABLES [IN c.s] [LIKE '...']``,
    or None when ``sql`` is something else."""
    match = _SHOW_TABLES.match(sql or "")
    if not match:
        return None
    where = match.group(1).replace("`", "") if match.group(1) else None
    return where, match.group(2).replace("''", "'") if match.group(2) is not None else None


def describe_history(sql):
    """``(table, limit)`` for ``DESCRIBE HISTORY t [LIMIT n]``, or None."""
    match = _DESCRIBE_HISTORY.match(sql or "")
    if not match:
        return None
    return match.group(1).replace("`", ""), int(match.group(2)) if match.group(2) else None


def like(pattern, name):
    """Databricks ``SHOW TABLES LIKE``: ``*`` is any text and ``|`` separates choices."""
    choices = [re.escape(c.strip()).replace(r"\*", ".*") for c in pattern.split("|")]
    return re.fullmatch("|".join(choices), name, re.I) is not None


__all__ = ["LocalSQLError", "SQLNotTranspilable", "check_select", "column_names",
           "describe_history", "from_duckdb", "parameter_names", "parse",
           "show_tables", "table_not_found", "transpile"]
