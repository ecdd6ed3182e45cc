"""The gateway's service layer: every external HTTP call goes through ``call``."""

import base64
import json as jsonlib
import logging
import math
import threading
import time
from urllib.parse import urlsplit

import requests

from odoo import api, fields, models, release
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.exceptions import AccessError

from ..exceptions import (
    GatewayCircuitOpen,
    GatewayError,
    GatewayHostRefused,
    GatewayHTTPError,
    GatewaySecretMissing,
    GatewayServiceNotFound,
    GatewayTimeout,
    GatewayUnavailable,
)
from ..resilience import breaker as bk
from ..resilience import client, logfilter
from ..resilience.policy import RetryPolicy, parse_retry_after
from ..resilience.redact import redact_headers, redact_text, redact_url
from .ipai_gateway_service import AUTH_SECRETS

_logger = logging.getLogger(__name__)
logfilter.install()  # urllib3 logs request lines with their query strings at DEBUG
USER_GROUP = "ipai_microservices_gateway.gateway_group_user"
UNAVAILABLE_STATUSES = (502, 503, 504)

# One requests.Session per process and thread: connection pooling (keep-alive)
# without sharing a session across threads.
_local = threading.local()
_oauth_tokens = {}  # (db, service id, secret ciphertext) -> (access token, expires at)
_oauth_lock = threading.Lock()


def _session():
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.headers["User-Agent"] = f"Odoo/{release.version} ipai_microservices_gateway"
    return session


