# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Reviewers' results applied to an imported lens or checklist: the Azure automated
results file (checklist_graph.sh -f=json) and AWS answers (questionResponses,
list-answers output), written exactly as those tools write them."""

import base64
import json
from pathlib import Path

from odoo.addons.ipai_waf_assessment.engine.importers import (
    ImportFormatError,
    parse_aws_answers,
    parse_azure_results,
)
from odoo.exceptions import UserError
from odoo.tests import BaseCase, TransactionCase, new_test_user, tagged

DATA = Path(__file__).resolve().parent / "data"
G1, G2, G3, G4 = ("6513270e-269e-0d37-f2a7-4de452e6b438", "d23f0824-128b-2f33-0c5c-7fd0a6a3a450",
                  "9531985d-5d9d-c9f8-1818-e811892f902b", "8d116ece-1738-f7d9-3d9c-172411e20b8f")


def graph_results(*checks):
    """The JSON checklist_graph.sh writes: compliant is a string, one entry per resource."""
    return json.dumps({"metadata": {"format": "json", "timestamp": "Thu Dec  3 09:12:44 CET 2026"},
                       "checks": list(checks)})


def check(guid, compliant, rid):
    return {"guid": guid, "compliant": compliant,
            "id": f"/subscriptions/0000/resourceGroups/rg-prod/providers/Microsoft.Web/sites/{rid}"}


LENS_QUESTIONS = {
    "SEC1": [{"id": "sec1_sso", "title": "SSO"}, {"id": "sec1_mfa", "title": "MFA"},
             {"id": "sec1_no", "title": "None of these"}],
    "SEC2": [{"id": "sec2_kms", "title": "KMS"}, {"id": "sec2_no", "title": "None of these"}],
    "NET1": [{"id": "net1_vpc", "title": "VPC"}, {"id": "net1_no", "title": "None of these"}],
}


@tagged("post_install", "-at_install")
class TestResultParsers(BaseCase):
    def test_azure_graph_results_per_resource(self):
        results, warnings = parse_azure_results(graph_results(
            check(G1, "true", "app-a"), check(G1, "true", "app-b"),
            check(G2.upper(), "false", "app-a"),  # guids compared without case
            check(G3, "true", "app-a"), check(G3, "false", "app-b"),
            check(G4, "undefined", "app-a"),
            {"guid": None, "compliant": "true"}, "not an object",
            {"guid": G1, "compliant": "maybe"},
        ))
        self.assertEqual({g: r[0] for g, r in results.items()}, {
            G1: "implemented", G2: "missing", G3: "partial", G4: "unknown"})
        self.assertIn("Non-compliant (1): /subscriptions/0000/resourceGroups/rg-prod/providers/"
                      "Microsoft.Web/sites/app-b", results[G3][1])
        self.assertEqual(len(warnings), 4)  # no guid, not an object, 'maybe', G4 undefined

    def test_azure_older_success_failure_shape_and_booleans(self):
        text = json.dumps({"checks": [
            {"guid": G1, "success": "None", "failure": "akstest2/aks2,akstest/aks"},
            {"guid": G2, "success": "akstest/aks", "failure": "None"},
            {"guid": G3, "compliant": False, "id": "x"}, {"guid": G3, "compliant": True, "id": "y"},
        ]})
        results, _warnings = parse_azure_results(text)
        self.assertEqual({g: r[0] for g, r in results.items()},
                         {G1: "missing", G2: "implemented", G3: "partial"})
        self.assertIn("akstest2/aks2, akstest/aks", results[G1][1])

    def test_azure_results_that_are_not_results_are_refused(self):
        for text in ("", "[]", '{"items": []}', '{"checks": [{"compliant": "true"}]}', "{bad"):
            with self.subTest(text=text), self.assertRaises(ImportFormatError):
                parse_azure_results(text)

    def test_aws_question_responses_and_list_answers(self):
        # a wizard-made questionResponses file, choices as the lens names them
        results, warnings = parse_aws_answers(json.dumps({"questionResponses": [
            {"questionId": "SEC1", "choices": ["sec1_sso"]},
            {"questionId": "SEC2", "choices": ["sec2_no"]},
            {"questionId": "NET1", "choices": ["net1_vpc"]},
            {"questionId": "OPS9", "choices": ["x"]},
        ]}), LENS_QUESTIONS)
        self.assertEqual({q: r[0] for q, r in results.items()},
                         {"SEC1": "partial", "SEC2": "missing", "NET1": "implemented"})
        self.assertTrue(any("OPS9" in w for w in warnings))
        # `aws wellarchitected list-answers` output: PascalCase, risk and applicability
        results, warnings = parse_aws_answers(json.dumps({
            "WorkloadId": "a1b2c3", "LensAlias": "arn:aws:wellarchitected:eu-west-1::lens/x",
            "MilestoneNumber": 2, "AnswerSummaries": [
                {"QuestionId": "SEC1", "PillarId": "sec", "QuestionTitle": "How?",
                 "SelectedChoices": ["sec1_sso", "sec1_mfa"], "IsApplicable": True,
                 "Risk": "NONE"},
                {"QuestionId": "SEC2", "SelectedChoices": [], "IsApplicable": True,
                 "Risk": "HIGH"},
                {"QuestionId": "NET1", "SelectedChoices": [], "IsApplicable": False,
                 "Risk": "NOT_APPLICABLE", "Reason": "ARCHITECTURE_CONSTRAINTS"},
            ]}), LENS_QUESTIONS)
        self.assertEqual(results, {
            "SEC1": ("implemented", "Selected: SSO; MFA\nAWS risk: NONE", None),
            "SEC2": ("missing", "AWS risk: HIGH", None),
            "NET1": ("not_applicable", "AWS risk: NOT_APPLICABLE", "architecture_constraints"),
        })

    def test_aws_malformed_answers_are_warnings(self):
        results, warnings = parse_aws_answers(json.dumps({"answers": [
            {"questionId": "SEC1", "choiceAnswers": 3},  # a number, as seen in the wild
            {"questionId": "SEC2", "selectedChoices": "sec2_kms"},
            {"choices": ["x"]},
        ]}), LENS_QUESTIONS)
        self.assertEqual({q: r[0] for q, r in results.items()},
                         {"SEC1": "unknown", "SEC2": "unknown"})
        self.assertGreaterEqual(len(warnings), 3)
        with self.assertRaises(ImportFormatError):
            parse_aws_answers('{"Answer": {}}', LENS_QUESTIONS)

    def test_aws_lens_imported_without_choices_lets_the_risk_decide(self):
        results, _warnings = parse_aws_answers(json.dumps({"AnswerSummaries": [
            {"QuestionId": "SEC1", "SelectedChoices": ["sec1_sso"], "Risk": "MEDIUM"}]}),
            {"SEC1": []})
        self.assertEqual(results["SEC1"][0], "partial")


@tagged("post_install", "-at_install")
class TestApplyResults(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Assessment = cls.env["ipai.waf.assessment"]
        cls.user = new_test_user(
            cls.env, login="results_user", groups="ipai_waf_assessment.assessment_group_user")

    def _status(self, assessment, item):
        finding = assessment.finding_ids.filtered(
            lambda f: f.control_id.code.lower().endswith(":" + item.lower()))
        self.assertEqual(len(finding), 1, item)
        return finding.status

    def test_azure_results_update_the_checklist_findings(self):
        text = (DATA / "azure_checklist_app_service.json").read_text(encoding="utf-8")
        Assessment = self.Assessment.with_user(self.user)
        assessment = Assessment.browse(
            Assessment.import_report("AppSvc", text, "azure_checklist")["id"])
        before = (self._status(assessment, G1), self._status(assessment, G2),
                  assessment.overall_score)
        self.assertEqual(before[:2], ("unknown", "missing"))
        wizard = self.env["ipai.waf.results.wizard"].with_user(self.user).create({
            "assessment_id": assessment.id, "fmt": "azure_results",
            "file": base64.b64encode(graph_results(
                check(G1, "true", "app-a"), check(G2, "true", "app-a"), check(G2, "false", "app-b"),
                check(G3, "undefined", "app-a"),
                check("00000000-0000-0000-0000-000000000000", "true", "app-a"),
            ).encode("utf-16")),  # a PowerShell redirect writes UTF-16 with a BOM
        })
        wizard.action_apply()
        self.assertEqual((self._status(assessment, G1), self._status(assessment, G2)),
                         ("implemented", "partial"))
        self.assertEqual(self._status(assessment, G3), "implemented")  # undefined: kept
        finding = assessment.finding_ids.filtered(lambda f: f.control_id.code.endswith(G2))
        self.assertEqual(finding.source, "automated")
        self.assertIn("app-b", finding.evidence)
        self.assertNotEqual(assessment.overall_score, before[2])
        chatter = assessment.message_ids.mapped("body")
        self.assertTrue(any("2 finding(s) updated" in b and "00000000-0000" in b for b in chatter))

    def test_aws_answers_applied_to_an_imported_lens(self):
        lens = json.loads((DATA / "aws_lens_serverless.json").read_text(encoding="utf-8"))
        lens.pop("answers")  # the lens as published: no answers yet
        assessment = self.Assessment.browse(
            self.Assessment.import_report("Serverless", json.dumps(lens), "aws_lens")["id"])
        self.assertEqual(set(assessment.finding_ids.mapped("status")), {"unknown"})
        result = assessment.apply_results(json.dumps({"questionResponses": [
            {"questionId": "SEC1", "choices": ["sec1_sso", "sec1_mfa"]},
            {"questionId": "SEC2", "choices": ["sec2_no"]},
            {"questionId": "SUS1", "choices": ["sus1_auto"]},
        ]}), "aws_answers")
        self.assertEqual(result["updated"], 3)
        self.assertEqual([self._status(assessment, q) for q in ("SEC1", "SEC2", "SUS1", "NET1")],
                         ["implemented", "missing", "implemented", "unknown"])

    def test_refusals(self):
        markdown = self.Assessment.browse(self.Assessment.import_report(
            "Md", "## Reliability\n\n| Component | Status |\n|---|---|\n| Backups | ✅ Done |\n",
            "markdown")["id"])
        with self.assertRaisesRegex(UserError, "no finding imported from an Azure"):
            markdown.apply_results(graph_results(check(G1, "true", "a")), "azure_results")
        text = (DATA / "azure_checklist_app_service.json").read_text(encoding="utf-8")
        assessment = self.Assessment.browse(self.Assessment.import_report("A", text,
                                                                          "azure_checklist")["id"])
        with self.assertRaisesRegex(UserError, "cannot be read"):
            assessment.apply_results(text, "azure_results")  # the checklist, not its results
        assessment.action_freeze()
        with self.assertRaises(UserError):
            assessment.apply_results(graph_results(check(G1, "true", "a")), "azure_results")
        self.assertEqual(self._status(assessment, G1), "unknown")


@tagged("post_install", "-at_install")
class TestShippedAliases(TransactionCase):
    def test_an_update_brings_shipped_aliases_and_keeps_a_managers_own(self):
        from odoo.tools.convert import convert_file  # noqa: PLC0415 - Odoo's data loader

        rls = self.env.ref("ipai_waf_assessment.control_az_sec_04")
        # a database of the version before: aliases edited by a manager, none shipped
        rls.write({"aliases": "Politiques RLS maison", "shipped_aliases": False})
        report = ("## Security\n\n| Component | Status |\n|---|---|\n"
                  "| Supabase RLS | ✅ Implemented |\n| Politiques RLS maison | ⚠️ Partial |\n")
        plan = self.env["ipai.waf.assessment"].preview_report(report)
        rows = [(r["control_code"], r["match"]) for r in plan["findings"]]
        self.assertNotEqual(rows[0], ("AZ-SEC-04", "name"))  # the shipped alias is unknown
        self.assertEqual(rows[1], ("AZ-SEC-04", "name"))  # the manager's own one matches
        convert_file(self.env, "ipai_waf_assessment", "data/ipai_waf_catalog_aliases.xml",
                     {}, mode="update", noupdate=False)
        self.assertIn("Supabase RLS", rls.shipped_aliases)
        self.assertEqual(rls.aliases, "Politiques RLS maison")
        plan = self.env["ipai.waf.assessment"].preview_report(report)
        self.assertEqual([(r["control_code"], r["match"]) for r in plan["findings"]],
                         [("AZ-SEC-04", "name"), ("AZ-SEC-04", "name")])
