# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import fields, models

# Task states (project/models/project_task.py) -> recommendation states. The open states
# (in progress, waiting, changes requested, approved) read the stage: a task still in
# its project's first stage is "to do", one moved on is "in progress".
TASK_STATE_TO_RECOMMENDATION = {
    "1_done": "done",
    "1_canceled": "dropped",
    "02_changes_requested": "doing",
    "03_approved": "doing",
}


class ProjectTask(models.Model):
    _inherit = "project.task"

    ipai_waf_recommendation_id = fields.Many2one(
        "ipai.waf.recommendation", string="Recommendation", index="btree_not_null",
        ondelete="set null", copy=False, readonly=True,
        groups="ipai_waf_assessment.assessment_group_user",
        help="The assessment recommendation this task carries out; the recommendation's "
        "state follows the task.",
    )

    # one task per recommendation, whatever the clicks or the races
    _ipai_waf_recommendation_uniq = models.UniqueIndex(
        "(ipai_waf_recommendation_id) WHERE ipai_waf_recommendation_id IS NOT NULL")

    def write(self, vals):
        res = super().write(vals)
        if {"state", "stage_id"} & set(vals) and \
                not self.env.context.get("ipai_waf_from_recommendation"):
            self._ipai_waf_sync_recommendations()
        return res

    def _ipai_waf_recommendation_state(self):
        """The recommendation state this task stands for."""
        self.ensure_one()
        if self.state in TASK_STATE_TO_RECOMMENDATION:
            return TASK_STATE_TO_RECOMMENDATION[self.state]
        first = self.project_id.type_ids.sorted(lambda s: (s.sequence, s.id))[:1]
        return "todo" if not self.stage_id or self.stage_id == first else "doing"

    def _ipai_waf_sync_recommendations(self):
        """Move each linked recommendation to its task's state.

        A frozen milestone's recommendations stay as they were frozen: the milestone is
        a record of the review, its tasks live on in the project.
        """
        # sudo: whoever moves the task (a project user, not necessarily an assessor)
        # moves the recommendation it carries out; only its state is written.
        for task in self.sudo().filtered("ipai_waf_recommendation_id"):
            rec = task.ipai_waf_recommendation_id
            if rec.assessment_id.frozen:
                continue
            state = task._ipai_waf_recommendation_state()
            if rec.state != state:
                rec.with_context(ipai_waf_from_task=True).write({"state": state})
