"""The local backend on an S3-compatible bucket: moto's server in its own process.

moto must not run in this process: delta-rs holds the GIL while it waits for the
bucket, so an in-process server would never answer.
"""

import subprocess
import sys

import requests

from odoo.addons.ipai_microservices_gateway.tests.common import (
    free_port,
    loopback_requests_only,
)
from odoo.tests import TransactionCase, tagged

from ..lakehouse.local_backend import LocalLakehouse
from .common import sales_table, wait_until_up


@tagged("post_install", "-at_install")
class TestBucketBackend(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        loopback_requests_only(cls)
        port = free_port()
        cls.endpoint = f"http://127.0.0.1:{port}"
        cls.moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.addClassCleanup(cls.moto.wait, 10)
        cls.addClassCleanup(cls.moto.terminate)
        wait_until_up(lambda: requests.put(f"{cls.endpoint}/lake", timeout=2)).raise_for_status()
        cls.credentials = cls.env["ipai.gateway.service"].create({
            "name": "MinIO", "code": "lake_bucket", "kind": "generic",
            "base_url": cls.endpoint, "auth_type": "basic", "username": "lake-key",
            "password": "lake-secret", "health_path": False})
        cls.workspace = cls.env["ipai.databricks.workspace"].create({
            "name": "Bucket lakehouse", "backend": "local", "local_root": "s3://lake/odoo",
            "storage_service_id": cls.credentials.id})

    def test_view_refreshes_from_the_bucket(self):
        options = self.workspace._storage_options()
        self.assertEqual(options["AWS_SECRET_ACCESS_KEY"], "lake-secret", "read from the vault")
        lake = LocalLakehouse("s3://lake/odoo", options)
        lake.write_table("demo.gold.bucket_sales", sales_table())
        self.workspace.action_test_connection()
        self.assertEqual(self.workspace.connection_state, "ok", self.workspace.connection_message)
        view = self.env["ipai.databricks.view"].create({
            "name": "Bucket sales", "code": "bucket_sales", "workspace_id": self.workspace.id,
            "source": "demo.gold.bucket_sales"})
        view.action_create_model()
        snap = view._refresh_now()
        self.assertEqual((snap.state, snap.row_count, snap.delta_version),
                         ("published", 6, 0), snap.message)

    def test_show_tables_lists_the_buckets_tables(self):
        lake = LocalLakehouse("s3://lake/odoo", self.workspace._storage_options())
        lake.write_table("demo.gold.daily_sales", sales_table())
        lake.write_table("demo.gold.Ventes_2026", sales_table(days=1))
        lake.write_table("demo.silver.transactions", sales_table(days=2))
        tables = lake.list_tables()
        self.assertIn("demo.gold.daily_sales", tables)
        self.assertIn("demo.silver.transactions", tables)
        shown = lake.execute("SHOW TABLES IN demo.gold").read_all().to_pylist()
        self.assertEqual(sorted(r["tableName"] for r in shown), ["Ventes_2026", "daily_sales"])
        self.assertEqual({r["database"] for r in shown}, {"gold"})

    def test_missing_bucket_credentials_are_reported(self):
        self.workspace.storage_service_id = False
        self.workspace.action_test_connection()
        self.assertEqual(self.workspace.connection_state, "failed")
        self.assertIn("bucket credentials", self.workspace.connection_message)
