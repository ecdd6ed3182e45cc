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
    def test_import_markdown(self):
        result = self.Assessment.import_report("Imported Quokka", MARKDOWN, "markdown")
        assessment = self.Assessment.browse(result["id"])
        self.assertEqual(assessment.name, "Imported Quokka")
        by_code = {f.control_id.code: f for f in assessment.finding_ids}
        self.assertEqual(by_code["Q-BACKUP"].status, "implemented")
        self.assertEqual(by_code["Q-BACKUP"].source, "imported")
        self.assertIn("PITR", by_code["Q-BACKUP"].evidence)
        self.assertEqual(by_code["Q-FAILOVER"].status, "partial", "mojibake emoji read")
        self.assertEqual(by_code["Q-VAULT"].status, "partial")
        # unknown component -> new control in the matched pillar, with a warning naming it
        self.assertIn("IMP-teleport-beacon", by_code)
        self.assertEqual(by_code["IMP-teleport-beacon"].control_id.pillar_id, self.p_res)
        self.assertEqual(by_code["IMP-teleport-beacon"].status, "missing")
        self.assertTrue(any("Teleport beacon" in w for w in result["warnings"]))
        # unreadable line reported, never guessed
        self.assertTrue(any("garbage" in w or "line 17" in w.lower() for w in result["warnings"]),
                        result["warnings"])
        # stated score -> assessor override with justification; computed stays visible
        score = assessment.pillar_score_ids.filtered(lambda s: s.pillar_id == self.p_res)
        self.assertEqual(score.override_score, 82)
        self.assertEqual(score.score, 82)
        self.assertIn("Imported from report (line 3)", score.override_justification)
        self.assertNotEqual(score.computed_score, 82)
        self.assertTrue(assessment.grade)

    def test_reimport_does_not_duplicate_controls(self):
        self.Assessment.import_report("A", MARKDOWN, "markdown")
        self.Assessment.import_report("B", MARKDOWN, "markdown")
        self.assertEqual(self.env["ipai.waf.control"].search_count(
            [("code", "=", "IMP-teleport-beacon")]), 1)

    def test_import_azure_checklist_guid_codes(self):
        checklist = json.dumps({"items": [{
            "guid": "11111111-2222-3333-4444-555555555555", "category": "Quokka Resilience",
            "subcategory": "Backup", "waf": "Quokka Resilience",
            "text": "Enable zone-redundant backups", "severity": "High",
            "link": "https://learn.microsoft.com/", "status": "Fulfilled",
        }]})
        first = self.Assessment.import_report("Az1", checklist, "azure_checklist")
        self.Assessment.import_report("Az2", checklist, "azure_checklist")
        controls = self.env["ipai.waf.control"].search(
            [("code", "=", "11111111-2222-3333-4444-555555555555")])
        self.assertEqual(len(controls), 1, first["warnings"])
        self.assertEqual(controls.severity, "high")

    def test_import_control_of_an_unknown_pillar_is_reported(self):
        checklist = json.dumps({"items": [{
            "guid": "22222222-2222-3333-4444-555555555555", "category": "Quokka Magic",
            "text": "Enchant the backups", "severity": "Low", "status": "Open",
        }]})
        result = self.Assessment.import_report("Az magic", checklist, "azure_checklist")
        control = self.env["ipai.waf.control"].search(
            [("code", "=", "22222222-2222-3333-4444-555555555555")])
        self.assertTrue(control.pillar_id)
        self.assertTrue(any(
            w.startswith("Item 22222222-2222-3333-4444-555555555555: no pillar matches "
                         "Quokka Magic; control filed under ")
            for w in result["warnings"]), result["warnings"])

    def test_import_unknown_format(self):
        with self.assertRaises(UserError):
            self.Assessment.import_report("x", "{}", "pdf")

    def test_wizard_import(self):
        wizard = self.env["ipai.waf.import.wizard"].create({
            "name": "Wizard Quokka", "fmt": "markdown", "content": MARKDOWN,
        })
        wizard.action_import()
        self.assertTrue(wizard.assessment_id)
        self.assertIn("Teleport beacon", wizard.warnings)
        action = wizard.action_open_assessment()
        self.assertEqual(action["res_id"], wizard.assessment_id.id)

    def test_import_not_applicable_rows(self):
        """N/A rows used to abort the whole import (a finding without its reason)."""
        report = MARKDOWN.replace(
            "| Teleport beacon | ❌ Missing | nothing yet |",
            "| Teleport beacon | N/A | out of scope for this workload |\n"
            "| Quokka failover | ➖ | |",
        ).replace("| Quokka failover | âš ï¸ Partial | manual runbook |\n", "")
        result = self.Assessment.import_report("NA Quokka", report, "markdown")
        by_code = {f.control_id.code: f for f in
                   self.Assessment.browse(result["id"]).finding_ids}
        self.assertEqual(by_code["IMP-teleport-beacon"].status, "not_applicable")
        self.assertEqual(by_code["IMP-teleport-beacon"].na_reason, "out_of_scope")
        self.assertEqual(by_code["Q-FAILOVER"].status, "not_applicable")
        self.assertEqual(by_code["Q-FAILOVER"].na_reason, "other")
        self.assertTrue(any("Quokka failover is not applicable without a stated reason" in w
                            and "recorded as Other" in w for w in result["warnings"]),
                        result["warnings"])
        # the chatter keeps the warnings one per line (escaped text joined by <br/>)
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

    def test_import_aws_lens_answers(self):
        lens = json.loads((DATA / "aws_custom_lens.json").read_text(encoding="utf-8"))
        lens["pillars"][0]["questions"][0]["answer"] = {
            "selectedChoices": ["erp_rel_backup_pitr", "erp_rel_backup_drill"]}
        lens["answers"] = [{"questionId": "erp_gov_lineage", "isApplicable": False,
                            "reason": "BUSINESS_PRIORITIES"}]
        result = self.Assessment.import_report("AWS answered", json.dumps(lens), "aws_lens")
        by_code = {f.control_id.code: f for f in
                   self.Assessment.browse(result["id"]).finding_ids}
        self.assertEqual(by_code["erp_rel_backup"].status, "implemented")
        self.assertIn("Restores are tested on a schedule", by_code["erp_rel_backup"].evidence)
        self.assertEqual(by_code["erp_gov_lineage"].status, "not_applicable")
        self.assertEqual(by_code["erp_gov_lineage"].na_reason, "business_priorities")
        self.assertEqual(by_code["erp_rel_jobs"].status, "unknown")
        self.assertIn("pillars[0].questions[1] (erp_rel_jobs): no answer; status unknown "
                      "(AWS UNANSWERED)",
                      result["warnings"])

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
        self.assertTrue(any("no pillar matches Quokka Magic" in w for w in result["warnings"]))
        self.assertTrue(any("depends on Nothing real" in w for w in result["warnings"]))
        card = assessment.export_scorecard()
        self.assertEqual(len(card["risks"]), 1)
        self.assertEqual(len(card["recommendations"]), 3)

    def test_import_unreadable_document_is_a_user_error(self):
        with self.assertRaisesRegex(UserError, "line 1 column"):
            self.Assessment.import_report("broken", "{not json", "aws_lens")
        wizard = self.env["ipai.waf.import.wizard"].create({
            "name": "Latin-1", "fmt": "markdown",
            "file": base64.b64encode("# T\n\n| a | b |\n| caf\xe9 | ✅ |".encode("latin-1",
                                     errors="replace")),
        })
        with self.assertRaisesRegex(UserError, "line 4: the file is not UTF-8"):
            wizard.action_import()

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
                "odoo.addons.ipai_waf_assessment.models.ipai_waf_assessment", "ERROR"
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
        assessment = self._new()
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
        if "ipai.databricks.view" not in self.env:
            self.assertEqual(registry._run("databricks_quality")[0], "not_applicable")
        if "ipai.gateway.service" not in self.env:
            self.assertEqual(registry._run("gateway_health")[0], "not_applicable")
        else:
            self.env["ipai.gateway.service"].search([]).active = False
            self.env["ipai.gateway.service"].create({
                "name": "Quokka svc", "code": "quokka_svc", "base_url": "http://127.0.0.1:9",
            })
            self.assertEqual(registry._run("gateway_credentials")[0], "implemented")
            status, evidence = registry._run("gateway_health")
            self.assertEqual(status, "missing")
            self.assertIn("Quokka svc", evidence)
        self.assertEqual(registry._run("no_such_check")[0], "unknown")

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
        with trap_jobs():
            created = self.Assessment._cron_next_milestones()
        nxt = created.filtered(lambda a: a.previous_id == first)
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
        with trap_jobs():
            again = self.Assessment._cron_next_milestones()
        self.assertFalse(again.filtered(lambda a: a.workload == "quokka"))

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
