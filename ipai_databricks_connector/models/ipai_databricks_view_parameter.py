"""A parameter a Databricks view's SQL declares (``WHERE region = :region``): its
Databricks type and default. Values are bound at each refresh, never written into the
SQL; a scheduled refresh binds the defaults."""

import re

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..lakehouse.types import PARAMETER_TYPES, parameter_value

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class IpaiDatabricksViewParameter(models.Model):
    _name = "ipai.databricks.view.parameter"
    _description = "Databricks view parameter"
    _order = "view_id, sequence, id"

    view_id = fields.Many2one("ipai.databricks.view", required=True, ondelete="cascade",
                              index=True)
    company_id = fields.Many2one(related="view_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    name = fields.Char(required=True, help="The marker's name: :region is region.")
    type = fields.Selection([(t, t) for t in PARAMETER_TYPES], string="Databricks type",
                            required=True, default="STRING")
    default_value = fields.Char(
        string="Default", help="Bound by scheduled refreshes. Empty: NULL. Dates as "
        "2026-01-31, timestamps as 2026-01-31 08:00:00+08:00 (UTC when no offset).")

    _name_unique = models.Constraint("UNIQUE(view_id, name)",
                                     "A view declares each parameter once.")

    @api.constrains("name", "type", "default_value")
    def _check_value(self):
        for param in self:
            if not _NAME.match(param.name or "") or param.name.lower().startswith("ipai_"):
                raise ValidationError(self.env._(
                    "Parameter %s: a name is letters, digits and underscores, and does not "
                    "start with ipai_ (kept for the connector).", param.name))
            param._value(param.default_value)

    def _value(self, text):
        """``text`` as this parameter's bound value (ValidationError when it does not read)."""
        self.ensure_one()
        try:
            return parameter_value(self.type, text)
        except (ValueError, ArithmeticError) as exc:
            raise ValidationError(self.env._(
                "Parameter %(name)s: %(value)r is not a valid %(type)s (%(error)s).",
                name=self.name, value=text, type=self.type, error=exc)) from exc
