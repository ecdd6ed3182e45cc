"""The local server's SQL warehouse auto-stops when idle, and a stop ends its statements,
as the official ``databricks-sdk`` sees it. The server idles 1 s instead of minutes
(``auto_stop_seconds``); every wait polls with a deadline."""

import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue
from databricks.sdk.service import sql

from odoo.addons.ipai_microservices_gateway.tests.common import loopback_requests_only
from odoo.tests import BaseCase, TransactionCase, tagged

from ..lakehouse.devserver import DatabricksApiServer
from ..lakehouse.local_backend import LocalLakehouse

TOKEN = "dapi-warehouse-test"
WH = "local-warehouse"
ACTIVE = (sql.StatementState.PENDING, sql.StatementState.RUNNING)


class TestWarehouseAutoStop(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = Path(tempfile.mkdtemp(prefix="ipai_wh_"))
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        LocalLakehouse(str(cls.root)).write_table("lab.gold.t", pa.table({"id": list(range(7))}))
        cls.server = DatabricksApiServer(
            str(cls.root), TOKEN, auto_stop_seconds=1, warehouse_start_seconds=0.2,
            warehouse_stop_seconds=0.3).start()
        cls.addClassCleanup(cls.server.stop)
        cls.w = WorkspaceClient(host=cls.server.url, token=TOKEN, auth_type="pat")

    def setUp(self):
        super().setUp()
        self.addCleanup(setattr, self.server, "run_delay", 0)
        self.addCleanup(setattr, self.server, "pending_delay", 0)
        self.addCleanup(setattr, self.server, "auto_stop_seconds", 1.0)
        self.addCleanup(setattr, self.server, "auto_stop_mins", 120)

    def state(self):
        return self.w.warehouses.get(WH).state

    def wait_warehouse(self, wanted, seconds=10, seen=None):
        """Poll until the warehouse is ``wanted``; the states passed go to ``seen``."""
        deadline = time.monotonic() + seconds
        while True:
            state = self.state()
            if seen is not None and (not seen or seen[-1] != state):
                seen.append(state)
            if state == wanted:
                return time.monotonic()
            self.assertLess(time.monotonic(), deadline, "the warehouse stayed %s" % state)
            time.sleep(0.05)

    def running(self):
        self.w.warehouses.start(WH)
        return self.wait_warehouse(sql.State.RUNNING)

    def submit(self, statement):
        return self.w.statement_execution.execute_statement(
            warehouse_id=WH, statement=statement, wait_timeout="0s")

    def status(self, response):
        return self.w.statement_execution.get_statement(response.statement_id).status

    def wait_statement(self, response, wanted, seconds=10):
        deadline = time.monotonic() + seconds
        while (status := self.status(response)).state != wanted:
            self.assertLess(time.monotonic(), deadline, "the statement stayed %s" % status.state)
            time.sleep(0.05)
        return status

    def test_auto_stop_mins_is_read_and_edited_through_the_sdk(self):
        self.server.auto_stop_seconds = None  # minutes: no stop during this test
        self.running()
        warehouse = self.w.warehouses.get(WH)
        self.assertEqual(warehouse.auto_stop_mins, 120, "Databricks' default")
        self.assertEqual([w.auto_stop_mins for w in self.w.warehouses.list()], [120])
        edited = self.w.warehouses.edit(WH, auto_stop_mins=45).result()  # waits for RUNNING
        self.assertEqual(edited.auto_stop_mins, 45)
        again = self.w.warehouses.get(WH)
        self.assertEqual((again.auto_stop_mins, again.cluster_size, again.name),
                         (45, warehouse.cluster_size, warehouse.name), "other fields kept")
        for wrong in (5, 1, -1):
            with self.subTest(auto_stop_mins=wrong), \
                    self.assertRaisesRegex(InvalidParameterValue, "0 .*at least 10"):
                self.w.warehouses.edit(WH, auto_stop_mins=wrong)
        self.assertEqual(self.w.warehouses.get(WH).auto_stop_mins, 45, "a refused edit")
        self.w.warehouses.edit(WH, auto_stop_mins=0, cluster_size="Small")
        self.assertEqual((self.w.warehouses.get(WH).auto_stop_mins,
                          self.w.warehouses.get(WH).cluster_size), (0, "Small"))
        self.addCleanup(setattr, self.server, "warehouse_size", "2X-Small")
        self.server.auto_stop_seconds = 0.2  # 0 minutes still means never
        time.sleep(0.8)
        self.assertEqual(self.state(), sql.State.RUNNING)

    def test_an_idle_warehouse_stops_by_itself(self):
        self.running()
        since = time.monotonic()  # ran since about now (the poll's 0.05 s)
        seen = []
        stopping = None
        while (state := self.state()) != sql.State.STOPPED:
            seen.append(state)
            if state == sql.State.STOPPING and stopping is None:
                stopping = time.monotonic()
            self.assertLess(time.monotonic() - since, 10, "it never stopped")
            time.sleep(0.05)
        self.assertEqual(seen[0], sql.State.RUNNING)
        self.assertIn(sql.State.STOPPING, seen, "RUNNING -> STOPPING -> STOPPED")
        self.assertGreater(stopping - since, 0.8, "not before its idle time")
        self.assertEqual(self.w.warehouses.get(WH).num_clusters, 0)

    def test_a_running_statement_is_not_cut_by_auto_stop(self):
        self.running()
        self.server.run_delay = 2.5  # RUNNING 2.5 s, over twice the idle time
        response = self.submit("SELECT count(*) AS n FROM lab.gold.t")
        deadline = time.monotonic() + 15
        while (status := self.status(response)).state in ACTIVE:
            self.assertEqual(self.state(), sql.State.RUNNING, "stopped under a statement")
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)
        ended = time.monotonic()
        self.assertEqual(status.state, sql.StatementState.SUCCEEDED, status)
        result = self.w.statement_execution.get_statement(response.statement_id).result
        self.assertEqual(result.data_array, [["7"]])
        stopped = self.wait_warehouse(sql.State.STOPPED)
        self.assertGreater(stopped - ended, 0.8, "the idle time counts from the end")

    def test_a_stop_cancels_the_running_and_pending_statements(self):
        self.server.auto_stop_seconds = None  # only the API stops it here
        self.running()
        done = self.w.statement_execution.execute_statement(
            warehouse_id=WH, statement="SELECT max(id) AS m FROM lab.gold.t", wait_timeout="10s")
        self.assertEqual(done.status.state, sql.StatementState.SUCCEEDED)
        self.server.run_delay = 30
        running = self.submit("SELECT 1 AS one")
        self.wait_statement(running, sql.StatementState.RUNNING)
        self.server.pending_delay = 30
        pending = self.submit("SELECT 2 AS two")
        self.assertEqual(self.status(pending).state, sql.StatementState.PENDING)
        self.w.warehouses.stop(WH)
        for response in (running, pending):
            status = self.status(response)
            self.assertEqual(status.state, sql.StatementState.CANCELED)
            self.assertIn("warehouse %s was stopped" % WH, status.error.message)
        self.wait_warehouse(sql.State.STOPPED)
        kept = self.w.statement_execution.get_statement(done.statement_id)
        self.assertEqual((kept.status.state, kept.result.data_array),
                         (sql.StatementState.SUCCEEDED, [["6"]]), "a result stays readable")

    def test_a_statement_restarts_the_auto_stopped_warehouse(self):
        self.running()
        self.wait_warehouse(sql.State.STOPPED)  # auto-stopped after 1 s
        response = self.submit("SELECT count(*) AS n FROM lab.gold.t")
        self.assertEqual(response.status.state, sql.StatementState.PENDING)
        self.assertEqual(self.state(), sql.State.STARTING)
        self.wait_statement(response, sql.StatementState.SUCCEEDED)
        self.assertEqual(
            self.w.statement_execution.get_statement(response.statement_id).result.data_array,
            [["7"]])
        self.assertEqual(self.state(), sql.State.RUNNING, "idle less than 1 s yet")


