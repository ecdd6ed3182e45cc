"""The gateway's service layer: every external HTTP call goes through ``call``."""

import base64
import hmac
import json as jsonlib
import logging
import math
import os
import sys
import threading
import time
from urllib.parse import urlsplit

import requests

from odoo import api, fields, models, release
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.exceptions import AccessError
from odoo.tools import config

from ..exceptions import (
    GatewayCircuitOpen,
    GatewayError,
    GatewayHostRefused,
    GatewayHTTPError,
    GatewayNotRepeated,
    GatewayQuotaExceeded,
    GatewayRateLimited,
    GatewayResponseTooLarge,
    GatewaySecretMissing,
    GatewayServiceNotFound,
    GatewayTimeout,
    GatewayUnavailable,
)
from ..resilience import breaker as bk
from ..resilience import client, logfilter, ratelimit
from ..resilience.policy import RetryPolicy, may_retry, parse_retry_after
from ..resilience.redact import is_sensitive_name, redact_headers, redact_text, redact_url
from .ipai_gateway_service import AUTH_SECRETS

_logger = logging.getLogger(__name__)
logfilter.install()  # urllib3 logs request lines with their query strings at DEBUG
USER_GROUP = "ipai_microservices_gateway.gateway_group_user"
MANAGER_GROUP = "ipai_microservices_gateway.gateway_group_manager"
# Where the /ipai/health token is read from (names, not values).
HEALTH_TOKEN_ENV = "IPAI_HEALTH_TOKEN"  # noqa: S105
HEALTH_TOKEN_OPTION = "ipai_health_token"  # noqa: S105 - the odoo.conf option
HEALTH_CACHE_SECONDS = 5.0  # how stale a monitor's view of /ipai/health may be
HEALTH_COUNT_CAP = 100_000
# Jobs done in the last hour, bounded: past the cap it only says "at least that many".
# The partial index made in ipai.gateway.init() keeps it a range scan.
HEALTH_JOBS_QUERY = (
    "SELECT count(*) FROM (SELECT 1 FROM queue_job WHERE state = 'done' "
    "AND date_done >= (now() at time zone 'UTC') - interval '1 hour' LIMIT %s) AS j"
)
UNAVAILABLE_STATUSES = (502, 503, 504)
LLM_KINDS = ("llm", "agent")  # services whose answers carry token usage
# Headers a caller may not set: the base URL decides the host, requests frames the body.
CALLER_FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding",
                                      "connection"})

# One requests.Session per process and thread: connection pooling (keep-alive)
# without sharing a session across threads.
_local = threading.local()
_oauth_tokens = {}  # (db, service id, secret ciphertext) -> (access token, expires at)
_oauth_lock = threading.Lock()
_health_cache = {}  # dbname -> (computed at, summary, http status)
# (db, service id, auth settings, ciphertext) -> (cached at, (headers, secrets))
_auth_cache = {}
AUTH_CACHE_SECONDS = 300.0  # how long a decrypted credential stays in a process's memory


SLOT_LOCK_SPACE = 0x49504157  # "IPAW": the gateway's advisory-lock key space
SLOT_RETRY_SECONDS = 2  # a job finding every slot of its service taken waits this long


def _slot_key(service_id, slot):
    """One bigint advisory-lock key per (service, slot); slots < 1024."""
    return (SLOT_LOCK_SPACE << 32) | ((service_id & 0x3FFFFF) << 10) | slot


TEXT_TYPES = ("text/", "xml", "javascript", "x-www-form-urlencoded", "csv", "yaml")


def _textual(content_type, content):
    """Is an answer of this type text? Without a type: when it is valid UTF-8."""
    content_type = content_type.lower()
    if content_type:
        return any(t in content_type for t in TEXT_TYPES)
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _file_part(name, value):
    """One multipart part as requests takes it: ``(filename, bytes, content type)``."""
    if isinstance(value, dict):
        raw = value.get("content")
        if raw is None:
            raw = base64.b64decode(value.get("content_b64") or "", validate=True)
        elif isinstance(raw, str):
            raw = raw.encode()
        return (value.get("filename") or name, raw,
                value.get("content_type") or "application/octet-stream")
    if isinstance(value, (bytes, str)):
        return (name, value)
    return tuple(value)


def _portable_body(body):
    """``body`` (from ``_body``) as JSON for a queued call: bytes in base64."""
    portable = {}
    if isinstance(body.get("data"), bytes):
        portable["content_b64"] = base64.b64encode(body["data"]).decode()
    elif "data" in body:
        portable["data"] = body["data"]
    if body.get("files"):
        portable["files"] = {
            name: {"filename": part[0], "content_type": part[2] if len(part) > 2 else None,
                   "content_b64": base64.b64encode(
                       part[1].encode() if isinstance(part[1], str) else part[1]).decode()}
            for name, part in body["files"]}
    return portable


