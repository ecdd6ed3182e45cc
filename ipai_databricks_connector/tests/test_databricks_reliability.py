"""Refreshes and runs against dirty tables, forged records, dead workers and other time zones."""

import datetime as dt
import os
import time

import pyarrow as pa

from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import GOLD, LakeCase, drain, sales_table


def _set_tz(name):
    os.environ["TZ"] = name
    time.tzset()


@tagged("post_install", "-at_install")
class TestForgedRecords(LakeCase):
    def test_users_read_snapshots_and_runs_but_never_write_them(self):
        self.lake.write_table(GOLD, sales_table(days=1))
        view = self.make_view()
        job = self.env["ipai.databricks.job"].create({
            "name": "Silver", "workspace_id": self.workspace.id, "sql": f"SELECT * FROM {GOLD}",
            "target_table": "demo.silver.copy"})
        for user in (self.user, self.manager):
            with self.assertRaises(AccessError):
                self.env["ipai.databricks.snapshot"].with_user(user).create({
                    "view_id": view.id, "mode": "full"})
            with self.assertRaises(AccessError):
                self.env["ipai.databricks.job.run"].with_user(user).create({
                    "job_id": job.id, "state": "failed", "run_id": "4242"})
        with trap_jobs() as trap:
            snap = view.with_user(self.user).action_refresh()
            run = job.with_user(self.user).action_run_now()
            drain(trap)
        self.assertEqual(snap.state, "published", snap.message)
        self.assertEqual(run.state, "success", run.message)
        self.assertEqual(snap.create_uid, self.user, "the requester is recorded")
        with self.assertRaises(AccessError):
            snap.with_user(self.user).write({"state": "failed"})
        with self.assertRaises(AccessError):
            run.with_user(self.user).write({"state": "failed"})

    def test_one_bad_view_never_stops_the_scheduled_refresh_of_the_others(self):
        self.lake.write_table(GOLD, sales_table(days=1))
        bad = self.make_view(code="bad", schedule="hourly")
        good = self.make_view(code="good", schedule="hourly")
        # A snapshot left unfinished (by an older version, or a crash) on an idle view.
        self.env["ipai.databricks.snapshot"].create({"view_id": bad.id, "mode": "full"})
        with trap_jobs() as trap:
            self.env["ipai.databricks.view"]._cron_refresh_due()
            drain(trap)
        self.assertEqual(good.current_snapshot_id.state, "published")
        self.assertIn("skipped", bad.message_ids[:1].body)

    def test_the_scheduled_refresh_commits_view_by_view_as_the_scheduler_runs_it(self):
        """Run by the scheduler, each view's step is committed and counted: a worker
        killed halfway keeps the views it queued, and the run says how far it got."""
        self.lake.write_table(GOLD, sales_table(days=1))
        views = self.make_view(code="due_a", schedule="hourly")
        views |= self.make_view(code="due_b", schedule="daily")
        cron = self.env.ref("ipai_databricks_connector.ir_cron_refresh_due_views")
        with trap_jobs() as trap, self.enter_registry_test_mode():
            cron.method_direct_trigger()
        progress = self.env["ir.cron.progress"].search([("cron_id", "=", cron.id)],
                                                       order="id desc", limit=1)
        self.assertEqual((progress.done, progress.remaining), (2, 0))
        self.assertTrue(trap.enqueued_jobs)
        snapshots = self.env["ipai.databricks.snapshot"].search([("view_id", "in", views.ids)])
        self.assertEqual(snapshots.view_id, views, "one refresh queued per due view")
        self.assertEqual(len(snapshots), 2)
        views.invalidate_recordset(["next_refresh_at"])
        self.assertTrue(all(views.mapped("next_refresh_at")))
        # due again only after their schedule: the next run queues nothing
        with trap_jobs() as again, self.enter_registry_test_mode():
            cron.method_direct_trigger()
        self.assertEqual(again.enqueued_jobs, [])


