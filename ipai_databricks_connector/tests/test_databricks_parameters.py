"""View parameters: declared with a Databricks type and default, bound at refresh (never
formatted into the SQL), shown on the snapshot; and view sources in Databricks SQL."""

import pyarrow as pa

from odoo.addons.queue_job.tests.common import trap_jobs
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import GOLD, LakeCase, drain, sales_table

SOURCE = f"SELECT sale_date, store_id, region FROM {GOLD} WHERE region = :region"


@tagged("post_install", "-at_install")
class TestDatabricksParameters(LakeCase):
    def view(self, source=SOURCE, params=(), **vals):
        self.count = getattr(self, "count", 0) + 1  # a refused create leaves its row
        return self.env["ipai.databricks.view"].create(dict({
            "name": "Regional", "code": f"regional{self.count}",
            "workspace_id": self.workspace.id,
            "source": source, "schedule": "hourly",
            "parameter_ids": [(0, 0, dict(p)) for p in params]}, **vals))

    def regions(self, view):
        return sorted(set(self.env[view.model_name].search([]).mapped("x_region")))

    def test_create_model_on_a_parameterised_source(self):
        self.lake.write_table(GOLD, sales_table())
        view = self.view()
        with self.assertRaisesRegex(UserError, r":region.*Parameters tab"):
            view.with_user(self.manager).action_create_model()
        view.parameter_ids = [(0, 0, {"name": "region", "type": "STRING",
                                      "default_value": "NCR"})]
        view.with_user(self.manager).action_create_model()
        self.assertEqual(list(view._columns()), ["sale_date", "store_id", "region"])
        snap = view._refresh_now()
        self.assertEqual(snap.state, "published", snap.message)
        self.assertEqual(self.regions(view), ["NCR"])
        self.assertEqual(snap.parameter_label, "region = NCR")

    def test_values_are_bound_never_formatted_and_users_choose_them(self):
        self.lake.write_table(GOLD, sales_table())
        view = self.view(params=[{"name": "region", "default_value": "NCR"}])
        view._create_model(view._fetch_schema())
        snap = view._refresh_now(values={"region": "x' OR '1'='1"})
        self.assertEqual((snap.state, snap.row_count), ("published", 0), "bound, not SQL")
        wizard = self.env["ipai.databricks.refresh.wizard"].with_user(self.user).with_context(
            default_view_id=view.id).create({})
        self.assertEqual(wizard.line_ids.mapped("value"), ["NCR"])
        wizard.line_ids.value = "Visayas"
        with trap_jobs() as trap:
            wizard.action_refresh()
            drain(trap)
        snap = view.current_snapshot_id
        self.assertEqual(snap.parameter_label, "region = Visayas")
        self.assertEqual(self.regions(view), ["Visayas"])
        with self.assertRaisesRegex(UserError, "no parameter city"):
            view._refresh_now(values={"city": "Cebu"})
        # A scheduled refresh binds the defaults.
        with trap_jobs() as trap:
            self.env["ipai.databricks.view"]._cron_refresh_due()
            drain(trap)
        self.assertEqual(view.current_snapshot_id.parameter_label, "region = NCR")
        self.assertEqual(self.regions(view), ["NCR"])
        # NULL is a value too, and shown as such.
        snap = view._refresh_now(values={"region": ""})
        self.assertEqual((snap.parameter_label, snap.row_count), ("region = NULL", 0))

    def test_typed_parameters_bind_exactly(self):
        big = 2**53 + 1
        self.lake.write_table(GOLD, pa.table({
            "n": pa.array([big, big - 1, None], pa.int64()),
            "day": pa.array(["2026-01-01", "2026-01-03", None]).cast(pa.date32())}))
        with self.assertRaisesRegex(ValidationError, "not a valid DATE"):
            self.view(f"SELECT * FROM {GOLD} WHERE day >= :since",
                      [{"name": "since", "type": "DATE", "default_value": "31/01/2026"}])
        with self.assertRaisesRegex(ValidationError, "ipai_"):
            self.view(f"SELECT * FROM {GOLD} WHERE n = :ipai_watermark",
                      [{"name": "ipai_watermark", "type": "BIGINT"}])
        view = self.view(f"SELECT * FROM {GOLD} WHERE n = :n AND day >= :since", [
            {"name": "n", "type": "BIGINT", "default_value": str(big)},
            {"name": "since", "type": "DATE", "default_value": "2026-01-01"}])
        view._create_model(view._fetch_schema())
        self.assertEqual(view._refresh_now().row_count, 1, "2**53 + 1 is not rounded")
        self.assertEqual(view._refresh_now(values={"n": str(big - 1)}).row_count, 1)
        self.assertEqual(view._refresh_now(values={"since": "2026-01-02"}).row_count, 0)
        with self.assertRaisesRegex(UserError, "not a valid BIGINT"):
            view._refresh_now(values={"n": "12.5"})

    def test_sources_are_databricks_sql_checked_on_save(self):
        self.lake.write_table(GOLD, sales_table())
        with self.assertRaisesRegex(ValidationError, "comparator"):
            self.view("SELECT array_sort(array(3, 1), (l, r) -> r - l) AS s")
        with self.assertRaisesRegex(ValidationError, "TIMESTAMP AS OF needs a literal"):
            self.view(f"SELECT * FROM {GOLD} TIMESTAMP AS OF sale_date")
        self.lake.write_table(GOLD, sales_table(days=1), mode="append")  # version 1
        view = self.view(
            "SELECT date_format(sale_date, 'yyyy/MM/dd') AS day, nvl(region, '?') AS region "
            f"FROM {GOLD} VERSION AS OF 0")
        view._create_model(view._fetch_schema())
        snap = view._refresh_now()
        self.assertEqual((snap.state, snap.row_count), ("published", 6), snap.message)
        self.assertIn("2026/01/01", self.env[view.model_name].search([]).mapped("x_day"))
        # Short names resolve in the workspace's catalog and schema.
        self.workspace.write({"catalog": "demo", "schema_name": "gold"})
        view = self.view("SELECT count(*) AS n FROM sales")
        view._create_model(view._fetch_schema())
        self.assertEqual(view._refresh_now().state, "published")
        self.assertEqual(self.env[view.model_name].search([]).x_n, 8)

    def test_an_unknown_function_is_named_as_such(self):
        self.lake.write_table(GOLD, sales_table())
        view = self.view(f"SELECT no_such_fn(region) AS r FROM {GOLD}")
        with self.assertRaisesRegex(UserError, r"UNRESOLVED_ROUTINE.*no_such_fn") as caught:
            view._create_model(view._fetch_schema())
        self.assertNotIn("__", str(caught.exception))
        self.assertNotIn("not found", str(caught.exception).lower())