# Where Odoo's RPC layers call a public model method from: /jsonrpc and
# /web/dataset/call_kw (odoo.service.model.call_kw) and /json/2 (the rpc addon).
RPC_CALLERS = {("odoo.service.model", "call_kw"),
               ("odoo.addons.rpc.controllers.json2", "web_json_2_rpc")}


def _called_over_rpc():
    """Was the method that calls this one called by Odoo's RPC layer itself (so
    that its result is serialized as JSON)? Bytes then travel as base64. The
    request object cannot tell: /jsonrpc hides it while the method runs."""
    caller = sys._getframe(2)  # 0: here, 1: the public method, 2: its caller
    return (caller.f_globals.get("__name__"), caller.f_code.co_name) in RPC_CALLERS


def _session():
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.headers["User-Agent"] = f"Odoo/{release.version} ipai_microservices_gateway"
        # The environment is read once, not on every request: proxies per origin in
        # client.proxies_for, the CA bundle here; and ~/.netrc never adds credentials.
        session.trust_env = False
        session.verify = (os.environ.get("REQUESTS_CA_BUNDLE")
                          or os.environ.get("CURL_CA_BUNDLE") or True)
    return session


class IpaiGateway(models.AbstractModel):
    _name = "ipai.gateway"
    _description = "Gateway service layer"

    # -- public API ----------------------------------------------------------

    @api.model
    def call(self, service_code, method, path, json=None, params=None, headers=None,
             idempotency_key=None, timeout=None, data=None, files=None, content=None,
             content_b64=None):
        """Call a registered service; see the module README for the contract.

        The body is one of ``json``; ``data`` (form fields) with optional ``files``
        (multipart); or ``content`` (raw bytes, ``content_b64`` over RPC).

        :returns: ``{status, headers, json | text | content, elapsed_ms, attempts,
            correlation_id}``; ``content`` (bytes) for non-JSON answers, sent as
            ``content_b64`` when ``call`` is the RPC method called.
        :raises GatewayError: one of its typed subclasses.
        """
        self._check_caller()
        config = self._config(service_code)
        result = self._call(config, method, path, json=json, params=params, headers=headers,
                            idempotency_key=idempotency_key, timeout=timeout,
                            body=self._body(config, json, data, files, content, content_b64))
        if "content" in result and _called_over_rpc():
            result["content_b64"] = base64.b64encode(result.pop("content")).decode()
        return result

    @api.model
    def call_async(self, service_code, method, path, json=None, params=None, headers=None,
                   idempotency_key=None, timeout=None, data=None, files=None, content=None,
                   content_b64=None):
        """Run ``call`` as a queue job on the service's channel; returns the job uuid.

        The job retries exactly what ``call`` would retry: a POST or PATCH without
        idempotency key is never sent twice, the job fails with the reason instead.
        ``idempotency_key=True`` uses the job's uuid as the key, so its retries are
        safe. The request is stored encrypted with the vault, never in the job's
        arguments, and deleted when the job is done.
        """
        self._check_caller()
        config = self._config(service_code)
        method = method.upper()
        self._check_request(config, method, path, headers)
        body = self._body(config, json, data, files, content, content_b64)
        payload = self.env["ipai.gateway.job.payload"]._store({
            "path": path, "json": json, "params": params, "headers": headers,
            "idempotency_key": idempotency_key,
            "timeout": list(timeout) if isinstance(timeout, (list, tuple)) else timeout,
            **_portable_body(body),
        })
        job = self.with_delay(
            channel=config.channel,
            description=self.env._("%(method)s %(service)s %(path)s", method=method,
                                   service=config.name, path=self._log_path(
                                       client.build_url(config.base_url, path))[:200]),
        )._job_call(service_code, method, payload.id)
        payload.job_uuid = job.uuid
        return job.uuid

    # -- jobs ----------------------------------------------------------------

    def _job_call(self, service_code, method, payload_id, **legacy):
        """The queued call. Breaker waits and unavailability become job retries,
        but only when sending again is safe (see ``call_async``).

        ``legacy``: jobs queued by version 19.0.1.0.0 carry the request itself.
        """
        self._check_caller()
        Payload = self.env["ipai.gateway.job.payload"].sudo()  # sudo: see that model
        if isinstance(payload_id, str):  # an older job: (code, method, path, **request)
            payload, request = Payload, dict(legacy, path=payload_id)
        else:
            payload = Payload.browse(payload_id).exists()
            if not payload:
                raise GatewayNotRepeated(self.env._(
                    "The request of this job was deleted (its job was done or cancelled): "
                    "queue a new call."), service_code=service_code)
            request = payload._open()
        config = self._config(service_code)
        self._acquire_slot(config)
        key = request.get("idempotency_key")
        if key is True:
            key = self.env.context.get("job_uuid")
        safe = may_retry(method, key)
        if not safe and payload and payload.sent_at:
            raise GatewayNotRepeated(self.env._(
                "%(method)s %(service)s was not sent again: an earlier run of this job may "
                "have reached the service at %(when)s UTC, and it has no idempotency key. "
                "Check with the service, or queue it with idempotency_key=True.",
                method=method, service=config.code, when=payload.sent_at),
                service_code=config.code)
        before_send = None if safe or not payload else (lambda: payload._set_sent(True))
        try:
            body = self._body(config, request.get("json"), request.get("data"),
                              request.get("files"), None, request.get("content_b64"))
            result = self._call(config, method, request.get("path"),
                                params=request.get("params"), headers=request.get("headers"),
                                idempotency_key=key, timeout=request.get("timeout"),
                                before_send=before_send, body=body, rate_wait=False)
        except GatewayRateLimited as exc:
            # Nothing was sent: always safe; waiting uses up no retry.
            raise RetryableJobError(str(exc), seconds=ratelimit.seconds(exc.retry_in),
                                    ignore_retry=True) from exc
        except GatewayCircuitOpen as exc:
            raise RetryableJobError(str(exc), seconds=max(1, math.ceil(exc.retry_in))) from exc
        except (GatewayUnavailable, GatewayTimeout, GatewayHTTPError) as exc:
            if isinstance(exc, GatewayHTTPError) and exc.status != 429:
                raise
            if not safe and getattr(exc, "request_sent", True):
                raise GatewayNotRepeated(self.env._(
                    "%(error)s The job does not send it again: %(method)s without an "
                    "idempotency key may have been processed. Queue it with "
                    "idempotency_key=True to make retries safe.",
                    error=str(exc), method=method), service_code=config.code,
                    correlation_id=exc.correlation_id, attempts=exc.attempts) from exc
            if before_send:
                payload._set_sent(False)  # refused before it was written: safe to retry
            seconds = math.ceil(getattr(exc, "retry_after", None) or 30)
            raise RetryableJobError(str(exc), seconds=seconds) from exc
        payload.unlink()  # with the job's success, in its transaction
        return self.env._("HTTP %(status)s in %(ms)s ms (%(attempts)s attempt(s))",
                          status=result["status"], ms=round(result["elapsed_ms"]),
                          attempts=result["attempts"])

    def _acquire_slot(self, config):
        """Take one of the service's ``concurrency`` slots for this job, or postpone it.

        A slot is a transaction-level advisory lock on the job's own cursor: it is
        released when the job's transaction ends (done, failed or retried) and when
        its worker dies (PostgreSQL ends the backend's transaction). queue_job's
        runner takes channel capacities from its configuration file only, so this
        is how a service's capacity holds without an operator edit of odoo.conf.
        """
        for slot in range(config.concurrency):
            self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s)",
                                [_slot_key(config.id, slot)])
            if self.env.cr.fetchone()[0]:
                return slot
        raise RetryableJobError(
            self.env._("Service %(service)s already runs %(n)s job(s) (its concurrency): "
                       "postponed.", service=config.code, n=config.concurrency),
            seconds=SLOT_RETRY_SECONDS, ignore_retry=True,
        )

    def _job_health_check(self, service):
        result = self._probe(service, log=True)
        # sudo: the job may run as the cron's user; alerts are the gateway's own.
        service.sudo()._check_availability()
        return result["message"]

    @api.model
    def _cron_enqueue_health_checks(self):
        """One health job per active service whose interval has elapsed."""
        services = self.env["ipai.gateway.service"].search(
            [("active", "=", True), ("health_path", "!=", False)]
        )
        now = fields.Datetime.now()
        for service in services:
            last = service.last_health_at
            if last and (now - last).total_seconds() < max(1, service.health_interval) * 60 - 30:
                continue
            self.with_delay(
                channel=service.channel_id.complete_name or "root.ipai.gateway",
                description=self.env._("Health check of %(service)s", service=service.name),
                identity_key=f"ipai_gateway_health_{service.id}",
            )._job_health_check(service)

    # -- internals -----------------------------------------------------------

    def _check_caller(self):
        if self.env.su or self.env.user.has_group(USER_GROUP):
            return
        raise AccessError(self.env._("Only Gateway Users may call external services."))

    def _config(self, service_code):
        config = self.env["ipai.gateway.service"]._get_config(service_code)
        if config is None:
            raise GatewayServiceNotFound(
                self.env._(
                    "No active gateway service with code '%(code)s' in your companies. "
                    "Create it in Well-Architected › Gateway › Services.",
                    code=service_code,
                ),
                service_code=service_code,
            )
        return config

    def _check_request(self, config, method, path, headers, log=None):
        """Refuse, before anything is sent, a path that is no plain path and caller
        headers that would choose the host or frame the request (``Host``,
        ``Content-Length``, ``Transfer-Encoding``, ``Connection``).

        :returns: the joined URL
        :raises GatewayHostRefused: logged as ``refused`` when ``log`` is given
        """
        try:
            url = client.build_url(config.base_url, path)
            forbidden = sorted({str(k) for k in (headers or {})
                                if str(k).strip().lower() in CALLER_FORBIDDEN_HEADERS})
            if forbidden:
                raise client.HostRefused(", ".join(forbidden), reason="header")
            return url
        except client.HostRefused as exc:
            message = self._refusal_message(config, exc)
            if log is not None:
                self._log_failure(dict(log, path=log["path"] or "(refused)", host=None,
                                       outcome=client.REFUSED, error=message))
            raise GatewayHostRefused(message, host=exc.host, service_code=config.code,
                                     correlation_id=log and log["correlation_id"]) from None

    @api.model
    def _timeout_pair(self, config, timeout):
        """``(connect, read)`` for one call. A caller may choose the read timeout; the
        connect timeout never exceeds the service's."""
        if timeout is None:
            return config.timeout
        pair = (timeout, timeout) if isinstance(timeout, (int, float)) else tuple(timeout)
        if len(pair) != 2 or not all(isinstance(t, (int, float)) and t > 0 for t in pair):
            raise GatewayError(self.env._(
                "A timeout is a positive number of seconds or a (connect, read) pair: "
                "calls are never unbounded."), service_code=config.code)
        return (min(config.timeout[0], pair[0]), pair[1])

    def _call(self, config, method, path, *, json=None, params=None, headers=None,
              idempotency_key=None, timeout=None, retry=None, health_probe=False,
              before_send=None, body=None, rate_wait=True):
        Breaker = self.env["ipai.gateway.breaker"]
        method = method.upper()
        correlation_id = client.new_correlation_id()
        log = {
            "service_id": config.id, "method": method, "path": None, "host": None,
            "status": None, "attempts": 0, "duration_ms": 0.0,
            "correlation_id": correlation_id, "user_id": self.env.uid,
            "job_uuid": self.env.context.get("job_uuid"), "error": None,
            "usage_company_id": self.env.company.id,
        }
        url = self._check_request(config, method, path, headers, log=log)
        timeout_pair = self._timeout_pair(config, timeout)
        try:
            prepared = client.prepare_url(method, url, params)
            log["path"] = self._log_path(prepared)
            # The check reads the URL as it will be sent: joined, params encoded.
            log["host"] = client.check_host(prepared, config.allowed_hosts, config.base_url)
        except client.HostRefused as exc:
            message = self._refusal_message(config, exc)
            log["path"] = log["path"] or "(refused)"
            log["host"] = exc.host[:200] if exc.reason != "path" else None
            self._log_failure(dict(log, outcome=client.REFUSED, error=message))
            raise GatewayHostRefused(message, host=exc.host, service_code=config.code,
                                     correlation_id=correlation_id) from None

        if config.kind in LLM_KINDS and not health_probe:
            try:
                self.env["ipai.gateway.llm.quota"]._check(config.id, self.env.company)
            except GatewayQuotaExceeded as exc:
                self._log_failure(dict(log, path=log["path"], outcome="quota_exceeded",
                                       error=str(exc)))
                exc.service_code, exc.correlation_id = config.code, correlation_id
                raise
        if config.rate and not health_probe:
            self._take_token(config, log, wait=rate_wait)
        trial = False
        if not health_probe:
            admission = self._admit(config)
            if not admission.allowed:
                trial = admission.needs_trial and Breaker._claim_trial(config.id, config.breaker)
                if not trial:
                    state = Breaker._get_state(config.id)
                    retry_in = max(admission.retry_in, state.open_until - time.time(), 1.0)
                    message = self.env._(
                        "Service %(service)s is failing: its circuit breaker is open, so the "
                        "call was not sent. Next try in %(seconds)s s. Last error: %(error)s",
                        service=config.code, seconds=math.ceil(retry_in),
                        error=state.last_error or "-",
                    )
                    self.env["ipai.gateway.call.log"]._buffer(
                        dict(log, outcome=client.SHORT_CIRCUITED, error=message[:1000]))
                    raise GatewayCircuitOpen(message, retry_in=retry_in,
                                             service_code=config.code,
                                             correlation_id=correlation_id)
        try:
            body = body if body is not None else {"json": json}
            return self._send(config, method, url, log, body=body, params=params,
                              prepared_url=prepared,
                              headers=headers, idempotency_key=idempotency_key,
                              timeout_pair=timeout_pair, retry=retry, trial=trial,
                              health_probe=health_probe, before_send=before_send)
        except Exception as exc:
            # Whatever ended the half-open trial (a missing secret, an OAuth2 error, a
            # bug), it is handed back: the breaker opens again for open_seconds instead
            # of waiting for the trial timeout. A trial already reported is left alone.
            if trial:
                Breaker._return_trial(config.id, config.breaker,
                                      error=f"trial call failed: {type(exc).__name__}")
            raise

    def _send(self, config, method, url, log, *, body, params, headers, idempotency_key,
              timeout_pair, retry, trial, health_probe, before_send, prepared_url=None):
        """Authenticate, send and map the answer of an admitted call."""
        correlation_id = log["correlation_id"]
        try:
            auth_headers, secrets = self._auth_headers(config)
        except GatewaySecretMissing as exc:
            self._log_failure(dict(log, outcome=client.REFUSED, error=str(exc)))
            raise
        all_headers = {**(headers or {}), **auth_headers}
        # Values of form fields named like secrets are masked like the service's own.
        secrets = (*secrets, *body.get("redact", ()))
        if before_send:
            before_send()
        try:
            response = client.send(
                _session(), method, url, allowed_hosts=config.allowed_hosts,
                base_url=config.base_url, timeout=timeout_pair, policy=retry or config.retry,
                headers=all_headers, json=body.get("json"), data=body.get("data"),
                files=body.get("files"), params=params, idempotency_key=idempotency_key,
                correlation_id=correlation_id, max_bytes=config.max_bytes,
                prepared_url=prepared_url,
            )
        except client.ResponseTooLarge as exc:
            log.update(duration_ms=0.0, attempts=1)
            # The service answered: nothing counts against it, and nothing is kept.
            self._record(config, success=True, duration_ms=0.0, trial=trial,
                         health_probe=health_probe)
            message = self.env._(
                "Service %(service)s answered more than %(limit)s MB to %(method)s %(path)s: "
                "the answer was dropped. A Gateway Manager can raise the service's maximum "
                "response size.",
                service=config.code, limit=round(exc.limit / 1048576, 2), method=method,
                path=log["path"])
            self._log_failure(dict(log, outcome=client.TOO_LARGE, error=message))
            raise GatewayResponseTooLarge(message, limit=exc.limit, size=exc.size,
                                          service_code=config.code,
                                          correlation_id=correlation_id) from None
        except client.TransportError as exc:
            detail = redact_text(exc.detail, secrets)
            log.update(attempts=exc.attempts, duration_ms=exc.elapsed_ms, error=detail)
            self._record(config, success=False, duration_ms=exc.elapsed_ms, error=detail,
                         trial=trial, health_probe=health_probe)
            if exc.kind == client.TIMEOUT:
                message = self.env._(
                    "Service %(service)s did not answer within %(read)s s "
                    "(%(attempts)s attempt(s)). Try again later, or raise its read timeout "
                    "if the operation is slow by nature.",
                    service=config.code, read=timeout_pair[1], attempts=exc.attempts,
                )
                self._log_failure(dict(log, outcome=client.TIMEOUT, error=message))
                raise GatewayTimeout(message, service_code=config.code,
                                     correlation_id=correlation_id, attempts=exc.attempts,
                                     request_sent=exc.sent) from None
            message = self.env._(
                "Service %(service)s is unreachable (%(detail)s) after %(attempts)s attempt(s). "
                "Check that it runs and that its base URL is right.",
                service=config.code, detail=detail, attempts=exc.attempts,
            )
            self._log_failure(dict(log, outcome=client.CONNECTION_ERROR, error=message))
            raise GatewayUnavailable(message, service_code=config.code,
                                     correlation_id=correlation_id,
                                     attempts=exc.attempts, request_sent=exc.sent) from None

        log.update(status=response.status, attempts=response.attempts,
                   duration_ms=response.elapsed_ms)
        result = self._result(response)
        status = response.status
        if status < 400:
            self._record(config, success=True, duration_ms=response.elapsed_ms, trial=trial,
                         health_probe=health_probe)
            if config.kind in LLM_KINDS:
                log.update(self._llm_usage(config, result))
            self.env["ipai.gateway.call.log"]._enqueue(
                dict(log, outcome="success", at=fields.Datetime.now())
            )
            return result
        # 4xx client errors (but 429) are the caller's: they do not count against the service.
        counts = status >= 500 or status == 429
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429 and config.rate:
            self.env["ipai.gateway.rate.bucket"]._throttle(config.id, config.rate, retry_after)
        self._record(config, success=not counts, duration_ms=response.elapsed_ms,
                     error=f"HTTP {status}", trial=trial, health_probe=health_probe)
        if status in UNAVAILABLE_STATUSES:
            message = self.env._(
                "Service %(service)s is unavailable (HTTP %(status)s) after %(attempts)s "
                "attempt(s). Try again later.",
                service=config.code, status=status, attempts=response.attempts,
            )
            self._log_failure(dict(log, outcome=client.HTTP_ERROR, error=message))
            raise GatewayUnavailable(message, status=status, retry_after=retry_after,
                                     service_code=config.code, correlation_id=correlation_id,
                                     attempts=response.attempts)
        message = self.env._(
            "Service %(service)s answered HTTP %(status)s to %(method)s %(path)s.%(hint)s",
            service=config.code, status=status, method=method, path=log["path"],
            hint=self._status_hint(status),
        )
        self._log_failure(dict(log, outcome=client.HTTP_ERROR, error=message))
        raise GatewayHTTPError(message, status=status, json=result.get("json"),
                               text=result.get("text"), headers=result["headers"],
                               retry_after=retry_after, service_code=config.code,
                               correlation_id=correlation_id, attempts=response.attempts)

    def _take_token(self, config, log, wait=True):
        """One token of the service's shared bucket. ``wait``: sleep for it while
        the call's time budget allows; otherwise, or past the budget, raise."""
        Bucket = self.env["ipai.gateway.rate.bucket"]
        started = time.monotonic()
        while True:
            retry_in = Bucket._take(config.id, config.rate)
            if not retry_in:
                return
            waited = time.monotonic() - started
            if not wait or waited + retry_in > config.retry.total_budget:
                break
            time.sleep(retry_in)
        message = self.env._(
            "Service %(service)s is rate-limited to %(requests)s call(s) per %(window)s s: "
            "the call was not sent. Next token in %(seconds)s s.",
            service=config.code, requests=config.rate.requests,
            window=f"{config.rate.window:g}", seconds=round(retry_in, 1))
        self._log_failure(dict(log, outcome=client.RATE_LIMITED, error=message))
        raise GatewayRateLimited(message, retry_in=retry_in, service_code=config.code,
                                 correlation_id=log["correlation_id"])

    def _llm_usage(self, config, result):
        """Tokens, model and cost from an OpenAI-compatible answer (``usage`` and
        ``model``), for the call log; nothing when the answer has no usage."""
        body = result.get("json")
        usage = body.get("usage") if isinstance(body, dict) else None
        if not isinstance(usage, dict):
            return {}

        def count(name):
            value = usage.get(name)
            return value if isinstance(value, int) and value >= 0 else 0

        prompt, completion = count("prompt_tokens"), count("completion_tokens")
        model = str(body.get("model") or "")[:100]
        return {
            "llm_model": model or None, "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": count("total_tokens") or prompt + completion,
            "cost": self.env["ipai.gateway.llm.price"]._cost(config.prices, model, prompt,
                                                             completion),
        }

    def _status_hint(self, status):
        if status in (401, 403):
            return " " + self.env._("Check the service's credentials.")
        if status == 429:
            return " " + self.env._("The service is rate-limiting: try again later.")
        if status == 404:
            return " " + self.env._("Check the path and the service's base URL.")
        return ""

    def _admit(self, config):
        state = self.env["ipai.gateway.breaker"]._get_state(config.id)
        return bk.admit(state, config.breaker, time.time())

    def _record(self, config, *, success, duration_ms, error="", trial=False, health_probe=False):
        Breaker = self.env["ipai.gateway.breaker"]
        if health_probe:
            # Active health checks may close a breaker, never open it.
            if success:
                state = Breaker._get_state(config.id)
                if state.state != "closed":
                    Breaker._probe_succeeded(config.id)
            return
        if success and not trial and duration_ms < config.breaker.slow_call_ms:
            Breaker._record_success(config.id, config.breaker)
        else:
            Breaker._record_result(config.id, config.breaker, success=success,
                                   duration_ms=duration_ms, error=error, trial=trial)

    def _log_failure(self, values):
        """Log in a separate committed transaction: it survives the caller's rollback."""
        values.setdefault("status", None)
        values["error"] = (values.get("error") or "")[:1000]
        with self.env.registry.cursor() as cr:
            self.env["ipai.gateway.call.log"]._insert(cr, values)

    def _refusal_message(self, config, exc):
        if exc.reason == "header":
            return self.env._(
                "Service %(service)s: callers may not set the header(s) %(headers)s (the "
                "base URL decides the host). Nothing was sent.",
                service=config.code, headers=exc.host)
        if exc.reason == "path":
            return self.env._(
                "Service %(service)s takes a path, not %(path)s: nothing was sent. The base "
                "URL decides the host.", service=config.code, path=exc.host)
        if exc.reason == "scheme":
            return self.env._(
                "Service %(service)s may not send to %(host)s: an https service never sends "
                "over plain http, and only http(s) is allowed. Nothing was sent.",
                service=config.code, host=exc.host)
        return self.env._(
            "The host %(host)s is not allowed for service %(service)s: nothing was sent. "
            "A Gateway Manager can add it to the service's allowed hosts.",
            host=exc.host, service=config.code)

    @api.model
    def _log_path(self, url, params=None):
        if params:
            url = requests.Request("GET", url, params=params).prepare().url
        try:
            parts = urlsplit(url)
            if parts.query:
                parts = urlsplit(redact_url(url))
        except ValueError:  # malformed: the host check refuses it
            return "(malformed URL)"
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def _result(self, response):
        content_type = response.headers.get("Content-Type", "")
        result = {
            "status": response.status,
            "headers": redact_headers(response.headers),
            "elapsed_ms": round(response.elapsed_ms, 3),
            "attempts": response.attempts,
            "correlation_id": response.correlation_id,
        }
        if "json" in content_type:
            text = response.content.decode("utf-8", errors="replace")
            try:
                result["json"] = jsonlib.loads(text) if text else None
            except ValueError:
                # Malformed JSON is returned as text, never guessed at.
                result["text"] = text
                result["json_error"] = True
            return result
        # Anything else keeps its exact bytes; textual answers are also decoded.
        result["content"] = response.content
        if _textual(content_type, response.content):
            result["text"] = response.content.decode("utf-8", errors="replace")
        return result

    @api.model
    def _body(self, config, json=None, data=None, files=None, content=None, content_b64=None):
        """The request body as ``client.send`` takes it, plus the values to redact.

        One of: ``json``; ``data`` (form fields, or a string) with optional
        ``files`` (multipart); ``content`` (bytes) or ``content_b64`` (its base64,
        for JSON-RPC). ``files`` maps a field name to bytes, to a requests-style
        tuple ``(filename, bytes[, content type])``, or to a dict ``{filename,
        content_b64 | content, content_type}``.
        """
        raw = content
        if content_b64 is not None:
            if content is not None:
                raise self._bad_body(config, "content and content_b64")
            try:
                raw = base64.b64decode(content_b64, validate=True)
            except (ValueError, TypeError):
                raise GatewayError(self.env._(
                    "content_b64 is not valid base64: nothing was sent."),
                    service_code=config.code) from None
        given = [name for name, value in (("json", json), ("data", data), ("files", files),
                                          ("content", raw)) if value is not None]
        if "json" in given and len(given) > 1:
            raise self._bad_body(config, " and ".join(given))
        if raw is not None:
            if len(given) > 1:
                raise self._bad_body(config, " and ".join(given))
            return {"data": bytes(raw)}
        body = {"json": json} if json is not None else {}
        if data is not None:
            body["data"] = data
        if files:
            body["files"] = [(name, _file_part(name, value)) for name, value in files.items()]
        if isinstance(data, dict):
            body["redact"] = tuple(str(v) for k, v in data.items()
                                   if is_sensitive_name(k) and v)
        return body

    def _bad_body(self, config, names):
        return GatewayError(self.env._(
            "A call has one body: json, form data (with files), or raw content; "
            "%(names)s were given. Nothing was sent.", names=names), service_code=config.code)

    def _auth_headers(self, config):
        """Headers for the service's auth type, and the secret values (to redact).

        Decrypted headers are kept in this process for ``AUTH_CACHE_SECONDS`` per
        ciphertext: a new secret is a new ciphertext, so it applies at once.
        """
        if config.auth_type == "none":
            return {}, ()
        needed = AUTH_SECRETS[config.auth_type][0]
        ciphertext = dict(config.ciphertexts).get(needed)
        if config.auth_type == "oauth2":
            return self._decrypt_auth_headers(config, needed, ciphertext)
        key = (self.env.cr.dbname, config.id, config.auth_type, config.api_key_header,
               config.username, ciphertext)
        now = time.monotonic()
        cached = _auth_cache.get(key)
        if cached and now - cached[0] < AUTH_CACHE_SECONDS:
            return cached[1]
        value = self._decrypt_auth_headers(config, needed, ciphertext)
        if len(_auth_cache) > 256:
            _auth_cache.clear()
        _auth_cache[key] = (now, value)
        return value

    def _decrypt_auth_headers(self, config, needed, ciphertext):
        service = self.env["ipai.gateway.service"].sudo().browse(config.id)
        # sudo: the caller was allowed to call the service; decrypting its secret
        # for this request is the gateway's job, not the caller's.
        secret = ciphertext and self.env["ipai.gateway.secret"].sudo()._reveal(
            service, needed, ciphertext
        )
        if not secret:
            raise GatewaySecretMissing(
                self.env._(
                    "Service %(service)s needs a %(secret)s and none is set: the call was not "
                    "sent. A Gateway Manager can set it on the service form.",
                    service=config.code, secret=needed.replace("_", " "),
                ),
                service_code=config.code,
            )
        if config.auth_type == "bearer":
            return {"Authorization": f"Bearer {secret}"}, (secret,)
        if config.auth_type == "api_key":
            return {config.api_key_header: secret}, (secret,)
        if config.auth_type == "basic":
            raw = base64.b64encode(f"{config.username}:{secret}".encode()).decode()
            return {"Authorization": f"Basic {raw}"}, (secret, raw)
        token = self._oauth_token(config, secret)
        return {"Authorization": f"Bearer {token}"}, (secret, token)

    def _oauth_token(self, config, client_secret):
        """OAuth2 client credentials (RFC 6749 §4.4), cached until shortly before expiry."""
        key = (self.env.cr.dbname, config.id, hash(client_secret))
        with _oauth_lock:
            cached = _oauth_tokens.get(key)
        if cached and cached[1] > time.time() + 30:
            return cached[0]
        try:
            response = client.send(
                _session(), "POST", config.token_url, allowed_hosts=config.allowed_hosts,
                base_url=config.base_url, timeout=config.timeout,
                policy=RetryPolicy(max_attempts=2, backoff_initial=0.2),
                data={"grant_type": "client_credentials", "scope": config.oauth_scope or None},
                headers={"Authorization": "Basic " + base64.b64encode(
                    f"{config.client_id}:{client_secret}".encode()).decode()},
                idempotency_key="oauth-token",
            )
        except client.HostRefused as exc:
            raise GatewayHostRefused(
                self.env._("The OAuth2 token URL host %(host)s is not allowed for service "
                           "%(service)s.", host=exc.host, service=config.code),
                host=exc.host, service_code=config.code,
            ) from None
        except client.TransportError:
            raise GatewayUnavailable(
                self.env._("The OAuth2 token endpoint of service %(service)s is unreachable.",
                           service=config.code),
                service_code=config.code,
            ) from None
        try:
            body = jsonlib.loads(response.content)
            token = body["access_token"]
        except (ValueError, KeyError, TypeError):
            raise GatewaySecretMissing(
                self.env._("The OAuth2 token endpoint of service %(service)s answered HTTP "
                           "%(status)s without an access token: check the client id and secret.",
                           service=config.code, status=response.status),
                service_code=config.code,
            ) from None
        expires = time.time() + float(body.get("expires_in") or 3600)
        with _oauth_lock:
            _oauth_tokens[key] = (token, expires)
        return token

    # -- health --------------------------------------------------------------

    def _probe(self, service, log=True):
        """One health probe, without retries; logs it and may close the breaker."""
        config = service.sudo()._make_config()
        started = time.monotonic()
        status, http_status, message = "down", 0, ""
        try:
            result = self._call(config, "GET", config.health_path or "/",
                                retry=RetryPolicy(max_attempts=1), health_probe=True)
            http_status = result["status"]
            elapsed = result["elapsed_ms"]
            status = "up" if elapsed <= config.health_degraded_ms else "degraded"
            message = self.env._("HTTP %(status)s in %(ms)s ms", status=http_status,
                                 ms=round(elapsed))
        except GatewayHTTPError as exc:
            http_status = exc.status
            status = "degraded" if exc.status == 429 else "down"
            message = str(exc)
        except GatewayError as exc:
            http_status = getattr(exc, "status", 0) or 0
            message = str(exc)
        response_ms = (time.monotonic() - started) * 1000.0
        if log:
            self.env["ipai.gateway.health.log"].sudo().create({
                "service_id": service.id, "status": status, "http_status": http_status or 0,
                "response_ms": round(response_ms, 1), "message": message[:500],
            })
        return {"status": status, "http_status": http_status, "response_ms": response_ms,
                "message": message}

    def init(self):
        # /ipai/health counts the jobs done in the last hour: a partial index keeps
        # that a range scan, however many done jobs queue_job keeps.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS ipai_gateway_queue_job_done_idx "
            "ON queue_job (date_done) WHERE state = 'done'"
        )

    @api.model
    def _health_answer(self, token=None, session_uid=None):
        """What ``GET /ipai/health`` answers: ``(body, http status)``.

        Anonymous callers get ``{"status": ...}`` only. The details (version,
        database, job throughput, breaker counts) need the token configured in
        ``IPAI_HEALTH_TOKEN`` / ``ipai_health_token``, or a logged-in Gateway
        Manager. The summary is computed at most every ``HEALTH_CACHE_SECONDS``
        per process and database.
        """
        key = self.env.cr.dbname
        now = time.monotonic()
        cached = _health_cache.get(key)
        if cached and now - cached[0] < HEALTH_CACHE_SECONDS:
            summary, status = cached[1], cached[2]
        else:
            summary, status = self._health_summary()
            _health_cache[key] = (now, summary, status)
        if self._health_details_allowed(token, session_uid):
            return summary, status
        return {"status": summary["status"]}, status

    @api.model
    def _health_details_allowed(self, token, session_uid):
        configured = os.environ.get(HEALTH_TOKEN_ENV) or config.get(HEALTH_TOKEN_OPTION) or ""
        if configured and token and hmac.compare_digest(configured.encode(), token.encode()):
            return True
        if not session_uid:
            return False
        user = self.env["res.users"].browse(session_uid).exists()
        return bool(user) and user.has_group(MANAGER_GROUP)

    @api.model
    def _health_summary(self):
        """What GET /ipai/health returns: no secret, no URL."""
        summary = {"status": "ok", "version": None, "database": False,
                   "queue_job_runner": {"recent_jobs": False},
                   "breakers": {"closed": 0, "open": 0, "half_open": 0}}
        try:
            self.env.cr.execute("SELECT 1")
            summary["database"] = True
        except Exception:  # a health endpoint reports, never raises
            _logger.exception("health: database check failed")
            summary["status"] = "down"
            return summary, 503
        module = self.env["ir.module.module"].search(
            [("name", "=", "ipai_microservices_gateway")], limit=1
        )
        summary["version"] = module.latest_version
        self.env.cr.execute(HEALTH_JOBS_QUERY, [HEALTH_COUNT_CAP])
        recent = self.env.cr.fetchone()[0]
        summary["queue_job_runner"] = {"recent_jobs": bool(recent), "done_last_hour": recent}
        services = self.env["ipai.gateway.service"].search([("active", "=", True)])
        for state in self.env["ipai.gateway.breaker"]._get_states(services.ids).values():
            summary["breakers"][state.state] += 1
        if summary["breakers"]["open"]:
            summary["status"] = "degraded"
        return summary, 200
