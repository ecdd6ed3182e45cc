"""Quality rules (both SQL dialects) and the demo retail medallion, without Odoo models."""
import datetime as dt
import json
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from odoo.tests import BaseCase, TransactionCase

from ..lakehouse import demo, quality
from ..lakehouse.local_backend import LocalLakehouse

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.timezone.utc)
EVIL = "x') OR 1=1 --"

# Known rows: id 1..10; bad ones are listed per rule in EXPECTED.
ROWS = [
    # id, code,    amount,   region,    ts (hours before NOW)
    (1, "AB-001", "10.00", "NCR", 1),
    (2, "AB-002", "-5.00", "NCR", 2),        # below min
    (3, "AB-002", "20.00", "Luzon", 3),      # duplicate code
    (4, "ab-004", "30.00", "Atlantis", 4),   # pattern, region
    (5, None, "2000.00", "Visayas", 5),      # null code, above max
    (6, "AB-006", None, None, 6),            # null amount and region: ignored by value rules
    (7, "AB-002", "40.00", EVIL, 7),         # duplicate code, injection-looking region
    (8, "AB-008", "50.00", "Mindanao", 8),
    (9, "AB-009", "0.00", "NCR", 9),         # boundary: passes between
    (10, "AB-010", "1000.00", "NCR", 10),    # boundary: passes between
]
RULES = [
    quality.Rule("code_nn", "not_null", "code"),
    quality.Rule("code_uq", "unique", "code"),
    quality.Rule("amount_rng", "between", "amount", {"min": 0, "max": 1000}),
    quality.Rule("region_ok", "accepted_values", "region",
                 {"values": ["NCR", "Luzon", "Visayas", "Mindanao", EVIL + "x"]}, "warn"),
    quality.Rule("code_fmt", "regex", "code", {"pattern": "^AB-[0-9]{3}$"}),
    quality.Rule("rows_10", "min_row_count", params={"min": 10}),
    quality.Rule("rows_12", "min_row_count", params={"min": 12}, severity="warn"),
    quality.Rule("fresh_2h", "freshness", "ts", {"max_age_hours": 2}),
    quality.Rule("fresh_30m", "freshness", "ts", {"max_age_hours": 0.5}, "warn"),
]
# code: (checked_rows, failing_rows, passed)
EXPECTED = {
    "code_nn": (10, 1, False),
    "code_uq": (9, 3, False),
    "amount_rng": (9, 2, False),
    "region_ok": (9, 2, False),
    "code_fmt": (9, 1, False),
    "rows_10": (10, 0, True),
    "rows_12": (10, 2, False),
    "fresh_2h": (10, 0, True),
    "fresh_30m": (10, 1, False),
}


def _arrow_rows():
    cols = list(zip(*ROWS, strict=True))
    return pa.table({
        "id": pa.array(cols[0], pa.int32()),
        "code": pa.array(cols[1], pa.string()),
        "amount": pa.array([Decimal(v) if v else None for v in cols[2]], pa.decimal128(12, 2)),
        "region": pa.array(cols[3], pa.string()),
        "ts": pa.array([NOW - dt.timedelta(hours=h) for h in cols[4]],
                       pa.timestamp("us", tz="UTC")),
    })


def _rows(lake, sql):
    return lake.execute(sql).read_all().to_pylist()


class ExpectedMixin:
    def check_expected(self, results):
        got = {r.code: (r.checked_rows, r.failing_rows, r.passed) for r in results}
        self.assertEqual(got, EXPECTED)
        by_code = {r.code: r for r in results}
        self.assertEqual(by_code["code_nn"].pass_rate, 90.0)
        self.assertAlmostEqual(by_code["rows_12"].pass_rate, 100 * 10 / 12, delta=1e-3)
        self.assertEqual(by_code["fresh_30m"].pass_rate, 0.0)
        self.assertIn("1.0 h old", by_code["fresh_2h"].message)


