# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Issue 11: milestones that stay frozen (their grade bands, their frameworks' checks,
Unfreeze with a reason) and the review workflow with its go / no-go decision."""

from odoo.addons.ipai_waf_assessment.engine.grading import (
    DEFAULT_GRADE_BANDS,
    bands_from_data,
    bands_to_data,
    grade_for,
)
from odoo.addons.ipai_waf_assessment.engine.importers import parse_markdown, read_decision
from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tests import BaseCase, TransactionCase, new_test_user, tagged

MANAGER = "ipai_waf_assessment.assessment_group_manager"
USER = "ipai_waf_assessment.assessment_group_user"


class _Common(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(cls.env, login="wallaby_assessor", name="Wally Assessor",
                                 groups=USER)
        cls.manager = new_test_user(cls.env, login="wallaby_manager", name="Marge Manager",
                                    groups=MANAGER)
        cls.framework = cls.env["ipai.waf.framework"].create({
            "code": "WALLABY", "name": "Wallaby framework",
            "pillar_ids": [Command.create({"code": "wres", "name": "Wallaby Resilience"})],
        })
        Control = cls.env["ipai.waf.control"]
        pillar = cls.framework.pillar_ids
        cls.c_high = Control.create({"code": "W-HIGH", "name": "Wallaby backups",
                                     "pillar_id": pillar.id, "severity": "high"})
        cls.c_medium = Control.create({"code": "W-MED", "name": "Wallaby failover",
                                       "pillar_id": pillar.id, "severity": "medium"})

    def _chatter(self, record):
        """Every message of the record's chatter, newest first, as one text."""
        return "\n".join(str(body) for body in record.message_ids.mapped("body"))

    def _assessment(self, name="Wallaby", user=None, **vals):
        """An assessment scoring 80: high implemented (3 x 100) + medium partial (2 x 50)."""
        Assessment = self.env["ipai.waf.assessment"].with_user(user or self.user)
        assessment = Assessment.create(dict({
            "name": name, "workload": name.lower(),
            "framework_ids": [Command.set(self.framework.ids)],
        }, **vals))
        Finding = self.env["ipai.waf.finding"].with_user(user or self.user)
        Finding.create([
            {"assessment_id": assessment.id, "control_id": self.c_high.id,
             "status": "implemented", "evidence": "PITR on, restore tested 2024-02-30?"},
            {"assessment_id": assessment.id, "control_id": self.c_medium.id,
             "status": "partial", "evidence": "runbook Ã  jour, not automated"},
        ])
        assessment.action_recompute()
        return assessment


@tagged("post_install", "-at_install")
class TestMilestoneGradeBands(_Common):
    def test_a_frozen_milestone_keeps_its_bands_after_they_change(self):
        milestone = self._assessment()
        self.assertEqual((milestone.overall_score, milestone.grade), (80.0, "B+"))
        milestone.action_freeze()
        self.assertEqual(milestone.rubric_version, "1.0")
        self.assertEqual(milestone.grade_bands, bands_to_data(
            self.env["ipai.waf.grade.band"]._get_bands()))
        self.assertIn("B+ ≥ 75", milestone.grade_bands_text)

        # The manager tightens the company's bands: 80 is a B from now on.
        Band = self.env["ipai.waf.grade.band"].with_user(self.manager)
        Band.search([("grade", "=", "B+")]).write({"min_score": 82, "label": "Good, tight"})
        Band.search([("grade", "=", "B")]).write({"label": "Needs work (2025 bands)"})

        milestone.invalidate_recordset()
        self.assertEqual((milestone.grade, milestone.status_label, milestone.overall_score),
                         ("B+", "Good, with gaps", 80.0))
        # A manager reopens it to fix a typo, the assessor recomputes and freezes again:
        # the milestone is still graded with the bands it was frozen with.
        milestone.with_user(self.manager).action_unfreeze(reason="typo in the name")
        milestone.with_user(self.user).write({"name": "Wallaby Q1"})
        milestone.with_user(self.user).action_recompute()
        self.assertEqual((milestone.grade, milestone.status_label), ("B+", "Good, with gaps"))
        milestone.with_user(self.user).action_freeze()
        self.assertEqual((milestone.grade, milestone.status_label, milestone.overall_score),
                         ("B+", "Good, with gaps", 80.0))
        self.assertEqual(milestone.grade_bands[3], {
            "min_score": 75.0, "grade": "B+", "label": "Good, with gaps"})

        # A new assessment, same findings, uses the new bands.
        fresh = self._assessment(name="Wallaby next")
        self.assertEqual((fresh.overall_score, fresh.grade, fresh.status_label),
                         (80.0, "B", "Needs work (2025 bands)"))
        self.assertFalse(fresh.grade_bands)

    def test_the_snapshot_and_the_scores_are_not_written_by_hand(self):
        assessment = self._assessment()
        forged = [{"min_score": 0.0, "grade": "A+", "label": "Production ready"}]
        for vals in ({"grade_bands": forged}, {"overall_score": 99.0}, {"grade": "A+"},
                     {"rubric_version": "0.1"}, {"status_label": "Production ready"}):
            with self.subTest(vals=vals), self.assertRaises(UserError):
                # a context key is no key: only the server's own actions write these
                assessment.with_user(self.user).with_context(
                    ipai_waf_trusted=True).write(vals)
        self.assertEqual((assessment.grade, assessment.overall_score), ("B+", 80.0))
        assessment.action_freeze()
        assessment.invalidate_recordset()
        self.assertEqual(assessment.grade_bands, bands_to_data(DEFAULT_GRADE_BANDS))


