# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo.addons.queue_job.job import Job
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

DASHBOARD_PANELS = {
    "overall": "ipai_waf_assessment.ipai_waf_dashboard_overall_action",
    "pillars": "ipai_waf_assessment.ipai_waf_dashboard_pillar_action",
    "risks": "ipai_waf_assessment.ipai_waf_dashboard_risk_action",
    "roadmap": "ipai_waf_assessment.ipai_waf_dashboard_roadmap_action",
}


@tagged("post_install", "-at_install")
class TestFirstRun(TransactionCase):
    """`./suite run` / `./suite demo`: the assessment "This Odoo" and the dashboard."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Assessment = cls.env["ipai.waf.assessment"]
        cls.Job = cls.env["queue.job"]

    def _check_jobs(self):
        return self.Job.search([("model_name", "=", "ipai.waf.finding"),
                                ("method_name", "=", "_job_run_check")])

    def test_this_odoo_is_created_once_with_an_earlier_milestone_and_queued_checks(self):
        before = self._check_jobs()
        count = self.Assessment.search_count([])
        current = self.Assessment._create_demo_this_odoo()
        self.assertEqual(current.name, "This Odoo")
        self.assertEqual(current.workload, self.env.cr.dbname, "of the running database")
        self.assertEqual(set(current.framework_ids.mapped("code")),
                         {"azure_waf", "databricks_lakehouse", "medallion"})
        earlier = current.previous_id
        self.assertEqual((earlier.milestone, current.milestone), (1, 2))
        self.assertTrue(earlier.frozen)
        self.assertEqual(earlier.workload, current.workload)
        self.assertIn("APPROVED with conditions", earlier.decision)
        self.assertEqual(len(earlier.risk_ids), 6)
        self.assertEqual(len(earlier.recommendation_ids), 10)
        self.assertGreaterEqual(len(earlier.finding_ids), 30)
        self.assertEqual(earlier.pillar_score_ids.filtered(
            lambda s: s.pillar_id.code == "security").score, 52, "the report's stated score")
        # the checks go through the job runner, on the assessment channel
        jobs = self._check_jobs() - before
        self.assertTrue(jobs)
        self.assertEqual(len(jobs), current.check_total)
        self.assertEqual(set(jobs.mapped("state")), {"pending"})
        self.assertEqual(set(jobs.mapped("channel")), {"root.ipai.assessment"})
        self.assertEqual(current.state, "running")
        # idempotent: the same assessment, nothing new queued or created
        self.assertEqual(self.Assessment._create_demo_this_odoo(), current)
        self.assertEqual(self._check_jobs() - before, jobs)
        self.assertEqual(self.Assessment.search_count([]), count + 2)

        # what the runner does: the checks finish, and Compare shows what changed
        for job in jobs:
            Job.load(self.env, job.uuid).perform()
        self.assertEqual(current.state, "done")
        self.assertEqual(current.check_done, current.check_total)
        diff = current.compare(earlier.id)
        # the report said the database manager was exposed; the suite's odoo.conf hides it
        self.assertIn({"control_code": "AZ-SEC-11", "before": "missing",
                       "after": "implemented"}, diff["changed"])
        self.assertNotEqual(diff["overall_delta"], 0)
        self.assertNotEqual(diff["score_delta"]["security"], 0)

    def test_a_deleted_current_milestone_is_recreated_from_the_kept_earlier_one(self):
        current = self.Assessment._create_demo_this_odoo()
        earlier = current.previous_id
        current.unlink()
        again = self.Assessment._create_demo_this_odoo()
        self.assertEqual(again.previous_id, earlier, "the frozen milestone 1 is not imported twice")
        self.assertEqual(again.milestone, 2)

    # --------------------------------------------------------------- dashboard
    def test_the_dashboard_is_the_first_screen_of_the_app(self):
        user = new_test_user(self.env, login="wombat_assessor",
                             groups="ipai_waf_assessment.assessment_group_user")
        menus = self.env["ir.ui.menu"].with_user(user).load_web_menus(debug=False)
        app = self.env.ref("ipai_well_architected.menu_root")
        dashboard = self.env.ref("ipai_waf_assessment.ipai_waf_dashboard_menu")
        self.assertEqual(menus[app.id]["children"][0], dashboard.id)
        action = self.env.ref("ipai_waf_assessment.ipai_waf_dashboard_action")
        # the app opens on it: the web client starts on the app's (first) action
        for menu in (app, dashboard):
            self.assertEqual((menus[menu.id]["actionModel"], menus[menu.id]["actionID"]),
                             ("ir.actions.client", action.id))
        self.assertEqual(action.tag, "ipai_waf_dashboard")
        self.assertEqual(action.params["panels"], list(DASHBOARD_PANELS.values()))
        for ref in action.params["panels"]:
            panel = self.env.ref(ref)
            self.assertEqual(panel._name, "ir.actions.act_window")
            # each panel's first view loads for an assessor
            view_type = panel.view_mode.split(",")[0]
            views = self.env[panel.res_model].with_user(user).get_views(
                [(panel.view_id.id, view_type)])
            self.assertIn(view_type, views["views"])

    def test_the_dashboard_data_is_a_list_of_figure_panels_for_assessors(self):
        """Modules add figure panels by extending _dashboard_panels(); this module adds
        none (the gateway and Databricks bridges add theirs)."""
        user = new_test_user(self.env, login="numbat_assessor",
                             groups="ipai_waf_assessment.assessment_group_user")
        data = self.Assessment.with_user(user).get_dashboard_data()
        self.assertEqual(list(data), ["panels"])
        bridges = {"gateway_breakers": "ipai_waf_assessment_gateway",
                   "databricks_freshness": "ipai_waf_assessment_databricks"}
        installed = set(self.env["ir.module.module"].search([
            ("name", "in", list(bridges.values())), ("state", "=", "installed")]).mapped("name"))
        keys = [p["key"] for p in data["panels"]]
        self.assertEqual(set(keys), {k for k, m in bridges.items() if m in installed})
        self.assertEqual(len(keys), len(set(keys)))
        for panel in data["panels"]:
            self.assertTrue(panel["title"] and panel["rows"], panel)
            for row in panel["rows"]:
                self.assertEqual(set(row), {"label", "value", "state"})
                self.assertIn(row["state"], ("success", "warning", "danger", False))
        outsider = new_test_user(self.env, login="numbat_outsider", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.Assessment.with_user(outsider).get_dashboard_data()

    def _groups(self, key, groupby, aggregates=("__count",), extra=()):
        action = self.env.ref(DASHBOARD_PANELS[key])
        domain = safe_eval(action.domain or "[]") + list(extra)
        return self.env[action.res_model]._read_group(domain, groupby, aggregates)

    def test_the_dashboard_numbers_of_the_demo(self):
        current = self.Assessment._create_demo_this_odoo()
        earlier = current.previous_id
        mine = [("assessment_id.workload", "=", current.workload)]
        # open risks: the latest milestone's six, as a likelihood x impact matrix
        matrix = {(lk, im): n for lk, im, n in self._groups(
            "risks", ["likelihood", "impact"], extra=mine)}
        self.assertEqual(matrix, {(4, 5): 1, (3, 5): 1, (3, 4): 1, (4, 3): 1, (2, 5): 1,
                                  (3, 3): 1}, "milestone 1's risks are not counted again")
        # roadmap progress by phase
        progress = {(phase, state): n for phase, state, n in self._groups(
            "roadmap", ["phase", "state"], extra=mine)}
        self.assertEqual(progress, {
            ("0_30", "doing"): 1, ("0_30", "done"): 2, ("30_60", "doing"): 1,
            ("30_60", "todo"): 2, ("60_90", "todo"): 2, ("later", "todo"): 1,
            ("later", "dropped"): 1,
        })
        # overall score over milestones: one point per milestone, and they differ
        overall = dict(self._groups("overall", ["milestone"], ["overall_score:avg"],
                                    extra=[("workload", "=", current.workload)]))
        self.assertEqual(overall, {1: earlier.overall_score, 2: current.overall_score})
        self.assertNotEqual(overall[1], overall[2])
        # pillar scores over milestones: Security as the report stated it, then computed
        security = self.env.ref("ipai_waf_assessment.pillar_azure_waf_security")
        pillar = dict(self._groups("pillars", ["milestone"], ["score:avg"], extra=[
            ("workload", "=", current.workload), ("pillar_id", "=", security.id)]))
        self.assertEqual(pillar[1], 52.0)
        self.assertEqual(pillar[2], current.pillar_score_ids.filtered(
            lambda s: s.pillar_id == security).score)
        self.assertNotEqual(pillar[1], pillar[2])
