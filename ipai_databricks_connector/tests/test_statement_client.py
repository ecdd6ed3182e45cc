"""The real Statement Execution / Jobs client over HTTP against the local Databricks server."""

import datetime as dt
import decimal
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from odoo.addons.ipai_microservices_gateway.tests.common import loopback_requests_only
from odoo.tests import BaseCase

from ..lakehouse import errors, statement_client
from ..lakehouse.devserver import DatabricksApiServer
from ..lakehouse.local_backend import LocalLakehouse

sc = statement_client
N = 1000
CHUNK = 128
UTC = dt.timezone.utc
BASE = decimal.Decimal("12345678901234")  # 18 significant digits with scale 4: beyond a float


def demo_table():
    return pa.table({
        "id": pa.array(range(N), pa.int64()),
        "amount": pa.array([BASE + decimal.Decimal(i).scaleb(-4) for i in range(N)],
                           pa.decimal128(18, 4)),
        "name": ["x' OR '1'='1" if i == 7 else "n%d" % i for i in range(N)],
        "day": [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(N)],
        "ts": pa.array([dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=i)
                        for i in range(N)], pa.timestamp("us", tz="UTC")),
        "flag": [i % 2 == 0 for i in range(N)],
        "score": [None if i == 5 else i / 3 for i in range(N)],
        "small": pa.array(range(N), pa.int32()),
    })


def make_client(server, fetch_link=None, **kw):
    kw = {"poll_initial": 0.01, "poll_max": 0.05, **kw}
    return sc.StatementExecutionClient(sc.requests_transport(server.url, "t"),
                                       fetch_link or sc.requests_fetch_link(),
                                       "local-warehouse", **kw)


def count(server, method, prefix):
    return sum(1 for m, p in server.requests if m == method and p.startswith(prefix))


# --- against the server -----------------------------------------------------------------

