"""The local Databricks API server answers malformed requests as a workspace does: a 400
``INVALID_PARAMETER_VALUE`` naming the field, at submit, never a crash of the process, a
statement FAILED on a Python error, a run RUNNING forever, nor a Python class name.

Malformed requests go through ``requests`` (the SDK would not send them); the legitimate
ones through the official ``databricks-sdk``.
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue
from databricks.sdk.service import jobs, sql

from odoo.addons.ipai_microservices_gateway.tests.common import free_port
from odoo.tests import BaseCase

from ..lakehouse.devserver import DatabricksApiServer
from ..lakehouse.local_backend import LocalLakehouse

TOKEN = "dapi-requests-test"
AUTH = {"Authorization": "Bearer " + TOKEN}
WH = "local-warehouse"
MODULE_DIR = Path(__file__).resolve().parents[1]
SERVER_LOG = DatabricksApiServer.__module__.rsplit(".", 1)[0]  # the devserver package
# What a Python error looks like when it leaks into an answer.
PYTHON = re.compile(r"[A-Za-z]+(?:Error|Exception)\b|cyfunction|Traceback|object has no "
                    r"attribute|string indices|NoneType")


def _lake(root, rows=5):
    lake = LocalLakehouse(str(root))
    lake.write_table("lab.gold.five", pa.table({"id": pa.array(range(rows), pa.int64())}))
    (root / "jobs").mkdir(exist_ok=True)
    (root / "jobs" / "copy.sql").write_text(
        "CREATE OR REPLACE TABLE lab.silver.copy AS SELECT id FROM lab.gold.five;\n")
    return lake


class RequestsCase(BaseCase):
    server_options = {}

    @classmethod
    def start_server(cls):
        """A server of the class's own over a fresh lakehouse (``server_options``)."""
        cls.root = Path(tempfile.mkdtemp(prefix="ipai_req_"))
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        _lake(cls.root)
        cls.server = DatabricksApiServer(str(cls.root), TOKEN, **cls.server_options).start()
        cls.addClassCleanup(cls.server.stop)
        cls.url = cls.server.url

    def post(self, url, path, body):
        return requests.post(url + path, headers=AUTH, data=json.dumps(body), timeout=30)

    def assertRefused(self, answer, field, status=400, code="INVALID_PARAMETER_VALUE"):
        """A client error answered at submit: status, error code, the field named, no
        Python in the message."""
        self.assertEqual(answer.status_code, status, answer.text)
        body = answer.json()
        self.assertEqual(body.get("error_code"), code, body)
        self.assertIn(field, body.get("message", ""), body)
        self.assertNotRegex(answer.text, PYTHON)

    def statement(self, url, **fields):
        return self.post(url, "/api/2.0/sql/statements", dict(
            {"warehouse_id": WH, "statement": "SELECT id FROM lab.gold.five ORDER BY id",
             "wait_timeout": "10s"}, **fields))

    def wait_run(self, w, run_id, seconds=15):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            run = w.jobs.get_run(run_id)
            if run.status.state == jobs.RunLifecycleStateV2State.TERMINATED:
                return run
            time.sleep(0.05)
        raise AssertionError("run %s never ended: %s" % (run_id, run.state))

    def own_root(self):
        root = Path(tempfile.mkdtemp(prefix="ipai_req_"))
        self.addCleanup(shutil.rmtree, root, True)
        _lake(root)
        return root