@tagged("post_install", "-at_install")
class TestRunChecksScope(_Common):
    def test_a_waf_only_assessment_gets_no_lakehouse_or_medallion_finding(self):
        waf = self.env.ref("ipai_waf_assessment.framework_azure_waf")
        others = (self.env.ref("ipai_waf_assessment.framework_databricks_lakehouse")
                  | self.env.ref("ipai_waf_assessment.framework_medallion"))
        Assessment = self.env["ipai.waf.assessment"].with_user(self.user)
        waf_only = Assessment.create({"name": "WAF only", "workload": "waf-only",
                                      "framework_ids": [Command.set(waf.ids)]})
        # a finding of another framework, entered by hand, is left alone
        lake = self.env.ref("ipai_waf_assessment.control_dbx_gov_03")
        manual = self.env["ipai.waf.finding"].with_user(self.user).create({
            "assessment_id": waf_only.id, "control_id": lake.id, "status": "partial",
            "evidence": "seen in the Q1 workshop", "source": "manual"})
        everything = Assessment.create({"name": "All", "workload": "all-frameworks"})
        with trap_jobs() as trap:
            waf_only.action_run_checks()
            everything.action_run_checks()
            trap.perform_enqueued_jobs()
        self.assertEqual((waf_only.state, everything.state), ("done", "done"))
        # the probe is sound: the shipped catalog has checks in the other frameworks
        self.assertTrue(everything.finding_ids.control_id.framework_id & others)
        automated = waf_only.finding_ids.filtered(lambda f: f.source == "automated")
        self.assertTrue(automated)
        self.assertEqual(automated.control_id.framework_id, waf)
        self.assertEqual(waf_only.check_total, len(automated))
        self.assertEqual(waf_only.finding_ids - automated, manual)
        self.assertEqual((manual.status, manual.source, manual.evidence),
                         ("partial", "manual", "seen in the Q1 workshop"))
        # without the hand-made Lakehouse finding, the overall score is the WAF score
        self.env["ipai.waf.finding"].browse(manual.id).unlink()
        waf_only._recompute_scores()
        card = waf_only.export_scorecard()
        scored = [f for f in card["frameworks"] if f["score"] is not None]
        self.assertEqual([f["code"] for f in scored], ["azure_waf"])
        self.assertEqual(waf_only.overall_score, scored[0]["score"])


