import os
import shutil
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, WriterProperties, write_deltalake

from odoo.tests import BaseCase

from ..lakehouse import dialect, quality
from ..lakehouse.local_backend import DeltaStream, LocalLakehouse

ROWS = 1_203


def messy(start, count, added=False):
    """Mixed-case and keyword column names, a struct, a map, a list, nulls, a text column
    with spaces in its name and a partition column."""
    ids = list(range(start, start + count))
    data = {
        "ID": pa.array(ids, pa.int64()),
        "Name": pa.array([None if i % 7 == 0 else "Ñoño %d" % (i % 50) for i in ids]),
        "select": pa.array([i % 5 for i in ids], pa.int32()),
        "order": pa.array([None if i % 3 == 0 else float(i) / 3 for i in ids]),
        "s": pa.array([{"a": i % 4, "B": None if i % 2 else "b%d" % i} for i in ids],
                      pa.struct([("a", pa.int64()), ("B", pa.string())])),
        "m": pa.array([[("k1", i), ("k2", -i)] if i % 6 else None for i in ids],
                      pa.map_(pa.string(), pa.int64())),
        "arr": pa.array([list(range(i % 4)) for i in ids], pa.list_(pa.int64())),
        "Unit Price": pa.array([i * 1.5 for i in ids]),
        "wide": pa.array(["x" * (i % 300) for i in ids]),
        "region": pa.array(["NCR" if i % 3 else "Davao" for i in ids]),
    }
    if added:
        data["Added"] = pa.array([None if i % 4 == 0 else "new %d" % i for i in ids])
    return pa.table(data)


def damage(lake, name, column):
    """Overwrite every page of ``column`` in the Parquet files of ``name`` with garbage
    (the footer stays whole: the files open, and reading that column fails)."""
    for uri in DeltaTable(lake.table_uri(name)).file_uris():
        path = uri.removeprefix("file://")
        meta = pq.ParquetFile(path).metadata
        index = [meta.row_group(0).column(j).path_in_schema
                 for j in range(meta.num_columns)].index(column)
        for group in range(meta.num_row_groups):
            chunk = meta.row_group(group).column(index)
            with open(path, "r+b") as fh:
                fh.seek(chunk.dictionary_page_offset or chunk.data_page_offset)
                fh.write(b"\xff" * chunk.total_compressed_size)


def peak(run):
    """The most bytes Arrow held at once while ``run()`` ran."""
    default = pa.default_memory_pool()
    pool = pa.proxy_memory_pool(default)
    pa.set_memory_pool(pool)
    try:
        run()
    finally:
        pa.set_memory_pool(default)
    return pool.max_memory()


