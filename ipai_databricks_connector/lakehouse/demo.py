"""Demo retail dataset (Philippine stores, peso sales) and its medallion steps.

Bronze holds raw JSON point-of-sale transactions, about 2% of them dirty; the
``STEPS`` (Databricks SQL SELECTs over ``catalog.schema.table`` names, run with
``LocalLakehouse.run_step``) clean them into silver and aggregate gold and
platinum. Gold counts are INT and money DECIMAL(<=15, 2), so Odoo holds them exactly.
"""

import datetime as dt
import json
import random

import pyarrow as pa

BRONZE = "demo.bronze.pos_transactions"
SILVER = "demo.silver.transactions"
GOLD = "demo.gold.daily_store_sales"
PLATINUM = "demo.platinum.region_kpis"
REGIONS = ("NCR", "Luzon", "Visayas", "Mindanao")
DIRTY_KINDS = ("null_store", "negative_peso", "unparsable_peso", "unknown_region", "duplicate")
DIRTY_SHARE = 0.02

# No WITH clause: a SQL task file is "CREATE OR REPLACE TABLE t AS SELECT ...".
_SILVER_SQL = """
SELECT
    txn_id,
    CAST(try_to_timestamp(CAST(date_key AS STRING), 'yyyyMMdd') AS DATE) AS sale_date,
    date_key, store_id, region, peso_value, customer_id, basket_size, ingested_at
FROM (
    SELECT
        get_json_object(payload, '$.txn_id') AS txn_id,
        TRY_CAST(get_json_object(payload, '$.date_key') AS INTEGER) AS date_key,
        TRY_CAST(get_json_object(payload, '$.store_id') AS INTEGER) AS store_id,
        get_json_object(payload, '$.region') AS region,
        TRY_CAST(get_json_object(payload, '$.peso_value') AS DECIMAL(12, 2)) AS peso_value,
        get_json_object(payload, '$.customer_id') AS customer_id,
        TRY_CAST(get_json_object(payload, '$.basket_size') AS INTEGER) AS basket_size,
        ingested_at
    FROM demo.bronze.pos_transactions
) AS parsed
-- Unparsable values became NULL above (TRY_CAST), so these filters drop them too.
-- An impossible date (20260931) is NULL too: try_to_timestamp, as to_date would fail the run.
WHERE txn_id IS NOT NULL AND date_key IS NOT NULL AND store_id IS NOT NULL
    AND try_to_timestamp(CAST(date_key AS STRING), 'yyyyMMdd') IS NOT NULL
    AND peso_value >= 0 AND basket_size > 0
    AND region IN ('NCR', 'Luzon', 'Visayas', 'Mindanao')
-- A re-sent transaction keeps its latest ingestion only.
QUALIFY row_number() OVER (PARTITION BY txn_id ORDER BY ingested_at DESC) = 1
"""

# avg_basket_peso is rounded half-up in integer centavos: DuckDB divides decimals
# as doubles, which could round a half-centavo the wrong way.
_GOLD_SQL = """
SELECT
    sale_date, date_key, store_id, region,
    CAST(count(*) AS INTEGER) AS transactions,
    CAST(count(DISTINCT customer_id) AS INTEGER) AS customers,
    CAST(sum(basket_size) AS INTEGER) AS basket_items,
    CAST(sum(peso_value) AS DECIMAL(15, 2)) AS peso_total,
    CAST(CAST((2 * CAST(sum(peso_value) * 100 AS BIGINT) + count(*)) DIV (2 * count(*))
              AS DECIMAL(12, 0)) * 0.01 AS DECIMAL(12, 2)) AS avg_basket_peso
FROM demo.silver.transactions
GROUP BY sale_date, date_key, store_id, region
ORDER BY sale_date, store_id
"""

