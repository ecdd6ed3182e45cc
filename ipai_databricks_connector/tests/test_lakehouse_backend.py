import shutil
import tempfile

import pyarrow as pa

from odoo.tests import BaseCase

from ..lakehouse.dialect import LocalSQLError
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

    def test_a_write_that_loses_a_race_is_a_databricks_concurrency_error(self):
        self.lake.write_table("demo.silver.t", pa.table({"q": [1]}))
        schema = pa.schema([("q", pa.int64())])

        def rows():  # another job overwrites the table while this one computes its rows
            self.lake.write_table("demo.silver.t", pa.table({"q": [2]}))
            yield pa.record_batch([pa.array([3])], schema=schema)

        with self.assertRaises(LocalSQLError) as caught:
            self.lake.write_table("demo.silver.t", pa.RecordBatchReader.from_batches(
                schema, rows()))
        self.assertRegex(str(caught.exception),
                         r"^\[DELTA_CONCURRENT_\w+\] .*`demo`.`silver`.`t`.* try the "
                         r"operation again\. SQLSTATE: 2D521$")
        self.assertEqual(self.lake.execute("SELECT q FROM demo.silver.t").read_all()
                         .column("q").to_pylist(), [2], "the first writer's rows stand")

    def test_injection_stays_literal(self):
        self.lake.write_table("demo.gold.t", pa.table({"name": ["a", "x' OR '1'='1"]}))
        out = self.lake.execute("SELECT name FROM demo.gold.t WHERE name = :n AND ':n' = ':n'",
                                {"n": "x' OR '1'='1"}).read_all()
        self.assertEqual(out.column("name").to_pylist(), ["x' OR '1'='1"])

    def test_a_streaming_step_over_millions_of_rows_writes_them_all(self):
        # A medallion step that filters, with nothing to aggregate: delta-rs pulls the
        # rows while they are still read from the source's Parquet files.
        n = 1_200_000
        ids = pa.array(range(n), pa.int64())
        self.lake.write_table("lab.bronze.tx", pa.table({
            "id": ids, "note": pa.compute.cast(ids, pa.string())}))
        version = self.lake.run_step(
            "SELECT id, note FROM lab.bronze.tx WHERE id % 3 = 0", "lab.silver.tx", txn="s1")
        self.assertEqual(version, 0)
        out = self.lake.execute(
            "SELECT count(*) AS n, sum(id) AS total, max(note) AS last FROM lab.silver.tx"
        ).read_all().to_pylist()[0]
        kept = range(0, n, 3)
        self.assertEqual((out["n"], out["total"]), (len(kept), sum(kept)))
        self.assertEqual(out["last"], "999999")  # the largest text, not the largest number

    def test_a_step_whose_query_fails_mid_stream_writes_nothing(self):
        self.lake.write_table("lab.bronze.tx", pa.table({
            "id": pa.array(range(300_000), pa.int64())}))
        with self.assertRaises(LocalSQLError) as caught:
            self.lake.run_step("SELECT id, assert_true(id < 299999) AS ok FROM lab.bronze.tx",
                               "lab.silver.tx")
        message = str(caught.exception)
        self.assertIn("Assertion failed", message, "the query's own error reaches the caller")
        self.assertNotIn("Traceback", message)
        self.assertNotIn(".py", message)
        self.assertFalse(self.lake.table_exists("lab.silver.tx"), "nothing committed")
