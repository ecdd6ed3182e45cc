# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import fields, models


class IpaiWafRecommendation(models.Model):
    _name = "ipai.waf.recommendation"
    _inherit = ["ipai.waf.frozen.guard", "ipai.waf.owner.activity.mixin"]
    _description = "Well-Architected Recommendation"
    _order = "phase, priority, id"

    assessment_id = fields.Many2one(
        "ipai.waf.assessment", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="assessment_id.company_id", store=True)
    frozen = fields.Boolean(related="assessment_id.frozen", string="Frozen milestone")
    title = fields.Char(required=True)
    phase = fields.Selection(
        [("0_30", "0-30 days"), ("30_60", "30-60 days"), ("60_90", "60-90 days"),
         ("later", "Later")], default="0_30", required=True,
    )
    priority = fields.Selection(
        [("P0", "P0"), ("P1", "P1"), ("P2", "P2"), ("P3", "P3")], default="P2", required=True
    )
    effort_days = fields.Float()
    expected_gain = fields.Float(help="Score points the report expects from this item.")
    pillar_ids = fields.Many2many("ipai.waf.pillar", string="Pillars")
    depends_on_ids = fields.Many2many(
        "ipai.waf.recommendation", "ipai_waf_recommendation_dep_rel", "rec_id", "dep_id",
        string="Depends on",
    )
    state = fields.Selection(
        [("todo", "To do"), ("doing", "In progress"), ("done", "Done"), ("dropped", "Dropped")],
        default="todo", required=True, tracking=True,
    )
    owner_id = fields.Many2one("res.users", tracking=True)
    due_date = fields.Date(tracking=True)

    _owner_activity_closed_states = ("done", "dropped")

    def _scorecard_dict(self):
        self.ensure_one()
        return {
            "title": self.title, "phase": self.phase, "priority": self.priority,
            "effort_days": self.effort_days, "pillars": self.pillar_ids.mapped("code"),
            "state": self.state, "owner": self.owner_id.name or None,
            "depends_on": self.depends_on_ids.mapped("title"),
        }
