"""Shared set-up: a real local Delta Lake in a temporary directory per test class."""

import datetime as dt
import shutil
import tempfile
import time
from decimal import Decimal

import pyarrow as pa
import requests

from odoo.tests import TransactionCase, new_test_user

from ..lakehouse.local_backend import LocalLakehouse

GOLD = "demo.gold.sales"


def sales_table(first_day=1, days=3, stores=2, null_store_on=None):
    """A small gold table: one row per day and store."""
    rows = [(dt.date(2026, 1, d), s) for d in range(first_day, first_day + days)
            for s in range(1, stores + 1)]
    store_ids = [None if (null_store_on and d == null_store_on) else s
                 for d, s in rows]
    return pa.table({
        "sale_date": pa.array([d for d, _ in rows], pa.date32()),
        "store_id": pa.array(store_ids, pa.int32()),
        "region": pa.array(["NCR" if s % 2 else "Visayas" for _, s in rows], pa.string()),
        "peso_total": pa.array([Decimal(f"{1000 + i}.25") for i in range(len(rows))],
                               pa.decimal128(15, 2)),
        "transactions": pa.array([10 + i for i in range(len(rows))], pa.int32()),
    })


def wait_until_up(request, seconds=30.0):
    """The answer of ``request()`` (one HTTP call) once a server just started accepts
    connections; still refused after ``seconds``, the ConnectionError is raised."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return request()
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def drain(trap, timeout=60.0):
    """Perform trapped jobs, and the jobs they enqueue, until none is left.

    A poll job re-enqueues itself while the remote run goes on: the limit is time,
    not rounds, so a loaded machine's slower server does not fail the test.
    """
    deadline = time.monotonic() + timeout
    rounds = 0
    while trap.enqueued_jobs:
        if time.monotonic() > deadline:
            raise AssertionError(f"jobs kept enqueueing jobs for {timeout:.0f} s")
        trap.perform_enqueued_jobs()
        rounds += 1
        if rounds > 20:
            time.sleep(0.05)  # polling a run that is still going


class LakeCase(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.workspace = cls.env["ipai.databricks.workspace"].create({
            "name": "Test lakehouse", "backend": "local"})
        cls.user = new_test_user(
            cls.env, login="dbx_user", groups="ipai_databricks_connector.databricks_group_user")
        cls.manager = new_test_user(
            cls.env, login="dbx_manager",
            groups="ipai_databricks_connector.databricks_group_manager")
        cls.plain = new_test_user(cls.env, login="dbx_plain", groups="base.group_user")

    def setUp(self):
        super().setUp()
        # A new lakehouse per test: Delta versions must not leak between tests.
        self.root = tempfile.mkdtemp(prefix="ipai_lake_")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.lake = LocalLakehouse(self.root)
        self.workspace.local_root = self.root

    def make_view(self, code="sales", source=GOLD, **vals):
        view = self.env["ipai.databricks.view"].create(dict(
            {"name": code.title(), "code": code, "workspace_id": self.workspace.id,
             "source": source, "schedule": "manual"}, **vals))
        view._create_model(view._fetch_schema())
        return view