class TestStatementRequests(RequestsCase):
    server_options = {"chunk_rows": 2}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_server()
        cls.w = WorkspaceClient(host=cls.url, token=TOKEN, auth_type="pat")

    def execute(self, statement, **kwargs):
        return self.w.statement_execution.execute_statement(
            warehouse_id=WH, statement=statement, wait_timeout="10s", **kwargs)

    def assertServes(self):
        """The server still runs statements after the bad request."""
        answer = self.execute("SELECT count(*) AS n FROM lab.gold.five")
        self.assertEqual(answer.status.state, sql.StatementState.SUCCEEDED)
        self.assertEqual(answer.result.data_array, [["5"]])

    def test_row_and_byte_limits_are_integers_of_at_least_zero(self):
        # A negative row_limit: TestCommandLineServerSurvives (it aborted the process).
        for field, value in [("row_limit", "abc"), ("row_limit", "1.5"),
                             ("row_limit", 1.5), ("row_limit", True), ("row_limit", [1]),
                             ("byte_limit", "x"), ("byte_limit", -1), ("byte_limit", {})]:
            with self.subTest(field=field, value=value):
                self.assertRefused(self.statement(self.url, statement="SELECT 1 AS a",
                                                  **{field: value}), field)
        self.assertServes()
        limited = self.execute("SELECT id FROM lab.gold.five ORDER BY id", row_limit=3)
        self.assertEqual((limited.manifest.truncated, limited.manifest.total_row_count),
                         (True, 3))
        none = self.execute("SELECT id FROM lab.gold.five", row_limit=0)
        self.assertEqual((none.status.state, none.manifest.total_row_count),
                         (sql.StatementState.SUCCEEDED, 0))
        # int64 fields may come as strings of digits in JSON (proto3), as the REST API reads
        as_text = self.statement(self.url, row_limit="2").json()
        self.assertEqual(as_text["manifest"]["total_row_count"], 2, as_text)

    def test_statement_fields_have_their_documented_types_and_values(self):
        for field, value in [("statement", ["SELECT 1"]), ("statement", 5),
                             ("wait_timeout", 5), ("wait_timeout", "60s"),
                             ("on_wait_timeout", 5), ("on_wait_timeout", "LATER"),
                             ("disposition", ["INLINE"]), ("disposition", "ATTACHED"),
                             ("format", 1), ("format", "PARQUET"), ("catalog", 5),
                             ("schema", ["gold"])]:
            with self.subTest(field=field, value=value):
                self.assertRefused(self.statement(self.url, **{field: value}), field)
        # The documented combination: ARROW_STREAM and CSV only with EXTERNAL_LINKS.
        self.assertRefused(self.statement(self.url, format="ARROW_STREAM"), "INLINE")
        self.assertRefused(self.statement(self.url, statement="  "), "statement")
        self.assertServes()
        linked = self.execute("SELECT id FROM lab.gold.five", format=sql.Format.CSV,
                              disposition=sql.Disposition.EXTERNAL_LINKS)
        self.assertEqual(linked.status.state, sql.StatementState.SUCCEEDED)

    def test_parameters_are_checked_as_documented(self):
        cases = [
            ({"name": "b", "value": True, "type": "BOOLEAN"}, "Parameter b: value"),
            ({"name": "b", "value": 5, "type": "TIMESTAMP"}, "Parameter b: value"),
            ({"name": "b", "value": {"x": 1}}, "Parameter b: value"),
            ({"value": "1"}, "parameters[0].name"),
            ({"name": "", "value": "1"}, "parameters[0].name"),
            ({"name": 7, "value": "1"}, "parameters[0].name"),
            ({"name": "b", "value": "1", "type": "BLOB"}, "Parameter b: unsupported type"),
            ({"name": "b", "value": "1", "type": "ARRAY<INT>"}, "Parameter b: unsupported"),
            ({"name": "b", "value": "1", "type": 5}, "Parameter b: type"),
            ({"name": "b", "value": "1", "type": "DECIMAL(38,40)"}, "Parameter b: DECIMAL"),
            ({"name": "b", "value": "abc", "type": "INT"}, "Parameter b: cannot cast"),
            ({"name": "b", "value": "12345", "type": "DECIMAL(4,2)"}, "Parameter b: cannot"),
            ({"name": "b", "value": "maybe", "type": "BOOLEAN"}, "Parameter b: cannot cast"),
        ]
        for param, field in cases:
            with self.subTest(param=param):
                self.assertRefused(self.statement(self.url, statement="SELECT :b AS b",
                                                  parameters=[param]), field)
        for params, field in [("notalist", "parameters must be a list"),
                              ([5], "parameters[0]"), ({"b": "1"}, "parameters must be"),
                              ([{"name": "b", "value": "1"}, {"name": "b", "value": "2"}],
                               "Parameter b is given more than once")]:
            with self.subTest(params=params):
                self.assertRefused(self.statement(self.url, statement="SELECT :b AS b",
                                                  parameters=params), field)
        self.assertServes()
        # The documented forms: type omitted is STRING, value omitted is NULL.
        P = sql.StatementParameterListItem
        answer = self.execute("SELECT :s AS s, :n AS n, :d AS d, :t AS t", parameters=[
            P(name="s", value="it's"), P(name="n", type="INT"),
            P(name="d", value="1.5", type="DECIMAL(10,2)"), P(name="t", value="TRUE",
                                                              type="BOOLEAN")])
        self.assertEqual(answer.status.state, sql.StatementState.SUCCEEDED, answer.status)
        self.assertEqual(answer.result.data_array, [["it's", None, "1.50", "true"]])


