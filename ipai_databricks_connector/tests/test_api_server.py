"""The local Databricks API server, driven over real HTTP as a client would (no Odoo models)."""

import datetime as dt
import decimal
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import requests

from odoo.tests import BaseCase

from ..lakehouse.devserver import DatabricksApiServer
from ..lakehouse.local_backend import LocalLakehouse

TOKEN = "dapi-local-test"
AUTH = {"Authorization": "Bearer " + TOKEN}
STATEMENTS = "/api/2.0/sql/statements"
EVIL = "x' OR '1'='1"


def call(server, method, path, json=None, params=None, headers=None):
    headers = AUTH if headers is None else headers
    url = path if path.startswith("http") else server.url + path
    return requests.request(method, url, json=json, params=params, headers=headers, timeout=10)


def wait_statement(server, sid):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body = call(server, "GET", "%s/%s" % (STATEMENTS, sid)).json()
        if body["status"]["state"] not in ("PENDING", "RUNNING"):
            return body
        time.sleep(0.05)
    raise AssertionError("statement %s never finished" % sid)


def wait_run(server, run_id, repairs=0):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        run = call(server, "GET", "/api/2.1/jobs/runs/get", params={"run_id": run_id}).json()
        if run["state"]["life_cycle_state"] == "TERMINATED" and \
                len(run["repair_history"]) == repairs + 1:
            return run
        time.sleep(0.05)
    raise AssertionError("run %s never terminated" % run_id)


