# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Plain tests of the exporters (no database): the AWS lens and Azure checklist formats as
published, the status mappings, and the way back through the importers."""

import json
import re

from odoo.addons.ipai_waf_assessment.engine.exporters import (
    AWS_STATUS_MAPPING,
    AZURE_STATUS_MAPPING,
    ExportError,
    ExportFinding,
    checklist_problems,
    export_aws_lens,
    export_azure_checklist,
    lens_problems,
    shared_source_name,
)
from odoo.addons.ipai_waf_assessment.engine.exporters.aws_lens import (
    evaluate_condition,
    question_risk,
)
from odoo.addons.ipai_waf_assessment.engine.importers import (
    parse_aws_lens,
    parse_azure_checklist,
)
from odoo.tests import BaseCase

ID = re.compile(r"^[A-Za-z0-9_]{3,128}$")


def _finding(code, status, **kw):
    vals = {"name": f"Control {code}", "pillar_code": "reliability",
            "pillar_name": "Reliability", "severity": "high"}
    vals.update(kw)
    return ExportFinding(code=code, status=status, **vals)


# Every status, every not-applicable reason, every severity, messy text.
MESSY = [
    _finding("AZ-REL-01", "implemented", evidence="PITR on, see runbook",
             evidence_url="https://wiki.example.com/pitr", reference_url="https://learn.microsoft.com/x"),
    _finding("AZ-REL-02", "partial", severity="medium", evidence="only prod â€” not staging"),
    _finding("AZ-REL-03", "planned", severity="low", evidence="Q4 2026"),
    _finding("AZ-REL-04", "missing", evidence=""),
    _finding("AZ-SEC-01", "not_applicable", na_reason="out_of_scope", pillar_code="security",
             pillar_name="Security", evidence="handled by the platform team"),
    _finding("AZ-SEC-02", "not_applicable", na_reason="business_priorities",
             pillar_code="security", pillar_name="Security"),
    _finding("AZ-SEC-03", "not_applicable", na_reason="architecture_constraints",
             pillar_code="security", pillar_name="Security", severity="low"),
    _finding("AZ-SEC-04", "not_applicable", na_reason=None, pillar_code="security",
             pillar_name="Security"),
    _finding("AZ-COST-01", "unknown", pillar_code="cost_optimization",
             pillar_name="Cost Optimization", severity="medium",
             name="Réservations pour la charge stable " * 8),  # 280 characters
]


class TestAwsLensExport(BaseCase):
    def _lens(self, **kw):
        return export_aws_lens(MESSY, "Azure Well-Architected Framework", **kw).document

    def test_lens_follows_the_published_format(self):
        lens = self._lens()
        self.assertEqual(lens_problems(lens), [])
        self.assertEqual(lens["schemaVersion"], "2021-11-01")
        self.assertEqual([p["id"] for p in lens["pillars"]],
                         ["reliability", "security", "costOptimization"],
                         "the Well-Architected pillars keep AWS's own pillar ids")
        for pillar in lens["pillars"]:
            for question in pillar["questions"]:
                self.assertRegex(question["id"], ID)
                self.assertLessEqual(len(question["title"]), 128)
                self.assertLessEqual(len(question["riskRules"]), 3)
                self.assertEqual(sum(r["condition"] == "default"
                                     for r in question["riskRules"]), 1)
                for choice in question["choices"]:
                    self.assertRegex(choice["id"], ID)
                    if not choice["id"].endswith("_no"):
                        self.assertTrue(choice["improvementPlan"]["displayText"])
        by_id = {q["id"]: q for p in lens["pillars"] for q in p["questions"]}
        self.assertIn("AZ_REL_01", by_id, "dashes are not allowed in ids")
        long_one = by_id["AZ_COST_01"]
        self.assertEqual(len(long_one["title"]), 128)
        self.assertTrue(long_one["description"].startswith("Réservations"),
                        "the full name is kept in the description")
        self.assertEqual(by_id["AZ_REL_01"]["helpfulResource"]["url"],
                         "https://learn.microsoft.com/x")

    def test_status_mapping_and_risks(self):
        lens = self._lens()
        answers = {a["questionId"]: a for a in lens["answers"]}
        by_id = {q["id"]: q for p in lens["pillars"] for q in p["questions"]}
        self.assertNotIn("AZ_COST_01", answers, "unknown is AWS's UNANSWERED: no answer")
        self.assertEqual(answers["AZ_REL_01"]["selectedChoices"],
                         ["AZ_REL_01_part", "AZ_REL_01_all"])
        self.assertEqual(answers["AZ_REL_01"]["risk"], "NONE")
        self.assertEqual(answers["AZ_REL_02"]["selectedChoices"], ["AZ_REL_02_part"])
        self.assertEqual(answers["AZ_REL_02"]["risk"], "MEDIUM")
        self.assertEqual(answers["AZ_REL_03"]["selectedChoices"], ["AZ_REL_03_no"])
        self.assertTrue(answers["AZ_REL_03"]["notes"].startswith("Planned."))
        self.assertEqual(answers["AZ_REL_04"]["risk"], "HIGH")
        self.assertEqual(
            [(answers[q]["isApplicable"], answers[q]["reason"]) for q in
             ("AZ_SEC_01", "AZ_SEC_02", "AZ_SEC_03", "AZ_SEC_04")],
            [(False, "OUT_OF_SCOPE"), (False, "BUSINESS_PRIORITIES"),
             (False, "ARCHITECTURE_CONSTRAINTS"), (False, "OTHER")])
        self.assertIn("https://wiki.example.com/pitr", answers["AZ_REL_01"]["notes"])
        # the risk written is the one AWS computes from the lens's own rules
        for qid, answer in answers.items():
            if answer["isApplicable"]:
                rule_risk = question_risk(by_id[qid], answer["selectedChoices"])
                self.assertEqual({"NO_RISK": "NONE", "MEDIUM_RISK": "MEDIUM",
                                  "HIGH_RISK": "HIGH"}[rule_risk], answer["risk"], qid)

    def test_the_importer_reads_back_the_documented_mapping(self):
        text = export_aws_lens(MESSY, "Azure Well-Architected Framework").dumps()
        report = parse_aws_lens(text)
        got = {f.control_code: (f.status, f.na_reason) for f in report.findings}
        expected = {}
        for finding in MESSY:
            qid = finding.code.replace("-", "_")
            back = AWS_STATUS_MAPPING[finding.status][1]
            reason = (finding.na_reason or "other") if back == "not_applicable" else None
            expected[qid] = (back, reason)
        self.assertEqual(got, expected)
        self.assertEqual(got["AZ_REL_03"], ("missing", None), "planned comes back as missing")
        severities = {c.code: c.severity for c in report.controls}
        self.assertEqual(severities["AZ_REL_01"], "high")
        self.assertEqual(severities["AZ_REL_02"], "medium")
        self.assertEqual(severities["AZ_REL_03"], "low")
        self.assertEqual({f.pillar for f in report.findings},
                         {"Reliability", "Security", "Cost Optimization"})
        self.assertEqual(report.source, "aws_lens:azure-well-architected-framework")

    def test_lens_alone_has_no_answers(self):
        lens = self._lens(answers=False)
        self.assertNotIn("answers", lens)
        report = parse_aws_lens(json.dumps(lens))
        self.assertEqual({f.status for f in report.findings}, {"unknown"})

    def test_limits_are_refused_with_a_reason(self):
        many_pillars = [_finding(f"P{i}-1", "missing", pillar_code=f"pillar_{i}",
                                 pillar_name=f"Pillar {i}") for i in range(11)]
        with self.assertRaises(ExportError) as caught:
            export_aws_lens(many_pillars, "Too wide")
        self.assertEqual((caught.exception.limit, caught.exception.count), (10, 11))
        many_questions = [_finding(f"Q-{i}", "missing") for i in range(21)]
        with self.assertRaises(ExportError) as caught:
            export_aws_lens(many_questions, "Too long")
        self.assertIn("Azure review checklist", str(caught.exception))
        with self.assertRaises(ExportError):
            export_aws_lens([], "Empty")

    def test_colliding_and_short_ids_stay_unique(self):
        findings = [_finding("A-1", "missing"), _finding("A_1", "implemented"),
                    _finding("x", "partial"), _finding("☃", "missing"),
                    _finding("Z" * 300, "missing")]
        result = export_aws_lens(findings, "Ids")
        ids = [q["id"] for p in result.document["pillars"] for q in p["questions"]]
        self.assertEqual(len({i.lower() for i in ids}), 5)
        self.assertTrue(all(ID.match(i) and ID.match(i + "_part") for i in ids), ids)
        self.assertTrue(result.notes, "renamed ids are reported")

    def test_source_ids_come_back(self):
        lensed = [_finding("aws_lens:erp-lens:erp_rel_backup", "missing",
                           source="aws_lens:erp-lens")]
        lens = export_aws_lens(lensed, "Erp Lens").document
        self.assertEqual(lens["pillars"][0]["questions"][0]["id"], "erp_rel_backup")
        self.assertEqual(shared_source_name(lensed, "aws_lens"), "Erp Lens")
        self.assertIsNone(shared_source_name(lensed + MESSY[:1], "aws_lens"))

    def test_condition_evaluator(self):
        self.assertTrue(evaluate_condition("a && b", {"a", "b"}))
        self.assertFalse(evaluate_condition("a && !b", {"a", "b"}))
        self.assertTrue(evaluate_condition("((a || b) && c) || (!a && c)", {"c"}))
        self.assertTrue(evaluate_condition("default", set()))
        with self.assertRaises(ValueError):
            evaluate_condition("a && (b", {"a"})


class TestAzureChecklistExport(BaseCase):
    def test_checklist_shape_and_statuses(self):
        result = export_azure_checklist(MESSY, "ERP review", timestamp="July 01, 2026")
        doc = result.document
        self.assertEqual(checklist_problems(doc), [])
        self.assertEqual(doc["status"][0]["name"], "Not verified", "the default comes first")
        self.assertEqual({s["name"] for s in doc["status"]},
                         {"Not verified", "Open", "Fulfilled", "N/A", "Not required"})
        items = {i["id"]: i for i in doc["items"]}
        self.assertEqual(
            {code: items[code]["status"] for code in items},
            {"AZ-REL-01": "Fulfilled", "AZ-REL-02": "Open", "AZ-REL-03": "Open",
             "AZ-REL-04": "Open", "AZ-SEC-01": "Not required", "AZ-SEC-02": "Not required",
             "AZ-SEC-03": "N/A", "AZ-SEC-04": "Not required", "AZ-COST-01": "Not verified"})
        self.assertTrue(items["AZ-REL-02"]["comments"].startswith("Partial."))
        self.assertTrue(items["AZ-REL-03"]["comments"].startswith("Planned."))
        self.assertEqual(items["AZ-REL-01"]["severity"], "High")
        self.assertEqual(items["AZ-REL-01"]["waf"], "Reliability")
        for item in doc["items"]:
            for key in ("category", "subcategory", "text", "guid", "severity"):
                self.assertTrue(item[key], key)
        # stable guids: the next milestone's export has the same ones
        again = export_azure_checklist(MESSY, "ERP review").document
        self.assertEqual([i["guid"] for i in again["items"]], [i["guid"] for i in doc["items"]])
        self.assertEqual(doc["metadata"], {"name": "ERP review", "timestamp": "July 01, 2026"})

    def test_the_importer_reads_back_the_documented_mapping(self):
        report = parse_azure_checklist(export_azure_checklist(MESSY, "ERP review").dumps())
        got = {f.component: (f.status, f.na_reason) for f in report.findings}
        expected = {}
        for finding in MESSY:
            back = AZURE_STATUS_MAPPING[finding.status][1]
            reason = (finding.na_reason if back == "not_applicable" else None)
            expected[finding.name.strip()] = (back, reason)
        self.assertEqual(got, expected)
        self.assertEqual({f.pillar for f in report.findings},
                         {"Reliability", "Security", "Cost Optimization"})
        self.assertEqual(report.source, "azure_checklist:erp-review")

    def test_checklist_items_keep_their_guid_and_categories(self):
        guid = "9c3d1c0e-5b7a-4e4b-9f2a-1f0c2d3e4a51"
        source = "azure_checklist:erp-platform-review"
        finding = _finding(f"{source}:{guid}", "implemented", source=source,
                           description="Resiliency / Backup\n\nGeo-redundant storage.")
        self.assertEqual(shared_source_name([finding], "azure_checklist"),
                         "Erp Platform Review")
        item = export_azure_checklist([finding], "Erp Platform Review").document["items"][0]
        self.assertEqual(item["guid"], guid)
        self.assertEqual((item["category"], item["subcategory"]), ("Resiliency", "Backup"))
        self.assertEqual(item["description"], "Geo-redundant storage.")

    def test_duplicate_guids_are_left_out(self):
        guid = "0b8e3f6a-2c4d-4a1e-8f7b-6d5c4b3a2910"
        twins = [_finding(f"azure_checklist:a:{guid}", "missing", source="azure_checklist:a"),
                 _finding(f"azure_checklist:b:{guid}", "missing", source="azure_checklist:b")]
        result = export_azure_checklist(twins, "Twins")
        self.assertEqual(len(result.document["items"]), 1)
        self.assertIn("left out", result.notes[0])
        with self.assertRaises(ExportError):
            export_azure_checklist([], "Empty")
