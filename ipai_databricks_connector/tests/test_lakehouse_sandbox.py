"""The DuckDB sandbox, attacked as a Databricks Manager's SQL would attack the Odoo host.

The secret is a real file the SQL must not reach (a stand-in for the vault key file,
``odoo.conf`` or ``/proc/self/environ``); a probe passes only when its outcome is a
refusal and the secret appears nowhere in what comes back.
"""

import secrets
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import requests

from odoo.tests import BaseCase

from ..lakehouse import sandbox
from ..lakehouse.devserver import DatabricksApiServer
from ..lakehouse.local_backend import LocalLakehouse

GOLD = "demo.gold.sales"
TOKEN = "dapi-sandbox-test"
AUTH = {"Authorization": "Bearer " + TOKEN}


class SandboxCase(BaseCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(tempfile.mkdtemp(prefix="ipai_sandbox_"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.secret = "vault-" + secrets.token_hex(16)
        self.key_file = self.tmp / "vault.key"
        self.key_file.write_text(self.secret, encoding="utf-8")
        (self.tmp / "rows.csv").write_text("a\n%s\n" % self.secret, encoding="utf-8")
        self.root = self.tmp / "lake"
        self.lake = LocalLakehouse(str(self.root))
        self.lake.write_table(GOLD, pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"]}))

    def read_probes(self):
        key, csv = str(self.key_file), str(self.tmp / "rows.csv")
        return [
            f"SELECT content FROM read_text('{key}')",
            f"SELECT content FROM read_blob('{key}')",
            "SELECT content FROM read_text('/proc/self/environ')",
            f"SELECT * FROM read_csv('{csv}')",
            f"SELECT * FROM '{csv}'",
            f"SELECT * FROM glob('{self.tmp}/*')",
            f"SELECT * FROM sniff_csv('{csv}')",
            f"SELECT id FROM {GOLD} UNION ALL SELECT length(content) FROM read_text('{key}')",
            "SELECT * FROM read_parquet('http://127.0.0.1:9/x.parquet')",
        ]


class TestSandboxConnection(SandboxCase):
    def assertRefused(self, con, sql):
        with self.assertRaises(duckdb.Error, msg=sql) as caught:
            con.sql(sql).fetchall()
        self.assertNotIn(self.secret, str(caught.exception))

    def test_no_file_network_attach_or_extension_reaches_the_host(self):
        con = sandbox.connect()
        for sql in self.read_probes()[:-2]:
            self.assertRefused(con, sql)
        out = self.tmp / "out.csv"
        for sql in (f"COPY (SELECT 42 AS x) TO '{out}'",
                    f"EXPORT DATABASE '{self.tmp / 'export'}'",
                    f"ATTACH '{self.tmp / 'other.duckdb'}' AS other",
                    "INSTALL httpfs", "LOAD httpfs", "INSTALL evil FROM 'http://127.0.0.1:9/'",
                    "INSTALL h3 FROM community",
                    "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 'x')"):
            self.assertRefused(con, sql)
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir()),
                         ["lake", "rows.csv", "vault.key"], "nothing was written on the host")

    def test_the_settings_are_locked(self):
        con = sandbox.connect(memory_limit="256MB", threads=1)
        for sql in ("SET enable_external_access = true", "RESET enable_external_access",
                    "SET lock_configuration = false", "SET autoload_known_extensions = true",
                    "SET allow_community_extensions = true", "SET memory_limit = '64GB'",
                    "SET threads = 64", "SET TimeZone = 'Asia/Manila'",
                    "PRAGMA enable_external_access"):
            with self.assertRaises(duckdb.Error, msg=sql):
                con.execute(sql)
        settings = dict(con.sql(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('TimeZone', 'threads', "
            "'enable_external_access', 'lock_configuration', 'autoload_known_extensions', "
            "'autoinstall_known_extensions', 'allow_community_extensions', "
            "'python_enable_replacements')").fetchall())
        self.assertEqual(settings, {
            "TimeZone": "UTC", "threads": "1", "enable_external_access": "false",
            "lock_configuration": "true", "autoload_known_extensions": "false",
            "autoinstall_known_extensions": "false", "allow_community_extensions": "false",
            "python_enable_replacements": "false"})
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        self.assertIn("MiB", limit)
        self.assertLess(float(limit.split()[0]), 300)

    def test_python_variables_are_not_tables(self):
        leaked_rows = pa.table({"secret": [self.secret]})  # noqa: F841 - the bait
        con = sandbox.connect()
        with self.assertRaises(duckdb.CatalogException):
            con.sql("SELECT * FROM leaked_rows").fetchall()
        # A plain connection would have read it: the probe itself is sound.
        self.assertEqual(duckdb.connect().sql("SELECT * FROM leaked_rows").fetchall(),
                         [(self.secret,)])


class TestLakehouseSQL(SandboxCase):
    def test_a_normal_delta_query_still_works(self):
        out = self.lake.execute(f"SELECT name FROM {GOLD} WHERE id >= :low ORDER BY id",
                                {"low": 2}).read_all()
        self.assertEqual(out.column("name").to_pylist(), ["b", "c"])
        self.lake.run_step(f"SELECT id * 10 AS id FROM {GOLD}", "demo.silver.t")
        self.assertEqual(self.lake.execute("SELECT sum(id) AS s FROM demo.silver.t")
                         .read_all().column("s")[0].as_py(), 60)

    def test_every_read_probe_is_refused_and_the_secret_never_comes_back(self):
        for sql in self.read_probes():
            with self.assertRaises((duckdb.Error, sandbox.SQLRefused), msg=sql) as caught:
                self.lake.execute(sql).read_all()
            self.assertNotIn(self.secret, str(caught.exception))
            with self.assertRaises((duckdb.Error, sandbox.SQLRefused), msg=sql):
                self.lake.run_step(sql, "demo.silver.leak")
        self.assertFalse(self.lake.table_exists("demo.silver.leak"))

    def test_anything_but_one_select_is_refused_before_it_runs(self):
        out = self.tmp / "out.csv"
        for sql in (f"COPY (SELECT * FROM {GOLD}) TO '{out}'",
                    f"SELECT * FROM {GOLD}; COPY (SELECT 1) TO '{out}'",
                    f"SELECT 1; ATTACH '{self.tmp / 'x.duckdb'}'",
                    "SELECT 1 -- comment\n; INSTALL httpfs",
                    "ATTACH ':memory:' AS m", "INSTALL httpfs", "LOAD httpfs",
                    "SET enable_external_access = true", "PRAGMA database_list",
                    "CREATE TABLE t AS SELECT 1", "EXPLAIN SELECT 1",
                    "CALL pragma_version()", "SELECT 1\x00", "", "   "):
            with self.assertRaises(sandbox.SQLRefused, msg=repr(sql)):
                self.lake.execute(sql)
        self.assertFalse(out.exists())
        with self.assertRaisesRegex(duckdb.Error, r"^\[PARSE_SYNTAX_ERROR\]"):  # Databricks'
            self.lake.execute("SELEC 1")
        # Semicolons and keywords inside literals or comments are not statements.
        sql = "WITH x AS (SELECT ';COPY' AS s) SELECT s FROM x -- ; ATTACH 'y'"
        self.assertEqual(self.lake.execute(sql).read_all().column("s").to_pylist(), [";COPY"])


class TestApiServerSandbox(SandboxCase):
    def setUp(self):
        super().setUp()
        self.server = DatabricksApiServer(str(self.root), TOKEN).start()
        self.addCleanup(self.server.stop)

    def call(self, method, path, body=None, params=None):
        return requests.request(method, self.server.url + path, json=body, params=params,
                                headers=AUTH, timeout=10)

    def statement(self, sql):
        answer = self.call("POST", "/api/2.0/sql/statements", {
            "warehouse_id": "local-warehouse", "statement": sql, "wait_timeout": "10s"})
        self.assertEqual(answer.status_code, 200, answer.text)
        self.assertNotIn(self.secret, answer.text)
        return answer.json()

    def test_statements_cannot_reach_the_host(self):
        for sql in self.read_probes():
            body = self.statement(sql)
            self.assertEqual(body["status"]["state"], "FAILED", sql)
        out = self.tmp / "out.csv"
        body = self.statement(f"COPY (SELECT 1) TO '{out}'")
        self.assertEqual(body["status"]["state"], "FAILED")
        self.assertIn("UNSUPPORTED_FEATURE", body["status"]["error"]["message"])
        self.assertFalse(out.exists())
        ok = self.statement(f"SELECT count(*) AS n FROM {GOLD}")
        self.assertEqual(ok["status"]["state"], "SUCCEEDED")
        self.assertEqual(ok["result"]["data_array"], [["3"]])

    def test_a_job_step_cannot_copy_the_key_into_a_table(self):
        (self.root / "jobs").mkdir()
        (self.root / "jobs" / "leak.sql").write_text(
            "CREATE OR REPLACE TABLE demo.silver.leak AS SELECT content FROM "
            f"read_text('{self.key_file}');\n", encoding="utf-8")
        job = self.call("POST", "/api/2.1/jobs/create", {"name": "leak", "tasks": [
            {"task_key": "leak", "sql_task": {"warehouse_id": "local-warehouse",
                                              "file": {"path": "jobs/leak.sql"}}}]}).json()
        run = self.call("POST", "/api/2.1/jobs/run-now", {"job_id": job["job_id"]}).json()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            done = self.call("GET", "/api/2.1/jobs/runs/get",
                             params={"run_id": run["run_id"]}).json()
            if done["state"]["life_cycle_state"] == "TERMINATED":
                break
            time.sleep(0.05)
        self.assertEqual(done["state"]["result_state"], "FAILED")
        self.assertNotIn(self.secret, str(done))
        self.assertFalse(self.lake.table_exists("demo.silver.leak"))