@tagged("post_install", "-at_install")
class TestUnfreeze(_Common):
    def test_unfreeze_asks_a_manager_for_the_reason(self):
        milestone = self._assessment()
        milestone.action_freeze()
        Wizard = self.env["ipai.waf.unfreeze.wizard"]
        # an Assessment User: neither the wizard nor the method, nor a forged write
        with self.assertRaises(AccessError):
            Wizard.with_user(self.user).create({"assessment_id": milestone.id,
                                                "reason": "I want to"})
        with self.assertRaises(AccessError):
            milestone.with_user(self.user).action_unfreeze(reason="I want to")
        for context in ({"ipai_waf_unfreeze": True}, {"ipai_waf_trusted": True}):
            with self.subTest(context=context), self.assertRaises(UserError):
                milestone.with_user(self.user).with_context(**context).write(
                    {"frozen": False})
        self.assertTrue(milestone.frozen)
        # no reason, no unfreeze
        with self.assertRaises(UserError):
            milestone.with_user(self.manager).action_unfreeze(reason="   ")
        # the button opens the wizard, for managers only
        action = self.env.ref("ipai_waf_assessment.ipai_waf_unfreeze_wizard_action")
        button = f'name="{action.id}"'
        Assessment = self.env["ipai.waf.assessment"]
        self.assertIn(button, Assessment.with_user(self.manager).get_views(
            [(False, "form")])["views"]["form"]["arch"])
        self.assertNotIn(button, Assessment.with_user(self.user).get_views(
            [(False, "form")])["views"]["form"]["arch"])
        wizard = Wizard.with_user(self.manager).with_context(
            active_model="ipai.waf.assessment", active_id=milestone.id,
        ).create({"reason": "évidence was wrong: MFA is enforced since 03/04"})
        self.assertEqual(wizard.assessment_id, milestone)
        wizard.action_confirm()
        self.assertFalse(milestone.frozen)
        body = self._chatter(milestone)
        self.assertIn("Unfrozen by Marge Manager", body)
        self.assertIn("évidence was wrong: MFA is enforced since 03/04", body)

    def test_nobody_fabricates_a_frozen_milestone(self):
        Assessment = self.env["ipai.waf.assessment"].with_user(self.user)
        with self.assertRaises(UserError):
            Assessment.create({"name": "Fake", "frozen": True, "overall_score": 99,
                               "grade": "A+"})
        with self.assertRaises(UserError):
            Assessment.create({"name": "Fake", "review_state": "approved"})
        made = Assessment.with_context(default_frozen=True, default_review_state="approved",
                                       default_grade="A+").create({"name": "Defaults"})
        self.assertEqual((made.frozen, made.review_state, made.grade),
                         (False, "draft", False))