# Each query runs with projection and with every column; the results must be the same.
QUERIES = [
    "SELECT count(*) FROM demo.gold.messy",
    "SELECT COUNT(*) AS n, count(1) AS one FROM demo.gold.messy WHERE naMe IS NULL OR name IS NULL",
    "SELECT count(*) FILTER (WHERE `select` > 2) AS n FROM demo.gold.messy",
    "SELECT id, NAME, Name AS again FROM demo.gold.messy ORDER BY Id",
    "SELECT `select`, `order`, `Unit Price` FROM demo.gold.messy ORDER BY id",
    "SELECT sum(`unit price`) AS p, count(DISTINCT name) AS d FROM demo.gold.messy",
    "SELECT s.a, s.B, m['k1'] AS k1, id FROM demo.gold.messy ORDER BY id",
    "SELECT messy.s.a AS a, t.`S`.b AS b FROM demo.gold.messy JOIN demo.gold.messy t "
    "ON messy.id = t.id ORDER BY messy.id",
    "SELECT * FROM demo.gold.messy ORDER BY id",
    "SELECT t.* FROM demo.gold.messy t ORDER BY id",
    "SELECT * EXCEPT (wide, m) FROM demo.gold.messy ORDER BY id",
    "SELECT s.* FROM demo.gold.messy ORDER BY s.a, s.b",
    "SELECT id, label FROM demo.gold.messy JOIN demo.gold.other USING (id) ORDER BY id",
    "SELECT count(*) AS n FROM demo.gold.messy NATURAL JOIN demo.gold.other",
    "SELECT id, transform(arr, x -> x + 1) AS a2, filter(arr, id -> id > 1) AS a3 "
    "FROM demo.gold.messy ORDER BY id",
    "SELECT max(n) AS n FROM (SELECT name AS n FROM demo.gold.messy WHERE id IN "
    "(SELECT id FROM demo.gold.other WHERE label = 'odd'))",
    "WITH messy AS (SELECT id, name FROM demo.gold.messy WHERE id < 100), "
    "other AS (SELECT id AS name, label AS id FROM demo.gold.other) "
    "SELECT count(messy.name) AS n, count(other.id) AS m FROM messy JOIN other "
    "ON messy.id = other.name",
    "SELECT count(*) AS n, max(length(b.wide)) AS w FROM demo.gold.messy a "
    "JOIN demo.gold.messy b ON a.id = b.`select`",
    "SELECT count(*) AS n, max(id) AS hi FROM demo.gold.messy VERSION AS OF 0",
    "SELECT (SELECT count(added) FROM demo.gold.messy) AS now, (SELECT count(*) FROM "
    "demo.gold.messy VERSION AS OF 0 WHERE name IS NOT NULL) AS before",
    "SELECT region, count(*) AS n FROM demo.gold.messy GROUP BY region ORDER BY region",
    "SELECT added, count(*) AS n FROM demo.gold.messy GROUP BY added "
    "ORDER BY added NULLS FIRST",
    "SELECT t FROM demo.gold.other t ORDER BY t.id",
    "SELECT to_json(o) AS j FROM demo.gold.other o ORDER BY id",
    "SELECT x FROM demo.gold.messy AS t(x) ORDER BY x",
    "SELECT count(*) AS groups FROM demo.gold.other PIVOT (count(id) AS c FOR label IN "
    "('odd' AS o, 'even' AS e))",
    "SELECT region, name, row_number() OVER (PARTITION BY region ORDER BY id) AS rn "
    "FROM demo.gold.messy QUALIFY rn <= 2 ORDER BY region, rn",
    "SELECT region, count(DISTINCT `select`) AS n FROM demo.gold.messy GROUP BY ALL "
    "ORDER BY ALL",
    "SELECT count(*) AS n FROM demo.gold.other o WHERE EXISTS (SELECT 1 FROM "
    "demo.gold.messy m WHERE m.id = o.id AND m.name IS NOT NULL)",
    "SELECT id, x FROM demo.gold.messy LATERAL VIEW explode(arr) e AS x ORDER BY id, x",
    "SELECT 1 AS one FROM demo.gold.messy LIMIT 3",
    "SELECT count(*) AS n FROM demo.gold.messy WHERE id > :lo",
    "SELECT nme FROM demo.gold.messy",
    "SELECT t.nme FROM demo.gold.messy t",
    "SELECT a.s.nope FROM demo.gold.messy a",
]


