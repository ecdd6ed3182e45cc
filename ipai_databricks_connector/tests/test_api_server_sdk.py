"""The local Databricks API server, judged by the official ``databricks-sdk``.

The SDK's own request paths and response dataclasses decide field names, enum values and
types: what it cannot parse, a connector written against a real workspace would not either.
"""

import datetime as dt
import decimal
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue
from databricks.sdk.service import jobs, sql

from odoo.tests import BaseCase

from ..lakehouse.devserver import DatabricksApiServer
from ..lakehouse.local_backend import LocalLakehouse

TOKEN = "dapi-sdk-test"
WH = "local-warehouse"


class TestApiServerWithTheSdk(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = Path(tempfile.mkdtemp(prefix="ipai_sdk_"))
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        lake = LocalLakehouse(str(cls.root))
        n = 25
        lake.write_table("lab.gold.typed", pa.table({
            "id": pa.array(range(n), pa.int64()),
            "amount": pa.array([decimal.Decimal("%d.25" % i) for i in range(n)],
                               pa.decimal128(22, 2)),
            "tags": pa.array([[i, i + 1] for i in range(n)], pa.list_(pa.int32())),
            "attrs": pa.array([[("k%d" % i, i)] for i in range(n)],
                              pa.map_(pa.string(), pa.int32())),
            "point": pa.array([{"x": i, "y": "p%d" % i} for i in range(n)],
                              pa.struct([("x", pa.int32()), ("y", pa.string())])),
            "at": pa.array([dt.datetime(2026, 1, 1, 8)] * n, pa.timestamp("us")),
        }))
        (cls.root / "jobs").mkdir()
        (cls.root / "jobs" / "copy.sql").write_text(
            "CREATE OR REPLACE TABLE lab.silver.copy AS SELECT id FROM lab.gold.typed;\n")
        (cls.root / "jobs" / "broken.sql").write_text(
            "CREATE OR REPLACE TABLE lab.silver.out AS SELECT * FROM lab.bronze.later;\n")
        cls.server = DatabricksApiServer(str(cls.root), TOKEN, chunk_rows=10).start()
        cls.addClassCleanup(cls.server.stop)
        cls.w = WorkspaceClient(host=cls.server.url, token=TOKEN, auth_type="pat")

    def execute(self, statement, **kwargs):
        return self.w.statement_execution.execute_statement(
            warehouse_id=WH, statement=statement, wait_timeout=kwargs.pop("wait", "10s"),
            **kwargs)

    def test_the_sdk_discovers_the_workspace_without_a_warning(self):
        with self.assertLogs("databricks.sdk", "DEBUG") as logs:
            w = WorkspaceClient(host=self.server.url, token=TOKEN, auth_type="pat")
        self.assertFalse([line for line in logs.output if "WARNING" in line], logs.output)
        self.assertEqual(w.config.workspace_id, "1000000000000000")
        self.assertEqual(w.warehouses.get(WH).id, WH)

    # -- statements -----------------------------------------------------------------------

    def test_inline_result_every_chunk_and_databricks_type_names(self):
        response = self.execute("SELECT * FROM lab.gold.typed ORDER BY id")
        self.assertEqual(response.status.state, sql.StatementState.SUCCEEDED)
        columns = {c.name: c for c in response.manifest.schema.columns}
        self.assertEqual((columns["id"].type_name, columns["id"].type_text),
                         (sql.ColumnInfoTypeName.LONG, "BIGINT"))
        self.assertEqual((columns["amount"].type_name, columns["amount"].type_precision,
                          columns["amount"].type_scale), (sql.ColumnInfoTypeName.DECIMAL, 22, 2))
        self.assertEqual((columns["tags"].type_name, columns["tags"].type_text),
                         (sql.ColumnInfoTypeName.ARRAY, "ARRAY<INT>"))
        self.assertEqual((columns["attrs"].type_name, columns["attrs"].type_text),
                         (sql.ColumnInfoTypeName.MAP, "MAP<STRING, INT>"))
        self.assertEqual((columns["point"].type_name, columns["point"].type_text),
                         (sql.ColumnInfoTypeName.STRUCT, "STRUCT<x: INT, y: STRING>"))
        # As a warehouse sends it; the SDK's enum has no TIMESTAMP_NTZ and reads None.
        self.assertEqual((columns["at"].type_name, columns["at"].type_text),
                         (None, "TIMESTAMP_NTZ"))
        rows = list(response.result.data_array)
        chunk = response.result
        while chunk.next_chunk_index is not None:
            chunk = self.w.statement_execution.get_statement_result_chunk_n(
                response.statement_id, chunk.next_chunk_index)
            rows += chunk.data_array
        self.assertEqual(len(rows), 25)
        self.assertEqual(response.manifest.total_chunk_count, 3)
        self.assertEqual(rows[3][:5], ["3", "3.25", "[3,4]", '{"k3":3}', '{"x":3,"y":"p3"}'])

    def test_result_types_and_values_are_those_of_databricks(self):
        response = self.execute(
            "SELECT sum(id) AS s, count(*) AS n, hash('a') AS h, avg(amount) AS a, "
            "CAST(100.5 AS DECIMAL(38,18)) * CAST(3 AS DECIMAL(38,18)) AS m, "
            "INTERVAL '2' MONTH AS ym, INTERVAL '1 02:03:04' DAY TO SECOND AS dt "
            "FROM lab.gold.typed")
        self.assertEqual(response.status.state, sql.StatementState.SUCCEEDED,
                         response.status.error)
        columns = {c.name: c for c in response.manifest.schema.columns}
        self.assertEqual({k: (c.type_name, c.type_text) for k, c in columns.items()}, {
            "s": (sql.ColumnInfoTypeName.LONG, "BIGINT"),
            "n": (sql.ColumnInfoTypeName.LONG, "BIGINT"),
            "h": (sql.ColumnInfoTypeName.INT, "INT"),
            "a": (sql.ColumnInfoTypeName.DECIMAL, "DECIMAL(26,6)"),
            "m": (sql.ColumnInfoTypeName.DECIMAL, "DECIMAL(38,6)"),
            "ym": (sql.ColumnInfoTypeName.INTERVAL, "INTERVAL MONTH"),
            "dt": (sql.ColumnInfoTypeName.INTERVAL, "INTERVAL DAY TO SECOND")})
        self.assertEqual((columns["ym"].type_interval_type, columns["dt"].type_interval_type),
                         ("MONTH", "DAY TO SECOND"))
        row = response.result.data_array[0]
        self.assertEqual(row, ["300", "25", "1485273170", "12.250000", "301.500000", "0-2",
                               "1 02:03:04.000000000"])
        for statement, klass in (("SELECT 1/0", "DIVIDE_BY_ZERO"),
                                 ("SELECT raise_error('no stock')", "USER_RAISED_EXCEPTION"),
                                 ("SELECT sum(id * 1000000000000000000) FROM lab.gold.typed",
                                  "ARITHMETIC_OVERFLOW")):
            with self.subTest(statement=statement):
                status = self.execute(statement).status
                self.assertEqual(status.state, sql.StatementState.FAILED)
                self.assertRegex(status.error.message, r"^\[%s\] " % klass)
                self.assertNotIn("Error:", status.error.message)
        self.assertEqual(self.execute("SELECT from_json('{\"a\": 7}', 'a INT') AS j")
                         .result.data_array, [['{"a":7}']])

    def test_external_links_serve_every_chunk_as_arrow(self):
        response = self.execute("SELECT id FROM lab.gold.typed ORDER BY id",
                                disposition=sql.Disposition.EXTERNAL_LINKS,
                                format=sql.Format.ARROW_STREAM)
        ids, index = [], 0
        while index is not None:
            chunk = self.w.statement_execution.get_statement_result_chunk_n(
                response.statement_id, index)
            link = chunk.external_links[0]
            self.assertTrue(link.expiration)
            body = requests.get(link.external_link, headers=link.http_headers or {}, timeout=10)
            ids += ipc.open_stream(body.content).read_all().column("id").to_pylist()
            index = link.next_chunk_index
        self.assertEqual(ids, list(range(25)))

    def test_catalog_and_schema_defaults_resolve_short_names(self):
        response = self.execute("SELECT count(*) AS n FROM typed", catalog="lab", schema="gold")
        self.assertEqual(response.status.state, sql.StatementState.SUCCEEDED, response.status)
        self.assertEqual(response.result.data_array, [["25"]])
        response = self.execute("SELECT max(id) AS m FROM gold.typed", catalog="lab")
        self.assertEqual(response.result.data_array, [["24"]])

    def test_databricks_sql_and_time_travel_through_the_sdk(self):
        lake = LocalLakehouse(str(self.root))
        manila = dt.timezone(dt.timedelta(hours=8))
        lake.write_table("lab.gold.versions", pa.table({
            "at": pa.array([dt.datetime(2026, 5, 1, 7, 0, tzinfo=manila), None],
                           pa.timestamp("us", tz="Asia/Manila")),
            "n": pa.array([2**53 + 1, None], pa.int64())}))
        time.sleep(0.02)
        lake.write_table("lab.gold.versions", pa.table({
            "at": pa.array([dt.datetime(2026, 5, 2, 7, 0, tzinfo=manila)],
                           pa.timestamp("us", tz="Asia/Manila")),
            "n": pa.array([3], pa.int64())}), mode="append")

        def rows(statement, **kwargs):
            response = self.execute(statement, **kwargs)
            self.assertEqual(response.status.state, sql.StatementState.SUCCEEDED,
                             response.status)
            return response.result.data_array or []

        self.assertEqual(rows("SELECT count(*) AS c FROM lab.gold.versions"), [["3"]])
        self.assertEqual(rows("SELECT count(*) AS c FROM lab.gold.versions VERSION AS OF 0"),
                         [["2"]])
        self.assertEqual(rows("SELECT max(n) AS m FROM versions VERSION AS OF 0",
                              catalog="lab", schema="gold"), [[str(2**53 + 1)]])
        history = self.execute("DESCRIBE HISTORY lab.gold.versions")
        columns = [c.name for c in history.manifest.schema.columns]
        self.assertEqual(columns[:3], ["version", "timestamp", "operation"])
        self.assertEqual([r[0] for r in history.result.data_array], ["1", "0"])
        first = history.result.data_array[1][1]
        self.assertEqual(rows("SELECT count(*) AS c FROM lab.gold.versions "
                              f"TIMESTAMP AS OF '{first}'"), [["2"]])
        self.assertIn(["gold", "versions", "false"], rows("SHOW TABLES IN lab.gold"))
        self.assertEqual(rows("SELECT date_format(at, 'yyyy-MM-dd HH:mm') AS d "
                              "FROM lab.gold.versions WHERE n = :n", parameters=[
                                  sql.StatementParameterListItem(
                                      name="n", value=str(2**53 + 1), type="BIGINT")]),
                         [["2026-04-30 23:00"]])
        status = self.execute("SELECT * FROM lab.gold.versions VERSION AS OF 5").status
        self.assertEqual(status.state, sql.StatementState.FAILED)
        self.assertIn("[DELTA_VERSION_NOT_FOUND]", status.error.message)

    def test_async_submit_poll_parameters_and_cancel(self):
        response = self.execute("SELECT :low + 1 AS n", wait="0s", parameters=[
            sql.StatementParameterListItem(name="low", value="41", type="INT")])
        self.assertIn(response.status.state, (sql.StatementState.PENDING,
                                              sql.StatementState.RUNNING))
        deadline = time.monotonic() + 10
        while response.status.state in (sql.StatementState.PENDING, sql.StatementState.RUNNING):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
            response = self.w.statement_execution.get_statement(response.statement_id)
        self.assertEqual(response.result.data_array, [["42"]])
        self.server.pending_delay = 5
        try:
            pending = self.execute("SELECT 1 AS x", wait="0s")
            self.w.statement_execution.cancel_execution(pending.statement_id)
            state = self.w.statement_execution.get_statement(pending.statement_id).status.state
            self.assertEqual(state, sql.StatementState.CANCELED)
        finally:
            self.server.pending_delay = 0

    def test_wait_timeout_answers_when_done_or_when_the_wait_ends(self):
        start = time.monotonic()
        done = self.execute("SELECT count(*) AS n FROM lab.gold.typed", wait="50s")
        self.assertLess(time.monotonic() - start, 5, "answered when done, not after the wait")
        self.assertEqual((done.status.state, done.result.data_array),
                         (sql.StatementState.SUCCEEDED, [["25"]]))
        self.server.pending_delay = 6  # a warehouse slower than the wait
        try:
            start = time.monotonic()
            running = self.execute(
                "SELECT 2 AS two", wait="5s",
                on_wait_timeout=sql.ExecuteStatementRequestOnWaitTimeout.CONTINUE)
            waited = time.monotonic() - start
            canceled = self.execute(
                "SELECT 3 AS three", wait="5s",
                on_wait_timeout=sql.ExecuteStatementRequestOnWaitTimeout.CANCEL)
        finally:
            self.server.pending_delay = 0
        self.assertGreaterEqual(waited, 4.9)
        self.assertLess(waited, 5.9)
        self.assertIn(running.status.state, (sql.StatementState.PENDING,
                                             sql.StatementState.RUNNING))
        self.assertIsNone(running.result)
        self.assertEqual(canceled.status.state, sql.StatementState.CANCELED)
        deadline = time.monotonic() + 10  # CONTINUE: it goes on and ends
        while running.status.state in (sql.StatementState.PENDING, sql.StatementState.RUNNING):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)
            running = self.w.statement_execution.get_statement(running.statement_id)
        self.assertEqual(running.result.data_array, [["2"]])
        with self.assertRaises(InvalidParameterValue):  # Databricks allows 0s or 5-50 s
            self.execute("SELECT 1", wait="51s")

    def test_errors_carry_databricks_classes_and_never_internal_names(self):
        for statement, klass in (("SELECT nope(1)", "UNRESOLVED_ROUTINE"),
                                 ("SELECT * FROM lab.gold.missing", "TABLE_OR_VIEW_NOT_FOUND"),
                                 ("SELECT nocolumn FROM lab.gold.typed", "UNRESOLVED_COLUMN"),
                                 ("SELEC 1", "PARSE_SYNTAX_ERROR")):
            with self.subTest(statement=statement):
                status = self.execute(statement).status
                self.assertEqual(status.state, sql.StatementState.FAILED)
                self.assertRegex(status.error.message, r"^\[%s[.\]]" % klass)
                self.assertNotIn("__", status.error.message)
        self.server.inline_limit = 100
        try:
            status = self.execute("SELECT * FROM lab.gold.typed").status
        finally:
            self.server.inline_limit = 25 * 1024 * 1024
        self.assertEqual(status.state, sql.StatementState.FAILED)
        self.assertEqual(status.error.error_code, sql.ServiceErrorCode.BAD_REQUEST)
        self.assertIn("Inline byte limit exceeded", status.error.message)
        self.assertNotIn("Error:", status.error.message.split("]")[0])

    def test_an_error_met_while_streaming_fails_the_statement_with_its_class(self):
        n = 600_000  # the divisor is 0 in the last row: met after many chunks are encoded
        LocalLakehouse(str(self.root)).write_table("lab.gold.late", pa.table({
            "qty": pa.array(range(n), pa.int64()),
            "per": pa.array([1] * (n - 1) + [0], pa.int64())}))
        status = self.execute("SELECT qty / per AS x FROM lab.gold.late",
                              disposition=sql.Disposition.EXTERNAL_LINKS,
                              format=sql.Format.ARROW_STREAM, wait="30s").status
        self.assertEqual(status.state, sql.StatementState.FAILED)
        self.assertEqual(status.error.error_code, sql.ServiceErrorCode.BAD_REQUEST)
        self.assertRegex(status.error.message, r"^\[DIVIDE_BY_ZERO\] ")

    def test_past_the_memory_for_results_the_oldest_are_closed(self):
        def run():
            return self.execute("SELECT * FROM lab.gold.typed ORDER BY id",
                                disposition=sql.Disposition.EXTERNAL_LINKS,
                                format=sql.Format.ARROW_STREAM)

        first = run()
        size = first.manifest.total_byte_count
        self.addCleanup(setattr, self.server, "result_bytes", 1 << 30)
        self.server.result_bytes = int(size * 1.5)  # room for one result, not two
        second, third = run(), run()
        get = self.w.statement_execution.get_statement
        self.assertEqual(get(first.statement_id).status.state, sql.StatementState.CLOSED)
        for kept in (second, third):
            self.assertEqual(get(kept.statement_id).status.state,
                             sql.StatementState.SUCCEEDED)
        link = self.w.statement_execution.get_statement_result_chunk_n(
            second.statement_id, 2).external_links[0]
        table = ipc.open_stream(requests.get(link.external_link, timeout=10).content).read_all()
        self.assertEqual(table.column("id").to_pylist(), list(range(20, 25)))

    # -- jobs -----------------------------------------------------------------------------

    def create_job(self, name, path):
        return self.w.jobs.create(name=name, tasks=[jobs.Task(task_key=name, sql_task=jobs.SqlTask(
            warehouse_id=WH, file=jobs.SqlTaskFile(path=path)))]).job_id

    def wait_terminal(self, run_id, repairs=0):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            run = self.w.jobs.get_run(run_id)
            if run.status.state == jobs.RunLifecycleStateV2State.TERMINATED and \
                    len(run.repair_history or []) == repairs + 1:
                return run
            time.sleep(0.05)
        raise AssertionError("run %s never ended" % run_id)

    def test_run_now_twice_with_one_token_then_status_and_listing(self):
        job_id = self.create_job("copy", "jobs/copy.sql")
        first = self.w.jobs.run_now(job_id=job_id, idempotency_token="odoo-run-1").response
        again = self.w.jobs.run_now(job_id=job_id, idempotency_token="odoo-run-1").response
        self.assertEqual(first.run_id, again.run_id)
        with self.assertRaises(InvalidParameterValue):
            self.w.jobs.run_now(job_id=job_id, idempotency_token="x" * 65)
        run = self.wait_terminal(first.run_id)
        self.assertEqual(run.status.termination_details.code, jobs.TerminationCodeCode.SUCCESS)
        self.assertEqual(run.state.result_state, jobs.RunResultState.SUCCESS)
        self.assertEqual(run.tasks[0].status.state, jobs.RunLifecycleStateV2State.TERMINATED)
        listed = [r.run_id for r in self.w.jobs.list_runs(job_id=job_id)]
        self.assertEqual(listed, [first.run_id])
        self.assertNotIn(first.run_id, [r.run_id for r in self.w.jobs.list_runs(
            job_id=job_id, active_only=True)])
        # A run still going is listed as active (a filter answering [] would pass above).
        self.server.task_delay = 3
        try:
            slow = self.w.jobs.run_now(job_id=job_id).response.run_id
            active = [r.run_id for r in self.w.jobs.list_runs(job_id=job_id, active_only=True)]
            self.assertEqual(active, [slow])
            self.w.jobs.cancel_run(slow)
        finally:
            self.server.task_delay = 0
        canceled = self.wait_terminal(slow)
        self.assertEqual(canceled.state.result_state, jobs.RunResultState.CANCELED)
        self.assertEqual(canceled.status.termination_details.code,
                         jobs.TerminationCodeCode.USER_CANCELED)
        self.assertEqual([r.run_id for r in self.w.jobs.list_runs(
            job_id=job_id, active_only=True)], [])

    def test_a_failed_run_is_repaired_and_a_run_cancelled(self):
        job_id = self.create_job("broken", "jobs/broken.sql")
        run_id = self.w.jobs.run_now(job_id=job_id).response.run_id
        run = self.wait_terminal(run_id)
        self.assertEqual(run.status.termination_details.code,
                         jobs.TerminationCodeCode.RUN_EXECUTION_ERROR)
        LocalLakehouse(str(self.root)).write_table("lab.bronze.later", pa.table({"x": [1]}))
        self.w.jobs.repair_run(run_id=run_id, rerun_all_failed_tasks=True)
        run = self.wait_terminal(run_id, repairs=1)
        self.assertEqual(run.status.termination_details.code, jobs.TerminationCodeCode.SUCCESS)
        self.w.jobs.cancel_run(run_id)  # a finished run: nothing to cancel, no error

    # -- compute --------------------------------------------------------------------------

    def test_a_statement_starts_a_stopped_warehouse_and_waits_for_it(self):
        self.w.warehouses.stop(WH).result()
        self.addCleanup(lambda: self.w.warehouses.start(WH).result())
        submitted = self.execute("SELECT count(*) AS n FROM lab.gold.typed", wait="0s")
        self.assertEqual(submitted.status.state, sql.StatementState.PENDING,
                         "waiting for the warehouse")
        self.assertEqual(self.w.warehouses.get(WH).state, sql.State.STARTING)
        deadline = time.monotonic() + 30
        response = submitted
        while response.status.state in (sql.StatementState.PENDING,
                                        sql.StatementState.RUNNING):
            self.assertLess(time.monotonic(), deadline, "the warehouse never started")
            time.sleep(0.2)
            response = self.w.statement_execution.get_statement(submitted.statement_id)
        self.assertEqual(response.status.state, sql.StatementState.SUCCEEDED)
        self.assertEqual(response.result.data_array, [["25"]])
        self.assertEqual(self.w.warehouses.get(WH).state, sql.State.RUNNING)

    def test_warehouses_and_clusters_on_the_sdk_paths(self):
        self.assertEqual([w.id for w in self.w.warehouses.list()], [WH])
        self.addCleanup(lambda: self.w.warehouses.start(WH).result())
        seen = []
        stopped = self.w.warehouses.stop(WH).result(callback=lambda w: seen.append(w.state))
        self.assertEqual(stopped.state, sql.State.STOPPED)
        self.assertEqual(seen[:1], [sql.State.STOPPING], "the SDK's waiter saw it stopping")
        self.assertEqual(self.w.warehouses.get(WH).num_clusters, 0)
        self.w.warehouses.stop(WH)  # already stopped: nothing to do, no error
        seen.clear()
        running = self.w.warehouses.start(WH).result(callback=lambda w: seen.append(w.state))
        self.assertEqual((running.state, running.cluster_size), (sql.State.RUNNING, "2X-Small"))
        self.assertEqual(seen[:1], [sql.State.STARTING])
        self.assertEqual([c.cluster_id for c in self.w.clusters.list()], ["local-cluster"])
        self.assertEqual(self.w.clusters.get("local-cluster").cluster_name, "Local DuckDB")
