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

    def write(self, vals):
        res = super().write(vals)
        if "state" in vals and not self.env.context.get("ipai_waf_from_task"):
            self._ipai_waf_sync_tasks()
        return res

    def _ipai_waf_sync_tasks(self):
        """Close or reopen the task of each recommendation marked done, dropped or open
        again in the assessment: the other half of the task -> recommendation sync."""
        closing = {"done": "1_done", "dropped": "1_canceled"}
        # sudo: an assessor closing a recommendation closes the task that carries it
        # out, project rights aside; only the task's state is written.
        for rec in self.sudo():
            for task in rec.task_ids.with_context(ipai_waf_from_recommendation=True):
                target = closing.get(rec.state)
                if target and task.state != target:
                    task.state = target
                elif not target and task.state in closing.values():
                    task.state = "01_in_progress"
