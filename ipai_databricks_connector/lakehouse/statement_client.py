"""Databricks SQL Statement Execution API 2.0 and Jobs API 2.1 client logic.

Transport-agnostic (see the transport contract in the design notes)::

    transport(method, path, json=None, params=None, timeout=None) -> dict
                                                              # raises DatabricksHTTPError
    fetch_link(url, headers) -> bytes                         # raises LinkExpired

``requests_transport`` / ``requests_fetch_link`` implement it with ``requests`` for plain use;
inside Odoo the gateway implements it (and owns retries of 429/503). ``timeout`` (seconds),
when given, is the least read timeout the call needs: a statement submitted with a
server-side ``wait_timeout`` answers only when it ends or the wait does.
"""

import datetime as dt
import decimal
import email.utils
import itertools
import json as jsonlib
import logging
import re
import time

import pyarrow as pa
import pyarrow.ipc as ipc
import requests

from .errors import (
    DatabricksError,
    DatabricksHTTPError,
    LinkExpired,
    StatementCanceled,
    StatementFailed,
    is_retryable,
    parse_sql_state,
)

_logger = logging.getLogger(__name__)
STATEMENTS = "/api/2.0/sql/statements"
JOBS = "/api/2.1/jobs"
LINK_RETRIES = 3  # fresh links fetched per chunk before giving up
LINK_MARGIN = dt.timedelta(seconds=5)  # refresh a link this close to expiry before using it
_DECIMAL = re.compile(r"^(?:DECIMAL|NUMERIC|DEC)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_UTC = dt.timezone.utc
# Databricks' documented wait_timeout: "0s" (answer at once), or 5 to 50 seconds.
SERVER_WAIT_MIN, SERVER_WAIT_MAX = 5, 50
HTTP_MARGIN = 10  # seconds of read timeout beyond the server-side wait


# --- parameters ------------------------------------------------------------------------

def statement_parameter(name, value):
    """One Python value -> a typed ``{name, value, type}`` statement parameter.

    Values always travel as parameters, never inside the SQL text. ``None`` omits ``value``
    (a typed NULL). An aware datetime is sent in UTC with its ``+00:00`` offset, so the
    warehouse's session time zone does not move it; a naive one is read in that zone, as
    a literal would be.
    """
    param = {"name": name}
    if isinstance(value, bool):  # before int: bool is an int subclass
        param.update(type="BOOLEAN", value="true" if value else "false")
    elif isinstance(value, int):
        param.update(type="BIGINT", value=str(value))
    elif isinstance(value, float):
        param.update(type="DOUBLE", value=repr(value))
    elif isinstance(value, decimal.Decimal):
        param.update(type=_decimal_type(value), value=format(value, "f"))
    elif isinstance(value, dt.datetime):  # before date: datetime is a date subclass
        if value.tzinfo:
            value = value.astimezone(_UTC)
        param.update(type="TIMESTAMP", value=value.isoformat(sep=" "))
    elif isinstance(value, dt.date):
        param.update(type="DATE", value=value.isoformat())
    elif value is None:
        param["type"] = "STRING"
    elif isinstance(value, str):
        param.update(type="STRING", value=value)
    else:
        raise TypeError("Unsupported parameter type for %s: %s" % (name, type(value).__name__))
    return param


def _decimal_type(value):
    if not value.is_finite():
        raise ValueError("DECIMAL parameters must be finite: %s" % value)
    _sign, digits, exponent = value.as_tuple()
    scale = max(0, -exponent)
    precision = max(len(digits) + max(0, exponent), scale, 1)
    if precision > 38:
        raise ValueError("DECIMAL parameter exceeds precision 38: %s" % value)
    return "DECIMAL(%d,%d)" % (precision, scale)


def statement_parameters(parameters):
    return [statement_parameter(k, v) for k, v in (parameters or {}).items()]


# --- types -----------------------------------------------------------------------------

_ARROW = {
    "TINYINT": pa.int8(), "BYTE": pa.int8(), "SMALLINT": pa.int16(), "SHORT": pa.int16(),
    "INT": pa.int32(), "INTEGER": pa.int32(), "BIGINT": pa.int64(), "LONG": pa.int64(),
    "FLOAT": pa.float32(), "REAL": pa.float32(), "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(), "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"), "TIMESTAMP_NTZ": pa.timestamp("us"),
}


def column_arrow_type(column):
    """Manifest column -> Arrow type; unknown and complex types are strings."""
    text = (column.get("type_text") or column.get("type_name") or "").strip().upper()
    match = _DECIMAL.match(text)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    if text.startswith("DECIMAL") or (column.get("type_name") or "").upper() == "DECIMAL":
        return pa.decimal128(int(column.get("type_precision") or 10),
                             int(column.get("type_scale") or 0))
    return _ARROW.get(text, pa.string())


def manifest_arrow_schema(manifest):
    columns = sorted(((manifest or {}).get("schema") or {}).get("columns") or [],
                     key=lambda c: c.get("position", 0))
    return pa.schema([pa.field(c["name"], column_arrow_type(c)) for c in columns])


def _timestamp(text):
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.astimezone(_UTC).replace(tzinfo=None) if value.tzinfo else value


def _bool(text):
    if text.lower() not in ("true", "false"):
        raise ValueError("not a boolean: %r" % text)
    return text.lower() == "true"


def _parser(arrow_type):
    if pa.types.is_integer(arrow_type):
        return int
    if pa.types.is_floating(arrow_type):
        return float  # also reads "NaN", "Infinity", "-Infinity"
    if pa.types.is_decimal(arrow_type):
        return decimal.Decimal  # exact: never through float
    if pa.types.is_boolean(arrow_type):
        return _bool
    if pa.types.is_date(arrow_type):
        return dt.date.fromisoformat
    if pa.types.is_timestamp(arrow_type):
        return _timestamp  # JSON_ARRAY timestamps are UTC
    return str


def rows_to_batch(rows, schema):
    """JSON_ARRAY rows (strings / nulls) -> a typed ``pyarrow.RecordBatch``."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    arrays = []
    for field, values in zip(schema, columns, strict=True):
        parse = _parser(field.type)
        arrays.append(pa.array([None if v is None else parse(v) for v in values],
                               type=field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# --- statements ------------------------------------------------------------------------

class Result:
    """A SUCCEEDED statement; data is streamed chunk by chunk from ``batches()``."""

    def __init__(self, client, response):
        self.client, self.response = client, response
        self.statement_id = response["statement_id"]
        self.manifest = response.get("manifest") or {}
        self.schema = manifest_arrow_schema(self.manifest)
        self.truncated = bool(self.manifest.get("truncated"))
        self.total_row_count = self.manifest.get("total_row_count")

    def batches(self):
        return self.client.iter_batches(self.response)

    def reader(self):
        """A ``pyarrow.RecordBatchReader``; its schema is the first batch's (the stream's own
        schema for ARROW_STREAM), else the manifest schema for an empty result."""
        batches = self.batches()
        first = next(batches, None)
        if first is None:
            return pa.RecordBatchReader.from_batches(self.schema, iter(()))
        schema = first.schema

        def conform():
            for batch in itertools.chain([first], batches):
                yield batch if batch.schema.equals(schema) else batch.cast(schema)

        return pa.RecordBatchReader.from_batches(schema, conform())


class StatementExecutionClient:
    def __init__(self, transport, fetch_link, warehouse_id, catalog=None, schema=None,
                 poll_initial=0.1, poll_max=2.0, timeout=600, sleep=time.sleep,
                 clock=time.monotonic):
        self.transport, self.fetch_link = transport, fetch_link
        self.warehouse_id, self.catalog, self.schema = warehouse_id, catalog, schema
        self.poll_initial, self.poll_max, self.timeout = poll_initial, poll_max, timeout
        self.sleep, self.clock = sleep, clock

    def submit(self, statement, parameters=None, disposition="EXTERNAL_LINKS",
               format="ARROW_STREAM", row_limit=None, byte_limit=None, wait_timeout=0):
        """Start a statement; returns the StatementResponse.

        ``wait_timeout`` (seconds) is how long the server may hold the answer until the
        statement ends (see ``server_wait``); 0, the default, answers at once with the
        statement id, as a caller that may cancel it needs. ``on_wait_timeout`` is CONTINUE:
        a statement still running when the wait ends goes on, and ``wait`` polls it.
        """
        wait = server_wait(wait_timeout)
        body = {"warehouse_id": self.warehouse_id, "statement": statement,
                "disposition": disposition, "format": format,
                "wait_timeout": "%ds" % wait, "on_wait_timeout": "CONTINUE"}
        optional = {"catalog": self.catalog, "schema": self.schema, "row_limit": row_limit,
                    "byte_limit": byte_limit,
                    "parameters": statement_parameters(parameters) or None}
        body.update({k: v for k, v in optional.items() if v is not None})
        if not wait:
            return self.transport("POST", STATEMENTS, json=body)
        return self.transport("POST", STATEMENTS, json=body, timeout=wait + HTTP_MARGIN)

    def run(self, statement, parameters=None, **kw):
        """Submit and wait until SUCCEEDED, within ``timeout``: the server holds the answer
        first (up to 50 s, never beyond the budget left), then ``wait`` polls only a
        statement still PENDING or RUNNING. Returns the final StatementResponse."""
        deadline = self.clock() + self.timeout
        response = self.submit(statement, parameters, wait_timeout=deadline - self.clock(), **kw)
        return self.wait(response, deadline=deadline)

    def get(self, statement_id):
        return self.transport("GET", "%s/%s" % (STATEMENTS, statement_id))

    def cancel(self, statement_id):
        return self.transport("POST", "%s/%s/cancel" % (STATEMENTS, statement_id), json={})

    def wait(self, statement_id_or_response, deadline=None):
        """Poll until SUCCEEDED (capped exponential backoff); raise on any other end state.
        ``deadline`` (on ``clock``) defaults to ``timeout`` from now."""
        response = statement_id_or_response
        if not isinstance(response, dict):
            response = self.get(response)
        statement_id = response["statement_id"]
        if deadline is None:
            deadline = self.clock() + self.timeout
        delay = self.poll_initial
        while True:
            status = response.get("status") or {}
            state = status.get("state")
            if state == "SUCCEEDED":
                return response
            if state == "FAILED":
                raise _failure(statement_id, status)
            if state in ("CANCELED", "CLOSED"):
                raise StatementCanceled("Statement %s ended %s" % (statement_id, state),
                                        error_code=state)
            remaining = deadline - self.clock()
            if remaining <= 0:
                self._cancel_quietly(statement_id)
                raise DatabricksError("Statement %s still %s after %ss; canceled"
                                      % (statement_id, state, self.timeout), retryable=False)
            self.sleep(min(delay, remaining))
            delay = min(delay * 2, self.poll_max)
            response = self.get(statement_id)

    def _cancel_quietly(self, statement_id):
        try:
            self.cancel(statement_id)
        except DatabricksError as exc:  # best effort: the timeout error matters more
            _logger.info("could not cancel statement %s: %s", statement_id, exc)

    def execute(self, statement, parameters=None, **kw):
        return Result(self, self.run(statement, parameters, **kw))

    def iter_batches(self, response):
        """Yield RecordBatches over every chunk, one chunk in memory at a time."""
        if (response.get("status") or {}).get("state") != "SUCCEEDED":
            response = self.wait(response)
        statement_id = response["statement_id"]
        manifest = response.get("manifest") or {}
        fmt = manifest.get("format") or "JSON_ARRAY"
        schema = manifest_arrow_schema(manifest)
        chunk = response.get("result") or {}
        if not chunk and manifest.get("total_chunk_count"):
            chunk = self._chunk(statement_id, 0)
        while chunk:
            links = chunk.get("external_links")
            if links:
                for link in links:
                    yield from self._link_batches(statement_id, link, fmt, schema)
                chunk = links[-1]  # the last link carries the next chunk pointers
            elif chunk.get("data_array"):
                yield rows_to_batch(chunk["data_array"], schema)
            chunk = self._next_chunk(statement_id, chunk)

    def _chunk(self, statement_id, index):
        return self.transport("GET", "%s/%s/result/chunks/%d" % (STATEMENTS, statement_id, index))

    def _next_chunk(self, statement_id, chunk):
        if chunk.get("next_chunk_index") is not None:
            return self._chunk(statement_id, int(chunk["next_chunk_index"]))
        if chunk.get("next_chunk_internal_link"):
            return self.transport("GET", chunk["next_chunk_internal_link"])
        return None

    def _link_batches(self, statement_id, link, fmt, schema):
        index = link.get("chunk_index")
        for attempt in range(LINK_RETRIES + 1):
            try:
                # Trust the expiration field except on the last try (client clock may be skewed).
                if attempt < LINK_RETRIES and _expired(link):
                    raise LinkExpired("External link for chunk %s expired" % index)
                data = self.fetch_link(link["external_link"], headers=link.get("http_headers"))
                break
            except LinkExpired:
                if attempt == LINK_RETRIES or index is None:
                    raise
                fresh = self._chunk(statement_id, int(index)).get("external_links") or []
                link = next((x for x in fresh if x.get("chunk_index") == index), link)
        if fmt == "ARROW_STREAM":
            # Download first, then decode: a retry never repeats batches already yielded.
            yield from ipc.open_stream(pa.BufferReader(data))
        elif fmt == "JSON_ARRAY":
            yield rows_to_batch(jsonlib.loads(data), schema)
        else:
            raise DatabricksError("Unsupported EXTERNAL_LINKS format %s" % fmt)


def server_wait(seconds):
    """A wait in seconds -> the whole seconds Databricks accepts as ``wait_timeout``:
    at most 50, and 0 (no wait) below 5."""
    wait = min(int(max(0, seconds or 0)), SERVER_WAIT_MAX)
    return wait if wait >= SERVER_WAIT_MIN else 0


def _expired(link):
    text = link.get("expiration")
    if not text:
        return False
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=_UTC)
    return when - LINK_MARGIN <= dt.datetime.now(_UTC)


def _failure(statement_id, status):
    error = status.get("error") or {}
    message = error.get("message") or "Statement %s failed" % statement_id
    code = error.get("error_code")
    sql_state = status.get("sql_state") or error.get("sql_state") or parse_sql_state(message)
    return StatementFailed(message, error_code=code, sql_state=sql_state,
                           retryable=is_retryable(code, sql_state))


# --- jobs ------------------------------------------------------------------------------

RUN_DONE = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")


def life_cycle_state(run):
    return (run.get("state") or {}).get("life_cycle_state") or \
        (run.get("status") or {}).get("state")


def _epoch_ms(value):
    # 0 means "not yet" in the Jobs API; naive UTC, as Odoo stores datetimes
    if not value:
        return None
    return dt.datetime.fromtimestamp(value / 1000, _UTC).replace(tzinfo=None)


def run_summary(run):
    """A run -> {run_id, state, result, start, end (naive UTC), duration_seconds, message}."""
    state = run.get("state") or {}
    start, end = _epoch_ms(run.get("start_time")), _epoch_ms(run.get("end_time"))
    duration = run.get("run_duration") or sum(
        run.get(k) or 0 for k in ("setup_duration", "execution_duration", "cleanup_duration"))
    if not duration and start and end:
        duration = (end - start).total_seconds() * 1000
    return {"run_id": run.get("run_id"), "state": life_cycle_state(run),
            "result": state.get("result_state"), "start": start, "end": end,
            "duration_seconds": duration / 1000 if duration or end else None,
            "message": state.get("state_message") or ""}


def _job_value(value):
    # job_parameters is a string map
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class JobsClient:
    def __init__(self, transport, poll_initial=0.5, poll_max=10.0, timeout=3600,
                 sleep=time.sleep, clock=time.monotonic):
        self.transport = transport
        self.poll_initial, self.poll_max, self.timeout = poll_initial, poll_max, timeout
        self.sleep, self.clock = sleep, clock

    def run_now(self, job_id, idempotency_token, job_parameters=None):
        """Trigger a run. The same token (the caller's queue-job uuid) never starts a second
        run: Databricks answers the first run's id."""
        token = str(idempotency_token or "")
        if not token or len(token) > 64:
            raise ValueError("idempotency_token must have 1 to 64 characters")
        body = {"job_id": int(job_id), "idempotency_token": token}
        if job_parameters:
            body["job_parameters"] = {k: _job_value(v) for k, v in job_parameters.items()}
        return self.transport("POST", JOBS + "/run-now", json=body)["run_id"]

    def get_run(self, run_id):
        return self.transport("GET", JOBS + "/runs/get", params={"run_id": run_id})

    def wait_run(self, run_id, progress=None):
        """Poll until the run's life cycle ends; ``progress(run)`` is called after each poll."""
        deadline, delay = self.clock() + self.timeout, self.poll_initial
        while True:
            run = self.get_run(run_id)
            if progress:
                progress(run)
            if life_cycle_state(run) in RUN_DONE:
                return run
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise DatabricksError("Run %s still %s after %ss"
                                      % (run_id, life_cycle_state(run), self.timeout))
            self.sleep(min(delay, remaining))
            delay = min(delay * 2, self.poll_max)

    def repair_run(self, run_id, latest_repair_id=None):
        body = {"run_id": run_id, "rerun_all_failed_tasks": True}
        if latest_repair_id is not None:
            body["latest_repair_id"] = latest_repair_id
        return self.transport("POST", JOBS + "/runs/repair", json=body)["repair_id"]

    def cancel_run(self, run_id):
        return self.transport("POST", JOBS + "/runs/cancel", json={"run_id": run_id})

    run_summary = staticmethod(run_summary)


# --- requests-based transport (plain Python use) ---------------------------------------

def _retry_after(value):
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)  # the HTTP-date form
        return max(0.0, (when - dt.datetime.now(_UTC)).total_seconds())


