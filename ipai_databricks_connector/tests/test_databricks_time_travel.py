"""A view refreshed as of a Delta version, an earlier snapshot published again (rollback),
and a refresh that reads the version it recorded even when the table moves on."""

from psycopg2 import IntegrityError

from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import GOLD, LakeCase, drain, sales_table


@tagged("post_install", "-at_install")
class TestDatabricksTimeTravel(LakeCase):
    def setUp(self):
        super().setUp()
        self.lake.write_table(GOLD, sales_table(days=1))  # version 0: 2 rows
        self.lake.write_table(GOLD, sales_table(days=4))  # version 1: 8 rows
        self.view = self.make_view()

    def wizard_refresh(self, user, **vals):
        wizard = self.env["ipai.databricks.refresh.wizard"].with_user(user).with_context(
            default_view_id=self.view.id).create(vals)
        with trap_jobs() as trap:
            wizard.action_refresh()
            drain(trap)
        return self.view.snapshot_ids.sorted("id")[-1]

    def test_refresh_as_of_a_version_then_roll_back(self):
        latest = self.view._refresh_now()
        self.assertEqual((latest.delta_version, latest.row_count), (1, 8))
        old = self.wizard_refresh(self.user, pin_version=True, as_of_version=0)
        self.assertEqual((old.state, old.delta_version, old.row_count), ("published", 0, 2),
                         old.message)
        self.assertIn("As of version 0", self.view.snapshot_label)
        self.assertIn("as of Delta version 0", self.view.message_ids[:1].body)
        # Users refresh; only a manager rolls back.
        with self.assertRaises(AccessError):  # a permission, not a user mistake
            latest.with_user(self.user).action_republish()
        with trap_jobs() as trap:
            latest.with_user(self.manager).action_republish()
            drain(trap)
        again = self.view.current_snapshot_id
        self.assertEqual((again.delta_version, again.row_count, again.republished_from_id),
                         (1, 8, latest))
        self.assertEqual(again.index_state, "built", "the chain indexes a rollback too")
        self.cr.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s",
                        [self.view.model_name])
        self.assertEqual(self.cr.fetchone()[0], len(self.view.column_ids) + 1)
        body = self.view.message_ids[:1].body
        self.assertIn(f"snapshot {latest.id}", body)
        self.assertIn(self.manager.name, body)
        failed = self.view._refresh_now(as_of_version=7)
        self.assertEqual(failed.state, "failed")
        self.assertIn("Version 7", failed.message)
        with self.assertRaisesRegex(UserError, "published snapshot"):
            failed.with_user(self.manager).action_republish()
        self.assertEqual(self.env[self.view.model_name].search_count([]), 8, "data kept")

    def test_a_refresh_reads_the_version_it_recorded(self):
        snap = self.env["ipai.databricks.snapshot"].create({"view_id": self.view.id})
        snap._job_query()
        self.assertEqual(snap.delta_version, 1)
        self.lake.write_table(GOLD, sales_table(days=10))  # version 2 lands meanwhile
        snap._job_load()
        snap._job_quality()
        snap._job_publish()
        self.assertEqual((snap.state, snap.row_count), ("published", 8),
                         "the rows are those of the version the snapshot names")

    def test_only_a_table_source_travels_in_time(self):
        view = self.make_view("selected", f"SELECT region FROM {GOLD}")
        with self.assertRaisesRegex(UserError, "only a table source"):
            view._enqueue_refresh(as_of_version=0)

    def test_a_negative_version_or_row_limit_is_refused_not_an_empty_table(self):
        self.view._refresh_now()
        with self.assertRaisesRegex(UserError, "0 or more, not -3"):
            self.view._enqueue_refresh(as_of_version=-3)
        # A negative limit cut every row: the refresh published an empty table.
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), \
                self.env.cr.savepoint():
            self.view.write({"row_limit": -5})
            self.env.flush_all()
        self.view.invalidate_recordset(["row_limit"])
        self.assertEqual(self.env[self.view.model_name].search_count([]), 8, "rows kept")
