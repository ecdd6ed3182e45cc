"""The local Databricks API server, attacked as a client on the network would."""

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import sql

from odoo.addons.ipai_microservices_gateway.tests.common import free_port
from odoo.tests import BaseCase

from ..lakehouse.devserver import DatabricksApiServer
from ..lakehouse.local_backend import LocalLakehouse

TOKEN = "dapi-hardening"
AUTH = {"Authorization": "Bearer " + TOKEN}
MODULE_DIR = Path(__file__).resolve().parents[1]


class ApiServerCase(BaseCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(tempfile.mkdtemp(prefix="ipai_api_"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.root = self.tmp / "lake"
        LocalLakehouse(str(self.root)).write_table(
            "demo.gold.t", pa.table({"id": list(range(30))}))

    def call(self, url, method, path, body=None, headers=None, params=None):
        return requests.request(method, url + path, headers=dict(AUTH, **(headers or {})),
                                json=body, params=params, timeout=10)

    def run_job(self, url, sql_path):
        job = self.call(url, "POST", "/api/2.1/jobs/create", {"name": "j", "tasks": [
            {"task_key": "t", "sql_task": {"warehouse_id": "local-warehouse",
                                           "file": {"path": sql_path}}}]}).json()
        run = self.call(url, "POST", "/api/2.1/jobs/run-now", {"job_id": job["job_id"]}).json()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            done = self.call(url, "GET", "/api/2.1/jobs/runs/get",
                             params={"run_id": run["run_id"]}).json()
            if done["state"]["life_cycle_state"] == "TERMINATED":
                return done
            time.sleep(0.05)
        raise AssertionError("the run never ended")


class TestApiServerHardening(ApiServerCase):
    def setUp(self):
        super().setUp()
        self.server = DatabricksApiServer(str(self.root), TOKEN, chunk_rows=10).start()
        self.addCleanup(self.server.stop)

    def test_sql_task_files_stay_inside_the_data_root(self):
        outside = self.tmp / "outside.sql"
        outside.write_text("CREATE OR REPLACE TABLE demo.gold.stolen AS SELECT 1 AS x;\n")
        for path in ("../outside.sql", "/../outside.sql", "jobs/../../outside.sql",
                     "../" * 12 + str(outside).lstrip("/")):
            with self.subTest(path=path):
                done = self.run_job(self.server.url, path)
                self.assertEqual(done["state"]["result_state"], "FAILED")
                self.assertIn("outside the data root", done["state"]["state_message"])
        # An absolute path is read under the data root, where there is no such file.
        done = self.run_job(self.server.url, str(outside))
        self.assertEqual(done["state"]["result_state"], "FAILED")
        self.assertFalse(LocalLakehouse(str(self.root)).table_exists("demo.gold.stolen"))

    def test_links_never_follow_the_host_header(self):
        answer = self.call(self.server.url, "POST", "/api/2.0/sql/statements", {
            "warehouse_id": "local-warehouse", "statement": "SELECT * FROM demo.gold.t",
            "disposition": "EXTERNAL_LINKS", "format": "ARROW_STREAM", "wait_timeout": "10s"},
            headers={"Host": "evil.example:80"}).json()
        link = answer["result"]["external_links"][0]["external_link"]
        self.assertTrue(link.startswith(self.server.url + "/ipai-external/"), link)

    def test_a_body_that_is_not_an_object_is_a_400(self):
        for body in ([], [1, 2], "text", 42, None):
            with self.subTest(body=body):
                answer = requests.post(self.server.url + "/api/2.0/sql/statements",
                                       data=json.dumps(body), headers=AUTH,
                                       timeout=10)
                self.assertEqual(answer.status_code, 400, answer.text)
                self.assertEqual(answer.json()["error_code"], "MALFORMED_REQUEST")
        # The server is still up.
        self.assertEqual(self.call(self.server.url, "GET", "/api/2.0/sql/warehouses")
                         .status_code, 200)

    def test_state_is_purged(self):
        self.server.result_ttl = 0.05
        self.server.keep_runs = 2
        (self.root / "jobs").mkdir()
        (self.root / "jobs" / "ok.sql").write_text(
            "CREATE OR REPLACE TABLE demo.gold.copy AS SELECT * FROM demo.gold.t;\n")
        for _ in range(4):
            self.run_job(self.server.url, "jobs/ok.sql")
        for _ in range(5):
            self.call(self.server.url, "POST", "/api/2.0/sql/statements", {
                "warehouse_id": "local-warehouse", "statement": "SELECT 1 AS x",
                "wait_timeout": "10s"})
        time.sleep(0.2)
        self.call(self.server.url, "POST", "/api/2.0/sql/statements", {
            "warehouse_id": "local-warehouse", "statement": "SELECT 1 AS x",
            "wait_timeout": "10s"})
        self.assertLessEqual(len(self.server._statements), 2)
        self.assertLessEqual(len(self.server._runs), 2)


class TestCommandLineServer(ApiServerCase):
    def start_cli(self, *extra):
        port = free_port()
        code = ("import sys; sys.path.insert(0, sys.argv[1]); "
                "from lakehouse.devserver import main; main(sys.argv[2:])")
        proc = subprocess.Popen(  # our own server, fixed arguments
            [sys.executable, "-c", code, str(MODULE_DIR), "--port", str(port),
             "--data", str(self.root), "--token", TOKEN, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(proc.wait, 10)
        self.addCleanup(proc.terminate)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(url + "/api/2.0/sql/warehouses", headers=AUTH, timeout=1)
                return url
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("the command-line server did not start")

    def test_fault_endpoints_are_off_unless_asked_for(self):
        url = self.start_cli()
        answer = self.call(url, "POST", "/ipai-test/faults",
                           {"path_prefix": "/api/2.0/sql/warehouses", "status": 503})
        self.assertEqual(answer.status_code, 404)
        self.assertEqual(self.call(url, "GET", "/api/2.0/sql/warehouses").status_code, 200)
        url = self.start_cli("--test-endpoints", "--public-url", "http://lake.internal:9")
        self.assertEqual(self.call(url, "POST", "/ipai-test/faults", {
            "path_prefix": "/api/2.0/sql/warehouses", "status": 503}).status_code, 200)
        self.assertEqual(self.call(url, "GET", "/api/2.0/sql/warehouses").status_code, 503)
        answer = self.call(url, "POST", "/api/2.0/sql/statements", {
            "warehouse_id": "local-warehouse", "statement": "SELECT * FROM demo.gold.t",
            "disposition": "EXTERNAL_LINKS", "format": "ARROW_STREAM",
            "wait_timeout": "10s"}).json()
        self.assertTrue(answer["result"]["external_links"][0]["external_link"].startswith(
            "http://lake.internal:9/ipai-external/"))

    def test_the_warehouse_begins_stopped_and_the_sdk_starts_and_stops_it(self):
        url = self.start_cli("--warehouse-stopped", "--warehouse-start-seconds", "0.5")
        w = WorkspaceClient(host=url, token=TOKEN, auth_type="pat")
        self.assertEqual(w.warehouses.get("local-warehouse").state, sql.State.STOPPED)
        self.assertEqual(w.warehouses.start("local-warehouse").result().state,
                         sql.State.RUNNING)
        self.assertEqual(w.warehouses.stop("local-warehouse").result().state,
                         sql.State.STOPPED)
