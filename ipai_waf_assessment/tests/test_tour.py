# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import os
from unittest.mock import patch

from odoo.fields import Command
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestAssessmentTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ipai.waf.framework"].create({
            "code": "TOUR", "name": "Tour framework",
            "pillar_ids": [Command.create({"code": "tres", "name": "Tour Resilience"})],
        })
        cls.env["ipai.waf.control"].create({
            "code": "TOUR-LISTDB", "name": "Tour database manager hidden",
            "pillar_id": cls.env["ipai.waf.pillar"].search([("code", "=", "tres")]).id,
            "check_key": "db_manager_hidden",
        })

    def test_tour_import_run_checks(self):
        # No job runner inside HttpCase: queue_job's documented switch runs each check job
        # at once (the job code itself is exercised unchanged).
        with patch.dict(os.environ, {"QUEUE_JOB__NO_DELAY": "1"}):
            self.start_tour("/odoo", "ipai_waf_assessment_tour", login="admin", timeout=180)
        assessment = self.env["ipai.waf.assessment"].search(
            [("name", "=", "Tour assessment")], limit=1)
        self.assertTrue(assessment, "the tour imported the report")
        self.assertTrue(assessment.finding_ids)
        self.assertEqual(assessment.state, "done")
        self.assertEqual(assessment.check_done, assessment.check_total)
        self.assertGreaterEqual(assessment.check_total, 1)
        checked = assessment.finding_ids.filtered(lambda f: f.control_id.code == "TOUR-LISTDB")
        self.assertEqual(checked.source, "automated")
        # the preview's changed match: the failover row went to the checked control,
        # so no control "Tour failover" was created
        self.assertFalse(self.env["ipai.waf.control"].search([("name", "=", "Tour failover")]))
        self.assertTrue(assessment.finding_ids.filtered(
            lambda f: f.control_id.name == "Tour backups" and f.status == "implemented"))


@tagged("post_install", "-at_install")
class TestDashboardTour(HttpCase):
    def test_tour_dashboard_is_the_first_screen(self):
        self.env["ipai.waf.assessment"]._create_demo_this_odoo()
        self.start_tour("/odoo", "ipai_waf_dashboard_tour", login="admin", timeout=180)


@tagged("post_install", "-at_install")
class TestReviewTour(HttpCase):
    def test_tour_comment_with_evidence_send_to_review_and_approve(self):
        assessment = self.env["ipai.waf.assessment"]._create_demo_this_odoo()
        new_test_user(self.env, login="waf_assessor", name="Ada Assessor",
                      groups="ipai_waf_assessment.assessment_group_user")
        new_test_user(self.env, login="waf_reviewer", name="Marge Reviewer",
                      groups="ipai_waf_assessment.assessment_group_manager")
        self.start_tour("/odoo", "ipai_waf_review_assessor_tour", login="waf_assessor",
                        timeout=180)
        self.assertEqual((assessment.review_state, assessment.reviewer_id.name),
                         ("in_review", "Marge Reviewer"))
        # the comment and the file are on the finding the assessor opened
        finding = assessment.finding_ids.filtered(lambda f: f.message_attachment_count)
        self.assertEqual(len(finding), 1)
        note = finding.message_ids.filtered(lambda m: "Restore drill passed" in (m.body or ""))
        self.assertEqual(note.author_id.name, "Ada Assessor")
        files = self.env["ir.attachment"].search([("res_model", "=", "ipai.waf.finding"),
                                                  ("res_id", "=", finding.id)])
        self.assertEqual(files.mapped("name"), ["restore-drill.log"])
        self.assertEqual(files.raw, b"RTO 14 min\n")
        self.start_tour("/odoo", "ipai_waf_review_manager_tour", login="waf_reviewer",
                        timeout=180)
        self.assertEqual((assessment.review_state, assessment.review_decision),
                         ("approved", "go_with_conditions"))
        self.assertIn("Rotate the admin passwords", assessment.review_reasons)