@tagged("post_install", "-at_install")
class TestReviewWorkflow(_Common):
    def test_review_approve_and_request_changes(self):
        assessment = self._assessment()
        mine = assessment.with_user(self.user)
        self.assertEqual(assessment.review_state, "draft")
        with self.assertRaisesRegex(UserError, "Choose a reviewer"):
            mine.action_send_to_review()
        with self.assertRaises(ValidationError):
            mine.reviewer_id = self.user  # not an Assessment Manager
        mine.reviewer_id = self.manager
        mine.action_send_to_review()
        self.assertEqual(assessment.review_state, "in_review")
        sent = assessment.message_ids.filtered(lambda m: "Sent to review" in m.body)
        self.assertIn("Sent to review by Wally Assessor", sent.body)
        self.assertIn("reviewer: Marge Manager", sent.body)
        self.assertEqual(sent.partner_ids, self.manager.partner_id, "the reviewer is told")
        with self.assertRaises(UserError):
            mine.action_send_to_review()

        # the assessor cannot decide on the review, by any door
        for attempt in (
            lambda: mine.action_approve(decision="go"),
            lambda: mine.action_request_changes(reasons="looks fine to me"),
            lambda: self.env["ipai.waf.review.wizard"].with_user(self.user).create(
                {"assessment_id": assessment.id, "mode": "approve", "decision": "go"}),
        ):
            with self.assertRaises(AccessError):
                attempt()
        with self.assertRaises(UserError):
            mine.write({"review_state": "approved", "review_decision": "go"})
        self.assertEqual(assessment.review_state, "in_review")

        Wizard = self.env["ipai.waf.review.wizard"].with_user(self.manager)
        Wizard.create({"assessment_id": assessment.id, "mode": "changes",
                       "reasons": "Attach the restore drill log (2024-11-03, CET)"}
                      ).action_confirm()
        self.assertEqual((assessment.review_state, assessment.reviewed_by_id),
                         ("changes_requested", self.manager))
        body = self._chatter(assessment)
        self.assertIn("Changes requested by Marge Manager", body)
        self.assertIn("restore drill log", body)

        mine.action_send_to_review()
        with self.assertRaisesRegex(UserError, "conditions or the reasons"):
            Wizard.create({"assessment_id": assessment.id, "mode": "approve",
                           "decision": "go_with_conditions"}).action_confirm()
        Wizard.create({"assessment_id": assessment.id, "mode": "approve",
                       "decision": "go_with_conditions",
                       "reasons": "MFA for admins before go-live"}).action_confirm()
        self.assertEqual((assessment.review_state, assessment.review_decision,
                          assessment.review_reasons, assessment.reviewed_by_id),
                         ("approved", "go_with_conditions", "MFA for admins before go-live",
                          self.manager))
        self.assertTrue(assessment.reviewed_at)
        body = self._chatter(assessment)
        self.assertIn("Review approved by Marge Manager", body)
        self.assertIn("Go with conditions", body)
        self.assertIn("MFA for admins before go-live", body)
        with self.assertRaises(UserError):
            assessment.with_user(self.manager).action_approve(decision="go")
        with self.assertRaises(UserError):
            mine.reviewer_id = self.env.ref("base.user_admin")

    def test_a_frozen_milestone_is_reviewed_without_changing(self):
        milestone = self._assessment(reviewer_id=self.manager.id)
        milestone.action_freeze()
        milestone.with_user(self.user).action_send_to_review()
        milestone.with_user(self.manager).action_approve(decision="no_go",
                                                         reasons="no second zone")
        self.assertEqual((milestone.frozen, milestone.review_state, milestone.review_decision),
                         (True, "approved", "no_go"))
        with self.assertRaises(UserError):
            milestone.with_user(self.manager).write({"name": "renamed"})

    def test_nobody_signs_off_their_own_assessment(self):
        other = new_test_user(self.env, login="wallaby_manager2", name="Otto Other",
                              groups=MANAGER)
        # a manager who assesses cannot name themself reviewer, by any order of writes
        assessment = self._assessment(name="Self review", user=self.manager)
        self.assertEqual(assessment.assessor_id, self.manager)
        mine = assessment.with_user(self.manager)
        with self.assertRaisesRegex(ValidationError, "cannot also review it"):
            mine.reviewer_id = self.manager
        mine.reviewer_id = other
        with self.assertRaises(ValidationError):
            mine.assessor_id = other
        mine.action_send_to_review()
        # nor decide on it when the named reviewer is away
        for attempt in (lambda: mine.action_approve(decision="go"),
                        lambda: mine.action_request_changes(reasons="fine by me")):
            with self.assertRaisesRegex(AccessError, "another Assessment Manager"):
                attempt()
        self.assertEqual(assessment.review_state, "in_review")
        assessment.with_user(other).action_approve(decision="go")
        self.assertEqual((assessment.review_state, assessment.reviewed_by_id),
                         ("approved", other))

    def test_unfreezing_withdraws_the_approval(self):
        milestone = self._assessment(reviewer_id=self.manager.id)
        milestone.action_freeze()
        milestone.with_user(self.user).action_send_to_review()
        milestone.with_user(self.manager).action_approve(decision="go")
        milestone.with_user(self.manager).action_unfreeze(reason="pillar score was wrong")
        self.assertEqual((milestone.frozen, milestone.review_state, milestone.review_decision),
                         (False, "draft", False))
        self.assertIn("Its review is withdrawn", self._chatter(milestone))
        # edited, then reviewed again
        milestone.finding_ids.filtered(lambda f: f.status == "partial").with_user(
            self.user).status = "implemented"
        milestone.with_user(self.user).action_send_to_review()
        self.assertEqual(milestone.review_state, "in_review")

    def test_the_stated_decision_is_imported_beside_the_reviewers(self):
        report = ("# Wallaby go-live review\n\n"
                  "âœ… **Production Ready:** yes, with conditions (MFA first)\n\n"
                  "## Wallaby Resilience\n\n| Component | Status |\n|---|---|\n"
                  "| Wallaby backups | ✅ Implemented |\n")
        result = self.env["ipai.waf.assessment"].with_user(self.user).import_report(
            "Imported Wallaby", report, "markdown")
        assessment = self.env["ipai.waf.assessment"].browse(result["id"])
        self.assertEqual(assessment.stated_decision, "go_with_conditions")
        self.assertEqual(assessment.decision,
                         "Production Ready: ✅ yes, with conditions (MFA first)")
        self.assertFalse(assessment.review_decision)
        arch = assessment.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="stated_decision"', arch)
        self.assertIn('name="review_decision"', arch)


