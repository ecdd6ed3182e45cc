"""Prometheus text exposition of the gateway, read from the shared tables.

Every number comes from PostgreSQL (call logs, breaker rows, queue jobs), so
every Odoo worker answers the same scrape the same way. Counts are over the last
hour (``WINDOW``) and typed as gauges: the call log is purged after its retention
period, so a lifetime counter read from it would go backwards.
"""

import hmac
import os

from odoo import api, models
from odoo.tools import config

from ..resilience import breaker as bk

METRICS_TOKEN_ENV = "IPAI_METRICS_TOKEN"  # noqa: S105 - a variable name, not a value
METRICS_TOKEN_OPTION = "ipai_metrics_token"  # noqa: S105 - the odoo.conf option
WINDOW = "1 hour"
LATENCY_BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)
OPEN_JOB_STATES = ("wait_dependencies", "pending", "enqueued", "started")


def _label(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels):
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in labels.items()) + "}"


class IpaiGatewayMetrics(models.AbstractModel):
    _name = "ipai.gateway.metrics"
    _description = "Gateway Prometheus metrics"

    @api.model
    def _token_ok(self, token):
        """Is ``token`` the one configured? No token configured: nobody may scrape."""
        configured = os.environ.get(METRICS_TOKEN_ENV) or config.get(METRICS_TOKEN_OPTION) or ""
        return bool(configured and token) and hmac.compare_digest(configured.encode(),
                                                                  token.encode())

    @api.model
    def _render(self):
        """The exposition text (format 0.0.4)."""
        cr = self.env.cr
        cr.execute("SELECT id, code FROM ipai_gateway_service WHERE active")
        codes = dict(cr.fetchall())
        lines = []

        def family(name, kind, help_text):
            lines.extend([f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"])

        family("ipai_gateway_calls", "gauge",
               "Logical calls in the last hour, by service and outcome.")
        cr.execute(
            "SELECT service_id, outcome, count(*) FROM ipai_gateway_call_log "
            "WHERE create_date >= now() at time zone 'UTC' - %s::interval "
            "GROUP BY service_id, outcome ORDER BY service_id, outcome", [WINDOW])
        for service_id, outcome, count in cr.fetchall():
            if service_id in codes:
                labels = _labels(service=codes[service_id], outcome=outcome)
                lines.append(f"ipai_gateway_calls{labels} {count}")

        family("ipai_gateway_call_duration_ms", "histogram",
               "Duration of the logical calls of the last hour (retries included), in ms.")
        # Bucket bounds are module constants, never input.
        buckets = ", ".join(f"count(*) FILTER (WHERE duration_ms <= {float(bound)})"
                            for bound in LATENCY_BUCKETS_MS)
        cr.execute(
            f"SELECT service_id, count(*), coalesce(sum(duration_ms), 0), {buckets} "  # noqa: S608
            "FROM ipai_gateway_call_log "
            "WHERE create_date >= now() at time zone 'UTC' - %s::interval "
            "AND outcome NOT IN ('refused', 'short_circuited', 'rate_limited') "
            "GROUP BY service_id ORDER BY service_id", [WINDOW])
        for service_id, count, total, *below in cr.fetchall():
            if service_id not in codes:
                continue
            code = codes[service_id]
            for bound, n in zip(LATENCY_BUCKETS_MS, below, strict=True):
                lines.append(f"ipai_gateway_call_duration_ms_bucket"
                             f"{_labels(service=code, le=f'{bound:.1f}')} {n}")
            lines.append(f"ipai_gateway_call_duration_ms_bucket{_labels(service=code, le='+Inf')} "
                         f"{count}")
            lines.append(f"ipai_gateway_call_duration_ms_sum{_labels(service=code)} {total:.3f}")
            lines.append(f"ipai_gateway_call_duration_ms_count{_labels(service=code)} {count}")

        family("ipai_gateway_breaker_state", "gauge",
               "1 for the state each active service's circuit breaker is in.")
        states = self.env["ipai.gateway.breaker"]._get_states(list(codes))
        for service_id, code in sorted(codes.items(), key=lambda item: item[1]):
            current = states[service_id].state
            for state in (bk.CLOSED, bk.OPEN, bk.HALF_OPEN):
                lines.append(f"ipai_gateway_breaker_state{_labels(service=code, state=state)} "
                             f"{int(state == current)}")

        family("ipai_gateway_open_jobs", "gauge",
               "Queue jobs not finished yet, by channel and state (gateway channels).")
        cr.execute(
            "SELECT channel, state, count(*) FROM queue_job "
            "WHERE state IN %s AND channel LIKE 'root.ipai.gateway%%' "
            "GROUP BY channel, state ORDER BY channel, state", [OPEN_JOB_STATES])
        for channel, state, count in cr.fetchall():
            lines.append(f"ipai_gateway_open_jobs{_labels(channel=channel, state=state)} {count}")
        family("ipai_gateway_llm_tokens", "gauge",
               "Tokens used by LLM and agent calls in the last hour, by service, model and "
               "kind (prompt or completion).")
        cr.execute(
            "SELECT service_id, coalesce(llm_model, ''), sum(prompt_tokens), "
            "sum(completion_tokens) FROM ipai_gateway_call_log "
            "WHERE create_date >= now() at time zone 'UTC' - %s::interval AND total_tokens > 0 "
            "GROUP BY 1, 2 ORDER BY 1, 2", [WINDOW])
        for service_id, model, prompt, completion in cr.fetchall():
            if service_id not in codes:
                continue
            for kind, count in (("prompt", prompt), ("completion", completion)):
                labels = _labels(service=codes[service_id], model=model, kind=kind)
                lines.append(f"ipai_gateway_llm_tokens{labels} {count or 0}")
        return "\n".join(lines) + "\n"
