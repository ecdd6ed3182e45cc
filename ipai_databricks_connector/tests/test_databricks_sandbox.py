"""A Databricks Manager's SQL tries to read the Odoo host, through views and jobs."""

import secrets
from pathlib import Path

from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import GOLD, LakeCase, drain, sales_table


@tagged("post_install", "-at_install")
class TestManagerSQLSandbox(LakeCase):
    def setUp(self):
        super().setUp()
        self.secret = "vault-" + secrets.token_hex(16)
        self.key_file = Path(self.root, "..", Path(self.root).name + ".key").resolve()
        self.key_file.write_text(self.secret, encoding="utf-8")
        self.addCleanup(self.key_file.unlink, True)
        self.lake.write_table(GOLD, sales_table(days=1))
        self.View = self.env["ipai.databricks.view"].with_user(self.manager)

    def new_view(self, source, code="leak"):
        return self.View.create({"name": code.title(), "code": code, "source": source,
                                 "workspace_id": self.workspace.id, "schedule": "manual"})

    def test_a_view_reading_the_key_file_gets_an_error_not_the_key(self):
        view = self.new_view(f"SELECT content AS x FROM read_text('{self.key_file}')")
        with self.assertRaises(UserError) as caught:
            view.action_create_model()
        self.assertIn("disabled by configuration", str(caught.exception))
        self.assertNotIn(self.secret, str(caught.exception))
        self.assertFalse(view.model_id)

    def test_a_refresh_whose_source_turns_hostile_fails_readably(self):
        view = self.new_view(f"SELECT region AS x FROM {GOLD}")
        view.action_create_model()
        view.source = f"SELECT content AS x FROM read_text('{self.key_file}')"
        with trap_jobs() as trap:
            view.with_user(self.user).action_refresh()
            drain(trap)
        snap = view.snapshot_ids.sorted("id")[-1:]
        self.assertEqual(snap.state, "failed")
        self.assertIn("disabled by configuration", snap.message)
        self.assertEqual(view.refresh_state, "failed")
        rows = self.env[view.model_name].with_user(self.user).search_read([], ["x_x"])
        self.assertNotIn(self.secret, str(rows))
        self.cr.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE %s",
                        [view.model_name.replace("_", "\\_") + "\\_\\_stg%"])
        self.assertEqual(self.cr.fetchone()[0], 0, "no staging table is left behind")

    def test_a_source_of_several_statements_is_refused_on_save(self):
        out = Path(self.root, "out.csv")
        for source in (f"SELECT * FROM {GOLD}; COPY (SELECT 1) TO '{out}'",
                       f"WITH x AS (SELECT 1) SELECT * FROM x; ATTACH '{out}.db'",
                       "SELECT 1 AS a; INSTALL httpfs"):
            with self.assertRaises(ValidationError, msg=source):
                self.new_view(source)
        view = self.new_view(f"SELECT * FROM {GOLD}", code="fine")
        with self.assertRaises(ValidationError):
            view.source = f"SELECT 1 AS a; COPY (SELECT 1) TO '{out}'"
        self.assertFalse(out.exists())

    def test_a_job_step_is_one_select_and_cannot_copy_the_key(self):
        Job = self.env["ipai.databricks.job"].with_user(self.manager)
        out = Path(self.root, "out.csv")
        for sql in (f"COPY (SELECT 1) TO '{out}'", f"SELECT 1; COPY (SELECT 1) TO '{out}'",
                    "ATTACH ':memory:' AS m", "LOAD httpfs", "SET enable_external_access = 1"):
            with self.assertRaises(ValidationError, msg=sql):
                Job.create({"name": "Step", "workspace_id": self.workspace.id, "sql": sql,
                            "target_table": "demo.silver.leak"})
        job = Job.create({"name": "Leak", "workspace_id": self.workspace.id,
                          "sql": f"SELECT content FROM read_text('{self.key_file}')",
                          "target_table": "demo.silver.leak"})
        with trap_jobs() as trap:
            run = job.with_user(self.user).action_run_now()
            drain(trap)
        self.assertEqual(run.state, "failed")
        self.assertIn("disabled by configuration", run.message)
        self.assertNotIn(self.secret, run.message)
        self.assertFalse(self.lake.table_exists("demo.silver.leak"))
        self.assertFalse(out.exists())