@tagged("post_install", "-at_install")
class TestKanbanCard(_Common):
    def test_cards_show_a_coloured_score_bar_the_milestone_and_the_review_state(self):
        assessment = self._assessment()
        self.assertEqual(assessment.grade_colour, "info")  # B+
        colours = {}
        for score in (96, 80, 56, 12):
            grade = grade_for(score, DEFAULT_GRADE_BANDS)[0]
            self.env["ipai.waf.grade.band"].search([]).unlink()
            self.env["ipai.waf.grade.band"].create({"min_score": 0, "grade": grade})
            assessment.action_recompute()
            colours[grade] = assessment.grade_colour
        self.assertEqual(colours, {"A+": "success", "B+": "info", "C": "warning",
                                   "F": "danger"})
        self.env["ipai.waf.grade.band"].search([]).unlink()
        self.env["ipai.waf.grade.band"].create({"min_score": 0, "grade": "Gold"})
        assessment.action_recompute()
        self.assertEqual(assessment.grade_colour, "info", "80 without a letter grade")
        arch = self.env["ipai.waf.assessment"].get_views(
            [(False, "kanban")])["views"]["kanban"]["arch"]
        for part in ("o_waf_score_bar", "record.grade_colour.raw_value",
                     'name="milestone"', 'name="review_state"'):
            self.assertIn(part, arch)
        search = self.env["ipai.waf.assessment"].get_views(
            [(False, "search")])["views"]["search"]["arch"]
        for state in ("draft", "in_review", "approved", "changes_requested"):
            self.assertIn(f"('review_state', '=', '{state}')", search)


class TestDecisionReading(BaseCase):
    """Verdicts as real reports write them, read as go / go with conditions / no-go."""

    def test_messy_verdicts(self):
        for label, verdict, expected in (
            ("Go-Live Status", "✅ **APPROVED** with conditions (close the two gaps first)",
             "go_with_conditions"),
            ("Go-Live Status", "APPROVED with conditions", "go_with_conditions"),
            ("Go-Live Decision", "NO-GO", "no_go"),
            ("Go-Live Decision", "**NO-GO** ❌ until RLS is fixed", "no_go"),
            ("Production Ready", "Yes", "go"),
            ("production ready", "yes", "go"),
            ("Production Ready", "No", "no_go"),
            ("Production Ready", "âœ…", "go"),
            ("go-live status", "âœ… approved", "go"),
            ("Go-Live Status", "âš ï¸ APPROVED", "go_with_conditions"),
            ("Verdict", "NOT production ready", "no_go"),
            ("Verdict", "Not approved", "no_go"),
            ("Decision", "conditionally approved, pending the DR test", "go_with_conditions"),
            ("Décision", "Approuvé sous réserve", "go_with_conditions"),
            ("Decisión", "Aprobado con condiciones", "go_with_conditions"),
            ("Go/No-Go", "GO", "go"),
            ("Status", "in progress", None),
            ("Status", "", None),
        ):
            with self.subTest(label=label, verdict=verdict):
                self.assertEqual(read_decision(verdict, label), expected)

    def test_reports_state_their_decision(self):
        pillars = [("security", "Security", ())]
        table = "\n\n## Security\n\n| Component | Status |\n|---|---|\n| MFA | ✅ |\n"
        for intro, decision, code in (
            ("**Go-Live Decision:** NO-GO", "Go-Live Decision: NO-GO", "no_go"),
            ("**GO-LIVE STATUS: ✅ APPROVED WITH CONDITIONS**",
             "GO-LIVE STATUS: ✅ APPROVED WITH CONDITIONS", "go_with_conditions"),
            ("âœ… **Production Ready:** Yes", "Production Ready: ✅ Yes", "go"),
            ("Production Ready: No", "Production Ready: No", "no_go"),
            # an unreadable status first, the real decision later: the decision wins
            ("**Status:** under review\n\ngo-live status: approved",
             "go-live status: approved", "go"),
            ("**Status:** under review", "Status: under review", None),
        ):
            with self.subTest(intro=intro):
                report = parse_markdown("# Report\n\n" + intro + table, pillars)
                self.assertEqual((report.decision, report.decision_code), (decision, code))
                self.assertEqual(report.warnings, [])

    def test_band_snapshots_round_trip_and_refuse_dirty_data(self):
        data = bands_to_data(reversed(DEFAULT_GRADE_BANDS))
        self.assertEqual(data[0], {"min_score": 95.0, "grade": "A+",
                                   "label": "Production ready"})
        self.assertEqual(bands_from_data(data), DEFAULT_GRADE_BANDS)
        for dirty in (None, [], "A+", [{"grade": "A"}], [{"min_score": "90", "grade": "A"}],
                      [{"min_score": True, "grade": "A"}], [{"min_score": 90}]):
            with self.subTest(dirty=dirty), self.assertRaises(ValueError):
                bands_from_data(dirty)
