"""Data-quality rules evaluated by SQL, in a PostgreSQL or a DuckDB dialect.

Each rule becomes ONE aggregate query over a relation that yields
``(checked_rows, failing_rows[, latest])``. Identifiers are validated and
double-quoted; every value (bounds, accepted values, pattern, cut-off time)
is a bound parameter, never text in the SQL.

Dialects:
- ``postgres``: psycopg2-style ``%(name)s`` parameters (a staging table in Odoo's
  database, see :func:`pg_execute`).
- ``duckdb``: ``$name`` parameters (a Delta table of :class:`LocalLakehouse`
  or Arrow data, see :func:`evaluate_on_lakehouse` / :func:`evaluate_arrow`).

Nulls: only ``not_null`` counts a null as failing; the other column rules skip
nulls (their ``checked_rows`` is the number of non-null values).

A ``regex`` pattern is a Java regular expression, as in Databricks' ``RLIKE``; it is
translated for each dialect by :mod:`.regex` (refused if it cannot mean the same).
"""

import dataclasses
import datetime as dt

from deltalake import DeltaTable

from . import dialect, regex, sandbox
from .local_backend import DeltaStream
from .sql import is_identifier

KINDS = ("not_null", "unique", "between", "accepted_values", "regex", "min_row_count",
         "freshness")
SEVERITIES = ("warn", "fail")
DIALECTS = ("postgres", "duckdb", "databricks")


@dataclasses.dataclass
class Rule:
    code: str
    kind: str
    column: str | None = None
    params: dict = dataclasses.field(default_factory=dict)
    severity: str = "fail"

    @classmethod
    def from_dict(cls, data):
        """A rule from a plain dict (e.g. ``demo.DEMO_RULES``); extra keys are ignored."""
        return cls(code=data["code"], kind=data["kind"], column=data.get("column"),
                   params=dict(data.get("params") or {}),
                   severity=data.get("severity", "fail"))


@dataclasses.dataclass
class RuleResult:
    code: str
    kind: str
    severity: str
    checked_rows: int
    failing_rows: int
    pass_rate: float
    passed: bool
    message: str


def quote_ident(name, dialect="postgres"):
    if not is_identifier(name):
        raise ValueError("Invalid SQL identifier: %r" % (name,))
    return ("`%s`" if dialect == "databricks" else '"%s"') % name


def quote_relation(relation, dialect="postgres"):
    """``table``, ``schema.table`` or ``catalog.schema.table``, each part quoted.

    A part may come already double-quoted (``"x_dbx_sales__stg3"``); it is
    unquoted, validated like any other, and quoted again.
    """
    parts = relation.split(".") if isinstance(relation, str) else []
    if not 1 <= len(parts) <= 3:
        raise ValueError("Invalid relation name: %r" % (relation,))
    return ".".join(quote_ident(_unquote(p), dialect) for p in parts)


def _unquote(part):
    return part[1:-1] if len(part) > 2 and part[0] == part[-1] == '"' else part