class TestStatementClientOverHttp(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Odoo's test-time request guard cannot take the client's (connect, read) timeout
        # tuple; this one keeps it and still refuses every host but the loopback one.
        loopback_requests_only(cls)

    def setUp(self):
        super().setUp()
        self.tmp_path = Path(tempfile.mkdtemp(prefix="ipai_statement_client_"))
        self.addCleanup(shutil.rmtree, self.tmp_path, True)
        LocalLakehouse(self.tmp_path).write_table("demo.gold.t", demo_table())
        self.server = DatabricksApiServer(root=self.tmp_path, token="t",
                                          chunk_rows=CHUNK).start()
        self.addCleanup(self.server.stop)  # runs before the directory is removed

    def assert_demo_rows(self, table, ids=range(N)):
        ids = list(ids)
        self.assertEqual(table.column("id").to_pylist(), ids)
        self.assertEqual(table.column("amount").to_pylist(),
                         [BASE + decimal.Decimal(i).scaleb(-4) for i in ids])
        self.assertEqual(table.column("day").to_pylist(),
                         [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in ids])
        expected_ts = [dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=i)
                       for i in ids]
        self.assertEqual([v.astimezone(UTC) for v in table.column("ts").to_pylist()],
                         expected_ts)
        self.assertEqual(table.column("flag").to_pylist(), [i % 2 == 0 for i in ids])
        self.assertEqual(table.column("score").to_pylist(),
                         [None if i == 5 else i / 3 for i in ids])

    def test_external_links_every_chunk_exact_decimals(self):
        server = self.server
        result = make_client(server).execute("SELECT * FROM demo.gold.t ORDER BY id")
        chunks = -(-N // CHUNK)
        self.assertEqual(result.manifest["total_chunk_count"], chunks)
        self.assertGreater(chunks, 1)
        self.assertEqual(result.total_row_count, N)
        self.assertIs(result.truncated, False)
        self.assertEqual(result.schema.field("amount").type, pa.decimal128(18, 4))
        table = result.reader().read_all()
        # exact, never float
        self.assertEqual(table.schema.field("amount").type, pa.decimal128(18, 4))
        self.assert_demo_rows(table)
        # one download per chunk
        self.assertEqual(count(server, "GET", "/ipai-external/"), chunks)
        self.assertEqual(count(server, "GET", "/api/2.0/sql/statements/%s/result/chunks/"
                               % result.statement_id), chunks - 1)

    def test_batches_are_streamed_one_chunk_at_a_time(self):
        server = self.server
        result = make_client(server).execute("SELECT * FROM demo.gold.t ORDER BY id")
        batches = result.batches()
        first = next(batches)
        self.assertEqual(first.num_rows, CHUNK)
        self.assertEqual(count(server, "GET", "/ipai-external/"), 1)  # nothing fetched ahead
        self.assertEqual(sum(b.num_rows for b in batches), N - CHUNK)

    def test_inline_json_array_typed(self):
        result = make_client(self.server).execute("SELECT * FROM demo.gold.t ORDER BY id",
                                                  disposition="INLINE", format="JSON_ARRAY")
        self.assertEqual(result.manifest["format"], "JSON_ARRAY")
        self.assertEqual(result.schema, pa.schema([
            ("id", pa.int64()), ("amount", pa.decimal128(18, 4)), ("name", pa.string()),
            ("day", pa.date32()), ("ts", pa.timestamp("us", tz="UTC")), ("flag", pa.bool_()),
            ("score", pa.float64()), ("small", pa.int32())]))
        table = result.reader().read_all()
        self.assertEqual(table.schema, result.schema)
        self.assert_demo_rows(table)  # every INLINE chunk followed, strings decoded to exact types

    def test_expired_link_in_first_response_is_refetched(self):
        server = self.server
        result = make_client(server).execute("SELECT * FROM demo.gold.t ORDER BY id")
        server.expire_links()  # the chunk-0 link the statement answer carried is dead now
        self.assert_demo_rows(result.reader().read_all())
        self.assertEqual(count(server, "GET", "/api/2.0/sql/statements/%s/result/chunks/0"
                               % result.statement_id), 1)

    def test_link_expiring_between_chunks_is_refetched(self):
        server = self.server
        fetch = sc.requests_fetch_link()
        calls = []

        def fetch_expiring_second(url, headers=None):
            calls.append(url)
            if len(calls) == 2:  # chunk 1's link was issued; it expires before its download
                server.expire_links()
            return fetch(url, headers)

        result = make_client(server, fetch_expiring_second).execute(
            "SELECT * FROM demo.gold.t ORDER BY id")
        batches = result.batches()
        self.assertEqual(next(batches).num_rows, CHUNK)
        rest = list(batches)
        self.assertEqual(sum(b.num_rows for b in rest), N - CHUNK)
        self.assert_demo_rows(pa.Table.from_batches(rest), range(CHUNK, N))
        self.assertNotEqual(calls[1], calls[2])  # a fresh link for the same chunk
        self.assertEqual(count(server, "GET", "/api/2.0/sql/statements/%s/result/chunks/1"
                               % result.statement_id), 2)

    def test_link_always_expired_gives_up_after_three_refetches(self):
        server = self.server
        fetch = sc.requests_fetch_link()

        def fetch_always_expired(url, headers=None):
            server.expire_links()
            return fetch(url, headers)

        result = make_client(server, fetch_always_expired).execute("SELECT * FROM demo.gold.t")
        with self.assertRaises(errors.LinkExpired) as info:
            list(result.batches())
        self.assertEqual(info.exception.status, 403)
        self.assertFalse(info.exception.retryable)
        self.assertEqual(count(server, "GET", "/api/2.0/sql/statements/%s/result/chunks/0"
                               % result.statement_id), sc.LINK_RETRIES)

    def test_row_limit_surfaces_truncated(self):
        client = make_client(self.server)
        result = client.execute("SELECT * FROM demo.gold.t ORDER BY id", row_limit=10)
        self.assertIs(result.truncated, True)
        self.assert_demo_rows(result.reader().read_all(), range(10))
        self.assertIs(client.execute("SELECT * FROM demo.gold.t", row_limit=N).truncated, False)

    def test_named_parameters_are_bound_not_formatted(self):
        client = make_client(self.server)
        sql = ("SELECT id, name FROM demo.gold.t WHERE name = :name AND amount >= :amt "
               "AND day >= :day AND flag = :flag ORDER BY id")
        evil = "x' OR '1'='1"
        args = {"name": evil, "amt": BASE, "day": dt.date(2024, 1, 1), "flag": False}
        table = client.execute(sql, args).reader().read_all()
        self.assertEqual(table.to_pylist(), [{"id": 7, "name": evil}])  # the literal row only
        none = client.execute(sql, dict(args, name="nobody' OR '1'='1")).reader().read_all()
        self.assertEqual(none.num_rows, 0)  # an injection attempt matches nothing
        typed = client.execute(
            "SELECT :n IS NULL AS isnull, :dec AS dec, :ts AS ts, :big AS big, :f AS f",
            {"n": None, "dec": decimal.Decimal("12345678901234.0001"),
             "ts": dt.datetime(2024, 1, 1, 12, 30), "big": 2**62, "f": 0.25},
            disposition="INLINE", format="JSON_ARRAY").reader().read_all().to_pylist()[0]
        self.assertIs(typed["isnull"], True)
        self.assertEqual(typed["dec"], decimal.Decimal("12345678901234.0001"))
        self.assertEqual(typed["ts"].replace(tzinfo=None), dt.datetime(2024, 1, 1, 12, 30))
        self.assertEqual(typed["big"], 2**62)
        self.assertEqual(typed["f"], 0.25)

    def test_failed_statement_raises_with_sql_state(self):
        with self.assertRaises(errors.StatementFailed) as info:
            make_client(self.server).execute("SELECT no_such_column FROM demo.gold.t")
        self.assertEqual(info.exception.sql_state, "42703")
        self.assertEqual(info.exception.error_code, "BAD_REQUEST")
        self.assertIs(info.exception.retryable, False)

    def test_429_is_retryable_with_retry_after(self):
        server = self.server
        server.inject("/api/2.0/sql/statements", 429, retry_after=7)
        with self.assertRaises(errors.DatabricksHTTPError) as info:
            make_client(server).submit("SELECT 1 AS one")
        err = info.exception
        self.assertEqual((err.status, err.retryable, err.retry_after), (429, True, 7.0))
        self.assertEqual(err.error_code, "REQUEST_LIMIT_EXCEEDED")
        # plain use: requests_transport(retries=N) honours Retry-After
        server.inject("/api/2.0/sql/statements", 429, retry_after=3)
        slept = []
        transport = sc.requests_transport(server.url, "t", retries=2, sleep=slept.append)
        client = sc.StatementExecutionClient(transport, sc.requests_fetch_link(),
                                             "local-warehouse", poll_initial=0.01)
        self.assertEqual(client.execute("SELECT 1 AS one").reader().read_all().to_pylist(),
                         [{"one": 1}])
        self.assertEqual(slept, [3.0])

    def test_unauthenticated_is_not_retryable(self):
        transport = sc.requests_transport(self.server.url, "wrong")
        with self.assertRaises(errors.DatabricksHTTPError) as info:
            transport("GET", "/api/2.0/sql/warehouses")
        self.assertEqual(
            (info.exception.status, info.exception.error_code, info.exception.retryable),
            (401, "UNAUTHENTICATED", False))

    def test_cancel(self):
        self.server.pending_delay = 5.0  # the statement waits "for the warehouse"
        client = make_client(self.server)
        response = client.submit("SELECT * FROM demo.gold.t")
        self.assertIn(response["status"]["state"], ("PENDING", "RUNNING"))
        client.cancel(response["statement_id"])
        with self.assertRaises(errors.StatementCanceled):
            client.wait(response)

    def test_wait_timeout_cancels_statement(self):
        server = self.server
        server.pending_delay = 5.0
        client = make_client(server, timeout=0.2)
        response = client.submit("SELECT * FROM demo.gold.t")
        with self.assertRaises(errors.DatabricksError) as info:
            client.wait(response["statement_id"])
        self.assertIs(info.exception.retryable, False)
        self.assertIn(("POST", "/api/2.0/sql/statements/%s/cancel" % response["statement_id"]),
                      server.requests)
        self.assertEqual(client.get(response["statement_id"])["status"]["state"], "CANCELED")

    def test_execute_waits_on_the_server_within_the_budget(self):
        server = self.server
        # A poll interval far longer than the query: waiting by polling would show.
        client = make_client(server, poll_initial=3.0, poll_max=3.0)
        start = time.monotonic()
        result = client.execute("SELECT * FROM demo.gold.t ORDER BY id")
        self.assertLess(time.monotonic() - start, 2.5, "answered when done, no poll sleep")
        self.assert_demo_rows(result.reader().read_all())
        self.assertEqual(count(server, "GET", "/api/2.0/sql/statements/%s" % result.statement_id),
                         count(server, "GET", "/api/2.0/sql/statements/%s/result/"
                               % result.statement_id), "the statement was never polled")
        sent = server._statements[result.statement_id].req
        self.assertEqual((sent["wait_timeout"], sent["on_wait_timeout"]), ("50s", "CONTINUE"))
        # The wait never outlasts the caller's budget, and is never one Databricks refuses.
        for budget, expected in ((20.9, "20s"), (4.5, "0s"), (600, "50s")):
            answer = make_client(server, timeout=budget).run("SELECT 1 AS one")
            self.assertEqual(server._statements[answer["statement_id"]].req["wait_timeout"],
                             expected)
        self.assertEqual([sc.server_wait(s) for s in (0, 4.99, 5, 50.5, 3600, None)],
                         [0, 0, 5, 50, 50, 0])

    def test_a_statement_outliving_the_wait_continues_and_is_polled(self):
        server = self.server
        server.pending_delay = 6.0  # longer than the shortest wait Databricks allows
        client = make_client(server, poll_initial=0.05, poll_max=0.1)
        start = time.monotonic()
        response = client.submit("SELECT * FROM demo.gold.t ORDER BY id", wait_timeout=5)
        waited = time.monotonic() - start
        self.assertIn(response["status"]["state"], ("PENDING", "RUNNING"))
        self.assertGreaterEqual(waited, 4.9, "the server held the answer for the wait")
        self.assertLess(waited, 5.9)
        final = client.wait(response)  # CONTINUE: still running, then done
        self.assertEqual(final["status"]["state"], "SUCCEEDED")
        self.assert_demo_rows(sc.Result(client, final).reader().read_all())

    def test_jobs_idempotent_run_now_wait_and_repair(self):
        server, tmp_path = self.server, self.tmp_path
        transport = sc.requests_transport(server.url, "t")
        (tmp_path / "jobs").mkdir()
        (tmp_path / "jobs" / "gold.sql").write_text(
            "CREATE OR REPLACE TABLE demo.gold.small AS SELECT id, amount FROM demo.gold.t "
            "WHERE id < :n;\n")
        (tmp_path / "jobs" / "broken.sql").write_text(
            "CREATE OR REPLACE TABLE demo.gold.b AS SELECT * FROM demo.gold.missing;\n")

        def create(name, path):
            return transport("POST", "/api/2.1/jobs/create", json={"name": name, "tasks": [
                {"task_key": "main", "sql_task": {"warehouse_id": "local-warehouse",
                                                  "file": {"path": path}}}]})["job_id"]

        jobs = sc.JobsClient(transport, poll_initial=0.01, poll_max=0.05, timeout=30)
        job_id = create("gold", "jobs/gold.sql")
        token = "3f2b8c1e-0d6a-4c7e-9b1f-5a2e7d9c4b10"  # a queue-job uuid
        run_id = jobs.run_now(job_id, token, {"n": 10})
        # a retried trigger: same run
        self.assertEqual(jobs.run_now(job_id, token, {"n": 10}), run_id)
        runs = transport("GET", "/api/2.1/jobs/runs/list", params={"job_id": job_id})["runs"]
        self.assertEqual([r["run_id"] for r in runs], [run_id])  # never a second run
        seen = []
        run = jobs.wait_run(run_id, progress=seen.append)
        summary = jobs.run_summary(run)
        self.assertEqual((summary["run_id"], summary["state"], summary["result"]),
                         (run_id, "TERMINATED", "SUCCESS"))
        self.assertIsInstance(summary["start"], dt.datetime)
        self.assertGreaterEqual(summary["end"], summary["start"])
        self.assertIsNotNone(summary["duration_seconds"])
        self.assertTrue(seen)
        small = make_client(server).execute("SELECT * FROM demo.gold.small ORDER BY id")
        self.assertEqual(small.reader().read_all().column("id").to_pylist(), list(range(10)))
        with self.assertRaises(ValueError):
            jobs.run_now(job_id, "x" * 65)

        broken = jobs.run_now(create("broken", "jobs/broken.sql"), "token-broken")
        failed = sc.run_summary(jobs.wait_run(broken))
        self.assertEqual(failed["result"], "FAILED")
        self.assertTrue(failed["message"])
        LocalLakehouse(tmp_path).write_table("demo.gold.missing", pa.table({"x": [1]}))
        self.assertTrue(jobs.repair_run(broken))
        self.assertEqual(sc.run_summary(jobs.wait_run(broken))["result"], "SUCCESS")


# --- pure ------------------------------------------------------------------------------

# (keyword arguments, expected): each row is its own test method of TestIsRetryable below.
IS_RETRYABLE_CASES = [
    ({"status": 429}, True), ({"status": 503}, True), ({"status": 502}, True),
    ({"status": 504}, True), ({"status": 500}, False), ({"status": 400}, False),
    ({"status": 403}, False),
    ({"error_code": "TEMPORARILY_UNAVAILABLE"}, True),
    ({"error_code": "REQUEST_LIMIT_EXCEEDED"}, True), ({"error_code": "RESOURCE_EXHAUSTED"}, True),
    ({"error_code": "DEADLINE_EXCEEDED"}, True), ({"error_code": "ABORTED"}, True),
    ({"error_code": "UNAVAILABLE"}, True), ({"error_code": "BAD_REQUEST"}, False),
    ({"error_code": "INVALID_PARAMETER_VALUE"}, False),
    ({"error_code": "PERMISSION_DENIED"}, False),
    ({"sql_state": "08001"}, True), ({"sql_state": "40001"}, True), ({"sql_state": "53200"}, True),
    ({"sql_state": "57P01"}, True), ({"sql_state": "42703"}, False),
    ({"sql_state": "22012"}, False), ({}, False),
    ({"error_code": "BAD_REQUEST", "sql_state": "40001"}, True),
]


class TestIsRetryable(BaseCase):
    """errors.is_retryable, one test method per row of IS_RETRYABLE_CASES (added below)."""


def _is_retryable_test(kwargs, expected):
    def test(self):
        self.assertIs(errors.is_retryable(**kwargs), expected)
    test.__doc__ = "is_retryable(**%r) is %r" % (kwargs, expected)
    return test


for _kwargs, _expected in IS_RETRYABLE_CASES:
    _name = "test_is_retryable_" + ("_".join(
        "%s_%s" % (key, value) for key, value in _kwargs.items()).lower() or "nothing")
    if hasattr(TestIsRetryable, _name):
        raise AssertionError("two is_retryable cases are both named %s" % _name)
    setattr(TestIsRetryable, _name, _is_retryable_test(_kwargs, _expected))
del _kwargs, _expected, _name


class TestStatementClientPure(BaseCase):
    def test_parse_sql_state_and_str(self):
        msg = ("[UNRESOLVED_COLUMN] A column `x` cannot be resolved. SQLSTATE: 42703; "
               "line 1 pos 7")
        self.assertEqual(errors.parse_sql_state(msg), "42703")
        self.assertIsNone(errors.parse_sql_state("no state here"))
        err = errors.StatementFailed("boom", error_code="BAD_REQUEST", sql_state="42703")
        self.assertIn("BAD_REQUEST", str(err))
        self.assertIn("42703", str(err))

    def test_parameter_typing(self):
        p = sc.statement_parameter
        self.assertEqual(p("a", 5), {"name": "a", "type": "BIGINT", "value": "5"})
        self.assertEqual(p("a", True), {"name": "a", "type": "BOOLEAN", "value": "true"})
        self.assertEqual(p("a", 1.5), {"name": "a", "type": "DOUBLE", "value": "1.5"})
        self.assertEqual(p("a", decimal.Decimal("-123.450")), {
            "name": "a", "type": "DECIMAL(6,3)", "value": "-123.450"})
        self.assertEqual(p("a", decimal.Decimal("0.001"))["type"], "DECIMAL(3,3)")
        self.assertEqual(p("a", decimal.Decimal("1E+3")),
                         {"name": "a", "type": "DECIMAL(4,0)", "value": "1000"})
        self.assertEqual(p("a", dt.date(2024, 2, 29)),
                         {"name": "a", "type": "DATE", "value": "2024-02-29"})
        self.assertEqual(
            p("a", dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
            {"name": "a", "type": "TIMESTAMP", "value": "2024-01-01 10:00:00+00:00"})
        # naive: read in the warehouse's session time zone, as a literal would be
        self.assertEqual(p("a", dt.datetime(2024, 1, 1, 12)),
                         {"name": "a", "type": "TIMESTAMP", "value": "2024-01-01 12:00:00"})
        self.assertEqual(p("a", None), {"name": "a", "type": "STRING"})
        self.assertEqual(p("a", "it's"), {"name": "a", "type": "STRING", "value": "it's"})
        with self.assertRaises(TypeError):
            p("a", object())
        with self.assertRaises(ValueError):
            p("a", decimal.Decimal("NaN"))

    def test_manifest_schema_and_json_decoding(self):
        manifest = {"schema": {"columns": [
            {"name": "d", "type_text": "DECIMAL(38,10)", "type_name": "DECIMAL", "position": 0},
            {"name": "t", "type_text": "TINYINT", "type_name": "BYTE", "position": 1},
            {"name": "m", "type_text": "MAP<STRING,INT>", "type_name": "MAP", "position": 2},
            {"name": "f", "type_text": "FLOAT", "type_name": "FLOAT", "position": 3}]}}
        schema = sc.manifest_arrow_schema(manifest)
        self.assertEqual([f.type for f in schema],
                         [pa.decimal128(38, 10), pa.int8(), pa.string(), pa.float32()])
        big = "1234567890123456789012345678.0123456789"
        batch = sc.rows_to_batch([[big, "-3", '{"a":1}', "NaN"],
                                  [None, None, None, "Infinity"]], schema)
        self.assertEqual(batch.column(0).to_pylist(), [decimal.Decimal(big), None])
        self.assertEqual(batch.column(1).to_pylist(), [-3, None])
        self.assertEqual(batch.column(2).to_pylist(), ['{"a":1}', None])
        self.assertEqual(batch.column(3).to_pylist()[1], float("inf"))

    def test_link_expiration_field(self):
        self.assertTrue(sc._expired({"expiration": "2000-01-01T00:00:00.000Z"}))
        future = (dt.datetime.now(UTC) + dt.timedelta(minutes=10)).isoformat()
        self.assertFalse(sc._expired({"expiration": future}))
        self.assertFalse(sc._expired({}))

    def test_run_summary_from_epoch_ms(self):
        summary = sc.run_summary({
            "run_id": 9, "start_time": 1_700_000_000_000, "end_time": 1_700_000_065_000,
            "run_duration": 65_000,
            "state": {"life_cycle_state": "TERMINATED", "result_state": "FAILED",
                      "state_message": "Task main failed"}})
        self.assertEqual(summary, {"run_id": 9, "state": "TERMINATED", "result": "FAILED",
                                   "start": dt.datetime(2023, 11, 14, 22, 13, 20),
                                   "end": dt.datetime(2023, 11, 14, 22, 14, 25),
                                   "duration_seconds": 65.0, "message": "Task main failed"})
        running = sc.run_summary({"run_id": 1, "start_time": 1, "end_time": 0,
                                  "state": {"life_cycle_state": "RUNNING"}})
        self.assertIsNone(running["end"])
        self.assertIsNone(running["duration_seconds"])
