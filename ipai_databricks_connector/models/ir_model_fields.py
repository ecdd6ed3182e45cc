"""Generated fields of Databricks views keep the exact PostgreSQL column type.

Odoo's manual Integer is int4 and manual Float is float8. A gold table's BIGINT and
DECIMAL(38,2) need int8 and numeric(p, s) to be stored without loss, and they must
stay so when Odoo sets up the model again (it would convert a column whose type
differs from the field's). So the type is kept on the field's row and applied each
time the field is instantiated.
"""

import re

from odoo import fields, models

_NUMERIC = re.compile(r"^numeric\((\d+),(\d+)\)$")


class IrModelFields(models.Model):
    _inherit = "ir.model.fields"

    ipai_dbx_column_type = fields.Char(
        string="Databricks column type", readonly=True,
        help="PostgreSQL column type of a generated Databricks view field (int8, numeric).")

    def _instanciate_attrs(self, field_data):
        attrs = super()._instanciate_attrs(field_data)
        pg_type = field_data.get("ipai_dbx_column_type")  # absent before this module's column
        if not (attrs and pg_type):
            return attrs
        if field_data["ttype"] == "integer" and pg_type == "int8":
            attrs["_column_type"] = ("int8", "int8")
        elif field_data["ttype"] == "float" and _NUMERIC.match(pg_type):
            precision, scale = _NUMERIC.match(pg_type).groups()
            attrs["digits"] = (int(precision), int(scale))  # a numeric column, exact
        return attrs
