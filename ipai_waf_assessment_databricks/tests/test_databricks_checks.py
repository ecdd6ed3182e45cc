# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The Databricks assessment checks and dashboard panel read real views, refreshed from a
real local Delta Lake (the connector's own test set-up)."""

import datetime as dt

from odoo.addons.ipai_databricks_connector.tests.common import GOLD, LakeCase, sales_table
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged


@tagged("post_install", "-at_install")
class TestDatabricksChecks(LakeCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ipai.databricks.view"].search([]).active = False  # not under test
        cls.registry_model = cls.env["ipai.waf.check.registry"]
        cls.assessor = new_test_user(
            cls.env, login="dbx_bridge_assessor",
            groups="ipai_waf_assessment.assessment_group_user")

    def _panel(self, user):
        data = self.env["ipai.waf.assessment"].with_user(user).get_dashboard_data()
        panels = {p["key"]: p for p in data["panels"]}
        self.assertIn("databricks_freshness", panels)
        return panels["databricks_freshness"]

    def _age(self, view, hours):
        snap = view.current_snapshot_id
        snap.source_committed_at = snap.refreshed_at - dt.timedelta(hours=hours)

    def test_the_checks_are_the_bridges_not_the_missing_module_message(self):
        for key in ("databricks_freshness", "databricks_quality"):
            self.assertIn(key, self.registry_model._checks())
            self.assertEqual(self.registry_model._run(key),
                             ("not_applicable", "No active Databricks view."), key)

    def test_freshness_check_reads_the_views_slo(self):
        self.lake.write_table(GOLD, sales_table())
        sales = self.make_view(code="sales", name="Ventas Región Ñ")
        sales._refresh_now()
        self.assertEqual(self.registry_model._run("databricks_freshness"),
                         ("implemented", "All 1 views are fresh."))
        self._age(sales, 30)  # the default SLO is 24 h
        status, evidence = self.registry_model._run("databricks_freshness")
        self.assertEqual(status, "partial")
        self.assertEqual(evidence, "Views outside their SLO: Ventas Región Ñ (stale)")

    def test_quality_check_reads_the_last_pass_rate(self):
        self.lake.write_table(GOLD, sales_table(days=2))
        view = self.make_view(name="Sales")
        view._refresh_now()
        self.assertEqual(self.registry_model._run("databricks_quality"),
                         ("implemented", "All 1 views pass data quality at >= 98.0%."))
        # half the rows are outside the accepted regions; the view publishes at 40 %
        self.env["ipai.databricks.quality.rule"].create({
            "name": "Known region", "view_id": view.id, "kind": "accepted_values",
            "column": "region", "accepted_values": "NCR", "severity": "warn"})
        view.quality_threshold = 40
        view._refresh_now()
        self.assertEqual(self.registry_model._run("databricks_quality"),
                         ("partial", "Views below 98.0% quality: Sales (50.0%)"))

    def test_dashboard_panel_counts_freshness_and_names_the_worst_views(self):
        self.lake.write_table(GOLD, sales_table(days=1))
        fresh = self.make_view(code="fresh", name="Fresh sales")
        old = self.make_view(code="old", name="Old sales")
        older = self.make_view(code="older", name="Older sales", freshness_slo_hours=2)
        self.make_view(code="never", name="Never refreshed")
        (fresh | old | older)._refresh_now()
        self._age(old, 30)
        self._age(older, 50)
        blocked = self.make_view(code="blocked", name="Blocked sales")
        self.lake.write_table(GOLD, sales_table(days=3, null_store_on=dt.date(2026, 1, 2)))
        self.env["ipai.databricks.quality.rule"].create({
            "name": "Store is set", "view_id": blocked.id, "kind": "not_null",
            "column": "store_id", "severity": "fail"})
        blocked._refresh_now()
        panel = self._panel(self.assessor)
        self.assertEqual(panel["title"], "Databricks views freshness")
        self.assertEqual([(r["label"], r["value"], r["state"]) for r in panel["rows"]], [
            ("Fresh", 1, "success"), ("Stale", 3, "warning"), ("Failed", 1, "danger"),
            ("Blocked sales", "Failed", "danger"),
            ("Never refreshed", "never refreshed", "warning"),
            ("Older sales", "50.0 h old (SLO 2.0 h)", "warning"),
            ("Old sales", "30.0 h old (SLO 24.0 h)", "warning"),
        ])
        # an assessor who is no Databricks user sees the figures, not a link to the views
        self.assertFalse(panel["action"])
        self.assessor.group_ids |= self.env.ref(
            "ipai_databricks_connector.databricks_group_user")
        self.assertEqual(self._panel(self.assessor)["action"],
                         "ipai_databricks_connector.ipai_databricks_view_action")

    def test_dashboard_panel_counts_only_the_users_companies(self):
        other = self.env["res.company"].create({"name": "Lake Other Co"})
        workspace = self.env["ipai.databricks.workspace"].create({
            "name": "Other lake", "backend": "local", "company_id": other.id})
        self.env["ipai.databricks.view"].create({
            "name": "Foreign", "code": "foreign", "workspace_id": workspace.id,
            "source": GOLD, "schedule": "manual"})
        counts = [r["value"] for r in self._panel(self.assessor)["rows"]]
        self.assertEqual(counts, [0, 0, 0], "another company's view is not counted")
        outsider = new_test_user(self.env, login="dbx_bridge_outsider", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.env["ipai.waf.assessment"].with_user(outsider).get_dashboard_data()
