"""The Databricks backend, end to end: Odoo -> gateway -> HTTP -> the local
Databricks-compatible server (lakehouse/devserver/) -> Delta tables."""

import datetime as dt
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import requests

from odoo.addons.ipai_microservices_gateway.tests.common import loopback_requests_only
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.tests import TransactionCase, new_test_user, tagged

from ..lakehouse import quality
from ..lakehouse.devserver import DatabricksApiServer
from ..lakehouse.local_backend import LocalLakehouse
from .common import drain, sales_table

TOKEN = "dapi-test-token"


@tagged("post_install", "-at_install")
class TestDatabricksBackend(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        loopback_requests_only(cls)
        cls.root = tempfile.mkdtemp(prefix="ipai_dbx_api_")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        cls.lake = LocalLakehouse(cls.root)
        # Small chunks, so a 6-row result already spans several EXTERNAL_LINKS chunks.
        cls.server = DatabricksApiServer(cls.root, TOKEN, chunk_rows=2).start()
        cls.addClassCleanup(cls.server.stop)
        cls.service = cls.env["ipai.gateway.service"].create({
            "name": "Databricks (local API)", "code": "dbx_test", "kind": "databricks",
            "base_url": cls.server.url, "auth_type": "bearer", "token": TOKEN,
            "connect_timeout": 2, "read_timeout": 10, "retry_max_attempts": 3,
            "retry_backoff_initial": 0.01, "retry_backoff_max": 0.05,
            "retry_total_budget": 15, "breaker_failure_threshold": 50,
            "breaker_minimum_calls": 100, "health_path": False,
        })
        cls.workspace = cls.env["ipai.databricks.workspace"].create({
            "name": "Databricks", "backend": "databricks", "service_id": cls.service.id,
            "warehouse_id": "local-warehouse", "catalog": "demo", "schema_name": "gold",
            # The local API server hands out plain-http links on loopback.
            "link_hosts": f"127.0.0.1:{cls.server.port}", "allow_http_links": True})
        cls.env["ir.config_parameter"].set_param("ipai_databricks_connector.poll_seconds", "0")
        cls.user = new_test_user(
            cls.env, login="dbx_api_user",
            groups="ipai_databricks_connector.databricks_group_user")

    def setUp(self):
        super().setUp()
        self.server.requests.clear()

    def make_view(self, table, code, **vals):
        view = self.env["ipai.databricks.view"].create(dict(
            {"name": code, "code": code, "workspace_id": self.workspace.id, "source": table,
             "schedule": "manual"}, **vals))
        with trap_jobs() as trap:
            view.action_create_model()  # statements never run in an HTTP worker: a job
            trap.assert_jobs_count(1)
            drain(trap)
        self.assertTrue(view.model_id)
        return view

    def requests_to(self, prefix):
        return [p for _m, p in self.server.requests if p.startswith(prefix)]

    def test_connection(self):
        self.workspace.action_test_connection()
        self.assertEqual(self.workspace.connection_state, "ok")
        self.assertIn("RUNNING", self.workspace.connection_message)
        self.service.token = "wrong"
        self.workspace.action_test_connection()
        self.assertEqual(self.workspace.connection_state, "failed")
        self.assertIn("401", self.workspace.connection_message)
        self.service.token = TOKEN

    def test_refresh_reads_every_external_link_chunk(self):
        self.lake.write_table("demo.gold.api_sales", sales_table())
        view = self.make_view("demo.gold.api_sales", "api_sales")
        fields = self.env[view.model_name]._fields
        self.assertEqual(fields["x_peso_total"].type, "float")
        self.assertEqual(fields["x_sale_date"].type, "date")
        # The first link answers 403, as an expired presigned URL does: the chunk is
        # fetched again by index and nothing is lost.
        self.server.inject("/ipai-external/", 403, count=1)
        with trap_jobs() as trap:
            view.with_user(self.user).action_refresh()
            drain(trap)
        snap = view.current_snapshot_id
        self.assertEqual((snap.state, snap.row_count), ("published", 6), snap.message)
        self.assertTrue(snap.statement_id)
        self.assertIn(snap.statement_id, view.snapshot_label)
        self.assertGreaterEqual(len(self.requests_to("/ipai-external/")), 4)  # 3 chunks + 1
        self.assertTrue(self.requests_to(f"/api/2.0/sql/statements/{snap.statement_id}/result/"
                                         "chunks/"))
        rows = self.env[view.model_name].search_read([], ["x_peso_total"], order="id")
        self.assertEqual([r["x_peso_total"] for r in rows],
                         [1000.25, 1001.25, 1002.25, 1003.25, 1004.25, 1005.25])

    def test_rate_limited_poll_is_retried_by_the_gateway(self):
        self.lake.write_table("demo.gold.api_rl", sales_table(days=1))
        view = self.make_view("demo.gold.api_rl", "api_rl")
        self.server.inject("/api/2.0/sql/statements/", 429, count=1, retry_after=0)
        snap = view._refresh_now()
        self.assertEqual((snap.state, snap.row_count), ("published", 2), snap.message)

    def test_rate_limited_submit_becomes_a_job_retry(self):
        self.lake.write_table("demo.gold.api_rl2", sales_table(days=1))
        view = self.make_view("demo.gold.api_rl2", "api_rl2")
        view.action_refresh()
        record = self.env["queue.job"].search([
            ("model_name", "=", "ipai.databricks.snapshot"), ("method_name", "=", "_job_query"),
        ], order="id desc", limit=1)
        self.server.inject("/api/2.0/sql/statements", 429, count=1, retry_after=3)
        with self.assertRaises(RetryableJobError) as caught:
            Job.load(self.env, record.uuid).perform()
        self.assertEqual(caught.exception.seconds, 3)
        self.assertEqual(view.current_snapshot_id.id, False)
        self.assertEqual(view.snapshot_ids[:1].state, "queued", "not failed: it will retry")

    def test_truncated_result_is_surfaced(self):
        self.lake.write_table("demo.gold.api_trunc", sales_table())
        view = self.make_view("demo.gold.api_trunc", "api_trunc", row_limit=4)
        snap = view._refresh_now()
        self.assertEqual((snap.row_count, snap.truncated), (4, True))

    def test_failed_statement_fails_the_refresh_with_its_sqlstate(self):
        self.lake.write_table("demo.gold.api_bad", sales_table(days=1))
        view = self.make_view("demo.gold.api_bad", "api_bad")
        view.source = "SELECT sale_date, no_such_column FROM demo.gold.api_bad"
        snap = view._refresh_now()
        self.assertEqual(snap.state, "failed")
        self.assertIn("42703", snap.message)
        self.assertEqual(view.refresh_state, "failed")
        self.assertEqual(view.freshness_status, "failed")

    def test_parameters_are_bound_not_formatted(self):
        self.lake.write_table("demo.gold.api_param", pa.table({
            "region": ["NCR", "x' OR '1'='1"], "amount": pa.array([1, 2], pa.int32())}))
        view = self.make_view(
            "demo.gold.api_param", "api_param", refresh_mode="incremental",
            watermark_column="amount")
        view._refresh_now()
        self.lake.write_table("demo.gold.api_param", pa.table({
            "region": ["new"], "amount": pa.array([3], pa.int32())}), mode="append")
        snap = view._refresh_now()
        self.assertEqual((snap.loaded_rows, snap.row_count), (1, 3), snap.message)

    # -- jobs --------------------------------------------------------------------------

    def create_remote_job(self, name, sql):
        path = Path(self.root, "jobs", f"{name}.sql")
        path.parent.mkdir(exist_ok=True)
        path.write_text(sql)
        answer = requests.post(
            f"{self.server.url}/api/2.1/jobs/create", timeout=5,
            headers={"Authorization": f"Bearer {TOKEN}"},
            json={"name": name, "tasks": [{"task_key": name, "sql_task": {
                "warehouse_id": "local-warehouse", "file": {"path": f"jobs/{name}.sql"}}}]})
        answer.raise_for_status()
        return self.env["ipai.databricks.job"].create({
            "name": name, "workspace_id": self.workspace.id, "layer": "gold",
            "databricks_job_id": str(answer.json()["job_id"])})

    def remote_runs(self, job):
        answer = requests.get(
            f"{self.server.url}/api/2.1/jobs/runs/list", timeout=5,
            headers={"Authorization": f"Bearer {TOKEN}"},
            params={"job_id": job.databricks_job_id})
        return answer.json().get("runs", [])

    def test_run_now_is_idempotent_and_polled_to_the_end(self):
        self.lake.write_table("demo.silver.api_src", sales_table())
        job = self.create_remote_job(
            "gold_agg", "CREATE OR REPLACE TABLE demo.gold.api_agg AS "
            "SELECT region, sum(transactions) AS n FROM demo.silver.api_src GROUP BY region")
        with trap_jobs() as trap:
            run = job.with_user(self.user).action_run_now()
            trigger = trap.enqueued_jobs[0]
            trigger.perform()
            first_run_id = run.run_id
            # The same queue job performed again (a retry after a crash) reuses its
            # uuid as the idempotency token: Databricks returns the same run.
            trigger.perform()
            self.assertEqual(run.run_id, first_run_id)
            drain(trap)
        self.assertEqual(len(self.remote_runs(job)), 1)
        self.assertEqual(run.state, "success", run.message)
        self.assertEqual(run.result_state, "SUCCESS")
        self.assertTrue(run.start_time and run.end_time)
        self.assertTrue(self.lake.table_exists("demo.gold.api_agg"))

    def test_table_rules_of_a_job_run_on_the_warehouse_as_they_do_locally(self):
        # Messy target: nulls, a text region with an accent, a duplicate, an old date.
        self.lake.write_table("demo.silver.api_dirty", pa.table({
            "store_id": pa.array([1, 2, 2, None, 7], pa.int32()),
            "region": pa.array(["NCR", "Bícol", "NCR ", None, "ncr"]),
            "sale_date": pa.array([dt.date(2026, 1, d) for d in (1, 2, 3, 4, 5)]),
        }))
        job = self.create_remote_job(
            "gold_dirty", "CREATE OR REPLACE TABLE demo.gold.api_dirty AS "
            "SELECT * FROM demo.silver.api_dirty")
        job.target_table = "demo.gold.api_dirty"  # the table the job writes, its rules' table
        Rule = self.env["ipai.databricks.quality.rule"]
        specs = [("not_null", "store_id", {}), ("unique", "store_id", {}),
                 ("between", "store_id", {"min_value": 1, "max_value": 5}),
                 ("accepted_values", "region", {"accepted_values": "NCR, Bícol"}),
                 ("regex", "region", {"pattern": r"^[A-Z][a-zí]*$"}),
                 ("min_row_count", False, {"min_rows": 10}),
                 ("freshness", "sale_date", {"max_age_hours": 24})]
        rules = Rule
        for kind, column, vals in specs:
            rules |= Rule.create(dict(vals, name=kind, table_name="demo.gold.api_dirty",
                                      layer="gold", kind=kind, column=column,
                                      severity="warn"))
        with trap_jobs() as trap:
            run = job.action_run_now()
            drain(trap)
        self.assertEqual(run.state, "success", run.message)
        remote = {r.rule_id.kind: (r.checked_rows, r.failing_rows, r.passed)
                  for r in run.quality_result_ids}
        local = {r.code: (r.checked_rows, r.failing_rows, r.passed) for r in
                 quality.evaluate_on_lakehouse(self.lake, "demo.gold.api_dirty",
                                               rules._to_engine())}
        self.assertEqual(remote, {rule.kind: local[str(rule.id)] for rule in rules})
        self.assertEqual(remote["not_null"], (5, 1, False))
        self.assertEqual(remote["unique"], (4, 2, False))
        self.assertEqual(remote["accepted_values"], (4, 2, False))
        self.assertEqual(remote["freshness"][1:], (1, False))

    def perform_stored(self, method_name, model="ipai.databricks.job.run"):
        """Load the newest stored queue job of ``method_name`` and perform it for real."""
        record = self.env["queue.job"].search([
            ("model_name", "=", model), ("method_name", "=", method_name),
            ("state", "=", "pending")], order="id desc", limit=1)
        self.assertTrue(record, f"no pending {method_name} job")
        job = Job.load(self.env, record.uuid)
        job.perform()
        job.set_done()
        job.store()
        return record

    def test_runs_with_the_default_poll_interval(self):
        # A fresh install has no poll_seconds parameter: the default applies.
        Param = self.env["ir.config_parameter"]
        Param.set_param("ipai_databricks_connector.poll_seconds", False)
        self.lake.write_table("demo.silver.api_eta", sales_table(days=1))
        job = self.create_remote_job(
            "gold_eta", "CREATE OR REPLACE TABLE demo.gold.api_eta AS "
            "SELECT * FROM demo.silver.api_missing_at_first")
        for value, expected in ((False, 10), ("2.5", 3), ("soon", 10), ("-4", 0)):
            Param.set_param("ipai_databricks_connector.poll_seconds", value)
            self.assertEqual(self.env["ipai.databricks.job.run"]._poll_seconds(), expected)
        Param.set_param("ipai_databricks_connector.poll_seconds", False)
        run = job.with_user(self.user).action_run_now()
        before = datetime.now()
        self.perform_stored("_job_run")
        self.assertEqual(run.state, "running", run.message)
        self.assertTrue(run.run_id, "the run started in Databricks is known to Odoo")
        poll = self.env["queue.job"].search([("method_name", "=", "_job_poll")],
                                            order="id desc", limit=1)
        self.assertTrue(poll.eta and before + timedelta(seconds=9) <= poll.eta
                        <= datetime.now() + timedelta(seconds=11), poll.eta)
        for _ in range(50):
            if run.state != "running":
                break
            time.sleep(0.05)  # the local server runs the job in a thread
            self.perform_stored("_job_poll")
        self.assertEqual(run.state, "failed")
        # The repair polls with the same default interval.
        self.lake.write_table("demo.silver.api_missing_at_first", sales_table(days=1))
        run.with_user(self.user).action_repair()
        self.perform_stored("_job_repair")
        self.assertEqual(run.state, "running", run.message)
        for _ in range(50):
            if run.state != "running":
                break
            time.sleep(0.05)  # the local server runs the job in a thread
            self.perform_stored("_job_poll")
        self.assertEqual(run.state, "success", run.message)
        Param.set_param("ipai_databricks_connector.poll_seconds", "0")

    def test_failed_run_is_repaired(self):
        job = self.create_remote_job(
            "gold_missing", "CREATE OR REPLACE TABLE demo.gold.api_out AS "
            "SELECT * FROM demo.silver.api_later")
        with trap_jobs() as trap:
            run = job.action_run_now()
            drain(trap)
        self.assertEqual(run.state, "failed")
        self.assertIn("42P01", run.message)
        self.lake.write_table("demo.silver.api_later", sales_table(days=1))
        with trap_jobs() as trap:
            run.with_user(self.user).action_repair()
            drain(trap)
        self.assertEqual(run.state, "success", run.message)
        self.assertEqual(run.repair_count, 1)
        self.assertEqual(len(self.remote_runs(job)), 1, "a repair is not a new run")

    def test_cancel_refresh_cancels_the_running_statement(self):
        self.lake.write_table("demo.gold.api_cancel", sales_table(days=1))
        view = self.make_view("demo.gold.api_cancel", "api_cancel")
        self.server.pending_delay = 30  # the warehouse "starts" for a long time
        self.addCleanup(setattr, self.server, "pending_delay", 0.0)
        client = self.env["ipai.databricks"]._statement_client(self.workspace)
        statement_id = client.submit("SELECT * FROM demo.gold.api_cancel")["statement_id"]
        self.env["ipai.databricks.snapshot"].create(
            {"view_id": view.id, "state": "queried", "statement_id": statement_id})
        view.refresh_state = "running"
        with trap_jobs() as trap:
            view.with_user(self.user).action_cancel_refresh()
            trap.assert_jobs_count(1)
            drain(trap)
        state = client.get(statement_id)["status"]["state"]
        self.assertEqual(state, "CANCELED")
        self.assertEqual(view.snapshot_ids.state, "failed")

    def test_parameters_are_named_statement_parameters_and_versions_travel(self):
        self.lake.write_table("demo.gold.param_sales", sales_table(days=1))  # version 0
        self.lake.write_table("demo.gold.param_sales", sales_table(days=3))  # version 1
        view = self.make_view(
            "SELECT region, store_id FROM param_sales WHERE region = :region", "param_sales",
            parameter_ids=[(0, 0, {"name": "region", "default_value": "NCR"})])
        hostile = "Visayas' OR 'x' = 'x"
        with trap_jobs() as trap:
            view.with_user(self.user)._enqueue_refresh(values={"region": hostile})
            drain(trap)
        snap = view.snapshot_ids.sorted("id")[-1]
        self.assertEqual((snap.state, snap.row_count), ("published", 0), snap.message)
        self.assertEqual(snap.parameter_label, f"region = {hostile}")
        sent = [st.req for st in self.server._statements.values()
                if "param_sales" in st.req["statement"]]
        self.assertTrue(sent)
        for req in sent:
            self.assertNotIn("Visayas", req["statement"], "never formatted into the SQL")
        # The refresh waits on the warehouse (through the gateway), then polls.
        self.assertEqual({(req["wait_timeout"], req["on_wait_timeout"]) for req in sent},
                         {("50s", "CONTINUE")})
        self.assertIn([{"name": "region", "type": "STRING", "value": hostile}],
                      [req.get("parameters") for req in sent])
        # A table source read as of a Delta version, through the statement API.
        table_view = self.make_view("demo.gold.param_sales", "param_table")
        with trap_jobs() as trap:
            table_view._enqueue_refresh(as_of_version=0)
            drain(trap)
        snap = table_view.current_snapshot_id
        self.assertEqual((snap.delta_version, snap.row_count), (0, 2), snap.message)
