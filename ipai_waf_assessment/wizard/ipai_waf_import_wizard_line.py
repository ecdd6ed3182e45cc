# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import fields, models


class IpaiWafImportWizardLine(models.TransientModel):
    _name = "ipai.waf.import.wizard.line"
    _description = "Finding of an Import Preview"
    _order = "id"

    wizard_id = fields.Many2one("ipai.waf.import.wizard", required=True, ondelete="cascade")
    key = fields.Char(required=True, readonly=True)
    line_no = fields.Integer(string="Line", readonly=True)
    pillar = fields.Char(readonly=True)
    component = fields.Char(readonly=True)
    status = fields.Char(readonly=True)
    confidence = fields.Float(readonly=True)
    proposed_control_id = fields.Many2one("ipai.waf.control", readonly=True)
    control_id = fields.Many2one(
        "ipai.waf.control", help="Pick another control to use it instead.")
    action = fields.Selection(
        [("match", "Use the control"), ("create", "New company control"), ("skip", "Skip")],
        required=True, default="match",
    )
    reason = fields.Char(readonly=True)
