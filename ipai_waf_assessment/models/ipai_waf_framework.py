# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import fields, models


class IpaiWafFramework(models.Model):
    _name = "ipai.waf.framework"
    _description = "Well-Architected Framework"
    _order = "sequence, id"

    code = fields.Char(required=True)
    name = fields.Char(required=True, translate=True)
    version = fields.Char()
    description = fields.Text(translate=True)
    sequence = fields.Integer(default=10)
    pillar_ids = fields.One2many("ipai.waf.pillar", "framework_id", string="Pillars")

    _code_uniq = models.UniqueIndex("(code)")
