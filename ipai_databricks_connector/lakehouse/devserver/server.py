"""The local Databricks REST API server: HTTP plumbing, authentication, routing, faults on
demand and bounded state. The API areas are mixins: ``statements`` (Statement Execution
API 2.0), ``jobs`` (Jobs 2.1/2.2), ``warehouses`` (SQL warehouses, clusters); the SCIM
``Me`` of its one user is here."""

import contextlib
import json
import logging
import os
import re
import secrets
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ..local_backend import LocalLakehouse
from . import jobs, statements, warehouses
from .errors import ApiError

_logger = logging.getLogger(__name__)
_ROUTES = [*statements.ROUTES, *jobs.ROUTES, *warehouses.ROUTES,
           ("GET", r"/api/2\.0/preview/scim/v2/Me", "_me"),
           ("POST", r"/ipai-test/faults", "_test_faults"),
           ("POST", r"/ipai-test/expire-links", "_test_expire")]


IDLE_SECONDS = 60
RESULT_BYTES = 1 << 30


class _HTTPServer(ThreadingHTTPServer):
    """Keeps its open connections, so ``stop`` ends the threads that wait on idle
    keep-alive ones at once, rather than when the client's pool lets them go."""

    daemon_threads = True

    def __init__(self, *args):
        super().__init__(*args)
        self._open, self._open_lock = set(), threading.Lock()

    def process_request(self, request, client_address):
        with self._open_lock:
            self._open.add(request)
        return super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._open_lock:
            self._open.discard(request)
        return super().shutdown_request(request)

    def close_connections(self):
        with self._open_lock:
            requests = list(self._open)
        for request in requests:
            with contextlib.suppress(OSError):  # its peer closed it meanwhile
                request.shutdown(socket.SHUT_RDWR)  # the thread's read returns: it ends


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def setup(self):
        # an idle keep-alive connection is closed after the server's idle time: its
        # thread ends, as a warehouse's front end lets idle connections go
        self.timeout = self.server.owner.idle_seconds
        return super().setup()

    def log_message(self, format, *args):  # silence the access log
        return

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, payload = self.server.owner.dispatch(self, body)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


WORKSPACE_ID = "1000000000000000"  # the workspace (org) id this server answers with
USER_ID = "1000000000000001"  # the SCIM id of its one user, "local"


