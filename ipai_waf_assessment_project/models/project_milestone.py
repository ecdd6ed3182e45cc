# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import fields, models


class ProjectMilestone(models.Model):
    _inherit = "project.milestone"

    ipai_waf_assessment_id = fields.Many2one(
        "ipai.waf.assessment", string="Assessment", index="btree_not_null",
        ondelete="set null", copy=False, readonly=True,
        groups="ipai_waf_assessment.assessment_group_user",
    )
    ipai_waf_phase = fields.Char(
        string="Roadmap phase", copy=False, readonly=True,
        help="The roadmap phase (0_30, 30_60, 60_90, later) this milestone stands for.",
    )
