# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import fields, models

from ..models.ipai_waf_assessment_review import DECISIONS


class IpaiWafReviewWizard(models.TransientModel):
    """A manager's review decision: approve with go / go with conditions / no-go and its
    reasons, or request changes saying which."""

    _name = "ipai.waf.review.wizard"
    _inherit = ["ipai.waf.assessment.wizard.mixin"]
    _description = "Well-Architected Review Decision"

    mode = fields.Selection([("approve", "Approve"), ("changes", "Request changes")],
                            required=True, default="approve")
    decision = fields.Selection(DECISIONS)
    reasons = fields.Text(help="The conditions, the reasons of a no-go, or the changes "
                               "requested; recorded in the chatter.")
    stated_decision = fields.Selection(related="assessment_id.stated_decision")
    decision_text = fields.Text(related="assessment_id.decision", string="Stated verdict")

    def action_confirm(self):
        self.ensure_one()
        if self.mode == "approve":
            self.assessment_id.action_approve(decision=self.decision, reasons=self.reasons)
        else:
            self.assessment_id.action_request_changes(reasons=self.reasons)
        return {"type": "ir.actions.act_window_close"}
