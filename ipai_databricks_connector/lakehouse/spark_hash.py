"""Spark's ``hash()`` (Murmur3 x86 32-bit, seed 42) as DuckDB SQL, so a local result
gives the INT a Databricks warehouse gives.

Written in SQL, not as a DuckDB Python function: those need numpy, and a SQL
expression runs vectorised inside DuckDB. Plain Python: no Odoo import.
"""

import re

import sqlglot
from sqlglot import exp

from .sql import unparen

_M32 = "4294967295"


def _let(value, name, body):
    """``body`` with ``name`` bound once to ``value`` (DuckDB text): a lambda, so that the
    value is not written (and computed) again at each use."""
    return "list_transform([%s], lambda %s: %s)[1]" % (value, name, body)


def _mix_k1(k, depth):
    a = "k%d" % depth
    return _let("((%s) * 3432918353) & %s" % (k, _M32), a,
                "((((%s << 15) | (%s >> 17)) & %s) * 461845907) & %s" % (a, a, _M32, _M32))


def _mix_h1(h, k, depth):
    b = "h%d" % depth
    return _let("xor(%s, %s)" % (h, k), b,
                "((((%s << 13) | (%s >> 19)) & %s) * 5 + 3864292196) & %s" % (b, b, _M32, _M32))


def _fmix(h, length, depth):
    c, d, e = ("f%d%s" % (depth, x) for x in "cde")
    return _let("xor(%s, %s)" % (h, length), c, _let(
        "(xor(%s, %s >> 16) * 2246822507) & %s" % (c, c, _M32), d, _let(
            "(xor(%s, %s >> 13) * 3266489909) & %s" % (d, d, _M32), e,
            "xor(%s, %s >> 16)" % (e, e))))


def _hash_long(v, seed, depth):
    """Spark's ``hashLong`` of a BIGINT ``v`` (DuckDB text), seeded by a UBIGINT."""
    return _fmix(_mix_h1(_mix_h1(seed, _mix_k1("CAST((%s) & %s AS UBIGINT)" % (v, _M32),
                                                 depth), depth),
                         _mix_k1("CAST(((%s) >> 32) & %s AS UBIGINT)" % (v, _M32), depth),
                         depth + 1), "8", depth)


def _hash_int(v, seed, depth):
    return _fmix(_mix_h1(seed, _mix_k1("CAST((%s) & %s AS UBIGINT)" % (v, _M32), depth),
                         depth), "4", depth)


def _hash_text(v, seed, depth):
    """Spark's ``hashUnsafeBytes`` of the UTF-8 bytes: 4-byte little-endian words, then
    each remaining byte, signed."""
    x, n, w, acc, i = ("s%d%s" % (depth, c) for c in ("x", "n", "w", "a", "i"))
    word = "('0x' || %s)::UBIGINT" % " || ".join(
        "substr(%s, 8 * %s + %d, 2)" % (x, i, o) for o in (7, 5, 3, 1))
    byte = "('0x' || substr(%s, 2 * %s + 1, 2))::UBIGINT" % (x, i)
    words = "list_reduce(list_transform(range(0, %s // 4), lambda %s: %s), lambda %s, %s: %s, " \
        "%s)" % (n, i, word, acc, w, _mix_h1(acc, _mix_k1(w, depth + 1), depth + 1), seed)
    signed = "CASE WHEN %s >= 128 THEN %s + 4294967040 ELSE %s END" % (w, w, w)
    tail = "list_reduce(list_transform(range(4 * (%s // 4), %s), lambda %s: %s), " \
        "lambda %s, %s: %s, %s)" % (n, n, i, byte, acc, w,
                                    _mix_h1(acc, _mix_k1(signed, depth + 2), depth + 2), words)
    return _let("hex(encode(%s))" % v, x, _let("octet_length(encode(%s))" % v, n,
                                               _fmix(tail, "CAST(%s AS UBIGINT)" % n, depth)))


def _spark_hash_sql(kind, v, seed, depth):
    """Spark's Murmur3 of ``v`` (DuckDB text) of the Databricks type ``kind``, or None."""
    t = kind.this
    if t in (_T.TINYINT, _T.SMALLINT, _T.INT):
        return _hash_int("CAST(%s AS BIGINT)" % v, seed, depth)
    if t == _T.BOOLEAN:
        return _hash_int("CAST(%s AS BIGINT)" % v, seed, depth)
    if t == _T.DATE:
        return _hash_int("date_diff('day', DATE '1970-01-01', %s)" % v, seed, depth)
    if t == _T.BIGINT:
        return _hash_long(v, seed, depth)
    if t in (_T.TIMESTAMP, _T.TIMESTAMPTZ, _T.TIMESTAMPNTZ, _T.TIMESTAMPLTZ):
        return _hash_long("epoch_us(%s)" % v, seed, depth)
    if t == _T.DECIMAL and kind.expressions:
        precision, scale = (int(e.this.this) for e in kind.expressions)
        if precision <= 18:  # the unscaled long; a wider one hashes its bytes
            return _hash_long("CAST((%s) * %d AS BIGINT)" % (v, 10 ** scale), seed, depth)
    if t in (_T.VARCHAR, _T.TEXT, _T.CHAR):
        return _hash_text(v, seed, depth)
    return None


_T = exp.DataType.Type


def _literal_type(node):
    node = unparen(node)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return exp.DataType.build("STRING")
        if re.fullmatch(r"\d+", str(node.this)):
            return exp.DataType.build("INT" if int(node.this) < 2 ** 31 else "BIGINT")
    if type(node) is exp.Cast:
        return node.to
    if isinstance(node, exp.Boolean):
        return exp.DataType.build("BOOLEAN")
    return None


def spark_hash(call, columns):
    """``hash(a, ...)`` as Spark's Murmur3 (seed 42) when every argument's type is known
    (a column of a table, a literal, a cast), or None."""
    text = "42::UBIGINT"
    for depth, arg in enumerate(call.expressions):
        arg = unparen(arg)
        if isinstance(arg, exp.Null):
            continue  # a NULL leaves the hash as it is
        kind = columns(arg) if isinstance(arg, exp.Column) else _literal_type(arg)
        if kind is None:
            return None
        seed = "ipai_seed%d" % depth  # the later arguments are read inside its lambda
        value = "v%d" % depth
        piece = _spark_hash_sql(kind, value, seed, depth * 10)
        if piece is None:
            return None
        # a NULL leaves the hash as it is
        text = _let(text, seed, "coalesce(%s, %s)" % (_let("ipai_hash_arg%d" % depth, value,
                                                            piece), seed))
    signed = _let("CAST(%s AS BIGINT)" % text, "r",
                  "CAST(CASE WHEN r >= 2147483648 THEN r - 4294967296 ELSE r END AS INT)")
    tree = sqlglot.parse_one("SELECT " + signed, read="duckdb").expressions[0]
    for depth, arg in enumerate(call.expressions):
        for placeholder in tree.find_all(exp.Column):
            if placeholder.name == "ipai_hash_arg%d" % depth:
                placeholder.replace(arg.copy())
    return tree
