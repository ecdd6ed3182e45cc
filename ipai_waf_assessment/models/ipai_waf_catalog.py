# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import api, fields, models

from ..engine.grading import DEFAULT_GRADE_BANDS, GradeBand

SEVERITIES = [("high", "High"), ("medium", "Medium"), ("low", "Low")]


class IpaiWafFramework(models.Model):
    _name = "ipai.waf.framework"
    _description = "Well-Architected Framework"
    _order = "sequence, id"

    code = fields.Char(required=True)
    name = fields.Char(required=True, translate=True)
    version = fields.Char()
    description = fields.Text(translate=True)
    sequence = fields.Integer(default=10)
    pillar_ids = fields.One2many("ipai.waf.pillar", "framework_id", string="Pillars")

    _code_uniq = models.UniqueIndex("(code)")


class IpaiWafPillar(models.Model):
    _name = "ipai.waf.pillar"
    _description = "Well-Architected Pillar"
    _order = "framework_id, sequence, id"

    framework_id = fields.Many2one(
        "ipai.waf.framework", required=True, ondelete="cascade", index=True
    )
    code = fields.Char(required=True)
    name = fields.Char(required=True, translate=True)
    weight = fields.Float(default=1.0)
    sequence = fields.Integer(default=10)
    description = fields.Text(translate=True)
    control_ids = fields.One2many("ipai.waf.control", "pillar_id", string="Controls")

    _framework_code_uniq = models.UniqueIndex("(framework_id, code)")

    @api.depends("framework_id.code", "name")
    def _compute_display_name(self):
        for pillar in self:
            pillar.display_name = f"{pillar.framework_id.code or ''} / {pillar.name or ''}"


class IpaiWafControl(models.Model):
    _name = "ipai.waf.control"
    _description = "Well-Architected Control"
    _order = "pillar_id, sequence, id"

    pillar_id = fields.Many2one("ipai.waf.pillar", required=True, ondelete="cascade", index=True)
    framework_id = fields.Many2one(related="pillar_id.framework_id", store=True)
    code = fields.Char(required=True, help="Stable code that survives re-imports.")
    name = fields.Char(required=True, translate=True)
    description = fields.Text(translate=True)
    severity = fields.Selection(SEVERITIES, required=True, default="medium")
    weight = fields.Float(default=1.0)
    recommendation = fields.Text(translate=True)
    reference_url = fields.Char(string="Reference URL")
    check_key = fields.Char(help="Key of the automated check that gathers evidence.")
    extra_pillar_ids = fields.Many2many(
        "ipai.waf.pillar", "ipai_waf_control_extra_pillar_rel", "control_id", "pillar_id",
        string="Also counts for",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", index=True,
        help="Empty for the shared catalog; set on the controls an import created for "
        "one company.",
    )
    aliases = fields.Char(
        help="Other names reports use for this control, separated by ';' (matched by "
        "the importer before fuzzy matching)."
    )
    source = fields.Char(
        help="Where an imported control comes from (aws_lens:<lens>, "
        "azure_checklist:<checklist>, markdown)."
    )

    # a company may hold its own control with a code of the shared catalog
    _code_uniq = models.UniqueIndex("(code, company_id) NULLS NOT DISTINCT")


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
