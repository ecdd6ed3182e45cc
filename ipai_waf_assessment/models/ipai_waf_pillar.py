# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import api, fields, models


class IpaiWafPillar(models.Model):
    _name = "ipai.waf.pillar"
    _description = "Well-Architected Pillar"
    _order = "framework_id, sequence, id"

    framework_id = fields.Many2one(
        "ipai.waf.framework", required=True, ondelete="cascade", index=True
    )
    code = fields.Char(required=True)
    name = fields.Char(required=True, translate=True)
    weight = fields.Float(default=1.0)
    sequence = fields.Integer(default=10)
    description = fields.Text(translate=True)
    control_ids = fields.One2many("ipai.waf.control", "pillar_id", string="Controls")

    _framework_code_uniq = models.UniqueIndex("(framework_id, code)")

    @api.depends("framework_id.code", "name")
    def _compute_display_name(self):
        for pillar in self:
            pillar.display_name = f"{pillar.framework_id.code or ''} / {pillar.name or ''}"
