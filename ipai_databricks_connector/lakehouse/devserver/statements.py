"""Statement Execution API 2.0 of the local server: INLINE and EXTERNAL_LINKS results in
chunks (JSON_ARRAY, ARROW_STREAM, CSV), wait_timeout, cancel, links that expire."""

import csv
import io
import json
import logging
import re
import secrets
import threading
import time
import uuid

import duckdb
import pyarrow as pa
import pyarrow.ipc as ipc

from ..local_backend import SQLRefused
from .encoding import column_type, data_array, iso, parameters, used_params
from .errors import ApiError, InlineLimit, sql_failure

_logger = logging.getLogger(__name__)
INLINE_LIMIT = 25 * 1024 * 1024  # documented INLINE result limit
_CHUNK_KEYS = ("chunk_index", "row_offset", "row_count", "byte_count")
ROUTES = [
    ("POST", r"/api/2\.0/sql/statements/?", "_execute"),
    ("GET", r"/api/2\.0/sql/statements/([^/]+)", "_get_statement"),
    ("GET", r"/api/2\.0/sql/statements/([^/]+)/result/chunks/(\d+)", "_get_chunk"),
    ("POST", r"/api/2\.0/sql/statements/([^/]+)/cancel", "_cancel")]


def _text(req, key):
    """An optional string field of the request (None when absent), else ApiError 400."""
    value = req.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, "%s must be a string, not %s" % (key, json.dumps(value)[:80]))
    return value


def _count(req, key):
    """An optional integer >= 0 (a JSON number, or a string of digits as proto JSON
    allows for int64 fields), else ApiError 400."""
    value = req.get(key)
    if value is None:
        return None
    if isinstance(value, str) and re.match(r"^\d+$", value.strip()):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ApiError(400, "%s must be an integer >= 0, not %s" % (key, json.dumps(value)[:80]))
    return value


class _Statement:
    def __init__(self, sid, req, disposition, fmt, limits):
        self.id, self.req = sid, req
        self.disposition, self.format = disposition, fmt
        self.row_limit, self.byte_limit = limits["row_limit"], limits["byte_limit"] or None
        self.state, self.error, self.sql_state = "PENDING", None, None
        self.schema, self.chunks, self.truncated = None, [], False
        self.done, self.cancel = threading.Event(), threading.Event()
        self.created = time.time()


