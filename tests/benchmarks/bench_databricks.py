"""Benchmark: refresh of a Databricks view (a 1,000,000-row gold table) into its Odoo model.

Run with ``./suite bench databricks`` (``ROWS=100000`` for a quicker run). It creates a
throwaway database with ipai_databricks_connector installed, writes the Delta table
``bench.gold.sales`` (seven columns of typical gold types) into a temporary lakehouse,
and prints:
- the rows/s of a full refresh from the local backend (query -> COPY load -> quality ->
  publish, ``_refresh_now``), until the data is published (committed: readers see it)
  and until the follow-up index job has built the primary key and one index per field,
  and the peak memory of this process during the first refresh above its resident size
  just before;
- the rows/s of a bare COPY of the same Arrow data into a plain PostgreSQL table with the
  model's column types, and the ratios of both (target: the refresh until published
  reaches 0.9x the bare COPY rate; the ratio until indexed is printed too); refresh and
  bare COPY run ``COPY_ROUNDS`` times in alternating order, the best of each counts;
- the rows/s of the same refresh through the local Databricks API server (run in its own
  process), called through an ``ipai.gateway`` service (Statement Execution API,
  EXTERNAL_LINKS + ARROW_STREAM);
- the read rate of the same 1M-row EXTERNAL_LINKS + ARROW_STREAM statement through the
  project's statement client and through the official ``databricks-sdk``, against one
  API server in the same run (best of ``READ_ROUNDS`` rounds each, in alternating order: submit,
  wait, fetch and decode every chunk), and their ratio (target: client / SDK >= 1.0; the
  ratio of the medians is printed too).

Figures are reported, not asserted: a missed target still exits 0; an error does not.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from benchlib import drop, free_port, install, odoo_setup, open_registry

ROWS = int(os.environ.get("ROWS", "1000000"))
BATCH = 100_000
TABLE = "bench.gold.sales"
TOKEN = "bench-token"
ADDON = Path(__file__).resolve().parents[2] / "ipai_databricks_connector"
RATIO_TARGET = 0.9  # until published
MEMORY_TARGET_MB = 300
READ_TARGET = 1.0  # client / SDK read rate
READ_ROUNDS = 8  # a read takes about 0.3 s: a single round is noise
COPY_ROUNDS = 3  # refresh and bare COPY, alternately; best of each




# -- data ------------------------------------------------------------------------------


def sales_batch(start, count):
    """``count`` rows of a gold sales table, computed column-wise with pyarrow."""
    import pyarrow as pa  # noqa: PLC0415 - only in the writer process
    import pyarrow.compute as pc  # noqa: PLC0415

    def mod(values, m):
        return pc.subtract(values, pc.multiply(pc.divide(values, m), m))

    idx = pa.array(range(start, start + count), pa.int64())
    store = mod(idx, 500)
    regions = pa.array(["NCR", "Central Luzon", "CALABARZON", "Western Visayas",
                        "Central Visayas", "Davao", "Northern Mindanao", "Ilocos"])
    transactions = pc.add(mod(idx, 97), 1)
    cents = mod(pc.multiply(idx, 7919), 10_000_000)
    total = pc.divide(pc.cast(cents, pa.float64()), 100.0)
    return pa.RecordBatch.from_arrays([
        pc.cast(pc.cast(pc.add(pc.divide(idx, 3000), 19_000), pa.int32()), pa.date32()),
        pc.cast(store, pa.int32()),
        pc.take(regions, mod(store, 8)),
        pc.cast(total, pa.decimal128(15, 2)),
        pc.cast(transactions, pa.int32()),
        pc.divide(total, pc.cast(transactions, pa.float64())),
        pc.cast(pc.add(pc.multiply(idx, 1000), 1_700_000_000_000_000),
                pa.timestamp("us", tz="UTC")),
    ], names=["sale_date", "store_id", "region", "peso_total", "transactions", "avg_basket",
              "updated_at"])


def write_table(root, rows):
    """Write ``bench.gold.sales`` as one Delta table version streamed batch by batch.

    Runs in a child process (``bench_databricks.py write ROOT ROWS``) so the memory the
    writer used is not counted in, nor reused by, the process that refreshes.
    """
    import pyarrow as pa  # noqa: PLC0415

    sys.path.insert(0, str(ADDON))
    from lakehouse.local_backend import LocalLakehouse  # noqa: PLC0415

    schema = sales_batch(0, 1).schema
    batches = (sales_batch(start, min(BATCH, rows - start)) for start in range(0, rows, BATCH))
    reader = pa.RecordBatchReader.from_batches(schema, batches)
    version = LocalLakehouse(root).write_table(TABLE, reader, mode="overwrite")
    print(f"wrote {rows} rows to {TABLE} (Delta version {version}) in {root}", flush=True)


# -- measuring -------------------------------------------------------------------------


class PeakRss:
    """Peak resident size of this process, sampled every 20 ms in a thread."""

    def __init__(self, interval=0.02):
        self.process = psutil.Process()
        self.interval = interval
        self.start = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self):
        self.start = self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def above_start_mb(self):
        return (self.peak - self.start) / 2**20


def rate(rows, seconds):
    return rows / seconds if seconds else float("inf")


# -- benchmark -------------------------------------------------------------------------


def main():
    odoo_cmd, db, data_dir, common = odoo_setup("dbx")
    root = tempfile.mkdtemp(prefix="ipai_bench_dbx_lake_")
    try:
        install(odoo_cmd, common, db, ["ipai_databricks_connector"])
        print(f"writing {ROWS} rows of {TABLE} ...", flush=True)
        subprocess.run([sys.executable, __file__, "write", root, str(ROWS)], check=True)
        run(db, common, root)
    finally:
        drop(db, root, data_dir)


def run(db, common, root):
    from odoo import api  # noqa: PLC0415 - Odoo is set up first

    registry = open_registry(db, common)
    results = {}

    # 1. Refresh from the local backend.
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        ws = env["ipai.databricks.workspace"].create({
            "name": "Bench local", "backend": "local", "local_root": root})
        view = env["ipai.databricks.view"].create({
            "name": "Bench sales", "code": "bench_sales", "workspace_id": ws.id,
            "source": TABLE, "schedule": "manual"})
        view._create_model(view._fetch_schema())
        cr.commit()
        mapping = view._columns()
        # The model's own column types, typmods included (numeric(15,2) rounds as it loads).
        cr.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                   "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                   (view.model_name,))
        pg_types = dict(cr.fetchall())
        columns = [("id", "integer")] + [(f, pg_types[f]) for f in mapping.values()]

    # 1 and 2, in alternating rounds (best of each): the refresh, and a bare COPY of the
    # same Arrow data into a plain (logged) table.
    memory = None
    for number in range(COPY_ROUNDS):
        for step in ("refresh", "copy") if number % 2 == 0 else ("copy", "refresh"):
            if step == "copy":
                count, seconds = bare_copy(registry, root, columns)
                print(f"bare COPY done: {count} rows in {seconds:.2f} s", flush=True)
                if "copy" not in results or seconds < results["copy"][1]:
                    results["copy"] = (count, seconds)
                continue
            local, peak = local_refresh(registry, view.id)
            memory = memory or peak  # the first refresh's memory
            if "local" not in results or local[1] < results["local"][1]:
                results["local"] = local

    # 3. Refresh through the local Databricks API server, in its own process.
    results["api"] = api_refresh(registry, root)

    # 4. The same EXTERNAL_LINKS result read by the project's client and by the SDK.
    results["read"] = read_rates(root)

    report(results, memory)


def local_refresh(registry, view_id):
    """One full refresh of the view: (rows, until published, load step, until indexed) and
    the memory it took."""
    from odoo import api  # noqa: PLC0415

    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        view = env["ipai.databricks.view"].browse(view_id)
        with PeakRss() as memory:
            start = time.perf_counter()
            snap = view._refresh_now(mode="full", index=False)
            cr.commit()  # published: readers see the new data
            elapsed = time.perf_counter() - start
            snap._job_index()  # the follow-up job of the chain
            cr.commit()
            indexed = time.perf_counter() - start
        check_snapshot(snap, "local refresh")
        if snap.index_state != "built":
            raise RuntimeError(f"local refresh: indexes {snap.index_state}: {snap.message}")
        count = table_count(cr, view.model_name)
        print(f"local refresh done: {count} rows published in {elapsed:.2f} s "
              f"(load step {snap.duration_seconds:.2f} s), indexed at {indexed:.2f} s",
              flush=True)
        return (count, elapsed, snap.duration_seconds, indexed), memory


def table_count(cr, table):
    cr.execute(f'SELECT count(*) FROM "{table}"')
    return cr.fetchone()[0]


def check_snapshot(snap, what):
    if snap.state != "published":
        raise RuntimeError(f"{what}: snapshot {snap.state}: {snap.message}")
    if snap.row_count != ROWS:
        raise RuntimeError(f"{what}: {snap.row_count} rows published, {ROWS} expected")


def bare_copy(registry, root, columns):
    from odoo.addons.ipai_databricks_connector.lakehouse import pgload  # noqa: PLC0415
    from odoo.addons.ipai_databricks_connector.lakehouse.local_backend import (  # noqa: PLC0415
        LocalLakehouse,
    )

    with registry.cursor() as cr:
        ddl = ", ".join(f'"{name}" {pg_type}' for name, pg_type in columns)
        cr.execute(f"DROP TABLE IF EXISTS bench_copy; CREATE TABLE bench_copy ({ddl})")
        cr.commit()
        names = ", ".join(f'"{name}"' for name, _t in columns)
        start = time.perf_counter()
        reader = LocalLakehouse(root).execute(f"SELECT * FROM {TABLE}")
        stream = pgload.CopyStream(pgload.with_ids(reader, 1))
        cr._obj.copy_expert(f"COPY bench_copy ({names}) FROM STDIN WITH (FORMAT csv)",
                            stream, size=1 << 20)
        cr.commit()
        elapsed = time.perf_counter() - start
        count = table_count(cr, "bench_copy")
        cr.execute("DROP TABLE bench_copy")
        cr.commit()
    if count != ROWS:
        raise RuntimeError(f"bare COPY: {count} rows, {ROWS} expected")
    return count, elapsed


def start_api_server(root):
    port = free_port()
    code = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
            "from lakehouse.devserver import main; main()")
    server = subprocess.Popen(
        [sys.executable, "-c", code, str(ADDON), "--port", str(port), "--data", root,
         "--token", TOKEN],
        stdout=subprocess.PIPE, text=True,
    )
    line = server.stdout.readline()  # "Databricks API on http://127.0.0.1:<port>"
    if "Databricks API on" not in line:
        server.kill()
        raise RuntimeError(f"the local Databricks API server did not start: {line!r}")
    return server, line.rsplit(" ", 1)[-1].strip()


def api_refresh(registry, root):
    from odoo import api  # noqa: PLC0415

    server, url = start_api_server(root)
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            service = env["ipai.gateway.service"].create({
                "name": "Bench Databricks", "code": "bench_databricks", "kind": "databricks",
                "base_url": url, "auth_type": "bearer", "token": TOKEN,
                "read_timeout": 120, "retry_max_attempts": 5, "retry_total_budget": 600,
                "retry_backoff_max": 5})
            ws = env["ipai.databricks.workspace"].create({
                "name": "Bench API", "backend": "databricks", "service_id": service.id,
                "warehouse_id": "local-warehouse", "link_hosts": "127.0.0.1:*",
                "allow_http_links": True})
            view = env["ipai.databricks.view"].create({
                "name": "Bench sales API", "code": "bench_sales_api", "workspace_id": ws.id,
                "source": TABLE, "schedule": "manual"})
            view._create_model(view._fetch_schema())
            cr.commit()
            start = time.perf_counter()
            snap = view._refresh_now(mode="full")
            cr.commit()
            elapsed = time.perf_counter() - start
            check_snapshot(snap, "refresh through the API")
            count = table_count(cr, view.model_name)
            print(f"API refresh done: {count} rows in {elapsed:.2f} s "
                  f"(load step {snap.duration_seconds:.2f} s)", flush=True)
            return count, elapsed, snap.duration_seconds
    finally:
        server.terminate()
        server.wait(timeout=30)


def read_rates(root):
    """Best rows/s of the project's client and of the SDK over ``READ_ROUNDS`` rounds."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.ipc as ipc  # noqa: PLC0415
    import requests  # noqa: PLC0415
    from databricks.sdk import WorkspaceClient  # noqa: PLC0415
    from databricks.sdk.service import sql  # noqa: PLC0415

    from odoo.addons.ipai_databricks_connector.lakehouse import (  # noqa: PLC0415
        statement_client as sc,
    )

    query = f"SELECT * FROM {TABLE}"
    server, url = start_api_server(root)
    try:
        client = sc.StatementExecutionClient(  # its defaults: poll 0.1 s doubling to 2 s
            sc.requests_transport(url, TOKEN, timeout=(5, 120)), sc.requests_fetch_link(),
            "local-warehouse")
        w = WorkspaceClient(host=url, token=TOKEN, auth_type="pat")
        session = requests.Session()  # presigned links: no workspace token

        def with_client():
            return sum(b.num_rows for b in client.execute(query).batches())

        def with_sdk():
            api = w.statement_execution
            response = api.execute_statement(
                warehouse_id="local-warehouse", statement=query, wait_timeout="50s",
                disposition=sql.Disposition.EXTERNAL_LINKS, format=sql.Format.ARROW_STREAM)
            while response.status.state in (sql.StatementState.PENDING,
                                            sql.StatementState.RUNNING):
                time.sleep(1)
                response = api.get_statement(response.statement_id)
            if response.status.state != sql.StatementState.SUCCEEDED:
                raise RuntimeError(f"SDK read: statement {response.status}")
            rows, chunk = 0, response.result
            while chunk is not None:
                for link in chunk.external_links or []:
                    got = session.get(link.external_link, headers=link.http_headers or {},
                                      timeout=(5, 120))
                    got.raise_for_status()
                    for batch in ipc.open_stream(pa.BufferReader(got.content)):
                        rows += batch.num_rows
                last = (chunk.external_links or [None])[-1]
                index = last.next_chunk_index if last else None
                chunk = None if index is None else api.get_statement_result_chunk_n(
                    response.statement_id, index)
            return rows

        rates = {"client": [], "sdk": []}
        readers = [("client", with_client), ("sdk", with_sdk)]
        for number in range(READ_ROUNDS):
            # Alternate who goes first: neither gains from the other's warm caches.
            for name, read in readers if number % 2 == 0 else readers[::-1]:
                start = time.perf_counter()
                rows = read()
                elapsed = time.perf_counter() - start
                if rows != ROWS:
                    raise RuntimeError(f"{name} read {rows} rows, {ROWS} expected")
                rates[name].append(rate(rows, elapsed))
                print(f"read with the {name}: {rows} rows in {elapsed:.2f} s", flush=True)
        return rates["client"], rates["sdk"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def report(results, memory):
    local_rows, local_s, local_load, local_indexed_s = results["local"]
    copy_rows, copy_s = results["copy"]
    api_rows, api_s, api_load = results["api"]
    local_rate, copy_rate = rate(local_rows, local_s), rate(copy_rows, copy_s)
    ratio = local_rate / copy_rate
    indexed_rate = rate(local_rows, local_indexed_s)
    mem = memory.above_start_mb
    ok = {True: "OK", False: "MISSED"}
    print()
    print("=" * 78)
    print(f"Databricks view refresh benchmark, {ROWS:,} rows x 7 columns ({TABLE})")
    print(f"refresh local backend, until published: {local_rows:,} rows in {local_s:.2f} s = "
          f"{local_rate:,.0f} rows/s (load step {local_load:.2f} s)")
    print(f"refresh local backend, until indexed:   {local_rows:,} rows in "
          f"{local_indexed_s:.2f} s = {indexed_rate:,.0f} rows/s")
    print(f"bare COPY:             {copy_rows:,} rows in {copy_s:.2f} s = {copy_rate:,.0f} rows/s")
    print(f"ratio until published / bare COPY: {ratio:.2f} (target >= {RATIO_TARGET}): "
          f"{ok[ratio >= RATIO_TARGET]}")
    print(f"ratio until indexed / bare COPY: {indexed_rate / copy_rate:.2f} (reported)")
    print(f"peak memory of the refresh: {mem:.0f} MB above start "
          f"({memory.start / 2**20:.0f} MB -> {memory.peak / 2**20:.0f} MB) "
          f"(target < {MEMORY_TARGET_MB} MB): {ok[mem < MEMORY_TARGET_MB]}")
    print(f"refresh through the local Databricks API (until indexed): {api_rows:,} rows in "
          f"{api_s:.2f} s = "
          f"{rate(api_rows, api_s):,.0f} rows/s (load step {api_load:.2f} s)")
    client_rates, sdk_rates = results["read"]
    client_rate, sdk_rate = max(client_rates), max(sdk_rates)
    read_ratio = client_rate / sdk_rate
    median_ratio = statistics.median(client_rates) / statistics.median(sdk_rates)
    print(f"read of the EXTERNAL_LINKS result (best of {READ_ROUNDS}): client "
          f"{client_rate:,.0f} rows/s, databricks-sdk {sdk_rate:,.0f} rows/s")
    print(f"client / SDK read rate: {read_ratio:.2f} (target >= {READ_TARGET}): "
          f"{ok[read_ratio >= READ_TARGET]}; medians {median_ratio:.2f} (reported)")
    print("=" * 78, flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["write"]:
        write_table(sys.argv[2], int(sys.argv[3]))
    else:
        main()
