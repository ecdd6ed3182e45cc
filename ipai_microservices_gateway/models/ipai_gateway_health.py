"""Health: probes of one service, and what GET /ipai/health answers."""

import hmac
import logging
import os
import time

from odoo import api, models
from odoo.tools import config

from ..exceptions import GatewayError, GatewayHTTPError
from ..resilience.policy import RetryPolicy

_logger = logging.getLogger(__name__)
MANAGER_GROUP = "ipai_microservices_gateway.gateway_group_manager"
# Where the /ipai/health token is read from (names, not values).
HEALTH_TOKEN_ENV = "IPAI_HEALTH_TOKEN"  # noqa: S105
HEALTH_TOKEN_OPTION = "ipai_health_token"  # noqa: S105 - the odoo.conf option
HEALTH_CACHE_SECONDS = 5.0  # how stale a monitor's view of /ipai/health may be
HEALTH_COUNT_CAP = 100_000
# Jobs done in the last hour, bounded: past the cap it only says "at least that many".
# The partial index made in init() below keeps it a range scan.
HEALTH_JOBS_QUERY = (
    "SELECT count(*) FROM (SELECT 1 FROM queue_job WHERE state = 'done' "
    "AND date_done >= (now() at time zone 'UTC') - interval '1 hour' LIMIT %s) AS j"
)
_health_cache = {}  # dbname -> (computed at, summary, http status)


class IpaiGatewayHealth(models.AbstractModel):
    _name = "ipai.gateway.health"
    _description = "Gateway health"

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
