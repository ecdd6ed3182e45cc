# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..engine.risk import rate
from ..engine.vocabulary import SEVERITIES


class IpaiWafRisk(models.Model):
    _name = "ipai.waf.risk"
    _inherit = ["ipai.waf.frozen.guard", "ipai.waf.owner.activity.mixin"]
    _description = "Well-Architected Risk"
    _order = "rating desc, id"

    assessment_id = fields.Many2one(
        "ipai.waf.assessment", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="assessment_id.company_id", store=True)
    frozen = fields.Boolean(related="assessment_id.frozen", string="Frozen milestone")
    title = fields.Char(required=True)
    pillar_id = fields.Many2one("ipai.waf.pillar")
    severity = fields.Selection(SEVERITIES)
    likelihood = fields.Integer(default=3)
    impact = fields.Integer(default=3)
    residual_likelihood = fields.Integer(default=1)
    residual_impact = fields.Integer(default=1)
    rating = fields.Integer(compute="_compute_rating", store=True)
    level = fields.Char(compute="_compute_rating", store=True)
    residual_rating = fields.Integer(compute="_compute_rating", store=True)
    residual_level = fields.Char(compute="_compute_rating", store=True)
    mitigation = fields.Text()
    owner_id = fields.Many2one("res.users", tracking=True)
    due_date = fields.Date(tracking=True)
    state = fields.Selection(
        [("open", "Open"), ("accepted", "Accepted"), ("mitigated", "Mitigated"),
         ("closed", "Closed")], default="open", required=True, tracking=True,
    )

    _owner_activity_closed_states = ("accepted", "mitigated", "closed")

    @api.constrains("likelihood", "impact", "residual_likelihood", "residual_impact")
    def _check_scale(self):
        for rec in self:
            values = (rec.likelihood, rec.impact, rec.residual_likelihood, rec.residual_impact)
            if any(v < 1 or v > 5 for v in values):
                raise ValidationError(self.env._("Likelihood and impact range from 1 to 5."))

    @api.depends("likelihood", "impact", "residual_likelihood", "residual_impact")
    def _compute_rating(self):
        for rec in self:
            try:
                rec.rating, rec.level = rate(rec.likelihood, rec.impact)
                rec.residual_rating, rec.residual_level = rate(
                    rec.residual_likelihood, rec.residual_impact
                )
            except ValueError:
                rec.rating = rec.residual_rating = 0
                rec.level = rec.residual_level = False

    def _scorecard_dict(self):
        self.ensure_one()
        return {
            "title": self.title, "pillar": self.pillar_id.code or None,
            "severity": self.severity or None, "likelihood": self.likelihood,
            "impact": self.impact, "rating": self.rating, "level": self.level or "",
            "residual_rating": self.residual_rating, "residual_level": self.residual_level or "",
            "mitigation": self.mitigation or "", "owner": self.owner_id.name or None,
            "due_date": self.due_date.isoformat() if self.due_date else None,
        }
