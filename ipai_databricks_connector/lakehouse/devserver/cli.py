"""``python -m lakehouse.devserver --data DIR --token T [--port 8443]`` (``./suite
databricks-api``): serve until SIGINT or SIGTERM."""

import argparse
import os
import signal
import threading

from .server import DatabricksApiServer


def main(argv=None):
    parser = argparse.ArgumentParser(description="Local Databricks REST API over Delta Lake")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--data", required=True, help="lakehouse root (catalog/schema/table)")
    parser.add_argument("--token", default=os.environ.get("DATABRICKS_TOKEN"))
    parser.add_argument("--link-ttl", type=float, default=900.0, help="external link seconds")
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--public-url", help="address clients reach this server at, for "
                        "result links (default: http://HOST:PORT)")
    parser.add_argument("--warehouse-start-seconds", type=float, default=1.0,
                        help="how long the warehouse stays STARTING after a start")
    parser.add_argument("--warehouse-stopped", action="store_true",
                        help="begin with the warehouse STOPPED")
    parser.add_argument("--auto-stop-mins", type=int, default=120,
                        help="minutes idle (no statement) before the warehouse stops by "
                        "itself, 0 or at least 10; 0 = never (default 120, as Databricks)")
    parser.add_argument("--auto-stop-seconds", type=float,
                        help="seconds idle before auto-stop, replacing the minutes' length "
                        "(tests and demos); auto_stop_mins 0 still means never")
    parser.add_argument("--result-memory-mb", type=float, default=1024,
                        help="memory for kept results: past it, the oldest results are "
                        "CLOSED before their hour is up (default 1024)")
    parser.add_argument("--test-endpoints", action="store_true",
                        help="enable the /ipai-test/ fault-injection endpoints (tests only)")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("--token (or DATABRICKS_TOKEN) is required")
    if args.auto_stop_mins != 0 and not args.auto_stop_mins >= 10:
        parser.error("--auto-stop-mins must be 0 (never) or at least 10")
    server = DatabricksApiServer(
        args.data, args.token, host=args.host, port=args.port, link_ttl=args.link_ttl,
        chunk_rows=args.chunk_rows, public_url=args.public_url,
        test_endpoints=args.test_endpoints,
        warehouse_state="STOPPED" if args.warehouse_stopped else "RUNNING",
        warehouse_start_seconds=args.warehouse_start_seconds,
        auto_stop_mins=args.auto_stop_mins, auto_stop_seconds=args.auto_stop_seconds,
        result_bytes=int(args.result_memory_mb * 1024 * 1024)).start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("Databricks API on %s" % server.url, flush=True)  # pylint: disable=print-used
    stop.wait()
    server.stop()
