# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Names in Databricks SQL, checked once for every part of the connector: identifiers
(what may be quoted into a statement) and three-part table names."""

import re

from sqlglot import exp

# A plain identifier: what the connector ever quotes into SQL it writes itself.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def is_identifier(name):
    return isinstance(name, str) and bool(IDENTIFIER.match(name))


def qualify(parts, catalog=None, schema=None):
    """``catalog.schema.table`` of a name's parts, a statement's default catalog and
    schema filling the missing leading parts; None when that is not three identifiers.

    A catalog given without a schema means its ``default`` schema, as ``USE CATALOG``
    does on Databricks."""
    parts = [p for p in parts if p]
    if catalog and not schema:
        schema = "default"
    if len(parts) == 2 and catalog:
        parts = [catalog, *parts]
    elif len(parts) == 1 and catalog and schema:
        parts = [catalog, schema, *parts]
    if len(parts) != 3 or not all(is_identifier(p) for p in parts):
        return None
    return ".".join(parts)


def unparen(node):
    """A sqlglot node without the parentheses around it."""
    while isinstance(node, exp.Paren):
        node = node.this
    return node
