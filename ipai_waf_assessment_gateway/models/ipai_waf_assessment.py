# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import api, models

MAX_LISTED = 10  # services named on the panel; the counts cover them all


class IpaiWafAssessment(models.Model):
    _inherit = "ipai.waf.assessment"

    @api.model
    def _dashboard_panels(self):
        """The circuit breakers of the active services of the user's companies: how many
        are closed, half-open and open, and which ones are not closed (open first)."""
        panels = super()._dashboard_panels()
        # sudo: assessors see the breaker states the gateway checks give as evidence,
        # without being gateway users; the domain keeps them to their companies.
        services = self.env["ipai.gateway.service"].sudo().search(
            [("active", "=", True), ("company_id", "in", [False, *self.env.companies.ids])],
            order="name, id")
        labels = dict(services._fields["breaker_state"]._description_selection(self.env))
        # sudo: as above. The shared rows, fresh, in one query (as GET /ipai/health counts).
        shared = self.env["ipai.gateway.breaker"].sudo()._get_states(services.ids)
        states = {service: shared[service.id].state for service in services}
        colour = {"closed": "success", "half_open": "warning", "open": "danger"}
        rows = []
        for state in ("closed", "half_open", "open"):
            count = sum(1 for s in states.values() if s == state)
            rows.append({"label": labels[state], "value": count,
                         "state": colour[state] if count else False})
        tripped = sorted((s for s, st in states.items() if st != "closed"),
                         key=lambda s: (states[s] != "open", s.name))
        for service in tripped[:MAX_LISTED]:
            rows.append({"label": service.name, "value": labels[states[service]],
                         "state": colour[states[service]]})
        if len(tripped) > MAX_LISTED:
            rows.append({"label": self.env._("Other services not closed"),
                         "value": len(tripped) - MAX_LISTED, "state": False})
        panels.append({
            "key": "gateway_breakers",
            "title": self.env._("Gateway circuit breakers"),
            "sequence": 20,
            "rows": rows,
            "action": self._dashboard_action(
                "ipai_microservices_gateway.ipai_gateway_service_action",
                "ipai.gateway.service"),
        })
        return panels