@tagged("post_install", "-at_install")
class TestRefreshFailures(LakeCase):
    def refresh(self, view):
        with trap_jobs() as trap:
            view.with_user(self.user).action_refresh()
            drain(trap)
        return view.snapshot_ids.sorted("id")[-1:]

    def assertEndsFailed(self, view, snap, text):
        self.assertEqual(snap.state, "failed")
        self.assertIn(text, snap.message)
        self.assertEqual(view.refresh_state, "failed")
        self.cr.execute("SELECT to_regclass(%s)", [snap._staging_table()])
        self.assertIsNone(self.cr.fetchone()[0], "the staging table is dropped")
        self.assertEqual(self.refresh(view).state, "failed", "and the next refresh can start")

    def test_a_duckdb_runtime_error_fails_the_snapshot(self):
        self.lake.write_table(GOLD, sales_table(days=1))
        view = self.make_view(source=f"SELECT CAST(region AS INTEGER) AS n FROM {GOLD} "
                                     "WHERE store_id > 0")
        self.assertEndsFailed(view, self.refresh(view), "[CAST_INVALID_INPUT]")

    def test_nul_bytes_are_removed_and_reported_per_column(self):
        self.lake.write_table(GOLD, pa.table({
            "label": ["clean", "nul\x00inside", "\x00\x00", None],
            "note": ["a", "b", "c\x00", "d"], "n": pa.array([1, 2, 3, 4], pa.int32())}))
        view = self.make_view()
        snap = self.refresh(view)
        self.assertEqual(snap.state, "published", snap.message)
        self.assertIn("label (3)", snap.message)
        self.assertIn("note (1)", snap.message)
        rows = self.env[view.model_name].search_read([], ["x_label", "x_note"], order="id")
        self.assertEqual([r["x_label"] or False for r in rows],
                         ["clean", "nulinside", False, False])

    def test_a_rule_that_cannot_run_fails_the_snapshot(self):
        self.lake.write_table(GOLD, pa.table({"big": pa.array(["1", "2**40"], pa.string())}))
        view = self.make_view()
        self.env["ipai.databricks.quality.rule"].create({
            "name": "Big in range", "view_id": view.id, "kind": "between", "column": "big",
            "min_value": 0, "max_value": 2**50})
        # A STRING column, which PostgreSQL does not compare with a number.
        self.assertEndsFailed(view, self.refresh(view), "quality rule could not be evaluated")

    def test_a_bigint_rule_compares_numbers_beyond_a_float(self):
        self.lake.write_table(GOLD, pa.table({"big": pa.array([1, 2**53 + 1, None],
                                                              pa.int64())}))
        view = self.make_view()
        self.env["ipai.databricks.quality.rule"].create({
            "name": "Big in range", "view_id": view.id, "kind": "between", "column": "big",
            "min_value": 0, "max_value": 2**50, "severity": "warn"})
        view.quality_threshold = 0
        snap = self.refresh(view)
        self.assertEqual(snap.quality_result_ids.failing_rows, 1, snap.message)

    def test_the_watchdog_fails_a_refresh_whose_job_died(self):
        self.lake.write_table(GOLD, sales_table(days=1))
        view = self.make_view()
        snap = self.env["ipai.databricks.snapshot"].create({"view_id": view.id, "mode": "full"})
        view.refresh_state = "running"
        self.cr.execute("UPDATE ipai_databricks_snapshot SET create_date = now() at time zone "
                        "'UTC' - interval '1 hour' WHERE id = %s", [snap.id])
        snap.invalidate_recordset()
        self.assertEqual(self.env["ipai.databricks.snapshot"]._cron_watchdog(), 1)
        self.assertEqual(snap.state, "failed")
        self.assertIn("watchdog", snap.message)
        self.assertEqual(view.refresh_state, "failed")


