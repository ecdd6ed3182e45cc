"""Benchmark: memory of reading a Delta table whose Parquet file is ONE huge row group.

Run with ``./suite bench reading_memory`` (``SIZES=1000000`` for a quicker run). A child
process writes each table (``bench.gold.wide``: id, amount, a text and a timestamp column,
every row in one row group) into a temporary lakehouse; then, for each batch size, a fresh
child process reads it as a view refresh from the local backend does (``LocalLakehouse.execute``
of the refresh's SELECT, batch after batch) and reports its peak resident size above its size
just before the read. One line per table size and batch size shows memory bounded by the
batch size, not by the row group or the table.

With ``BEFORE=1`` (the default) it also reads each table the way the backend did before (the
Delta table registered in DuckDB as a ``pyarrow.dataset``, which decodes whole row groups),
for the comparison. With ``API=1`` (the default) it also reads it through the local API server
(started in the reading process on a free port from ``tests/ports.py``, ``chunk_rows`` = the
batch size) and the statement client, EXTERNAL_LINKS + ARROW_STREAM: that peak counts the
server, which keeps every encoded chunk until the statement expires, as a warehouse keeps a
result. Figures are reported, not asserted.

With ``PRUNING=1`` (the default) the writer also writes ``bench.gold.grouped``, the same rows
in row groups of 100,000, and a selective WHERE on it is timed with and without the skipping
of the row groups its Parquet statistics exclude.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ADDON = Path(__file__).resolve().parents[2] / "ipai_databricks_connector"
SIZES = [int(n) for n in os.environ.get("SIZES", "1000000,3000000").split(",")]
BATCHES = [int(n) for n in os.environ.get("BATCHES", "10000,100000").split(",")]
BEFORE = os.environ.get("BEFORE", "1") == "1"
API = os.environ.get("API", "1") == "1"
PROJECTION = os.environ.get("PROJECTION", "1") == "1"
PRUNING = os.environ.get("PRUNING", "1") == "1"
GROUPED = "bench.gold.grouped"  # the same rows in row groups of GROUP_ROWS
GROUP_ROWS = 100_000
SELECTIVE = [  # timed with and without pruning; {mid}: the middle id, {end}: 50,000 rows on
    "SELECT count(*), sum(amount) FROM bench.gold.grouped WHERE id BETWEEN {mid} AND {end}",
    "SELECT id, name FROM bench.gold.grouped WHERE updated_at >= TIMESTAMP'2023-11-14 22:20:00' "
    "AND updated_at < TIMESTAMP'2023-11-14 22:21:00'",
]
NARROW = ["SELECT count(*) FROM bench.gold.wide",
          "SELECT sum(amount) FROM bench.gold.wide"]  # timed with and without projection
TOKEN = "bench-token"
TABLE = "bench.gold.wide"
SQL = "SELECT id, amount, name, updated_at FROM bench.gold.wide"  # as the refresh selects


def write(root, rows):
    """Write ``TABLE`` with all ``rows`` in one Parquet row group (child process)."""
    import pyarrow as pa  # noqa: PLC0415 - only in the writer process
    import pyarrow.compute as pc  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415
    from deltalake import DeltaTable, WriterProperties, write_deltalake  # noqa: PLC0415

    sys.path.insert(0, str(ADDON))
    from lakehouse.local_backend import LocalLakehouse  # noqa: PLC0415

    idx = pa.array(range(rows), pa.int64())
    text = pc.cast(idx, pa.string())
    table = pa.table({
        "id": idx,
        "amount": pc.divide(pc.cast(pc.multiply(idx, 7919), pa.float64()), 100.0),
        "name": pc.binary_join_element_wise("Tindahan Ñoño #", text, " – Café", ""),
        "updated_at": pc.cast(pc.add(pc.multiply(idx, 1000), 1_700_000_000_000_000),
                              pa.timestamp("us", tz="UTC")),
    })
    uri = LocalLakehouse(root).table_uri(TABLE)
    write_deltalake(uri, table, mode="overwrite", target_file_size=1 << 40,
                    writer_properties=WriterProperties(max_row_group_size=rows))
    dataset = DeltaTable(uri).to_pyarrow_dataset()
    groups = [pq.ParquetFile(dataset.filesystem.open_input_file(f)).metadata.num_row_groups
              for f in dataset.files]
    size = sum(dataset.filesystem.get_file_info(f).size for f in dataset.files) / 2**20
    print(f"  wrote {rows} rows: {len(groups)} file(s), {sum(groups)} row group(s), "
          f"{size:.0f} MB", flush=True)
    if PRUNING:
        write_deltalake(LocalLakehouse(root).table_uri(GROUPED), table, mode="overwrite",
                        target_file_size=1 << 40,
                        writer_properties=WriterProperties(max_row_group_size=GROUP_ROWS))


class Peak:
    """Peak resident size above the size at start: the kernel's high-water mark (reset
    through /proc/self/clear_refs) where Linux allows it, else sampled every 5 ms."""

    def __init__(self):
        import psutil  # noqa: PLC0415

        self.process = psutil.Process()
        self.hwm = self._reset_hwm()
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def _reset_hwm():
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            return True
        except OSError:
            return False

    def _sample(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def above_start_mb(self):
        self._stop.set()
        self._thread.join()
        peak = max(self.peak, self.process.memory_info().rss)
        if self.hwm:
            with open("/proc/self/status") as fh:
                line = next(x for x in fh if x.startswith("VmHWM:"))
            peak = max(peak, int(line.split()[1]) * 1024)
        return (peak - self.start) / 2**20


def read(root, batch_size, how):
    """Read ``SQL`` batch after batch (child process); prints one JSON line."""
    sys.path.insert(0, str(ADDON))
    from lakehouse import sandbox  # noqa: PLC0415
    from lakehouse.local_backend import LocalLakehouse  # noqa: PLC0415

    lake = LocalLakehouse(root)
    lake.execute("SELECT 1 AS warm").read_all()  # DuckDB and pyarrow loaded before measuring
    server = None
    if how == "api":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from lakehouse import statement_client as sc  # noqa: PLC0415
        from lakehouse.devserver import DatabricksApiServer  # noqa: PLC0415
        from ports import free_port  # noqa: PLC0415

        server = DatabricksApiServer(root, TOKEN, port=free_port(), chunk_rows=batch_size)
        server.start()
        client = sc.StatementExecutionClient(
            sc.requests_transport(server.url, TOKEN, timeout=(5, 120)),
            sc.requests_fetch_link(), "local-warehouse", timeout=600)
        client.execute("SELECT 1 AS warm").reader().read_all()
    peak = Peak()
    start = time.perf_counter()
    if how == "api":
        reader = client.execute(SQL).batches()
    elif how == "before":  # the Delta table as a pyarrow dataset, as the backend registered it
        con = sandbox.connect()
        con.register("wide", lake._table(TABLE).to_pyarrow_dataset())
        reader = con.sql(SQL.replace(TABLE, "wide")).to_arrow_reader(batch_size)
    else:
        reader = lake.execute(SQL, batch_size=batch_size)
    rows = largest = 0
    for batch in reader:
        rows += batch.num_rows
        largest = max(largest, batch.num_rows)
    elapsed = time.perf_counter() - start
    if server is not None:
        server.stop()
    print(json.dumps({"rows": rows, "largest_batch": largest, "seconds": elapsed,
                      "peak_mb": peak.above_start_mb()}), flush=True)


def narrow(root):
    """Seconds (best of 3) of each ``NARROW`` query, every column vs projected (child)."""
    sys.path.insert(0, str(ADDON))
    from lakehouse import sandbox  # noqa: PLC0415
    from lakehouse.local_backend import DeltaStream, LocalLakehouse  # noqa: PLC0415

    lake = LocalLakehouse(root)
    lake.execute("SELECT 1 AS warm").read_all()
    out = []
    for sql in NARROW:
        def before(sql=sql):  # the stream of every column, as registered before
            con = sandbox.connect()
            con.register("wide", DeltaStream(lake._table(TABLE).to_pyarrow_dataset()))
            return con.sql(sql.replace(TABLE, "wide")).fetchall()

        def now(sql=sql):
            return lake.execute(sql).read_all().to_pylist()

        times = {}
        for how, run in (("before", before), ("now", now)):
            best = None
            for _ in range(3):
                start = time.perf_counter()
                run()
                took = time.perf_counter() - start
                best = took if best is None else min(best, took)
            times[how] = best
        got, want = list(now()[0].values()), list(before()[0])
        # a DOUBLE sum's last digits depend on the order DuckDB's threads add in
        if len(got) != len(want) or not all(
                math.isclose(g, w, rel_tol=1e-12) if isinstance(w, float) else g == w
                for g, w in zip(got, want, strict=True)):
            raise SystemExit(f"{sql}: {want} != {got}")
        out.append({"sql": sql, **times})
    print(json.dumps(out), flush=True)


def prune(root, rows):
    """Seconds (best of 3) of each ``SELECTIVE`` query, every row group vs the ones its
    WHERE may match (child)."""
    sys.path.insert(0, str(ADDON))
    from lakehouse.local_backend import LocalLakehouse  # noqa: PLC0415

    lake = LocalLakehouse(root)
    lake.execute("SELECT 1 AS warm").read_all()
    out = []
    for sql in SELECTIVE:
        sql = sql.format(mid=rows // 2, end=rows // 2 + 49_999)

        def run(pruned, sql=sql):
            con, final, _used, _names, _narrowed = lake._connect(sql, prune=pruned)
            try:
                return sorted(con.sql(final).fetchall())
            finally:
                con.close()

        times = {}
        for how, pruned in (("before", False), ("now", True)):
            best = None
            for _ in range(3):
                start = time.perf_counter()
                got = run(pruned)
                took = time.perf_counter() - start
                best = took if best is None else min(best, took)
            times[how], times[how + "_rows"] = best, got
        if times["before_rows"] != times["now_rows"]:
            raise SystemExit(f"{sql}: pruning changed the result")
        out.append({"sql": sql, "before": times["before"], "now": times["now"],
                    "rows": len(times["now_rows"])})
    print(json.dumps(out), flush=True)


def child(*args):
    out = subprocess.run([sys.executable, __file__, *map(str, args)], check=True,
                         capture_output=True, text=True)
    return out.stdout


def main():
    print(f"reading {TABLE} (one row group) batch by batch; peak RSS above start", flush=True)
    lines = []
    for rows in SIZES:
        root = tempfile.mkdtemp(prefix="ipai_bench_readmem_")
        try:
            print(child("write", root, rows), end="", flush=True)
            runs = [("now", b) for b in BATCHES] + ([("before", BATCHES[-1])] if BEFORE else []) \
                + ([("api", BATCHES[-1])] if API else [])
            for how, batch_size in runs:
                got = json.loads(child("read", root, batch_size, how).splitlines()[-1])
                line = (f"  {rows:>9} rows, batch {batch_size:>7} ({how:>6}): peak "
                        f"{got['peak_mb']:7.1f} MB above start, largest batch "
                        f"{got['largest_batch']}, {got['rows'] / got['seconds']:,.0f} rows/s")
                lines.append(line)
                print(line, flush=True)
                if got["rows"] != rows:
                    raise SystemExit(f"read {got['rows']} rows, expected {rows}")
            if PROJECTION:
                for got in json.loads(child("narrow", root).splitlines()[-1]):
                    line = (f"  {rows:>9} rows, {got['sql'].split(' FROM')[0]:<24}: "
                            f"{got['before']:.3f} s every column (before), {got['now']:.3f} s "
                            f"its columns (now)")
                    lines.append(line)
                    print(line, flush=True)
            if PRUNING:
                for got in json.loads(child("prune", root, rows).splitlines()[-1]):
                    where = got["sql"].split(" WHERE ")[1]
                    line = (f"  {rows:>9} rows, WHERE {where[:44]:<44}: {got['before']:.3f} s "
                            f"every row group (before), {got['now']:.3f} s pruned (now)")
                    lines.append(line)
                    print(line, flush=True)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    print("summary:\n" + "\n".join(lines), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "write":
        write(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "narrow":
        narrow(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "prune":
        prune(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "read":
        read(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
