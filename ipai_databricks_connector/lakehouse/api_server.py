"""A local HTTP server speaking the documented Databricks REST API over ``LocalLakehouse``.

It stands in for a workspace in tests, demos and benchmarks: Statement Execution API 2.0
(INLINE / EXTERNAL_LINKS, chunking, links that expire), Jobs 2.1 with SQL-file tasks
(run-now, idempotency tokens, repair), warehouses and clusters listings, and faults on
demand. Plain Python: no Odoo import, only stdlib + pyarrow + duckdb + deltalake::

    server = DatabricksApiServer(root, token="dapi-test").start()
    ...  # talk to server.url with "Authorization: Bearer dapi-test"
    server.stop()

CLI: ``python -m lakehouse.api_server --data DIR --token T [--port 8443]``.
"""

import argparse
import csv
import datetime as dt
import decimal
import io
import json
import os
import re
import secrets
import signal
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import duckdb
import pyarrow as pa
import pyarrow.ipc as ipc

from . import dialect
from .local_backend import _TOKEN, LocalLakehouse, SQLRefused

INLINE_LIMIT = 25 * 1024 * 1024  # documented INLINE result limit
_CHUNK_KEYS = ("chunk_index", "row_offset", "row_count", "byte_count")
DEFAULT_CODES = {400: "INVALID_PARAMETER_VALUE", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "RESOURCE_DOES_NOT_EXIST", 409: "RESOURCE_CONFLICT",
                 429: "REQUEST_LIMIT_EXCEEDED", 500: "INTERNAL_ERROR",
                 503: "TEMPORARILY_UNAVAILABLE"}
# duckdb exception -> (Databricks error class, SQLSTATE)
SQL_ERRORS = [(duckdb.ParserException, "PARSE_SYNTAX_ERROR", "42601"),
              (duckdb.CatalogException, "TABLE_OR_VIEW_NOT_FOUND", "42P01"),
              (duckdb.BinderException, "UNRESOLVED_COLUMN", "42703"),
              (duckdb.ConversionException, "CAST_INVALID_INPUT", "22018"),
              (duckdb.OutOfRangeException, "ARITHMETIC_OVERFLOW", "22003"),
              (duckdb.Error, "INVALID_QUERY", "42000")]
_SCRIPT = [(re.compile(r"^CREATE\s+OR\s+REPLACE\s+TABLE\s+(\w+\.\w+\.\w+)\s+AS\s+(.+)$",
                       re.I | re.S), "overwrite"),
           (re.compile(r"^INSERT\s+INTO\s+(\w+\.\w+\.\w+)\s+(.+)$", re.I | re.S), "append")]
_ROUTES = [
    ("POST", r"/api/2\.0/sql/statements/?", "_execute"),
    ("GET", r"/api/2\.0/sql/statements/([^/]+)", "_get_statement"),
    ("GET", r"/api/2\.0/sql/statements/([^/]+)/result/chunks/(\d+)", "_get_chunk"),
    ("POST", r"/api/2\.0/sql/statements/([^/]+)/cancel", "_cancel"),
    ("POST", r"/api/2\.[12]/jobs/create", "_job_create"),
    ("GET", r"/api/2\.[12]/jobs/get", "_job_get"),
    ("GET", r"/api/2\.[12]/jobs/list", "_job_list"),
    ("POST", r"/api/2\.[12]/jobs/run-now", "_run_now"),
    ("GET", r"/api/2\.[12]/jobs/runs/get", "_run_get"),
    ("GET", r"/api/2\.[12]/jobs/runs/list", "_run_list"),
    ("POST", r"/api/2\.[12]/jobs/runs/repair", "_run_repair"),
    ("POST", r"/api/2\.[12]/jobs/runs/cancel", "_run_cancel"),
    ("GET", r"/api/2\.0/sql/warehouses/?", "_warehouses"),
    ("GET", r"/api/2\.0/sql/warehouses/([^/]+)", "_warehouse"),
    ("POST", r"/api/2\.0/sql/warehouses/([^/]+)/start", "_warehouse_start"),
    ("POST", r"/api/2\.0/sql/warehouses/([^/]+)/stop", "_warehouse_stop"),
    ("GET", r"/api/2\.[01]/clusters/list", "_clusters"),
    ("GET", r"/api/2\.[01]/clusters/get", "_cluster"),
    ("POST", r"/ipai-test/faults", "_test_faults"),
    ("POST", r"/ipai-test/expire-links", "_test_expire")]


class _InlineLimit(Exception):
    def __init__(self, limit):
        super().__init__(
            "Inline byte limit exceeded. Statements executed with disposition=INLINE can "
            "have a result size of at most %d bytes. Please use disposition=EXTERNAL_LINKS "
            "to fetch larger result sets. SQLSTATE: 54000" % limit)


