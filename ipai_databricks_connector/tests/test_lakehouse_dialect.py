"""Databricks SQL on the local backend: transpiled by sqlglot, time travel from the Delta
log, errors in Databricks' terms. Tables are messy: nulls, mojibake, Manila time."""

import datetime as dt
import gc
import shutil
import tempfile
import time
from decimal import Decimal

import pyarrow as pa

from odoo.tests import BaseCase

from ..lakehouse import dialect, sandbox, types
from ..lakehouse.local_backend import LocalLakehouse

MANILA = dt.timezone(dt.timedelta(hours=8))


class TestLakehouseDialect(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="ipai_dialect_")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        cls.lake = LocalLakehouse(cls.root)
        cls.lake.write_table("lab.gold.sales", pa.table({
            "region": pa.array(["NCR", None]),
            "sold_at": pa.array([dt.datetime(2026, 3, 1, 7, 30, tzinfo=MANILA), None],
                                pa.timestamp("us", tz="Asia/Manila")),
            "amount": pa.array([Decimal("12345678901234567890.12"), None],
                               pa.decimal128(38, 2)),
        }))  # version 0: 2 rows
        time.sleep(0.02)  # distinct commit times
        cls.lake.write_table("lab.gold.sales", pa.table({
            "region": pa.array(["NCR", "Visayas", "CafÃ©"]),
            "sold_at": pa.array([dt.datetime(2026, 3, 2, 23, 0, tzinfo=MANILA)] * 3,
                                pa.timestamp("us", tz="Asia/Manila")),
            "amount": pa.array([Decimal("1.10"), Decimal("-2.05"), None],
                               pa.decimal128(38, 2)),
        }), mode="append")  # version 1: 5 rows
        cls.lake.write_table("lab.gold.stores", pa.table({"store_id": [1, 2]}))

    def rows(self, sql, **kwargs):
        return self.lake.execute(sql, **kwargs).read_all().to_pylist()

    def assertDatabricksError(self, sql, error_class, *texts, **kwargs):
        with self.assertRaises(dialect.LocalSQLError) as caught:
            self.rows(sql, **kwargs)
        message = str(caught.exception)
        self.assertRegex(message, rf"^\[{error_class}[.\]]")
        self.assertRegex(message, r"SQLSTATE: [0-9A-Z]{5}$")
        self.assertNotIn("__", message, "no internal name")
        for text in texts:
            self.assertIn(text, message)
        return caught.exception

    def test_databricks_functions_and_parameters_run_locally(self):
        rows = self.rows("SELECT date_format(sold_at, 'yyyy-MM-dd HH:mm') AS at, "
                         "nvl(region, 'n/a') AS region FROM lab.gold.sales VERSION AS OF 0 "
                         "ORDER BY at")
        # Spark sorts nulls first; the session time zone is UTC, as on a warehouse.
        self.assertEqual(rows, [{"at": None, "region": "n/a"},
                                {"at": "2026-02-28 23:30", "region": "NCR"}])
        rows = self.rows("SELECT count(*) AS n FROM lab.gold.sales WHERE region = :region",
                         parameters={"region": "NCR", "unused": 1})
        self.assertEqual(rows, [{"n": 2}])
        # A parameter marker in a string literal is text, not a parameter.
        self.assertEqual(self.rows("SELECT ':region' AS t")[0]["t"], ":region")

    def test_show_tables_and_short_names_follow_the_defaults(self):
        self.assertEqual(self.rows("SHOW TABLES IN lab.gold"), [
            {"database": "gold", "tableName": "sales", "isTemporary": False},
            {"database": "gold", "tableName": "stores", "isTemporary": False}])
        self.assertEqual([r["tableName"] for r in self.rows(
            "SHOW TABLES IN gold LIKE 'sto*'", catalog="lab")], ["stores"])
        self.assertEqual(self.rows("SELECT count(*) AS n FROM stores s", catalog="lab",
                                   schema="gold"), [{"n": 2}])
        self.assertEqual(self.rows("SELECT stores.store_id FROM gold.stores ORDER BY 1",
                                   catalog="lab"), [{"store_id": 1}, {"store_id": 2}])

    def test_names_are_case_insensitive_and_a_catalog_alone_means_its_default_schema(self):
        self.lake.write_table("mix.default.typed", pa.table({"n": [7]}))
        self.lake.write_table("mix.gold.Mixed_Case", pa.table({"n": [8]}))
        # As on Databricks: identifiers in any case, USE CATALOG's `default` schema.
        self.assertEqual(self.rows("SELECT n FROM typed", catalog="mix"), [{"n": 7}])
        self.assertEqual(self.rows("SELECT count(*) AS c FROM LAB.GOLD.Stores"), [{"c": 2}])
        self.assertEqual(self.rows("SELECT n FROM `mix`.gold.MIXED_case VERSION AS OF 0"),
                         [{"n": 8}])
        self.assertEqual(len(self.rows("DESCRIBE HISTORY Lab.Gold.Sales")), 2)
        self.assertDatabricksError("SELECT * FROM LAB.GOLD.nowhere",
                                   "TABLE_OR_VIEW_NOT_FOUND", "`LAB`.`GOLD`.`nowhere`")

    def test_time_travel_reads_the_delta_version_asked_for(self):
        count = "SELECT count(*) AS n FROM lab.gold.sales"
        self.assertEqual(self.rows(count), [{"n": 5}])
        self.assertEqual(self.rows(count + " VERSION AS OF 0"), [{"n": 2}])
        history = self.rows("DESCRIBE HISTORY lab.gold.sales")
        self.assertEqual([h["version"] for h in history], [1, 0])
        self.assertEqual([h["operation"] for h in history], ["WRITE", "WRITE"])
        first = history[1]["timestamp"]
        self.assertEqual(self.rows(f"{count} TIMESTAMP AS OF '{first.isoformat()}'"),
                         [{"n": 2}])
        # Both versions in one statement, joined.
        both = self.rows("SELECT count(*) AS n FROM lab.gold.sales VERSION AS OF 0 AS old "
                         "JOIN lab.gold.sales AS new ON old.region = new.region")
        self.assertEqual(both, [{"n": 2}])
        self.assertDatabricksError(count + " VERSION AS OF 9", "DELTA_VERSION_NOT_FOUND",
                                   "lab.gold.sales", "[0, 1]")
        self.assertDatabricksError(count + " TIMESTAMP AS OF '1999-12-31 23:00:00'",
                                   "DELTA_TIMESTAMP_EARLIER_THAN_COMMIT_RETENTION")
        self.assertEqual(self.rows("DESCRIBE HISTORY sales LIMIT 1", catalog="lab",
                                   schema="gold")[0]["version"], 1)

    def test_time_travel_takes_constant_expressions_and_parameters(self):
        # Databricks' documented forms: an expression, evaluated once per query.
        count = "SELECT count(*) AS n FROM lab.gold.sales"
        first = self.rows("DESCRIBE HISTORY lab.gold.sales")[1]["timestamp"]
        at = first.astimezone(MANILA).replace(tzinfo=None).isoformat()  # Manila wall time
        self.assertEqual(self.rows(f"{count} TIMESTAMP AS OF to_utc_timestamp('{at}', "
                                   "'Asia/Manila') + INTERVAL 1 MILLISECOND"), [{"n": 2}])
        self.assertEqual(self.rows(f"{count} TIMESTAMP AS OF :at", parameters={
            "at": first.isoformat()}), [{"n": 2}])
        self.assertEqual(self.rows(f"{count} VERSION AS OF :v WHERE region = :r",
                                   parameters={"v": 1, "r": "NCR"}), [{"n": 2}])
        self.assertDatabricksError(f"{count} TIMESTAMP AS OF current_timestamp() - "
                                   "INTERVAL 12 HOURS",
                                   "DELTA_TIMESTAMP_EARLIER_THAN_COMMIT_RETENTION")
        self.assertDatabricksError(f"{count} TIMESTAMP AS OF date_sub(current_date(), 1)",
                                   "DELTA_TIMESTAMP_EARLIER_THAN_COMMIT_RETENTION")
        self.assertDatabricksError(f"{count} TIMESTAMP AS OF :at", "UNBOUND_SQL_PARAMETER",
                                   "at")
        self.assertDatabricksError(f"{count} TIMESTAMP AS OF 'noon' || '?'",
                                   "CAST_INVALID_INPUT", "TIMESTAMP AS OF expression")
        self.assertDatabricksError(f"{count} TIMESTAMP AS OF CAST(NULL AS TIMESTAMP)",
                                   "INVALID_PARAMETER_VALUE", "NULL")
        for clause in ("TIMESTAMP AS OF sold_at", "VERSION AS OF (SELECT 1)",
                       "TIMESTAMP AS OF max(sold_at)"):
            with self.subTest(clause=clause), self.assertRaisesRegex(
                    dialect.SQLNotTranspilable, "literal or a constant expression"):
                dialect.check_select(f"{count} {clause}")

    def test_errors_carry_databricks_classes_and_written_names(self):
        self.assertDatabricksError("SELECT no_such_fn(region) FROM lab.gold.sales",
                                   "UNRESOLVED_ROUTINE", "`no_such_fn`")
        self.assertDatabricksError("SELECT * FROM lab.gold.nope", "TABLE_OR_VIEW_NOT_FOUND",
                                   "`lab`.`gold`.`nope`")
        self.assertDatabricksError("SELECT * FROM nope", "TABLE_OR_VIEW_NOT_FOUND",
                                   "`lab`.`gold`.`nope`", catalog="lab", schema="gold")
        self.assertDatabricksError("SELECT missing_col FROM lab.gold.sales",
                                   "UNRESOLVED_COLUMN", "`missing_col`")
        self.assertDatabricksError("SELECT FROM WHERE", "PARSE_SYNTAX_ERROR")
        self.assertDatabricksError("SELECT * FROM lab.gold.sales WHERE region = :region",
                                   "UNBOUND_SQL_PARAMETER", "region")
        err = self.assertDatabricksError(
            "SELECT amount / 0 AS x FROM lab.gold.sales VERSION AS OF 7",
            "DELTA_VERSION_NOT_FOUND")
        self.assertTrue(err.sql_state)

    def test_what_cannot_be_transpiled_is_refused_by_name(self):
        with self.assertRaisesRegex(dialect.SQLNotTranspilable, "comparator"):
            dialect.check_select("SELECT array_sort(array(3, 1), (l, r) -> r - l) AS s")
        with self.assertRaisesRegex(dialect.SQLNotTranspilable, "TIMESTAMP AS OF needs a "
                                    "literal"):
            self.rows("SELECT * FROM lab.gold.sales TIMESTAMP AS OF sold_at")
        for sql in ("DELETE FROM lab.gold.sales", "SELECT 1; SELECT 2",
                    "INSERT INTO lab.gold.stores VALUES (3)"):
            with self.assertRaises(sandbox.SQLRefused, msg=sql):
                dialect.check_select(sql)
        # File access stays closed, in either dialect.
        with self.assertRaises(dialect.LocalSQLError):
            self.rows("SELECT * FROM read_csv('/etc/passwd')")


