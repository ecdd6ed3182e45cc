"""The predicates a local query's WHERE puts on each table it reads, for skipping the
partitions and Parquet row groups that cannot match (see ``local_backend.DeltaStream``).

Conservative on purpose: only top-level AND-ed comparisons of a column with a literal
or a parameter, in a SELECT reading that one table; anything else reads everything.
Plain Python: no Odoo import.
"""

from sqlglot import exp

from . import sandbox
from .dialect import LocalSQLError, parse, table_name, time_travel
from .sql import unparen

_COMPARISONS = {exp.EQ: "=", exp.NEQ: "<>", exp.LT: "<", exp.LTE: "<=", exp.GT: ">",
                exp.GTE: ">="}
_FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_TIME_TYPES = {exp.DataType.Type.DATE: "date", exp.DataType.Type.TIMESTAMP: "timestamp",
               exp.DataType.Type.TIMESTAMPTZ: "timestamp",
               exp.DataType.Type.TIMESTAMPNTZ: "timestamp",
               exp.DataType.Type.TIMESTAMPLTZ: "timestamp"}
# a SELECT with any of these may read its table otherwise than its WHERE says
_NOT_PRUNED = ("joins", "laterals", "connect", "match", "pivots", "prewhere", "sample")


def _operand(node):
    """A literal as ``(kind, value)``: ``("number", text)``, ``("string", text)``,
    ``("date" | "timestamp", DuckDB text of the literal)``, ``("param", name)`` or
    ``("null", None)``; None for anything else (an expression, a cast, a column)."""
    node = unparen(node)
    if isinstance(node, exp.Null):
        return "null", None
    if isinstance(node, exp.Literal):
        return ("string", node.this) if node.is_string else ("number", str(node.this))
    if isinstance(node, exp.Neg):
        inner = unparen(node.this)
        if isinstance(inner, exp.Literal) and not inner.is_string \
                and not str(inner.this).startswith("-"):
            return "number", "-" + str(inner.this)
        return None
    if isinstance(node, exp.Placeholder) and node.name:
        return "param", node.name
    # DATE'...' and TIMESTAMP'...' are casts of a string literal (not TRY_CAST)
    if type(node) is exp.Cast and isinstance(node.this, exp.Literal) and node.this.is_string:
        kind = _TIME_TYPES.get(node.to.this)
        if kind and not node.to.expressions:
            return kind, node.sql(dialect="duckdb")
    return None


def _conjuncts(node):
    node = unparen(node)
    if isinstance(node, exp.And):
        yield from _conjuncts(node.this)
        yield from _conjuncts(node.expression)
    else:
        yield node


def _predicate(node, qualifiers, aliases):
    """``(column, op, [operands])`` for one conjunct, or None when it is anything else."""

    def column(side):
        side = unparen(side)
        if not isinstance(side, exp.Column) or not isinstance(side.this, exp.Identifier) \
                or side.args.get("db") or side.args.get("catalog"):
            return None
        if side.table and side.table.lower() not in qualifiers:
            return None
        name = side.name.lower()
        return None if name in aliases else name  # an alias of the SELECT: not sure

    if type(node) in _COMPARISONS:
        op = _COMPARISONS[type(node)]
        col, value = column(node.this), _operand(node.expression)
        if col is None or value is None:
            col, value, op = column(node.expression), _operand(node.this), _FLIPPED[op]
        return (col, op, [value]) if col is not None and value is not None else None
    if isinstance(node, exp.Between) and not node.args.get("symmetric"):
        col = column(node.this)
        values = [_operand(node.args.get("low")), _operand(node.args.get("high"))]
        return (col, "between", values) if col and None not in values else None
    if isinstance(node, exp.In) and node.expressions and not any(
            node.args.get(k) for k in ("query", "unnest", "field")):
        col, values = column(node.this), [_operand(e) for e in node.expressions]
        return (col, "in", values) if col and None not in values else None
    negated = isinstance(node, exp.Not)
    node = unparen(node.this) if negated else node
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        col = column(node.this)
        return (col, "notnull" if negated else "null", []) if col else None
    return None


def predicates(sql, catalog=None, schema=None):
    """``{(table, time travel): [(column, op, [operands])]}``: simple predicates that
    every row a query needs from that table satisfies, for the reader to skip partitions
    and row groups (see :func:`_operand`; ``op``: a comparison, ``between``, ``in``,
    ``null`` or ``notnull``; ``column`` in lower case).

    Only for a table named once in the whole query (a self-join, or a table in a subquery
    too, gets none), read by a SELECT whose FROM is that table alone (no join, lateral
    view, pivot or sample); only the top-level ``AND`` conjuncts of its WHERE, comparing a
    column of that table (not a SELECT alias) with a literal or a ``:parameter``. Whether
    the column exists and the types agree is for the reader to check."""
    try:
        tree = parse(sql)
    except (LocalSQLError, sandbox.SQLRefused):
        return {}
    if not isinstance(tree, exp.Query):
        return {}
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    found, counts = [], {}
    for table in tree.find_all(exp.Table):  # the tables transpile() registers
        if not isinstance(table.this, exp.Identifier):
            continue
        if not (table.catalog or table.db) and table.name.lower() in ctes:
            continue
        full = table_name(table, catalog, schema)
        try:
            key = (full, time_travel(table))
        except LocalSQLError:
            return {}
        counts[key] = counts.get(key, 0) + 1
        found.append((key, table))
    out = {}
    for key, table in found:
        select = table.parent.parent if isinstance(table.parent, exp.From) else None
        if counts[key] != 1 or key[0] is None or not isinstance(select, exp.Select) \
                or select.args.get("from_") is not table.parent:
            continue
        alias = table.args.get("alias")
        if alias and alias.columns or any(select.args.get(k) or table.args.get(k)
                                          for k in _NOT_PRUNED):
            continue
        where = select.args.get("where")
        if where is None:
            continue
        aliases = {e.alias.lower() for e in select.expressions if isinstance(e, exp.Alias)}
        found_here = [p for p in (_predicate(c, {table.alias_or_name.lower()}, aliases)
                                  for c in _conjuncts(where.this)) if p]
        if found_here:
            out[key] = found_here
    return out