class IpaiGateway(models.AbstractModel):
    _name = "ipai.gateway"
    _description = "Gateway service layer"

    # -- public API ----------------------------------------------------------

    @api.model
    def call(self, service_code, method, path, json=None, params=None, headers=None,
             idempotency_key=None, timeout=None):
        """Call a registered service; see the module README for the contract.

        :returns: ``{status, headers, json | text, elapsed_ms, attempts, correlation_id}``
        :raises GatewayError: one of its typed subclasses.
        """
        self._check_caller()
        config = self._config(service_code)
        return self._call(config, method, path, json=json, params=params, headers=headers,
                          idempotency_key=idempotency_key, timeout=timeout)

    @api.model
    def call_async(self, service_code, method, path, json=None, params=None, headers=None,
                   idempotency_key=None, timeout=None):
        """Run ``call`` as a queue job on the service's channel; returns the job uuid."""
        self._check_caller()
        config = self._config(service_code)
        job = self.with_delay(
            channel=config.channel,
            description=self.env._("%(method)s %(service)s", method=method.upper(),
                                   service=config.name),
        )._job_call(service_code, method, path, json=json, params=params, headers=headers,
                    idempotency_key=idempotency_key, timeout=timeout)
        return job.uuid

    # -- jobs ----------------------------------------------------------------

    def _job_call(self, service_code, method, path, json=None, params=None, headers=None,
                  idempotency_key=None, timeout=None):
        """The queued call. Breaker waits and unavailability become job retries."""
        try:
            result = self.call(service_code, method, path, json=json, params=params,
                               headers=headers, idempotency_key=idempotency_key,
                               timeout=timeout)
        except GatewayCircuitOpen as exc:
            raise RetryableJobError(str(exc), seconds=max(1, math.ceil(exc.retry_in))) from exc
        except (GatewayUnavailable, GatewayTimeout) as exc:
            seconds = math.ceil(getattr(exc, "retry_after", None) or 30)
            raise RetryableJobError(str(exc), seconds=seconds) from exc
        except GatewayHTTPError as exc:
            if exc.status == 429:
                raise RetryableJobError(str(exc), seconds=math.ceil(exc.retry_after or 30)) from exc
            raise
        return self.env._("HTTP %(status)s in %(ms)s ms (%(attempts)s attempt(s))",
                          status=result["status"], ms=round(result["elapsed_ms"]),
                          attempts=result["attempts"])

    def _job_health_check(self, service):
        result = self._probe(service, log=True)
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

    def _call(self, config, method, path, *, json=None, params=None, headers=None,
              idempotency_key=None, timeout=None, retry=None, health_probe=False):
        Breaker = self.env["ipai.gateway.breaker"]
        method = method.upper()
        correlation_id = client.new_correlation_id()
        log = {
            "service_id": config.id, "method": method, "path": None, "host": None,
            "status": None, "attempts": 0, "duration_ms": 0.0,
            "correlation_id": correlation_id, "user_id": self.env.uid,
            "job_uuid": self.env.context.get("job_uuid"), "error": None,
        }
        try:
            url = client.build_url(config.base_url, path)
            log["path"] = self._log_path(url, params)
            # The check reads the URL as it will be sent: joined, params encoded.
            log["host"] = client.check_host(client.prepare_url(method, url, params),
                                            config.allowed_hosts, config.base_url)
        except client.HostRefused as exc:
            message = self._refusal_message(config, exc)
            log["path"] = log["path"] or "(refused)"
            log["host"] = exc.host[:200] if exc.reason != "path" else None
            self._log_failure(dict(log, outcome=client.REFUSED, error=message))
            raise GatewayHostRefused(message, host=exc.host, service_code=config.code,
                                     correlation_id=correlation_id) from None

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
                    self._log_failure(dict(log, outcome=client.SHORT_CIRCUITED, error=message))
                    raise GatewayCircuitOpen(message, retry_in=retry_in,
                                             service_code=config.code,
                                             correlation_id=correlation_id)

        try:
            auth_headers, secrets = self._auth_headers(config)
        except GatewaySecretMissing as exc:
            self._log_failure(dict(log, outcome=client.REFUSED, error=str(exc)))
            raise
        all_headers = {**(headers or {}), **auth_headers}
        if timeout is None:
            timeout_pair = config.timeout
        elif isinstance(timeout, (int, float)):
            timeout_pair = (min(config.timeout[0], timeout), timeout)
        else:
            timeout_pair = tuple(timeout)
        try:
            response = client.send(
                _session(), method, url, allowed_hosts=config.allowed_hosts,
                base_url=config.base_url, timeout=timeout_pair, policy=retry or config.retry,
                headers=all_headers,
                json=json, params=params, idempotency_key=idempotency_key,
                correlation_id=correlation_id,
            )
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
                                     correlation_id=correlation_id,
                                     attempts=exc.attempts) from None
            message = self.env._(
                "Service %(service)s is unreachable (%(detail)s) after %(attempts)s attempt(s). "
                "Check that it runs and that its base URL is right.",
                service=config.code, detail=detail, attempts=exc.attempts,
            )
            self._log_failure(dict(log, outcome=client.CONNECTION_ERROR, error=message))
            raise GatewayUnavailable(message, service_code=config.code,
                                     correlation_id=correlation_id,
                                     attempts=exc.attempts) from None

        log.update(status=response.status, attempts=response.attempts,
                   duration_ms=response.elapsed_ms)
        result = self._result(response)
        status = response.status
        if status < 400:
            self._record(config, success=True, duration_ms=response.elapsed_ms, trial=trial,
                         health_probe=health_probe)
            self.env["ipai.gateway.call.log"]._enqueue(
                dict(log, outcome="success", at=fields.Datetime.now())
            )
            return result
        # 4xx client errors (but 429) are the caller's: they do not count against the service.
        counts = status >= 500 or status == 429
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
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
        text = response.content.decode("utf-8", errors="replace")
        if "json" in content_type:
            try:
                result["json"] = jsonlib.loads(text) if text else None
            except ValueError:
                # Malformed JSON is returned as text, never guessed at.
                result["text"] = text
                result["json_error"] = True
        else:
            result["text"] = text
        return result

    def _auth_headers(self, config):
        """Headers for the service's auth type, and the secret values (to redact)."""
        if config.auth_type == "none":
            return {}, ()
        service = self.env["ipai.gateway.service"].sudo().browse(config.id)
        needed = AUTH_SECRETS[config.auth_type][0]
        ciphertext = dict(config.ciphertexts).get(needed)
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
        self.env.cr.execute(
            "SELECT count(*) FROM queue_job WHERE state = 'done' "
            "AND date_done >= (now() at time zone 'UTC') - interval '1 hour'"
        )
        recent = self.env.cr.fetchone()[0]
        summary["queue_job_runner"] = {"recent_jobs": bool(recent), "done_last_hour": recent}
        services = self.env["ipai.gateway.service"].search([("active", "=", True)])
        for state in self.env["ipai.gateway.breaker"]._get_states(services.ids).values():
            summary["breakers"][state.state] += 1
        if summary["breakers"]["open"]:
            summary["status"] = "degraded"
        return summary, 200
