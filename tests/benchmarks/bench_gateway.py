"""Benchmark: ipai.gateway.call against a bare requests.Session, on loopback.

Run with ``./suite bench gateway``. It creates a throwaway database with the
gateway installed, starts the misbehaving test server in its own process, then
calls the same endpoint 2,000 times through ``env['ipai.gateway'].call`` (call
log on: its rows are written by the gateway's writer thread in this same process,
and any commit time is counted in the calls' time) and 2,000 times
through a bare ``requests.Session``, interleaved, and prints the median per-call
latency of each and their ratio (target <= 1.2x); then the one-call-per-
transaction ratio (target <= 1.5x), with the same figure for OCA ``webservice``
(``webservice.backend.call``) when that module is installed in the virtualenv, and
the cost of a call short-circuited by an open breaker (target < 0.3 ms).
``BENCH_PROFILE=1`` first prints a cProfile of 2,000 calls and one of
``BENCH_TXN_CALLS`` one-call transactions.
"""

import importlib.util
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests
from benchlib import drop, install, odoo_setup, open_registry

REPO = Path(__file__).resolve().parents[2]
CALLS = int(os.environ.get("BENCH_CALLS", "2000"))
TXN_CALLS = int(os.environ.get("BENCH_TXN_CALLS", "300"))
PROFILE = bool(os.environ.get("BENCH_PROFILE"))
SERVER = """
import sys, time
sys.path.insert(0, {path!r})
from fault_server import FaultServer
server = FaultServer().start()
print(server.port, flush=True)
time.sleep(3600)
"""


def webservice_available():
    """OCA webservice (PyPI odoo-addon-webservice, in requirements-test.txt)."""
    try:
        return importlib.util.find_spec("odoo.addons.webservice") is not None
    except ImportError:
        return False


