"""The gateway's service layer: every external HTTP call goes through ``call``.

``ipai.gateway`` is its public API and its queue jobs; what a call does is in its
mixins, one per concern: ``ipai.gateway.request`` (the pipeline), ``ipai.gateway.message``
(bodies and answers), ``ipai.gateway.auth`` (one method per auth type) and
``ipai.gateway.health`` (probes and /ipai/health).
"""

import base64
import math
import sys

from odoo import api, fields, models
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.exceptions import AccessError

from ..exceptions import (
    GatewayCircuitOpen,
    GatewayHTTPError,
    GatewayNotRepeated,
    GatewayRateLimited,
    GatewayServiceNotFound,
    GatewayTimeout,
    GatewayUnavailable,
)
from ..resilience import client, ratelimit
from ..resilience.policy import may_retry

USER_GROUP = "ipai_microservices_gateway.gateway_group_user"
SLOT_LOCK_SPACE = 0x49504157  # "IPAW": the gateway's advisory-lock key space
SLOT_RETRY_SECONDS = 2  # a job finding every slot of its service taken waits this long


def _slot_key(service_id, slot):
    """One bigint advisory-lock key per (service, slot); slots < 1024."""
    return (SLOT_LOCK_SPACE << 32) | ((service_id & 0x3FFFFF) << 10) | slot


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


class IpaiGateway(models.AbstractModel):
    _name = "ipai.gateway"
    _inherit = ["ipai.gateway.request", "ipai.gateway.message", "ipai.gateway.auth",
                "ipai.gateway.health"]
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
