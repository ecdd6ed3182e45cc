# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import logging
import re

from dateutil.relativedelta import relativedelta
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command

from ..engine import importers
from ..engine.grading import grade_for
from ..engine.importers import match_pillar
from ..engine.risk import rate
from ..engine.rubric import RUBRIC_VERSION, FindingInput, PillarInput, get_rubric
from ..engine.scorecard import content_hash, render_gaps_markdown, validate

_logger = logging.getLogger(__name__)

JOB_CHANNEL = "root.ipai.assessment"
STATUSES = [
    ("implemented", "Implemented"),
    ("partial", "Partial"),
    ("planned", "Planned"),
    ("missing", "Missing"),
    ("not_applicable", "Not applicable"),
    ("unknown", "Unknown"),
]


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")[:60] or "item"


def _norm(text):
    return re.sub(r"[^a-z0-9]+", " ", (text or "").lower()).strip()


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

    @api.depends("check_total", "check_done")
    def _compute_check_progress(self):
        for rec in self:
            rec.check_progress = 100.0 * rec.check_done / rec.check_total if rec.check_total else 0

    @api.model_create_multi
    def create(self, vals_list):
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
        records = super().create(vals_list)
        for rec in records.filtered(lambda r: not r.framework_ids):
            rec.framework_ids = self.env["ipai.waf.framework"].search(
                [("pillar_ids", "!=", False)]
            )
        return records

    def write(self, vals):
        allowed = {"state", "check_done", "check_total", "overall_score", "grade", "status_label"}
        if any(rec.frozen for rec in self) and set(vals) - allowed - {"frozen"}:
            raise UserError(self.env._("A frozen milestone cannot be changed."))
        return super().write(vals)

    @api.model
    def _ensure_job_channel(self):
        """Create root.ipai.assessment and bind the check job to it (idempotent)."""
        Channel = self.env["queue.job.channel"]
        parent = Channel.search([("complete_name", "=", "root")], limit=1)
        for name in ("ipai", "assessment"):
            channel = Channel.search([("name", "=", name), ("parent_id", "=", parent.id)], limit=1)
            parent = channel or Channel.create({"name": name, "parent_id": parent.id})
        Function = self.env["queue.job.function"]
        model = self.env["ir.model"]._get("ipai.waf.finding")
        function = Function.search([("model_id", "=", model.id), ("method", "=", "_job_run_check")])
        if function:
            function.channel_id = parent
        else:
            Function.create({
                "model_id": model.id, "method": "_job_run_check", "channel_id": parent.id,
            })
        return parent

    # ------------------------------------------------------------------ scoring
    def _recompute_scores(self):
        bands = self.env["ipai.waf.grade.band"]._get_bands()
        Score = self.env["ipai.waf.pillar.score"]
        for rec in self:
            rubric = get_rubric(rec.rubric_version or None)
            by_pillar = {}
            for finding in rec.finding_ids:
                control = finding.control_id
                item = FindingInput(finding.status, control.severity, control.weight)
                for pillar in control.pillar_id | control.extra_pillar_ids:
                    by_pillar.setdefault(pillar.id, []).append(item)
            existing = {s.pillar_id.id: s for s in rec.pillar_score_ids}
            framework_scores = []
            frameworks = rec.framework_ids | rec.finding_ids.control_id.pillar_id.framework_id
            for framework in frameworks:
                pillar_inputs = []
                for pillar in framework.pillar_ids:
                    computed = rubric.score_pillar(by_pillar.get(pillar.id, []))
                    score_rec = existing.get(pillar.id)
                    if score_rec:
                        score_rec.computed_score = computed
                    else:
                        score_rec = Score.create({
                            "assessment_id": rec.id, "pillar_id": pillar.id,
                            "computed_score": computed,
                        })
                    if score_rec.has_override or by_pillar.get(pillar.id):
                        pillar_inputs.append(PillarInput(score_rec.score, pillar.weight))
                fw_score = rubric.score_framework(pillar_inputs)
                if fw_score is not None:
                    framework_scores.append(fw_score)
            overall = rubric.score_overall(framework_scores) if framework_scores else None
            grade, label = grade_for(overall or 0.0, bands)
            rec.write({
                "overall_score": overall or 0.0, "grade": grade, "status_label": label,
            })
        return True

    def action_recompute(self):
        self._recompute_scores()
        return True

    # ------------------------------------------------------------------ checks
    def _check_findings(self):
        """Findings of this assessment whose control has an automated check."""
        self.ensure_one()
        Control = self.env["ipai.waf.control"]
        controls = Control.search([("check_key", "!=", False), ("active", "=", True)])
        findings = self.finding_ids.filtered(lambda f: f.control_id.check_key)
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
    def import_report(self, name, content, fmt="markdown"):
        parsers = {
            "markdown": importers.parse_markdown,
            "aws_lens": importers.parse_aws_lens,
            "azure_checklist": importers.parse_azure_checklist,
        }
        if fmt not in parsers:
            raise UserError(self.env._("Unknown import format %s", fmt))
        try:
            report = parsers[fmt](content)
        except importers.ImportFormatError as exc:
            raise UserError(self.env._("The document cannot be read: %s", exc)) from exc
        assessment = self.create({"name": name or report.title or self.env._("Imported")})
        warnings = list(report.warnings)
        warnings += assessment._apply_parsed(report, fmt)
        assessment._recompute_scores()
        if warnings:
            assessment.message_post(body=Markup("<br/>").join(warnings))
        return {"id": assessment.id, "warnings": warnings}

    def _import_controls(self, report, find_pillar, fallback_pillar):
        """Create or update the controls a lens or checklist defines (by code).

        Returns the warnings: a control whose pillar matches none of the catalog is filed
        under ``fallback_pillar``, and that is said.
        """
        warnings = []
        if not report.controls:
            return warnings
        # sudo: importing a lens or checklist is how assessors bring its controls
        # into the catalog; they may not edit the catalog by hand.
        Control = self.env["ipai.waf.control"].sudo().with_context(active_test=False)
        existing = {c.code: c for c in Control.search(
            [("code", "in", [pc.code for pc in report.controls])]
        )}
        to_create = []
        for pc in report.controls:
            vals = {
                "name": pc.name or pc.code, "description": pc.description or False,
                "recommendation": pc.recommendation or False,
                "reference_url": pc.reference_url or False,
            }
            if pc.severity in ("high", "medium", "low"):
                vals["severity"] = pc.severity
            if pc.code in existing:
                existing[pc.code].write(vals)
                continue
            pillar = find_pillar(pc.pillar)
            if not pillar and fallback_pillar:
                pillar = fallback_pillar
                warnings.append(self.env._(
                    "Item %(code)s: no pillar matches %(pillar)s; control filed under "
                    "%(fallback)s",
                    code=pc.code, pillar=pc.pillar, fallback=fallback_pillar.display_name,
                ))
            if pillar:
                to_create.append(dict(vals, code=pc.code, pillar_id=pillar.id))
        Control.create(to_create)
        return warnings

    def _apply_parsed(self, report, fmt):
        """Turn a parsed report into findings and score overrides; return warnings.

        Batched: one search for the codes the document names, one index of control
        names per pillar, one create() for unknown components and one for findings.
        """
        self.ensure_one()
        warnings = []
        Pillar = self.env["ipai.waf.pillar"]
        Control = self.env["ipai.waf.control"].with_context(active_test=False)
        pillars = Pillar.search([("framework_id", "!=", False)])
        pillar_names = {}
        for p in pillars:
            pillar_names.setdefault(p.name, p)
            pillar_names.setdefault(p.code, p)
        pillar_keys = list(pillar_names)
        pillar_cache = {}

        def find_pillar(heading):
            if not heading:
                return Pillar
            if heading not in pillar_cache:
                matched = match_pillar(heading, pillar_keys)
                pillar_cache[heading] = pillar_names.get(matched, Pillar) if matched else Pillar
            return pillar_cache[heading]

        def where(pf):
            if pf.line_no:
                return self.env._("Line %s", pf.line_no)
            return self.env._("Item %s", pf.control_code or pf.component)

        warnings += self._import_controls(report, find_pillar, pillars[:1])

        codes = {pf.control_code for pf in report.findings if pf.control_code}
        by_code = {c.code: c for c in Control.search([("code", "in", list(codes))])} \
            if codes else {}
        name_index = {}

        def by_name(pillar, key):
            if pillar.id not in name_index:
                index = name_index[pillar.id] = {}
                for c in pillar.with_context(active_test=False).control_ids:
                    index.setdefault(_norm(c.name), c)
                    index.setdefault(_norm(c.code), c)
            return name_index[pillar.id].get(key)

        # 1. resolve every finding to a control, or to the code of a control to create
        resolved = []  # (parsed finding, control or None, new code or None)
        new_controls = {}  # code -> vals
        for pf in report.findings:
            control = by_code.get(pf.control_code) if pf.control_code else None
            pillar = find_pillar(pf.pillar)
            if not control and pillar:
                control = by_name(pillar, _norm(pf.component))
                if not control:
                    code = f"IMP-{_slug(pf.component)}"
                    new_controls.setdefault(
                        code, {"code": code, "name": pf.component, "pillar_id": pillar.id}
                    )
                    resolved.append((pf, None, code))
                    continue
            if not control:
                warnings.append(self.env._(
                    "%(where)s: no pillar matches %(pillar)s; finding %(name)s skipped",
                    where=where(pf), pillar=pf.pillar, name=pf.component,
                ))
                continue
            resolved.append((pf, control, None))

        # 2. unknown components become controls of the matched pillar, in one create()
        if new_controls:
            known = {c.code: c for c in Control.search([("code", "in", list(new_controls))])}
            missing = [vals for code, vals in new_controls.items() if code not in known]
            # sudo: an unknown component of an imported report becomes a control of the
            # catalog (each one is reported in the warnings).
            for control in Control.sudo().create(missing):
                known[control.code] = control.sudo(False)
            created = {vals["code"] for vals in missing}
        else:
            known, created = {}, set()

        # 3. one finding per control; duplicates and unreasoned N/A are reported
        finding_vals, first_seen = [], {}
        for pf, control, code in resolved:
            if control is None:
                control = known[code]
                if code in created:
                    created.discard(code)
                    warnings.append(self.env._(
                        "%(where)s: unknown component %(name)s created as control %(code)s",
                        where=where(pf), name=pf.component, code=code,
                    ))
            if control.id in first_seen:
                warnings.append(self.env._(
                    "%(where)s: %(name)s is control %(code)s again (see %(first)s); "
                    "kept the first",
                    where=where(pf), name=pf.component, code=control.code,
                    first=first_seen[control.id],
                ))
                continue
            first_seen[control.id] = where(pf)
            vals = {
                "assessment_id": self.id, "control_id": control.id,
                "status": pf.status or "unknown", "evidence": pf.evidence or False,
                "evidence_url": pf.evidence_url or False, "source": "imported",
                "checked_at": fields.Datetime.now(),
            }
            if vals["status"] == "not_applicable":
                vals["na_reason"] = pf.na_reason or "other"
                if not pf.na_reason:
                    warnings.append(self.env._(
                        "%(where)s: %(name)s is not applicable without a stated reason (out "
                        "of scope, business priorities, architecture constraints); "
                        "recorded as Other",
                        where=where(pf), name=pf.component,
                    ))
            finding_vals.append(vals)
        self.env["ipai.waf.finding"].create(finding_vals)

        # 4. stated pillar scores become assessor overrides (scored by the caller)
        Score = self.env["ipai.waf.pillar.score"]
        existing = {s.pillar_id.id: s for s in self.pillar_score_ids}
        for ps in report.pillar_scores:
            pillar = find_pillar(ps.pillar)
            if not pillar:
                warnings.append(self.env._(
                    "Line %(line)s: score for unknown pillar %(pillar)s ignored",
                    line=ps.line_no, pillar=ps.pillar,
                ))
                continue
            vals = {
                "override_score": ps.score,
                "override_justification": self.env._(
                    "Imported from report (line %s)", ps.line_no
                ),
            }
            if pillar.id in existing:
                existing[pillar.id].write(vals)
            else:
                existing[pillar.id] = Score.create(
                    dict(vals, assessment_id=self.id, pillar_id=pillar.id)
                )
        return warnings + self._import_plan(report, find_pillar)

    def _import_plan(self, report, find_pillar):
        """Risks and roadmap items read from the report's risk and roadmap tables."""
        warnings = []
        if not report.risks and not report.recommendations:
            return warnings
        Pillar = self.env["ipai.waf.pillar"]
        Users = self.env["res.users"]
        owners = {}

        def owner_of(item):
            text = (item.owner or "").strip()
            if not text:
                return False
            if text not in owners:
                users = Users.search(
                    ["|", ("name", "=ilike", text), ("login", "=ilike", text)], limit=2
                )
                owners[text] = users if len(users) == 1 else Users
                if len(users) != 1:
                    warnings.append(self.env._(
                        "Line %(line)s: owner %(owner)s is not one user; left empty",
                        line=item.line_no, owner=text,
                    ))
            return owners[text].id or False

        def pillars_of(item, names):
            found = Pillar
            for name in names:
                pillar = find_pillar(name)
                if pillar:
                    found |= pillar
                else:
                    warnings.append(self.env._(
                        "Line %(line)s: no pillar matches %(pillar)s; left out",
                        line=item.line_no, pillar=name,
                    ))
            if not names and item.context_pillar:
                found = find_pillar(item.context_pillar)  # the heading above the table
            return found

        risk_vals = []
        for risk in report.risks:
            vals = {
                "assessment_id": self.id, "title": risk.title,
                "pillar_id": pillars_of(risk, [risk.pillar] if risk.pillar else [])[:1].id,
                "severity": risk.severity or False, "mitigation": risk.mitigation or False,
                "owner_id": owner_of(risk), "due_date": risk.due_date or False,
            }
            for key in ("likelihood", "impact", "residual_likelihood", "residual_impact"):
                if getattr(risk, key):
                    vals[key] = getattr(risk, key)
            risk_vals.append(vals)
        self.env["ipai.waf.risk"].create(risk_vals)

        rec_vals = []
        for rec in report.recommendations:
            vals = {
                "assessment_id": self.id, "title": rec.title,
                "effort_days": rec.effort_days or 0.0, "owner_id": owner_of(rec),
                "pillar_ids": [Command.set(pillars_of(rec, rec.pillars).ids)],
            }
            for key in ("phase", "priority", "state"):
                if getattr(rec, key):
                    vals[key] = getattr(rec, key)
            rec_vals.append(vals)
        created = self.env["ipai.waf.recommendation"].create(rec_vals)
        by_title = {}
        for record in created:
            by_title.setdefault(_norm(record.title), record)
        for parsed, record in zip(report.recommendations, created, strict=True):
            deps = self.env["ipai.waf.recommendation"]
            for ref in parsed.depends_on:
                match = re.fullmatch(r"#\s*(\d+)", ref.strip())
                dep = created[int(match.group(1)) - 1] if match and \
                    0 < int(match.group(1)) <= len(created) else by_title.get(_norm(ref))
                if dep and dep != record:
                    deps |= dep
                else:
                    warnings.append(self.env._(
                        "Line %(line)s: %(title)s depends on %(ref)s, which is not a "
                        "recommendation of this report; left out",
                        line=parsed.line_no, title=parsed.title, ref=ref,
                    ))
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
        self._recompute_scores()
        self.write({"frozen": True, "state": "done"})
        return True

    def compare(self, other_id):
        self.ensure_one()
        other = self.browse(other_id).exists()
        if not other:
            raise UserError(self.env._("Assessment %s does not exist.", other_id))
        mine = {f.control_id.code: f for f in self.finding_ids}
        theirs = {f.control_id.code: f for f in other.finding_ids}
        new = sorted(set(mine) - set(theirs))
        resolved = sorted(
            code for code in set(mine) & set(theirs)
            if mine[code].status == "implemented" and theirs[code].status != "implemented"
        ) + sorted(set(theirs) - set(mine))
        changed = [
            {"control_code": code, "before": theirs[code].status, "after": mine[code].status}
            for code in sorted(set(mine) & set(theirs))
            if mine[code].status != theirs[code].status
        ]
        other_scores = {s.pillar_id.code: s.score or 0.0 for s in other.pillar_score_ids}
        delta = {
            s.pillar_id.code: round((s.score or 0.0) - other_scores.get(s.pillar_id.code, 0.0), 2)
            for s in self.pillar_score_ids
        }
        return {
            "new": new, "resolved": resolved, "changed": changed, "score_delta": delta,
            "overall_delta": round(self.overall_score - other.overall_score, 2),
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
        created = self.browse()
        for rec in latest.values():
            if rec.date <= cutoff:
                created |= rec._create_next_milestone()
        return created


class IpaiWafFinding(models.Model):
    _name = "ipai.waf.finding"
    _description = "Well-Architected Finding"
    _order = "pillar_id, control_id, id"

    assessment_id = fields.Many2one(
        "ipai.waf.assessment", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="assessment_id.company_id", store=True)
    control_id = fields.Many2one("ipai.waf.control", required=True, ondelete="restrict")
    pillar_id = fields.Many2one(related="control_id.pillar_id", store=True)
    severity = fields.Selection(related="control_id.severity", store=True)
    status = fields.Selection(STATUSES, required=True, default="unknown")
    na_reason = fields.Selection([
        ("out_of_scope", "Out of scope"),
        ("business_priorities", "Business priorities"),
        ("architecture_constraints", "Architecture constraints"),
        ("other", "Other"),
    ], string="Not-applicable reason")
    evidence = fields.Text()
    evidence_url = fields.Char(string="Evidence link")
    source = fields.Selection(
        [("manual", "Manual"), ("automated", "Automated"), ("imported", "Imported")],
        default="manual", required=True,
    )
    carried_over = fields.Boolean(readonly=True)
    checked_at = fields.Datetime()

    _assessment_control_uniq = models.UniqueIndex("(assessment_id, control_id)")

    @api.constrains("status", "na_reason")
    def _check_na_reason(self):
        for rec in self:
            if rec.status == "not_applicable" and not rec.na_reason:
                raise ValidationError(self.env._("A not-applicable finding needs a reason."))

    def _scorecard_dict(self):
        self.ensure_one()
        return {
            "control_code": self.control_id.code, "control_name": self.control_id.name,
            "framework": self.pillar_id.framework_id.code, "pillar": self.pillar_id.code,
            "severity": self.severity, "status": self.status,
            "na_reason": self.na_reason or None, "evidence": self.evidence or "",
            "evidence_url": self.evidence_url or None, "source": self.source,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "recommendation": self.control_id.recommendation or "",
        }

    def _job_run_check(self):
        """Queue job: run the automated check of this finding's control."""
        self.ensure_one()
        registry = self.env["ipai.waf.check.registry"]
        try:
            status, evidence = registry._run(self.control_id.check_key)
        except Exception as exc:  # process boundary: a crashing check must not block
            _logger.exception("Assessment check %s crashed", self.control_id.check_key)
            status, evidence = "unknown", self.env._("Check crashed: %s", repr(exc))
        vals = {"status": status, "evidence": evidence, "source": "automated",
                "checked_at": fields.Datetime.now()}
        if status == "not_applicable":
            vals["na_reason"] = "out_of_scope"
        self.write(vals)
        self.assessment_id._check_finished()
        return status


class IpaiWafPillarScore(models.Model):
    _name = "ipai.waf.pillar.score"
    _description = "Well-Architected Pillar Score"
    _order = "assessment_id, pillar_id"

    assessment_id = fields.Many2one(
        "ipai.waf.assessment", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="assessment_id.company_id", store=True)
    workload = fields.Char(related="assessment_id.workload", store=True)
    milestone = fields.Integer(related="assessment_id.milestone", store=True)
    pillar_id = fields.Many2one("ipai.waf.pillar", required=True, ondelete="cascade")
    framework_id = fields.Many2one(related="pillar_id.framework_id", store=True)
    computed_score = fields.Float(readonly=True, aggregator="avg")
    has_override = fields.Boolean(compute="_compute_score", store=True)
    override_score = fields.Float(aggregator="avg")
    override_justification = fields.Text()
    score = fields.Float(compute="_compute_score", store=True, aggregator="avg")

    _assessment_pillar_uniq = models.UniqueIndex("(assessment_id, pillar_id)")

    @api.depends("computed_score", "override_score", "override_justification")
    def _compute_score(self):
        for rec in self:
            rec.has_override = bool(rec.override_justification)
            rec.score = rec.override_score if rec.has_override else rec.computed_score

    @api.constrains("override_score", "override_justification")
    def _check_override(self):
        for rec in self:
            if rec.override_score and not (rec.override_justification or "").strip():
                raise ValidationError(self.env._("A score override needs a justification."))
            if not 0 <= rec.override_score <= 100:
                raise ValidationError(self.env._("A score is between 0 and 100."))


class IpaiWafRisk(models.Model):
    _name = "ipai.waf.risk"
    _description = "Well-Architected Risk"
    _order = "rating desc, id"

    assessment_id = fields.Many2one(
        "ipai.waf.assessment", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="assessment_id.company_id", store=True)
    title = fields.Char(required=True)
    pillar_id = fields.Many2one("ipai.waf.pillar")
    severity = fields.Selection([("high", "High"), ("medium", "Medium"), ("low", "Low")])
    likelihood = fields.Integer(default=3)
    impact = fields.Integer(default=3)
    residual_likelihood = fields.Integer(default=1)
    residual_impact = fields.Integer(default=1)
    rating = fields.Integer(compute="_compute_rating", store=True)
    level = fields.Char(compute="_compute_rating", store=True)
    residual_rating = fields.Integer(compute="_compute_rating", store=True)
    residual_level = fields.Char(compute="_compute_rating", store=True)
    mitigation = fields.Text()
    owner_id = fields.Many2one("res.users")
    due_date = fields.Date()

    @api.constrains("likelihood", "impact", "residual_likelihood", "residual_impact")
    def _check_scale(self):
        for rec in self:
            values = (rec.likelihood, rec.impact, rec.residual_likelihood, rec.residual_impact)
            if any(v < 1 or v > 5 for v in values):
                raise ValidationError(self.env._("Likelihood and impact range from 1 to 5."))

    @api.depends("likelihood", "impact", "residual_likelihood", "residual_impact")
    def _compute_rating(self):
        for rec in self:
            try:
                rec.rating, rec.level = rate(rec.likelihood, rec.impact)
                rec.residual_rating, rec.residual_level = rate(
                    rec.residual_likelihood, rec.residual_impact
                )
            except ValueError:
                rec.rating = rec.residual_rating = 0
                rec.level = rec.residual_level = False

    def _scorecard_dict(self):
        self.ensure_one()
        return {
            "title": self.title, "pillar": self.pillar_id.code or None,
            "severity": self.severity or None, "likelihood": self.likelihood,
            "impact": self.impact, "rating": self.rating, "level": self.level or "",
            "residual_rating": self.residual_rating, "residual_level": self.residual_level or "",
            "mitigation": self.mitigation or "", "owner": self.owner_id.name or None,
            "due_date": self.due_date.isoformat() if self.due_date else None,
        }


class IpaiWafRecommendation(models.Model):
    _name = "ipai.waf.recommendation"
    _description = "Well-Architected Recommendation"
    _order = "phase, priority, id"

    assessment_id = fields.Many2one(
        "ipai.waf.assessment", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="assessment_id.company_id", store=True)
    title = fields.Char(required=True)
    phase = fields.Selection(
        [("0_30", "0-30 days"), ("30_60", "30-60 days"), ("60_90", "60-90 days"),
         ("later", "Later")], default="0_30", required=True,
    )
    priority = fields.Selection(
        [("P0", "P0"), ("P1", "P1"), ("P2", "P2"), ("P3", "P3")], default="P2", required=True
    )
    effort_days = fields.Float()
    pillar_ids = fields.Many2many("ipai.waf.pillar", string="Pillars")
    depends_on_ids = fields.Many2many(
        "ipai.waf.recommendation", "ipai_waf_recommendation_dep_rel", "rec_id", "dep_id",
        string="Depends on",
    )
    state = fields.Selection(
        [("todo", "To do"), ("doing", "In progress"), ("done", "Done"), ("dropped", "Dropped")],
        default="todo", required=True,
    )
    owner_id = fields.Many2one("res.users")

    def _scorecard_dict(self):
        self.ensure_one()
        return {
            "title": self.title, "phase": self.phase, "priority": self.priority,
            "effort_days": self.effort_days, "pillars": self.pillar_ids.mapped("code"),
            "state": self.state, "owner": self.owner_id.name or None,
            "depends_on": self.depends_on_ids.mapped("title"),
        }


