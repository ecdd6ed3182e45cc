"""One parameter value of the refresh wizard."""

from odoo import fields, models


class IpaiDatabricksRefreshWizardLine(models.TransientModel):
    _name = "ipai.databricks.refresh.wizard.line"
    _description = "Parameter value of a Databricks refresh"

    wizard_id = fields.Many2one("ipai.databricks.refresh.wizard", required=True,
                                ondelete="cascade")
    parameter_id = fields.Many2one("ipai.databricks.view.parameter", required=True,
                                   ondelete="cascade")
    name = fields.Char(related="parameter_id.name")
    type = fields.Selection(related="parameter_id.type")
    value = fields.Char(help="Empty: NULL.")
