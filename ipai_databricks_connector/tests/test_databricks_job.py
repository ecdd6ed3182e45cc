from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from ..lakehouse import demo
from .common import LakeCase, drain, sales_table


@tagged("post_install", "-at_install")
class TestDatabricksJobs(LakeCase):
    def make_job(self, name, sql, target, upstream=None, layer="silver"):
        return self.env["ipai.databricks.job"].create({
            "name": name, "workspace_id": self.workspace.id, "layer": layer, "sql": sql,
            "target_table": target, "upstream_ids": [(6, 0, (upstream or self.env[
                "ipai.databricks.job"]).ids)]})

    def test_local_steps_run_and_start_downstream(self):
        self.lake.write_table("demo.bronze.sales", sales_table())
        silver = self.make_job("Silver", "SELECT * FROM demo.bronze.sales WHERE store_id = 1",
                               "demo.silver.sales")
        gold = self.make_job(
            "Gold", "SELECT region, sum(transactions)::INT AS transactions "
            "FROM demo.silver.sales GROUP BY region", "demo.gold.by_region", silver, "gold")
        self.env["ipai.databricks.quality.rule"].create({
            "name": "Silver store set", "table_name": "demo.silver.sales", "layer": "silver",
            "kind": "not_null", "column": "store_id"})
        with trap_jobs() as trap:
            run = silver.with_user(self.user).action_run_now()
            self.assertEqual(trap.enqueued_jobs[0].channel, "root.ipai.databricks")
            drain(trap)
        self.assertEqual((run.state, run.delta_version), ("success", 0), run.message)
        self.assertEqual(run.quality_result_ids.pass_rate, 100.0)
        self.assertEqual(gold.last_run_state, "success", "downstream started by its upstream")
        self.assertEqual(gold.last_run_id.trigger, "upstream")
        rows = self.lake.execute("SELECT * FROM demo.gold.by_region").read_all().to_pylist()
        self.assertEqual(rows, [{"region": "NCR", "transactions": 10 + 12 + 14}])

    def test_table_rules_match_the_target_as_databricks_names_do(self):
        # Names are case-insensitive on Databricks: a rule written for demo.silver.sales
        # checks the job writing DEMO.Silver.Sales; "_" is no wildcard (demo.silver.sa_es
        # is another table, whose rule never runs here).
        self.lake.write_table("demo.bronze.sales", sales_table())
        self.lake.write_table("demo.silver.sales", sales_table(days=1))  # written before
        job = self.make_job("Silver", "SELECT * FROM demo.bronze.sales", "DEMO.Silver.Sales")
        Rule = self.env["ipai.databricks.quality.rule"]
        mine = Rule.create({"name": "Store set", "table_name": "demo.silver.sales",
                            "layer": "silver", "kind": "not_null", "column": "store_id"})
        other = Rule.create({"name": "Other table", "table_name": "demo.silver.sa_es",
                             "layer": "silver", "kind": "min_row_count", "min_rows": 10**9})
        with trap_jobs() as trap:
            run = job.action_run_now()
            drain(trap)
        self.assertEqual(run.state, "success", run.message)
        self.assertEqual(run.quality_result_ids.rule_id, mine)
        self.assertEqual(run.quality_result_ids.pass_rate, 100.0)
        self.assertFalse(other.result_ids)
        # the job overwrote that table, and made no second one beside it
        self.assertEqual(self.lake.list_tables(), ["demo.bronze.sales", "demo.silver.sales"])
        self.assertEqual(self.lake.execute("SELECT count(*) AS n FROM demo.silver.sales")
                         .read_all().to_pylist(), [{"n": len(sales_table())}])

    def test_failed_step_is_recorded_and_downstream_waits(self):
        silver = self.make_job("Silver", "SELECT * FROM demo.bronze.nothing_here",
                               "demo.silver.sales")
        gold = self.make_job("Gold", "SELECT * FROM demo.silver.sales", "demo.gold.t", silver)
        with trap_jobs() as trap:
            run = silver.action_run_now()
            drain(trap)
        self.assertEqual(run.state, "failed")
        self.assertTrue(run.message)
        self.assertFalse(gold.run_ids)
        self.lake.write_table("demo.bronze.nothing_here", sales_table(days=1))
        with trap_jobs() as trap:
            run.action_repair()
            drain(trap)
        self.assertEqual(run.state, "success")
        self.assertEqual(gold.last_run_state, "success")

    def test_cycles_and_incomplete_definitions_are_refused(self):
        a = self.make_job("A", "SELECT 1 AS x", "demo.silver.a")
        b = self.make_job("B", "SELECT 1 AS x", "demo.silver.b", a)
        with self.assertRaises(ValidationError):
            a.upstream_ids = [(6, 0, b.ids)]
        with self.assertRaises(ValidationError):
            self.make_job("C", False, "demo.silver.c")

    def test_only_managers_define_jobs(self):
        with self.assertRaises(AccessError):
            self.env["ipai.databricks.job"].with_user(self.user).create({
                "name": "x", "workspace_id": self.workspace.id, "sql": "SELECT 1 AS x",
                "target_table": "demo.silver.x"})

    def test_demo_dataset_gives_views_with_data(self):
        views = self.env["ipai.databricks.demo"]._load_demo_dataset(
            workspace=self.workspace, days=5, rows_per_day=40)
        self.assertEqual(set(views.mapped("code")), {d["code"] for d in demo.DEMO_VIEWS})
        for view in views:
            self.assertEqual(view.current_snapshot_id.state, "published", view.last_error)
            self.assertGreater(self.env[view.model_name].search_count([]), 0)
            self.assertEqual(view.freshness_status, "fresh")
        runs = self.env["ipai.databricks.job.run"].search(
            [("job_id.workspace_id", "=", self.workspace.id)])
        self.assertEqual(set(runs.mapped("state")), {"success"})
        self.assertTrue(self.env["ipai.databricks.quality.result"].search_count(
            [("job_run_id", "in", runs.ids)]), "table rules checked after each run")