class DatabricksApiServer(statements.StatementsMixin, jobs.JobsMixin,
                          warehouses.WarehousesMixin):
    """A Databricks workspace on loopback (see the package docstring)."""

    def __init__(self, root, token, host="127.0.0.1", port=0, storage_options=None,
                 chunk_rows=50_000, link_ttl=900.0, warehouse_id="local-warehouse",
                 public_url=None, test_endpoints=False, keep_runs=1000,
                 warehouse_state="RUNNING", warehouse_start_seconds=1.0,
                 warehouse_stop_seconds=0.5, auto_stop_mins=120, auto_stop_seconds=None,
                 idle_seconds=IDLE_SECONDS, result_bytes=RESULT_BYTES):
        self.root, self.token, self.warehouse_id = str(root), token, warehouse_id
        self.idle_seconds = float(idle_seconds)
        self.lake = LocalLakehouse(root, storage_options)
        self.chunk_rows, self.link_ttl = max(1, int(chunk_rows)), float(link_ttl)
        self.inline_limit, self.result_ttl = statements.INLINE_LIMIT, 3600.0
        self.result_bytes = int(result_bytes)  # kept results' encoded chunks, at most
        self.pending_delay = 0.0  # seconds a statement waits "for the warehouse" (tests cancel)
        self.run_delay = 0.0  # seconds a statement stays RUNNING before its query (tests)
        self.task_delay = 0.0  # seconds a job task stays RUNNING before its SQL (tests cancel)
        self.requests = []
        self._lock = threading.RLock()
        self._init_warehouse(warehouse_state, warehouse_start_seconds, warehouse_stop_seconds,
                             auto_stop_mins=auto_stop_mins, auto_stop_seconds=auto_stop_seconds)
        self._faults, self._statements, self._links = [], {}, {}
        self._runs, self._tokens, self._next_id = {}, {}, 1000
        self._deleted_tokens = {}  # token -> run id of a purged run: run-now answers an error
        self._jobs_file = None if "://" in self.root else os.path.join(self.root, "_jobs.json")
        self._jobs = self._load_jobs()
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        self.url = "http://%s:%d" % (host, self.port)
        # Links are built on this address, never on the request's Host header (which
        # a client chooses, so it could point links anywhere).
        self.public_url = (public_url or self.url).rstrip("/")
        self.keep_runs = max(1, int(keep_runs))
        self._thread = None
        self._routes = [(verb, re.compile(pattern + "$"), getattr(self, name))
                        for verb, pattern, name in _ROUTES
                        if test_endpoints or not pattern.startswith("/ipai-test/")]

    # lifecycle
    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.1,),
                                        daemon=True)
        self._thread.start()
        self._start_auto_stop()
        return self

    def stop(self):
        self._auto_stop_closing.set()
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # faults and links on demand
    def inject(self, path_prefix, status, count=1, error_code=None, retry_after=None):
        """The next ``count`` requests under ``path_prefix`` answer ``status`` (error body)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._faults.append({"prefix": path_prefix, "status": int(status), "count": int(count),
                                 "error_code": error_code, "retry_after": retry_after})

    def expire_links(self):
        """Every external link issued so far is expired from now on."""
        with self._lock:
            for link in self._links.values():
                link["expires"] = min(link["expires"], time.time() - 1)
            return len(self._links)

    def _new_id(self):
        with self._lock:
            self._next_id += 1
            return self._next_id

    # HTTP plumbing
    def dispatch(self, handler, body):
        parts = urlsplit(handler.path)
        path, method = parts.path, handler.command
        with self._lock:
            self.requests.append((method, path))
        try:
            self._fault(path)
            if path.startswith("/ipai-external/"):
                return self._serve_link(path.rsplit("/", 1)[-1])
            if path == "/.well-known/databricks-config" and method == "GET":
                # Public on a workspace too: the SDK reads it before it authenticates.
                return self._json(200, {"oidc_endpoint": "%s/oidc" % self.public_url,
                                        "workspace_id": WORKSPACE_ID})
            auth = handler.headers.get("Authorization") or ""
            if not secrets.compare_digest(auth.encode(), ("Bearer %s" % self.token).encode()):
                raise ApiError(401, "Credential was not sent or was of an unsupported type "
                               "for this API.", "UNAUTHENTICATED")
            try:
                data = json.loads(body) if body.strip() else {}
            except ValueError as exc:
                raise ApiError(400, "Invalid JSON given in the body of the request",
                               "MALFORMED_REQUEST") from exc
            if not isinstance(data, dict):
                raise ApiError(400, "The body of the request must be a JSON object",
                               "MALFORMED_REQUEST")
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            for route_method, pattern, func in self._routes:
                match = pattern.match(path)
                if match and route_method == method:
                    return self._json(200, func(data, query, *match.groups()))
            raise ApiError(404, "No API found for '%s %s'" % (method, path), "ENDPOINT_NOT_FOUND")
        except ApiError as err:
            headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else {}
            return self._json(err.status, {"error_code": err.error_code, "message": err.message},
                              headers)
        except Exception:  # a handler bug answers 500; it never drops the connection
            # The request is checked before any handler work: what escapes is a server bug.
            # Its class and traceback go to the server's log; the client gets a reference.
            ref = uuid.uuid4().hex[:12]
            _logger.exception("%s %s failed (request id %s)", method, path, ref)
            return self._json(500, {"error_code": "INTERNAL_ERROR", "message":
                                    "Internal error of the server (request id %s); its log "
                                    "has the details." % ref})

    @staticmethod
    def _json(status, payload, headers=None):
        return status, dict(headers or {}, **{"Content-Type": "application/json"}), \
            json.dumps(payload).encode()

    def _fault(self, path):
        if path.startswith("/ipai-test/"):
            return  # the control endpoints never fail
        with self._lock:
            for fault in self._faults:
                if fault["count"] > 0 and path.startswith(fault["prefix"]):
                    fault["count"] -= 1
                    raise ApiError(fault["status"], "Injected fault (HTTP %d)" % fault["status"],
                                   fault["error_code"], fault["retry_after"])

    def _purge(self):
        """Results are kept for ``result_ttl``, then CLOSED; after twice that, statements
        and their links are forgotten, so a long-running server keeps bounded state.
        Only the last ``keep_runs`` job runs are kept. Called with the lock held."""
        now = time.time()
        for sid, old in list(self._statements.items()):
            if old.state == "SUCCEEDED" and old.created < now - self.result_ttl:
                old.state, old.chunks = "CLOSED", []
            if old.done.is_set() and old.created < now - 2 * self.result_ttl:
                del self._statements[sid]
        # Past the memory for results, the oldest are CLOSED first: a server reading the
        # same million rows every minute would otherwise hold an hour of them.
        kept = sorted((st for st in self._statements.values() if st.state == "SUCCEEDED"),
                      key=lambda st: st.created)
        held = sum(c["byte_count"] for st in kept for c in st.chunks)
        for old in kept:
            if held <= self.result_bytes:
                break
            held -= sum(c["byte_count"] for c in old.chunks)
            old.state, old.chunks = "CLOSED", []
        for token, link in list(self._links.items()):
            if link["expires"] < now - self.result_ttl or link["statement"] not in \
                    self._statements:
                del self._links[token]
        ended = sorted((rid for rid, r in self._runs.items()
                        if (r["run"].get("state") or {}).get("life_cycle_state") in jobs.DONE))
        for rid in ended[:max(0, len(self._runs) - self.keep_runs)]:
            self._runs.pop(rid, None)
        for token, rid in list(self._tokens.items()):
            if rid not in self._runs:  # "if a run with the provided token is deleted, an
                del self._tokens[token]  # error is returned" (Jobs API): remember it
                self._deleted_tokens[token] = rid
        for token in list(self._deleted_tokens)[:max(0, len(self._deleted_tokens)
                                                     - 10 * self.keep_runs)]:
            del self._deleted_tokens[token]  # bounded too: the oldest go first


    # --- the workspace's user --------------------------------------------------------------
    def _me(self, req, query):
        """SCIM ``Me``: the one user the token stands for, the creator of jobs and runs
        (tools call it first to check a token)."""
        return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:workspace:2.0:User"],
                "id": USER_ID, "userName": "local", "displayName": "local", "active": True,
                "emails": [], "groups": [], "entitlements": []}

    # --- test control (bearer auth, for a server in another process) ----------------------
    def _test_faults(self, req, query):
        try:
            self._set_faults(req)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "Invalid test control values") from exc
        return {}

    def _set_faults(self, req):
        if "task_delay" in req:
            self.task_delay = float(req["task_delay"])
        if "pending_delay" in req:
            self.pending_delay = float(req["pending_delay"])
        if "run_delay" in req:
            self.run_delay = float(req["run_delay"])
        if "auto_stop_seconds" in req:
            value = req["auto_stop_seconds"]
            self.auto_stop_seconds = None if value is None else float(value)
        if "warehouse_start_seconds" in req:
            self.warehouse_start_seconds = float(req["warehouse_start_seconds"])
        if req.get("path_prefix"):
            self.inject(req["path_prefix"], int(req.get("status") or 503),
                        int(req.get("count") or 1), req.get("error_code"), req.get("retry_after"))

    def _test_expire(self, req, query):
        return {"expired": self.expire_links()}