def _utc(value):
    """A timezone-aware UTC datetime; dates are read as their midnight UTC."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    raise TypeError("Not a date or datetime: %r" % (value,))


def _check(rule):
    if rule.kind not in KINDS:
        raise ValueError("Unknown rule kind %r (rule %s)" % (rule.kind, rule.code))
    if rule.severity not in SEVERITIES:
        raise ValueError("Severity must be warn or fail (rule %s)" % rule.code)
    p = rule.params or {}
    if rule.kind == "between" and p.get("min") is None and p.get("max") is None:
        raise ValueError("between needs min and/or max (rule %s)" % rule.code)
    if rule.kind == "accepted_values" and not list(p.get("values") or []):
        raise ValueError("accepted_values needs a non-empty values list (rule %s)" % rule.code)
    if rule.kind == "regex" and not p.get("pattern"):
        raise ValueError("regex needs a pattern (rule %s)" % rule.code)
    if rule.kind == "regex":
        regex.check(p["pattern"])  # UnsupportedRegex (a ValueError) names the construct
    if rule.kind == "min_row_count" and int(p.get("min", 0)) < 0:
        raise ValueError("min_row_count needs min >= 0 (rule %s)" % rule.code)
    if rule.kind == "freshness" and not float(p.get("max_age_hours") or 0) > 0:
        raise ValueError("freshness needs max_age_hours > 0 (rule %s)" % rule.code)


def build_sql(rule, relation, dialect, now=None):
    """One query yielding ``(checked_rows, failing_rows)`` for ``rule``; returns (sql, params).

    ``freshness`` also yields a third column, the latest value, and binds the
    cut-off ``now - max_age_hours`` (``now`` defaults to the current UTC time).
    """
    if dialect not in DIALECTS:
        raise ValueError("dialect must be one of %s" % ", ".join(DIALECTS))
    _check(rule)

    def ph(name):
        return {"postgres": "%%(%s)s", "duckdb": "$%s", "databricks": ":%s"}[dialect] % name

    rel = quote_relation(relation, dialect)
    p = rule.params or {}
    params = {}
    if rule.kind == "min_row_count":
        return _select("count(*), 0", rel), params
    col = quote_ident(rule.column, dialect)
    if rule.kind == "not_null":
        return _select("count(*), count(*) FILTER (WHERE %s IS NULL)" % col, rel), params
    if rule.kind == "unique":
        # Rows whose value occurs more than once: every copy fails; nulls are skipped.
        groups = "(%s) AS g" % _select("count(*) AS n", rel, "%s IS NOT NULL GROUP BY %s"
                                       % (col, col))
        return _select("CAST(coalesce(sum(n), 0) AS BIGINT), "
                       "CAST(coalesce(sum(n) FILTER (WHERE n > 1), 0) AS BIGINT)",
                       groups), params
    if rule.kind == "freshness":
        # One failing "row" when the newest value is older than the cut-off.
        now = _utc(now or dt.datetime.now(dt.timezone.utc))
        params["cutoff"] = now - dt.timedelta(hours=float(p["max_age_hours"]))
        return _select("count(*), CASE WHEN max(%s) >= %s THEN 0 ELSE 1 END, max(%s)"
                       % (col, ph("cutoff"), col), rel), params
    if rule.kind == "between":
        outside = []
        for key, op in (("min", "<"), ("max", ">")):
            if p.get(key) is not None:
                params[key] = p[key]
                outside.append("%s %s %s" % (col, op, ph(key)))
        bad = " OR ".join(outside)
    elif rule.kind == "accepted_values":
        for i, value in enumerate(p["values"]):
            params["v%d" % i] = value
        bad = "%s NOT IN (%s)" % (col, ", ".join(ph(name) for name in params))
    else:  # regex: the Java pattern translated for this engine
        bad = "NOT (%s)" % _regex_match(col, p["pattern"], dialect, ph, params)
    # count(col) and the IS NOT NULL guard: nulls are neither checked nor failing.
    return _select("count(%s), count(*) FILTER (WHERE %s IS NOT NULL AND (%s))"
                   % (col, col, bad), rel), params


def _regex_match(col, pattern, dialect, ph, params):
    """Java's find(): a value ending in CRLF takes the pattern's second form (Java's ``$``
    may match before the whole CRLF but not between its two characters)."""
    if dialect == "databricks":  # Java's own RLIKE: the pattern as written (checked)
        regex.check(pattern)
        params["pattern"] = pattern
        return "CAST(%s AS STRING) RLIKE %s" % (col, ph("pattern"))
    text = "CAST(%s AS %s)" % (col, "TEXT" if dialect == "postgres" else "VARCHAR")
    translation = regex.translate(pattern, dialect)

    def match(name):
        if dialect == "postgres":
            return "%s ~ %s" % (text, ph(name))
        return "regexp_matches(%s, %s)" % (text, ph(name))

    params["pattern"] = translation.pattern
    if translation.crlf_pattern is None:
        return match("pattern")
    params["pattern_crlf"] = translation.crlf_pattern
    params["crlf"] = "\r\n"
    return "CASE WHEN right(%s, 2) = %s THEN %s ELSE %s END" % (
        text, ph("crlf"), match("pattern_crlf"), match("pattern"))


def _select(columns, relation, where=None):
    """The one place SQL text is assembled: from quoted identifiers and placeholders."""
    sql = "SELECT %s FROM %s" % (columns, relation)  # noqa: S608 - no value is formatted in
    return sql + (" WHERE %s" % where if where else "")


def _result(rule, row, now):
    """RuleResult from the query's row; ``now`` is the aware UTC time used for the cut-off."""
    checked, failing = int(row[0] or 0), int(row[1] or 0)
    p = rule.params or {}
    col = rule.column
    if rule.kind == "min_row_count":
        minimum = int(p.get("min", 0))
        failing = max(0, minimum - checked)
        passed = failing == 0
        rate = 100.0 if passed else 100.0 * checked / minimum
        message = "%d rows (minimum %d)" % (checked, minimum)
    elif rule.kind == "freshness":
        passed = failing == 0
        rate = 100.0 if passed else 0.0
        max_age = float(p["max_age_hours"])
        latest = row[2] if len(row) > 2 else None
        if latest is None:
            message = "no %s value (maximum age %g h)" % (col, max_age)
        elif not isinstance(latest, dt.date):  # e.g. a text column: no age to show
            message = "latest %s is %s (maximum age %g h)" % (col, latest, max_age)
        else:
            age = (now - _utc(latest)).total_seconds() / 3600
            message = "latest %s is %.1f h old (maximum %g h)" % (col, age, max_age)
    else:
        passed = failing == 0
        rate = 100.0 if not checked else 100.0 * (checked - failing) / checked
        message = "%d of %d rows fail %s on %s" % (failing, checked, rule.kind, col)
    return RuleResult(code=rule.code, kind=rule.kind, severity=rule.severity,
                      checked_rows=checked, failing_rows=failing, pass_rate=round(rate, 4),
                      passed=passed, message=message)


