# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import logging

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..engine.grading import bands_to_data
from ..engine.rubric import RUBRIC_VERSION
from ..engine.vocabulary import CLOSED_STATUSES

_logger = logging.getLogger(__name__)

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


class IpaiWafAssessmentReview(models.AbstractModel):
    """Milestones (freeze, Unfreeze, the next one, compare) and the review workflow.
    Part of ``ipai.waf.assessment``, which inherits it."""

    _name = "ipai.waf.assessment.review"
    _description = "Assessment: milestones and review"

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

