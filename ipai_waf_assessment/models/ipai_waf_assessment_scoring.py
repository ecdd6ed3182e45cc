# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import logging

from odoo import models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..engine.grading import bands_from_data, grade_for
from ..engine.rubric import FindingInput, PillarInput, get_rubric

_logger = logging.getLogger(__name__)

JOB_CHANNEL = "root.ipai.assessment"


class IpaiWafAssessmentScoring(models.AbstractModel):
    """The assessment's scores (its rubric and grade bands) and its automated checks, run
    as queue jobs. Part of ``ipai.waf.assessment``, which inherits it."""

    _name = "ipai.waf.assessment.scoring"
    _description = "Assessment: scores and automated checks"

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