def evaluate(rules, relation, execute, dialect, now=None):
    """Run each rule with ``execute(sql, params) -> row`` and return RuleResults in order."""
    now = _utc(now or dt.datetime.now(dt.timezone.utc))  # one clock for every freshness rule
    results = []
    for rule in rules:
        sql, params = build_sql(rule, relation, dialect, now=now)
        results.append(_result(rule, tuple(execute(sql, params)), now))
    return results


def summarize(results, threshold=98.0):
    """Overall verdict for a set of results.

    The overall pass rate is the plain mean of the per-rule pass rates (each rule
    weighs the same whatever its row count; 100 when there are no rules). The data
    is publishable unless a ``fail`` rule failed or that mean is below ``threshold``.
    """
    results = list(results)
    rate = sum(r.pass_rate for r in results) / len(results) if results else 100.0
    blocking = [r.code for r in results if not r.passed and r.severity == "fail"]
    warnings = [r.code for r in results if not r.passed and r.severity == "warn"]
    below = rate < threshold
    reasons = []
    if blocking:
        reasons.append("failing rules: %s" % ", ".join(blocking))
    if warnings:
        reasons.append("warnings: %s" % ", ".join(warnings))
    if below:
        reasons.append("pass rate %.2f%% is below the %.2f%% threshold" % (rate, threshold))
    if not reasons:
        reasons.append("all %d rules passed" % len(results))
    return {
        "pass_rate": round(rate, 4),
        "failing_rows": sum(r.failing_rows for r in results),
        "publishable": not blocking and not below,
        "reason": _sentence("; ".join(reasons)),
        "failed_rules": blocking,
        "warned_rules": warnings,
    }


def _sentence(text):
    return text[:1].upper() + text[1:] + "."


def pg_execute(cursor):
    """``execute`` for :func:`evaluate` over a psycopg2 (or Odoo) cursor."""
    def execute(sql, params):
        cursor.execute(sql, params)
        return cursor.fetchone()
    return execute


def statement_execute(client):
    """``execute`` for :func:`evaluate` over a Databricks statement client (dialect
    ``databricks``): the first row of the result, typed from its Arrow data."""
    def execute(sql, params):
        for batch in client.execute(sql, params).batches():
            if batch.num_rows:
                return tuple(column[0].as_py() for column in batch.columns)
        raise ValueError("The quality query returned no row.")
    return execute


def duckdb_execute(connection):
    """``execute`` for :func:`evaluate` over a DuckDB connection."""
    def execute(sql, params):
        return connection.execute(sql, params or None).fetchone()
    return execute


_SOURCE = "quality_source"


def evaluate_arrow(data, rules, now=None):
    """Evaluate rules (duckdb dialect) on an Arrow table / dataset / record batch reader.

    A reader can be read only once, so it is materialised first.
    """
    if hasattr(data, "read_all"):
        data = data.read_all()
    con = sandbox.connect()  # UTC: naive timestamps are UTC, as in Odoo
    try:
        con.register(_SOURCE, data)
        return evaluate(rules, _SOURCE, duckdb_execute(con), "duckdb", now=now)
    finally:
        con.close()


def evaluate_on_lakehouse(lake, table, rules, now=None):
    """Evaluate rules on the Delta table ``catalog.schema.table`` of a LocalLakehouse.

    The table is read as a :class:`DeltaStream` of the lakehouse's batch size (page by
    page, memory bounded by the batch, whatever the row groups) of the rules' columns only,
    and registered under a fixed name, so the rule SQL keeps plain quoted identifiers.
    """
    stored = lake.stored_name(table)  # case-insensitive, as the job's SQL named it
    if stored is None:
        raise dialect.table_not_found(table)
    dataset = DeltaTable(lake.table_uri(stored),
                         storage_options=lake.storage_options).to_pyarrow_dataset()
    columns = {str(r.column).lower() for r in rules if r.column}
    if not columns <= {n.lower() for n in dataset.schema.names}:
        columns = None  # a rule names an unknown column: its error lists every column
    return evaluate_arrow(DeltaStream(dataset, lake.batch_size, columns), rules, now=now)


__all__ = ["DIALECTS", "KINDS", "Rule", "RuleResult", "build_sql", "duckdb_execute",
           "evaluate", "evaluate_arrow", "evaluate_on_lakehouse", "pg_execute", "quote_ident",
           "quote_relation", "statement_execute", "summarize"]
