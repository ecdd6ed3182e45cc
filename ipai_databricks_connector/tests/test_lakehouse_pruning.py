import datetime as dt
import os
import shutil
import tempfile
from decimal import Decimal

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from deltalake import DeltaTable, WriterProperties, write_deltalake

from odoo.tests import BaseCase

from ..lakehouse import dialect, pruning, sandbox
from ..lakehouse.local_backend import DeltaStream, LocalLakehouse, bind_predicates

UTC = dt.UTC
BASE = dt.datetime(2026, 1, 1, tzinfo=UTC)
LONG = "z" * 5000  # longer than any statistics truncation


def facts(start, count, extra=False):
    """Sorted ids in many small row groups; decimals, floats with NaN and ±inf, strings
    with accents, empty and very long ones, timestamps (UTC and naive), dates, NULLs."""
    ids = list(range(start, start + count))

    def text(i):
        if i == 7:
            return ""
        if i == 300:
            return LONG
        if i == 301:
            return "Ñoño"
        return None if i % 17 == 0 else "k%04d%s" % (i, "é" if i % 5 == 0 else "")

    def number(i):
        return {5: float("nan"), 333: float("nan"), 100: float("inf"),
                200: float("-inf")}.get(i, None if i % 13 == 0 else i / 7)

    data = {
        "id": pa.array(ids, pa.int64()),
        "dec": pa.array([None if i % 11 == 0 else Decimal(i * 12345 - 1_000_000) / 10_000
                         for i in ids], pa.decimal128(18, 4)),
        "f": pa.array([number(i) for i in ids], pa.float64()),
        "s": pa.array([text(i) for i in ids]),
        "ts": pa.array([BASE + dt.timedelta(minutes=i) for i in ids], pa.timestamp("us", "UTC")),
        "tn": pa.array([dt.datetime(2026, 1, 1) + dt.timedelta(hours=i) for i in ids],
                       pa.timestamp("us")),
        "day": pa.array([dt.date(2026, 1, 1) + dt.timedelta(days=i // 50) for i in ids]),
        "grp": pa.array([("a", "b", None)[i % 3] for i in ids]),
    }
    if extra:
        data["extra"] = pa.array([None if i % 4 == 0 else i % 9 for i in ids], pa.int64())
    return pa.table(data)


REGIONS = ["NCR", "Davao", None, "Cebú"]


def sales(start, count, channel=False):
    """Partitioned by a date and by a string with a NULL partition."""
    ids = list(range(start, start + count))
    data = {
        "id": pa.array(ids, pa.int64()),
        "sale_date": pa.array([dt.date(2026, 1, 1 + i % 4) for i in ids]),
        "region": pa.array([REGIONS[(i // 4) % 4] for i in ids]),
        "amount": pa.array([Decimal(i * 37 % 500) / 2 for i in ids], pa.decimal128(10, 2)),
        "note": pa.array([None if i % 9 == 0 else "n%d" % (i % 23) for i in ids]),
    }
    if channel:
        data["channel"] = pa.array([("web", "shop", None)[i % 3] for i in ids])
    return pa.table(data)


F, S = "demo.gold.facts", "demo.gold.sales"
PARAMS = {"lo": 17, "half": 40.5, "text": "17", "name": "k0042", "day": dt.date(2026, 1, 3),
          "since": dt.datetime(2026, 1, 1, 9, 30, tzinfo=UTC),
          "naive": dt.datetime(2026, 1, 3, 12), "d": dt.date(2026, 1, 2), "a": 450, "b": 460,
          "long": LONG}

# Each query runs with pruning and without; the results must be the same.
QUERIES = [
    f"SELECT id FROM {F} WHERE id = 0",
    f"SELECT id FROM {F} WHERE id = 599",  # exactly the maximum of version 0
    f"SELECT id FROM {F} WHERE id = 719",  # exactly the maximum
    f"SELECT count(*) FROM {F} WHERE id = 720",  # just outside
    f"SELECT count(*) FROM {F} WHERE id = -1",
    f"SELECT max(id) FROM {F} WHERE id < 40",  # a row-group boundary
    f"SELECT max(id) FROM {F} WHERE id <= 39",
    f"SELECT id FROM {F} WHERE id > 39 AND id < 41",
    f"SELECT id FROM {F} WHERE id >= 719",
    f"SELECT count(*) FROM {F} WHERE 100 > id",
    f"SELECT count(*), sum(id) FROM {F} WHERE id BETWEEN 120 AND 159",
    f"SELECT count(*) FROM {F} WHERE id BETWEEN 159 AND 120",  # reversed: nothing
    f"SELECT id FROM {F} WHERE id IN (3, 250, NULL, 999)",
    f"SELECT count(*) FROM {F} WHERE id IN (NULL)",
    f"SELECT count(*) FROM {F} WHERE id = NULL",
    f"SELECT count(*) FROM {F} WHERE id <> 5",
    f"SELECT count(*) FROM {F} WHERE id = 1.5",
    f"SELECT max(id) FROM {F} WHERE id < 40.5",
    f"SELECT id FROM {F} WHERE id = 4e1",
    f"SELECT id FROM {F} WHERE id = -(-7)",
    f"SELECT id, dec FROM {F} WHERE dec >= 500.0000 AND dec < 510",
    f"SELECT id FROM {F} WHERE dec BETWEEN -100 AND -98.7655",  # exactly the minimum
    f"SELECT id, f FROM {F} WHERE f > 1000",  # NaN and +inf: beyond any statistics maximum
    f"SELECT id FROM {F} WHERE f >= 1e308",
    f"SELECT id FROM {F} WHERE f < -1e308",
    f"SELECT id FROM {F} WHERE f = 10",
    f"SELECT count(*) FROM {F} WHERE f BETWEEN 1 AND 2",
    f"SELECT count(*) FROM {F} WHERE f IS NULL",
    f"SELECT count(*) FROM {F} WHERE f <> 10",
    f"SELECT id FROM {F} WHERE s = ''",
    f"SELECT id, length(s) AS n FROM {F} WHERE s > 'z'",  # the very long value
    f"SELECT id FROM {F} WHERE s = :long",
    f"SELECT id FROM {F} WHERE s >= 'k0100' AND s < 'k0120'",
    f"SELECT id FROM {F} WHERE s = 'Ñoño'",
    f"SELECT id FROM {F} WHERE s = 'k0005é'",
    f"SELECT count(*) FROM {F} WHERE s LIKE 'k01%'",
    f"SELECT id FROM {F} WHERE upper(s) = 'K0001'",
    f"SELECT id FROM {F} WHERE ts >= TIMESTAMP'2026-01-01 05:00:00' "
    f"AND ts < TIMESTAMP'2026-01-01 06:00:00'",
    f"SELECT id FROM {F} WHERE ts = TIMESTAMP'2026-01-01 10:00:00+08:00'",
    f"SELECT count(*) FROM {F} WHERE tn >= TIMESTAMP_NTZ'2026-01-25 00:00:00'",
    f"SELECT count(*) FROM {F} WHERE tn < TIMESTAMP'2026-01-02 00:00:00'",
    f"SELECT id FROM {F} WHERE tn = TIMESTAMP'2026-01-02 03:00:00'",
    f"SELECT count(*) FROM {F} WHERE day = DATE'2026-01-05'",
    f"SELECT count(*) FROM {F} WHERE day = '2026-01-05'",  # a string: Databricks casts it
    f"SELECT id FROM {F} WHERE id = '17'",
    f"SELECT id FROM {F} WHERE id = :lo",
    f"SELECT count(*) FROM {F} WHERE ts >= :since",
    f"SELECT count(*) FROM {F} WHERE tn < :naive",
    f"SELECT count(*) FROM {F} WHERE day >= :day",
    f"SELECT id FROM {F} WHERE s = :name",
    f"SELECT max(id) FROM {F} WHERE id < :half",
    f"SELECT id FROM {F} WHERE id = :text",
    f"SELECT count(*), sum(id) FROM {F} WHERE id BETWEEN :a AND :b",
    f"SELECT count(*) FROM {F} WHERE id < 10 OR id > 700",  # OR: not pruned
    f"SELECT count(*) FROM {F} WHERE NOT (id >= 10)",
    f"SELECT count(*) FROM {F} WHERE extra IS NULL",  # files of version 0 lack it
    f"SELECT count(*) FROM {F} WHERE extra = 5",
    f"SELECT count(*) FROM {F} WHERE extra IS NOT NULL AND id < 650",
    f"SELECT count(*) FROM {F} WHERE grp IS NULL AND id BETWEEN 30 AND 90",
    f"SELECT a.id, b.id AS b FROM {F} a JOIN {F} b ON a.id = b.id + 1 WHERE a.id < 5 "
    f"AND b.id < 3",  # a self-join
    f"SELECT id FROM {F} WHERE id < 3 UNION ALL SELECT id FROM {S} WHERE region = 'NCR' "
    f"AND id < 20",
    f"SELECT id FROM {F} WHERE id < 3 UNION SELECT id FROM {F} WHERE id > 715",
    f"WITH c AS (SELECT * FROM {F} WHERE id BETWEEN 40 AND 45) SELECT count(*) FROM c "
    f"JOIN c d USING (id)",
    f"SELECT count(*) FROM (SELECT id FROM {F} WHERE id >= 600) WHERE id < 650",
    f"SELECT count(*), max(id) FROM {F} VERSION AS OF 0 WHERE id >= 590",
    f"SELECT count(*) FROM {F} VERSION AS OF 0 v JOIN {F} c USING (id) WHERE c.id > 590",
    f"SELECT s AS id FROM {F} WHERE id = 3",
    f"SELECT count(*) FROM {S} o WHERE EXISTS (SELECT 1 FROM {F} f WHERE f.id = o.id "
    f"AND f.id < 50)",
    f"SELECT count(*), sum(amount) FROM {S} WHERE sale_date = DATE'2026-01-01'",
    f"SELECT count(*) FROM {S} WHERE region IS NULL",
    f"SELECT count(*) FROM {S} WHERE region IS NOT NULL AND sale_date > DATE'2026-01-02'",
    f"SELECT id FROM {S} WHERE region = 'Cebú'",
    f"SELECT count(*) FROM {S} WHERE region IN ('NCR', NULL)",
    f"SELECT count(*) FROM {S} WHERE region <> 'NCR'",
    f"SELECT count(*) FROM {S} WHERE sale_date BETWEEN DATE'2026-01-02' AND DATE'2026-01-03' "
    f"AND amount > 100",
    f"SELECT count(*) FROM {S} WHERE channel = 'web'",  # added in version 1
    f"SELECT count(*) FROM {S} WHERE channel IS NULL",
    f"SELECT count(*) FROM {S} VERSION AS OF 0 WHERE sale_date = DATE'2026-01-04'",
    f"SELECT region, count(*) AS n FROM {S} WHERE sale_date = :d GROUP BY region",
    f"SELECT count(*) FROM {S} WHERE region = 'ncr'",
    f"SELECT count(*) FROM {S} WHERE sales.region = 'NCR'",
    f"SELECT count(*) FROM {S} s WHERE s.region = 'Davao' AND s.id % 2 = 0",
    f"SELECT count(*) FROM {S} WHERE region = 'NCR' OR region IS NULL",
    f"SELECT count(*) FROM {S} WHERE sale_date = TIMESTAMP'2026-01-01 00:00:00'",
    f"SELECT count(*) FROM {S} WHERE region > 'D' AND sale_date <= DATE'2026-01-02'",
]


def damage_group(path, group):
    """Overwrite every page of one row group with garbage (the footer stays whole)."""
    meta = pq.ParquetFile(path).metadata
    row_group = meta.row_group(group)
    with open(path, "r+b") as fh:
        for j in range(row_group.num_columns):
            chunk = row_group.column(j)
            fh.seek(chunk.dictionary_page_offset or chunk.data_page_offset)
            fh.write(b"\xff" * chunk.total_compressed_size)


def local_files(lake, name):
    return [uri.removeprefix("file://") for uri in DeltaTable(lake.table_uri(name)).file_uris()]


class TestLakehousePruning(BaseCase):
    """A local query skips the partitions and row groups its WHERE cannot match, with the
    same results as reading everything."""

    def setUp(self):
        super().setUp()
        self.root = tempfile.mkdtemp(prefix="ipai_lake_prune_")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.lake = LocalLakehouse(self.root, batch_size=64)
        small = WriterProperties(max_row_group_size=40)
        write_deltalake(self.lake.table_uri(F), facts(0, 600), writer_properties=small)
        write_deltalake(self.lake.table_uri(F), facts(600, 120, extra=True), mode="append",
                        schema_mode="merge", writer_properties=small)  # version 1: extra
        uri = self.lake.table_uri(S)
        write_deltalake(uri, sales(0, 400), partition_by=["sale_date", "region"],
                        writer_properties=WriterProperties(max_row_group_size=8))
        write_deltalake(uri, sales(400, 64, channel=True), mode="append", schema_mode="merge",
                        partition_by=["sale_date", "region"])

    def run_both(self, sql):
        """(pruned, every row group): each a sorted list of rows or the error text."""
        out = []
        for prune in (True, False):
            try:
                con, final, used, names, _narrowed = self.lake._connect(
                    sql, prune=prune, parameters=PARAMS)
                try:
                    rows = con.sql(final, params={k: PARAMS[k] for k in used} or None).fetchall()
                except dialect.duckdb.Error as exc:
                    raise dialect.from_duckdb(exc, names) from None
                finally:
                    con.close()
                out.append(sorted(map(repr, rows)))
            except dialect.LocalSQLError as exc:
                out.append(str(exc))
        return out

    def test_results_identical_with_and_without_pruning(self):
        self.assertGreaterEqual(len(QUERIES), 40)
        answered = 0
        for sql in QUERIES:
            with self.subTest(sql=sql):
                pruned, full = self.run_both(sql)
                self.assertEqual(pruned, full)
                self.assertIsInstance(full, list, full)
                answered += bool(full) and full != ["(0,)"] and full != ["(0, None)"]
        self.assertGreater(answered, 60, "most queries must return rows to test anything")
        self.assertEqual(self.lake.execute(f"SELECT id, f FROM {F} WHERE f > 1000")
                         .read_all().to_pylist()[0]["id"], 5)  # NaN, beyond the maximum

    def test_predicates_only_where_sure(self):
        found = pruning.predicates(
            "SELECT * FROM c.s.t WHERE a = 1 AND (b > 2 OR c = 3) AND NOT d = 4 AND "
            "upper(e) = 'X' AND CAST(f AS INT) = 1 AND g BETWEEN 1 AND :p AND h IN (1, NULL) "
            "AND i IS NOT NULL AND 5 <= j AND k = DATE'2026-01-01' AND t.l = -2 AND x.m = 1")
        self.assertEqual(found, {("c.s.t", None): [
            ("a", "=", [("number", "1")]),
            ("g", "between", [("number", "1"), ("param", "p")]),
            ("h", "in", [("number", "1"), ("null", None)]),
            ("i", "notnull", []), ("j", ">=", [("number", "5")]),
            ("k", "=", [("date", "CAST('2026-01-01' AS DATE)")]),
            ("l", "=", [("number", "-2")])]})
        for sql in ("SELECT * FROM c.s.t a JOIN c.s.u b ON a.id = b.id WHERE a.x = 1",
                    "SELECT * FROM c.s.t WHERE id IN (SELECT id FROM c.s.t WHERE x = 1)",
                    "SELECT * FROM c.s.t, c.s.u WHERE x = 1",
                    "SELECT x FROM c.s.t LATERAL VIEW explode(arr) e AS y WHERE x = 1",
                    "SELECT * FROM c.s.t TABLESAMPLE (10 PERCENT) WHERE x = 1",
                    "SELECT * FROM c.s.t AS t(x) WHERE x = 1",
                    "SELECT y AS x FROM c.s.t WHERE x = 1",
                    "SELECT * FROM c.s.t WHERE x = 1 OR y = 2"):
            with self.subTest(sql=sql):
                self.assertEqual(pruning.predicates(sql), {})
        self.assertEqual(
            pruning.predicates("SELECT * FROM c.s.t WHERE x = 1 UNION ALL "
                               "SELECT * FROM c.s.t VERSION AS OF 2 WHERE x = 2"),
            {("c.s.t", None): [("x", "=", [("number", "1")])],
             ("c.s.t", ("VERSION", 2)): [("x", "=", [("number", "2")])]})

    def test_unmatched_damaged_partition_is_never_opened(self):
        """A file of garbage in partition (2026-01-03, Davao) fails every query that reads
        it; the queries whose WHERE excludes that partition answer (before, every query
        read every file and failed)."""
        victim = [p for p in local_files(self.lake, S)
                  if "sale_date=2026-01-03" in p and "region=Davao" in p]
        self.assertTrue(victim)
        for path in victim:
            size = os.path.getsize(path)
            with open(path, "wb") as fh:
                fh.write(b"\0" * size)
        rows = sales(0, 400).to_pylist() + sales(400, 64).to_pylist()
        cases = {
            "SELECT count(*) FROM demo.gold.sales WHERE sale_date = DATE'2026-01-01'":
                sum(r["sale_date"] == dt.date(2026, 1, 1) for r in rows),
            "SELECT count(*) FROM demo.gold.sales WHERE region = 'NCR'":
                sum(r["region"] == "NCR" for r in rows),
            "SELECT count(*) FROM demo.gold.sales WHERE region IS NULL AND id > :lo":
                sum(r["region"] is None and r["id"] > 17 for r in rows),
            "SELECT count(*) FROM demo.gold.sales WHERE region IN ('Davao', 'Cebú') AND "
            "sale_date <> DATE'2026-01-03' AND sale_date >= :d":
                0,  # <> is never pruned: the damaged file is read
        }
        for sql, expected in cases.items():
            with self.subTest(sql=sql):
                if not expected:
                    with self.assertRaises(dialect.duckdb.Error):
                        self.lake.execute(sql, {"d": dt.date(2026, 1, 2)}).read_all()
                    continue
                got = self.lake.execute(sql, PARAMS).read_all().column(0).to_pylist()
                self.assertEqual(got, [expected])
        for sql in ("SELECT count(*) FROM demo.gold.sales WHERE region = 'Davao' OR id < 0",
                    "SELECT count(*) FROM demo.gold.sales WHERE sale_date = DATE'2026-01-03'"):
            with self.subTest(sql=sql), self.assertRaises(dialect.duckdb.Error):
                self.lake.execute(sql).read_all()

    def test_unmatched_damaged_row_group_is_never_read(self):
        """Garbage in the pages of the row group of ids 300-399 fails every query that
        reads it; the queries whose WHERE its statistics exclude answer."""
        name = "demo.gold.groups"
        ids = list(range(1000))
        write_deltalake(self.lake.table_uri(name), pa.table({
            "id": pa.array(ids, pa.int64()),
            "v": pa.array(["v%04d" % i for i in ids]),
            "at": pa.array([BASE + dt.timedelta(hours=i) for i in ids],
                           pa.timestamp("us", "UTC")),
        }), writer_properties=WriterProperties(max_row_group_size=100))
        (path,) = local_files(self.lake, name)
        self.assertEqual(pq.ParquetFile(path).metadata.num_row_groups, 10)
        damage_group(path, 3)
        cases = {
            "SELECT count(*), sum(id) FROM demo.gold.groups WHERE id >= 400": (600, 419700),
            "SELECT count(*), sum(id) FROM demo.gold.groups WHERE id < 300 AND v <> 'x'":
                (300, 44850),
            "SELECT count(*), sum(id) FROM demo.gold.groups WHERE id BETWEEN :a AND :b":
                (11, 5005),
            "SELECT count(*), sum(id) FROM demo.gold.groups WHERE v = 'v0950'": (1, 950),
            "SELECT count(*), sum(id) FROM demo.gold.groups WHERE "
            "at >= TIMESTAMP'2026-01-20 00:00:00+08:00' AND at < :since": (0, None),
            "SELECT count(*), sum(id) FROM demo.gold.groups WHERE at < TIMESTAMP'2026-01-02'":
                (24, 276),
        }
        for sql, expected in cases.items():
            with self.subTest(sql=sql):
                got = self.lake.execute(sql, PARAMS).read_all().to_pylist()
                self.assertEqual(tuple(got[0].values()), expected)
        for sql in ("SELECT count(*) FROM demo.gold.groups WHERE id = 350",
                    "SELECT count(*) FROM demo.gold.groups WHERE id < 300 OR id > 990",
                    "SELECT count(*) FROM demo.gold.groups a JOIN demo.gold.groups b "
                    "USING (id) WHERE a.id > 900"):
            with self.subTest(sql=sql), self.assertRaises(dialect.duckdb.Error):
                self.lake.execute(sql).read_all()

    def test_timestamp_units_and_zones_of_parquet_files(self):
        """Parquet files in nanoseconds, milliseconds and a non-UTC zone (as other writers
        leave them): the stream skips row groups, and keeps every row that matches."""
        folder = os.path.join(self.root, "raw")
        os.makedirs(folder)
        ids = list(range(300))
        at = [dt.datetime(2026, 1, 1) + dt.timedelta(minutes=i, microseconds=i % 3)
              for i in ids]
        table = pa.table({
            "id": pa.array(ids, pa.int64()),
            "ns": pa.array([int((t - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1))
                            * 1000 + 500 for t in at], pa.timestamp("ns")),
            "ms": pa.array([t.replace(microsecond=0, tzinfo=UTC) for t in at],
                           pa.timestamp("ms", "UTC")),
            "manila": pa.array([t.replace(tzinfo=UTC) for t in at],
                               pa.timestamp("us", "Asia/Manila")),
        })
        pq.write_table(table, os.path.join(folder, "part.parquet"), row_group_size=25,
                       version="2.6")
        dataset = pads.dataset(folder, format="parquet")
        con = sandbox.connect()
        self.addCleanup(con.close)

        def evaluate(literal):
            return con.execute("SELECT " + literal).fetchall()[0][0]

        for where in ("ns >= TIMESTAMP_NTZ'2026-01-01 02:00:00' AND ns < "
                      "TIMESTAMP_NTZ'2026-01-01 02:30:00.000001'",
                      "ns BETWEEN TIMESTAMP_NTZ'2026-01-01 01:00:00' AND "
                      "TIMESTAMP_NTZ'2026-01-01 01:00:00.000001'",
                      "ns <= TIMESTAMP_NTZ'2026-01-01 00:00:00.000001'",
                      "ms = TIMESTAMP'2026-01-01 01:00:00'",
                      "ms BETWEEN TIMESTAMP'2026-01-01 03:00:00' AND "
                      "TIMESTAMP'2026-01-01 03:10:00'",
                      "manila >= TIMESTAMP'2026-01-01 12:00:00+08:00' AND "
                      "manila <= TIMESTAMP'2026-01-01 04:05:00'",
                      "manila < TIMESTAMP_NTZ'2026-01-01 00:20:00'"):
            with self.subTest(where=where):
                sql = "SELECT id FROM c.s.raw WHERE " + where
                found = pruning.predicates(sql)[("c.s.raw", None)]
                stream = DeltaStream(dataset, 16, where=bind_predicates(
                    found, dataset.schema, {}, evaluate))
                self.assertLess(stream.reader().read_all().num_rows, len(ids))  # skipped
                results = []
                for registered in (stream, DeltaStream(dataset, 16)):
                    con.register("raw", registered)
                    text = dialect.parse(sql.replace("c.s.raw", "raw")).sql("duckdb")
                    results.append(sorted(con.sql(text).fetchall()))
                    con.unregister("raw")
                self.assertEqual(results[0], results[1])
                self.assertTrue(results[0], "no rows: the query tests nothing")
