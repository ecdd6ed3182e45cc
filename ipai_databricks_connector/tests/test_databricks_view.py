import datetime as dt
from decimal import Decimal

import pyarrow as pa

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import GOLD, LakeCase, drain, sales_table


@tagged("post_install", "-at_install")
class TestDatabricksView(LakeCase):
    def _messy_gold(self):
        """A gold table as warehouses write them: BIGINT counts beyond 2**53, DECIMAL(38,2)
        sums wider than a float, nulls, keys, mojibake and a Manila time zone."""
        big = 9007199254740993  # 2**53 + 1: a float silently makes it ...992
        manila = dt.timezone(dt.timedelta(hours=8))
        return pa.table({
            "sale_date": pa.array([dt.date(2026, 2, 1), None, dt.date(2026, 2, 3)]),
            "date_key": pa.array([20260201, 20260202, None], pa.int64()),
            "store_id": pa.array([1, None, 20261004], pa.int32()),
            "label": pa.array(["CafÃ© Manila", None, "a,\"quoted\" label"]),
            "n_tx": pa.array([big, None, -12], pa.int64()),
            "extreme": pa.array([-2**63, 2**63 - 1, None], pa.int64()),
            "small_count": pa.array([3, 4, None], pa.int64()),
            "amount": pa.array([Decimal("12345678901234567890.12"), None,
                                Decimal("-0.05")], pa.decimal128(38, 2)),
            "fee": pa.array([Decimal("10.10"), Decimal("0.01"), None], pa.decimal128(38, 2)),
            "qty": pa.array([7, None, 1], pa.int32()),
            "at": pa.array([dt.datetime(2026, 2, 1, 8, 30, tzinfo=manila), None,
                            dt.datetime(2026, 2, 3, 23, 59, tzinfo=manila)],
                           pa.timestamp("us", tz="Asia/Manila")),
            "flag": pa.array([True, None, False]),
        })

    def test_gold_bigint_and_decimal_are_exact_summable_measures(self):
        self.lake.write_table("demo.gold.types", self._messy_gold())
        view = self.make_view("types", "demo.gold.types")
        Rows = self.env[view.model_name]
        fields = Rows._fields
        self.assertEqual(
            {n: fields[f"x_{n}"].type for n in ("n_tx", "amount", "qty", "at", "flag", "label")},
            {"n_tx": "integer", "amount": "float", "qty": "integer", "at": "datetime",
             "flag": "boolean", "label": "char"})
        self.cr.execute("SELECT column_name, udt_name, numeric_precision, numeric_scale "
                        "FROM information_schema.columns WHERE table_name = %s",
                        [view.model_name])
        pg = {r[0]: r[1:] for r in self.cr.fetchall()}
        self.assertEqual(pg["x_n_tx"][0], "int8")
        self.assertEqual(pg["x_date_key"][0], "int8")
        self.assertEqual(pg["x_amount"], ("numeric", 38, 2))
        # Odoo sets the model up again (an upgrade, a new field): the types hold.
        self.env.registry.init_models(self.cr, [view.model_name], {"module": False})
        view._refresh_now()
        self.cr.execute("SELECT udt_name FROM information_schema.columns WHERE table_name = %s "
                        "AND column_name IN ('x_n_tx', 'x_amount') ORDER BY column_name",
                        [view.model_name])
        self.assertEqual([r[0] for r in self.cr.fetchall()], ["numeric", "int8"])
        # Stored without loss.
        self.cr.execute(f'SELECT x_n_tx::text, x_amount::text FROM "{view.model_name}" '
                        "ORDER BY id")
        self.assertEqual(self.cr.fetchall(), [("9007199254740993", "12345678901234567890.12"),
                                              (None, None), ("-12", "-0.05")])
        rows = Rows.search([], order="id")
        self.assertEqual(rows[0].x_n_tx, 9007199254740993, "the ORM keeps the int8 exact")
        self.assertEqual(rows[0].x_label, "CafÃ© Manila")
        self.assertEqual(rows[0].x_at, dt.datetime(2026, 2, 1, 0, 30), "Manila -> UTC")
        self.assertEqual(rows[2].x_at, dt.datetime(2026, 2, 3, 15, 59))
        # A pivot sums them (nulls skipped).
        [(small, fee, qty)] = Rows._read_group(
            [], aggregates=["x_small_count:sum", "x_fee:sum", "x_qty:sum"])
        self.assertEqual((small, qty), (7, 8))
        self.assertAlmostEqual(fee, 10.11)
        # Flagged, never silently rounded: the view says which columns show rounded.
        cols = {c.name: c for c in view.column_ids}
        self.assertFalse(cols["n_tx"].exact)
        self.assertEqual(cols["n_tx"].max_abs_value, "9007199254740993")
        self.assertFalse(cols["amount"].exact)
        self.assertTrue(cols["fee"].exact)
        self.assertTrue(cols["small_count"].exact)
        self.assertEqual(cols["extreme"].max_abs_value, str(2**63), "no int8 overflow")
        self.assertEqual(view.inexact_column_names, "n_tx, extreme, amount")
        self.assertIn("n_tx, extreme, amount", view.message_ids[:1].body)
        self.assertEqual(cols["amount"].databricks_type, "DECIMAL(38,2)")
        self.assertIn("numeric(38,2)", cols["amount"].mapping)
        self.assertIn("int8", cols["n_tx"].mapping)

    def test_a_decimal_with_more_digits_than_a_float_shows_is_flagged_at_any_scale(self):
        # DECIMAL(38,18) is what Spark infers for Python decimals: a value below 1 can
        # still have 18 significant digits, which Odoo's float shows rounded.
        dec = pa.decimal128(38, 18)
        self.lake.write_table("demo.gold.rates", pa.table({
            "fine": pa.array([Decimal("0.5"), Decimal("1234567.25"), None], dec),
            "rate": pa.array([Decimal("0.123456789012345678"), Decimal("0.5"), None], dec),
            "round": pa.array([Decimal("10000000000000.00"), Decimal("-0.01"), None],
                              pa.decimal128(38, 2)),
            "wide": pa.array([Decimal("12345678901234.56"), None, None], pa.decimal128(38, 2)),
        }))
        view = self.make_view("rates", "demo.gold.rates")
        view._refresh_now()
        cols = {c.name: c for c in view.column_ids}
        self.assertEqual({n: c.exact for n, c in cols.items()},
                         {"fine": True, "rate": False, "round": True, "wide": False})
        self.assertEqual(view.inexact_column_names, "rate, wide")
        self.assertEqual(cols["rate"].exact_limit, "0.001")
        self.assertEqual(cols["wide"].exact_limit, "10000000000000")
        self.cr.execute(f'SELECT x_rate::text FROM "{view.model_name}" ORDER BY id LIMIT 1')
        self.assertEqual(self.cr.fetchone()[0], "0.123456789012345678", "kept exact")
        # An incremental refresh of exact rows leaves the column flagged.
        self.lake.write_table("demo.gold.rates", pa.table({
            "fine": pa.array([Decimal("2")], dec), "rate": pa.array([Decimal("0.25")], dec),
            "round": pa.array([Decimal("1")], pa.decimal128(38, 2)),
            "wide": pa.array([Decimal("1")], pa.decimal128(38, 2))}), mode="append")
        view.write({"refresh_mode": "incremental", "watermark_column": "fine"})
        snap = view._refresh_now()
        self.assertEqual(snap.state, "published", snap.message)
        self.assertEqual(view.inexact_column_names, "rate, wide")

    def test_an_interval_column_is_published_as_databricks_prints_it(self):
        self.lake.write_table(GOLD, sales_table(days=1))
        view = self.make_view("intervals", "SELECT region, INTERVAL '2' MONTH AS term, "
                              "INTERVAL '1 02:03:04' DAY TO SECOND AS lag "
                              f"FROM {GOLD} ORDER BY region LIMIT 1")
        snap = view._refresh_now()
        self.assertEqual(snap.state, "published", snap.message)
        row = self.env[view.model_name].search([])
        self.assertEqual((row.x_term, row.x_lag), ("0-2", "1 02:03:04.000000000"))

    def test_generated_fields_are_indexed_keys_plain_and_labels_editable(self):
        self.lake.write_table("demo.gold.types", self._messy_gold())
        view = self.make_view("types", "demo.gold.types")
        view._refresh_now()  # the published table is a new one: its indexes must follow
        view._refresh_now()
        self.cr.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s",
                        [view.model_name])
        indexed = " ".join(r[0] for r in self.cr.fetchall())
        for col in view.column_ids:
            self.assertIn(f"({col.field_name})", indexed, col.name)
            self.assertTrue(self.env[view.model_name]._fields[col.field_name].index)
        # Keys are codes: no thousands separator in the list.
        for kind in ("list", "form"):  # the rows and a row opened from them
            arch = self.env[view.model_name].get_view(view_type=kind)["arch"]
            for key in ("x_date_key", "x_store_id"):
                self.assertRegex(arch, rf'name="{key}"[^>]*enable_formatting', kind)
            self.assertNotRegex(arch, r'name="x_n_tx"[^>]*enable_formatting', kind)
        pivot = self.env[view.model_name].get_view(view_type="pivot")["arch"]
        self.assertNotIn('name="x_store_id" type="measure"', pivot, "keys are no measures")
        self.assertIn('name="x_n_tx" type="measure"', pivot)
        # Labels: humanised, editable, kept when the model is rebuilt.
        fields = self.env[view.model_name]._fields
        self.assertEqual(fields["x_sale_date"].string, "Sale Date")
        self.assertEqual(fields["x_store_id"].string, "Store ID")
        column = view.column_ids.filtered(lambda c: c.name == "sale_date")
        column.with_user(self.manager).label = "Día de venta"
        self.assertEqual(self.env[view.model_name]._fields["x_sale_date"].string,
                         "Día de venta")
        with self.assertRaises(AccessError):
            column.with_user(self.user).label = "tampered"
        view.with_user(self.manager).action_create_model()
        self.assertEqual(self.env[view.model_name]._fields["x_sale_date"].string,
                         "Día de venta")

    def _index_oids(self, table):
        self.cr.execute("SELECT c.relname, i.indexrelid FROM pg_index i JOIN pg_class c "
                        "ON c.oid = i.indexrelid WHERE i.indrelid = quote_ident(%s)::regclass",
                        [table])
        return dict(self.cr.fetchall())

    def _field_index_names(self, view):
        return {f"{view.model_name}__{c.field_name}_index" for c in view.column_ids}

    def _plan(self, table, where):
        """EXPLAIN of a read where any index usable would be used."""
        self.cr.execute("SET LOCAL enable_seqscan = off")
        self.cr.execute(f'EXPLAIN SELECT * FROM "{table}" WHERE {where}')
        plan = "\n".join(row[0] for row in self.cr.fetchall())
        self.cr.execute("SET LOCAL enable_seqscan = on")
        return plan

    def _has_primary_key(self, table):
        self.cr.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
                        "AND contype = 'p'", (table,))
        return [name for (name,) in self.cr.fetchall()]

    def test_the_publish_brings_the_rows_and_a_follow_up_job_the_key_and_field_indexes(self):
        self.lake.write_table(GOLD, sales_table())
        view = self.make_view()
        view._refresh_now()
        names = set(self._index_oids(view.model_name))
        self.assertEqual(names, self._field_index_names(view) | {f"{view.model_name}_pkey"},
                         "one per field, and the key")
        self.lake.write_table(GOLD, sales_table(days=4))
        snap = self.env["ipai.databricks.snapshot"].create({"view_id": view.id, "mode": "full"})
        snap._job_query()
        snap._job_load()
        built = self._index_oids(snap._staging_table())
        self.assertEqual(built, {}, "loaded as COPY wrote it: no index yet")
        snap._job_quality()
        snap._job_publish()
        self.assertEqual((snap.state, snap.row_count), ("published", 8), snap.message)
        self.assertEqual(self._index_oids(view.model_name), {}, "the rows, renamed in")
        self.assertEqual((snap.index_state, view.index_state), ("pending", "pending"))
        self.assertEqual(self._has_primary_key(view.model_name), [], "the key comes next")
        # Readable at once, through the ORM, by search and by id.
        model = self.env[view.model_name]
        self.assertEqual(model.search_count([("x_region", "=", "NCR")]), 4)
        self.assertEqual(len(model.search([], order="id")), 8)
        self.assertTrue(model.browse(3).exists())
        self.assertNotIn("Index", self._plan(view.model_name, "id = 3"))
        snap._job_index()
        self.assertEqual(self._has_primary_key(view.model_name), [f"{view.model_name}_pkey"])
        self.assertIn(f"{view.model_name}_pkey", self._plan(view.model_name, "id = 3"))
        self.assertEqual(set(self._index_oids(view.model_name)), names,
                         "under the live table's names again")
        self.assertEqual(view.index_state, "built")
        self.assertGreater(snap.index_seconds, 0.0)
        self.assertIn("Nothing to index", snap._job_index(), "run again: nothing to do")
        self.assertEqual(set(self._index_oids(view.model_name)), names)

    def test_a_refresh_before_the_indexes_were_built_still_gets_them(self):
        self.lake.write_table(GOLD, sales_table())
        view = self.make_view()
        view._refresh_now()
        names = set(self._index_oids(view.model_name))
        first = view._refresh_now(index=False)  # its index job has not run yet
        self.assertEqual(first.index_state, "pending")
        snap = self.env["ipai.databricks.snapshot"].create({"view_id": view.id, "mode": "full"})
        snap._job_query()
        snap._job_load()
        staging = snap._staging_table()
        # As a load of an earlier version left it: with its key.
        self.cr.execute(f'ALTER TABLE "{staging}" ADD CONSTRAINT "{staging}_pk" PRIMARY KEY (id)')
        snap._job_quality()
        snap._job_publish()
        self.assertEqual((snap.state, snap.row_count), ("published", 6), snap.message)
        self.assertEqual(set(self._index_oids(view.model_name)), {f"{view.model_name}_pkey"},
                         "the key kept under the live table's name")
        first._job_index()  # the older job, late: builds them on the live table
        snap._job_index()
        self.assertEqual(set(self._index_oids(view.model_name)), names)
        self.assertEqual((first.index_state, snap.index_state), ("built", "built"))

    def test_an_index_that_cannot_be_built_leaves_the_data_published_and_is_retried(self):
        # A gold text too long for a b-tree entry (PostgreSQL refuses above ~2.7 kB).
        huge = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(4000))
        table = sales_table()
        regions = table.column("region").to_pylist()
        regions[1] = huge
        self.lake.write_table(GOLD, table.set_column(
            2, "region", pa.array(regions, pa.string())))
        view = self.make_view()
        snap = view.with_user(self.user).action_refresh()
        chain = ["_job_query", "_job_load", "_job_quality", "_job_publish", "_job_index"]
        records = self.env["queue.job"].search([("model_name", "=", snap._name)]).filtered(
            lambda r: snap.id in r.records.ids).sorted(lambda r: chain.index(r.method_name))
        self.assertEqual(records.mapped("method_name"), chain, "one job each, in a chain")
        self.assertEqual(records[-1].dependency_graph, records[0].dependency_graph)
        self.assertEqual(set(records.mapped("channel")), {"root.ipai.databricks"})
        for record in records[:-1]:
            Job.load(self.env, record.uuid).perform()
        self.assertEqual((snap.state, snap.row_count, snap.index_state),
                         ("published", 6, "pending"), snap.message)
        job = Job.load(self.env, records[-1].uuid)
        with self.assertRaisesRegex(RetryableJobError, "region_index"):
            job.perform()  # as queue_job does: retried while retries remain
        self.assertEqual(job._get_retry_seconds(), 30, "its retry pattern")
        self.assertEqual(snap.state, "published")
        self.assertEqual(self.env[view.model_name].with_user(self.user).search_count([]), 6,
                         "the data stays published")
        # The last try records it where users see it, without unpublishing.
        job.retry = job.max_retries - 1
        job.store()
        message = Job.load(self.env, job.uuid).perform()
        self.assertEqual((snap.state, snap.index_state, view.index_state),
                         ("published", "failed", "failed"))
        self.assertIn("region_index", message)
        self.assertIn("region_index", view.message_ids[:1].body)
        indexed = set(self._index_oids(view.model_name))
        self.assertIn(f"{view.model_name}__x_store_id_index", indexed,
                      "one index that cannot be built leaves the others")
        self.assertNotIn(f"{view.model_name}__x_region_index", indexed)

    def test_refresh_runs_as_a_job_chain_and_publishes(self):
        self.lake.write_table(GOLD, sales_table())
        view = self.make_view()
        with trap_jobs() as trap:
            view.with_user(self.user).action_refresh()
            trap.assert_jobs_count(5)
            self.assertEqual({j.channel for j in trap.enqueued_jobs}, {"root.ipai.databricks"})
            self.assertEqual(view.refresh_state, "running")
            drain(trap)
        snap = view.current_snapshot_id
        self.assertEqual((snap.state, snap.row_count, snap.delta_version), ("published", 6, 0))
        self.assertIn("As of version 0", view.snapshot_label)
        # Age is measured from the Delta commit that was read, not from the refresh.
        self.assertEqual(view.freshness_status, "fresh")
        snap.source_committed_at = snap.refreshed_at - dt.timedelta(hours=30)
        self.assertEqual(view.freshness_status, "stale")
        rows = self.env[view.model_name].with_user(self.user).search_read(
            [], ["x_store_id", "x_peso_total"], order="id")
        self.assertEqual(len(rows), 6)
        self.assertEqual(rows[0]["x_peso_total"], 1000.25)

    def test_readers_see_previous_snapshot_until_publish(self):
        self.lake.write_table(GOLD, sales_table(days=1))
        view = self.make_view()
        view._refresh_now()
        Rows = self.env[view.model_name]
        self.assertEqual(Rows.search_count([]), 2)
        self.lake.write_table(GOLD, sales_table(days=4))  # version 1
        snap = self.env["ipai.databricks.snapshot"].create({"view_id": view.id})
        snap._job_query()
        snap._job_load()
        snap._job_quality()
        self.assertEqual(snap.state, "checked")
        self.assertEqual(Rows.search_count([]), 2, "the half-done refresh is invisible")
        snap._job_publish()
        self.assertEqual(Rows.search_count([]), 8)
        self.assertEqual(view.current_snapshot_id.delta_version, 1)
        self.assertIn("As of version 1", view.snapshot_label)

    def test_failing_rule_blocks_publication(self):
        self.lake.write_table(GOLD, sales_table(days=1))
        view = self.make_view()
        view._refresh_now()
        self.lake.write_table(GOLD, sales_table(days=3, null_store_on=dt.date(2026, 1, 2)))
        self.env["ipai.databricks.quality.rule"].create({
            "name": "Store is set", "view_id": view.id, "kind": "not_null",
            "column": "store_id", "severity": "fail"})
        snap = view._refresh_now()
        self.assertEqual(snap.state, "rejected")
        self.assertEqual(view.refresh_state, "blocked")
        self.assertEqual(view.freshness_status, "failed")
        self.assertIn("Store is set", view.last_error)
        self.assertEqual(self.env[view.model_name].search_count([]), 2, "old data kept")
        result = snap.quality_result_ids
        self.assertEqual((result.failing_rows, result.checked_rows, result.passed), (2, 6, False))

    def test_warn_rule_under_threshold_blocks_but_warn_alone_publishes(self):
        self.lake.write_table(GOLD, sales_table(days=2))
        view = self.make_view()
        self.env["ipai.databricks.quality.rule"].create({
            "name": "Known region", "view_id": view.id, "kind": "accepted_values",
            "column": "region", "accepted_values": "NCR", "severity": "warn"})
        snap = view._refresh_now()
        self.assertEqual(snap.state, "rejected", "50% pass rate is under the 98% threshold")
        view.quality_threshold = 40
        snap = view._refresh_now()
        self.assertEqual(snap.state, "published")
        self.assertEqual(view.last_quality_pass_rate, 50.0)

    def test_incremental_refresh_loads_only_new_rows(self):
        self.lake.write_table(GOLD, sales_table(days=2))
        view = self.make_view(refresh_mode="incremental", watermark_column="sale_date")
        view._refresh_now()
        self.lake.write_table(GOLD, sales_table(first_day=3, days=2), mode="append")
        snap = view._refresh_now()
        self.assertEqual((snap.loaded_rows, snap.row_count), (4, 8))
        self.assertEqual(snap.watermark_from, "2026-01-02")
        ids = self.env[view.model_name].search([]).ids
        self.assertEqual(len(set(ids)), 8)

    def test_schema_change_fails_with_a_clear_message(self):
        self.lake.write_table(GOLD, sales_table())
        view = self.make_view()
        self.lake.write_table(GOLD, sales_table().append_column("extra", pa.array([1] * 6)))
        snap = view._refresh_now()
        self.assertEqual(snap.state, "failed")
        self.assertIn("extra", snap.message)
        self.assertEqual(view.refresh_state, "failed")

    def test_duplicate_columns_are_refused(self):
        # DuckDB renames duplicates itself; a warehouse result schema may carry them.
        view = self.env["ipai.databricks.view"].create({
            "name": "Dup", "code": "dup", "workspace_id": self.workspace.id,
            "source": f"SELECT store_id, store_id FROM {GOLD}"})
        schema = pa.schema([("store_id", pa.int32()), ("store_id", pa.int32())])
        with self.assertRaisesRegex(UserError, "duplicate column"):
            view._create_model(schema)
        self.assertNotIn("x_dbx_dup", self.env)

    def test_stale_view_gets_one_activity(self):
        self.lake.write_table(GOLD, sales_table())
        view = self.make_view(freshness_slo_hours=1.0, user_id=self.manager.id)
        view._refresh_now()
        view.current_snapshot_id.source_committed_at = dt.datetime(2026, 1, 1)
        self.assertEqual(view.freshness_status, "stale")
        view._cron_check_freshness()
        view._cron_check_freshness()
        activities = view.activity_ids
        self.assertEqual(len(activities), 1)
        self.assertEqual(activities.user_id, self.manager)
        self.assertIn("stale", activities.summary)

    def test_scheduled_refresh_enqueues_due_views(self):
        self.lake.write_table(GOLD, sales_table())
        view = self.make_view(schedule="hourly")
        def mine(trap):
            return [j for j in trap.enqueued_jobs if j.recordset.view_id == view]

        with trap_jobs() as trap:
            self.env["ipai.databricks.view"]._cron_refresh_due()
            self.assertEqual(len(mine(trap)), 5)
            self.assertTrue(view.next_refresh_at)
            self.env["ipai.databricks.view"]._cron_refresh_due()
            self.assertEqual(len(mine(trap)), 5)  # not due again before the next hour

    def test_rows_are_read_only_for_everybody(self):
        self.lake.write_table(GOLD, sales_table())
        view = self.make_view()
        view._refresh_now()
        Rows = self.env[view.model_name]
        row = Rows.search([], limit=1)
        for user in (self.user, self.manager):
            self.assertEqual(Rows.with_user(user).search_count([]), 6)
            with self.assertRaises(AccessError):
                row.with_user(user).write({"x_region": "tampered"})
            with self.assertRaises(AccessError):
                Rows.with_user(user).create({"x_region": "new"})
            with self.assertRaises(AccessError):
                row.with_user(user).unlink()
        with self.assertRaises(AccessError):
            Rows.with_user(self.plain).search_read([])

    def test_users_refresh_but_only_managers_configure(self):
        self.lake.write_table(GOLD, sales_table())
        view = self.make_view()
        with self.assertRaises(AccessError):
            self.env["ipai.databricks.view"].with_user(self.user).create({
                "name": "x", "code": "x", "workspace_id": self.workspace.id, "source": GOLD})
        with self.assertRaises(AccessError):  # a permission, not a user mistake
            view.with_user(self.user).action_create_model()
        with trap_jobs() as trap:
            view.with_user(self.user).action_refresh()
            trap.assert_jobs_count(5)
        with self.assertRaisesRegex(UserError, "already refreshing"):
            view.with_user(self.user).action_refresh()

    def test_multi_company_views(self):
        other = self.env["res.company"].create({"name": "Other Co"})
        ws = self.env["ipai.databricks.workspace"].create({
            "name": "Other lake", "backend": "local", "local_root": self.root,
            "company_id": other.id})
        self.lake.write_table(GOLD, sales_table())
        self.env["ipai.databricks.view"].create({
            "name": "Other", "code": "other_sales", "workspace_id": ws.id, "source": GOLD})
        mine = self.make_view()
        visible = self.env["ipai.databricks.view"].with_user(self.user).search([])
        self.assertIn(mine, visible)
        self.assertNotIn("other_sales", visible.mapped("code"))

    def test_unlinking_a_view_drops_its_model(self):
        self.lake.write_table(GOLD, sales_table())
        view = self.make_view()
        name = view.model_name
        view.unlink()
        self.assertNotIn(name, self.env)

    def test_longest_code_publishes_again_and_again(self):
        self.lake.write_table(GOLD, sales_table())
        view = self.make_view("a" * 40)
        for _ in range(3):
            self.assertEqual(view._refresh_now().state, "published")
        self.cr.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
                        "AND contype = 'p'", (view.model_name,))
        self.assertEqual(self.cr.fetchone()[0], f"{view.model_name}_pkey")

    def test_a_canceled_refresh_skips_its_remaining_steps(self):
        self.lake.write_table(GOLD, sales_table())
        view = self.make_view()
        with trap_jobs() as trap:
            view.with_user(self.user).action_refresh()
            view.with_user(self.user).action_cancel_refresh()
            self.assertEqual(view.refresh_state, "idle")
            drain(trap)
        snap = view.snapshot_ids
        self.assertEqual(snap.state, "failed")
        self.assertIn("Canceled", snap.message)
        self.assertFalse(view.current_snapshot_id)
        self.assertEqual(self.env[view.model_name].search_count([]), 0)
        view.with_user(self.user).action_refresh()  # a new refresh may start at once
