import os
import shutil
import tempfile
from unittest.mock import patch

from odoo.tests import HttpCase, tagged

from ..lakehouse.local_backend import LocalLakehouse
from .common import sales_table


@tagged("post_install", "-at_install")
class TestDatabricksTour(HttpCase):
    def test_analyst_reads_pivots_and_refreshes_a_view(self):
        root = tempfile.mkdtemp(prefix="ipai_lake_tour_")
        self.addCleanup(shutil.rmtree, root, True)
        lake = LocalLakehouse(root)
        lake.write_table("demo.gold.tour_sales", sales_table(days=2))
        workspace = self.env["ipai.databricks.workspace"].create({
            "name": "Tour lakehouse", "backend": "local", "local_root": root})
        view = self.env["ipai.databricks.view"].create({
            "name": "Tour sales", "code": "tour_sales", "workspace_id": workspace.id,
            "source": "demo.gold.tour_sales", "schedule": "manual"})
        view.action_create_model()
        view._refresh_now()
        lake.write_table("demo.gold.tour_sales", sales_table(first_day=3, days=3), mode="append")
        # No job runner inside HttpCase: queue_job's documented switch runs the refresh
        # chain at once, in order (the job code itself runs unchanged).
        with patch.dict(os.environ, {"QUEUE_JOB__NO_DELAY": "1"}):
            self.start_tour("/odoo", "ipai_databricks_view_tour", login="admin", timeout=180)
        snap = view.current_snapshot_id
        self.assertEqual((snap.state, snap.delta_version, snap.row_count), ("published", 1, 10))
