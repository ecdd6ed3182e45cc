# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import api, fields, models


class IpaiWafUnfreezeWizard(models.TransientModel):
    """Asks a manager why a frozen milestone is reopened; the reason goes to the chatter."""

    _name = "ipai.waf.unfreeze.wizard"
    _description = "Unfreeze a Well-Architected Milestone"

    assessment_id = fields.Many2one("ipai.waf.assessment", required=True, ondelete="cascade")
    reason = fields.Text(required=True, help="Recorded in the milestone's chatter.")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if "assessment_id" in fields_list and not values.get("assessment_id") and \
                self.env.context.get("active_model") == "ipai.waf.assessment":
            values["assessment_id"] = self.env.context.get("active_id")
        return values

    def action_confirm(self):
        self.ensure_one()
        self.assessment_id.action_unfreeze(reason=self.reason)
        return {"type": "ir.actions.act_window_close"}