class TestLakehouseProjection(BaseCase):
    """A local query reads only the columns it can use, with the same results."""

    def setUp(self):
        super().setUp()
        self.root = tempfile.mkdtemp(prefix="ipai_lake_proj_")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.lake = LocalLakehouse(self.root, batch_size=250)
        uri = self.lake.table_uri("demo.gold.messy")
        write_deltalake(uri, messy(0, ROWS), partition_by=["region"])
        write_deltalake(uri, messy(ROWS, 40, added=True), mode="append",
                        partition_by=["region"], schema_mode="merge")  # version 1: Added
        ids = list(range(0, 3 * ROWS, 3))
        self.lake.write_table("demo.gold.other", pa.table({
            "id": pa.array(ids, pa.int64()),
            "Name": pa.array(["Ñoño %d" % (i % 50) if i % 2 else None for i in ids]),
            "label": pa.array(["odd" if i % 2 else "even" for i in ids]),
        }))

    def run_both(self, sql):
        """(projected, every column): each a table or the error text."""
        out = []
        for project in (True, False):
            try:
                if project:
                    reader = self.lake.execute(sql, {"lo": 17})
                else:  # the same query on streams of every column
                    con, final, used, names, _narrowed = self.lake._connect(
                        sql, project=False)
                    try:
                        reader = con.sql(final, params={"lo": 17} if used else None) \
                            .to_arrow_reader(250)
                    except dialect.duckdb.Error as exc:
                        raise dialect.from_duckdb(exc, names) from None
                table = reader.read_all()
                out.append((table.schema, sorted(map(repr, table.to_pylist()))))
            except dialect.LocalSQLError as exc:
                out.append(str(exc))
        return out

    def registered(self, sql):
        """{registered table: the columns its stream reads} for ``sql``."""
        con, _final, _used, names, _narrowed = self.lake._connect(sql)
        self.addCleanup(con.close)
        return {key: con.table('"%s"' % key).columns for key in names}

    def test_results_identical_with_and_without_projection(self):
        for sql in QUERIES:
            with self.subTest(sql=sql):
                projected, full = self.run_both(sql)
                self.assertEqual(projected, full)
                if isinstance(full, str):
                    self.assertTrue(sql.startswith(("SELECT nme", "SELECT t.nme", "SELECT a.s")),
                                    full)
                else:
                    self.assertTrue(full[1], "no rows: the query tests nothing")

    def test_only_the_used_columns_are_registered(self):
        every = messy(0, 1, added=True).column_names
        cases = {
            "SELECT count(*) FROM demo.gold.messy": {"demo.gold.messy": ["region"]},
            "SELECT name, s.a FROM demo.gold.messy WHERE `SELECT` > 1":
                {"demo.gold.messy": ["Name", "select", "s"]},
            "SELECT a.id FROM demo.gold.messy a JOIN demo.gold.messy b ON a.id = b.added":
                {"demo.gold.messy": ["ID", "Added"]},
            "SELECT count(added) FROM demo.gold.messy JOIN demo.gold.messy VERSION AS OF 0 "
            "v USING (id)": {"demo.gold.messy": ["ID", "Added"],
                             "demo.gold.messy@v0": ["ID"]},
            "SELECT count(*) FROM demo.gold.other": {"demo.gold.other": ["label"]},  # smallest
            "SELECT s.* FROM demo.gold.messy": {"demo.gold.messy": every},
            "SELECT count(*) FROM demo.gold.messy NATURAL JOIN demo.gold.other":
                {"demo.gold.messy": every, "demo.gold.other": ["id", "Name", "label"]},
            "SELECT to_json(o) FROM demo.gold.other o":
                {"demo.gold.other": ["id", "Name", "label"]},
        }
        for sql, expected in cases.items():
            with self.subTest(sql=sql):
                self.assertEqual(self.registered(sql), expected)

    def test_unused_damaged_column_is_not_read(self):
        """A column whose pages are garbage fails every query that reads it: the ones that
        do not use it answer (before, each query read every column and failed)."""
        self.lake.write_table("demo.gold.damaged", messy(0, ROWS).drop_columns(["region"]))
        damage(self.lake, "demo.gold.damaged", "wide")
        with self.assertRaisesRegex(dialect.duckdb.Error, "reading the stream"):
            self.lake.execute("SELECT max(length(wide)) FROM demo.gold.damaged").read_all()
        got = self.lake.execute("SELECT count(*) AS n, count(name) AS named, sum(`select`) AS s "
                                "FROM demo.gold.damaged").read_all().to_pylist()
        source = messy(0, ROWS)
        self.assertEqual(got, [{"n": ROWS, "named": ROWS - source.column("Name").null_count,
                                "s": sum(source.column("select").to_pylist())}])

    def test_count_peaks_far_lower_than_reading_the_wide_column(self):
        """``count(*)`` and a one-column aggregate over a table with a wide text column
        allocate a small fraction of what reading that column takes."""
        rows = 600
        self.lake.write_table("demo.gold.wide", pa.table({
            "id": pa.array(range(rows), pa.int64()),
            "blob": pa.array([os.urandom(8_000).hex() for _ in range(rows)]),
        }))
        wide = peak(lambda: self.lake.execute("SELECT max(length(blob)) FROM demo.gold.wide",
                                              batch_size=100).read_all())
        self.assertGreater(wide, 100 * 16_000)  # a batch of 100 values of 16 kB
        for sql in ("SELECT count(*) FROM demo.gold.wide",
                    "SELECT sum(id) FROM demo.gold.wide WHERE id % 2 = 0"):
            with self.subTest(sql=sql):
                used = peak(lambda sql=sql: self.lake.execute(sql, batch_size=100).read_all())
                self.assertLess(used, wide / 20)

    def test_quality_rules_memory_bounded_by_the_batch(self):
        """Rules on a table of ONE row group read it in batches of the lakehouse's batch
        size: the peak is a fraction of that row group's column (the whole row group was
        decoded before)."""
        rows = 16_000  # 16 MB of text in one row group; a Parquet page is about 1 MB
        codes = pa.array([("%04d" % (i % 1000)) * 250 for i in range(rows)])  # 1 kB each
        write_deltalake(self.lake.table_uri("demo.gold.codes"),
                        pa.table({"id": pa.array(range(rows), pa.int64()), "code": codes}),
                        writer_properties=WriterProperties(max_row_group_size=rows,
                                                           dictionary_page_size_limit=1))
        rules = [quality.Rule("nn", "not_null", "code"),
                 quality.Rule("vals", "accepted_values", "code", {"values": ["0000" * 250]})]
        lake = LocalLakehouse(self.root, batch_size=100)
        results = []
        used = peak(lambda: results.extend(
            quality.evaluate_on_lakehouse(lake, "demo.gold.codes", rules)))
        self.assertEqual([(r.checked_rows, r.failing_rows) for r in results],
                         [(rows, 0), (rows, rows - rows // 1000)])
        self.assertLess(used, codes.nbytes / 4, "peak %d bytes" % used)

    def test_quality_rules_read_their_columns_only(self):
        """Rules evaluated on the lakehouse give what they give on the whole Arrow table,
        and read the rules' columns only (the damaged one is never read)."""
        source = messy(0, ROWS).drop_columns(["region"])
        self.lake.write_table("demo.gold.q", source)
        rules = [
            quality.Rule("nn", "not_null", "Name"),
            quality.Rule("uniq", "unique", "id"),
            quality.Rule("range", "between", "select", {"min": 1, "max": 3}),
            quality.Rule("vals", "accepted_values", "NAME", {"values": ["Ñoño 1", "Ñoño 2"]}),
            quality.Rule("rows", "min_row_count", None, {"min": 5_000}),
        ]
        expected = quality.evaluate_arrow(source, rules)
        self.assertEqual(quality.evaluate_on_lakehouse(self.lake, "demo.gold.q", rules),
                         expected)
        self.assertFalse(expected[0].passed)
        damage(self.lake, "demo.gold.q", "wide")
        self.assertEqual(quality.evaluate_on_lakehouse(self.lake, "demo.gold.q", rules),
                         expected)
        with self.assertRaisesRegex(dialect.duckdb.Error, "reading the stream"):
            quality.evaluate_on_lakehouse(self.lake, "demo.gold.q",
                                          [quality.Rule("w", "not_null", "wide")])

    def test_quality_rules_find_the_table_as_databricks_names_it(self):
        rules = [quality.Rule("nn", "not_null", "Name"),
                 quality.Rule("rows", "min_row_count", None, {"min": 1})]
        self.assertEqual(quality.evaluate_on_lakehouse(self.lake, "DEMO.Gold.Messy", rules),
                         quality.evaluate_on_lakehouse(self.lake, "demo.gold.messy", rules))
        with self.assertRaisesRegex(dialect.LocalSQLError, r"^\[TABLE_OR_VIEW_NOT_FOUND\] "
                                    ".*`demo`.`gold`.`nowhere`"):
            quality.evaluate_on_lakehouse(self.lake, "demo.gold.nowhere", rules)

    def test_stream_columns_case_insensitive(self):
        dataset = DeltaTable(self.lake.table_uri("demo.gold.messy")).to_pyarrow_dataset()
        stream = DeltaStream(dataset, 100, ["name", "ADDED", "nope"])
        self.assertEqual(stream.schema.names, ["Name", "Added"])
        table = stream.reader().read_all()
        self.assertEqual(table.num_rows, ROWS + 40)
        self.assertEqual(table.column("Added").null_count, ROWS + 10)
