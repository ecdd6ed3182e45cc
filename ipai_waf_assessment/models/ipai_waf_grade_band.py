# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import api, fields, models

from ..engine.grading import DEFAULT_GRADE_BANDS, GradeBand


class IpaiWafGradeBand(models.Model):
    _name = "ipai.waf.grade.band"
    _description = "Well-Architected Grade Band"
    _order = "min_score desc"

    min_score = fields.Float(required=True)
    grade = fields.Char(required=True)
    label = fields.Char(translate=True)

    @api.model
    def _get_bands(self):
        bands = self.search([], limit=100)
        if not bands:
            return list(DEFAULT_GRADE_BANDS)
        return [GradeBand(b.min_score, b.grade, b.label or "") for b in bands]

    @api.model
    def _seed_defaults(self):
        """Create the bands from the engine defaults when none exist (data hook)."""
        if self.search_count([]):
            return
        self.create([
            {"min_score": b.min_score, "grade": b.grade, "label": b.label}
            for b in DEFAULT_GRADE_BANDS
        ])