_PLATINUM_SQL = """
SELECT
    region,
    CAST(date_trunc('month', sale_date) AS DATE) AS month_start,
    CAST(year(sale_date) * 100 + month(sale_date) AS INTEGER) AS month_key,
    CAST(count(DISTINCT store_id) AS INTEGER) AS stores,
    CAST(count(DISTINCT sale_date) AS INTEGER) AS trading_days,
    CAST(sum(transactions) AS INTEGER) AS transactions,
    CAST(sum(basket_items) AS INTEGER) AS basket_items,
    CAST(sum(peso_total) AS DECIMAL(15, 2)) AS peso_total,
    CAST(CAST((2 * CAST(sum(peso_total) * 100 AS BIGINT) + sum(transactions))
              DIV (2 * sum(transactions)) AS DECIMAL(12, 0)) * 0.01
         AS DECIMAL(12, 2)) AS avg_basket_peso
FROM demo.gold.daily_store_sales
GROUP BY ALL
ORDER BY month_key, region
"""

STEPS = [
    {"code": "silver_transactions", "name": "Clean POS transactions", "layer": "silver",
     "target": SILVER, "sql": _SILVER_SQL.strip(), "upstream": []},
    {"code": "gold_daily_store_sales", "name": "Daily store sales", "layer": "gold",
     "target": GOLD, "sql": _GOLD_SQL.strip(), "upstream": ["silver_transactions"]},
    {"code": "platinum_region_kpis", "name": "Monthly region KPIs", "layer": "platinum",
     "target": PLATINUM, "sql": _PLATINUM_SQL.strip(), "upstream": ["gold_daily_store_sales"]},
]

DEMO_VIEWS = [
    {"code": "daily_store_sales", "name": "Daily store sales", "source": GOLD,
     "freshness_slo_hours": 36.0, "watermark": "sale_date"},
    {"code": "region_kpis", "name": "Monthly region KPIs", "source": PLATINUM,
     "freshness_slo_hours": 36.0, "watermark": None},
]

# Between rules always give both bounds: Odoo stores a missing one as 0.
_RULES = [
    # (view code, table, layer, code, name, kind, column, params, severity)
    ("daily_store_sales", GOLD, "gold", "gold_store_not_null", "Store is set",
     "not_null", "store_id", {}, "fail"),
    ("daily_store_sales", GOLD, "gold", "gold_peso_range", "Daily pesos in range",
     "between", "peso_total", {"min": 0, "max": 1e9}, "fail"),
    ("daily_store_sales", GOLD, "gold", "gold_region_known", "Region is known",
     "accepted_values", "region", {"values": list(REGIONS)}, "warn"),
    ("daily_store_sales", GOLD, "gold", "gold_date_key_format", "Date key is YYYYMMDD",
     "regex", "date_key", {"pattern": r"^20[0-9]{2}(0[1-9]|1[0-2])[0-3][0-9]$"}, "warn"),
    ("daily_store_sales", GOLD, "gold", "gold_min_rows", "Has sales rows",
     "min_row_count", None, {"min": 1}, "fail"),
    ("daily_store_sales", GOLD, "gold", "gold_fresh", "Sales are recent",
     "freshness", "sale_date", {"max_age_hours": 48}, "warn"),
    ("region_kpis", PLATINUM, "platinum", "platinum_region_known", "KPI region is known",
     "accepted_values", "region", {"values": list(REGIONS)}, "fail"),
    ("region_kpis", PLATINUM, "platinum", "platinum_transactions_positive",
     "KPI has transactions", "between", "transactions", {"min": 1, "max": 1e9}, "fail"),
    (None, SILVER, "silver", "silver_txn_unique", "Transaction id is unique",
     "unique", "txn_id", {}, "fail"),
    (None, SILVER, "silver", "silver_peso_not_null", "Peso value is parsed",
     "not_null", "peso_value", {}, "fail"),
]
DEMO_RULES = [
    {"view": view, "table": table, "layer": layer, "code": code, "name": name, "kind": kind,
     "column": column, "params": params, "severity": severity}
    for view, table, layer, code, name, kind, column, params, severity in _RULES
]


def store_region(store_id):
    return REGIONS[(store_id - 1) % len(REGIONS)]


