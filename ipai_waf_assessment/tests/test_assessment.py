# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import json

from odoo.addons.ipai_waf_assessment.engine.grading import grade_for
from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tests import TransactionCase, new_test_user, tagged

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
