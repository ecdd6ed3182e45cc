import os
import shutil
import tempfile
from unittest.mock import patch

from odoo.tests import HttpCase, tagged

from ..lakehouse.local_backend import LocalLakehouse
from .common import sales_table

GOLD = "demo.gold.tour_sales"


@tagged("post_install", "-at_install")
class TestDatabricksTour(HttpCase):
    def setUp(self):
        super().setUp()
        root = tempfile.mkdtemp(prefix="ipai_lake_tour_")
        self.addCleanup(shutil.rmtree, root, True)
        self.lake = LocalLakehouse(root)
        # 50 rows: 25 days x 2 stores (Delta version 0).
        self.lake.write_table(GOLD, sales_table(days=25), mode="overwrite")
        workspace = self.env["ipai.databricks.workspace"].create({
            "name": "Tour lakehouse", "backend": "local", "local_root": root})
        self.view = self.env["ipai.databricks.view"].create({
            "name": "Tour sales", "code": "tour_sales", "workspace_id": workspace.id,
            "source": GOLD, "schedule": "manual"})
        self.view._create_model(self.view._fetch_schema())
        self.view._refresh_now()
        self.assertEqual(self.view.current_snapshot_id.delta_version, 0)
        self.assertEqual(self.view.row_count, 50)
        # New rows land in the gold table (Delta version 1): the view is behind.
        self.assertEqual(
            self.lake.write_table(GOLD, sales_table(first_day=26, days=3), mode="append"), 1)

    def test_analyst_reads_pivots_and_refreshes_a_view(self):
        # Nothing runs queue jobs inside an HttpCase: queue_job's documented switch
        # (QUEUE_JOB__NO_DELAY, read by queue_job.utils.must_run_without_delay, honoured by
        # chains too) performs the refresh chain at once, in order, in the request of the
        # Refresh button. The job methods themselves run unchanged.
        with patch.dict(os.environ, {"QUEUE_JOB__NO_DELAY": "1"}):
            self.start_tour("/odoo", "ipai_databricks_view_tour", login="admin", timeout=180)
        self.env.invalidate_all()
        snap = self.view.current_snapshot_id
        self.assertEqual((snap.state, snap.delta_version, snap.row_count), ("published", 1, 56))
        self.assertEqual(self.view.refresh_state, "idle")
        self.assertEqual(self.view.freshness_status, "fresh")
        self.assertEqual(len(self.view.snapshot_ids), 2)
        self.assertEqual(self.env[self.view.model_name].search_count([]), 56)