class TestDatabricksResultTypes(BaseCase):
    """Databricks SQL (ANSI mode, a SQL warehouse's default) gives the same types, values
    and errors on the local backend, so a view builds the same model on either."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="ipai_dialect_types_")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        cls.lake = LocalLakehouse(cls.root)
        cls.lake.write_table("lab.gold.facts", pa.table({
            "big": pa.array([2 ** 62, 2 ** 62], pa.int64()),
            "qty": pa.array([1, 2], pa.int32()),
            "zero": pa.array([0, 0], pa.int32()),
            "price": pa.array([Decimal("100.5"), Decimal("3")], pa.decimal128(38, 18)),
            "amount": pa.array([Decimal("1.25"), Decimal("2.50")], pa.decimal128(10, 2)),
            "name": pa.array(["a", "b"]),
        }))

    rows = TestLakehouseDialect.rows
    assertDatabricksError = TestLakehouseDialect.assertDatabricksError

    def result(self, sql):
        return self.lake.execute(sql).read_all()

    def test_integral_sums_are_bigint_and_overflow_fails(self):
        table = self.result("SELECT sum(qty) AS s, count(*) AS n, sum(zero) + 1 AS o "
                            "FROM lab.gold.facts")
        self.assertEqual([f.type for f in table.schema], [pa.int64()] * 3)  # not DECIMAL(38,0)
        self.assertEqual(table.to_pylist(), [{"s": 3, "n": 2, "o": 1}])
        self.assertEqual(self.result("SELECT sum(qty) FROM lab.gold.facts").schema.names,
                         ["sum(qty)"], "the column keeps its name")
        self.assertDatabricksError("SELECT sum(big) AS s FROM lab.gold.facts",
                                   "ARITHMETIC_OVERFLOW", "SQLSTATE: 22003")

    def test_division_by_zero_fails_and_try_divide_gives_null(self):
        for sql in ("SELECT 1/0 AS x", "SELECT qty / zero AS x FROM lab.gold.facts",
                    "SELECT qty div zero AS x FROM lab.gold.facts",
                    "SELECT price % zero AS x FROM lab.gold.facts"):
            with self.subTest(sql=sql):
                self.assertDatabricksError(sql, "DIVIDE_BY_ZERO", "try_divide",
                                           "SQLSTATE: 22012")
        self.assertEqual(self.rows("SELECT try_divide(qty, zero) AS x, qty / 2 AS h "
                                   "FROM lab.gold.facts"),
                         [{"x": None, "h": 0.5}, {"x": None, "h": 1.0}])

    def test_columns_without_an_alias_are_named_as_databricks_names_them(self):
        # Spark's toPrettySQL, which names a warehouse's result columns: a view built
        # locally gets the fields a workspace gives (DuckDB said count_star(), "first"(qty))
        table = self.result(
            "SELECT name, count(*), sum(f.qty), qty + zero * 2, first(name), "
            "collect_list(name), upper(name), nvl(name, 'n/a'), NOT qty = zero, -qty, "
            "qty div 2, name || '!', LEN(name) FROM lab.gold.facts AS f GROUP BY name, qty, "
            "zero")
        self.assertEqual(table.schema.names, [
            "name", "count(1)", "sum(qty)", "(qty + (zero * 2))", "first(name)",
            "collect_list(name)", "upper(name)", "nvl(name, n/a)", "(NOT (qty = zero))",
            "(- qty)", "(qty div 2)", "concat(name, !)", "len(name)"])

    def test_an_error_met_while_streaming_is_a_databricks_error(self):
        # the divisor is 0 in the last row only: DuckDB meets it after many batches out
        n = 600_000
        self.lake.write_table("lab.gold.late", pa.table({
            "qty": pa.array(range(n), pa.int64()),
            "per": pa.array([1] * (n - 1) + [0], pa.int64())}))
        read = 0
        with self.assertRaises(dialect.LocalSQLError) as caught:
            for batch in self.lake.execute("SELECT qty / per AS x FROM lab.gold.late",
                                           batch_size=1000):
                read += batch.num_rows
        self.assertGreater(read, 0, "the error came while streaming, after some batches")
        self.assertRegex(str(caught.exception), r"^\[DIVIDE_BY_ZERO\] .*SQLSTATE: 22012$")

    def test_failed_queries_leave_no_connection_behind(self):
        # Each query opens a DuckDB instance with threads of its own. A failed one is
        # closed at once, not when the traceback a caller keeps is collected: a worker
        # (and Odoo's limit_memory_hard) would otherwise count every one of them.
        def threads():
            with open("/proc/self/status") as status:
                return int(next(line for line in status if line.startswith("Threads:"))
                           .split()[1])

        kept = []
        gc.disable()
        self.addCleanup(gc.enable)
        self.rows("SELECT count(*) AS n FROM lab.gold.facts")  # the pools that stay
        before = threads()
        for _ in range(8):
            for sql in ("SELECT qty / zero AS x FROM lab.gold.facts",
                        "SELECT nope FROM lab.gold.facts", "SELECT nope(1)",
                        "SELECT * FROM lab.gold.facts WHERE"):
                try:
                    self.rows(sql)
                except dialect.LocalSQLError as exc:
                    kept.append(exc)  # with its traceback, as a caller's log keeps it
        self.assertEqual(len(kept), 32)
        self.assertLessEqual(threads(), before + 2)

    def test_hash_is_databricks_murmur3_int(self):
        # the values of Databricks' documentation (hash('Spark', array(123), 2) hashes 123
        # as an INT) and Spark's, by type: INT, BIGINT, STRING; a NULL is skipped
        table = self.result("SELECT hash('Spark', 123, 2) AS d, hash('ABC') AS a, "
                            "hash('ABC', 'DEF') AS b, hash(1) AS one, hash(NULL, 'ABC') AS n")
        self.assertEqual([f.type for f in table.schema], [pa.int32()] * 5)
        self.assertEqual(table.to_pylist(), [{"d": -1321691492, "a": -757602832,
                                              "b": 599895104, "one": -559580957,
                                              "n": -757602832}])
        self.assertEqual(self.rows("SELECT hash(name) AS h, hash(qty) AS q, hash(big) AS g "
                                   "FROM lab.gold.facts ORDER BY name"),
                         [{"h": 1485273170, "q": -559580957, "g": -2030303457},
                          {"h": 1905031361, "q": 1765031574, "g": -2030303457}])
        self.assertEqual(self.rows(
            "SELECT hash(DATE '2026-03-01') AS d, hash(TIMESTAMP '2026-03-01 07:30:00') AS t, "
            "hash(CAST(-1.25 AS DECIMAL(10,2))) AS m, hash(true) AS b, "
            "hash(CAST(-5 AS BIGINT)) AS l"),
            [{"d": 358330129, "t": 953125135, "m": -550551638, "b": -559580957, "l": 424949597}])
        # a type it cannot know is refused by name, not hashed otherwise
        self.assertDatabricksError("SELECT hash(x.q) AS h FROM (SELECT qty AS q FROM "
                                   "lab.gold.facts) x", "UNSUPPORTED_FEATURE", "hash(")
        self.assertEqual(self.rows("SELECT hash(CAST(x.q AS INT)) AS h FROM (SELECT qty AS q "
                                   "FROM lab.gold.facts) x ORDER BY h"),
                         [{"h": -559580957}, {"h": 1765031574}])

    def test_decimal_arithmetic_has_databricks_precision_and_scale(self):
        table = self.result("SELECT CAST(100.5 AS DECIMAL(38,18)) * CAST(3 AS DECIMAL(38,18)) "
                            "AS x, price * qty AS y FROM lab.gold.facts")
        self.assertEqual(table.schema.field("x").type, pa.decimal128(38, 6))
        self.assertEqual(table.column("x").to_pylist()[0], Decimal("301.500000"))
        # DECIMAL(38,18) * INT (DECIMAL(10,0)): DECIMAL(38,7)
        self.assertEqual(table.schema.field("y").type, pa.decimal128(38, 7))
        self.assertEqual(table.column("y").to_pylist(), [Decimal("100.5"), Decimal(6)])
        table = self.result("SELECT avg(qty) AS a, avg(amount) AS b, sum(amount) AS c, "
                            "avg(price) AS d FROM lab.gold.facts")
        self.assertEqual([f.type for f in table.schema],
                         [pa.float64(), pa.decimal128(14, 6), pa.decimal128(20, 2),
                          pa.decimal128(38, 22)])
        self.assertEqual(table.to_pylist(), [{"a": 1.5, "b": Decimal("1.875000"),
                                              "c": Decimal("3.75"), "d": Decimal("51.75")}])

    def test_intervals_are_year_month_or_day_time(self):
        sql = ("SELECT INTERVAL '2' MONTH AS m, INTERVAL '1-2' YEAR TO MONTH AS ym, "
               "INTERVAL '1 02:03:04' DAY TO SECOND AS dt")
        self.assertTrue(dialect.check_select(sql))  # saved, not a DuckDB syntax error
        table = self.result(sql)
        self.assertEqual([types.type_text(f.type) for f in table.schema],
                         ["INTERVAL MONTH", "INTERVAL YEAR TO MONTH", "INTERVAL DAY TO SECOND"])
        self.assertEqual(table.to_pylist(), [{"m": "0-2", "ym": "1-2",
                                              "dt": "1 02:03:04.000000000"}])
        spec = types.arrow_field_spec(table.schema.field("m").type)
        self.assertEqual((spec.ttype, spec.pg_type), ("char", "varchar"))
        csv_text = b"".join(types.arrow_to_pg_copy_batches(table.to_reader())).decode()
        self.assertEqual(csv_text.strip(), '"0-2","1-2","1 02:03:04.000000000"')
        self.assertDatabricksError("SELECT INTERVAL '1 2:3' DAY TO SECOND AS x",
                                   "INVALID_INTERVAL_FORMAT")

    def test_from_json_with_a_ddl_schema_runs(self):
        sql = "SELECT from_json('{\"a\": 1, \"b\": [\"x\"]}', 'a INT, b ARRAY<STRING>') AS j"
        dialect.check_select(sql)
        table = self.result(sql)
        self.assertEqual(table.to_pylist(), [{"j": {"a": 1, "b": ["x"]}}])
        self.assertEqual(table.schema.field("j").type,
                         pa.struct([("a", pa.int32()), ("b", pa.list_(pa.string()))]))

    def test_raise_error_is_a_user_raised_exception(self):
        self.assertDatabricksError("SELECT raise_error('stock is negative') AS x",
                                   "USER_RAISED_EXCEPTION", "stock is negative")
        self.assertDatabricksError(
            "SELECT CASE WHEN qty > 1 THEN raise_error(concat('bad ', name)) END AS x "
            "FROM lab.gold.facts", "USER_RAISED_EXCEPTION", "bad b")

    def test_duckdb_syntax_errors_of_the_transpiled_text_are_databricks_errors(self):
        # valid Databricks SQL whose DuckDB text DuckDB cannot parse: refused by name
        sql = "SELECT qty FROM lab.gold.facts TABLESAMPLE (BUCKET 1 OUT OF 4)"
        with self.assertRaises(dialect.SQLNotTranspilable) as caught:
            dialect.check_select(sql)
        self.assertNotIn("Parser Error", str(caught.exception))
        self.assertDatabricksError(sql, "UNSUPPORTED_FEATURE", "BUCKET")
        # a sample or a pivot of a Delta table is applied, never dropped
        pivoted = self.rows("SELECT * FROM lab.gold.facts PIVOT (sum(qty) FOR name IN ('a', 'b'))")
        self.assertLessEqual({"a", "b"}, set(pivoted[0]))
        self.assertEqual(self.rows("SELECT count(*) AS n FROM lab.gold.facts "
                                   "TABLESAMPLE (0 PERCENT)"), [{"n": 0}])
        for sql in ("SELECT INTERVAL '3 04' DAY TO HOUR AS x",
                    "SELECT name, sum(qty) AS n FROM lab.gold.facts GROUP BY name WITH ROLLUP"):
            with self.subTest(sql=sql):
                self.assertTrue(dialect.check_select(sql))
        self.assertEqual(self.rows("SELECT INTERVAL '10:30' MINUTE TO SECOND AS x"),
                         [{"x": "0 00:10:30.000000000"}])
        self.assertEqual(self.rows("SELECT name, sum(qty) AS n FROM lab.gold.facts "
                                   "GROUP BY name WITH ROLLUP ORDER BY name"),
                         [{"name": None, "n": 3}, {"name": "a", "n": 1}, {"name": "b", "n": 2}])
