# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The health of a service: probes' figures, alerts, the posture checks read."""


from odoo import api, fields, models

from .ipai_gateway_service_credentials import AUTH_SECRETS, MANAGER


class IpaiGatewayServiceHealth(models.AbstractModel):
    """Health of ``ipai.gateway.service``, which inherits it: availability and latency
    from the health log, alerts to the managers, Test connection, the posture."""

    _name = "ipai.gateway.service.health"
    _description = "External service: health and alerts"

    # Health
    health_path = fields.Char(default="/health", help="Path probed by the health checks.")
    health_interval = fields.Integer(string="Health interval (min)", default=5)
    health_degraded_ms = fields.Integer(string="Degraded above (ms)", default=1000)
    availability_target = fields.Float(string="Availability target (%)", default=99.0)
    availability_24h = fields.Float(compute="_compute_health_stats", string="Availability 24 h (%)")
    availability_7d = fields.Float(compute="_compute_health_stats", string="Availability 7 d (%)")
    latency_p50_24h = fields.Float(compute="_compute_health_stats", string="p50 24 h (ms)")
    latency_p95_24h = fields.Float(compute="_compute_health_stats", string="p95 24 h (ms)")
    latency_p50_7d = fields.Float(compute="_compute_health_stats", string="p50 7 d (ms)")
    latency_p95_7d = fields.Float(compute="_compute_health_stats", string="p95 7 d (ms)")
    last_health_at = fields.Datetime(compute="_compute_health_stats")
    last_health_status = fields.Char(compute="_compute_health_stats")
    health_log_ids = fields.One2many("ipai.gateway.health.log", "service_id")
    # Generated from numbers only (no user text), hence sanitize=False for the SVG.
    health_chart = fields.Html(compute="_compute_health_chart", sanitize=False)
    alert_availability_low = fields.Boolean(
        readonly=True, copy=False,
        help="The availability over the last hour is below the target: managers were told; "
        "cleared (and noted) when it is back.")
    last_test_at = fields.Datetime(readonly=True, copy=False)
    last_test_result = fields.Char(readonly=True, copy=False)

    def _compute_health_stats(self):
        stats = self.env["ipai.gateway.health.log"]._stats(self.ids)
        for service in self:
            values = stats.get(service.id, {})
            service.availability_24h = values.get("availability_24h", 0.0)
            service.availability_7d = values.get("availability_7d", 0.0)
            service.latency_p50_24h = values.get("p50_24h", 0.0)
            service.latency_p95_24h = values.get("p95_24h", 0.0)
            service.latency_p50_7d = values.get("p50_7d", 0.0)
            service.latency_p95_7d = values.get("p95_7d", 0.0)
            service.last_health_at = values.get("last_at", False)
            service.last_health_status = values.get("last_status", False)

    def _compute_health_chart(self):
        Log = self.env["ipai.gateway.health.log"]
        for service in self:
            logs = Log.search([("service_id", "=", service.id or 0)], limit=48)[::-1]
            service.health_chart = Log._svg_chart(logs) if logs else False

    # -- alerts --------------------------------------------------------------

    def _alert(self, kind, message):
        """One chatter note per episode, and on ``*_open`` kinds an activity for each
        Gateway Manager; a ``*_closed`` kind marks those activities done."""
        self.ensure_one()
        self.message_post(body=message, subtype_xmlid="mail.mt_note")
        if kind.endswith("_open"):
            managers = self.env.ref(MANAGER).sudo().all_user_ids.filtered(
                lambda user: user.active and not user.share)
            for user in managers:
                self.activity_schedule("mail.mail_activity_data_warning", user_id=user.id,
                                       summary=message[:80], note=message)
        else:
            # The recovery note says it all: no "done" message per manager.
            self.activity_unlink(["mail.mail_activity_data_warning"])

    def _check_availability(self):
        """After a health check: below its target over the last hour, tell the
        managers once; back at or above it, note the recovery."""
        for service in self:
            availability = self.env["ipai.gateway.health.log"]._availability_last_hour(
                service.id)
            if availability is None:
                continue
            low = availability < service.availability_target
            if low == service.alert_availability_low:
                continue
            service.alert_availability_low = low
            if low:
                service._alert("availability_open", self.env._(
                    "Availability of %(service)s over the last hour is %(value)s %%, below "
                    "its target of %(target)s %%.", service=service.name,
                    value=round(availability, 1), target=service.availability_target))
            else:
                service._alert("availability_closed", self.env._(
                    "Availability of %(service)s is back to %(value)s %% over the last hour.",
                    service=service.name, value=round(availability, 1)))

    def action_test_connection(self):
        """Probe the health path now and show the result (managers).

        A probe may close an open breaker, and it runs on inactive services too: only
        users who may change the service may do it, checked before anything is sent.
        """
        self.ensure_one()
        self.check_access("write")
        result = self.env["ipai.gateway"]._probe(self, log=True)
        self.write({"last_test_at": fields.Datetime.now(), "last_test_result": result["message"]})
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Test connection: %(service)s", service=self.name),
                "message": result["message"],
                "type": "success" if result["status"] == "up" else (
                    "warning" if result["status"] == "degraded" else "danger"),
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_view_health_logs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "ipai_microservices_gateway.ipai_gateway_health_log_action"
        )
        action["domain"] = [("service_id", "=", self.id)]
        action["context"] = {"default_service_id": self.id}
        return action

    # -- posture, read by the assessment module's automated checks ------------

    @api.model
    def _get_posture(self):
        Secret = self.env["ipai.gateway.secret"].sudo()  # sudo: existence and format only
        posture = []
        for service in self.sudo().search([("active", "=", True)]):
            needed = AUTH_SECRETS.get(service.auth_type, ())
            secrets = Secret.search([("service_id", "=", service.id)])
            posture.append({
                "code": service.code,
                "name": service.name,
                "auth_type": service.auth_type,
                "secret_required": bool(needed),
                "secret_set": service.has_secret,
                "secret_encrypted": all(s.ciphertext.startswith("gAAAAA") for s in secrets),
                "timeouts_ok": 0 < service.connect_timeout <= 60
                and 0 < service.read_timeout <= 600,
                "breaker_policy_ok": service.breaker_failure_threshold >= 1
                and service.breaker_open_seconds > 0,
                "last_health_at": service.last_health_at,
                "availability_24h": service.availability_24h,
                "availability_target": service.availability_target,
            })
        return posture