class TestApiServer(BaseCase):
    def setUp(self):
        super().setUp()
        root = tempfile.mkdtemp(prefix="ipai_api_server_")
        self.addCleanup(shutil.rmtree, root, True)
        self.lake = LocalLakehouse(root)
        ids = list(range(1, 26))
        self.lake.write_table("demo.gold.sales", pa.table({
            "id": pa.array(ids, pa.int64()),
            "amount": pa.array([decimal.Decimal("%d.50" % i) for i in ids],
                               pa.decimal128(10, 2)),
            "name": ["n%d" % i for i in ids[:-1]] + [EVIL],
            "day": [dt.date(2024, 1, i) for i in ids],
            "note": [None] * 25,
        }))
        self.server = DatabricksApiServer(self.lake.root, TOKEN, chunk_rows=10,
                                          test_endpoints=True).start()
        self.addCleanup(self.server.stop)  # runs before the directory is removed

    # -- helpers ------------------------------------------------------------------------

    def submit(self, server, statement, **extra):
        body = dict({"warehouse_id": "local-warehouse", "statement": statement,
                     "wait_timeout": "10s"}, **extra)
        answer = call(server, "POST", STATEMENTS, body)
        self.assertEqual(answer.status_code, 200, answer.text)
        return answer.json()

    def create_job(self, sql, name="silver"):
        path = Path(self.lake.root, "jobs", name + ".sql")
        path.parent.mkdir(exist_ok=True)
        path.write_text(sql, encoding="utf-8")
        answer = call(self.server, "POST", "/api/2.1/jobs/create", {"name": name, "tasks": [
            {"task_key": name, "sql_task": {"warehouse_id": "local-warehouse",
                                            "file": {"path": "jobs/%s.sql" % name}}}]})
        self.assertEqual(answer.status_code, 200, answer.text)
        return answer.json()["job_id"]

    def download(self, link):
        answer = requests.get(link["external_link"], timeout=10)  # no Authorization header
        self.assertEqual(answer.status_code, 200, answer.text)
        return ipc.open_stream(answer.content).read_all()

    def assert_sql_error(self, sql, state):
        body = self.submit(self.server, sql)
        self.assertEqual(body["status"]["state"], "FAILED")
        error = body["status"]["error"]
        self.assertEqual(error["error_code"], "BAD_REQUEST")
        self.assertTrue(error["message"].endswith("SQLSTATE: %s" % state), error["message"])

    # -- tests --------------------------------------------------------------------------

    def test_requests_without_the_bearer_token_are_refused(self):
        server = self.server
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            with self.subTest(headers=headers):
                answer = call(server, "GET", "/api/2.0/sql/warehouses", headers=headers)
                self.assertEqual(answer.status_code, 401)
                self.assertEqual(answer.json()["error_code"], "UNAUTHENTICATED")
        listing = call(server, "GET", "/api/2.0/sql/warehouses").json()
        self.assertEqual(listing["warehouses"][0]["state"], "RUNNING")
        self.assertIn(("GET", "/api/2.0/sql/warehouses"), server.requests)

    def test_async_submit_answers_pending_then_polls_to_succeeded(self):
        server = self.server
        server.pending_delay = 0.3  # a warehouse still starting
        first = self.submit(server, "SELECT id, amount, day FROM demo.gold.sales",
                            wait_timeout="0s")
        self.assertIn(first["status"]["state"], ("PENDING", "RUNNING"))
        self.assertNotIn("manifest", first)
        done = wait_statement(server, first["statement_id"])
        self.assertEqual(done["status"]["state"], "SUCCEEDED")
        manifest = done["manifest"]
        self.assertEqual(manifest["total_row_count"], 25)
        self.assertEqual(manifest["total_chunk_count"], 3)
        cols = {c["name"]: c for c in manifest["schema"]["columns"]}
        self.assertEqual(cols["id"]["type_text"], "BIGINT")
        self.assertEqual(cols["amount"]["type_text"], "DECIMAL(10,2)")
        self.assertEqual(cols["amount"]["type_scale"], 2)
        self.assertEqual(cols["day"]["type_name"], "DATE")

    def test_inline_json_array_is_read_chunk_by_chunk(self):
        server = self.server
        body = self.submit(server, "SELECT id, amount, note FROM demo.gold.sales ORDER BY id")
        rows, result = [], body["result"]
        while True:
            rows.extend(result["data_array"])
            link = result.get("next_chunk_internal_link")
            if not link:
                break
            result = call(server, "GET", link).json()
        self.assertEqual(len(rows), 25)
        self.assertEqual(rows[0], ["1", "1.50", None])  # every value a string, nulls stay null
        self.assertEqual(rows[-1][0], "25")
        self.assertEqual([c["row_count"] for c in body["manifest"]["chunks"]], [10, 10, 5])

    def test_inline_rejects_arrow_and_empty_result_has_no_chunks(self):
        server = self.server
        answer = call(server, "POST", STATEMENTS, {"warehouse_id": "local-warehouse",
                                                   "statement": "SELECT 1",
                                                   "format": "ARROW_STREAM"})
        self.assertEqual(answer.status_code, 400)
        self.assertEqual(answer.json()["error_code"], "INVALID_PARAMETER_VALUE")
        empty = self.submit(server, "SELECT id FROM demo.gold.sales WHERE id < 0")
        self.assertEqual(empty["status"]["state"], "SUCCEEDED")
        self.assertEqual(empty["manifest"]["total_row_count"], 0)
        self.assertEqual(empty["manifest"]["total_chunk_count"], 0)

    def test_external_links_serve_arrow_streams_without_auth(self):
        server = self.server
        body = self.submit(server, "SELECT id, name FROM demo.gold.sales ORDER BY id",
                           disposition="EXTERNAL_LINKS", format="ARROW_STREAM")
        tables, link = [], body["result"]["external_links"][0]
        while True:
            expires = dt.datetime.fromisoformat(link["expiration"].replace("Z", "+00:00"))
            self.assertGreater(expires, dt.datetime.now(dt.timezone.utc))
            tables.append(self.download(link))
            if "next_chunk_internal_link" not in link:
                break
            link = call(server, "GET",
                        link["next_chunk_internal_link"]).json()["external_links"][0]
        table = pa.concat_tables(tables)
        self.assertEqual(table.column("id").to_pylist(), list(range(1, 26)))
        self.assertEqual(table.column("name")[-1].as_py(), EVIL)

    def test_expired_link_is_403_and_chunk_fetch_gives_a_fresh_one(self):
        server = self.server
        body = self.submit(server, "SELECT id FROM demo.gold.sales",
                           disposition="EXTERNAL_LINKS", format="ARROW_STREAM")
        old = body["result"]["external_links"][0]["external_link"]
        server.expire_links()
        expired = requests.get(old, timeout=10)
        self.assertEqual(expired.status_code, 403)
        self.assertIn("Request has expired", expired.text)
        fresh = call(server, "GET", "%s/%s/result/chunks/0" % (STATEMENTS, body["statement_id"]))
        link = fresh.json()["external_links"][0]
        self.assertNotEqual(link["external_link"], old)
        self.assertEqual(self.download(link).num_rows, 10)

    def test_link_ttl_expires_links_on_its_own(self):
        with DatabricksApiServer(self.lake.root, TOKEN, link_ttl=0.2) as srv:
            body = self.submit(srv, "SELECT id FROM demo.gold.sales",
                               disposition="EXTERNAL_LINKS", format="ARROW_STREAM")
            time.sleep(0.3)
            answer = requests.get(body["result"]["external_links"][0]["external_link"],
                                  timeout=10)
            self.assertEqual(answer.status_code, 403)

    def test_row_limit_truncates_and_says_so(self):
        server = self.server
        cut = self.submit(server, "SELECT id FROM demo.gold.sales", row_limit=7)
        self.assertEqual(cut["manifest"]["total_row_count"], 7)
        self.assertIs(cut["manifest"]["truncated"], True)
        self.assertEqual(len(cut["result"]["data_array"]), 7)
        whole = self.submit(server, "SELECT id FROM demo.gold.sales", row_limit=100)
        self.assertIs(whole["manifest"]["truncated"], False)

    def test_named_parameters_are_bound_not_spliced(self):
        server = self.server
        body = self.submit(
            server, "SELECT id, name FROM demo.gold.sales WHERE name = :name OR id < :max",
            parameters=[{"name": "name", "value": EVIL},
                        {"name": "max", "value": "3", "type": "INT"}])
        self.assertEqual(body["status"]["state"], "SUCCEEDED", body)
        self.assertEqual(body["result"]["data_array"], [["1", "n1"], ["2", "n2"], ["25", EVIL]])
        typed = self.submit(server, "SELECT :d + 1 AS d, :a * 2 AS a, :b AS b",
                            parameters=[{"name": "d", "value": "2024-02-28", "type": "DATE"},
                                        {"name": "a", "value": "1.25", "type": "DECIMAL(10,2)"},
                                        {"name": "b", "value": "true", "type": "BOOLEAN"}])
        self.assertEqual(typed["result"]["data_array"], [["2024-02-29", "2.50", "true"]])

    # One method per SQL error (formerly a three-case parametrized test).

    def test_sql_errors_end_failed_with_sqlstate_unknown_column(self):
        self.assert_sql_error("SELECT nope FROM demo.gold.sales", "42703")

    def test_sql_errors_end_failed_with_sqlstate_missing_table(self):
        self.assert_sql_error("SELECT * FROM demo.gold.missing", "42P01")

    def test_sql_errors_end_failed_with_sqlstate_syntax_error(self):
        self.assert_sql_error("SELEC 1", "42601")

    def test_cancel_stops_a_pending_statement(self):
        server = self.server
        server.pending_delay = 5
        sid = self.submit(server, "SELECT id FROM demo.gold.sales",
                          wait_timeout="0s")["statement_id"]
        self.assertEqual(call(server, "POST", "%s/%s/cancel" % (STATEMENTS, sid)).json(), {})
        time.sleep(0.2)
        body = call(server, "GET", "%s/%s" % (STATEMENTS, sid)).json()
        self.assertEqual(body["status"]["state"], "CANCELED")
        self.assertNotIn("result", body)

    def test_injected_faults_answer_like_databricks(self):
        server = self.server
        server.inject(STATEMENTS, 429, retry_after=3)
        limited = call(server, "POST", STATEMENTS, {"warehouse_id": "local-warehouse",
                                                    "statement": "SELECT 1"})
        self.assertEqual(limited.status_code, 429)
        self.assertEqual(limited.headers["Retry-After"], "3")
        self.assertEqual(limited.json()["error_code"], "REQUEST_LIMIT_EXCEEDED")
        self.assertEqual(self.submit(server, "SELECT 1 AS one")["result"]["data_array"], [["1"]])
        # the HTTP control endpoint, for a server in another process
        call(server, "POST", "/ipai-test/faults",
             {"path_prefix": "/api/2.0/sql/warehouses", "status": 503, "count": 1})
        down = call(server, "GET", "/api/2.0/sql/warehouses")
        self.assertEqual(down.status_code, 503)
        self.assertEqual(down.json()["error_code"], "TEMPORARILY_UNAVAILABLE")
        self.assertEqual(call(server, "GET", "/api/2.0/sql/warehouses").status_code, 200)

    def test_job_run_writes_the_target_table_and_survives_restart(self):
        server, lake = self.server, self.lake
        job_id = self.create_job("-- silver step\nCREATE OR REPLACE TABLE demo.silver.big AS "
                                 "SELECT id, amount FROM demo.gold.sales WHERE id > :min_id;\n")
        run = call(server, "POST", "/api/2.1/jobs/run-now",
                   {"job_id": job_id, "job_parameters": {"min_id": "20"}}).json()
        done = wait_run(server, run["run_id"])
        self.assertEqual(done["state"]["result_state"], "SUCCESS", done["state"])
        self.assertEqual(done["tasks"][0]["state"]["result_state"], "SUCCESS")
        self.assertGreaterEqual(done["end_time"], done["start_time"])
        self.assertGreater(done["start_time"], 0)
        out = lake.execute("SELECT count(*) AS n FROM demo.silver.big").read_all()
        self.assertEqual(out.column("n")[0].as_py(), 5)
        with DatabricksApiServer(lake.root, TOKEN) as again:  # jobs persist in <root>/_jobs.json
            job = call(again, "GET", "/api/2.1/jobs/get", params={"job_id": job_id}).json()
            self.assertEqual(job["settings"]["name"], "silver")

    def test_idempotency_token_never_starts_a_second_run(self):
        server, lake = self.server, self.lake
        job_id = self.create_job("INSERT INTO demo.gold.sales SELECT * FROM demo.gold.sales "
                                 "WHERE id = 1")
        body = {"job_id": job_id, "idempotency_token": "odoo-run-42"}
        first = call(server, "POST", "/api/2.1/jobs/run-now", body).json()
        again = call(server, "POST", "/api/2.1/jobs/run-now", body).json()
        self.assertEqual(first["run_id"], again["run_id"])
        wait_run(server, first["run_id"])
        runs = call(server, "GET", "/api/2.1/jobs/runs/list", params={"job_id": job_id}).json()
        self.assertEqual(len(runs["runs"]), 1)
        out = lake.execute("SELECT count(*) AS n FROM demo.gold.sales").read_all()
        self.assertEqual(out.column("n")[0].as_py(), 26)  # one append, not two

    def test_failed_job_is_repaired(self):
        server, lake = self.server, self.lake
        job_id = self.create_job("CREATE OR REPLACE TABLE demo.silver.clean AS "
                                 "SELECT * FROM demo.bronze.raw")
        run_id = call(server, "POST", "/api/2.1/jobs/run-now",
                      {"job_id": job_id}).json()["run_id"]
        failed = wait_run(server, run_id)
        self.assertEqual(failed["state"]["result_state"], "FAILED")
        self.assertIn("42P01", failed["state"]["state_message"])
        lake.write_table("demo.bronze.raw", pa.table({"v": [1, 2]}))  # the operator fixes it
        repair = call(server, "POST", "/api/2.1/jobs/runs/repair",
                      {"run_id": run_id, "rerun_all_failed_tasks": True}).json()
        repaired = wait_run(server, run_id, repairs=1)
        self.assertEqual(repaired["state"]["result_state"], "SUCCESS")
        self.assertEqual([h["type"] for h in repaired["repair_history"]], ["ORIGINAL", "REPAIR"])
        self.assertEqual(repaired["repair_history"][1]["id"], repair["repair_id"])
        self.assertTrue(lake.table_exists("demo.silver.clean"))
        # a second repair must name the latest one, as Databricks requires
        stale = call(server, "POST", "/api/2.1/jobs/runs/repair",
                     {"run_id": run_id, "rerun_tasks": ["silver"]})
        self.assertEqual(stale.status_code, 400)
