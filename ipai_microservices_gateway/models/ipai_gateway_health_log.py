from odoo import api, fields, models


class IpaiGatewayHealthLog(models.Model):
    _name = "ipai.gateway.health.log"
    _description = "Gateway health check"
    _order = "checked_at desc, id desc"

    service_id = fields.Many2one("ipai.gateway.service", required=True, ondelete="cascade",
                                 index=True, readonly=True)
    company_id = fields.Many2one(related="service_id.company_id", store=True, readonly=True)
    checked_at = fields.Datetime(required=True, default=fields.Datetime.now, index=True,
                                 readonly=True)
    status = fields.Selection(
        [("up", "Up"), ("degraded", "Degraded"), ("down", "Down")], required=True,
        readonly=True,
    )
    http_status = fields.Integer(string="HTTP status", readonly=True)
    response_ms = fields.Float(string="Response time (ms)", readonly=True, aggregator="avg")
    message = fields.Char(readonly=True)

    @api.model
    def _svg_chart(self, logs, width=600, height=120):
        """A small SVG line of response times; down checks as red dots at the top."""
        values = [log.response_ms for log in logs]
        top = max(values) or 1.0
        step = width / max(1, len(values) - 1)
        points = " ".join(
            f"{i * step:.1f},{height - 10 - (v / top) * (height - 20):.1f}"
            for i, v in enumerate(values)
        )
        dots = "".join(
            f'<circle cx="{i * step:.1f}" cy="6" r="3" fill="#d9534f"/>'
            for i, log in enumerate(logs) if log.status == "down"
        )
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="{height}" '
            f'viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img">'
            f'<polyline fill="none" stroke="#017e84" stroke-width="2" points="{points}"/>'
            f'{dots}<text x="4" y="{height - 2}" font-size="10">max {top:.0f} ms</text></svg>'
        )

    @api.model
    def _availability_last_hour(self, service_id):
        """Percent of the last hour's checks that were not down; None without checks."""
        self.env.cr.execute(
            """
            SELECT 100.0 * count(*) FILTER (WHERE status <> 'down') / NULLIF(count(*), 0)
              FROM ipai_gateway_health_log
             WHERE service_id = %s
               AND checked_at >= (now() at time zone 'UTC') - interval '1 hour'
            """,
            [service_id],
        )
        value = self.env.cr.fetchone()[0]
        return None if value is None else float(value)

    @api.model
    def _stats(self, service_ids):
        """Availability and latency percentiles over 24 h and 7 days, per service."""
        if not service_ids:
            return {}
        self.env.cr.execute(
            """
            WITH logs AS (
                SELECT service_id, status, response_ms, checked_at,
                       checked_at >= (now() at time zone 'UTC') - interval '24 hours' AS recent
                  FROM ipai_gateway_health_log
                 WHERE service_id = ANY(%s)
                   AND checked_at >= (now() at time zone 'UTC') - interval '7 days'
            )
            SELECT service_id,
                   100.0 * count(*) FILTER (WHERE recent AND status <> 'down')
                         / NULLIF(count(*) FILTER (WHERE recent), 0),
                   100.0 * count(*) FILTER (WHERE status <> 'down') / NULLIF(count(*), 0),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY response_ms)
                       FILTER (WHERE recent AND status <> 'down'),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY response_ms)
                       FILTER (WHERE recent AND status <> 'down'),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY response_ms)
                       FILTER (WHERE status <> 'down'),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY response_ms)
                       FILTER (WHERE status <> 'down'),
                   max(checked_at)
              FROM logs GROUP BY service_id
            """,
            [list(service_ids)],
        )
        stats = {}
        for sid, a24, a7, p50d, p95d, p50w, p95w, last_at in self.env.cr.fetchall():
            stats[sid] = {
                "availability_24h": round(a24 or 0.0, 2),
                "availability_7d": round(a7 or 0.0, 2),
                "p50_24h": round(p50d or 0.0, 1),
                "p95_24h": round(p95d or 0.0, 1),
                "p50_7d": round(p50w or 0.0, 1),
                "p95_7d": round(p95w or 0.0, 1),
                "last_at": last_at,
            }
        if stats:
            self.env.cr.execute(
                """
                SELECT DISTINCT ON (service_id) service_id, status FROM ipai_gateway_health_log
                 WHERE service_id = ANY(%s) ORDER BY service_id, checked_at DESC, id DESC
                """,
                [list(stats)],
            )
            for sid, status in self.env.cr.fetchall():
                stats[sid]["last_status"] = status
        return stats
