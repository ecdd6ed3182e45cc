# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..engine.rubric import RUBRIC_VERSION, PillarInput, get_rubric
from ..engine.scorecard import content_hash, render_gaps_markdown, validate
from ..engine.vocabulary import STATUSES
from .ipai_waf_assessment_review import DECISIONS, MANAGER_GROUP, REVIEW_STATES

_logger = logging.getLogger(__name__)

# Written only by the assessment's own actions (scoring, freeze, unfreeze, review), which
# check the caller's rights first; write() and create() refuse them from anyone else.
REVIEW_FIELDS = {"review_state", "review_decision", "review_reasons", "reviewed_by_id",
                 "reviewed_at", "reviewer_id"}
PROTECTED_FIELDS = {"frozen", "rubric_version", "grade_bands", "overall_score", "grade",
                    "status_label"} | (REVIEW_FIELDS - {"reviewer_id"})
GRADE_COLOURS = {"A": "success", "B": "info", "C": "warning", "D": "danger", "F": "danger"}



class IpaiWafAssessment(models.Model):
    _name = "ipai.waf.assessment"
    _description = "Well-Architected Assessment"
    _inherit = [
        "mail.thread",
        "ipai.waf.assessment.scoring",
        "ipai.waf.assessment.import",
        "ipai.waf.assessment.bulk",
        "ipai.waf.assessment.review",
    ]
    _order = "date desc, id desc"

    name = fields.Char(required=True, tracking=True)
    workload = fields.Char(index=True)
    repository = fields.Char()
    branch = fields.Char()
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    framework_ids = fields.Many2many("ipai.waf.framework", string="Frameworks")
    assessor_id = fields.Many2one("res.users", default=lambda self: self.env.user)
    date = fields.Date(default=fields.Date.context_today, required=True)
    state = fields.Selection(
        [("draft", "Draft"), ("running", "Running"), ("done", "Done")],
        default="draft", required=True, tracking=True,
    )
    frozen = fields.Boolean(readonly=True, copy=False, help="Frozen milestones are read-only.")
    milestone = fields.Integer(default=1, copy=False)
    previous_id = fields.Many2one("ipai.waf.assessment", string="Previous milestone", copy=False)
    rubric_version = fields.Char(readonly=True, copy=False)
    overall_score = fields.Float(readonly=True, copy=False, aggregator="avg")
    grade = fields.Char(readonly=True, copy=False)
    status_label = fields.Char(readonly=True, copy=False)
    finding_ids = fields.One2many("ipai.waf.finding", "assessment_id", string="Findings")
    pillar_score_ids = fields.One2many("ipai.waf.pillar.score", "assessment_id", string="Scores")
    risk_ids = fields.One2many("ipai.waf.risk", "assessment_id", string="Risks")
    recommendation_ids = fields.One2many(
        "ipai.waf.recommendation", "assessment_id", string="Roadmap"
    )
    check_total = fields.Integer(readonly=True, copy=False)
    check_done = fields.Integer(readonly=True, copy=False)
    check_progress = fields.Float(compute="_compute_check_progress")
    stated_overall_score = fields.Float(
        readonly=True, copy=False, help="The overall score the imported report states.")
    stated_scores = fields.Text(
        readonly=True, copy=False,
        help="Framework scores and grades the imported report states, as written.")
    decision = fields.Text(readonly=True, copy=False, string="Stated verdict",
                           help="The verdict the imported report records (go-live status).")
    stated_decision = fields.Selection(
        DECISIONS, readonly=True, copy=False,
        help="The go / no-go decision the imported report states, read from its verdict.")
    grade_bands = fields.Json(
        readonly=True, copy=False, string="Grade bands of the milestone",
        help="The grade bands in force when the milestone was frozen; its grade is "
        "computed from them, whatever the bands are today.")
    grade_bands_text = fields.Char(compute="_compute_grade_bands_text",
                                   string="Milestone grade bands")
    grade_colour = fields.Char(compute="_compute_grade_colour")
    # Review workflow
    review_state = fields.Selection(
        REVIEW_STATES, default="draft", required=True, readonly=True, copy=False,
        tracking=True, index=True)
    reviewer_id = fields.Many2one(
        "res.users", copy=False, tracking=True,
        domain=lambda self: self._reviewer_domain(),
        help="The Assessment Manager who reviews this assessment.")
    review_decision = fields.Selection(
        DECISIONS, readonly=True, copy=False, tracking=True, string="Reviewer's decision")
    review_reasons = fields.Text(readonly=True, copy=False, string="Reviewer's reasons")
    reviewed_by_id = fields.Many2one("res.users", readonly=True, copy=False,
                                     string="Decided by")
    reviewed_at = fields.Datetime(readonly=True, copy=False, string="Decided on")

    @api.model
    def _reviewer_domain(self):
        group = self.env.ref(MANAGER_GROUP, raise_if_not_found=False)
        return [("all_group_ids", "in", group.ids)] if group else []

    @api.constrains("reviewer_id", "assessor_id")
    def _check_reviewer(self):
        for rec in self:
            if rec.reviewer_id and not rec.reviewer_id._has_group(MANAGER_GROUP):
                raise ValidationError(self.env._(
                    "%(user)s cannot review %(assessment)s: a reviewer is an Assessment "
                    "Manager.", user=rec.reviewer_id.name, assessment=rec.display_name))
            if rec.reviewer_id and rec.reviewer_id == rec.assessor_id:
                raise ValidationError(self.env._(
                    "%(user)s assesses %(assessment)s and cannot also review it: choose "
                    "another Assessment Manager.", user=rec.reviewer_id.name,
                    assessment=rec.display_name))

    @api.depends("grade_bands")
    def _compute_grade_bands_text(self):
        for rec in self:
            rec.grade_bands_text = " · ".join(
                f"{b['grade']} ≥ {b['min_score']:g}" for b in rec.grade_bands or [])

    @api.depends("grade", "overall_score")
    def _compute_grade_colour(self):
        """Colour of the score bar: the grade's letter (A green, B blue, C orange, D and
        F red); for other grade names, the score itself."""
        for rec in self:
            colour = GRADE_COLOURS.get((rec.grade or "")[:1].upper())
            if not colour and rec.grade:
                score = rec.overall_score
                colour = "success" if score >= 85 else "info" if score >= 70 else \
                    "warning" if score >= 50 else "danger"
            rec.grade_colour = colour or "secondary"

    @api.depends("check_total", "check_done")
    def _compute_check_progress(self):
        for rec in self:
            rec.check_progress = 100.0 * rec.check_done / rec.check_total if rec.check_total else 0

    def _is_trusted(self):
        return self.env.su and self.env.context.get("ipai_waf_trusted")

    def _write_trusted(self, vals):
        """Write protected fields, for the actions that checked the caller's rights."""
        # sudo: scores, grade, freeze and review fields are written only here, after the
        # calling action checked the user's rights; write() refuses them otherwise, and
        # an RPC caller cannot get sudo (a context key alone would be forgeable).
        return self.sudo().with_context(ipai_waf_trusted=True).write(vals)

    def _refuse_protected(self, fnames):
        protected = sorted(PROTECTED_FIELDS & set(fnames))
        if protected and not self._is_trusted():
            raise UserError(self.env._(
                "%s: set by the assessment's actions (scoring, freeze, review), never "
                "written directly.", ", ".join(protected)))

    @api.model_create_multi
    def create(self, vals_list):
        model = self
        if not self._is_trusted():
            for vals in vals_list:
                self._refuse_protected(vals)
            # nor through defaults of the context ({'default_frozen': True}, or a kanban
            # column's quick create); removing keys takes a whole new context
            model = self.with_context({  # pylint: disable=context-overridden
                key: value for key, value in self.env.context.items()
                if not (key.startswith("default_") and key[8:] in PROTECTED_FIELDS)})
        for vals in vals_list:
            vals.setdefault("rubric_version", RUBRIC_VERSION)
            if vals.get("workload") and not ({"milestone", "previous_id"} & set(vals)):
                # A new assessment of a known workload is its next milestone.
                company = vals.get("company_id") or self.env.company.id
                last = self.search([("workload", "=", vals["workload"]),
                                    ("company_id", "=", company)],
                                   order="milestone desc, id desc", limit=1)
                if last:
                    vals.update(milestone=last.milestone + 1, previous_id=last.id)
        records = super(IpaiWafAssessment, model).create(vals_list)
        for rec in records.filtered(lambda r: not r.framework_ids):
            rec.framework_ids = self.env["ipai.waf.framework"].search(
                [("pillar_ids", "!=", False)]
            )
        return records

    def write(self, vals):
        self._refuse_protected(vals)
        # A frozen milestone takes chatter, activities and its review only; "Unfreeze"
        # is the way out.
        changed = {k for k in vals if not k.startswith(("message_", "activity_"))}
        allowed = REVIEW_FIELDS | {"frozen"} if self._is_trusted() else {"reviewer_id"}
        if changed - allowed and any(rec.frozen for rec in self):
            raise UserError(self.env._("A frozen milestone cannot be changed."))
        if "reviewer_id" in vals and not self._is_trusted() and \
                "approved" in self.mapped("review_state"):
            raise UserError(self.env._("The reviewer of an approved assessment stays."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_frozen(self):
        if any(self.mapped("frozen")):
            raise UserError(self.env._("A frozen milestone cannot be deleted."))


    # ------------------------------------------------------------------ export
    def _scorecard_dict(self):
        self.ensure_one()
        rubric = get_rubric(self.rubric_version or None)
        frameworks = []
        for framework in self.framework_ids | self.pillar_score_ids.pillar_id.framework_id:
            pillars = []
            scores = []
            for ps in self.pillar_score_ids.filtered(
                lambda s, f=framework: s.pillar_id.framework_id == f
            ):
                findings = self.finding_ids.filtered(
                    lambda fi, p=ps.pillar_id: p in (fi.control_id.pillar_id
                                                     | fi.control_id.extra_pillar_ids)
                )
                counts = {key: 0 for key, _label in STATUSES}
                for fi in findings:
                    counts[fi.status] += 1
                pillars.append({
                    "code": ps.pillar_id.code, "name": ps.pillar_id.name,
                    "weight": ps.pillar_id.weight, "score": ps.score,
                    "computed_score": ps.computed_score,
                    "override_score": ps.override_score if ps.has_override else None,
                    "override_justification": ps.override_justification or None,
                    "counts": counts,
                })
                if ps.has_override or findings:
                    scores.append(PillarInput(ps.score, ps.pillar_id.weight))
            fw_score = rubric.score_framework(scores) if scores else None
            frameworks.append({
                "code": framework.code, "name": framework.name,
                "score": fw_score,
                "pillars": pillars,
            })
        data = {
            "schema_version": "1.0",
            "rubric_version": self.rubric_version,
            "generated_at": fields.Datetime.now().isoformat(),
            "assessment": {
                "id": self.id, "name": self.name, "workload": self.workload or "",
                "repository": self.repository or "", "branch": self.branch or "",
                "date": self.date.isoformat(), "state": self.state,
                "milestone": self.milestone, "company": self.company_id.name,
            },
            "overall": {
                "score": self.overall_score, "grade": self.grade or "",
                "status": self.status_label or "",
            },
            "frameworks": frameworks,
            "findings": [f._scorecard_dict() for f in self.finding_ids],
            "risks": [r._scorecard_dict() for r in self.risk_ids],
            "recommendations": [r._scorecard_dict() for r in self.recommendation_ids],
        }
        data["content_hash"] = content_hash(data)
        return data

    def export_scorecard(self):
        self.ensure_one()
        data = self._scorecard_dict()
        validate(data)
        return data

    def export_gaps_markdown(self):
        self.ensure_one()
        return render_gaps_markdown(self._scorecard_dict())

    def action_open_findings(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window", "name": self.env._("Findings"),
            "res_model": "ipai.waf.finding", "view_mode": "list,form",
            "domain": [("assessment_id", "=", self.id)],
            "context": {"group_by": ["pillar_id"], "default_assessment_id": self.id},
        }

    def action_download_gaps(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/ipai_waf_assessment/{self.id}/gaps.md",
            "target": "self",
        }

