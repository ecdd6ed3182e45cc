"""Refresh a view with parameter values other than its defaults."""

from odoo import Command, api, fields, models
from odoo.exceptions import UserError


class IpaiDatabricksRefreshWizard(models.TransientModel):
    _name = "ipai.databricks.refresh.wizard"
    _description = "Refresh a Databricks view with parameter values"

    view_id = fields.Many2one("ipai.databricks.view", required=True, ondelete="cascade")
    table_source = fields.Boolean(compute="_compute_table_source")
    pin_version = fields.Boolean(string="As of a Delta version",
                                 help="Read an earlier version of the table (time travel).")
    as_of_version = fields.Integer(string="Delta version")
    line_ids = fields.One2many("ipai.databricks.refresh.wizard.line", "wizard_id",
                               string="Values")

    @api.model
    def default_get(self, fields_list):
        """One line per declared parameter, holding its default."""
        res = super().default_get(fields_list)
        view = self.env["ipai.databricks.view"].browse(res.get("view_id"))
        if view and "line_ids" in fields_list:
            res["line_ids"] = [Command.create({
                "parameter_id": p.id, "value": p.default_value or False})
                for p in view.parameter_ids]
        return res

    @api.depends("view_id")
    def _compute_table_source(self):
        for wizard in self:
            wizard.table_source = bool(wizard.view_id) and wizard.view_id._is_table_source()

    def action_refresh(self):
        self.ensure_one()
        values = {line.parameter_id.name: line.value or None for line in self.line_ids}
        if self.pin_version and self.as_of_version < 0:
            raise UserError(self.env._("A Delta version is 0 or more."))
        self.view_id._enqueue_refresh(
            values=values, as_of_version=self.as_of_version if self.pin_version else None)
        return {"type": "ir.actions.act_window_close"}