def main():
    odoo_cmd, db, _data_dir, common = odoo_setup("gw")
    modules = ["ipai_microservices_gateway"]
    if webservice_available():
        modules.append("webservice")
    install(odoo_cmd, common, db, modules)
    server = subprocess.Popen(
        [sys.executable, "-c",
         SERVER.format(path=str(REPO / "ipai_microservices_gateway" / "tests"))],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        port = int(server.stdout.readline())
        run(db, common, port)
    finally:
        server.kill()
        drop(db)


def run(db, common, port):
    from odoo import api  # noqa: PLC0415 - Odoo is set up first

    registry = open_registry(db, common)
    url = f"http://127.0.0.1:{port}"
    token = secrets.token_hex(16)
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        if "webservice.backend" in env:
            env["webservice.backend"].create({
                "name": "Bench", "tech_name": "bench", "protocol": "http", "url": url,
                "auth_type": "api_key", "api_key": f"Bearer {token}",
                "api_key_header": "Authorization"})
        env["ipai.gateway.service"].create([
            {"name": "Bench", "code": "bench", "base_url": url, "auth_type": "bearer",
             "token": token, "connect_timeout": 2, "read_timeout": 5},
            {"name": "Down", "code": "down", "base_url": "http://127.0.0.1:9",
             "connect_timeout": 0.5, "read_timeout": 0.5, "retry_max_attempts": 1,
             "breaker_failure_threshold": 1, "breaker_open_seconds": 3600},
        ])
    session = requests.Session()
    gateway_times, bare_times = [], []
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        gateway = env["ipai.gateway"]
        for _ in range(50):  # warm-up: connections, caches
            gateway.call("bench", "GET", "/ping")
            session.get(f"{url}/ping", timeout=(2, 5))
        cr.commit()
        if PROFILE:
            profile(gateway, cr)
        for i in range(CALLS):
            start = time.perf_counter()
            gateway.call("bench", "GET", "/ping")
            gateway_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            session.get(f"{url}/ping", timeout=(2, 5))
            bare_times.append(time.perf_counter() - start)
            if i % 200 == 199:
                # Any commit-time work (log rows) belongs to the calls.
                start = time.perf_counter()
                cr.commit()
                per_call = (time.perf_counter() - start) / 200
                gateway_times[-200:] = [t + per_call for t in gateway_times[-200:]]
        if PROFILE:
            profile_transactions(gateway, cr)
        # One call per transaction (a button, an RPC): call, then commit; OCA
        # webservice the same way, when installed; bare Session calls between them.
        backend = env["webservice.backend"].search([("tech_name", "=", "bench")]) \
            if "webservice.backend" in env else None
        if backend:
            for _ in range(50):  # warm-up
                backend.call("get", url="/ping")
            cr.commit()
        txn_times, txn_commit, txn_bare, ws_times, ws_bare = [], [], [], [], []
        for _ in range(TXN_CALLS):
            start = time.perf_counter()
            gateway.call("bench", "GET", "/ping")
            called = time.perf_counter()
            cr.commit()
            end = time.perf_counter()
            txn_times.append(end - start)
            txn_commit.append(end - called)
            start = time.perf_counter()
            session.get(f"{url}/ping", timeout=(2, 5))
            txn_bare.append(time.perf_counter() - start)
            if backend:
                start = time.perf_counter()
                backend.call("get", url="/ping")
                cr.commit()
                ws_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                session.get(f"{url}/ping", timeout=(2, 5))
                ws_bare.append(time.perf_counter() - start)
        # Open the breaker of the down service, then time short-circuited calls.
        try:
            gateway.call("down", "GET", "/")
        except Exception:
            cr.rollback()
        open_times = []
        for _ in range(500):
            start = time.perf_counter()
            try:
                gateway.call("down", "GET", "/")
            except Exception as exc:
                assert type(exc).__name__ == "GatewayCircuitOpen", exc
            open_times.append(time.perf_counter() - start)
        cr.commit()
    successes = 50 + CALLS + TXN_CALLS + (2000 + TXN_CALLS if PROFILE else 0)
    logged = wait_for_logs(registry, successes)
    g, b = statistics.median(gateway_times), statistics.median(bare_times)
    print(f"calls: {CALLS} gateway + {CALLS} bare requests.Session, interleaved; "
          f"success rows in the call log: {logged} of {successes} successful calls")
    print(f"median gateway call (log write included): {g * 1000:.3f} ms (p95 "
          f"{statistics.quantiles(gateway_times, n=20)[-1] * 1000:.3f} ms)")
    print(f"median bare Session: {b * 1000:.3f} ms (p95 "
          f"{statistics.quantiles(bare_times, n=20)[-1] * 1000:.3f} ms)")
    print(f"ratio gateway / bare: {g / b:.2f}x (target <= 1.2x)")
    tg, tb = statistics.median(txn_times), statistics.median(txn_bare)
    print(f"one call per transaction ({TXN_CALLS} calls): {tg * 1000:.3f} ms vs bare "
          f"{tb * 1000:.3f} ms, ratio {tg / tb:.2f}x (target <= 1.5x); of which the "
          f"commit: {statistics.median(txn_commit) * 1000:.3f} ms")
    if ws_times:
        wg, wb = statistics.median(ws_times), statistics.median(ws_bare)
        print(f"OCA webservice, one call per transaction ({TXN_CALLS} calls): "
              f"{wg * 1000:.3f} ms vs bare {wb * 1000:.3f} ms, ratio {wg / wb:.2f}x "
              f"(gateway: {tg / tb:.2f}x)")
    else:
        print("OCA webservice: not installed (pip install odoo-addon-webservice), not measured")
    print(f"median short-circuited call (breaker open): "
          f"{statistics.median(open_times) * 1000:.3f} ms (target < 0.3 ms)")


def wait_for_logs(registry, expected, seconds=10.0):
    """The number of success rows once ``expected`` are written (or ``seconds`` passed)."""
    deadline = time.monotonic() + seconds
    while True:
        with registry.cursor() as cr:
            cr.execute("SELECT count(*) FROM ipai_gateway_call_log WHERE outcome = 'success'")
            logged = cr.fetchone()[0]
        if logged >= expected or time.monotonic() > deadline:
            return logged
        time.sleep(0.1)


def profile(gateway, cr, calls=2000):
    """cProfile over ``calls`` gateway calls (commits every 200): the top costs."""
    import cProfile  # noqa: PLC0415 - only when BENCH_PROFILE is set

    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(calls):
        gateway.call("bench", "GET", "/ping")
        if i % 200 == 199:
            cr.commit()
    profiler.disable()
    print_profile(profiler, f"{calls} gateway calls")


def profile_transactions(gateway, cr, calls=TXN_CALLS):
    """cProfile over ``calls`` one-call transactions (call, then commit)."""
    import cProfile  # noqa: PLC0415 - only when BENCH_PROFILE is set

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        gateway.call("bench", "GET", "/ping")
        cr.commit()
    profiler.disable()
    print_profile(profiler, f"{calls} one-call transactions (call, commit)")


def print_profile(profiler, what):
    import pstats  # noqa: PLC0415

    stats = pstats.Stats(profiler)
    print(f"profile of {what}, top 25 by own time:")
    stats.sort_stats("tottime").print_stats(25)
    print("top 25 by cumulative time:")
    stats.sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