class TestJobRequests(RequestsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_server()
        cls.w = WorkspaceClient(host=cls.url, token=TOKEN, auth_type="pat")

    def task(self, key, depends=(), path="jobs/copy.sql"):
        return jobs.Task(task_key=key, sql_task=jobs.SqlTask(
            warehouse_id=WH, file=jobs.SqlTaskFile(path=path)),
            depends_on=[jobs.TaskDependency(task_key=d) for d in depends])

    def raw_task(self, key, **extra):
        return dict({"task_key": key, "sql_task": {"warehouse_id": WH,
                                                   "file": {"path": "jobs/copy.sql"}}}, **extra)

    def test_a_bad_run_now_does_not_spend_its_idempotency_token(self):
        job_id = self.w.jobs.create(name="copy", tasks=[self.task("copy")]).job_id
        for params in (["x"], "x", {"p": 5}):
            with self.subTest(job_parameters=params):
                self.assertRefused(self.post(self.url, "/api/2.1/jobs/run-now", {
                    "job_id": job_id, "idempotency_token": "odoo-retry-1",
                    "job_parameters": params}), "job_parameters")
        run_id = self.w.jobs.run_now(job_id=job_id, idempotency_token="odoo-retry-1") \
            .response.run_id
        run = self.wait_run(self.w, run_id)  # runs/get finds it: the token made this run
        self.assertEqual(run.state.result_state, jobs.RunResultState.SUCCESS)
        again = self.w.jobs.run_now(job_id=job_id, idempotency_token="odoo-retry-1")
        self.assertEqual(again.response.run_id, run_id)

    def test_job_settings_are_checked_at_create(self):
        cases = [
            ({"tasks": ["oops"]}, "tasks[0]"),
            ({"tasks": [self.raw_task("x"), "oops"]}, "tasks[1]"),
            ({"tasks": []}, "tasks"),
            ({"tasks": "x"}, "tasks"),
            ({"tasks": [{"sql_task": {}}]}, "task_key"),
            ({"tasks": [self.raw_task("a b")]}, "task_key"),
            ({"tasks": [self.raw_task("x"), self.raw_task("x")]}, "Task key x"),
            ({"tasks": [self.raw_task("x", depends_on="zz")]}, "depends_on"),
            ({"tasks": [self.raw_task("x", depends_on=["y"])]}, "depends_on"),
            ({"tasks": [self.raw_task("x", depends_on=[{"task_key": "nope"}])]}, "nope"),
            ({"tasks": [self.raw_task("x", depends_on=[{"task_key": "x"}])]}, "cycle"),
            ({"tasks": [self.raw_task("x", sql_task="SELECT 1")]}, "sql_task"),
            ({"tasks": [self.raw_task("x")], "parameters": [{"default": "1"}]},
             "parameters"),
            ({"tasks": [self.raw_task("x")], "name": ["n"]}, "name"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                self.assertRefused(self.post(self.url, "/api/2.1/jobs/create", body), field)
        # A cycle is refused at create, as a workspace does, not found by the run.
        with self.assertRaisesRegex(InvalidParameterValue, "cycle: a -> b -> c -> a"):
            self.w.jobs.create(name="cycle", tasks=[
                self.task("a", ["b"]), self.task("b", ["c"]), self.task("c", ["a"])])
        self.assertFalse(list(self.w.jobs.list(name="cycle")), "nothing was created")
        job_id = self.w.jobs.create(name="chain", tasks=[
            self.task("a"), self.task("b", ["a"]), self.task("c", ["a", "b"])]).job_id
        run = self.wait_run(self.w, self.w.jobs.run_now(job_id=job_id).response.run_id)
        self.assertEqual(run.state.result_state, jobs.RunResultState.SUCCESS)

    def test_job_settings_are_checked_at_reset_and_update(self):
        job_id = self.w.jobs.create(name="edited", tasks=[self.task("a")]).job_id
        self.assertRefused(self.post(self.url, "/api/2.2/jobs/reset", {
            "job_id": job_id, "new_settings": {"tasks": [
                self.raw_task("a", depends_on=[{"task_key": "b"}]),
                self.raw_task("b", depends_on=[{"task_key": "a"}])]}}), "cycle")
        self.assertRefused(self.post(self.url, "/api/2.2/jobs/update", {
            "job_id": job_id, "new_settings": {"tasks": [
                self.raw_task("a", depends_on="zz")]}}), "depends_on")
        self.assertRefused(self.post(self.url, "/api/2.2/jobs/update", {
            "job_id": job_id, "fields_to_remove": ["tasks"]}), "tasks")
        self.assertEqual([t.task_key for t in self.w.jobs.get(job_id).settings.tasks], ["a"])
        self.w.jobs.reset(job_id, new_settings=jobs.JobSettings(
            name="edited", tasks=[self.task("a"), self.task("b", ["a"])]))
        self.w.jobs.update(job_id, new_settings=jobs.JobSettings(name="renamed"))
        settings = self.w.jobs.get(job_id).settings
        self.assertEqual((settings.name, [t.task_key for t in settings.tasks]),
                         ("renamed", ["a", "b"]))

    def test_a_user_cancel_reports_user_canceled(self):
        self.server.task_delay = 30  # a slow task
        self.addCleanup(setattr, self.server, "task_delay", 0.0)
        (self.root / "jobs" / "slow.sql").write_text(
            "CREATE OR REPLACE TABLE lab.silver.slow AS SELECT id FROM lab.gold.five;\n")
        job_id = self.w.jobs.create(name="slow", tasks=[
            self.task("a", path="jobs/slow.sql"), self.task("b", ["a"], "jobs/slow.sql")]).job_id
        run_id = self.w.jobs.run_now(job_id=job_id).response.run_id
        deadline = time.monotonic() + 10
        while self.w.jobs.get_run(run_id).tasks[0].state.life_cycle_state != \
                jobs.RunLifeCycleState.RUNNING:
            self.assertLess(time.monotonic(), deadline, "the task never ran")
            time.sleep(0.05)
        self.w.jobs.cancel_run(run_id)
        run = self.wait_run(self.w, run_id, seconds=10)  # well before the 30 s of the task
        self.assertEqual(run.state.result_state, jobs.RunResultState.CANCELED)
        self.assertEqual(run.status.termination_details.code,
                         jobs.TerminationCodeCode.USER_CANCELED)
        self.assertEqual([t.state.result_state for t in run.tasks],
                         [jobs.RunResultState.CANCELED] * 2)
        self.assertFalse(LocalLakehouse(str(self.root)).table_exists("lab.silver.slow"))

    def test_a_deleted_runs_token_is_an_error(self):
        root = self.own_root()
        server = DatabricksApiServer(str(root), TOKEN, keep_runs=1).start()
        self.addCleanup(server.stop)
        w = WorkspaceClient(host=server.url, token=TOKEN, auth_type="pat")
        job_id = w.jobs.create(name="copy", tasks=[self.task("copy")]).job_id
        first = w.jobs.run_now(job_id=job_id, idempotency_token="odoo-run-7").response.run_id
        self.wait_run(w, first)
        self.wait_run(w, w.jobs.run_now(job_id=job_id).response.run_id)
        answer = self.post(server.url, "/api/2.1/jobs/run-now",
                           {"job_id": job_id, "idempotency_token": "odoo-run-7"})
        self.assertRefused(answer, "odoo-run-7")
        self.assertIn("deleted", answer.json()["message"])
        with self.assertRaisesRegex(InvalidParameterValue, "deleted"):
            w.jobs.run_now(job_id=job_id, idempotency_token="odoo-run-7")
        self.assertEqual(len(list(w.jobs.list_runs(job_id=job_id))), 1, "no new run")

    def test_a_run_whose_thread_fails_ends_and_a_server_bug_names_no_class(self):
        # Jobs stored before the settings were checked: the run thread fails on the first,
        # run-now itself on the second.
        root = self.own_root()
        stored = {"7001": {"job_id": 7001, "creator_user_name": "local", "created_time": 0,
                           "settings": {"name": "old", "tasks": [
                               self.raw_task("x", depends_on=[{"task_key": ["y"]}])]}},
                  "7002": {"job_id": 7002, "creator_user_name": "local", "created_time": 0,
                           "settings": {"name": "older", "tasks": ["oops"]}}}
        (root / "_jobs.json").write_text(json.dumps(stored))
        server = DatabricksApiServer(str(root), TOKEN).start()
        self.addCleanup(server.stop)
        w = WorkspaceClient(host=server.url, token=TOKEN, auth_type="pat")
        with self.assertLogs(SERVER_LOG, "ERROR") as logs:
            run_id = w.jobs.run_now(job_id=7001).response.run_id
            run = self.wait_run(w, run_id)
            answer = self.post(server.url, "/api/2.1/jobs/run-now", {"job_id": 7002})
        self.assertEqual(run.state.life_cycle_state, jobs.RunLifeCycleState.INTERNAL_ERROR)
        self.assertEqual(run.status.termination_details.code,
                         jobs.TerminationCodeCode.INTERNAL_ERROR)
        self.assertIn("error id", run.state.state_message)
        self.assertNotRegex(run.state.state_message, PYTHON)
        self.assertEqual(run.tasks[0].state.life_cycle_state,
                         jobs.RunLifeCycleState.INTERNAL_ERROR)
        self.assertFalse(list(w.jobs.list_runs(active_only=True)), "no run left active")
        self.assertEqual(answer.status_code, 500, answer.text)
        self.assertEqual(answer.json()["error_code"], "INTERNAL_ERROR")
        self.assertIn("request id", answer.json()["message"])
        self.assertNotRegex(answer.text, PYTHON)
        log = "\n".join(logs.output)  # the details are in the server's log only
        self.assertEqual(len(logs.records), 2, log)
        self.assertIn("TypeError", logs.output[0])
        self.assertIn("TypeError", logs.output[1])
        ref = re.search(r"request id (\w+)", answer.json()["message"]).group(1)
        self.assertIn(ref, log)
        self.assertEqual(w.jobs.get_run(run_id).run_id, run_id, "the server still answers")


class TestCommandLineServerSurvives(RequestsCase):
    def test_a_negative_row_limit_on_a_larger_result_does_not_abort_the_server(self):
        root = self.own_root()
        port = free_port()
        code = ("import sys; sys.path.insert(0, sys.argv[1]); "
                "from lakehouse.devserver import main; main(sys.argv[2:])")
        proc = subprocess.Popen(  # our own server (./suite databricks-api), fixed arguments
            [sys.executable, "-c", code, str(MODULE_DIR), "--port", str(port),
             "--data", str(root), "--token", TOKEN, "--chunk-rows", "10"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(proc.wait, 10)
        self.addCleanup(proc.terminate)
        url = "http://127.0.0.1:%d" % port
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(url + "/api/2.0/sql/warehouses", headers=AUTH, timeout=1)
                break
            except requests.ConnectionError:
                self.assertLess(time.monotonic(), deadline, "the server did not start")
                time.sleep(0.1)
        for statement in ("SELECT 1 AS a", "SELECT id FROM lab.gold.five"):
            try:  # slice(0, -5) of a result ended FAILED on a SystemError, or aborted
                answer = self.statement(url, statement=statement, row_limit=-5)
            except requests.ConnectionError as exc:
                raise AssertionError("the server process died: %s" % proc.poll()) from exc
            self.assertRefused(answer, "row_limit")
            self.assertIsNone(proc.poll(), "the server process is still running")
        ok = self.statement(url, row_limit=4).json()
        self.assertEqual((ok["status"]["state"], ok["manifest"]["total_row_count"]),
                         ("SUCCEEDED", 4), ok)
