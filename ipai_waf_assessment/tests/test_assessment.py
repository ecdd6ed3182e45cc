# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import base64
import json
from pathlib import Path

from odoo.addons.ipai_waf_assessment.engine.grading import grade_for
from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tests import TransactionCase, new_test_user, tagged

DATA = Path(__file__).resolve().parent / "data"

MARKDOWN = """# Quokka workload assessment

## Quokka Resilience (Score: 82/100)

| Component | Status | Evidence |
|-----------|--------|----------|
| Quokka backups | ✅ Implemented | nightly PITR |
| Quokka failover | âš ï¸ Partial | manual runbook |
| Teleport beacon | ❌ Missing | nothing yet |

## Quokka Safety

| Component | Status | Gap |
|-----------|--------|-----|
| Quokka vault | ⚠️ Partial | keys in env |
| garbage row without status |
"""


@tagged("post_install", "-at_install")
class TestAssessment(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Assessment = cls.env["ipai.waf.assessment"]
        cls.framework = cls.env["ipai.waf.framework"].create({
            "code": "QUOKKA", "name": "Quokka framework", "version": "1",
            "pillar_ids": [
                Command.create({"code": "qres", "name": "Quokka Resilience", "weight": 1.0}),
                Command.create({"code": "qsaf", "name": "Quokka Safety", "weight": 1.0}),
            ],
        })
        cls.p_res, cls.p_saf = cls.framework.pillar_ids
        Control = cls.env["ipai.waf.control"]
        cls.c_backup = Control.create({
            "code": "Q-BACKUP", "name": "Quokka backups", "pillar_id": cls.p_res.id,
            "severity": "high",
        })
        cls.c_failover = Control.create({
            "code": "Q-FAILOVER", "name": "Quokka failover", "pillar_id": cls.p_res.id,
            "severity": "medium",
        })
        cls.c_vault = Control.create({
            "code": "Q-VAULT", "name": "Quokka vault", "pillar_id": cls.p_saf.id,
            "severity": "high", "extra_pillar_ids": [Command.link(cls.p_res.id)],
        })

    def _new(self, **vals):
        return self.Assessment.create(dict(
            {"name": "Quokka", "workload": "quokka", "framework_ids": [Command.set(
                self.framework.ids)]}, **vals,
        ))

    def _finding(self, assessment, control, status, **vals):
        return self.env["ipai.waf.finding"].create(dict(
            {"assessment_id": assessment.id, "control_id": control.id, "status": status}, **vals
        ))

    # --------------------------------------------------------------- import
    def _by_name(self, result):
        return {f.control_id.name: f for f in self.Assessment.browse(result["id"]).finding_ids}

    def test_import_markdown(self):
        result = self.Assessment.import_report("Imported Quokka", MARKDOWN, "markdown")
        assessment = self.Assessment.browse(result["id"])
        self.assertEqual(assessment.name, "Imported Quokka")
        by_name = self._by_name(result)
        self.assertEqual(by_name["Quokka backups"].status, "implemented")
        self.assertEqual(by_name["Quokka backups"].source, "imported")
        self.assertIn("PITR", by_name["Quokka backups"].evidence)
        self.assertEqual(by_name["Quokka failover"].status, "partial", "mojibake emoji read")
        self.assertEqual(by_name["Quokka vault"].status, "partial")
        # an unmatched component becomes a control of the importing company
        beacon = by_name["Teleport beacon"].control_id
        self.assertEqual((beacon.pillar_id, beacon.company_id), (self.p_res, self.env.company))
        self.assertTrue(beacon.code.startswith("IMP-TELEPORT-BEACON-"))
        self.assertEqual(by_name["Teleport beacon"].status, "missing")
        self.assertIn("line 16: no status for 'garbage row without status'; not read",
                      result["warnings"])
        # stated score -> assessor override with justification; computed stays visible
        score = assessment.pillar_score_ids.filtered(lambda s: s.pillar_id == self.p_res)
        self.assertEqual(score.override_score, 82)
        self.assertEqual(score.score, 82)
        self.assertIn("Imported from report (line 3)", score.override_justification)
        self.assertNotEqual(score.computed_score, 82)
        self.assertTrue(assessment.grade)

    def test_reimport_does_not_duplicate_controls(self):
        first = self.Assessment.import_report("A", MARKDOWN, "markdown")
        second = self.Assessment.import_report("B", MARKDOWN, "markdown")
        self.assertEqual(self._by_name(first)["Teleport beacon"].control_id,
                         self._by_name(second)["Teleport beacon"].control_id)
        self.assertEqual(self.env["ipai.waf.control"].search_count(
            [("name", "=", "Teleport beacon")]), 1)

    def test_import_the_shipped_catalog_by_alias_and_fuzzy_match(self):
        content = (DATA / "report_01_pillar_sections.md").read_bytes()
        result = self.Assessment.import_report("WAF report", content, "markdown")
        assessment = self.Assessment.browse(result["id"])
        codes = {f.control_id.code: f.status for f in assessment.finding_ids}
        self.assertEqual(codes["AZ-REL-01"], "implemented")  # PostgreSQL Backups
        self.assertEqual(codes["AZ-SEC-06"], "missing")  # MFA
        self.assertEqual(codes["AZ-SEC-04"], "implemented")  # Supabase RLS
        self.assertEqual(codes["AZ-REL-02"], "partial")  # ✅ Partial: the word wins
        self.assertEqual(codes["AZ-REL-06"], "planned")
        self.assertEqual(len(assessment.finding_ids), 11)  # one duplicate gap kept once
        new = assessment.finding_ids.control_id.filtered("company_id")
        self.assertEqual(sorted(new.mapped("name")), [
            "Connection pooling with PgBouncer", "Quantum flux shielding", "Restore drill"])
        self.assertEqual(assessment.stated_overall_score, 78.0)
        self.assertEqual(assessment.stated_scores,
                         "Azure WAF (Aggregate) · 78/100 · B+ · Production Ready\n"
                         "Databricks Lakehouse · 71/100 · B · Needs Work\n"
                         "Overall · 76/100 · B+ · Production Ready")
        self.assertTrue(assessment.decision.startswith("Go-Live Status: ✅ APPROVED"))
        recs = assessment.recommendation_ids.sorted("id")
        self.assertEqual([(r.title, r.phase, r.expected_gain) for r in recs], [
            ("Add a second availability zone", "0_30", 5.0),
            ("Automate the restore drill", "0_30", 0.0)])
        self.assertEqual(recs.pillar_ids.mapped("code"), ["reliability"])
        self.assertEqual(sorted(assessment.risk_ids.mapped("title")),
                         ["Admin account takeover", "Single-zone outage"])

    def test_preview_writes_nothing_and_the_plan_drives_the_import(self):
        counts = {m: self.env[m].search_count([]) for m in (
            "ipai.waf.assessment", "ipai.waf.control", "ipai.waf.finding")}
        plan = self.Assessment.preview_report(MARKDOWN, "markdown")
        self.assertEqual(counts, {m: self.env[m].search_count([]) for m in counts})
        rows = {r["component"]: r for r in plan["findings"]}
        self.assertEqual(rows["Quokka backups"]["control_id"], self.c_backup.id)
        self.assertEqual(rows["Quokka backups"]["confidence"], 100.0)
        self.assertEqual(rows["Teleport beacon"]["action"], "create")
        self.assertEqual(plan["stated"]["pillars"][0]["score"], 82.0)
        self.assertEqual(plan["unreadable"][0]["line"], 16)
        changes = {"findings": [
            {"key": rows["Teleport beacon"]["key"], "action": "skip"},
            {"key": rows["Quokka vault"]["key"], "action": "match",
             "control_id": self.c_failover.id},
        ]}
        result = self.Assessment.import_report("Changed", MARKDOWN, "markdown", plan=changes)
        by_name = self._by_name(result)
        self.assertNotIn("Teleport beacon", by_name)
        self.assertEqual(by_name["Quokka failover"].evidence, "manual runbook")
        self.assertEqual(set(by_name), {"Quokka backups", "Quokka failover"})
        self.assertTrue(any("Quokka vault is control Q-FAILOVER again" in w
                            for w in result["warnings"]), result["warnings"])

    def test_imports_never_modify_existing_controls(self):
        """Issue 9 item 7: an assessor's checklist import changed the global catalog."""
        user = new_test_user(self.env, login="quokka_assessor",
                             groups="ipai_waf_assessment.assessment_group_user")
        guid = "11111111-2222-3333-4444-555555555555"
        existing = self.env["ipai.waf.control"].create({
            "code": f"azure_checklist:quokka-list:{guid}", "name": "Original name",
            "pillar_id": self.p_res.id, "severity": "low", "reference_url": "https://a",
        })
        also = self.env["ipai.waf.control"].create({
            "code": guid, "name": "Same guid, other source", "pillar_id": self.p_res.id,
            "severity": "low"})
        checklist = json.dumps({"metadata": {"name": "Quokka list"}, "items": [
            {"guid": guid, "category": "Security", "waf": "Security", "text": "Rewritten",
             "severity": "High", "link": "https://evil.example", "status": "Fulfilled"},
            {"guid": "99999999-2222-3333-4444-555555555555", "category": "Security",
             "waf": "Security", "text": "New item", "severity": "High", "status": "Open"},
        ]})
        result = self.Assessment.with_user(user).import_report("Az", checklist,
                                                               "azure_checklist")
        for control in (existing, also):
            self.assertEqual((control.name, control.severity, control.company_id.id),
                             (control.name, "low", False))
        self.assertEqual(existing.name, "Original name")
        self.assertEqual(existing.reference_url, "https://a")
        findings = self.Assessment.browse(result["id"]).finding_ids
        self.assertEqual(findings.filtered(lambda f: f.status == "implemented").control_id,
                         existing)
        new = findings.filtered(lambda f: f.status == "missing").control_id
        self.assertEqual((new.name, new.severity, new.company_id, new.pillar_id.code),
                         ("New item", "high", self.env.company, "security"))
        self.assertEqual(new.code, "azure_checklist:quokka-list:"
                                   "99999999-2222-3333-4444-555555555555")

    def test_company_controls_stay_in_their_company(self):
        other = self.env["res.company"].create({"name": "Other Quokka Co"})
        user = new_test_user(self.env, login="quokka_other", company_id=other.id,
                             company_ids=[Command.set(other.ids)],
                             groups="ipai_waf_assessment.assessment_group_user")
        result = self.Assessment.import_report("Mine", MARKDOWN, "markdown")
        beacon = self._by_name(result)["Teleport beacon"].control_id
        Control = self.env["ipai.waf.control"].with_user(user)
        self.assertFalse(Control.search([("id", "=", beacon.id)]))
        self.assertTrue(Control.search([("id", "=", self.c_backup.id)]))
        # the other company's import gets its own control with the same code
        theirs = self.Assessment.with_user(user).import_report("Theirs", MARKDOWN, "markdown")
        mine_code = beacon.code
        their_beacon = self.env["ipai.waf.finding"].browse(
            self.Assessment.browse(theirs["id"]).finding_ids.ids).filtered(
            lambda f: f.control_id.name == "Teleport beacon").control_id
        self.assertEqual((their_beacon.code, their_beacon.company_id), (mine_code, other))

    def test_two_lenses_with_the_same_question_ids_stay_apart(self):
        lens = json.loads((DATA / "aws_lens_serverless.json").read_text(encoding="utf-8"))
        first = self.Assessment.import_report("Lens A", json.dumps(lens), "aws_lens")
        lens["name"] = "Another Lens"
        lens["pillars"][0]["questions"][0]["title"] = "A different SEC1"
        second = self.Assessment.import_report("Lens B", json.dumps(lens), "aws_lens")
        a = self.Assessment.browse(first["id"]).finding_ids.control_id
        b = self.Assessment.browse(second["id"]).finding_ids.control_id
        self.assertFalse(a & b)
        self.assertIn("How do you manage identities?", a.mapped("name"))
        self.assertIn("A different SEC1", b.mapped("name"))
        framework = a.pillar_id.framework_id
        self.assertEqual(framework.name, "Serverless Data Lens")
        self.assertEqual(framework.pillar_ids.mapped("name"),
                         ["Security", "Sustainability", "Network"])
        self.assertIn(framework, self.Assessment.browse(first["id"]).framework_ids)
        statuses = {f.control_id.code.rsplit(":", 1)[1]: f.status
                    for f in self.Assessment.browse(first["id"]).finding_ids}
        self.assertEqual(statuses, {"SEC1": "partial", "SEC2": "unknown", "SUS1": "missing",
                                    "NET1": "not_applicable"})

    def test_import_azure_checklist_translated_and_without_waf(self):
        content = (DATA / "azure_checklist_app_service.json").read_bytes()
        result = self.Assessment.import_report("Big checklist", content, "azure_checklist")
        assessment = self.Assessment.browse(result["id"])
        self.assertEqual(len(assessment.finding_ids), 520)
        self.assertEqual(set(assessment.finding_ids.control_id.framework_id.mapped("code")),
                         {"azure_waf"})
        security = assessment.finding_ids.filtered(lambda f: f.pillar_id.code == "security")
        self.assertEqual(len(security), 104)

    def test_import_unknown_format(self):
        with self.assertRaises(UserError):
            self.Assessment.import_report("x", "{}", "pdf")

    def test_bad_input_is_a_user_error_and_creates_nothing(self):
        before = self.Assessment.search_count([])
        for content, fmt, message in (
            ("", "markdown", "empty; expected a Markdown assessment report"),
            ("plain words, no report", "markdown", "nothing recognisable"),
            (b"\x89PNG\r\n\x1a\n\x00\x00", "markdown", "nothing recognisable"),
            ("[" * 50_000 + "]" * 50_000, "aws_lens", "nested too deeply"),
            ("{not json", "aws_lens", "line 1 column"),
            ('{"items": []}', "azure_checklist", "no question or checklist item"),
        ):
            with self.subTest(content=content[:12]), self.assertRaisesRegex(UserError,
                                                                            message):
                self.Assessment.import_report("bad", content, fmt)
        self.assertEqual(self.Assessment.search_count([]), before)

    def test_size_cap_is_configurable(self):
        self.env["ir.config_parameter"].set_param("ipai_waf_assessment.import_max_bytes", "100")
        with self.assertRaisesRegex(UserError, "limited to 100 bytes"):
            self.Assessment.import_report("big", MARKDOWN, "markdown")
        self.env["ir.config_parameter"].set_param("ipai_waf_assessment.import_max_bytes", "")
        self.assertEqual(self.Assessment._import_max_bytes(), 10 * 1024 * 1024)

    def test_encodings_are_decoded(self):
        for content in ((DATA / "report_11_utf16_bom.md").read_bytes(),
                        (DATA / "report_11_latin1.md").read_bytes(),
                        (DATA / "report_10_messy_cp1252.md").read_bytes()):
            result = self.Assessment.import_report("enc", content, "markdown")
            self.assertTrue(self.Assessment.browse(result["id"]).finding_ids)

    def test_warnings_are_capped_in_the_chatter_and_attached_in_full(self):
        report = "## Quokka Safety\n\n| Component | Status |\n|---|---|\n" + "".join(
            f"| Row {i} | Maybe |\n" for i in range(250)) + "| Quokka vault | ✅ |\n"
        result = self.Assessment.import_report("Noisy", report, "markdown")
        self.assertEqual(len(result["warnings"]), 250)
        message = self.Assessment.browse(result["id"]).message_ids[:1]
        self.assertIn("Row 199", message.body)
        self.assertNotIn("Row 200 ", message.body)
        self.assertIn("50 more; the full list is attached", message.body)
        text = base64.b64decode(message.attachment_ids.datas).decode()
        self.assertEqual(len(text.splitlines()), 250)

    def test_wizard_preview_change_a_match_and_import(self):
        wizard = self.env["ipai.waf.import.wizard"].create({
            "name": "Wizard Quokka", "fmt": "markdown", "content": MARKDOWN,
        })
        wizard.action_preview()
        self.assertEqual(wizard.state, "preview")
        self.assertFalse(self.Assessment.search([("name", "=", "Wizard Quokka")]))
        self.assertEqual(len(wizard.line_ids), 4)
        self.assertIn("Findings per pillar", wizard.preview_html)
        self.assertIn("Quokka Resilience (3)", wizard.preview_html)
        self.assertIn("no status for", wizard.preview_html)
        beacon = wizard.line_ids.filtered(lambda line: line.component == "Teleport beacon")
        self.assertEqual((beacon.action, beacon.control_id.id), ("create", False))
        beacon.control_id = self.c_vault
        vault = wizard.line_ids.filtered(lambda line: line.component == "Quokka vault")
        vault.action = "skip"
        wizard.action_import()
        self.assertEqual(wizard.state, "done")
        by_name = {f.control_id.name: f for f in wizard.assessment_id.finding_ids}
        self.assertEqual(by_name["Quokka vault"].evidence, "nothing yet")  # the beacon row
        self.assertEqual(set(by_name), {"Quokka backups", "Quokka failover", "Quokka vault"})
        action = wizard.action_open_assessment()
        self.assertEqual(action["res_id"], wizard.assessment_id.id)

    def test_wizard_import_without_preview(self):
        wizard = self.env["ipai.waf.import.wizard"].create({
            "name": "Direct", "fmt": "markdown",
            "file": base64.b64encode("# T\n\n## Quokka Safety\n\n| Component | Status |\n"
                                     "|---|---|\n| Quokka vault caf\xe9 | ✅ |".encode(
                                         "cp1252", errors="replace")),
        })
        wizard.action_import()
        self.assertIn("read as Windows-1252", wizard.warnings)

    def test_import_not_applicable_rows(self):
        report = MARKDOWN.replace(
            "| Teleport beacon | ❌ Missing | nothing yet |",
            "| Teleport beacon | N/A | out of scope for this workload |\n"
            "| Quokka failover | ➖ | |",
        ).replace("| Quokka failover | âš ï¸ Partial | manual runbook |\n", "")
        result = self.Assessment.import_report("NA Quokka", report, "markdown")
        by_name = self._by_name(result)
        self.assertEqual(by_name["Teleport beacon"].status, "not_applicable")
        self.assertEqual(by_name["Teleport beacon"].na_reason, "out_of_scope")
        self.assertEqual(by_name["Quokka failover"].status, "not_applicable")
        self.assertEqual(by_name["Quokka failover"].na_reason, "other")
        self.assertTrue(any("Quokka failover is not applicable without a stated reason" in w
                            and "recorded as Other" in w for w in result["warnings"]),
                        result["warnings"])
        body = self.Assessment.browse(result["id"]).message_ids[:1].body
        self.assertIn("<br>", body.replace("<br/>", "<br>"))
        self.assertIn("recorded as Other", body)

    def test_import_the_sample_documents(self):
        """The sample files of tests/data import end to end (N/A rows included)."""
        for fmt, filename in (("markdown", "assessment_report.md"),
                              ("aws_lens", "aws_custom_lens.json"),
                              ("azure_checklist", "azure_review_checklist.json")):
            content = (DATA / filename).read_bytes()
            result = self.Assessment.import_report(f"Sample {fmt}", content, fmt)
            assessment = self.Assessment.browse(result["id"])
            self.assertTrue(assessment.finding_ids, fmt)
        na = assessment.finding_ids.filtered(lambda f: f.status == "not_applicable")
        self.assertEqual(na.na_reason, "other", "Azure 'Not required' without a reason")

    def test_import_same_control_twice_keeps_the_first_and_says_so(self):
        report = MARKDOWN.replace(
            "| Teleport beacon | ❌ Missing | nothing yet |",
            "| Teleport beacon | ❌ Missing | nothing yet |\n| quokka BACKUPS | ❌ | again |",
        )
        result = self.Assessment.import_report("Dup Quokka", report, "markdown")
        backups = self.Assessment.browse(result["id"]).finding_ids.filtered(
            lambda f: f.control_id == self.c_backup)
        self.assertEqual((backups.status, backups.evidence), ("implemented", "nightly PITR"))
        self.assertIn("Line 10: quokka BACKUPS is control Q-BACKUP again (see Line 7); "
                      "kept the first", result["warnings"])

    def test_import_risk_and_roadmap_tables(self):
        owner = new_test_user(self.env, login="quokka_owner", name="Quokka Owner",
                              groups="ipai_waf_assessment.assessment_group_user")
        report = MARKDOWN + """
## Quokka Resilience risks

| Risk | Likelihood | Impact | Mitigation | Owner |
|---|---|---|---|---|
| Quokka zone outage | 4 | Severe | Second zone | Quokka Owner |

## Roadmap: 30-60 days

| Action | Priority | Effort | Pillar | Depends on |
|---|---|---|---|---|
| Quokka replica | P0 | 3 d | Quokka Resilience | |
| Quokka drill | P1 | 1 week | Quokka Resilience, Quokka Safety | Quokka replica |
| Quokka dream | P2 | 1 d | Quokka Magic | Nothing real |
"""
        result = self.Assessment.import_report("Plan Quokka", report, "markdown")
        assessment = self.Assessment.browse(result["id"])
        risk = assessment.risk_ids
        self.assertEqual((risk.title, risk.likelihood, risk.impact, risk.rating),
                         ("Quokka zone outage", 4, 5, 20))
        self.assertEqual((risk.pillar_id, risk.owner_id, risk.mitigation),
                         (self.p_res, owner, "Second zone"))
        plan = {r.title: r for r in assessment.recommendation_ids}
        self.assertEqual(set(plan), {"Quokka replica", "Quokka drill", "Quokka dream"})
        drill = plan["Quokka drill"]
        self.assertEqual((drill.phase, drill.priority, drill.effort_days),
                         ("30_60", "P1", 5.0))
        self.assertEqual(drill.pillar_ids, self.p_res | self.p_saf)
        self.assertEqual(drill.depends_on_ids, plan["Quokka replica"])
        self.assertTrue(any("no pillar matches 'Quokka Magic'" in w
                            for w in result["warnings"]), result["warnings"])
        self.assertTrue(any("depends on Nothing real" in w for w in result["warnings"]))
        card = assessment.export_scorecard()
        self.assertEqual(len(card["risks"]), 1)
        self.assertEqual(len(card["recommendations"]), 3)

    def test_import_is_batched(self):
        """Queries do not grow with the rows: unknown components are created in one go."""

        def queries(rows):
            report = "## Quokka Safety\n\n| Component | Status | Evidence |\n|---|---|---|\n"
            report += "".join(f"| Batch {rows} item {i} | ✅ | e{i} |\n" for i in range(rows))
            report += "".join(f"| Quokka vault | ❌ | dup {i} |\n" for i in range(rows))
            before = self.env.cr.sql_log_count
            result = self.Assessment.import_report(f"Batch {rows}", report, "markdown")
            self.assertEqual(len(self.Assessment.browse(result["id"]).finding_ids), rows + 1)
            return self.env.cr.sql_log_count - before

        queries(2)  # warm the caches
        small, large = queries(5), queries(60)
        self.assertLess(large - small, 20, (small, large))

    # --------------------------------------------------------------- scoring
    def test_scores_and_override(self):
        assessment = self._new()
        self._finding(assessment, self.c_backup, "implemented")
        self._finding(assessment, self.c_failover, "missing")
        self._finding(assessment, self.c_vault, "not_applicable", na_reason="out_of_scope")
        assessment._recompute_scores()
        res = assessment.pillar_score_ids.filtered(lambda s: s.pillar_id == self.p_res)
        self.assertTrue(0 < res.computed_score < 100, "high implemented + medium missing")
        self.assertEqual(assessment.rubric_version, assessment.rubric_version or "missing")
        self.assertTrue(assessment.rubric_version)
        with self.assertRaises(ValidationError):
            res.write({"override_score": 90, "override_justification": " "})
        res.write({"override_score": 78, "override_justification": "Assessor judgement"})
        self.assertEqual(res.score, 78)
        self.assertTrue(res.computed_score != 78 and res.has_override)

    def test_not_applicable_needs_reason(self):
        assessment = self._new()
        with self.assertRaises(ValidationError):
            self._finding(assessment, self.c_backup, "not_applicable")

    def test_default_grades(self):
        bands = self.env["ipai.waf.grade.band"]._get_bands()
        self.assertTrue(self.env["ipai.waf.grade.band"].search_count([]), "bands seeded")
        self.assertEqual(grade_for(78, bands)[0], "B+")
        self.assertEqual(grade_for(75, bands)[0], "B+")
        self.assertEqual(grade_for(71, bands)[0], "B")

    def test_risk_matrix(self):
        assessment = self._new()
        risk = self.env["ipai.waf.risk"].create({
            "assessment_id": assessment.id, "title": "No failover", "pillar_id": self.p_res.id,
            "likelihood": 5, "impact": 5, "residual_likelihood": 1, "residual_impact": 2,
        })
        self.assertGreater(risk.rating, risk.residual_rating)
        self.assertEqual(risk.rating, 25)
        with self.assertRaises(ValidationError):
            risk.likelihood = 6

    # --------------------------------------------------------------- export
    def test_export_scorecard_and_gaps(self):
        assessment = self._new()
        self._finding(assessment, self.c_backup, "implemented", evidence="PITR on")
        self._finding(assessment, self.c_failover, "missing", evidence="single zone")
        self.env["ipai.waf.recommendation"].create({
            "assessment_id": assessment.id, "title": "Add failover", "priority": "P0",
            "phase": "0_30", "effort_days": 5, "pillar_ids": [Command.link(self.p_res.id)],
        })
        assessment._recompute_scores()
        card = assessment.export_scorecard()
        self.assertEqual(card["schema_version"], "1.0")
        self.assertEqual(card["assessment"]["workload"], "quokka")
        self.assertEqual(len(card["findings"]), 2)
        self.assertEqual(card["recommendations"][0]["priority"], "P0")
        json.dumps(card)  # JSON-serialisable
        gaps = assessment.export_gaps_markdown()
        self.assertIn("Quokka failover", gaps)
        self.assertNotIn("Quokka backups", gaps.split("Implemented")[0] if False else "")

    # --------------------------------------------------------------- checks
    def test_run_checks_progress_and_crash(self):
        crash = self.env["ir.actions.server"].create({
            "name": "Crashing check", "model_id": self.env.ref("base.model_res_users").id,
            "state": "code", "code": "result = 1 / 0",
        })
        self.env["ir.model.data"].create({
            "module": "__test__", "name": "crash_check", "model": "ir.actions.server",
            "res_id": crash.id,
        })
        self.env["ipai.waf.control"].create({
            "code": "Q-CRASH", "name": "Crashing check", "pillar_id": self.p_saf.id,
            "check_key": "action:__test__.crash_check",
        })
        self.env["ipai.waf.control"].create({
            "code": "Q-LISTDB", "name": "DB manager hidden", "pillar_id": self.p_saf.id,
            "check_key": "db_manager_hidden",
        })
        assessment = self._new()
        with trap_jobs() as trap:
            assessment.action_run_checks()
            total = assessment.check_total
            self.assertGreaterEqual(total, 2)
            trap.assert_jobs_count(total)
            self.assertEqual(assessment.state, "running")
            self.assertEqual(assessment.check_done, 0)
            with self.assertLogs(
                "odoo.addons.ipai_waf_assessment.models.ipai_waf_finding", "ERROR"
            ) as logs:
                trap.perform_enqueued_jobs()
            self.assertIn("action:__test__.crash_check", "".join(logs.output))
        self.assertEqual(assessment.check_done, total)
        self.assertEqual(assessment.state, "done")
        crashed = assessment.finding_ids.filtered(lambda f: f.control_id.code == "Q-CRASH")
        self.assertEqual(crashed.status, "unknown")
        self.assertIn("division by zero", crashed.evidence)
        listdb = assessment.finding_ids.filtered(lambda f: f.control_id.code == "Q-LISTDB")
        self.assertIn("list_db", listdb.evidence)
        self.assertEqual(listdb.source, "automated")

    def test_shared_check_keys_evidence_each_of_their_controls(self):
        """One check may evidence several controls (documented in CONFIGURE): each control
        of the shipped catalog keeps its own automated finding, with the same evidence."""
        shared = {
            "queue_job_runner": {"ipai_waf_assessment.control_az_rel_07",
                                 "ipai_waf_assessment.control_az_perf_07"},
            "databricks_quality": {"ipai_waf_assessment.control_dbx_gov_03",
                                   "ipai_waf_assessment.control_med_gold_02"},
        }
        Control = self.env["ipai.waf.control"]
        for key, xmlids in shared.items():
            controls = Control.search([("check_key", "=", key)])
            self.assertEqual(set(controls.get_external_id().values()), xmlids, key)
            self.assertEqual(len(controls.pillar_id), 2, "two different pillars")
        # the frameworks of these controls (Run checks skips the others)
        assessment = self.Assessment.create({"name": "All frameworks", "workload": "all"})
        with trap_jobs() as trap:
            assessment.action_run_checks()
            trap.perform_enqueued_jobs()
        self.assertEqual(assessment.state, "done")
        for key in shared:
            findings = assessment.finding_ids.filtered(lambda f, k=key: f.control_id.check_key == k)
            self.assertEqual(len(findings), 2, key)
            self.assertEqual(len(set(findings.mapped("evidence"))), 1, key)
            self.assertEqual(set(findings.mapped("source")), {"automated"})

    def test_optional_module_checks(self):
        registry = self.env["ipai.waf.check.registry"]
        status, evidence = registry._run("admin_2fa")
        if "totp_enabled" not in self.env["res.users"]._fields:
            self.assertEqual(status, "missing")
            self.assertIn("auth_totp", evidence)
        else:
            self.assertIn(status, ("implemented", "partial", "missing"))
        self.assertEqual(registry._run("no_such_check")[0], "unknown")

    def test_a_check_of_a_bridge_not_installed_names_the_module_to_install(self):
        """The gateway and Databricks checks live in bridge modules: without the bridge,
        their controls are not applicable and say which module to install (never
        "unknown"); with it, the bridge's check answers."""
        registry = self.env["ipai.waf.check.registry"]
        bridges = {
            "gateway_credentials": ("ipai_waf_assessment_gateway", "ipai_microservices_gateway"),
            "gateway_health": ("ipai_waf_assessment_gateway", "ipai_microservices_gateway"),
            "databricks_freshness": ("ipai_waf_assessment_databricks",
                                     "ipai_databricks_connector"),
            "databricks_quality": ("ipai_waf_assessment_databricks",
                                   "ipai_databricks_connector"),
        }
        Module = self.env["ir.module.module"]
        for key, (bridge, other) in bridges.items():
            missing = ("not_applicable", (
                f"The check {key} comes with the module {bridge}, which is not installed: "
                f"it installs itself with {other}."))
            self.assertEqual(registry._bridge_not_installed(key), missing)
            installed = Module.search_count([("name", "=", bridge), ("state", "=", "installed")])
            # Odoo's runner tests this module alone (the first branch); the whole suite's
            # database has the bridges (the second).
            if not installed:
                self.assertNotIn(key, registry._checks())
                self.assertEqual(registry._run(key), missing)
            else:
                self.assertIn(key, registry._checks())
                self.assertNotEqual(registry._run(key), missing)
        # every check key of the shipped catalog is answered, here or by a bridge
        keys = set(self.env["ipai.waf.control"].search([("check_key", "!=", False)])
                   .mapped("check_key"))
        self.assertLessEqual(keys, set(registry._checks()) | set(bridges))
        for key in keys:
            self.assertNotEqual(registry._run(key)[0], "unknown", key)

    def test_a_bridge_check_not_installed_makes_a_not_applicable_finding(self):
        self.env["ipai.waf.control"].create({
            "code": "Q-GW-HEALTH", "name": "Quokka gateway health", "pillar_id": self.p_res.id,
            "check_key": "gateway_health",
        })
        assessment = self._new()
        with trap_jobs() as trap:
            assessment.action_run_checks()
            trap.perform_enqueued_jobs()
        finding = assessment.finding_ids.filtered(lambda f: f.control_id.code == "Q-GW-HEALTH")
        self.assertEqual(finding.source, "automated")
        if "gateway_health" in self.env["ipai.waf.check.registry"]._checks():
            self.assertNotIn("ipai_waf_assessment_gateway", finding.evidence)
        else:
            self.assertEqual((finding.status, finding.na_reason), ("not_applicable",
                                                                   "out_of_scope"))
            self.assertIn("ipai_waf_assessment_gateway", finding.evidence)

    # --------------------------------------------------------------- milestones
    def test_freeze_compare_and_next_milestone(self):
        first = self._new(date="2020-01-01")
        self._finding(first, self.c_backup, "missing", source="manual")
        self._finding(first, self.c_failover, "partial", source="imported")
        first.action_freeze()
        self.assertTrue(first.frozen)
        with self.assertRaises(UserError):
            first.name = "changed"
        with self.assertRaises(UserError):
            first.action_run_checks()
        cron = self.env.ref("ipai_waf_assessment.ir_cron_next_milestone")
        with trap_jobs(), self.enter_registry_test_mode():
            cron.method_direct_trigger()
        # it ran as the scheduler runs it, and said how far it got
        progress = self.env["ir.cron.progress"].search([("cron_id", "=", cron.id)],
                                                       order="id desc", limit=1)
        self.assertEqual((progress.done >= 1, progress.remaining), (True, 0))
        nxt = self.Assessment.search([("previous_id", "=", first.id)])
        self.assertEqual(nxt.milestone, 2)
        carried = nxt.finding_ids.filtered(lambda f: f.control_id == self.c_backup)
        self.assertTrue(carried.carried_over)
        self.assertFalse(nxt.finding_ids.filtered(lambda f: f.control_id == self.c_failover))
        carried.status = "implemented"
        self._finding(nxt, self.c_vault, "partial")
        nxt._recompute_scores()
        diff = nxt.compare(first.id)
        self.assertIn("Q-VAULT", diff["new"])
        self.assertIn("Q-BACKUP", diff["resolved"])
        self.assertIn("Q-FAILOVER", diff["resolved"])
        self.assertIn({"control_code": "Q-BACKUP", "before": "missing", "after": "implemented"},
                      diff["changed"])
        self.assertGreater(diff["score_delta"]["qres"], 0)
        # a recent milestone does not trigger a new one
        with trap_jobs(), self.enter_registry_test_mode():
            cron.method_direct_trigger()
        self.assertEqual(self.Assessment.search_count([("workload", "=", "quokka")]), 2)

    def test_a_new_assessment_of_a_known_workload_is_its_next_milestone(self):
        first = self.Assessment.create({"name": "Wombat", "workload": "wombat"})
        second = self.Assessment.create({"name": "Wombat Q2", "workload": "wombat"})
        self.assertEqual((first.milestone, second.milestone), (1, 2))
        self.assertEqual(second.previous_id, first)
        other = self.Assessment.create({"name": "Numbat", "workload": "numbat"})
        self.assertEqual((other.milestone, other.previous_id.id), (1, False))

    # --------------------------------------------------------------- security
    def test_access_rights_and_companies(self):
        other_company = self.env["res.company"].create({"name": "Quokka Other Co"})
        user = new_test_user(
            self.env, login="quokka_user",
            groups="ipai_waf_assessment.assessment_group_user",
        )
        manager = new_test_user(
            self.env, login="quokka_mgr",
            groups="ipai_waf_assessment.assessment_group_manager",
        )
        foreign = self._new(company_id=other_company.id, name="Foreign")
        mine = self.Assessment.with_user(user).create({"name": "Mine"})
        self.assertEqual(mine.company_id, user.company_id)
        self.assertNotIn(foreign, self.Assessment.with_user(user).search([]))
        with self.assertRaises(AccessError):
            self.env["ipai.waf.control"].with_user(user).create({
                "code": "Q-USER", "name": "x", "pillar_id": self.p_res.id,
            })
        self.env["ipai.waf.control"].with_user(manager).create({
            "code": "Q-MGR", "name": "x", "pillar_id": self.p_res.id,
        })
        with self.assertRaises(AccessError):
            mine.with_user(user).unlink()
        outsider = new_test_user(self.env, login="quokka_out", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.Assessment.with_user(outsider).search([])


@tagged("post_install", "-at_install")
class TestFrozenMilestones(TransactionCase):
    """An Assessment User tries every edit the issue saw go through on a frozen milestone."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(cls.env, login="frozen_assessor",
                                 groups="ipai_waf_assessment.assessment_group_user")
        cls.manager = new_test_user(cls.env, login="frozen_manager",
                                    groups="ipai_waf_assessment.assessment_group_manager")
        cls.control = cls.env["ipai.waf.control"].search([], limit=1)
        cls.other_control = cls.env["ipai.waf.control"].search(
            [("pillar_id", "=", cls.control.pillar_id.id), ("id", "!=", cls.control.id)],
            limit=1)

    def test_nothing_of_a_frozen_milestone_can_change_until_a_manager_unfreezes(self):
        Assessment = self.env["ipai.waf.assessment"].with_user(self.user)
        assessment = Assessment.create({"name": "Frozen", "workload": "frozen"})
        finding = self.env["ipai.waf.finding"].with_user(self.user).create({
            "assessment_id": assessment.id, "control_id": self.control.id,
            "pillar_id": self.control.pillar_id.id, "status": "missing"})
        self.env["ipai.waf.risk"].with_user(self.user).create({
            "assessment_id": assessment.id, "title": "Outage"})
        assessment.action_freeze()
        score = assessment.pillar_score_ids[:1]
        self.assertTrue(score, "the freeze computed the pillar scores")
        grade, overall = assessment.grade, assessment.overall_score
        attempts = {
            "finding status": lambda: finding.write({"status": "implemented"}),
            "new finding": lambda: self.env["ipai.waf.finding"].with_user(self.user).create({
                "assessment_id": assessment.id, "control_id": self.other_control.id,
                "pillar_id": self.control.pillar_id.id, "status": "implemented"}),
            "delete finding": finding.unlink,
            "pillar override": lambda: score.with_user(self.user).write({
                "override_score": 99, "override_justification": "trust me"}),
            "overall score": lambda: assessment.write({"overall_score": 99}),
            "grade": lambda: assessment.write({"grade": "A+"}),
            "frozen flag": lambda: assessment.write({"frozen": False}),
            "new risk": lambda: self.env["ipai.waf.risk"].with_user(self.user).create({
                "assessment_id": assessment.id, "title": "Another"}),
            "risk edit": lambda: assessment.risk_ids.with_user(self.user).write(
                {"title": "Renamed"}),
            "new recommendation": lambda: self.env["ipai.waf.recommendation"].with_user(
                self.user).create({"assessment_id": assessment.id, "title": "Later"}),
            "delete milestone": assessment.unlink,
            "user unfreezes": assessment.action_unfreeze,
        }
        for what, attempt in attempts.items():
            with self.subTest(what=what), self.assertRaises(UserError):
                attempt()
        assessment.invalidate_recordset()
        self.assertEqual((assessment.frozen, assessment.grade, assessment.overall_score),
                         (True, grade, overall))
        self.assertEqual(finding.status, "missing")
        # A manager unfreezes, and the chatter says who and why.
        assessment.with_user(self.manager).action_unfreeze(reason="wrong evidence")
        self.assertFalse(assessment.frozen)
        self.assertIn(self.manager.name, assessment.message_ids[:1].body)
        self.assertIn("wrong evidence", assessment.message_ids[:1].body)
        finding.write({"status": "implemented"})
        self.assertEqual(finding.status, "implemented")
