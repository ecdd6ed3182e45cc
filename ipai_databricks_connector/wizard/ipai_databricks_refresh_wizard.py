"""Refresh a view with parameter values other than its defaults."""

from odoo import Command, api, fields, models


class IpaiDatabricksRefreshWizard(models.TransientModel):
    _name = "ipai.databricks.refresh.wizard"
    _description = "Refresh a Databricks view with parameter values"

    view_id = fields.Many2one("ipai.databricks.view", required=True, ondelete="cascade")
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

    def action_refresh(self):
        self.ensure_one()
        values = {line.parameter_id.name: line.value or None for line in self.line_ids}
        self.view_id._enqueue_refresh(values=values)
        return {"type": "ir.actions.act_window_close"}