class ApiError(Exception):
    def __init__(self, status, message, error_code=None, retry_after=None):
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after
        self.error_code = error_code or DEFAULT_CODES.get(status, "INTERNAL_ERROR")


def _now_ms():
    return int(time.time() * 1000)


def _iso(epoch):
    stamp = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --- types ------------------------------------------------------------------------------

def column_type(t):
    """Arrow type -> (type_text, type_name, extra) as in a Databricks manifest."""
    if pa.types.is_decimal(t):
        return "DECIMAL(%d,%d)" % (t.precision, t.scale), "DECIMAL", {
            "type_precision": t.precision, "type_scale": t.scale}
    simple = [(pa.types.is_boolean, "BOOLEAN", "BOOLEAN"), (pa.types.is_int8, "TINYINT", "BYTE"),
              (pa.types.is_int16, "SMALLINT", "SHORT"), (pa.types.is_int32, "INT", "INT"),
              (pa.types.is_integer, "BIGINT", "LONG"), (pa.types.is_float32, "FLOAT", "FLOAT"),
              (pa.types.is_floating, "DOUBLE", "DOUBLE"), (pa.types.is_date, "DATE", "DATE"),

              (pa.types.is_string, "STRING", "STRING"),
              (pa.types.is_large_string, "STRING", "STRING"),
              (pa.types.is_binary, "BINARY", "BINARY"), (pa.types.is_null, "VOID", "NULL")]
    if pa.types.is_timestamp(t):  # Databricks: TIMESTAMP is zoned (UTC), TIMESTAMP_NTZ is not
        return ("TIMESTAMP", "TIMESTAMP", {}) if t.tz else ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ", {})
    for test, text, name in simple:
        if test(t):
            return text, name, {}
    if pa.types.is_map(t):
        return "MAP<%s, %s>" % (column_type(t.key_type)[0], column_type(t.item_type)[0]), \
            "MAP", {}
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return "ARRAY<%s>" % column_type(t.value_type)[0], "ARRAY", {}
    if pa.types.is_struct(t):
        fields = ", ".join("%s: %s" % (f.name, column_type(f.type)[0]) for f in t)
        return "STRUCT<%s>" % fields, "STRUCT", {}
    if pa.types.is_interval(t) or pa.types.is_duration(t):
        return "INTERVAL DAY TO SECOND", "INTERVAL", {"type_interval_type": "DAY TO SECOND"}
    return str(t).upper(), "USER_DEFINED_TYPE", {}


