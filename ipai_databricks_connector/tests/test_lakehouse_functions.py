"""Databricks SQL functions on the local backend, judged by Databricks' own documented
examples: each ``> SELECT fn(...)`` of a function's page in the SQL language reference
(https://docs.databricks.com/aws/en/sql/language-manual/functions/<name>) and the result and
type the page gives. The session time zone is UTC, as on a SQL warehouse."""

import datetime as dt
import shutil
import tempfile
from decimal import Decimal

import pyarrow as pa

from odoo.tests import BaseCase

from ..lakehouse import dialect
from ..lakehouse.local_backend import LocalLakehouse

DOCS = "https://docs.databricks.com/aws/en/sql/language-manual/functions/"
TIMESTAMP = pa.timestamp("us", tz="UTC")  # Databricks' TIMESTAMP (not TIMESTAMP_NTZ)


def utc(*parts):
    return dt.datetime(*parts, tzinfo=dt.UTC)


class TestLakehouseFunctions(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = tempfile.mkdtemp(prefix="ipai_functions_")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        cls.lake = LocalLakehouse(cls.root)
        cls.lake.write_table("lab.gold.prices", pa.table({
            "price": pa.array([Decimal("12.70"), Decimal("-12.70")], pa.decimal128(10, 2)),
            "at": pa.array([dt.datetime(2020, 1, 1, 10, tzinfo=dt.UTC)] * 2,
                           pa.timestamp("us", tz="UTC")),
        }))

    def value(self, sql, **kwargs):
        """The one value of a one-row, one-column SELECT, and its Arrow type."""
        table = self.lake.execute(sql, **kwargs).read_all()
        self.assertEqual((table.num_rows, table.num_columns), (1, 1), sql)
        return table.column(0)[0].as_py(), table.schema.field(0).type

    def assertDocumented(self, sql, expected, arrow_type=None):
        value, kind = self.value(sql)
        self.assertEqual(value, expected, sql)
        self.assertIs(type(value), type(expected), sql)  # 5 is no 5.0, Decimal no float
        if arrow_type is not None:
            self.assertEqual(kind, arrow_type, sql)

    def assertFails(self, sql, error_class, sql_state):
        with self.assertRaises(dialect.LocalSQLError) as caught:
            self.lake.execute(sql).read_all()  # when the view is refreshed
        self.assertEqual((caught.exception.error_class, caught.exception.sql_state),
                         (error_class, sql_state), sql)

    def assertRefused(self, sql, *texts):
        with self.assertRaises(dialect.SQLNotTranspilable) as caught:
            dialect.check_select(sql)  # when the view or job step is saved
        for text in texts:
            self.assertIn(text, str(caught.exception))

    def test_date_format_patterns(self):
        # DOCS date_format; Datetime patterns (sql-ref-datetime-pattern)
        self.assertDocumented("SELECT date_format('2016-04-08', 'y')", "2016", pa.string())
        cases = {
            "yyyy-MM-dd HH:mm:ss": "2016-04-08 13:08:15", "MM/dd/yyyy": "04/08/2016",
            "yy=MM=dd HH=mm=ss": "16=04=08 13=08=15", "EEEE, MMM d": "Friday, Apr 8",
            "hh:mm a": "01:08 PM", "D": "99",
            # quarter and fractions of a second: no strftime code, were left as letters
            "yyyy-Q": "2016-2", "QQ": "02", "HH:mm:ss.SSS": "13:08:15.123",
        }
        for pattern, expected in cases.items():
            self.assertDocumented("SELECT date_format(TIMESTAMP'2016-04-08 13:08:15.123456', "
                                  "'%s')" % pattern, expected)
        self.assertRefused("SELECT date_format(current_date(), 'QQQQQ')", "QQQQQ")

    def test_parsing_and_truncating_dates(self):
        # DOCS to_date, to_timestamp, timestamp
        self.assertDocumented("SELECT to_date('2009-07-30 04:17:52')", dt.date(2009, 7, 30),
                              pa.date32())
        self.assertDocumented("SELECT to_date('2016-12-31', 'yyyy-MM-dd')", dt.date(2016, 12, 31))
        # a TIMESTAMP is an instant (DuckDB's TIMESTAMPTZ), shown in the session's UTC; a
        # naive value would be a TIMESTAMP_NTZ column
        self.assertDocumented("SELECT to_timestamp('2016-12-31 00:12:00')",
                              utc(2016, 12, 31, 0, 12), TIMESTAMP)
        self.assertDocumented("SELECT to_timestamp('2016-12-31', 'yyyy-MM-dd')",
                              utc(2016, 12, 31))
        self.assertDocumented("SELECT timestamp('2020-04-30 12:25:13.45')",
                              utc(2020, 4, 30, 12, 25, 13, 450000))
        # DOCS date_trunc (a TIMESTAMP, from a string too)
        at = "'2015-03-05T09:32:05.359'"
        self.assertDocumented("SELECT date_trunc('YEAR', %s)" % at, utc(2015, 1, 1), TIMESTAMP)
        self.assertDocumented("SELECT date_trunc('MM', %s)" % at, utc(2015, 3, 1))
        self.assertDocumented("SELECT date_trunc('DD', %s)" % at, utc(2015, 3, 5))
        self.assertDocumented("SELECT date_trunc('HOUR', %s)" % at, utc(2015, 3, 5, 9))
        self.assertDocumented("SELECT date_trunc('MILLISECOND', '2015-03-05T09:32:05.123456')",
                              utc(2015, 3, 5, 9, 32, 5, 123000))
        # DOCS trunc (a DATE; an unknown unit is NULL)
        self.assertDocumented("SELECT trunc('2019-08-04', 'week')", dt.date(2019, 7, 29),
                              pa.date32())
        self.assertDocumented("SELECT trunc('2019-08-04', 'quarter')", dt.date(2019, 7, 1))
        self.assertDocumented("SELECT trunc('2009-02-12', 'MM')", dt.date(2009, 2, 1))
        self.assertDocumented("SELECT trunc('2015-10-27', 'YEAR')", dt.date(2015, 1, 1))
        self.assertEqual(self.value("SELECT trunc('2015-10-27', 'JAHR')"), (None, pa.date32()))

    def test_date_arithmetic(self):
        # DOCS datediff: an INTEGER
        self.assertDocumented("SELECT datediff('2009-07-31', '2009-07-30')", 1, pa.int32())
        self.assertDocumented("SELECT datediff('2009-07-30', '2009-07-31')", -1, pa.int32())
        # DOCS date_add, dateadd2, date_sub, add_months: a DATE
        self.assertDocumented("SELECT date_add('2016-07-30', 1)", dt.date(2016, 7, 31),
                              pa.date32())
        self.assertDocumented("SELECT dateadd('2016-07-30', 1)", dt.date(2016, 7, 31))
        self.assertDocumented("SELECT date_sub('2016-07-30', 1)", dt.date(2016, 7, 29),
                              pa.date32())
        self.assertDocumented("SELECT add_months('2016-08-31', 1)", dt.date(2016, 9, 30),
                              pa.date32())
        self.assertDocumented("SELECT add_months('2016-08-31', -6)", dt.date(2016, 2, 29))
        # DOCS months_between: time of day counts, 31-day months, 8 digits
        self.assertDocumented("SELECT months_between('1997-02-28 10:30:00', '1996-10-30')",
                              3.94959677, pa.float64())
        self.assertDocumented("SELECT months_between('1997-02-28 10:30:00', '1996-10-30', "
                              "false)", 3.9495967741935485)
        # DOCS last_day, next_day
        self.assertDocumented("SELECT last_day('2009-01-12')", dt.date(2009, 1, 31), pa.date32())
        self.assertDocumented("SELECT last_day('2009-02-12')", dt.date(2009, 2, 28))
        self.assertDocumented("SELECT next_day('2015-01-14', 'TU')", dt.date(2015, 1, 20))
        # DOCS timestampdiff, datediff3: whole units elapsed, not boundaries crossed
        self.assertDocumented("SELECT timestampdiff(MONTH, TIMESTAMP'2021-02-28 12:00:00', "
                              "TIMESTAMP'2021-03-28 11:59:59')", 0, pa.int64())
        self.assertDocumented("SELECT timestampdiff(MONTH, TIMESTAMP'2021-02-28 12:00:00', "
                              "TIMESTAMP'2021-03-28 12:00:00')", 1)
        self.assertDocumented("SELECT timestampdiff(YEAR, DATE'2021-01-01', DATE'1900-03-28')",
                              -120)
        self.assertDocumented("SELECT datediff(MONTH, TIMESTAMP'2021-02-28 12:00:00', "
                              "TIMESTAMP'2021-03-28 11:59:59')", 0)
        # DOCS make_date: NULL out of range on Databricks SQL
        self.assertDocumented("SELECT make_date(2013, 7, 15)", dt.date(2013, 7, 15))
        for fields in ("2019, 13, 1", "2019, 7, NULL", "2019, 2, 30"):
            self.assertEqual(self.value("SELECT make_date(%s)" % fields)[0], None, fields)
        # DOCS date_from_unix_date: a DATE
        self.assertDocumented("SELECT date_from_unix_date(1)", dt.date(1970, 1, 2), pa.date32())
        self.assertDocumented("SELECT current_date() - INTERVAL 1 DAY < current_date()", True)

    def test_date_parts(self):
        # DOCS dayofweek: 1 = Sunday (DuckDB's dayofweek: 0 = Sunday); weekday: 0 = Monday
        self.assertDocumented("SELECT dayofweek('2009-07-30')", 5, pa.int32())
        self.assertDocumented("SELECT weekday(DATE'2009-07-30')", 3, pa.int32())
        self.assertDocumented("SELECT extract(DAYOFWEEK_ISO FROM DATE'2009-07-30')", 4)
        # DOCS weekofyear, extract
        self.assertDocumented("SELECT weekofyear('2008-02-20')", 8, pa.int32())
        self.assertDocumented("SELECT extract(YEAR FROM TIMESTAMP '2019-08-12 01:00:00.123456')",
                              2019, pa.int32())
        self.assertDocumented("SELECT extract(week FROM TIMESTAMP'2019-08-12 01:00:00.123456')",
                              33)
        self.assertDocumented("SELECT extract(DOY FROM DATE'2019-08-12')", 224)
        self.assertDocumented("SELECT extract(SECONDS FROM TIMESTAMP'2019-10-01 00:00:01.000001')",
                              Decimal("1.000001"), pa.decimal128(8, 6))
        # DOCS hour, minute, second, quarter, dayofyear (from a string)
        self.assertDocumented("SELECT hour('2009-07-30 12:58:59')", 12, pa.int32())
        self.assertDocumented("SELECT minute('2009-07-30 12:58:59')", 58)
        self.assertDocumented("SELECT second('2009-07-30 12:58:59')", 59)
        self.assertDocumented("SELECT quarter('2016-08-31')", 3, pa.int32())
        self.assertDocumented("SELECT dayofyear('2016-04-09')", 100)

    def test_unix_time_and_time_zones(self):
        # DOCS from_unixtime (SET TIMEZONE 'UTC')
        self.assertDocumented("SELECT from_unixtime(0, 'yyyy-MM-dd HH:mm:ss')",
                              "1970-01-01 00:00:00")
        self.assertDocumented("SELECT from_unixtime(0)", "1970-01-01 00:00:00")
        # DOCS unix_timestamp, to_unix_timestamp: a BIGINT. The page's 1460041200 is its
        # session's midnight; in UTC 2016-04-08 is 1460073600.
        self.assertDocumented("SELECT unix_timestamp('2016-04-08', 'yyyy-MM-dd')", 1460073600,
                              pa.int64())
        self.assertDocumented("SELECT to_unix_timestamp('2016-04-08', 'yyyy-MM-dd')",
                              1460073600, pa.int64())
        # DOCS from_utc_timestamp, to_utc_timestamp
        self.assertDocumented("SELECT from_utc_timestamp('2016-08-31', 'Asia/Seoul')",
                              utc(2016, 8, 31, 9), TIMESTAMP)
        self.assertDocumented("SELECT to_utc_timestamp('2016-08-31', 'Asia/Seoul')",
                              utc(2016, 8, 30, 15), TIMESTAMP)
        # a TIMESTAMP column keeps its zone through both, and unix_timestamp takes it as
        # it is (it was parsed as a string: an error)
        self.assertDocumented("SELECT from_utc_timestamp(at, 'Asia/Manila') FROM "
                              "lab.gold.prices LIMIT 1", utc(2020, 1, 1, 18), TIMESTAMP)
        self.assertDocumented("SELECT date_trunc('MONTH', at) FROM lab.gold.prices LIMIT 1",
                              utc(2020, 1, 1), TIMESTAMP)
        self.assertDocumented("SELECT unix_timestamp(at) FROM lab.gold.prices LIMIT 1",
                              1577872800, pa.int64())
        self.assertDocumented("SELECT make_timestamp(2014, 12, 28, 6, 30, 45.887)",
                              utc(2014, 12, 28, 6, 30, 45, 887000), TIMESTAMP)

    def test_strings(self):
        # DOCS concat_ws, split, split_part, regexp_extract, regexp_replace, initcap
        self.assertDocumented("SELECT concat_ws(' ', 'Spark', 'SQL')", "Spark SQL")
        self.assertDocumented("SELECT concat_ws('s')", "")
        self.assertDocumented("SELECT concat_ws(',', 'Spark', array('S', 'Q', NULL, 'L'), NULL)",
                              "Spark,S,Q,L")
        self.assertDocumented("SELECT split('oneAtwoBthreeC', '[ABC]')",
                              ["one", "two", "three", ""])
        self.assertDocumented("SELECT split('oneAtwoBthreeC', '[ABC]', -1)",
                              ["one", "two", "three", ""])
        self.assertRefused("SELECT split('oneAtwoBthreeC', '[ABC]', 2)", "split", "limit")
        self.assertDocumented("SELECT split_part('Hello,world,!', ',', 1)", "Hello")
        self.assertDocumented("SELECT split_part('Hello,world,!', ',', -1)", "!")
        self.assertDocumented("SELECT split_part('Hello,world,!', ',', 4)", "")
        self.assertDocumented(r"SELECT regexp_extract('100-200', '(\\d+)-(\\d+)', 1)", "100")
        self.assertDocumented(r"SELECT regexp_replace('100-200', r'(\d+)', 'num')", "num-num")
        # $n is a group of the match (Java), where DuckDB wrote "$3/$2/$1"
        self.assertDocumented(r"SELECT regexp_replace('2024-03-15', "
                              r"r'(\d{4})-(\d{2})-(\d{2})', '$3/$2/$1')", "15/03/2024")
        self.assertDocumented(r"SELECT regexp_replace('SSN 123-45-6789', r'\d', '#')",
                              "SSN ###-##-####")
        self.assertDocumented("SELECT initcap('sPark sql')", "Spark Sql")
        # DOCS lpad, rpad
        self.assertDocumented("SELECT lpad('hi', 5, 'ab')", "abahi")
        self.assertDocumented("SELECT lpad('hi', 1, '??')", "h")
        self.assertDocumented("SELECT lpad('hi', 5)", "   hi")
        self.assertDocumented("SELECT rpad('hi', 5, 'ab')", "hiaba")
        self.assertDocumented("SELECT rpad('hi', 1, '??')", "h")
        # DOCS format_number (grouping, HALF_EVEN); a pattern is refused
        self.assertDocumented("SELECT format_number(12332.123456, 4)", "12,332.1235")
        self.assertRefused("SELECT format_number(12332.123456, '#.###')", "format_number")
        # DOCS substring_index, instr, locate (INTEGER), translate, trims, left, right
        self.assertDocumented("SELECT substring_index('www.apache.org', '.', 2)", "www.apache")
        self.assertDocumented("SELECT substring_index('www.apache.org', '.', -2)", "apache.org")
        self.assertDocumented("SELECT instr('SparkSQL', 'SQL')", 6, pa.int32())
        self.assertDocumented("SELECT locate('bar', 'foobarbar')", 4, pa.int32())
        self.assertDocumented("SELECT locate('bar', 'foobarbar', 5)", 7)
        self.assertDocumented("SELECT length('Spark SQL ')", 10, pa.int32())
        self.assertDocumented("SELECT translate('AaBbCc', 'abc', '123')", "A1B2C3")
        self.assertDocumented("SELECT ltrim('    SparkSQL   ')", "SparkSQL   ")
        self.assertDocumented("SELECT rtrim('    SparkSQL   ')", "    SparkSQL")
        self.assertDocumented("SELECT btrim('    SparkSQL   ')", "SparkSQL")
        self.assertDocumented("SELECT trim(BOTH 'SL' FROM 'SSparkSQLS')", "parkSQ")
        self.assertDocumented("SELECT left('Spark SQL', 3)", "Spa")
        self.assertDocumented("SELECT right('Spark SQL', 3)", "SQL")
        self.assertDocumented("SELECT octet_length('Spark SQL')", 9)
        # DOCS format_string: Java's %d / %s (DuckDB's format() wrote them back as given)
        self.assertDocumented("SELECT format_string('Hello World %d %s', 100, 'days')",
                              "Hello World 100 days")
        # DOCS ilike, rlike
        self.assertDocumented("SELECT 'Spark' ILIKE 'spark'", True)
        self.assertDocumented(r"SELECT r'%SystemDrive%\Users\John' rlike r'%SystemDrive%\\Users.*'",
                              True)

    def test_null_and_conditional_functions(self):
        # DOCS nvl2, decode, if, coalesce, nullif, ifnull, nullifzero, zeroifnull
        self.assertDocumented("SELECT nvl2(NULL, 2, 1)", 1)
        self.assertDocumented("SELECT decode(5, 6, 'Spark', 5, 'SQL', 4, 'rocks')", "SQL")
        self.assertEqual(self.value("SELECT decode(6, 1, 'Southlake', 2, 'San Francisco', 3, "
                                    "'New Jersey', 4, 'Seattle')")[0], None)
        self.assertDocumented("SELECT decode(6, 1, 'Southlake', 2, 'San Francisco', 3, "
                              "'New Jersey', 4, 'Seattle', 'Non domestic')", "Non domestic")
        self.assertDocumented("SELECT decode(null, 6, 'Spark', NULL, 'SQL', 4, 'rocks')", "SQL")
        self.assertDocumented("SELECT if(1 < 2, 'a', 'b')", "a")
        self.assertDocumented("SELECT coalesce(NULL, 1, NULL)", 1)
        self.assertEqual(self.value("SELECT nullif(2, 2)")[0], None)
        self.assertDocumented("SELECT ifnull(NULL, array('2'))", ["2"])
        self.assertEqual(self.value("SELECT nullifzero(0)")[0], None)
        self.assertDocumented("SELECT zeroifnull(NULL)", 0)
        self.assertDocumented("SELECT CASE WHEN 1 > 0 THEN 1 WHEN 2 > 0 THEN 2.0 ELSE 1.2 END",
                              Decimal("1.0"))
        self.assertEqual(self.value("SELECT CASE 3 WHEN 1 THEN 'A' WHEN 2 THEN 'B' END")[0],
                         None)

    def test_rounding_and_integer_arithmetic(self):
        # DOCS round (HALF_UP), bround (HALF_EVEN)
        self.assertDocumented("SELECT round(2.5, 0)", Decimal("3"))
        self.assertDocumented("SELECT round(-2.5, 0)", Decimal("-3"))
        self.assertDocumented("SELECT round(25, -1)", 30)
        self.assertDocumented("SELECT bround(2.5, 0)", Decimal("2"))
        self.assertDocumented("SELECT bround(3.5, 0)", Decimal("4"))
        self.assertDocumented("SELECT bround(-2.5, 0)", Decimal("-2"))
        self.assertDocumented("SELECT bround(25, -1)", 20)
        # DOCS pmod, mod, div
        self.assertDocumented("SELECT pmod(10, 3)", 1)
        self.assertDocumented("SELECT pmod(-10, 3)", 2)
        self.assertDocumented("SELECT mod(2, 1.8)", Decimal("0.2"))
        self.assertDocumented("SELECT -7 % 2", -1)
        self.assertDocumented("SELECT 3 div 2", 1)
        self.assertDocumented("SELECT -5 div 2", -2)
        # DOCS int / cast: a fraction is truncated to an integer (DuckDB rounds)
        self.assertDocumented("SELECT int(-5.6)", -5, pa.int32())
        self.assertDocumented("SELECT int('5')", 5)
        self.assertEqual([r["i"] for r in self.lake.execute(
            "SELECT CAST(price AS INT) AS i FROM lab.gold.prices").read_all().to_pylist()],
            [12, -12])
        # DOCS cast: a TIMESTAMP as a STRING, in the session time zone, without offset
        self.assertDocumented("SELECT cast(TIMESTAMP'2020-01-01 10:00:00' AS STRING)",
                              "2020-01-01 10:00:00")
        self.assertDocumented("SELECT CAST(at AS STRING) FROM lab.gold.prices LIMIT 1",
                              "2020-01-01 10:00:00")

    def test_aggregates(self):
        values = "FROM VALUES (0), (6), (7), (9), (10) AS tab(col)"
        # DOCS percentile_approx / approx_percentile: a value of the column
        self.assertDocumented("SELECT percentile_approx(col, 0.5, 100) " + values, 7, pa.int32())
        self.assertDocumented("SELECT percentile_approx(col, array(0.5, 0.4, 0.1), 100) FROM "
                              "VALUES (0), (1), (2), (10) AS tab(col)", [1, 1, 0])
        self.assertDocumented("SELECT approx_percentile(col, 0.5) " + values, 7)
        # DOCS percentile: exact and interpolated (it was DuckDB's discrete quantile, 0)
        self.assertDocumented("SELECT percentile(col, 0.3) FROM VALUES (0), (10) AS tab(col)",
                              3.0, pa.float64())
        self.assertDocumented("SELECT median(col) FROM VALUES (0), (10) AS tab(col)", 5.0)
        # DOCS collect_list, collect_set, count_if, approx_count_distinct, max_by, min_by
        self.assertDocumented("SELECT collect_list(col) FROM VALUES (1), (2), (NULL), (1) AS "
                              "tab(col)", [1, 2, 1])
        self.assertDocumented("SELECT array_sort(collect_set(col)) FROM VALUES (1), (2), (NULL), "
                              "(1) AS tab(col)", [1, 2])
        self.assertDocumented("SELECT count_if(col % 2 = 0) FROM VALUES (NULL), (0), (1), (2), "
                              "(3) AS tab(col)", 2, pa.int64())
        self.assertDocumented("SELECT approx_count_distinct(col1) FROM VALUES (1), (1), (2), "
                              "(2), (3) tab(col1)", 3, pa.int64())
        self.assertDocumented("SELECT max_by(x, y) FROM VALUES ('a', 10), ('b', 50), ('c', 20) "
                              "AS tab(x, y)", "b")
        self.assertDocumented("SELECT min_by(x, y) FROM VALUES ('a', 10), ('b', 50), ('c', 20) "
                              "AS tab(x, y)", "a")
        # DOCS any_value, first, every
        self.assertDocumented("SELECT any_value(col) FROM VALUES (10), (5), (20) AS tab(col)", 10)
        self.assertDocumented("SELECT first(col) FROM VALUES (10), (5), (20) AS tab(col)", 10)
        self.assertDocumented("SELECT first(col, true) FROM VALUES (NULL), (5), (20) AS tab(col)",
                              5)
        self.assertDocumented("SELECT every(col) FROM VALUES (true), (true), (true) AS tab(col)",
                              True)

    def test_arrays_maps_structs_json(self):
        # DOCS array_contains: NULL when not found among NULLs, or of a NULL value
        self.assertDocumented("SELECT array_contains(array(1, 2, 3), 2)", True)
        self.assertEqual(self.value("SELECT array_contains(array(1, NULL, 3), 2)"),
                         (None, pa.bool_()))
        self.assertEqual(self.value("SELECT array_contains(array(1, 2, 3), NULL::INT)")[0], None)
        # DOCS array_distinct, array_remove: NULLs kept, order kept
        self.assertDocumented("SELECT array_distinct(array(1, 2, 3, NULL, 3))", [1, 2, 3, None])
        self.assertDocumented("SELECT array_remove(array(1, 2, 3, NULL, 3), 3)", [1, 2, None])
        # DOCS element_at, size (INTEGER)
        self.assertDocumented("SELECT element_at(array(1, 2, 3), 2)", 2)
        self.assertDocumented("SELECT element_at(map(1, 'a', 2, 'b'), 2)", "b")
        self.assertDocumented("SELECT size(array('b', 'd', 'c', 'a'))", 4, pa.int32())
        # DOCS named_struct, struct field access, map access
        self.assertDocumented("SELECT named_struct('a', 1, 'b', 2).b", 2)
        self.assertDocumented("SELECT map('a', 1, 'b', 2)['b']", 2)
        self.assertDocumented("SELECT sort_array(array('b', 'd', NULL, 'c', 'a'), true)",
                              [None, "a", "b", "c", "d"])
        self.assertDocumented("SELECT array_join(array('hello', NULL ,'world'), ' ', ',')",
                              "hello , world")
        # DOCS get_json_object, the : path operator (a STRING, a JSON string unquoted)
        self.assertDocumented("""SELECT get_json_object('{"a":"b"}', '$.a')""", "b")
        self.assertDocumented("""SELECT '{"a":"b"}':a""", "b")
        self.assertDocumented("""SELECT '{"a":{"b":1}}':a""", '{"b":1}')
        # DOCS from_json; its options (timestampFormat...) are not known here: refused
        self.assertDocumented("""SELECT from_json('{"a":1, "b":0.8}', 'a INT, b DOUBLE')""",
                              {"a": 1, "b": 0.8})
        self.assertRefused("""SELECT from_json('{"time":"26/08/2015"}', 'time Timestamp', """
                           """map('timestampFormat', 'dd/MM/yyyy'))""", "from_json", "options")

    def test_query_syntax(self):
        def rows(sql):
            return self.lake.execute(sql).read_all().to_pylist()

        # DOCS explode, LATERAL VIEW
        found = rows("SELECT explode(array(10, 20)) AS c")
        self.assertEqual(found, [{"c": 10}, {"c": 20}])
        found = rows("SELECT t.x, e.c FROM VALUES (1) AS t(x) LATERAL VIEW "
                     "explode(array(10, 20)) e AS c")
        self.assertEqual(found, [{"x": 1, "c": 10}, {"x": 1, "c": 20}])
        # an empty array would drop the row locally, where OUTER keeps it: refused
        self.assertRefused("SELECT t.x, e.c FROM VALUES (1) AS t(x) LATERAL VIEW OUTER "
                           "explode(array()) e AS c", "LATERAL VIEW OUTER")
        data = "FROM VALUES ('x', 1), (NULL, 2), ('y', 3) AS t(a, b)"
        # Databricks sorts NULLs first ascending, last descending
        self.assertEqual([r["a"] for r in rows("SELECT a %s ORDER BY a" % data)],
                         [None, "x", "y"])
        self.assertEqual([r["a"] for r in rows("SELECT a %s ORDER BY a DESC" % data)],
                         ["y", "x", None])
        self.assertEqual(rows("SELECT a, sum(b) AS s FROM VALUES ('x', 1), ('y', 2), ('x', 3) "
                              "AS t(a, b) GROUP BY ALL ORDER BY ALL"),
                         [{"a": "x", "s": 4}, {"a": "y", "s": 2}])
        self.assertEqual(rows("SELECT a, b FROM VALUES ('x', 1), ('x', 2), ('y', 3) AS t(a, b) "
                              "QUALIFY row_number() OVER (PARTITION BY a ORDER BY b DESC) = 1 "
                              "ORDER BY a"), [{"a": "x", "b": 2}, {"a": "y", "b": 3}])
        self.assertEqual(rows("SELECT * EXCEPT (b) FROM VALUES ('x', 1, true) AS t(a, b, c)"),
                         [{"a": "x", "c": True}])
        self.assertEqual(rows("SELECT * FROM VALUES ('x', 1), ('y', 2), ('x', 3) AS t(a, b) "
                              "PIVOT (sum(b) FOR a IN ('x' AS x, 'y' AS y))"),
                         [{"x": 4, "y": 2}])
        self.assertEqual(rows("SELECT b FROM VALUES (1), (2), (3), (4) AS t(b) ORDER BY b "
                              "LIMIT 2 OFFSET 1"), [{"b": 2}, {"b": 3}])
        self.assertEqual(rows("SELECT b, sum(b) OVER (ORDER BY b ROWS BETWEEN 1 PRECEDING AND "
                              "CURRENT ROW) AS s FROM VALUES (1), (2), (3) AS t(b) ORDER BY b"),
                         [{"b": 1, "s": 1}, {"b": 2, "s": 3}, {"b": 3, "s": 5}])
        # DOCS lag, lead: the default for a missing row
        self.assertEqual(rows("SELECT b, lag(b) OVER (ORDER BY b) AS l, lead(b, 1, 0) OVER "
                              "(ORDER BY b) AS d FROM VALUES (1), (2), (3) AS t(b) ORDER BY b"),
                         [{"b": 1, "l": None, "d": 2}, {"b": 2, "l": 1, "d": 3},
                          {"b": 3, "l": 2, "d": 0}])
        # DOCS dense_rank, rank
        self.assertEqual(rows("SELECT a, b, dense_rank() OVER (PARTITION BY a ORDER BY b) AS dr, "
                              "rank() OVER (PARTITION BY a ORDER BY b) AS r FROM VALUES "
                              "('A1', 2), ('A1', 1), ('A2', 3), ('A1', 1) AS t(a, b) "
                              "ORDER BY a, b"),
                         [{"a": "A1", "b": 1, "dr": 1, "r": 1},
                          {"a": "A1", "b": 1, "dr": 1, "r": 1},
                          {"a": "A1", "b": 2, "dr": 2, "r": 3},
                          {"a": "A2", "b": 3, "dr": 1, "r": 1}])

    def test_maps_arrays_and_higher_order_functions(self):
        # DOCS size (of a MAP too), explode; array_union, arrays_overlap
        self.assertDocumented("SELECT size(map('a', 1, 'b', 2))", 2, pa.int32())
        self.assertDocumented("SELECT array_union(array(1, 2, 2, 3), array(1, 3, 5))",
                              [1, 2, 3, 5])
        self.assertDocumented("SELECT arrays_overlap(array(1, 2, 3), array(3, 4, 5))", True)
        self.assertEqual(self.value("SELECT arrays_overlap(array(1, 2, NULL, 3), "
                                    "array(NULL, 4, 5))"), (None, pa.bool_()))
        # DOCS exists (with a lambda): NULL when no element matches and one gives NULL
        self.assertDocumented("SELECT exists(array(1, 2, 3), x -> x % 2 == 0)", True)
        self.assertDocumented("SELECT exists(array(1, 2, 3), x -> x % 2 == 10)", False)
        self.assertEqual(self.value("SELECT exists(array(1, NULL, 3), x -> x % 2 == 0)")[0],
                         None)
        self.assertDocumented("SELECT exists(array(0, NULL, 2, 3, NULL), x -> x IS NULL)",
                              True)
        self.assertDocumented("SELECT exists(array(1, 2, 3), x -> x IS NULL)", False)
        # DOCS element_at: ANSI mode fails past the end and at 0; try_element_at is NULL
        self.assertDocumented("SELECT element_at(array(1, 2, 3), -1)", 3)
        self.assertEqual(self.value("SELECT try_element_at(array(1, 2, 3), 5)")[0], None)
        self.assertFails("SELECT element_at(array(1, 2, 3), 5)",
                         "INVALID_ARRAY_INDEX_IN_ELEMENT_AT", "22003")
        self.assertFails("SELECT element_at(array(1, 2, 3), 0)", "INVALID_INDEX_OF_ZERO",
                         "22003")
        # DOCS invalid-array-index-in-element-at-error-class
        self.assertFails("SELECT element_at(array('a', 'b', 'c'), index) FROM VALUES(1), (4) "
                         "AS T(index)", "INVALID_ARRAY_INDEX_IN_ELEMENT_AT", "22003")

    def test_boolean_and_last_aggregates(self):
        # some: a synonym of any (spark.apache.org/docs/latest/api/sql, any / some examples)
        self.assertDocumented("SELECT some(col) FROM VALUES (true), (false), (false) AS "
                              "tab(col)", True)
        self.assertDocumented("SELECT some(col) FROM VALUES (false), (false), (NULL) AS "
                              "tab(col)", False)
        # DOCS last: ignoreNull
        self.assertDocumented("SELECT last(col, true) FROM VALUES (10), (5), (NULL) AS tab(col)",
                              5)
        self.assertDocumented("SELECT last(col) IGNORE NULLS FROM VALUES (10), (5), (NULL) AS "
                              "tab(col)", 5)

    def test_bucketing_and_number_types(self):
        # DOCS width_bucket
        self.assertDocumented("SELECT width_bucket(5.3, 0.2, 10.6, 5)", 3)
        self.assertDocumented("SELECT width_bucket(-2.1, 1.3, 3.4, 3)", 0)
        self.assertDocumented("SELECT width_bucket(8.1, 0.0, 5.7, 4)", 5)
        self.assertDocumented("SELECT width_bucket(-0.9, 5.2, 0.5, 2)", 3)
        # DOCS ceil, floor: a BIGINT; of a DECIMAL(p, s) a DECIMAL(p - s + 1, 0); with a
        # targetScale a DECIMAL
        self.assertDocumented("SELECT ceil(5)", 5, pa.int64())
        self.assertDocumented("SELECT ceil(-0.1)", Decimal("0"), pa.decimal128(1, 0))
        self.assertDocumented("SELECT ceil(5.4)", Decimal("6"), pa.decimal128(2, 0))
        self.assertDocumented("SELECT ceil(3345.1, -2)", Decimal("3400"), pa.decimal128(5, 0))
        self.assertDocumented("SELECT ceil(-12.345, 1)", Decimal("-12.3"), pa.decimal128(3, 1))
        self.assertDocumented("SELECT floor(-0.1)", Decimal("-1"), pa.decimal128(1, 0))
        self.assertDocumented("SELECT floor(5)", 5, pa.int64())
        self.assertDocumented("SELECT floor(3345.1, -2)", Decimal("3300"), pa.decimal128(5, 0))
        self.assertDocumented("SELECT floor(-12.345, 1)", Decimal("-12.4"),
                              pa.decimal128(3, 1))
        # DOCS sign: a DOUBLE; div: a BIGINT, the integral part
        self.assertDocumented("SELECT sign(40)", 1.0, pa.float64())
        self.assertDocumented("SELECT 3 div 2", 1, pa.int64())
        self.assertDocumented("SELECT -5.9 div 1", -5, pa.int64())
        self.assertFails("SELECT -5.9 div 0", "DIVIDE_BY_ZERO", "22012")

    def test_ansi_casts(self):
        # DOCS int, cast-invalid-input-error-class: '1.0' cannot be cast to an integral
        # type in ANSI mode (DuckDB rounded '12.5' to 13); try_cast gives NULL
        self.assertDocumented("SELECT int('5')", 5, pa.int32())
        self.assertFails("SELECT int('abc')", "CAST_INVALID_INPUT", "22018")
        self.assertFails("SELECT CAST('12.5' AS INT)", "CAST_INVALID_INPUT", "22018")
        self.assertEqual(self.value("SELECT try_cast('12.5' AS INT)")[0], None)
        # DOCS cast (numeric to TIMESTAMP: seconds since the epoch), timestamp_seconds'
        # examples; the page's 07:30 is its session's time, in UTC 15:30
        self.assertDocumented("SELECT timestamp(1230219000)", utc(2008, 12, 25, 15, 30),
                              TIMESTAMP)
        self.assertDocumented("SELECT timestamp(1230219000.123)",
                              utc(2008, 12, 25, 15, 30, 0, 123000))

    def test_number_formats_refused(self):
        # DOCS to_number, to_char: format models not known here, refused when saved
        self.assertRefused("SELECT to_number('$345', 'S$999,099.99')", "to_number")
        self.assertRefused("SELECT to_char(454, '999')", "to_char")