class StatementsMixin:
    """Statements; the server gives ``lake``, ``warehouse_id``, ``chunk_rows``, ``link_ttl``,
    ``inline_limit``, ``pending_delay``, ``run_delay``, ``public_url``, ``_lock``,
    ``_statements``, ``_links``, ``_purge`` and the warehouse's ``start_warehouse`` /
    ``_wait_warehouse_running`` / ``_touch_warehouse``."""

    def _execute(self, req, query):
        statement = _text(req, "statement")
        if not statement or not statement.strip():
            raise ApiError(400, "statement is required")
        if _text(req, "warehouse_id") != self.warehouse_id:
            raise ApiError(404, "Warehouse %s does not exist." % req.get("warehouse_id"))
        for key in ("catalog", "schema"):
            _text(req, key)
        limits = {key: _count(req, key) for key in ("row_limit", "byte_limit")}
        disposition = (_text(req, "disposition") or "INLINE").upper()
        if disposition not in ("INLINE", "EXTERNAL_LINKS"):
            raise ApiError(400, "disposition must be INLINE or EXTERNAL_LINKS, not %s"
                           % disposition)
        fmt = (_text(req, "format") or "JSON_ARRAY").upper()
        if fmt not in ("JSON_ARRAY", "ARROW_STREAM", "CSV"):
            raise ApiError(400, "format must be JSON_ARRAY, ARROW_STREAM or CSV, not %s" % fmt)
        if disposition == "INLINE" and fmt != "JSON_ARRAY":
            raise ApiError(400, "The %s format is not supported with INLINE disposition; "
                           "use EXTERNAL_LINKS." % fmt)
        wait = re.match(r"^(\d+)s$", _text(req, "wait_timeout") or "10s")
        if not wait or not (wait.group(1) == "0" or 5 <= int(wait.group(1)) <= 50):
            raise ApiError(400, "wait_timeout must be 0s or between 5s and 50s")
        on_timeout = (_text(req, "on_wait_timeout") or "CONTINUE").upper()
        if on_timeout not in ("CONTINUE", "CANCEL"):
            raise ApiError(400, "on_wait_timeout must be CONTINUE or CANCEL")
        params = parameters(req.get("parameters"))
        st = _Statement("01ef" + uuid.uuid4().hex[4:], req, disposition, fmt, limits)
        self._touch_warehouse()  # a submit is activity: no auto-stop under it
        self.start_warehouse()  # a statement wakes a stopped warehouse (then waits PENDING)
        with self._lock:
            self._purge()
            self._statements[st.id] = st
        answer = self._statement_json(st)  # snapshot first: an async submit answers PENDING
        threading.Thread(target=self._run_statement, args=(st, statement, params),
                         daemon=True).start()
        if int(wait.group(1)) == 0:
            return answer
        if not st.done.wait(int(wait.group(1))) and on_timeout == "CANCEL":
            self._cancel({}, {}, st.id)
        return self._statement_json(st)

    def _run_statement(self, st, sql, params):
        if self.pending_delay and st.cancel.wait(self.pending_delay):
            return
        if not self._wait_warehouse_running(st.cancel):
            return
        with self._lock:
            if st.state != "PENDING":
                return
            st.state = "RUNNING"
        if self.run_delay and st.cancel.wait(self.run_delay):
            return  # canceled while "running" (tests: a slow statement)
        try:
            result = self._collect(st, sql, used_params(sql, params))
            outcome = {"state": "SUCCEEDED"}
            outcome.update(result)
        except InlineLimit as exc:
            outcome = {"state": "FAILED", "sql_state": "54000", "error": {
                "error_code": "BAD_REQUEST", "message": str(exc)}}
        except SQLRefused as exc:  # the sandbox runs one SELECT per statement
            outcome = {"state": "FAILED", "sql_state": "0A000", "error": {
                "error_code": "BAD_REQUEST",
                "message": "[UNSUPPORTED_FEATURE] %s SQLSTATE: 0A000" % exc}}
        except duckdb.Error as exc:
            error, state = sql_failure(exc)
            outcome = {"state": "FAILED", "error": error, "sql_state": state}
        except Exception:  # any backend failure ends the statement FAILED, as on a warehouse
            ref = uuid.uuid4().hex[:12]  # the details go to the server's log, not the client
            _logger.exception("statement %s failed on an internal error (error id %s)",
                              st.id, ref)
            outcome = {"state": "FAILED", "sql_state": "XX000", "error": {
                "error_code": "INTERNAL_ERROR", "message": "[INTERNAL_ERROR] The statement "
                "failed on an internal error of the server (error id %s). SQLSTATE: XX000"
                % ref}}
        with self._lock:
            if st.state == "RUNNING":  # a cancel wins over a late result
                for key, value in outcome.items():
                    setattr(st, key, value)
        self._touch_warehouse()  # the idle time counts from the last statement's end
        st.done.set()

    def _collect(self, st, sql, params):
        """Run the statement and encode its result chunk by chunk as the batches come: only
        the encoded chunks (served later) and one chunk of Arrow data are held, never the
        whole result as an Arrow table besides them."""
        reader = self.lake.execute(sql, params, catalog=st.req.get("catalog"),
                                   schema=st.req.get("schema"), batch_size=self.chunk_rows)
        limit, byte_limit = st.row_limit, st.byte_limit
        chunks, pending, state = [], [], {"rows": 0, "bytes": 0, "encoded": 0}

        def flush(final=False):
            while pending and (final or sum(b.num_rows for b in pending) >= self.chunk_rows):
                part = pa.Table.from_batches(pending, reader.schema).combine_chunks()
                head, rest = part.slice(0, self.chunk_rows), part.slice(self.chunk_rows)
                pending[:] = rest.to_batches() if rest.num_rows else []
                data = self._encode(head, st)
                size = len(data) if isinstance(data, bytes) else len(json.dumps(data))
                state["encoded"] += size
                if st.disposition == "INLINE" and state["encoded"] > self.inline_limit:
                    raise InlineLimit(self.inline_limit)
                chunks.append({"chunk_index": len(chunks), "row_offset": state["rows"],
                               "row_count": head.num_rows, "byte_count": size, "data": data})
                state["rows"] += head.num_rows

        truncated, seen = False, 0
        for batch in reader:
            if st.cancel.is_set():
                break
            if limit is not None and seen + batch.num_rows > limit:
                batch, truncated = batch.slice(0, limit - seen), True
            if byte_limit and batch.num_rows and state["bytes"] + batch.nbytes > byte_limit:
                # approximate, by the batch's average row size
                keep = int((byte_limit - state["bytes"]) * batch.num_rows / batch.nbytes)
                batch, truncated = batch.slice(0, max(0, keep)), True
            seen += batch.num_rows
            state["bytes"] += batch.nbytes
            if batch.num_rows:
                pending.append(batch)
                flush()
            if truncated:
                break
        flush(final=True)  # an empty result has no chunk
        return {"schema": reader.schema, "chunks": chunks, "truncated": truncated}

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
                status["error"] = dict(st.error)
            if st.sql_state:  # only a FAILED statement has one
                status["sql_state"] = st.sql_state
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
                                        expiration=iso(expires), http_headers={})]}

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

    def _end_statements(self, message):
        """The warehouse stops: its pending and running statements end CANCELED (the
        Statement Execution API does not document this case; CANCELED with the reason as
        the error message is the choice). Called with the lock held."""
        for st in self._statements.values():
            if st.state in ("PENDING", "RUNNING"):
                st.state, st.error = "CANCELED", {"error_code": "CANCELLED", "message": message}
                st.cancel.set()
                st.done.set()

    def _serve_link(self, token):
        with self._lock:
            link = self._links.get(token)
            st = self._statements.get(link["statement"]) if link else None
        now = time.time()
        if link is None or st is None or st.state != "SUCCEEDED" or now > link["expires"]:
            message = "Request has expired" if link else "Access Denied"  # S3 presigned style
            expires = "<Expires>%s</Expires>" % iso(link["expires"]) if link else ""
            xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                   "<Message>%s</Message>%s<ServerTime>%s</ServerTime><RequestId>%s</RequestId>"
                   "</Error>" % (message, expires, iso(now), uuid.uuid4().hex[:16].upper()))
            return 403, {"Content-Type": "application/xml"}, xml.encode()
        kind = {"ARROW_STREAM": "application/vnd.apache.arrow.stream", "CSV": "text/csv"}
        return 200, {"Content-Type": kind.get(st.format, "application/json")}, \
            st.chunks[link["chunk"]]["data"]
