# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import api, fields, models


class IpaiWafRecommendation(models.Model):
    _inherit = "ipai.waf.recommendation"

    # The link lives on the task, so planning a frozen milestone's roadmap never writes it.
    task_ids = fields.One2many(
        "project.task", "ipai_waf_recommendation_id", string="Project tasks",
        groups="project.group_project_user",
    )
    task_id = fields.Many2one(
        "project.task", compute="_compute_task_id",
        groups="project.group_project_user",
    )

    @api.depends("task_ids")
    def _compute_task_id(self):
        for rec in self:
            rec.task_id = rec.task_ids[:1]