def _bronze_rows(days, stores, rows_per_day, seed, end_date):
    """Deterministic raw transactions as (payload JSON, ingested_at) pairs."""
    rng = random.Random(seed)
    rows = []
    for day in range(days):
        sale_date = end_date - dt.timedelta(days=days - 1 - day)
        date_key = int(sale_date.strftime("%Y%m%d"))
        midnight = dt.datetime(sale_date.year, sale_date.month, sale_date.day,
                               tzinfo=dt.timezone.utc)
        for seq in range(rows_per_day):
            store_id = rng.randint(1, stores)
            basket = rng.randint(1, 12)
            centavos = basket * rng.randint(2_000, 35_000)  # 20 to 350 pesos per item
            txn = {
                "txn_id": "T%d-%03d-%05d" % (date_key, store_id, seq),
                "date_key": date_key, "store_id": store_id, "region": store_region(store_id),
                # A JSON number with at most 2 decimals, so the decimal cast is exact.
                "peso_value": round(centavos / 100, 2),
                "customer_id": "C%05d" % rng.randint(1, 5_000), "basket_size": basket,
            }
            ingested = midnight + dt.timedelta(seconds=rng.randint(6 * 3600, 23 * 3600))
            rows.append((txn, ingested))
    # Spread a fixed ~2% of dirty rows, cycling the kinds so each one occurs.
    n_dirty = max(len(DIRTY_KINDS), round(len(rows) * DIRTY_SHARE))
    for i, index in enumerate(sorted(rng.sample(range(len(rows)), n_dirty))):
        kind = DIRTY_KINDS[i % len(DIRTY_KINDS)]
        txn, ingested = rows[index]
        if kind == "duplicate":  # the POS re-sends the same transaction later
            rows.append((dict(txn), ingested + dt.timedelta(minutes=rng.randint(1, 90))))
            continue
        txn = dict(txn)
        if kind == "null_store":
            txn["store_id"] = None
        elif kind == "negative_peso":
            txn["peso_value"] = -txn["peso_value"]
        elif kind == "unparsable_peso":
            txn["peso_value"] = ("%.2f" % txn["peso_value"]).replace(".", ",")
        else:
            txn["region"] = "Unknown"
        rows[index] = (txn, ingested)
    rows.sort(key=lambda r: r[1])
    return rows


def generate_retail_dataset(lake, days=60, stores=12, rows_per_day=400, seed=7,
                            end_date=None):
    """Write the bronze table, run STEPS, and return {table name: row count}.

    ``end_date`` (default: today, UTC) is the last sales day, so the freshness
    rules pass on a freshly generated demo.
    """
    end_date = end_date or dt.datetime.now(dt.timezone.utc).date()
    rows = _bronze_rows(days, stores, rows_per_day, seed, end_date)
    bronze = pa.table({
        "payload": pa.array([json.dumps(txn, sort_keys=True) for txn, _ in rows], pa.string()),
        "ingested_at": pa.array([ts for _, ts in rows], pa.timestamp("us", tz="UTC")),
    })
    lake.write_table(BRONZE, bronze)
    run_steps(lake)
    counts = {}
    for name in (BRONZE, *(step["target"] for step in STEPS)):
        reader = lake.execute("SELECT count(*) AS n FROM %s" % name)  # noqa: S608 - own names
        counts[name] = reader.read_all().column("n")[0].as_py()
    return counts


def ordered_steps(steps=None):
    """Steps in dependency order (upstream first); raises on a cycle or unknown upstream."""
    steps = STEPS if steps is None else steps
    by_code = {step["code"]: step for step in steps}
    done, ordered = set(), []

    def visit(code, path):
        if code in done:
            return
        if code in path:
            raise ValueError("Step dependency cycle: %s" % " -> ".join((*path, code)))
        if code not in by_code:
            raise ValueError("Unknown upstream step %r" % code)
        for up in by_code[code]["upstream"]:
            visit(up, (*path, code))
        done.add(code)
        ordered.append(by_code[code])

    for step in steps:
        visit(step["code"], ())
    return ordered


def run_steps(lake, steps=None):
    """Run each step with ``lake.run_step``; returns {code: new Delta version}."""
    steps = STEPS if steps is None else steps
    return {step["code"]: lake.run_step(step["sql"], step["target"])
            for step in ordered_steps(steps)}


def sql_file_text(step):
    """The step as a Databricks SQL task file."""
    return "CREATE OR REPLACE TABLE %s AS\n%s\n" % (step["target"], step["sql"])


__all__ = ["BRONZE", "DEMO_RULES", "DEMO_VIEWS", "GOLD", "PLATINUM", "REGIONS", "SILVER",
           "STEPS", "generate_retail_dataset", "ordered_steps", "run_steps", "sql_file_text"]