@tagged("post_install", "-at_install")
class TestWorkspaceShowsAutoStop(TransactionCase):
    """The workspace form shows the warehouse's auto-stop next to its size."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        loopback_requests_only(cls)
        root = tempfile.mkdtemp(prefix="ipai_wh_odoo_")
        cls.addClassCleanup(shutil.rmtree, root, True)
        cls.server = DatabricksApiServer(root, TOKEN).start()
        cls.addClassCleanup(cls.server.stop)
        service = cls.env["ipai.gateway.service"].create({
            "name": "Databricks (auto-stop test)", "code": "dbx_autostop_test",
            "kind": "databricks", "base_url": cls.server.url, "auth_type": "bearer",
            "token": TOKEN, "connect_timeout": 2, "read_timeout": 10, "health_path": False})
        cls.workspace = cls.env["ipai.databricks.workspace"].create({
            "name": "Databricks (auto-stop)", "backend": "databricks",
            "service_id": service.id, "warehouse_id": WH})

    def test_the_workspace_shows_the_auto_stop_minutes(self):
        self.workspace.action_refresh_warehouse()
        self.assertEqual((self.workspace.warehouse_size, self.workspace.warehouse_auto_stop_mins),
                         ("2X-Small", 120))
        WorkspaceClient(host=self.server.url, token=TOKEN, auth_type="pat").warehouses.edit(
            WH, auto_stop_mins=30)
        self.workspace.action_refresh_warehouse()
        self.assertEqual(self.workspace.warehouse_auto_stop_mins, 30)
