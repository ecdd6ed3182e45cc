# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import json
import logging
import re

from dateutil.relativedelta import relativedelta
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tools import SQL

from ..engine import importers
from ..engine.grading import bands_from_data, bands_to_data, grade_for
from ..engine.risk import rate
from ..engine.rubric import RUBRIC_VERSION, FindingInput, PillarInput, get_rubric
from ..engine.scorecard import content_hash, render_gaps_markdown, validate
from ..engine.vocabulary import CLOSED_STATUSES, SEVERITY_KEYS, STATUSES
from .ipai_waf_control import split_aliases

_logger = logging.getLogger(__name__)

JOB_CHANNEL = "root.ipai.assessment"
IMPORT_MAX_BYTES = 10 * 1024 * 1024  # default cap; system parameter import_max_bytes
WARNINGS_SHOWN = 200  # warnings written in the chatter; the full list is attached
MANAGER_GROUP = "ipai_waf_assessment.assessment_group_manager"
REVIEW_STATES = [
    ("draft", "Not reviewed"),
    ("in_review", "In review"),
    ("approved", "Approved"),
    ("changes_requested", "Changes requested"),
]
DECISIONS = [
    ("go", "Go"),
    ("go_with_conditions", "Go with conditions"),
    ("no_go", "No-go"),
]
# Written only by the assessment's own actions (scoring, freeze, unfreeze, review), which
# check the caller's rights first; write() and create() refuse them from anyone else.
REVIEW_FIELDS = {"review_state", "review_decision", "review_reasons", "reviewed_by_id",
                 "reviewed_at", "reviewer_id"}
PROTECTED_FIELDS = {"frozen", "rubric_version", "grade_bands", "overall_score", "grade",
                    "status_label"} | (REVIEW_FIELDS - {"reviewer_id"})
GRADE_COLOURS = {"A": "success", "B": "info", "C": "warning", "D": "danger", "F": "danger"}


def _norm(text):
    return re.sub(r"[^a-z0-9]+", " ", (text or "").lower()).strip()


def _risk_ratings(vals):
    """The risk's computed ratings of its values, as ``_compute_rating`` gives them."""
    try:
        rating, level = rate(vals["likelihood"], vals["impact"])
        residual_rating, residual_level = rate(vals["residual_likelihood"],
                                               vals["residual_impact"])
    except ValueError:
        rating = residual_rating = 0
        level = residual_level = False
    return {"rating": rating, "level": level, "residual_rating": residual_rating,
            "residual_level": residual_level}


