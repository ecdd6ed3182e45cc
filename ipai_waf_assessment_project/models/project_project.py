# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import fields, models


class ProjectProject(models.Model):
    _inherit = "project.project"

    ipai_waf_workload = fields.Char(
        string="Well-Architected workload", index="btree_not_null", copy=False,
        help="The workload whose assessments plan their roadmap in this project "
        "(the assessment's workload, or its name when it has none).",
    )