def _http_error(resp, cls=DatabricksHTTPError):
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = body.get("error_code")
    message = body.get("message") or body.get("error") or resp.text[:500] or resp.reason
    try:
        retry_after = _retry_after(resp.headers.get("Retry-After"))
    except (TypeError, ValueError):
        retry_after = None
    sql_state = parse_sql_state(message)
    return cls(message, error_code=code, sql_state=sql_state, status=resp.status_code,
               retryable=is_retryable(code, sql_state, resp.status_code), retry_after=retry_after)


def _network_error(exc):
    return DatabricksError("Network error: %s" % exc, error_code="UNAVAILABLE", retryable=True)


def requests_transport(base_url, token, timeout=(5, 60), session=None, retries=0,
                       sleep=time.sleep, max_wait=60.0):
    """A transport over ``requests`` with Bearer auth. ``retries`` > 0 re-sends a 429/503
    answer after its Retry-After (else 1, 2, 4 ... s, capped by ``max_wait``)."""
    session = session or requests.Session()
    base = base_url.rstrip("/")
    default = timeout

    def read_timeout(least):
        if not least:
            return default
        connect, read = default if isinstance(default, tuple) else (default, default)
        return (connect, max(read, least))

    headers = {"Authorization": "Bearer %s" % token, "Accept": "application/json"}

    def transport(method, path, json=None, params=None, timeout=None):
        attempt = 0
        pair = read_timeout(timeout)
        while True:
            try:
                resp = session.request(method, base + path, json=json, params=params,
                                       headers=headers, timeout=pair)
            except requests.RequestException as exc:
                raise _network_error(exc) from exc
            if resp.ok:
                return resp.json() if resp.content.strip() else {}
            err = _http_error(resp)
            if attempt >= retries or resp.status_code not in (429, 503):
                raise err
            sleep(min(err.retry_after if err.retry_after is not None else 2 ** attempt,
                      max_wait))
            attempt += 1

    return transport


def requests_fetch_link(timeout=(5, 120), session=None):
    """Download presigned links WITHOUT the workspace token (the URL carries its credential)."""
    session = session or requests.Session()

    def fetch_link(url, headers=None):
        try:
            resp = session.get(url, headers=dict(headers or {}), timeout=timeout, stream=True)
            with resp:
                if resp.status_code in (403, 404, 410):
                    raise _http_error(resp, LinkExpired)
                if not resp.ok:
                    raise _http_error(resp)
                # 1 MiB reads: ``.content`` reads 10 kB at a time, a Python call each
                return b"".join(resp.iter_content(1 << 20))
        except requests.RequestException as exc:
            raise _network_error(exc) from exc

    return fetch_link
