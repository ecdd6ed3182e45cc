# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import fields, models


class IpaiWafCompareWizardPillar(models.TransientModel):
    _name = "ipai.waf.compare.wizard.pillar"
    _description = "Pillar Score of an Assessment Comparison"
    _order = "id"

    wizard_id = fields.Many2one("ipai.waf.compare.wizard", required=True, ondelete="cascade")
    framework = fields.Char(readonly=True)
    pillar_code = fields.Char(readonly=True)
    pillar_name = fields.Char(string="Pillar", readonly=True)
    before = fields.Float(readonly=True)
    after = fields.Float(readonly=True)
    delta = fields.Float(readonly=True)
