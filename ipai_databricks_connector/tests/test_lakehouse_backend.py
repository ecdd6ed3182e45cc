import shutil
import tempfile

import pyarrow as pa

from odoo.tests import BaseCase

from ..lakehouse.local_backend import LocalLakehouse


class TestLocalLakehouse(BaseCase):
    def setUp(self):
        super().setUp()
        self.root = tempfile.mkdtemp(prefix="ipai_lake_")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.lake = LocalLakehouse(self.root)

    def test_write_read_version_history(self):
        t = pa.table({"id": [1, 2, 3], "name": ["a", "b", "c"]})
        self.assertEqual(self.lake.write_table("demo.gold.t", t), 0)
        self.assertEqual(self.lake.write_table("demo.gold.t", t, mode="append"), 1)
        rows = self.lake.execute("SELECT count(*) AS n FROM demo.gold.t").read_all()
        self.assertEqual(rows.column("n")[0].as_py(), 6)
        self.assertEqual([h["version"] for h in self.lake.history("demo.gold.t")], [1, 0])
        self.assertEqual(self.lake.list_tables(), ["demo.gold.t"])

    def test_injection_stays_literal(self):
        self.lake.write_table("demo.gold.t", pa.table({"name": ["a", "x' OR '1'='1"]}))
        out = self.lake.execute("SELECT name FROM demo.gold.t WHERE name = :n AND ':n' = ':n'",
                                {"n": "x' OR '1'='1"}).read_all()
        self.assertEqual(out.column("name").to_pylist(), ["x' OR '1'='1"])
