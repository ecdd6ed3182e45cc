# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import fields, models


class IpaiWafUnfreezeWizard(models.TransientModel):
    """Asks a manager why a frozen milestone is reopened; the reason goes to the chatter."""

    _name = "ipai.waf.unfreeze.wizard"
    _inherit = ["ipai.waf.assessment.wizard.mixin"]
    _description = "Unfreeze a Well-Architected Milestone"

    reason = fields.Text(required=True, help="Recorded in the milestone's chatter.")

    def action_confirm(self):
        self.ensure_one()
        self.assessment_id.action_unfreeze(reason=self.reason)
        return {"type": "ir.actions.act_window_close"}
