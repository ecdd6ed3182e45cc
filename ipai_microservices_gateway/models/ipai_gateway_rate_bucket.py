import time

from odoo import api, fields, models

from ..resilience import ratelimit


class IpaiGatewayRateBucket(models.Model):
    """Token bucket of a rate-limited service, shared by every Odoo process (see
    ``resilience/ratelimit.py``). Written with SQL through separate, committed
    cursors, like the breaker row: a token taken stays taken when the caller's
    transaction rolls back."""

    _name = "ipai.gateway.rate.bucket"
    _description = "Gateway rate-limit bucket"
    _log_access = False

    # An integer, not a Many2one: see ipai.gateway.breaker.
    service_id = fields.Integer(required=True, index=True)
    tokens = fields.Float(required=True, default=0.0)
    updated_at = fields.Float(required=True, default=0.0)
    blocked_until = fields.Float(default=0.0, help="No token before this time (a 429's "
                                 "Retry-After), as a Unix timestamp.")

    _service_unique = models.Constraint("unique(service_id)", "One bucket per service.")

    @api.model
    def _take(self, service_id, policy):
        """Take one token; returns the seconds to wait for one (0.0: taken)."""
        with self.env["ipai.gateway.breaker"]._shared_cursor() as cr:
            return ratelimit.take(cr, service_id, policy, time.time())

    @api.model
    def _throttle(self, service_id, policy, retry_after):
        with self.env["ipai.gateway.breaker"]._shared_cursor() as cr:
            ratelimit.throttle(cr, service_id, policy, time.time(), retry_after)
