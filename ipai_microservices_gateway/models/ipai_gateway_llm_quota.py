from datetime import UTC, datetime, timedelta

from odoo import api, fields, models

from ..exceptions import GatewayQuotaExceeded


class IpaiGatewayLlmQuota(models.Model):
    """A company's budget for LLM and agent calls, per day or per month (UTC), in
    tokens or in currency. A call is refused before it is sent once the usage of
    the current period has reached the limit."""

    _name = "ipai.gateway.llm.quota"
    _description = "Gateway LLM usage quota"
    _order = "company_id, period"

    name = fields.Char(required=True)
    company_id = fields.Many2one("res.company", required=True, index=True,
                                 default=lambda self: self.env.company)
    service_id = fields.Many2one("ipai.gateway.service", ondelete="cascade",
                                 domain=[("kind", "in", ("llm", "agent"))],
                                 help="Empty: every LLM and agent service.")
    period = fields.Selection([("day", "Per day"), ("month", "Per month")], required=True,
                              default="month")
    limit_kind = fields.Selection([("tokens", "Tokens"), ("cost", "Cost")], required=True,
                                  default="tokens")
    limit = fields.Float(required=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    active = fields.Boolean(default=True)

    _limit_positive = models.Constraint("CHECK(\"limit\" > 0)", "A quota needs a positive limit.")

    @api.model
    def _period_bounds(self, period, now=None):
        """``(start, next reset)`` of the current day or month, naive UTC."""
        now = now or datetime.now(UTC).replace(tzinfo=None)
        if period == "day":
            start = now.replace(hour=0, minute=0, second=0, microsecond=0)
            return start, start + timedelta(days=1)
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        reset = (start + timedelta(days=32)).replace(day=1)
        return start, reset

    @api.model
    def _check(self, service_id, company):
        """Raise GatewayQuotaExceeded when a quota of ``company`` for this service is
        used up. One query for the quotas, one per quota for its usage."""
        # sudo: quotas are the managers' configuration; every caller is held to them.
        quotas = self.sudo().search([
            ("company_id", "=", company.id), ("active", "=", True),
            "|", ("service_id", "=", False), ("service_id", "=", service_id)])
        if quotas:
            # This transaction's successes are written at commit: count them too.
            self.env["ipai.gateway.call.log"]._flush_pending()
        for quota in quotas:
            start, reset = self._period_bounds(quota.period)
            column = "total_tokens" if quota.limit_kind == "tokens" else "cost"
            self.env.cr.execute(
                f"SELECT coalesce(sum({column}), 0) FROM ipai_gateway_call_log "  # noqa: S608
                "WHERE usage_company_id = %s AND create_date >= %s"
                + ("" if not quota.service_id else " AND service_id = %s"),
                [company.id, start] + ([quota.service_id.id] if quota.service_id else []),
            )
            used = float(self.env.cr.fetchone()[0])
            if used >= quota.limit:
                unit = self.env._("tokens") if quota.limit_kind == "tokens" else (
                    quota.currency_id.name or "")
                raise GatewayQuotaExceeded(self.env._(
                    "The quota %(quota)s of %(company)s is used up: %(used)s of %(limit)s "
                    "%(unit)s this %(period)s. The call was not sent. It resets at %(reset)s "
                    "UTC.", quota=quota.name, company=company.name, used=round(used, 4),
                    limit=quota.limit, unit=unit,
                    period=self.env._("day") if quota.period == "day" else self.env._("month"),
                    reset=fields.Datetime.to_string(reset)),
                    quota=quota.name, resets_at=reset)