class IpaiWafAssessment(models.Model):
    _name = "ipai.waf.assessment"
    _description = "Well-Architected Assessment"
    _inherit = ["mail.thread"]
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


    # ------------------------------------------------------------------ scoring
    def _grade_bands(self):
        """The milestone's own bands once frozen; the company's bands before."""
        self.ensure_one()
        if self.grade_bands:
            return bands_from_data(self.grade_bands)
        return self.env["ipai.waf.grade.band"]._get_bands()

    def _recompute_scores(self):
        Score = self.env["ipai.waf.pillar.score"]
        for rec in self:
            bands = rec._grade_bands()
            rubric = get_rubric(rec.rubric_version or None)
            by_pillar = rec._scoring_inputs()
            existing = {s.pillar_id.id: s for s in rec.pillar_score_ids}
            frameworks = rec.framework_ids | self.env["ipai.waf.pillar"].browse(
                list(by_pillar)).framework_id
            computed, missing = {}, []
            for framework in frameworks:
                for pillar in framework.pillar_ids:
                    computed[pillar.id] = rubric.score_pillar(by_pillar.get(pillar.id, []))
                    if pillar.id in existing:
                        existing[pillar.id].computed_score = computed[pillar.id]
                    else:
                        missing.append(pillar.id)
            if missing:  # one create for the pillars scored the first time
                for score_rec in Score.create([{
                    "assessment_id": rec.id, "pillar_id": pillar_id,
                    "computed_score": computed[pillar_id],
                } for pillar_id in missing]):
                    existing[score_rec.pillar_id.id] = score_rec
            framework_scores = []
            for framework in frameworks:
                pillar_inputs = []
                for pillar in framework.pillar_ids:
                    score_rec = existing[pillar.id]
                    if score_rec.has_override or by_pillar.get(pillar.id):
                        pillar_inputs.append(PillarInput(score_rec.score, pillar.weight))
                fw_score = rubric.score_framework(pillar_inputs)
                if fw_score is not None:
                    framework_scores.append(fw_score)
            overall = rubric.score_overall(framework_scores) if framework_scores else None
            grade, label = grade_for(overall or 0.0, bands)
            rec._write_trusted({
                "overall_score": overall or 0.0, "grade": grade, "status_label": label,
            })
        return True

    def _scoring_inputs(self):
        """``{pillar id: [FindingInput]}`` of this assessment, read in one query.

        A control counts for its pillar and its extra pillars. Findings alike (pillar,
        status, severity, weight) come as one input with their count. Plain SQL because
        scoring thousands of findings through the ORM cost more than the rubric itself;
        the caller has read access to the assessment, whose findings these are.
        """
        self.ensure_one()
        self.env["ipai.waf.finding"].flush_model(["status", "control_id", "assessment_id"])
        self.env["ipai.waf.control"].flush_model(
            ["severity", "weight", "pillar_id", "extra_pillar_ids"])
        by_pillar = {}
        for pillar_id, status, severity, weight, count in self.env.execute_query(SQL(
            """WITH found AS (
                   SELECT c.id, c.pillar_id, f.status, c.severity, c.weight
                     FROM ipai_waf_finding f JOIN ipai_waf_control c ON c.id = f.control_id
                    WHERE f.assessment_id = %s)
               SELECT pillar_id, status, severity, weight, count(*)
                 FROM (SELECT pillar_id, status, severity, weight FROM found
                       UNION ALL
                       SELECT r.pillar_id, found.status, found.severity, found.weight
                         FROM found JOIN ipai_waf_control_extra_pillar_rel r
                           ON r.control_id = found.id AND r.pillar_id != found.pillar_id
                      ) AS counted
                GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4""", self.id)):
            by_pillar.setdefault(pillar_id, []).append(FindingInput(
                status, severity, weight if weight is not None else 1.0, count))
        return by_pillar

    def action_recompute(self):
        self._recompute_scores()
        return True

    # ------------------------------------------------------------------ checks
    def _check_findings(self):
        """Findings of this assessment whose control has an automated check.

        Only the controls of the assessment's own frameworks: a WAF-only assessment gets
        no Lakehouse finding, and keeps its score.
        """
        self.ensure_one()
        Control = self.env["ipai.waf.control"]
        controls = Control.search([("check_key", "!=", False), ("active", "=", True),
                                   ("framework_id", "in", self.framework_ids.ids)])
        frameworks = self.framework_ids
        findings = self.finding_ids.filtered(
            lambda f: f.control_id.check_key and f.control_id.framework_id in frameworks)
        missing = controls - findings.control_id
        if missing:
            findings |= self.env["ipai.waf.finding"].create([
                {"assessment_id": self.id, "control_id": c.id, "status": "unknown",
                 "source": "automated"}
                for c in missing
            ])
        return findings

    def action_run_checks(self):
        for rec in self:
            if rec.frozen:
                raise UserError(self.env._("A frozen milestone cannot be re-checked."))
            findings = rec._check_findings()
            rec.write({"state": "running", "check_total": len(findings), "check_done": 0})
            for finding in findings:
                finding.with_delay(
                    channel=JOB_CHANNEL,
                    description=self.env._("Assessment check %s", finding.control_id.check_key),
                )._job_run_check()
            if not findings:
                rec.state = "done"
        return True

    def _check_finished(self):
        """Called by each check job; the last one moves the assessment to done."""
        for rec in self:
            # Lock the row so two concurrent jobs count correctly.
            self.env.cr.execute(
                "SELECT check_done FROM ipai_waf_assessment WHERE id = %s FOR UPDATE", (rec.id,)
            )
            rec.invalidate_recordset(["check_done"])
            done = rec.check_done + 1
            vals = {"check_done": done}
            if done >= rec.check_total:
                vals["state"] = "done"
            rec.write(vals)
            if done >= rec.check_total:
                rec._recompute_scores()

    # ------------------------------------------------------------------ import
    @api.model
    def _import_max_bytes(self):
        # sudo: the size cap is a technical parameter assessors may not read directly.
        value = self.env["ir.config_parameter"].sudo().get_param(
            "ipai_waf_assessment.import_max_bytes", str(IMPORT_MAX_BYTES))
        try:
            return max(1, int(value))
        except ValueError:
            return IMPORT_MAX_BYTES

    @api.model
    def _import_catalog(self):
        """The pillars and the controls this user may match against (record rules)."""
        # A few dozen pillars at most: every one is a candidate.
        pillars = self.env["ipai.waf.pillar"].search([])  # pylint: disable=no-search-all
        # One query for the controls (record rules applied by _search): reading thousands
        # of records field by field through the ORM cost more than the whole parse.
        Control = self.env["ipai.waf.control"]
        query = Control._search([])
        rows = self.env.execute_query(query.select(*(
            Control._field_to_sql(Control._table, fname, query)
            for fname in ("id", "code", "name", "pillar_id", "aliases", "shipped_aliases",
                          "company_id"))))
        return importers.Catalog(
            pillars=[{"id": p.id, "code": p.code, "name": p.name,
                      "framework": p.framework_id.code} for p in pillars],
            controls=[{"id": cid, "code": code, "name": name or code, "pillar_id": pillar_id,
                       "aliases": split_aliases(shipped, aliases), "company": bool(company_id)}
                      for cid, code, name, pillar_id, aliases, shipped, company_id in rows],
        )

    @api.model
    def _import_build_plan(self, content, fmt):
        """``(plan, catalog)`` of a document; UserError when it cannot be read."""
        if fmt not in importers.PARSERS:
            raise UserError(self.env._("Unknown import format %s", fmt))
        if content is None or content is False:
            content = ""
        size = len(content.encode() if isinstance(content, str) else content)
        limit = self._import_max_bytes()
        if size > limit:
            raise UserError(self.env._(
                "The document is %(size)s bytes; imports are limited to %(limit)s bytes "
                "(system parameter ipai_waf_assessment.import_max_bytes).",
                size=size, limit=limit))
        catalog = self._import_catalog()
        try:
            if fmt == "markdown":
                report = importers.parse_markdown(content, catalog.pillar_tuples())
            else:
                report = importers.PARSERS[fmt](content)
        except importers.ImportFormatError as exc:
            raise UserError(self.env._("The document cannot be read: %s", exc)) from exc
        if fmt != "markdown" and not report.findings and not report.controls:
            raise UserError(self.env._(
                "The document holds no question or checklist item; expected an AWS custom "
                "lens or an Azure review checklist."))
        return importers.build_plan(report, catalog, fmt), catalog

    @api.model
    def preview_report(self, content, fmt="markdown"):
        """What ``import_report`` would create, as a dict; writes nothing."""
        return self._import_build_plan(content, fmt)[0]

    @api.model
    def import_report(self, name, content, fmt="markdown", plan=None):
        """Import a report in one transaction; ``plan``: the assessor's changes.

        Returns ``{"id": assessment id, "warnings": [...]}``.
        """
        built, catalog = self._import_build_plan(content, fmt)
        warnings = list(built["warnings"])
        if plan:
            warnings += importers.apply_changes(built, plan, catalog)
        with self.env.cr.savepoint():
            assessment = self.create({
                "name": name or built["title"] or self.env._("Imported"),
                "stated_overall_score": built["stated"]["overall"] or 0.0,
                "stated_scores": self._stated_text(built) or False,
                "decision": built["decision"] or False,
                "stated_decision": built.get("stated_decision") or False,
            })
            warnings += assessment._apply_plan(built)
            assessment._recompute_scores()
            assessment._post_import_warnings(warnings)
        return {"id": assessment.id, "warnings": warnings}

    def apply_results(self, content, fmt):
        """Apply reviewers' results to the findings of this assessment's lens or checklist.

        ``fmt``: ``azure_results`` (Azure Resource Graph results of a review checklist) or
        ``aws_answers`` (answers to an AWS lens). Findings are matched by item id (guid,
        question id) among the controls this assessment imported from that source.
        Returns ``{"updated": n, "warnings": [...]}``; one transaction.
        """
        self.ensure_one()
        if fmt not in importers.RESULT_PARSERS:
            raise UserError(self.env._("Unknown results format %s", fmt))
        content = content or ""
        size = len(content.encode() if isinstance(content, str) else content)
        if size > self._import_max_bytes():
            raise UserError(self.env._(
                "The document is %(size)s bytes; imports are limited to %(limit)s bytes.",
                size=size, limit=self._import_max_bytes()))
        prefix = importers.RESULT_SOURCES[fmt]
        by_item = {}
        for finding in self.finding_ids:
            control = finding.control_id
            if (control.source or "").startswith(prefix):
                item = control.code.rsplit(":", 1)[-1]
                key = item.lower() if fmt == "azure_results" else item
                by_item[key] = by_item.get(key, finding.browse()) | finding
        if not by_item:
            raise UserError(self.env._(
                "This assessment holds no finding imported from an %s; import it first, "
                "then apply its results.",
                self.env._("AWS lens") if fmt == "aws_answers" else
                self.env._("Azure review checklist")))
        try:
            if fmt == "aws_answers":
                results, warnings = importers.parse_aws_answers(content, {
                    key: findings[0].control_id.answer_choices or []
                    for key, findings in by_item.items()})
            else:
                results, warnings = importers.parse_azure_results(content)
        except importers.ImportFormatError as exc:
            raise UserError(self.env._("The document cannot be read: %s", exc)) from exc
        source = "automated" if fmt == "azure_results" else "imported"
        updated = 0
        with self.env.cr.savepoint():
            for key, (status, evidence, na_reason) in results.items():
                findings = by_item.get(key)
                if not findings:
                    warnings.append(self.env._(
                        "%s is no item of this assessment; not read", key))
                    continue
                if status == "unknown":
                    continue  # no result is no reason to forget what a reviewer wrote
                vals = {"status": status, "evidence": evidence or False, "source": source,
                        "checked_at": fields.Datetime.now()}
                if status == "not_applicable":
                    vals["na_reason"] = na_reason or "other"
                findings.write(vals)
                updated += len(findings)
            self._recompute_scores()
            self._post_import_warnings([self.env._(
                "%(count)s finding(s) updated from %(what)s.", count=updated,
                what=self.env._("AWS answers") if fmt == "aws_answers" else
                self.env._("Azure automated results"))] + warnings)
        return {"updated": updated, "warnings": warnings}

    @api.model
    def _stated_text(self, plan):
        lines = []
        for item in plan["stated"]["frameworks"]:
            parts = [item["name"], f"{item['score']:g}/100" if item["score"] is not None
                     else "", item["grade"] or "", item["status"] or ""]
            lines.append(" · ".join(p for p in parts if p))
        return "\n".join(lines)

    def _post_import_warnings(self, warnings):
        """The first warnings in the chatter, the full list attached as a file."""
        self.ensure_one()
        if not warnings:
            return
        shown = warnings[:WARNINGS_SHOWN]
        body = Markup("<br/>").join(shown)
        attachments = []
        if len(warnings) > WARNINGS_SHOWN:
            body += Markup("<br/>") + self.env._(
                "… and %s more; the full list is attached.", len(warnings) - WARNINGS_SHOWN)
            attachments = [("import-warnings.txt", "\n".join(warnings).encode())]
        self.message_post(body=body, attachments=attachments)

    def _import_framework(self, plan):
        """Pillar id of each new lens pillar: an AWS lens is its own framework."""
        if not plan["new_pillars"]:
            return {}
        # sudo: assessors may not edit the catalog; an AWS lens brings its own framework
        # and pillars, which are created once (by source) and never changed afterwards.
        Framework = self.env["ipai.waf.framework"].sudo()
        code = plan["source"][:60]
        framework = Framework.search([("code", "=", code)], limit=1) or Framework.create({
            "code": code, "name": plan["framework"] or code, "sequence": 90,
        })
        existing = {p.code: p for p in framework.pillar_ids}
        out = {}
        for seq, item in enumerate(plan["new_pillars"]):
            pillar = existing.get(item["code"]) or self.env["ipai.waf.pillar"].sudo().create({
                "framework_id": framework.id, "code": item["code"], "name": item["name"],
                "sequence": 10 * (seq + 1),
            })
            out[item["id"]] = pillar.id
        self.framework_ids = [Command.link(framework.id)]
        return out

    @api.model
    def _import_insert(self, model, rows, compute=None):
        """Insert ``rows`` (dicts of stored fields) of ``model`` in one INSERT; returns
        the records, in the order of ``rows``.

        An import creates thousands of controls, risks and recommendations, and the
        ORM's create cost more than all the rest. This is what create does for them,
        without the per-record work: defaults (the same for every row, so read once),
        the checks and casts of each value, access rights and record rules, the frozen
        guard, Python constraints, the caches of the records they belong to and the
        fields that depend on them. A computed field given in ``rows`` is kept as
        given, as create keeps it; ``compute(row)``, called once defaults are in, gives
        computed fields' values. Not for models whose create does more than store
        values: mail.thread's create does nothing else under ``tracking_disable``,
        which imports use.
        """
        if not rows:
            return model.browse()
        model.check_access("create")
        if "ipai.waf.frozen.guard" in model._inherit:
            model._check_not_frozen(self.browse(
                {row["assessment_id"] for row in rows if row.get("assessment_id")}))
        magic = {"id", "create_uid", "create_date", "write_uid", "write_date"}
        stored = [name for name, field in model._fields.items()
                  if field.store and field.column_type and name not in magic]
        defaults = model.default_get(stored)
        rows = [dict(defaults, **row) for row in rows]
        if compute:
            for row in rows:
                row.update(compute(row))
        fnames = sorted({name for row in rows for name in row})
        fields_ = [model._fields[name] for name in fnames]
        if others := [field.name for field in fields_ if not field.column_type]:
            raise ValueError(f"_import_insert stores columns, not {others}")
        lang = self.env.lang or "en_US"

        def converter(field):
            """What create makes of a value (checks and casts), as JSON."""
            choices = set(field.get_values(self.env)) if field.type == "selection" else None
            text = field.type in ("char", "text") and not getattr(field, "size", None)

            def column(value):
                # the values imports give, taken as they are; the rest as create does
                if field.type == "many2one" and type(value) is int:
                    return value
                if choices is not None and value in choices:
                    return value
                if not (text and type(value) is str):
                    value = field.convert_to_cache(value, model)
                if value is None or (value is False and field.type != "boolean"):
                    return None
                if field.type in ("date", "datetime"):
                    return field.to_string(value)
                if isinstance(value, str):
                    # jsonb refuses NUL, and PostgreSQL text cannot hold it either
                    value = value.replace("\x00", "")
                    if getattr(field, "translate", False):
                        return {"en_US": value, lang: value}
                return value
            return column

        columns = [(name, converter(field)) for name, field in zip(fnames, fields_,
                                                                    strict=True)]
        data = json.dumps([{name: column(row.get(name)) for name, column in columns}
                           for row in rows])
        names = SQL(", ").join(SQL.identifier(name) for name in fnames)
        ids = sorted(row[0] for row in self.env.execute_query(SQL(
            """INSERT INTO %(table)s (%(names)s, create_uid, create_date, write_uid,
                                      write_date)
               SELECT %(values)s, %(uid)s, now() AT TIME ZONE 'UTC', %(uid)s,
                      now() AT TIME ZONE 'UTC'
                 FROM jsonb_to_recordset(%(data)s::jsonb) AS v(%(types)s)
            RETURNING id""",
            table=SQL.identifier(model._table), names=names,
            values=SQL(", ").join(SQL.identifier("v", name) for name in fnames),
            uid=self.env.uid, data=data,
            types=SQL(", ").join(SQL("%s %s", SQL.identifier(field.name),
                                     SQL(field.column_type[1])) for field in fields_))))
        # one function scan: the sequence numbers the rows in the order they were given
        records = model.browse(ids)
        for field in fields_:
            for inverse in self.pool.field_inverses[field]:
                self.env[inverse.model_name].invalidate_model([inverse.name])
        with self.env.protecting([field for field in fields_ if field.compute], records):
            records.modified(list(model._fields), create=True)
        records._validate_fields(fnames)
        records.check_access("create")  # record rules, now that the rows exist
        return records

    def _apply_plan(self, plan):
        """Create what the plan says (findings, controls, scores, roadmap, risks).

        Existing controls are never written. New controls (a lens's or checklist's
        items, unmatched rows) belong to this assessment's company.
        """
        self.ensure_one()
        warnings = []
        new_pillar_ids = self._import_framework(plan)

        def pillar_id(value):
            return new_pillar_ids.get(value, value) if isinstance(value, str) else value

        # sudo: assessors may not edit the catalog; an import adds controls of its own
        # company only (company_id set) and never changes an existing control.
        Control = self.env["ipai.waf.control"].sudo()
        by_code = {}
        to_create = {}
        for item in plan["controls"]:
            if item["existing_id"]:
                by_code[item["code"]] = item["existing_id"]
            elif item["pillar_id"]:
                vals = {"code": item["code"], "name": item["name"][:250],
                        "pillar_id": pillar_id(item["pillar_id"]),
                        "description": item["description"] or False,
                        "recommendation": item["recommendation"] or False,
                        "reference_url": item["reference_url"] or False,
                        "company_id": self.company_id.id, "source": plan["source"],
                        "answer_choices": item.get("choices") or False}
                if item["severity"] in SEVERITY_KEYS:
                    vals["severity"] = item["severity"]
                to_create[item["code"]] = vals
        for row in plan["findings"]:
            if row["action"] == "create" and row["control_code"] not in by_code \
                    and row["control_code"] not in to_create and row["pillar_id"]:
                to_create[row["control_code"]] = {
                    "code": row["control_code"], "name": row["control_name"][:250],
                    "pillar_id": pillar_id(row["pillar_id"]),
                    "company_id": self.company_id.id, "source": plan["source"] or "markdown",
                }
        created = set()
        if to_create:
            # framework_id is related (pillar -> framework): read once for the few pillars
            pillars = self.env["ipai.waf.pillar"].browse(
                {vals["pillar_id"] for vals in to_create.values()})
            framework_of = {p.id: p.framework_id.id for p in pillars}
            rows = [dict(vals, framework_id=framework_of[vals["pillar_id"]])
                    for vals in to_create.values()]
            controls = self._import_insert(Control, rows)
            for code, control_id in zip(to_create, controls.ids, strict=True):
                by_code[code] = control_id
                created.add(code)

        def where(row):
            # translated only for the rows that get a warning
            return self.env._("Line %s", row["line"]) if row["line"] else \
                self.env._("Item %s", row["control_code"] or row["component"])

        finding_vals, first_seen = [], {}
        now = fields.Datetime.now()  # one import, one moment
        for row in plan["findings"]:
            if row["action"] == "skip":
                warnings.append(self.env._("%(where)s: %(name)s not imported (%(reason)s)",
                                           where=where(row), name=row["component"],
                                           reason=row["reason"] or self.env._("skipped")))
                continue
            control_id = row["control_id"] if row["action"] == "match" else \
                by_code.get(row["control_code"])
            if not control_id:
                continue
            if row["action"] == "create" and row["control_code"] in created \
                    and not plan["controls"]:
                created.discard(row["control_code"])
                warnings.append(self.env._(
                    "%(where)s: %(name)s matches no control (%(reason)s); created as control "
                    "%(code)s of your company", where=where(row), name=row["component"],
                    reason=row["reason"] or self.env._("chosen by the assessor"),
                    code=row["control_code"]))
            if control_id in first_seen:
                warnings.append(self.env._(
                    "%(where)s: %(name)s is control %(code)s again (see %(first)s); kept "
                    "the first", where=where(row), name=row["component"],
                    code=row["control_code"], first=where(first_seen[control_id])))
                continue
            first_seen[control_id] = row
            vals = {
                "assessment_id": self.id, "control_id": control_id,
                "status": row["status"] or "unknown",
                "evidence": "\n".join(p for p in (row["evidence"], row["note"]) if p) or False,
                "evidence_url": row["evidence_url"] or False, "source": "imported",
                "checked_at": now,
            }
            if vals["status"] == "not_applicable":
                vals["na_reason"] = row["na_reason"] or "other"
                if not row["na_reason"]:
                    warnings.append(self.env._(
                        "%(where)s: %(name)s is not applicable without a stated reason (out "
                        "of scope, business priorities, architecture constraints); recorded "
                        "as Other", where=where(row), name=row["component"]))
            finding_vals.append(vals)
        self.env["ipai.waf.finding"]._create_bulk(finding_vals)

        Score = self.env["ipai.waf.pillar.score"]
        existing = {s.pillar_id.id: s for s in self.pillar_score_ids}
        new_scores = {}  # created in one go; a later line for the same pillar wins
        for item in plan["stated"]["pillars"]:
            pid = pillar_id(item["pillar_id"])
            vals = {"override_score": item["score"], "override_justification": self.env._(
                "Imported from report (line %s)", item["line"])}
            if pid in existing:
                existing[pid].write(vals)
            else:
                new_scores.setdefault(pid, {"assessment_id": self.id, "pillar_id": pid})
                new_scores[pid].update(vals)
        Score.create(list(new_scores.values()))
        return warnings + self._apply_plan_roadmap(plan, pillar_id)

    @api.model
    def _import_relation(self, records, fname, targets):
        """Link each of ``records`` to its list of ``targets`` ids through the many2many
        ``fname`` (records just made by :meth:`_import_insert`), in one INSERT."""
        field = records._fields[fname]
        pairs = [{"a": record_id, "b": target}
                 for record_id, ids in zip(records.ids, targets, strict=True)
                 for target in dict.fromkeys(ids) if target]
        if not pairs:
            return
        self.env.execute_query(SQL(
            """INSERT INTO %(rel)s (%(a)s, %(b)s)
               SELECT v.a, v.b FROM jsonb_to_recordset(%(pairs)s::jsonb) AS v(a int, b int)
               ON CONFLICT DO NOTHING""",
            rel=SQL.identifier(field.relation), a=SQL.identifier(field.column1),
            b=SQL.identifier(field.column2), pairs=json.dumps(pairs)))
        records.invalidate_recordset([fname])
        records.modified([fname])

    @api.model
    def _import_owner_activities(self, records, vals_list):
        """The owner's To-Do of each new record that is due (the owner reminder mixin's
        create), for records made by :meth:`_import_insert`."""
        closed = records._owner_activity_closed_states
        due = [record_id for record_id, vals in zip(records.ids, vals_list, strict=True)
               if vals.get("owner_id") and vals.get("due_date")
               and vals.get("state") not in closed]
        for record in records.browse(due).with_context(tracking_disable=True):
            record._schedule_owner_activity()

    def _apply_plan_roadmap(self, plan, pillar_id):
        """Risks and recommendations of the plan."""
        warnings = []
        Users = self.env["res.users"]
        owners = {}

        def owner_of(item):
            text = (item["owner"] or "").strip()
            if not text:
                return False
            if text not in owners:
                users = Users.search(
                    ["|", ("name", "=ilike", text), ("login", "=ilike", text)], limit=2)
                owners[text] = users if len(users) == 1 else Users
                if len(users) != 1:
                    warnings.append(self.env._(
                        "Line %(line)s: owner %(owner)s is not one user; left empty",
                        line=item["line"], owner=text))
            return owners[text].id or False

        risk_vals = []
        for risk in plan["risks"]:
            vals = {
                "assessment_id": self.id, "title": risk["title"],
                "pillar_id": pillar_id(risk["pillar_id"]) or False,
                "severity": risk["severity"] or False, "mitigation": risk["mitigation"] or False,
                "owner_id": owner_of(risk), "due_date": risk["due_date"] or False,
                "state": risk.get("state") or "open",
            }
            for key in ("likelihood", "impact", "residual_likelihood", "residual_impact"):
                if risk[key]:
                    vals[key] = risk[key]
            risk_vals.append(vals)
        # An import brings items by the hundred: one INSERT each, and no creation
        # message or follower each (as create under tracking_disable).
        risks = self._import_insert(self.env["ipai.waf.risk"], [
            dict(vals, company_id=self.company_id.id) for vals in risk_vals],
            compute=_risk_ratings)
        self._import_owner_activities(risks, risk_vals)

        rec_vals = []
        for rec in plan["recommendations"]:
            vals = {
                "assessment_id": self.id, "title": rec["title"],
                "effort_days": rec["effort_days"] or 0.0, "owner_id": owner_of(rec),
                "expected_gain": rec["gain"] or 0.0, "company_id": self.company_id.id,
            }
            for key in ("phase", "priority", "state"):
                if rec[key]:
                    vals[key] = rec[key]
            rec_vals.append(vals)
        created = self._import_insert(self.env["ipai.waf.recommendation"], rec_vals)
        self._import_relation(created, "pillar_ids", [
            [pillar_id(p) for p in rec["pillar_ids"]] for rec in plan["recommendations"]])
        self._import_owner_activities(created, rec_vals)
        by_title = {}
        for vals, record in zip(rec_vals, created, strict=True):
            by_title.setdefault(_norm(vals["title"]), record)
        for parsed, record in zip(plan["recommendations"], created, strict=True):
            deps = self.env["ipai.waf.recommendation"]
            for ref in parsed["depends_on"]:
                match = re.fullmatch(r"#\s*(\d+)", ref.strip())
                dep = created[int(match.group(1)) - 1] if match and \
                    0 < int(match.group(1)) <= len(created) else by_title.get(_norm(ref))
                if dep and dep != record:
                    deps |= dep
                else:
                    warnings.append(self.env._(
                        "Line %(line)s: %(title)s depends on %(ref)s, which is not a "
                        "recommendation of this report; left out",
                        line=parsed["line"], title=parsed["title"], ref=ref))
            if deps:
                record.depends_on_ids = [Command.set(deps.ids)]
        return warnings

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

    # ------------------------------------------------------------------ milestones
    def action_freeze(self):
        """Freeze as a milestone: it keeps its rubric version and the grade bands of
        today, and its score and grade are computed from them from now on."""
        todo = self.filtered(lambda r: not r.frozen)
        todo.check_access("write")
        current = bands_to_data(self.env["ipai.waf.grade.band"]._get_bands())
        for rec in todo:
            # a milestone that was frozen before keeps the bands it was frozen with
            rec._write_trusted({"grade_bands": rec.grade_bands or current,
                                "rubric_version": rec.rubric_version or RUBRIC_VERSION})
        todo._recompute_scores()
        todo._write_trusted({"frozen": True, "state": "done"})
        return True

    def action_unfreeze(self, reason=None):
        """The only way to change a milestone again: a manager's, recorded in the chatter.

        The milestone keeps its rubric version and grade bands.
        """
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(self.env._("Only Assessment Managers may unfreeze a milestone."))
        if not (reason or "").strip():
            raise UserError(self.env._("Say why the milestone is unfrozen."))
        self.check_access("write")
        for rec in self.filtered("frozen"):
            vals = {"frozen": False}
            withdrawn = rec.review_state in ("in_review", "approved")
            if withdrawn:
                # the review was of what is now open to change: it starts again
                vals.update(review_state="draft", review_decision=False)
            rec._write_trusted(vals)
            body = self.env._("Unfrozen by %(user)s. Reason: %(reason)s",
                              user=self.env.user.name, reason=reason.strip())
            if withdrawn:
                body = "%s %s" % (body, self.env._(
                    "Its review is withdrawn: send it to review again once it is final."))
            rec.message_post(body=body)
        return True

    # ------------------------------------------------------------------ review
    def action_send_to_review(self):
        """An assessor sends the assessment to its reviewer (an Assessment Manager)."""
        self.check_access("write")
        for rec in self:
            if rec.review_state not in ("draft", "changes_requested"):
                raise UserError(self.env._(
                    "%s is already in review or approved.", rec.display_name))
            if not rec.reviewer_id:
                raise UserError(self.env._(
                    "Choose a reviewer (an Assessment Manager) before sending %s to review.",
                    rec.display_name))
            rec._write_trusted({"review_state": "in_review"})
            rec.message_post(
                body=self.env._("Sent to review by %(user)s; reviewer: %(reviewer)s",
                                user=self.env.user.name, reviewer=rec.reviewer_id.name),
                partner_ids=rec.reviewer_id.partner_id.ids)
        return True

    def _check_review_decision(self):
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(self.env._(
                "Only Assessment Managers may approve a review or request changes."))
        self.check_access("write")
        for rec in self:
            if rec.review_state != "in_review":
                raise UserError(self.env._("%s is not in review.", rec.display_name))
            # four eyes: whoever assessed it does not sign it off
            if rec.assessor_id == self.env.user:
                raise AccessError(self.env._(
                    "You assessed %s: another Assessment Manager decides on its review.",
                    rec.display_name))

    def action_approve(self, decision=None, reasons=None):
        """A manager approves the review with a go / no-go decision and its reasons."""
        self._check_review_decision()
        if decision not in dict(DECISIONS):
            raise UserError(self.env._("Choose a decision: go, go with conditions or no-go."))
        reasons = (reasons or "").strip()
        if decision != "go" and not reasons:
            raise UserError(self.env._("Give the conditions or the reasons of a no-go."))
        labels = dict(self._fields["review_decision"]._description_selection(self.env))
        for rec in self:
            rec._write_trusted({
                "review_state": "approved", "review_decision": decision,
                "review_reasons": reasons or False, "reviewed_by_id": self.env.user.id,
                "reviewed_at": fields.Datetime.now(),
                "reviewer_id": rec.reviewer_id.id or self.env.user.id,
            })
            rec.message_post(body=self.env._(
                "Review approved by %(user)s. Decision: %(decision)s. Reasons: %(reasons)s",
                user=self.env.user.name, decision=labels[decision],
                reasons=reasons or self.env._("none given")))
        return True

    def action_request_changes(self, reasons=None):
        """A manager sends the assessment back to its assessor, saying what to change."""
        self._check_review_decision()
        reasons = (reasons or "").strip()
        if not reasons:
            raise UserError(self.env._("Say which changes are requested."))
        for rec in self:
            rec._write_trusted({
                "review_state": "changes_requested", "review_decision": False,
                "review_reasons": reasons, "reviewed_by_id": self.env.user.id,
                "reviewed_at": fields.Datetime.now(),
            })
            rec.message_post(
                body=self.env._("Changes requested by %(user)s: %(reasons)s",
                                user=self.env.user.name, reasons=reasons),
                partner_ids=rec.assessor_id.partner_id.ids)
        return True

    def compare(self, other_id):
        """What changed since assessment ``other_id`` (the earlier one), by control code.

        ``new``: controls with a finding here and none there. ``resolved``: gaps there
        (any status but implemented and not applicable) that are implemented here or no
        longer a finding. ``changed``: every control whose status differs (resolved ones
        included), with ``before`` and ``after``. ``removed``: findings there, no gap,
        and gone here. ``pillars``: before, after and delta per pillar of either side;
        ``score_delta`` and ``overall_delta`` the deltas alone.
        """
        self.ensure_one()
        other = self.browse(other_id).exists()
        if not other:
            raise UserError(self.env._("Assessment %s does not exist.", other_id))
        mine = {f.control_id.code: f for f in self.finding_ids}
        theirs = {f.control_id.code: f for f in other.finding_ids}
        closed = CLOSED_STATUSES
        new = sorted(set(mine) - set(theirs))
        gone = set(theirs) - set(mine)
        resolved = sorted(
            code for code in set(mine) & set(theirs)
            if mine[code].status == "implemented" and theirs[code].status not in closed
        ) + sorted(code for code in gone if theirs[code].status not in closed)
        removed = sorted(code for code in gone if theirs[code].status in closed)
        changed = [
            {"control_code": code, "before": theirs[code].status, "after": mine[code].status}
            for code in sorted(set(mine) & set(theirs))
            if mine[code].status != theirs[code].status
        ]
        before = {s.pillar_id: s.score or 0.0 for s in other.pillar_score_ids}
        after = {s.pillar_id: s.score or 0.0 for s in self.pillar_score_ids}
        pillars = [
            {"code": p.code, "name": p.name, "framework": p.framework_id.code,
             "before": before.get(p), "after": after.get(p),
             "delta": round(after.get(p, 0.0) - before.get(p, 0.0), 2)}
            for p in (self.pillar_score_ids | other.pillar_score_ids).pillar_id.sorted()
        ]
        return {
            "new": new, "resolved": resolved, "changed": changed, "removed": removed,
            "score_delta": {p["code"]: p["delta"] for p in pillars if p["after"] is not None},
            "pillars": pillars,
            "overall_before": other.overall_score, "overall_after": self.overall_score,
            "overall_delta": round(self.overall_score - other.overall_score, 2),
        }

    def action_download_scorecard(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/ipai_waf_assessment/{self.id}/scorecard.json",
            "target": "self",
        }

    def _create_next_milestone(self):
        self.ensure_one()
        nxt = self.copy({
            "name": self.name, "milestone": self.milestone + 1, "previous_id": self.id,
            "date": fields.Date.context_today(self), "state": "draft",
            "framework_ids": [(6, 0, self.framework_ids.ids)],
        })
        self.env["ipai.waf.finding"].create([
            {"assessment_id": nxt.id, "control_id": f.control_id.id, "status": f.status,
             "na_reason": f.na_reason, "evidence": f.evidence, "evidence_url": f.evidence_url,
             "source": "manual", "carried_over": True, "checked_at": f.checked_at}
            for f in self.finding_ids if f.source == "manual"
        ])
        nxt._recompute_scores()
        nxt.action_run_checks()
        return nxt

    @api.model
    def _cron_next_milestones(self):
        months = int(self.env["ir.config_parameter"].sudo().get_param(
            # sudo: reading a technical parameter from a cron.
            "ipai_waf_assessment.milestone_period_months", "3"
        ) or 3)
        cutoff = fields.Date.context_today(self) - relativedelta(months=months)
        latest = {}
        for rec in self.search([("workload", "!=", False)], order="milestone desc, id desc"):
            latest.setdefault((rec.workload, rec.company_id.id), rec)
        due = [rec for rec in latest.values() if rec.date <= cutoff]
        Cron = self.env["ir.cron"]
        # each milestone is committed on its own: a worker killed halfway keeps the ones
        # made, and a run out of time is rescheduled at once for the rest
        Cron._commit_progress(remaining=len(due))
        created = self.browse()
        for rec in due:
            created |= rec._create_next_milestone()
            if not Cron._commit_progress(1):
                break
        return created
