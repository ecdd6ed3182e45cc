"""The SQL warehouse from Odoo: its state and size on the workspace, start and stop by a
Databricks Manager, and a refresh that meets a stopped warehouse retrying as a queue job
while the warehouse starts. Against the local API server run as its own process."""

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from odoo.addons.ipai_microservices_gateway.tests.common import (
    free_port,
    loopback_requests_only,
)
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged

from ..lakehouse.local_backend import LocalLakehouse
from ..models.ipai_databricks_snapshot import WAREHOUSE_RETRY_SECONDS
from .common import drain, sales_table, wait_until_up

TOKEN = "dapi-warehouse-test"
MODULE_DIR = Path(__file__).resolve().parents[1]


@tagged("post_install", "-at_install")
class TestDatabricksWarehouse(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        loopback_requests_only(cls)
        cls.root = tempfile.mkdtemp(prefix="ipai_dbx_wh_")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        LocalLakehouse(cls.root).write_table("demo.gold.wh_sales", sales_table())
        port = free_port()
        code = ("import sys; sys.path.insert(0, sys.argv[1]); "
                "from lakehouse.devserver import main; main(sys.argv[2:])")
        # Our own server, fixed arguments: its warehouse takes 1.5 s to start.
        cls.proc = subprocess.Popen(
            [sys.executable, "-c", code, str(MODULE_DIR), "--port", str(port),
             "--data", cls.root, "--token", TOKEN, "--warehouse-start-seconds", "1.5"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.addClassCleanup(cls.proc.wait, 10)
        cls.addClassCleanup(cls.proc.terminate)
        cls.url = f"http://127.0.0.1:{port}"
        wait_until_up(lambda: requests.get(cls.url + "/api/2.0/sql/warehouses", timeout=1))
        cls.service = cls.env["ipai.gateway.service"].create({
            "name": "Databricks (warehouse test)", "code": "dbx_wh_test", "kind": "databricks",
            "base_url": cls.url, "auth_type": "bearer", "token": TOKEN,
            "connect_timeout": 2, "read_timeout": 10, "retry_max_attempts": 2,
            "retry_backoff_initial": 0.01, "retry_backoff_max": 0.05,
            "retry_total_budget": 15, "breaker_failure_threshold": 50,
            "breaker_minimum_calls": 100, "health_path": False,
        })
        cls.workspace = cls.env["ipai.databricks.workspace"].create({
            "name": "Databricks (warehouse)", "backend": "databricks",
            "service_id": cls.service.id, "warehouse_id": "local-warehouse",
            "catalog": "demo", "schema_name": "gold",
            "link_hosts": f"127.0.0.1:{port}", "allow_http_links": True})
        cls.env["ir.config_parameter"].set_param("ipai_databricks_connector.poll_seconds", "0")
        # A Databricks Manager who is no administrator (and no Gateway user).
        cls.manager = new_test_user(
            cls.env, login="dbx_wh_manager",
            groups="ipai_databricks_connector.databricks_group_manager")
        cls.user = new_test_user(
            cls.env, login="dbx_wh_user", groups="ipai_databricks_connector.databricks_group_user")

    def remote_state(self):
        answer = requests.get(self.url + "/api/2.0/sql/warehouses/local-warehouse", timeout=5,
                              headers={"Authorization": f"Bearer {TOKEN}"})
        return answer.json()["state"]

    def wait_remote(self, state, timeout=30):
        deadline = time.monotonic() + timeout
        while self.remote_state() != state:
            self.assertLess(time.monotonic(), deadline, f"the warehouse never got {state}")
            time.sleep(0.1)

    def set_remote(self, action, state):
        requests.post(f"{self.url}/api/2.0/sql/warehouses/local-warehouse/{action}", timeout=5,
                      headers={"Authorization": f"Bearer {TOKEN}"}).raise_for_status()
        self.wait_remote(state)

    def setUp(self):
        super().setUp()
        self.set_remote("start", "RUNNING")  # each test begins with a running warehouse

    def view_on_stopped_warehouse(self, name, code):
        """A view of demo.gold.wh_sales with its Odoo model, then the warehouse stopped."""
        view = self.env["ipai.databricks.view"].create({
            "name": name, "code": code, "workspace_id": self.workspace.id,
            "source": "demo.gold.wh_sales", "schedule": "manual"})
        with trap_jobs() as trap:
            view.action_create_model()
            drain(trap)
        self.set_remote("stop", "STOPPED")
        return view

    def last_stored_job(self, method):
        """The latest queue job of a snapshot step (``_job_query``, ``_job_load``...)."""
        return self.env["queue.job"].search([
            ("model_name", "=", "ipai.databricks.snapshot"), ("method_name", "=", method),
        ], order="id desc", limit=1)

    def test_the_workspace_shows_the_warehouse_state_and_size(self):
        self.assertFalse(self.workspace.warehouse_state)
        self.workspace.with_user(self.user).action_refresh_warehouse()
        self.assertEqual((self.workspace.warehouse_state, self.workspace.warehouse_size),
                         ("RUNNING", "2X-Small"))
        self.assertTrue(self.workspace.warehouse_checked_at)
        self.set_remote("stop", "STOPPED")
        self.workspace.action_test_connection()
        self.assertEqual(self.workspace.warehouse_state, "STOPPED")
        self.assertIn("STOPPED", self.workspace.connection_message)

    def test_a_manager_starts_and_stops_the_warehouse(self):
        ws = self.workspace.with_user(self.manager)
        self.assertFalse(self.manager.has_group("base.group_system"))
        ws.action_stop_warehouse()
        self.assertIn(self.workspace.warehouse_state, ("STOPPING", "STOPPED"))
        self.wait_remote("STOPPED")
        ws.action_refresh_warehouse()
        self.assertEqual(self.workspace.warehouse_state, "STOPPED")
        ws.action_start_warehouse()
        self.assertEqual(self.workspace.warehouse_state, "STARTING", "starting takes 1.5 s")
        self.wait_remote("RUNNING")
        ws.action_refresh_warehouse()
        self.assertEqual(self.workspace.warehouse_state, "RUNNING")

    def test_a_user_may_neither_start_nor_stop_it(self):
        ws = self.workspace.with_user(self.user)
        with self.assertRaises(AccessError):
            ws.action_stop_warehouse()
        self.set_remote("stop", "STOPPED")
        with self.assertRaises(AccessError):
            ws.action_start_warehouse()
        self.assertEqual(self.remote_state(), "STOPPED", "nothing was sent")

    def test_a_refresh_on_a_stopped_warehouse_retries_until_it_runs(self):
        view = self.view_on_stopped_warehouse("WH sales", "wh_sales")
        view.with_user(self.user).action_refresh()
        record = self.last_stored_job("_job_query")
        job = Job.load(self.env, record.uuid)
        started = time.monotonic()
        with self.assertRaises(RetryableJobError) as caught:
            job.perform()
        self.assertLess(time.monotonic() - started, 1.5, "the worker did not wait for it")
        self.assertEqual(caught.exception.seconds, WAREHOUSE_RETRY_SECONDS)
        self.assertTrue(caught.exception.ignore_retry, "waiting is not a failed try")
        self.assertIn("local-warehouse is starting", str(caught.exception))
        self.assertEqual(self.remote_state(), "STARTING", "the job asked it to start")
        snap = view.snapshot_ids[:1]
        self.assertEqual((snap.state, snap.statement_id), ("queued", False))
        self.wait_remote("RUNNING")
        job = Job.load(self.env, record.uuid)
        job.perform()  # the retry, once the warehouse runs
        self.assertEqual(snap.state, "queried", snap.message)
        for method in ("_job_load", "_job_quality", "_job_publish"):
            Job.load(self.env, self.last_stored_job(method).uuid).perform()
        self.assertEqual((snap.state, snap.row_count), ("published", 6), snap.message)
        self.assertEqual(view.current_snapshot_id, snap)

    def test_a_warehouse_that_never_starts_fails_the_refresh(self):
        view = self.view_on_stopped_warehouse("WH late", "wh_late")
        self.env["ir.config_parameter"].set_param(
            "ipai_databricks_connector.warehouse_start_minutes", "0")
        view.action_refresh()
        record = self.last_stored_job("_job_query")
        view.snapshot_ids[:1].started_at = "2026-01-01 00:00:00"
        Job.load(self.env, record.uuid).perform()
        snap = view.snapshot_ids[:1]
        self.assertEqual(snap.state, "failed")
        self.assertIn("did not start within 0 minutes", snap.message)
        self.assertEqual(view.refresh_state, "failed")
