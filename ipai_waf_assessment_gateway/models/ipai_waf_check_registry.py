# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from datetime import timedelta

from odoo import api, fields, models

AVAILABILITY_TARGET = 99.0  # percent, for a service without a target of its own


class IpaiWafCheckRegistry(models.AbstractModel):
    """The gateway's checks: ``gateway_credentials`` (encrypted credentials, timeouts and
    a breaker policy on every active service) and ``gateway_health`` (health checks ran
    in the last 24 h and the availability meets the service's target)."""

    _inherit = "ipai.waf.check.registry"

    @api.model
    def _checks(self):
        return dict(
            super()._checks(),
            gateway_credentials=self._check_gateway_credentials,
            gateway_health=self._check_gateway_health,
        )

    def _gateway_posture(self):
        # sudo: the check reads the posture of every service of the company.
        Service = self.env["ipai.gateway.service"].sudo()
        codes = set(Service.search(self._company_domain()).mapped("code"))
        return [item for item in Service._get_posture() if item.get("code") in codes]

    @api.model
    def _check_gateway_credentials(self):
        items = self._gateway_posture()
        if not items:
            return "not_applicable", self.env._("No active gateway service.")
        bad = []
        for item in items:
            flags = []
            if item.get("secret_required") and not (
                item.get("secret_set") and item.get("secret_encrypted")
            ):
                flags.append("credentials")
            if not item.get("timeouts_ok"):
                flags.append("timeouts")
            if not item.get("breaker_policy_ok"):
                flags.append("breaker")
            if flags:
                bad.append(f"{item.get('name')}: {', '.join(flags)}")
        if bad:
            return "partial", self.env._("Services lacking safeguards: %s", "; ".join(bad))
        return "implemented", self.env._(
            "%s active services have encrypted credentials, timeouts and a breaker.", len(items)
        )

    @api.model
    def _check_gateway_health(self):
        posture = self._gateway_posture()
        if not posture:
            return "not_applicable", self.env._("No active gateway service.")
        since = fields.Datetime.now() - timedelta(hours=24)
        Log = self.env["ipai.gateway.health.log"].sudo()  # sudo: as the posture above
        problems = []
        for item in posture:
            ran = Log.search_count([
                ("service_id.code", "=", item["code"]), ("checked_at", ">=", since),
            ])
            target = item.get("availability_target") or AVAILABILITY_TARGET
            availability = item.get("availability_24h") or 0.0
            if not ran:
                problems.append(self.env._("%s: no health check in 24 h", item["name"]))
            elif availability < target:
                problems.append(self.env._(
                    "%(name)s: availability %(a).2f%% < target %(t)s%%",
                    name=item["name"], a=availability, t=target,
                ))
        if not problems:
            return "implemented", self.env._(
                "%s services checked in the last 24 h and meet their availability target.",
                len(posture),
            )
        status = "missing" if len(problems) == len(posture) else "partial"
        return status, "; ".join(problems)
