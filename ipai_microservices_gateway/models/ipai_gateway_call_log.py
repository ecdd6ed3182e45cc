from odoo import api, fields, models
from odoo.tools import SQL

OUTCOMES = [
    ("success", "Success"),
    ("http_error", "HTTP error"),
    ("timeout", "Timeout"),
    ("connection_error", "Connection error"),
    ("short_circuited", "Short-circuited"),
    ("refused", "Refused"),
]
DEFAULT_RETENTION_DAYS = 30


class IpaiGatewayCallLog(models.Model):
    """One row per logical call (retries included). Paths are redacted and no
    header or body is kept. Rows are written with SQL by ``ipai.gateway``: a
    success in the caller's transaction, anything else in its own committed
    transaction, so a failure stays logged when the caller rolls back."""

    _name = "ipai.gateway.call.log"
    _description = "Gateway call log"
    _order = "id desc"

    service_id = fields.Many2one("ipai.gateway.service", required=True, ondelete="cascade",
                                 index=True, readonly=True)
    company_id = fields.Many2one(related="service_id.company_id", store=True, readonly=True)
    method = fields.Char(readonly=True)
    path = fields.Char(readonly=True, help="Target URL path and query, redacted.")
    host = fields.Char(string="Host reached", readonly=True,
                       help="scheme://host:port the request went to (or was refused for).")
    status = fields.Integer(string="HTTP status", readonly=True)
    outcome = fields.Selection(OUTCOMES, required=True, index=True, readonly=True)
    attempts = fields.Integer(readonly=True)
    duration_ms = fields.Float(string="Duration (ms)", readonly=True, aggregator="avg")
    correlation_id = fields.Char(string="Correlation id", index=True, readonly=True)
    user_id = fields.Many2one("res.users", readonly=True, index=True)
    job_uuid = fields.Char(string="Job UUID", readonly=True, index=True)
    error = fields.Char(readonly=True)

    _COLUMNS = ("service_id", "method", "path", "host", "status", "outcome", "attempts",
                "duration_ms", "correlation_id", "user_id", "job_uuid", "error", "at")
    _PENDING = "ipai_gateway_call_log"

    @api.model
    def _enqueue(self, values):
        """Log a success with the caller's transaction, batched: the rows are
        written by one INSERT before commit (or before any search on logs)."""
        cr = self.env.cr
        pending = cr.precommit.data.setdefault(self._PENDING, [])
        if not pending:
            cr.precommit.add(self._flush_pending)
        pending.append(values)

    def _flush_pending(self):
        rows = self.env.cr.precommit.data.pop(self._PENDING, None)
        if not rows:
            return
        template = "(%s::int, %s, %s, %s, %s::int, %s, %s::int, %s::float, %s, %s::int, %s, %s, %s)"
        values = SQL(", ").join(SQL(template, *[row.get(c) for c in self._COLUMNS]) for row in rows)
        self.env.cr.execute(SQL(
            """
            INSERT INTO ipai_gateway_call_log
                (service_id, company_id, method, path, host, status, outcome, attempts,
                 duration_ms, correlation_id, user_id, job_uuid, error,
                 create_uid, create_date, write_uid, write_date)
            SELECT v.service_id, s.company_id, v.method, v.path, v.host, v.status, v.outcome,
                   v.attempts, v.duration_ms, v.correlation_id, v.user_id, v.job_uuid, v.error,
                   v.user_id, v.at::timestamp, v.user_id, v.at::timestamp
              FROM (VALUES %s) AS v(service_id, method, path, host, status, outcome, attempts,
                                    duration_ms, correlation_id, user_id, job_uuid, error, at)
              JOIN ipai_gateway_service s ON s.id = v.service_id
            """,
            values,
        ))

    def flush_model(self, fnames=None):
        self._flush_pending()
        return super().flush_model(fnames)

    @api.model
    def _insert(self, cr, values):
        """Insert one row with ``cr`` (the caller's or a separate cursor)."""
        cr.execute(
            """
            INSERT INTO ipai_gateway_call_log
                (service_id, company_id, method, path, host, status, outcome, attempts,
                 duration_ms, correlation_id, user_id, job_uuid, error,
                 create_uid, create_date, write_uid, write_date)
            SELECT %(service_id)s, s.company_id, %(method)s, %(path)s, %(host)s, %(status)s,
                   %(outcome)s,
                   %(attempts)s, %(duration_ms)s, %(correlation_id)s, %(user_id)s,
                   %(job_uuid)s, %(error)s,
                   %(user_id)s, now() at time zone 'UTC', %(user_id)s, now() at time zone 'UTC'
              FROM ipai_gateway_service s WHERE s.id = %(service_id)s
            """,
            values,
        )

    @api.model
    def _retention_days(self):
        param = self.env["ir.config_parameter"].sudo().get_param(
            "ipai_microservices_gateway.call_log_days"
        )
        try:
            return max(1, int(param)) if param else DEFAULT_RETENTION_DAYS
        except ValueError:
            return DEFAULT_RETENTION_DAYS

    @api.autovacuum
    def _gc_call_logs(self):
        """Purge call logs older than ``ipai_microservices_gateway.call_log_days``."""
        self.env.cr.execute(
            "DELETE FROM ipai_gateway_call_log "
            "WHERE create_date < now() at time zone 'UTC' - make_interval(days => %s)",
            [self._retention_days()],
        )
        return self.env.cr.rowcount