class TmpLakeCase(BaseCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(tempfile.mkdtemp(prefix="ipai_quality_"))
        self.addCleanup(shutil.rmtree, self.tmp, True)


class TestQualityDuckDB(ExpectedMixin, TmpLakeCase):
    def test_every_rule_kind_duckdb_on_delta_table(self):
        lake = LocalLakehouse(str(self.tmp))
        lake.write_table("qa.gold.rows", _arrow_rows())
        self.check_expected(quality.evaluate_on_lakehouse(lake, "qa.gold.rows", RULES, now=NOW))
        # The same on plain Arrow data.
        self.check_expected(quality.evaluate_arrow(_arrow_rows(), RULES, now=NOW))

    def test_values_are_parameters_never_sql(self):
        for dialect in quality.DIALECTS:
            with self.subTest(dialect=dialect):
                for rule in RULES:
                    sql, params = quality.build_sql(rule, "staging.qa_rows", dialect, now=NOW)
                    self.assertIn("`staging`.`qa_rows`" if dialect == "databricks" else
                                  '"staging"."qa_rows"', sql)
                    for value in params.values():
                        self.assertFalse(isinstance(value, str) and value in sql)
                    for literal in ("1000", "2026", EVIL, "NCR", "AB-"):
                        self.assertNotIn(literal, sql)
                sql, params = quality.build_sql(RULES[3], "qa_rows", dialect)
                self.assertIn(EVIL + "x", params.values())
                self.assertIn({"postgres": "%(v0)s", "duckdb": "$v0",
                               "databricks": ":v0"}[dialect], sql)
                with self.assertRaises(ValueError):
                    quality.build_sql(quality.Rule("bad", "not_null", 'code" OR 1=1 --'),
                                      "qa_rows", dialect)
                for relation in ("qa_rows; DROP TABLE x", '"qa"rows"', "a.b.c.d", ""):
                    with self.assertRaises(ValueError):
                        quality.build_sql(RULES[0], relation, dialect)

    def test_summarize_publishable(self):
        ok = quality.summarize([_result("a", True, 100.0), _result("b", True, 100.0)])
        self.assertTrue(ok["publishable"])
        self.assertEqual(ok["pass_rate"], 100.0)
        fail = quality.summarize([_result("a", True, 100.0), _result("b", False, 99.5)])
        self.assertFalse(fail["publishable"])  # a fail rule failed
        self.assertIn("b", fail["reason"])
        warn = quality.summarize([_result("a", True, 100.0), _result("w", False, 99.0, "warn")])
        self.assertTrue(warn["publishable"])
        self.assertEqual((warn["pass_rate"], warn["failing_rows"]), (99.5, 1))
        self.assertIn("w", warn["reason"])
        low = quality.summarize([_result("a", True, 100.0), _result("w", False, 90.0, "warn")])
        self.assertFalse(low["publishable"])  # mean 95 < 98
        self.assertIn("threshold", low["reason"])
        self.assertTrue(quality.summarize(
            [_result("a", True, 100.0), _result("w", False, 90.0, "warn")], threshold=90.0
        )["publishable"])


class TestQualityPostgres(ExpectedMixin, TransactionCase):
    """The same rules in the postgres dialect, on the test database's own cursor."""

    def test_every_rule_kind_postgres(self):
        cur = self.env.cr
        cur.execute("CREATE TEMP TABLE qa_rows (id int, code text, amount numeric(12, 2), "
                    "region text, ts timestamptz)")
        for row_id, code, amount, region, hours in ROWS:
            cur.execute("INSERT INTO qa_rows VALUES (%s, %s, %s, %s, %s)",
                        (row_id, code, amount, region, NOW - dt.timedelta(hours=hours)))
        results = quality.evaluate(RULES, "qa_rows", quality.pg_execute(cur), "postgres",
                                   now=NOW)
        self.check_expected(results)
        # Schema-qualified and already-quoted relations work too (temp tables: pg_temp).
        for relation in ("pg_temp.qa_rows", '"qa_rows"'):
            again = quality.evaluate(RULES[:1], relation, quality.pg_execute(cur), "postgres")
            self.assertEqual(again[0].failing_rows, 1)
        cur.execute("DROP TABLE qa_rows")


def _result(code, passed, rate, severity="fail"):
    return quality.RuleResult(code, "not_null", severity, 100, 0 if passed else 100 - int(rate),
                              rate, passed, "")


class TestDemoMedallion(TmpLakeCase):
    def test_demo_medallion_cleans_and_aggregates_exactly(self):
        lake = LocalLakehouse(str(self.tmp))
        end = dt.date(2026, 3, 31)
        counts = demo.generate_retail_dataset(lake, days=5, stores=4, rows_per_day=50, end_date=end)
        assert set(counts) == {demo.BRONZE, demo.SILVER, demo.GOLD, demo.PLATINUM}

        bronze = _rows(lake, "SELECT payload, ingested_at FROM demo.bronze.pos_transactions")
        payloads = [json.loads(r["payload"]) for r in bronze]
        assert counts[demo.BRONZE] == len(payloads) > 250  # 250 + re-sent duplicates
        ids = [p["txn_id"] for p in payloads]
        dirty = {
            "null_store": [p for p in payloads if p["store_id"] is None],
            "negative_peso": [p for p in payloads
                              if isinstance(p["peso_value"], float) and p["peso_value"] < 0],
            "unparsable_peso": [p for p in payloads if isinstance(p["peso_value"], str)],
            "unknown_region": [p for p in payloads if p["region"] not in demo.REGIONS],
            "duplicate": sorted({i for i in ids if ids.count(i) > 1}),
        }
        assert all(dirty.values()), dirty  # every dirty kind is present
        assert "," in dirty["unparsable_peso"][0]["peso_value"]

        # Expected silver, computed in Python from the raw JSON.
        bad_ids = {p["txn_id"] for kind, rows in dirty.items() if kind != "duplicate"
                   for p in rows}
        clean = {p["txn_id"]: p for p in payloads if p["txn_id"] not in bad_ids}
        silver = _rows(lake, "SELECT * FROM demo.silver.transactions")
        assert counts[demo.SILVER] == len(silver) == len(clean)
        assert sorted(r["txn_id"] for r in silver) == sorted(clean)  # deduped, dirty dropped
        assert not bad_ids & {r["txn_id"] for r in silver}
        assert all(r["store_id"] is not None and r["peso_value"] >= 0
                   and r["region"] in demo.REGIONS for r in silver)
        expected_total = sum(Decimal(str(p["peso_value"])) for p in clean.values())
        silver_total = sum(r["peso_value"] for r in silver)
        assert silver_total == expected_total

        # Gold: exact decimals and INT counts, equal to silver.
        schema = lake.schema("SELECT * FROM demo.gold.daily_store_sales")
        assert schema.field("sale_date").type == pa.date32()
        for name in ("date_key", "store_id", "transactions", "customers", "basket_items"):
            assert schema.field(name).type == pa.int32(), name
        assert schema.field("peso_total").type == pa.decimal128(15, 2)
        assert schema.field("avg_basket_peso").type == pa.decimal128(12, 2)
        gold = _rows(lake, "SELECT * FROM demo.gold.daily_store_sales")
        assert sum(r["peso_total"] for r in gold) == silver_total
        assert sum(r["transactions"] for r in gold) == len(silver)
        assert sum(r["basket_items"] for r in gold) == sum(r["basket_size"] for r in silver)
        assert max(r["sale_date"] for r in gold) == end
        for r in gold:
            cents = r["peso_total"] * 100
            assert r["avg_basket_peso"] * 100 == (2 * cents + r["transactions"]) // (
                2 * r["transactions"])  # half-up, exact

        platinum = _rows(lake, "SELECT * FROM demo.platinum.region_kpis")
        assert sum(r["peso_total"] for r in platinum) == silver_total
        assert {r["month_key"] for r in platinum} == {202603}

        # The demo rules pass on the demo data, evaluated with the local backend.
        for table in (demo.SILVER, demo.GOLD, demo.PLATINUM):
            rules = [quality.Rule.from_dict(d) for d in demo.DEMO_RULES if d["table"] == table]
            now = dt.datetime(2026, 4, 1, 6, 0, tzinfo=dt.timezone.utc)
            summary = quality.summarize(quality.evaluate_on_lakehouse(lake, table, rules, now=now))
            assert summary["publishable"] and summary["pass_rate"] == 100.0, summary


    def test_silver_drops_impossible_dates_instead_of_failing(self):
        # A POS that writes 31 September (a well-formed YYYYMMDD integer) or a day-first
        # text date: the silver job drops those rows, it does not fail the whole run.
        lake = LocalLakehouse(str(self.tmp))
        base = {"store_id": 3, "region": "Visayas", "peso_value": 120.5,
                "customer_id": "C00007", "basket_size": 2}
        rows = [dict(base, txn_id="T-ok", date_key=20260930),
                dict(base, txn_id="T-sep31", date_key=20260931),
                dict(base, txn_id="T-feb30", date_key=20260230),
                dict(base, txn_id="T-month13", date_key=20261301),
                dict(base, txn_id="T-dayfirst", date_key="30/09/2026")]
        at = dt.datetime(2026, 9, 30, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        lake.write_table(demo.BRONZE, pa.table({
            "payload": [json.dumps(r) for r in rows],
            "ingested_at": pa.array([at] * len(rows), pa.timestamp("us", tz="UTC"))}))
        lake.run_step(demo.STEPS[0]["sql"], demo.SILVER)
        silver = _rows(lake, "SELECT txn_id, sale_date FROM demo.silver.transactions")
        assert silver == [{"txn_id": "T-ok", "sale_date": dt.date(2026, 9, 30)}], silver

    def test_demo_is_deterministic_and_steps_are_ordered(self):
        end = dt.date(2026, 3, 31)
        a, b = LocalLakehouse(str(self.tmp / "a")), LocalLakehouse(str(self.tmp / "b"))
        demo.generate_retail_dataset(a, days=2, rows_per_day=20, end_date=end)
        demo.generate_retail_dataset(b, days=2, rows_per_day=20, end_date=end)
        sql = "SELECT payload FROM demo.bronze.pos_transactions ORDER BY payload"
        assert _rows(a, sql) == _rows(b, sql)

        codes = [s["code"] for s in demo.ordered_steps(list(reversed(demo.STEPS)))]
        assert codes == ["silver_transactions", "gold_daily_store_sales", "platinum_region_kpis"]
        text = demo.sql_file_text(demo.STEPS[1])
        assert text.startswith("CREATE OR REPLACE TABLE demo.gold.daily_store_sales AS\nSELECT")
        assert all(demo.sql_file_text(s).split("AS\n", 1)[1].startswith("SELECT")
                   for s in demo.STEPS)
        view_tables = {v["source"] for v in demo.DEMO_VIEWS}
        assert {r["table"] for r in demo.DEMO_RULES if r["view"]} <= view_tables
        assert {r["kind"] for r in demo.DEMO_RULES} == set(quality.KINDS)
