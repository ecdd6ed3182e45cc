import shutil
import tempfile

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import requests
from deltalake import DeltaTable, WriterProperties, write_deltalake

from odoo.tests import BaseCase

from ..lakehouse.devserver import DatabricksApiServer
from ..lakehouse.local_backend import LocalLakehouse

TOKEN = "dapi-reading-test"

ROWS = 5_003  # not a multiple of the batch sizes below


def messy_table(start, count):
    """Messy rows: mojibake and mixed-case text, nulls, huge numbers, zoned timestamps."""
    ids = list(range(start, start + count))
    names = [None if i % 97 == 0 else ("CafÃ© Ñoño %d" if i % 2 else "cafÉ ñOÑO %d") % i
             for i in ids]
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "name": pa.array(names, pa.string()),
        "amount": pa.array([None if i % 89 == 0 else 9.2e18 - i for i in ids], pa.float64()),
        "seen": pa.array([1_700_000_000_000_000 + i * 3_600_000_000 for i in ids],
                         pa.timestamp("us", tz="Asia/Manila")),
    })


class TestLakehouseReading(BaseCase):
    """Reading a Delta table streams batches of ``batch_size`` rows whatever its row groups."""

    def setUp(self):
        super().setUp()
        self.root = tempfile.mkdtemp(prefix="ipai_lake_read_")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.lake = LocalLakehouse(self.root)

    def write_one_row_group(self, name, table, mode="overwrite", partition_by=None):
        write_deltalake(self.lake.table_uri(name), table, mode=mode, partition_by=partition_by,
                        writer_properties=WriterProperties(max_row_group_size=10 * ROWS))

    def assert_one_huge_row_group(self, name):
        dataset = DeltaTable(self.lake.table_uri(name)).to_pyarrow_dataset()
        for fragment in dataset.get_fragments():
            meta = pq.ParquetFile(dataset.filesystem.open_input_file(fragment.path)).metadata
            self.assertEqual(meta.num_row_groups, 1)
            self.assertGreater(meta.row_group(0).num_rows, 1_000)

    def test_batches_bounded_by_batch_size_not_row_group(self):
        source = messy_table(0, ROWS)
        self.write_one_row_group("demo.gold.big", source)
        self.assert_one_huge_row_group("demo.gold.big")
        for batch_size in (1_000, 333):
            reader = self.lake.execute("SELECT id, name, amount, seen FROM demo.gold.big",
                                       batch_size=batch_size)
            sizes, batches = [], []
            for batch in reader:
                sizes.append(batch.num_rows)
                batches.append(batch)
            self.assertLessEqual(max(sizes), batch_size, sizes)
            self.assertGreaterEqual(len(sizes), -(-ROWS // batch_size))
            got = pa.Table.from_batches(batches, reader.schema)
            self.assertEqual(got.num_rows, ROWS)
            self.assertEqual(got.column("id").to_pylist(), list(range(ROWS)))  # in order
            self.assertEqual(got.column("name").to_pylist(), source.column("name").to_pylist())
            self.assertEqual(got.column("amount").to_pylist(),
                             source.column("amount").to_pylist())
            self.assertEqual(got.column("seen").cast(pa.timestamp("us", tz="UTC")).to_pylist(),
                             source.column("seen").cast(pa.timestamp("us", tz="UTC")).to_pylist())

    def test_lakehouse_batch_size_is_the_default(self):
        self.write_one_row_group("demo.gold.big", messy_table(0, ROWS))
        lake = LocalLakehouse(self.root, batch_size=700)
        sizes = [b.num_rows for b in lake.execute("SELECT * FROM demo.gold.big")]
        self.assertLessEqual(max(sizes), 700)
        self.assertEqual(sum(sizes), ROWS)

    def test_partitions_versions_and_self_join_read_whole(self):
        """Partition values, an older version and a table read twice in one query."""
        first = messy_table(0, ROWS).append_column(
            "region", pa.array(["NCR" if i % 3 else "Davao" for i in range(ROWS)]))
        self.write_one_row_group("demo.gold.p", first, partition_by=["region"])
        more = messy_table(ROWS, 50).append_column("region", pa.array(["Ilocos"] * 50))
        self.write_one_row_group("demo.gold.p", more, mode="append", partition_by=["region"])
        out = self.lake.execute(
            "SELECT region, count(*) AS n, min(id) AS lo FROM demo.gold.p GROUP BY region "
            "ORDER BY region", batch_size=500).read_all().to_pylist()
        self.assertEqual(out, [{"region": "Davao", "n": 1668, "lo": 0},
                               {"region": "Ilocos", "n": 50, "lo": ROWS},
                               {"region": "NCR", "n": 3335, "lo": 1}])
        old = self.lake.execute("SELECT count(*) AS n FROM demo.gold.p VERSION AS OF 0",
                                batch_size=500).read_all()
        self.assertEqual(old.column("n")[0].as_py(), ROWS)
        joined = self.lake.execute(
            "SELECT count(*) AS n FROM demo.gold.p a JOIN demo.gold.p b ON a.id = b.id + 1",
            batch_size=500).read_all()
        self.assertEqual(joined.column("n")[0].as_py(), ROWS + 50 - 1)

    def test_api_server_chunks_stream_in_order(self):
        """EXTERNAL_LINKS chunks of ``chunk_rows`` rows, in order, from one huge row group;
        row_limit and byte_limit keep a prefix and say the result is truncated."""
        self.write_one_row_group("demo.gold.big", messy_table(0, ROWS))
        server = DatabricksApiServer(self.root, TOKEN, chunk_rows=1_000).start()
        self.addCleanup(server.stop)

        def run(**extra):
            body = dict({"warehouse_id": "local-warehouse", "wait_timeout": "30s",
                         "statement": "SELECT id, name FROM demo.gold.big",
                         "disposition": "EXTERNAL_LINKS", "format": "ARROW_STREAM"}, **extra)
            answer = requests.post(server.url + "/api/2.0/sql/statements", json=body,
                                   headers={"Authorization": "Bearer " + TOKEN}, timeout=30)
            self.assertEqual(answer.status_code, 200, answer.text)
            body = answer.json()
            self.assertEqual(body["status"]["state"], "SUCCEEDED", body)
            manifest, ids = body["manifest"], []
            for chunk in manifest["chunks"]:
                self.assertLessEqual(chunk["row_count"], 1_000)
                self.assertEqual(chunk["row_offset"], len(ids))
                path = "/api/2.0/sql/statements/%s/result/chunks/%d" % (
                    body["statement_id"], chunk["chunk_index"])
                link = requests.get(server.url + path, timeout=30, headers={
                    "Authorization": "Bearer " + TOKEN}).json()["external_links"][0]
                data = requests.get(link["external_link"], timeout=30).content
                ids += ipc.open_stream(data).read_all().column("id").to_pylist()
            self.assertEqual(manifest["total_row_count"], len(ids))
            return ids, manifest["truncated"]

        self.assertEqual(run(), (list(range(ROWS)), False))
        self.assertEqual(run(row_limit=2_500), (list(range(2_500)), True))
        ids, truncated = run(byte_limit=20_000)
        self.assertTrue(truncated)
        self.assertEqual(ids, list(range(len(ids))))
        self.assertTrue(0 < len(ids) < ROWS, len(ids))
