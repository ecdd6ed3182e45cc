"""One column of a Databricks view: its source type, the Odoo field it became, and
whether Odoo shows its values exactly (the column mapping, as OCA bi_sql_editor's
``bi.sql.view.field``)."""

from decimal import Decimal

from psycopg2 import sql as pgsql

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..lakehouse.types import INT_EXACT

TTYPES = [("integer", "Integer"), ("float", "Decimal number"), ("char", "Text"),
          ("date", "Date"), ("datetime", "Date and time"), ("boolean", "Yes / no")]


class IpaiDatabricksViewColumn(models.Model):
    _name = "ipai.databricks.view.column"
    _description = "Databricks view column"
    _order = "view_id, sequence, id"

    view_id = fields.Many2one("ipai.databricks.view", required=True, ondelete="cascade",
                              index=True)
    company_id = fields.Many2one(related="view_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    name = fields.Char(string="Column", required=True, readonly=True,
                       help="The column as the source names it.")
    field_name = fields.Char(required=True, readonly=True)
    databricks_type = fields.Char(readonly=True, help="The column's Databricks SQL type.")
    ttype = fields.Selection(TTYPES, string="Odoo type", required=True, readonly=True)
    pg_type = fields.Char(string="PostgreSQL type", readonly=True)
    label = fields.Char(required=True, help="The field's label in lists, pivots and graphs.")
    is_key = fields.Boolean(string="Key", readonly=True,
                            help="A key-like integer (…_id, …_key): shown without thousands "
                            "separators.")
    indexed = fields.Boolean(default=True, readonly=True)
    exact_limit = fields.Char(readonly=True,
                              help="Values below this absolute value always show exactly "
                              "(at most 15 significant digits); a larger one may be shown "
                              "rounded, and the column is then flagged. Empty: every value "
                              "shows exactly.")
    max_abs_value = fields.Char(string="Largest absolute value", readonly=True,
                                help="In the published data, as text (exact).")
    exact = fields.Boolean(
        string="Shown exactly", default=True, readonly=True,
        help="Off when the published data holds values Odoo cannot show exactly (they stay "
        "exact in the database and in exports of the raw table).")
    mapping = fields.Char(compute="_compute_mapping", string="Stored as")
    note = fields.Char(readonly=True)

    @api.depends("ttype", "pg_type", "exact_limit")
    def _compute_mapping(self):
        labels = dict(TTYPES)
        for col in self:
            text = f"{labels.get(col.ttype, col.ttype)} ({col.pg_type or '-'})"
            if col.exact_limit:
                text += self.env._(", exact below %s", col.exact_limit)
            col.mapping = text

    def write(self, vals):
        if not self.env.su and set(vals) - {"label", "sequence"}:
            # Types, flags and measured values are the system's: only labels are edited.
            raise UserError(self.env._("Only the label of a view column can be changed."))
        res = super().write(vals)
        if "label" in vals:
            self._sync_labels()
        return res

    def _field(self):
        # sudo: the generated field belongs to the view (only managers write columns).
        return self.env["ir.model.fields"].sudo().search(
            [("model", "=", self.view_id.model_name), ("name", "=", self.field_name)], limit=1)

    def _sync_labels(self):
        for col in self:
            field = col._field()
            if field and field.field_description != col.label:
                field.field_description = col.label

    def _measure_exactness(self, table, incremental=False):
        """Record the largest absolute value of each column with an exact limit, read in
        ``table`` (the staging table about to be published), and flag the columns whose
        values Odoo cannot show exactly. Returns the columns that are not exact.

        ``incremental``: the rows are added to the published ones, so a column stays
        flagged and its largest value only grows."""
        cr = self.env.cr
        inexact = self.browse()
        measured = self.filtered("exact_limit")
        if not measured:
            return inexact
        # One scan for every column; numeric, as abs() of the smallest int8 overflows; read
        # as text: numeric would come back as a Python float (the rounding reported here).
        # A decimal is shown exactly when it has at most 15 significant digits, which is
        # what its round trip through float8 (printed to 15 digits) keeps.
        terms = []
        for col in measured:
            column = pgsql.Identifier(col.field_name)
            terms.append(pgsql.SQL("max(abs({}::numeric))::text").format(column))
            terms.append(pgsql.SQL("false") if col.pg_type == "int8" else pgsql.SQL(
                "coalesce(bool_or({c}::float8::numeric <> {c}), false)").format(c=column))
        cr.execute(pgsql.SQL("SELECT {} FROM {}").format(
            pgsql.SQL(", ").join(terms), pgsql.Identifier(table)))
        row = cr.fetchone()
        for col, biggest, rounded in zip(measured, row[::2], row[1::2], strict=True):
            if incremental and col.max_abs_value and (
                    biggest is None or Decimal(col.max_abs_value) > Decimal(biggest)):
                biggest = col.max_abs_value
            if col.pg_type == "int8":
                exact = biggest is None or int(biggest) <= INT_EXACT
            else:
                exact = not rounded and (col.exact or not incremental)
            # sudo: measured by the refresh, whoever started it.
            col.sudo().write({"max_abs_value": biggest or False, "exact": exact})
            if not exact:
                inexact |= col
        return inexact
