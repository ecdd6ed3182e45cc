# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import api, fields, models
from odoo.exceptions import ValidationError


class IpaiWafPillarScore(models.Model):
    _name = "ipai.waf.pillar.score"
    _inherit = ["ipai.waf.frozen.guard"]
    _description = "Well-Architected Pillar Score"
    _order = "assessment_id, pillar_id"

    assessment_id = fields.Many2one(
        "ipai.waf.assessment", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="assessment_id.company_id", store=True)
    workload = fields.Char(related="assessment_id.workload", store=True)
    milestone = fields.Integer(related="assessment_id.milestone", store=True)
    pillar_id = fields.Many2one("ipai.waf.pillar", required=True, ondelete="cascade")
    framework_id = fields.Many2one(related="pillar_id.framework_id", store=True)
    computed_score = fields.Float(readonly=True, aggregator="avg")
    has_override = fields.Boolean(compute="_compute_score", store=True)
    override_score = fields.Float(aggregator="avg")
    override_justification = fields.Text()
    score = fields.Float(compute="_compute_score", store=True, aggregator="avg")

    _assessment_pillar_uniq = models.UniqueIndex("(assessment_id, pillar_id)")

    @api.depends("computed_score", "override_score", "override_justification")
    def _compute_score(self):
        for rec in self:
            rec.has_override = bool(rec.override_justification)
            rec.score = rec.override_score if rec.has_override else rec.computed_score

    @api.constrains("override_score", "override_justification")
    def _check_override(self):
        for rec in self:
            if rec.override_score and not (rec.override_justification or "").strip():
                raise ValidationError(self.env._("A score override needs a justification."))
            if not 0 <= rec.override_score <= 100:
                raise ValidationError(self.env._("A score is between 0 and 100."))
