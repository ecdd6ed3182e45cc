# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Export to AWS custom-lens and Azure review-checklist JSON, and back in through the
import wizard: the same findings, with the statuses the documented mappings promise."""

import base64
import json
from pathlib import Path

from odoo.addons.ipai_waf_assessment.engine.exporters import (
    AWS_STATUS_MAPPING,
    AZURE_STATUS_MAPPING,
    checklist_problems,
    lens_problems,
)
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged

DATA = Path(__file__).resolve().parent / "data"
STATUSES = [  # (status, not-applicable reason, evidence)
    ("implemented", None, "PITR on since 2026-03-01 âœ… (UTC+03:00)"),
    ("partial", None, "prod only; staging manual"),
    ("planned", None, "Q4 — owner: Zoë"),
    ("missing", None, None),
    ("not_applicable", "out_of_scope", "platform team owns it"),
    ("not_applicable", "business_priorities", None),
    ("not_applicable", "architecture_constraints", "single region by design"),
    ("not_applicable", "other", ""),
    ("unknown", None, None),
]


@tagged("post_install", "-at_install")
class TestExport(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(cls.env, "waf_exporter",
                                 groups="ipai_waf_assessment.assessment_group_user")
        cls.azure = cls.env.ref("ipai_waf_assessment.framework_azure_waf")
        controls = cls.env["ipai.waf.control"].search(
            [("framework_id", "=", cls.azure.id), ("company_id", "=", False)],
            order="pillar_id, sequence, id")
        # spread the statuses over the pillars: one control of each pillar in turn
        by_pillar = {}
        for control in controls:
            by_pillar.setdefault(control.pillar_id, []).append(control)
        picked = []
        while len(picked) < len(STATUSES):
            for pillar_controls in by_pillar.values():
                if pillar_controls and len(picked) < len(STATUSES):
                    picked.append(pillar_controls.pop(0))
        cls.catalog = cls.env["ipai.waf.assessment"].with_user(cls.user).create({
            "name": "Ledger — Q3 review", "workload": "ledger",
            "framework_ids": [(6, 0, cls.azure.ids)],
        })
        cls.env["ipai.waf.finding"].with_user(cls.user).create([
            {"assessment_id": cls.catalog.id, "control_id": control.id, "status": status,
             "na_reason": reason, "evidence": evidence or False}
            for control, (status, reason, evidence) in zip(picked, STATUSES, strict=True)])

    # ------------------------------------------------------------------ helpers
    def _export(self, assessment, fmt, **vals):
        wizard = self.env["ipai.waf.export.wizard"].with_user(self.user).create(
            dict(vals, assessment_id=assessment.id, fmt=fmt))
        wizard.action_export()
        self.assertEqual(wizard.state, "done")
        return base64.b64decode(wizard.file), wizard

    def _import(self, name, content, fmt):
        wizard = self.env["ipai.waf.import.wizard"].with_user(self.user).create({
            "name": name, "fmt": fmt, "file": base64.b64encode(content),
            "filename": f"{name}.json"})
        wizard.action_preview()
        wizard.action_import()
        return wizard.assessment_id

    @staticmethod
    def _by_name(assessment):
        return {(f.pillar_id.name, f.control_id.name): (f.status, f.na_reason or None)
                for f in assessment.finding_ids}

    @staticmethod
    def _by_control(assessment):
        return {f.control_id: (f.status, f.na_reason or None) for f in assessment.finding_ids}

    @staticmethod
    def _mapped(expected, mapping):
        out = {}
        for key, (status, reason) in expected.items():
            back = mapping[status][1]
            out[key] = (back, reason if back == "not_applicable" else None)
        return out

    # ------------------------------------------------------------------ AWS
    def test_aws_lens_round_trip_of_catalog_findings(self):
        content, wizard = self._export(self.catalog, "aws_lens")
        self.assertEqual(wizard.framework_id, self.azure)
        self.assertTrue(wizard.filename.endswith(".aws-lens.json"))
        self.assertIn("planned", wizard.notes)
        lens = json.loads(content)
        self.assertEqual(lens_problems(lens), [])
        self.assertEqual(lens["name"], "Azure Well-Architected Framework")
        back = self._import("Back from AWS", content, "aws_lens")
        self.assertEqual(self._by_name(back),
                         self._mapped(self._by_name(self.catalog), AWS_STATUS_MAPPING))
        self.assertEqual(back.finding_ids.filtered(
            lambda f: f.control_id.name == self.catalog.finding_ids.filtered(
                lambda g: g.status == "planned").control_id.name).status, "missing")
        self.assertTrue(back.finding_ids.control_id.framework_id.code.startswith("aws_lens:"),
                        "a lens is its own framework")
        again = self._import("Back from AWS again", content, "aws_lens")
        self.assertEqual(again.finding_ids.control_id, back.finding_ids.control_id,
                         "a second import of the same lens reuses its controls")

    def test_aws_lens_imported_here_comes_back_to_its_own_controls(self):
        lensed = self._import("ERP lens", (DATA / "aws_custom_lens.json").read_bytes(),
                              "aws_lens")
        findings = lensed.finding_ids.sorted("id")
        self.assertGreaterEqual(len(findings), 4)
        for finding, (status, reason, evidence) in zip(findings, STATUSES, strict=False):
            finding.write({"status": status, "na_reason": reason, "evidence": evidence})
        Control = self.env["ipai.waf.control"]
        controls_before = Control.search_count([])
        content, _wizard = self._export(lensed, "aws_lens")
        self.assertEqual(json.loads(content)["name"], "ERP Data Platform Lens")
        back = self._import("ERP lens, next milestone", content, "aws_lens")
        self.assertEqual(Control.search_count([]), controls_before, "no control created")
        self.assertEqual(self._by_control(back),
                         self._mapped(self._by_control(lensed), AWS_STATUS_MAPPING))
        evidence = back.finding_ids.filtered(lambda f: f.status == "implemented").evidence
        self.assertIn("PITR on since 2026-03-01", evidence)

    def test_lens_imported_through_the_preview_keeps_its_item_ids(self):
        lensed = self._import("ERP lens", (DATA / "aws_custom_lens.json").read_bytes(),
                              "aws_lens")
        codes = set(lensed.finding_ids.control_id.mapped("code"))
        self.assertIn("aws_lens:erp-data-platform-lens:erp_rel_backup", codes)
        self.assertFalse({c for c in codes if c.startswith("IMP-")},
                         "the preview sent back the plan's own 'create': codes unchanged")

    def test_lens_alone_carries_no_answers(self):
        content, _wizard = self._export(self.catalog, "aws_lens", with_answers=False)
        self.assertNotIn("answers", json.loads(content))
        back = self._import("Lens only", content, "aws_lens")
        self.assertEqual(set(back.finding_ids.mapped("status")), {"unknown"})
        self.assertEqual(len(back.finding_ids), len(self.catalog.finding_ids))

    # ------------------------------------------------------------------ Azure
    def test_azure_checklist_round_trip_of_catalog_findings(self):
        content, wizard = self._export(self.catalog, "azure_checklist")
        self.assertTrue(wizard.filename.endswith(".azure-checklist.json"))
        doc = json.loads(content)
        self.assertEqual(checklist_problems(doc), [])
        self.assertEqual(len(doc["items"]), len(STATUSES))
        back = self._import("Back from Azure", content, "azure_checklist")
        self.assertEqual(self._by_name(back),
                         self._mapped(self._by_name(self.catalog), AZURE_STATUS_MAPPING))
        self.assertEqual(back.finding_ids.pillar_id, self.catalog.finding_ids.pillar_id,
                         "items come back to the same Azure Well-Architected pillars")
        reasons = set(back.finding_ids.filtered(
            lambda f: f.status == "not_applicable").mapped("na_reason"))
        self.assertEqual(reasons, {"out_of_scope", "business_priorities",
                                   "architecture_constraints", "other"})

    def test_azure_checklist_imported_here_comes_back_to_its_own_controls(self):
        checklist = self._import(
            "ERP checklist", (DATA / "azure_review_checklist.json").read_bytes(),
            "azure_checklist")
        self.assertTrue(checklist.finding_ids)
        content, _wizard = self._export(checklist, "azure_checklist")
        self.assertEqual(json.loads(content)["metadata"]["name"], "Erp Platform Review")
        back = self._import("ERP checklist, next milestone", content, "azure_checklist")
        self.assertEqual(self._by_control(back), self._by_control(checklist))
        guid = "9c3d1c0e-5b7a-4e4b-9f2a-1f0c2d3e4a51"
        self.assertIn(guid, {i["guid"] for i in json.loads(content)["items"]})

    # ------------------------------------------------------------------ rights
    def test_export_over_rpc_respects_companies(self):
        result = self.env["ipai.waf.export.wizard"].with_user(self.user).export_assessment(
            self.catalog.id, "azure_checklist")
        self.assertEqual(len(result["document"]["items"]), len(STATUSES))
        other = self.env["res.company"].create({"name": "Other Co"})
        outsider = new_test_user(self.env, "waf_outsider", company_id=other.id,
                                 company_ids=[(6, 0, other.ids)],
                                 groups="ipai_waf_assessment.assessment_group_user")
        with self.assertRaises(AccessError):
            self.env["ipai.waf.export.wizard"].with_user(outsider).export_assessment(
                self.catalog.id, "aws_lens")

    def test_a_frozen_milestone_can_be_exported(self):
        self.catalog.action_freeze()
        content, _wizard = self._export(self.catalog, "azure_checklist")
        self.assertTrue(json.loads(content)["items"])
