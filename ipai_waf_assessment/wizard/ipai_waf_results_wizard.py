# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import base64

from odoo import fields, models


class IpaiWafResultsWizard(models.TransientModel):
    _name = "ipai.waf.results.wizard"
    _inherit = ["ipai.waf.assessment.wizard.mixin"]
    _description = "Apply review results to an assessment"

    fmt = fields.Selection([
        ("azure_results", "Azure automated results (checklist_graph JSON)"),
        ("aws_answers", "AWS answers (questionResponses, list-answers)"),
    ], string="Format", required=True, default="azure_results")
    file = fields.Binary(required=True)
    filename = fields.Char()

    def action_apply(self):
        self.ensure_one()
        # bytes: the parser decodes them (UTF-8, UTF-16 with a BOM, cp1252)
        self.assessment_id.apply_results(base64.b64decode(self.file or b""), self.fmt)
        return {"type": "ir.actions.act_window", "res_model": "ipai.waf.assessment",
                "res_id": self.assessment_id.id, "view_mode": "form", "target": "current"}
