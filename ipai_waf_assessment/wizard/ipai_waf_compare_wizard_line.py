# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import fields, models

from ..engine.vocabulary import STATUSES


class IpaiWafCompareWizardLine(models.TransientModel):
    _name = "ipai.waf.compare.wizard.line"
    _description = "Finding of an Assessment Comparison"
    _order = "kind, pillar_id, control_id, id"

    wizard_id = fields.Many2one("ipai.waf.compare.wizard", required=True, ondelete="cascade")
    kind = fields.Selection([
        ("new", "New"), ("resolved", "Resolved"), ("changed", "Changed"),
        ("removed", "Removed"),
    ], required=True, readonly=True)
    control_id = fields.Many2one("ipai.waf.control", required=True, readonly=True)
    pillar_id = fields.Many2one(related="control_id.pillar_id")
    severity = fields.Selection(related="control_id.severity")
    before = fields.Selection(STATUSES, readonly=True)
    after = fields.Selection(STATUSES, readonly=True)