def _text(value):
    """One JSON_ARRAY cell: Databricks sends every value as a string (or null)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}.get(repr(value), repr(value))
    if isinstance(value, dt.datetime):
        if value.tzinfo:
            return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z"
        return value.isoformat()
    if isinstance(value, (dt.date, decimal.Decimal, int)):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return json.dumps(_json_value(value), default=str, separators=(",", ":"))  # as Databricks


def _json_value(value):
    """Nested values as Databricks writes them: a map is a JSON object."""
    if isinstance(value, list):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): _json_value(v) for k, v in value}  # pyarrow's map: (key, value)
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, (dt.date, dt.datetime, decimal.Decimal)):
        return _text(value)
    return value


def data_array(table):
    columns = [[_text(v) for v in col.to_pylist()] for col in table.columns]
    return [list(row) for row in zip(*columns, strict=True)]


def _param_value(param):
    """Statement parameter {name, value, type} -> Python value bound by DuckDB (never SQL text)."""
    value, kind = param.get("value"), (param.get("type") or "STRING").upper().replace(" ", "")
    if value is None:
        return None
    try:
        if kind in ("INT", "INTEGER", "BIGINT", "LONG", "SMALLINT", "SHORT", "TINYINT", "BYTE"):
            return int(value)
        if kind.startswith(("DECIMAL", "NUMERIC")):
            match = re.match(r"^\w+\((\d+),(\d+)\)$", kind)
            number = decimal.Decimal(value)
            return number.quantize(decimal.Decimal(1).scaleb(-int(match.group(2)))) \
                if match else number
        if kind in ("DOUBLE", "FLOAT", "REAL"):
            return float(value)
        if kind == "DATE":
            return dt.date.fromisoformat(value)
        if kind.startswith("TIMESTAMP"):
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if kind == "BOOLEAN":
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
    except (ValueError, ArithmeticError, TypeError) as exc:
        raise ApiError(400, "Parameter %r: cannot read %r as %s (%s)"
                       % (param.get("name"), value, kind, exc)) from exc
    return str(value)


def _used_params(sql, values):
    """Only markers present in the SQL are bound (DuckDB rejects extra parameters)."""
    names = {m.group(1) for m in _TOKEN.finditer(sql) if m.group(1)}
    return {k: v for k, v in values.items() if k in names}


def _sql_failure(exc):
    if isinstance(exc, dialect.LocalSQLError):  # already in Databricks' terms
        return {"error_code": exc.error_code, "message": exc.message}, exc.sql_state
    klass, state = next(((k, s) for kind, k, s in SQL_ERRORS if isinstance(exc, kind)),
                        ("INTERNAL_ERROR", "XX000"))
    text = str(exc).strip().replace("\n\n", "\n")
    if "not provided for the following parameters" in text:
        klass, state = "UNBOUND_SQL_PARAMETER", "42P02"
    elif isinstance(exc, duckdb.CatalogException) and "Function with name" in text:
        klass, state = "UNRESOLVED_ROUTINE", "42883"
    code = "BAD_REQUEST" if state[:2] in ("42", "22") else "INTERNAL_ERROR"
    return {"error_code": code, "message": "[%s] %s SQLSTATE: %s" % (klass, text, state)}, state


def _with_status(run):
    """A copy of ``run`` with the ``status`` objects the Jobs API now documents beside the
    deprecated ``state`` (on the run and each task)."""
    run = json.loads(json.dumps(run))
    for item in [run, *run.get("tasks", [])]:
        item["status"] = _status(item.get("state") or {})
    return run


_CODES = {"SUCCESS": ("SUCCESS", "SUCCESS"), "FAILED": ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"),
          "CANCELED": ("CANCELED", "SUCCESS"), "UPSTREAM_FAILED": ("SKIPPED", "CLIENT_ERROR"),
          "TIMEDOUT": ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"),
          "INTERNAL_ERROR": ("INTERNAL_ERROR", "INTERNAL_ERROR")}


def _status(state):
    life = state.get("life_cycle_state") or "PENDING"
    if life in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR"):
        code, kind = _CODES.get(state.get("result_state") or "", ("INTERNAL_ERROR",
                                                                 "INTERNAL_ERROR"))
        return {"state": "TERMINATED", "termination_details": {
            "code": code, "type": kind, "message": state.get("state_message") or ""}}
    return {"state": {"TERMINATING": "TERMINATING", "RUNNING": "RUNNING",
                      "QUEUED": "QUEUED", "BLOCKED": "BLOCKED"}.get(life, "PENDING")}


# --- statements -------------------------------------------------------------------------

class _Statement:
    def __init__(self, sid, req):
        self.id, self.req = sid, req
        self.disposition = (req.get("disposition") or "INLINE").upper()
        self.format = (req.get("format") or "JSON_ARRAY").upper()
        self.state, self.error, self.sql_state = "PENDING", None, None
        self.schema, self.chunks, self.truncated = None, [], False
        self.done, self.cancel = threading.Event(), threading.Event()
        self.created = time.time()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

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


class DatabricksApiServer:
    """See the module docstring."""

    def __init__(self, root, token, host="127.0.0.1", port=0, storage_options=None,
                 chunk_rows=50_000, link_ttl=900.0, warehouse_id="local-warehouse",
                 public_url=None, test_endpoints=False, keep_runs=1000):
        self.root, self.token, self.warehouse_id = str(root), token, warehouse_id
        self.lake = LocalLakehouse(root, storage_options)
        self.chunk_rows, self.link_ttl = max(1, int(chunk_rows)), float(link_ttl)
        self.inline_limit, self.result_ttl = INLINE_LIMIT, 3600.0
        self.pending_delay = 0.0  # seconds a statement waits "for the warehouse" (tests cancel)
        self.warehouse_state = "RUNNING"
        self.requests = []
        self._lock = threading.RLock()
        self._faults, self._statements, self._links = [], {}, {}
        self._runs, self._tokens, self._next_id = {}, {}, 1000
        self._jobs_file = None if "://" in self.root else os.path.join(self.root, "_jobs.json")
        self._jobs = self._load_jobs()
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
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
        return self

    def stop(self):
        self._httpd.shutdown()
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
        except (KeyError, TypeError, ValueError) as exc:  # a malformed request, not a crash
            return self._json(400, {"error_code": "INVALID_PARAMETER_VALUE",
                                    "message": "Malformed request: %s" % exc})
        except OSError as exc:
            return self._json(500, {"error_code": "INTERNAL_ERROR", "message": str(exc)})
        except ApiError as err:
            headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else {}
            return self._json(err.status, {"error_code": err.error_code, "message": err.message},
                              headers)
        except Exception as exc:  # a handler bug answers 500; it never drops the connection
            return self._json(500, {"error_code": "INTERNAL_ERROR",
                                    "message": "%s: %s" % (type(exc).__name__, exc)})

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

    # --- Statement Execution API 2.0 ---------------------------------------------------
    def _execute(self, req, query):
        if not req.get("statement"):
            raise ApiError(400, "statement is required")
        if req.get("warehouse_id") != self.warehouse_id:
            raise ApiError(404, "Warehouse %s does not exist." % req.get("warehouse_id"))
        st = _Statement("01ef" + uuid.uuid4().hex[4:], req)
        if st.disposition not in ("INLINE", "EXTERNAL_LINKS"):
            raise ApiError(400, "Unknown disposition %s" % st.disposition)
        if st.format not in ("JSON_ARRAY", "ARROW_STREAM", "CSV"):
            raise ApiError(400, "Unknown format %s" % st.format)
        if st.disposition == "INLINE" and st.format != "JSON_ARRAY":
            raise ApiError(400, "The %s format is not supported with INLINE disposition; "
                           "use EXTERNAL_LINKS." % st.format)
        wait = re.match(r"^(\d+)s$", req.get("wait_timeout") or "10s")
        if not wait or not (wait.group(1) == "0" or 5 <= int(wait.group(1)) <= 50):
            raise ApiError(400, "wait_timeout must be 0s or between 5s and 50s")
        on_timeout = (req.get("on_wait_timeout") or "CONTINUE").upper()
        if on_timeout not in ("CONTINUE", "CANCEL"):
            raise ApiError(400, "on_wait_timeout must be CONTINUE or CANCEL")
        params = {p.get("name"): _param_value(p) for p in req.get("parameters") or []}
        self.warehouse_state = "RUNNING"  # a statement wakes a stopped warehouse
        with self._lock:
            self._purge()
            self._statements[st.id] = st
        answer = self._statement_json(st)  # snapshot first: an async submit answers PENDING
        threading.Thread(target=self._run_statement, args=(st, req["statement"], params),
                         daemon=True).start()
        if int(wait.group(1)) == 0:
            return answer
        if not st.done.wait(int(wait.group(1))) and on_timeout == "CANCEL":
            self._cancel({}, {}, st.id)
        return self._statement_json(st)

    def _run_statement(self, st, sql, params):
        if self.pending_delay and st.cancel.wait(self.pending_delay):
            return
        with self._lock:
            if st.state != "PENDING":
                return
            st.state = "RUNNING"
        try:
            result = self._collect(st, sql, _used_params(sql, params))
            outcome = {"state": "SUCCEEDED"}
            outcome.update(result)
        except _InlineLimit as exc:
            outcome = {"state": "FAILED", "sql_state": "54000", "error": {
                "error_code": "BAD_REQUEST", "message": str(exc)}}
        except SQLRefused as exc:  # the sandbox runs one SELECT per statement
            outcome = {"state": "FAILED", "sql_state": "0A000", "error": {
                "error_code": "BAD_REQUEST",
                "message": "[UNSUPPORTED_FEATURE] %s SQLSTATE: 0A000" % exc}}
        except duckdb.Error as exc:
            error, state = _sql_failure(exc)
            outcome = {"state": "FAILED", "error": error, "sql_state": state}
        except Exception as exc:  # any backend failure ends the statement FAILED, as on a warehouse
            outcome = {"state": "FAILED", "sql_state": "XX000", "error": {
                "error_code": "INTERNAL_ERROR", "message": "%s: %s SQLSTATE: XX000"
                % (type(exc).__name__, exc)}}
        with self._lock:
            if st.state == "RUNNING":  # a cancel wins over a late result
                for key, value in outcome.items():
                    setattr(st, key, value)
        st.done.set()

    def _collect(self, st, sql, params):
        reader = self.lake.execute(sql, params, catalog=st.req.get("catalog"),
                                   schema=st.req.get("schema"))
        limit = st.req.get("row_limit")
        limit = int(limit) if limit not in (None, "") else None
        batches, rows, truncated = [], 0, False
        for batch in reader:
            if st.cancel.is_set():
                break
            batches.append(batch)
            rows += batch.num_rows
            if limit is not None and rows > limit:
                truncated = True
                break
        table = pa.Table.from_batches(batches, reader.schema)
        byte_limit = st.req.get("byte_limit")
        if byte_limit and table.nbytes > int(byte_limit):  # approximate, by average row size
            keep = int(int(byte_limit) * table.num_rows / table.nbytes)
            table, truncated = table.slice(0, keep), True
        if limit is not None and table.num_rows > limit:
            table = table.slice(0, limit)
        chunks, total_bytes = [], 0
        for offset in range(0, table.num_rows, self.chunk_rows):  # empty result: no chunk
            part = table.slice(offset, self.chunk_rows)
            data = self._encode(part, st)
            size = len(data) if isinstance(data, bytes) else len(json.dumps(data))
            total_bytes += size
            if st.disposition == "INLINE" and total_bytes > self.inline_limit:
                raise _InlineLimit(self.inline_limit)
            chunks.append({"chunk_index": len(chunks), "row_offset": offset,
                           "row_count": part.num_rows, "byte_count": size, "data": data})
        return {"schema": table.schema, "chunks": chunks, "truncated": truncated}

    @staticmethod
    def _encode(part, st):
        if st.disposition == "INLINE":
            return data_array(part)
        if st.format == "ARROW_STREAM":
            sink = pa.BufferOutputStream()
            with ipc.new_stream(sink, part.schema) as writer:
                writer.write_table(part)
            return sink.getvalue().to_pybytes()
        if st.format == "CSV":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(part.column_names)
            writer.writerows(data_array(part))
            return out.getvalue().encode()
        return json.dumps(data_array(part)).encode()

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
        for token, link in list(self._links.items()):
            if link["expires"] < now - self.result_ttl or link["statement"] not in \
                    self._statements:
                del self._links[token]
        ended = sorted((rid for rid, r in self._runs.items()
                        if (r["run"].get("state") or {}).get("life_cycle_state") == "TERMINATED"))
        for rid in ended[:max(0, len(self._runs) - self.keep_runs)]:
            self._runs.pop(rid, None)
        self._tokens = {k: v for k, v in self._tokens.items() if v in self._runs}

    def _statement(self, sid):
        with self._lock:
            st = self._statements.get(sid)
        if st is None:
            raise ApiError(404, "Statement %s not found" % sid, "NOT_FOUND")
        return st

    def _statement_json(self, st):
        with self._lock:
            status = {"state": st.state}
            if st.error:
                status.update(error=dict(st.error), sql_state=st.sql_state)
            answer = {"statement_id": st.id, "status": status}
            if st.state != "SUCCEEDED":
                return answer
            columns = []
            for pos, field in enumerate(st.schema):
                text, name, extra = column_type(field.type)
                columns.append(dict(extra, name=field.name, type_text=text, type_name=name,
                                    position=pos))
            answer["manifest"] = {
                "format": st.format, "schema": {"column_count": len(columns), "columns": columns},
                "total_chunk_count": len(st.chunks), "truncated": st.truncated,
                "total_row_count": sum(c["row_count"] for c in st.chunks),
                "total_byte_count": sum(c["byte_count"] for c in st.chunks),
                "chunks": [{k: c[k] for k in _CHUNK_KEYS} for c in st.chunks]}
        answer["result"] = self._chunk_json(st, 0) if st.chunks else {}
        return answer

    def _chunk_json(self, st, index):
        chunk = st.chunks[index]
        meta = {k: chunk[k] for k in _CHUNK_KEYS}
        if index + 1 < len(st.chunks):
            meta.update(next_chunk_index=index + 1, next_chunk_internal_link=
                        "/api/2.0/sql/statements/%s/result/chunks/%d" % (st.id, index + 1))
        if st.disposition == "INLINE":
            return dict(meta, data_array=chunk["data"])
        token = secrets.token_urlsafe(32)
        expires = time.time() + self.link_ttl
        with self._lock:
            self._links[token] = {"statement": st.id, "chunk": index, "expires": expires}
        base = self.public_url
        return {"external_links": [dict(meta, external_link="%s/ipai-external/%s" % (base, token),
                                        expiration=_iso(expires), http_headers={})]}

    def _get_statement(self, req, query, sid):
        return self._statement_json(self._statement(sid))

    def _get_chunk(self, req, query, sid, index):
        st, index = self._statement(sid), int(index)
        if st.state != "SUCCEEDED":
            raise ApiError(400, "Statement %s is %s; no result to fetch" % (sid, st.state),
                           "BAD_REQUEST")
        if index >= len(st.chunks):
            raise ApiError(400, "chunk_index %d out of range (%d chunks)" % (index, len(st.chunks)))
        return self._chunk_json(st, index)

    def _cancel(self, req, query, sid):
        st = self._statement(sid)
        with self._lock:
            if st.state in ("PENDING", "RUNNING"):
                st.state = "CANCELED"
                st.cancel.set()
                st.done.set()
        return {}

    def _serve_link(self, token):
        with self._lock:
            link = self._links.get(token)
            st = self._statements.get(link["statement"]) if link else None
        now = time.time()
        if link is None or st is None or st.state != "SUCCEEDED" or now > link["expires"]:
            message = "Request has expired" if link else "Access Denied"  # S3 presigned style
            expires = "<Expires>%s</Expires>" % _iso(link["expires"]) if link else ""
            xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                   "<Message>%s</Message>%s<ServerTime>%s</ServerTime><RequestId>%s</RequestId>"
                   "</Error>" % (message, expires, _iso(now), uuid.uuid4().hex[:16].upper()))
            return 403, {"Content-Type": "application/xml"}, xml.encode()
        kind = {"ARROW_STREAM": "application/vnd.apache.arrow.stream", "CSV": "text/csv"}
        return 200, {"Content-Type": kind.get(st.format, "application/json")}, \
            st.chunks[link["chunk"]]["data"]

    # --- Jobs 2.1 ------------------------------------------------------------------------
    def _load_jobs(self):
        if self._jobs_file and os.path.exists(self._jobs_file):
            with open(self._jobs_file, encoding="utf-8") as handle:
                jobs = {int(k): v for k, v in json.load(handle).items()}
            self._next_id = max([self._next_id, *jobs])
            return jobs
        return {}

    def _save_jobs(self):
        if not self._jobs_file:
            return
        os.makedirs(self.root, exist_ok=True)
        tmp = self._jobs_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self._jobs, handle, indent=1)
        os.replace(tmp, self._jobs_file)  # atomic: a crash never leaves half a file

    def _job(self, job_id):
        try:
            return self._jobs[int(job_id)]
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(404, "Job %s does not exist." % job_id) from exc

    def _job_create(self, req, query):
        tasks = req.get("tasks") or []
        if not tasks or not all(t.get("task_key") for t in tasks):
            raise ApiError(400, "Every task needs a task_key and a job needs at least one task")
        job_id = self._new_id()
        with self._lock:
            self._jobs[job_id] = {"job_id": job_id, "creator_user_name": "local",
                                  "created_time": _now_ms(), "settings": req}
            self._save_jobs()
        return {"job_id": job_id}

    def _job_get(self, req, query):
        return self._job(query.get("job_id"))

    def _job_list(self, req, query):
        expand = query.get("expand_tasks") == "true"
        with self._lock:
            jobs = [dict(j, settings={k: v for k, v in j["settings"].items()
                                      if expand or k != "tasks"})
                    for j in self._jobs.values()
                    if not query.get("name") or j["settings"].get("name") == query["name"]]
        return {"jobs": jobs, "has_more": False}

    def _run(self, run_id):
        try:
            return self._runs[int(run_id)]
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(404, "Run %s does not exist." % run_id) from exc

    def _run_now(self, req, query):
        job = self._job(req.get("job_id"))
        token = req.get("idempotency_token")
        if token is not None and (not isinstance(token, str) or len(token) > 64):
            raise ApiError(400, "idempotency_token must be a string of at most 64 characters",
                           "INVALID_PARAMETER_VALUE")
        with self._lock:
            if token and token in self._tokens:  # a retried request never starts a second run
                return {"run_id": self._tokens[token], "number_in_job": self._tokens[token]}
            run_id = self._new_id()
            if token:
                self._tokens[token] = run_id
            params = {p["name"]: p.get("default") for p in job["settings"].get("parameters") or []}
            params.update(req.get("job_parameters") or {})
            tasks = [{"task_key": t["task_key"], "run_id": self._new_id(), "attempt_number": 0,
                      "depends_on": t.get("depends_on") or [], "sql_task": t.get("sql_task"),
                      "state": {"life_cycle_state": "PENDING", "state_message": ""}}
                     for t in job["settings"]["tasks"]]
            run = {"job_id": job["job_id"], "run_id": run_id, "number_in_job": run_id,
                   "run_name": job["settings"].get("name") or "Untitled",
                   "creator_user_name": "local", "trigger": "ONE_TIME", "run_type": "JOB_RUN",
                   "run_page_url": "%s/#job/%s/run/%s" % (self.url, job["job_id"], run_id),
                   "state": {"life_cycle_state": "PENDING", "state_message": ""},
                   "start_time": _now_ms(), "end_time": 0, "setup_duration": 0,
                   "execution_duration": 0, "cleanup_duration": 0, "run_duration": 0,
                   "job_parameters": [{"name": k, "value": v} for k, v in params.items()],
                   "tasks": tasks, "repair_history": [
                       {"type": "ORIGINAL", "start_time": _now_ms(), "end_time": 0,
                        "state": {"life_cycle_state": "PENDING"},
                        "task_run_ids": [t["run_id"] for t in tasks]}]}
            self._runs[run_id] = {"run": run, "params": params, "cancel": threading.Event()}
        keys = {t["task_key"] for t in tasks}
        threading.Thread(target=self._execute_run, args=(run_id, keys), daemon=True).start()
        return {"run_id": run_id, "number_in_job": run_id}

    def _execute_run(self, run_id, keys):
        entry = self._runs[run_id]
        run, history = entry["run"], entry["run"]["repair_history"][-1]
        with self._lock:
            run["state"] = history["state"] = {"life_cycle_state": "RUNNING", "state_message": ""}
        pending = [t for t in run["tasks"] if t["task_key"] in keys]
        while pending:  # dependency order: run a task once none of its upstreams is pending
            waiting = {t["task_key"] for t in pending}
            task = next((t for t in pending if not any(
                d.get("task_key") in waiting for d in t["depends_on"])), pending[0])
            pending.remove(task)
            failed_up = [d["task_key"] for d in task["depends_on"] if next(
                (t["state"].get("result_state") for t in run["tasks"]
                 if t["task_key"] == d.get("task_key")), "SUCCESS") != "SUCCESS"]
            start = _now_ms()
            if entry["cancel"].is_set():
                state = {"life_cycle_state": "TERMINATED", "result_state": "CANCELED",
                         "state_message": "Run cancelled."}
            elif failed_up:
                state = {"life_cycle_state": "SKIPPED", "result_state": "UPSTREAM_FAILED",
                         "state_message": "Upstream task(s) failed: %s" % ", ".join(failed_up)}
            else:
                with self._lock:
                    task.update(start_time=start, state={"life_cycle_state": "RUNNING",
                                                         "state_message": ""})
                state = self._run_task(task, entry["params"])
            with self._lock:
                task.update(state=state, start_time=start, end_time=_now_ms(),
                            execution_duration=_now_ms() - start)
        with self._lock:
            bad = [t for t in run["tasks"] if t["state"].get("result_state") != "SUCCESS"]
            if entry["cancel"].is_set():
                final = {"result_state": "CANCELED", "state_message": "Run cancelled."}
            elif not bad:
                final = {"result_state": "SUCCESS", "state_message": ""}
            else:
                final = {"result_state": "FAILED", "state_message": "Task %s failed with message: "
                         "%s" % (bad[0]["task_key"], bad[0]["state"].get("state_message"))}
            run["state"] = dict(final, life_cycle_state="TERMINATED")
            history.update(state=dict(run["state"]), end_time=_now_ms())
            run.update(end_time=_now_ms(), run_duration=_now_ms() - run["start_time"],
                       execution_duration=_now_ms() - run["start_time"])

    def _run_task(self, task, params):
        """Run the SQL file of a sql_task: CREATE OR REPLACE TABLE / INSERT INTO statements."""
        path = ((task.get("sql_task") or {}).get("file") or {}).get("path")
        try:
            if not path:
                raise ValueError("only sql_task.file tasks are supported by the local server")
            root = os.path.realpath(self.root)
            full = os.path.realpath(os.path.join(root, path.lstrip("/")))
            if os.path.commonpath([root, full]) != root or "\x00" in path:
                raise ValueError("the sql_task file %s is outside the data root" % path)
            with open(full, encoding="utf-8") as handle:
                script = re.sub(r"--[^\n]*", "", handle.read())
            for sql in filter(None, (s.strip() for s in re.split(r";\s*(?:\n|$)", script))):
                match, mode = next(((p.match(sql), m) for p, m in _SCRIPT if p.match(sql)),
                                   (None, None))
                if not match:
                    raise ValueError("unsupported statement (use CREATE OR REPLACE TABLE ... AS "
                                     "or INSERT INTO ...): %s" % sql[:80])
                select = match.group(2)
                self.lake.run_step(select, match.group(1), mode, _used_params(select, params))
        except duckdb.Error as exc:
            return {"life_cycle_state": "TERMINATED", "result_state": "FAILED",
                    "state_message": _sql_failure(exc)[0]["message"]}
        except Exception as exc:  # a broken task fails the task, never the server
            return {"life_cycle_state": "TERMINATED", "result_state": "FAILED",
                    "state_message": "%s: %s" % (type(exc).__name__, exc)}
        return {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS", "state_message": ""}

    def _run_get(self, req, query):
        with self._lock:
            return _with_status(self._run(query.get("run_id"))["run"])

    def _run_list(self, req, query):
        with self._lock:
            runs = [_with_status(e["run"]) for e in self._runs.values()
                    if not query.get("job_id") or str(e["run"]["job_id"]) == query["job_id"]]
        if str(query.get("active_only", "")).lower() == "true":
            runs = [r for r in runs if r["status"]["state"] != "TERMINATED"]
        if str(query.get("completed_only", "")).lower() == "true":
            runs = [r for r in runs if r["status"]["state"] == "TERMINATED"]
        return {"runs": sorted(runs, key=lambda r: -r["run_id"]), "has_more": False}

    def _run_repair(self, req, query):
        entry = self._run(req.get("run_id"))
        run = entry["run"]
        with self._lock:
            if run["state"]["life_cycle_state"] != "TERMINATED":
                raise ApiError(400, "Run %s is still in progress and cannot be repaired."
                               % run["run_id"], "INVALID_STATE")
            repairs = [h["id"] for h in run["repair_history"] if h["type"] == "REPAIR"]
            if repairs and req.get("latest_repair_id") != repairs[-1]:
                raise ApiError(400, "The latest repair ID needs to be provided in order to "
                               "create a new repair")
            if req.get("rerun_all_failed_tasks"):
                keys = {t["task_key"] for t in run["tasks"]
                        if t["state"].get("result_state") != "SUCCESS"}
            else:
                keys = set(req.get("rerun_tasks") or [])
            if not keys or keys - {t["task_key"] for t in run["tasks"]}:
                raise ApiError(400, "Nothing to repair: give rerun_tasks or rerun_all_failed_tasks")
            if req.get("job_parameters"):
                entry["params"].update(req["job_parameters"])
            repair_id = self._new_id()
            for task in run["tasks"]:
                if task["task_key"] in keys:
                    task.update(run_id=self._new_id(), attempt_number=task["attempt_number"] + 1,
                                state={"life_cycle_state": "PENDING", "state_message": ""})
            entry["cancel"].clear()
            run["state"] = {"life_cycle_state": "RUNNING", "state_message": ""}
            run["repair_history"].append(
                {"type": "REPAIR", "id": repair_id, "start_time": _now_ms(), "end_time": 0,
                 "state": {"life_cycle_state": "PENDING"},
                 "task_run_ids": [t["run_id"] for t in run["tasks"] if t["task_key"] in keys]})
        threading.Thread(target=self._execute_run, args=(run["run_id"], keys), daemon=True).start()
        return {"repair_id": repair_id}

    def _run_cancel(self, req, query):
        self._run(req.get("run_id"))["cancel"].set()
        return {}

    # --- compute listings ------------------------------------------------------------------
    def _warehouse_json(self):
        public = urlsplit(self.public_url)
        host, port = public.hostname, public.port or self.port
        return {"id": self.warehouse_id, "name": "Local Delta warehouse",
                "state": self.warehouse_state,
                "cluster_size": "2X-Small", "min_num_clusters": 1, "max_num_clusters": 1,
                "num_clusters": 1, "warehouse_type": "PRO", "enable_serverless_compute": True,
                "creator_name": "local", "auto_stop_mins": 0,
                "odbc_params": {"hostname": host, "port": port, "protocol": public.scheme,
                                "path": "/sql/1.0/warehouses/%s" % self.warehouse_id}}

    def _warehouses(self, req, query):
        return {"warehouses": [self._warehouse_json()]}

    def _warehouse(self, req, query, wid):
        if wid != self.warehouse_id:
            raise ApiError(404, "Warehouse %s does not exist." % wid)
        return self._warehouse_json()

    def _warehouse_start(self, req, query, wid):
        self._warehouse(req, query, wid)
        self.warehouse_state = "RUNNING"
        return {}

    def _warehouse_stop(self, req, query, wid):
        self._warehouse(req, query, wid)
        self.warehouse_state = "STOPPED"  # a statement starts it again, as serverless does
        return {}

    @staticmethod
    def _cluster_json():
        return {"cluster_id": "local-cluster", "cluster_name": "Local DuckDB",
                "state": "RUNNING", "spark_version": "duckdb-%s" % duckdb.__version__,
                "node_type_id": "local", "num_workers": 0,
                "cluster_source": "API", "creator_user_name": "local"}

    def _clusters(self, req, query):
        return {"clusters": [self._cluster_json()]}

    def _cluster(self, req, query):
        if query.get("cluster_id") != "local-cluster":
            raise ApiError(400, "Cluster %s does not exist" % query.get("cluster_id"),
                           "INVALID_PARAMETER_VALUE")
        return self._cluster_json()

    # --- test control (bearer auth, for a server in another process) ----------------------
    def _test_faults(self, req, query):
        if "pending_delay" in req:
            self.pending_delay = float(req["pending_delay"])
        if req.get("path_prefix"):
            self.inject(req["path_prefix"], int(req.get("status") or 503),
                        int(req.get("count") or 1), req.get("error_code"), req.get("retry_after"))
        return {}

    def _test_expire(self, req, query):
        return {"expired": self.expire_links()}


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
    parser.add_argument("--test-endpoints", action="store_true",
                        help="enable the /ipai-test/ fault-injection endpoints (tests only)")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("--token (or DATABRICKS_TOKEN) is required")
    server = DatabricksApiServer(args.data, args.token, host=args.host, port=args.port,
                                 link_ttl=args.link_ttl, chunk_rows=args.chunk_rows,
                                 public_url=args.public_url,
                                 test_endpoints=args.test_endpoints).start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("Databricks API on %s" % server.url, flush=True)  # pylint: disable=print-used
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
