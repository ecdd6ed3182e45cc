"""The request pipeline of a call: checks, admission, sending, breaker and logs."""

import math
import os
import threading
import time

import requests

from odoo import api, fields, models, release

from ..exceptions import (
    GatewayAuthUnsupported,
    GatewayCircuitOpen,
    GatewayError,
    GatewayHostRefused,
    GatewayHTTPError,
    GatewayQuotaExceeded,
    GatewayRateLimited,
    GatewayResponseTooLarge,
    GatewaySecretMissing,
    GatewayTimeout,
    GatewayUnavailable,
)
from ..resilience import breaker as bk
from ..resilience import client, logfilter
from ..resilience.policy import parse_retry_after
from ..resilience.redact import redact_text

logfilter.install()  # urllib3 logs request lines with their query strings at DEBUG
UNAVAILABLE_STATUSES = (502, 503, 504)
LLM_KINDS = ("llm", "agent")  # services whose answers carry token usage
# Headers a caller may not set: the base URL decides the host, requests frames the body.
CALLER_FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding",
                                      "connection"})

# One requests.Session per process and thread: connection pooling (keep-alive)
# without sharing a session across threads.
_local = threading.local()


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



class IpaiGatewayRequest(models.AbstractModel):
    """What ``ipai.gateway.call`` does between its arguments and its result."""

    _name = "ipai.gateway.request"
    _description = "Gateway request pipeline"

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
        except (GatewaySecretMissing, GatewayAuthUnsupported) as exc:
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
                dict(log, outcome="success", at=fields.Datetime.now()),
                in_transaction=config.kind in LLM_KINDS,
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