@tagged("post_install", "-at_install")
class TestWatermarks(LakeCase):
    def tearDown(self):
        _set_tz("UTC")
        super().tearDown()

    def test_a_bigint_watermark_compares_as_a_number(self):
        self.lake.write_table(GOLD, pa.table({"seq": pa.array([1, 9], pa.int64())}))
        view = self.make_view(refresh_mode="incremental", watermark_column="seq")
        view._refresh_now()
        self.lake.write_table(GOLD, pa.table({"seq": pa.array([10, 12], pa.int64())}),
                              mode="append")
        snap = view._refresh_now()
        self.assertEqual(snap.watermark_from, "9")
        self.assertEqual((snap.loaded_rows, snap.row_count), (2, 4), snap.message)
        snap = view._refresh_now()  # "9" > "12" as text: the old code loaded them twice
        self.assertEqual((snap.watermark_from, snap.loaded_rows, snap.row_count), ("12", 0, 4))

    def test_a_double_watermark_is_the_exact_largest_value(self):
        # float8::numeric keeps 15 digits: 1/3 became 0.333333333333333, and the row
        # holding the largest value was loaded again at every refresh.
        third = 1 / 3
        self.lake.write_table(GOLD, pa.table({"score": pa.array([0.1 + 0.2, third])}))
        view = self.make_view(refresh_mode="incremental", watermark_column="score")
        view._refresh_now()
        snap = view._refresh_now()
        self.assertEqual(snap.watermark_from, repr(third))
        self.assertEqual((snap.loaded_rows, snap.row_count), (0, 2), snap.message)
        self.lake.write_table(GOLD, pa.table({"score": pa.array([third + 2e-16, 0.5])}),
                              mode="append")
        snap = view._refresh_now()
        self.assertEqual((snap.loaded_rows, snap.row_count), (2, 4), snap.message)

    def test_timestamp_watermarks_are_utc_whatever_the_server_time_zone(self):
        start = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
        for zone in ("Asia/Manila", "America/Los_Angeles"):
            with self.subTest(zone=zone):
                _set_tz(zone)
                code = "ts_" + zone.split("/")[1].lower()
                table = f"demo.gold.{code}"
                self.lake.write_table(table, pa.table({"at": pa.array(
                    [start + dt.timedelta(hours=h) for h in range(3)],
                    pa.timestamp("us", tz="UTC"))}))
                view = self.make_view(code=code, source=table, refresh_mode="incremental",
                                      watermark_column="at")
                view._refresh_now()
                self.lake.write_table(table, pa.table({"at": pa.array(
                    [start + dt.timedelta(hours=h) for h in (3, 4)],
                    pa.timestamp("us", tz="UTC"))}), mode="append")
                snap = view._refresh_now()
                self.assertEqual(snap.watermark_from, "2026-05-01 10:00:00")
                self.assertEqual((snap.loaded_rows, snap.row_count), (2, 5), snap.message)


@tagged("post_install", "-at_install")
class TestRequeuedJobs(LakeCase):
    def test_a_local_append_performed_again_writes_once(self):
        self.lake.write_table("demo.bronze.sales", sales_table(days=2, stores=3))  # 6 rows
        self.lake.write_table("demo.silver.sales", sales_table(days=2, stores=3))
        job = self.env["ipai.databricks.job"].create({
            "name": "Append", "workspace_id": self.workspace.id, "write_mode": "append",
            "sql": "SELECT * FROM demo.bronze.sales", "target_table": "demo.silver.sales"})
        with trap_jobs() as trap:
            run = job.action_run_now()
            queued = trap.enqueued_jobs[0]
            queued.perform()
            self.assertEqual(run.state, "success", run.message)
            # The worker died before its transaction committed: Odoo forgot the run's
            # progress, Delta kept the commit; queue_job requeues and performs it again.
            run.write({"state": "queued", "delta_version": 0})
            queued.perform()
        self.assertEqual(run.state, "success", run.message)
        rows = self.lake.execute("SELECT count(*) AS n FROM demo.silver.sales").read_all()
        self.assertEqual(rows.column("n")[0].as_py(), 12)
        self.assertEqual(run.delta_version, 1)

    def test_a_publish_performed_again_changes_nothing(self):
        self.lake.write_table(GOLD, sales_table(days=2))
        view = self.make_view(refresh_mode="incremental", watermark_column="sale_date")
        snap = self.env["ipai.databricks.snapshot"].create({"view_id": view.id,
                                                            "mode": "incremental"})
        for step in (snap._job_query, snap._job_load, snap._job_load, snap._job_quality,
                     snap._job_publish, snap._job_publish, snap._job_load):
            step()
        self.assertEqual((snap.state, snap.row_count), ("published", 4), snap.message)
        self.assertEqual(self.env[view.model_name].search_count([]), 4)
