# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import base64

from odoo import fields, models
from odoo.exceptions import UserError


class IpaiWafImportWizard(models.TransientModel):
    _name = "ipai.waf.import.wizard"
    _description = "Import a Well-Architected Report"

    name = fields.Char(string="Assessment name", required=True)
    fmt = fields.Selection(
        [("markdown", "Markdown report"), ("aws_lens", "AWS custom lens (JSON)"),
         ("azure_checklist", "Azure review checklist (JSON)")],
        string="Format", default="markdown", required=True,
    )
    file = fields.Binary()
    filename = fields.Char()
    content = fields.Text(help="Paste the report here instead of uploading a file.")
    warnings = fields.Text(readonly=True)
    assessment_id = fields.Many2one("ipai.waf.assessment", readonly=True)

    def _get_content(self):
        self.ensure_one()
        if self.file:
            # bytes: the importer decodes them and names the line of a non-UTF-8 byte
            # instead of silently replacing it
            return base64.b64decode(self.file)
        if self.content:
            return self.content
        raise UserError(self.env._("Upload a file or paste the report."))

    def action_import(self):
        self.ensure_one()
        result = self.env["ipai.waf.assessment"].import_report(
            self.name, self._get_content(), self.fmt
        )
        self.write({
            "assessment_id": result["id"],
            "warnings": "\n".join(result["warnings"]) or self.env._("No warnings."),
        })
        return {
            "type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id,
            "view_mode": "form", "target": "new",
        }

    def action_open_assessment(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window", "res_model": "ipai.waf.assessment",
            "res_id": self.assessment_id.id, "view_mode": "form", "target": "current",
        }
