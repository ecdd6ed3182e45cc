"""Alerts (one per episode, recovery noted) and the audit trail in the chatter
(issue 13)."""

import time

from odoo.tests import new_test_user, tagged

from ..models import ipai_gateway_breaker as breaker_model
from .common import GatewayCase
from .fault_server import FaultServer


@tagged("post_install", "-at_install")
class TestGatewayAlerts(GatewayCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(cls.env, "gw_alert_manager",
                                    groups="ipai_microservices_gateway.gateway_group_manager")

    def notes(self, service, text):
        note = self.env.ref("mail.mt_note")
        return service.message_ids.filtered(
            lambda m: m.subtype_id == note and text in (m.body or ""))

    def alerts(self, service):
        return self.env["mail.activity"].search([
            ("res_model", "=", "ipai.gateway.service"), ("res_id", "=", service.id)])

    def test_a_breaker_episode_gives_one_alert_and_a_recovery_note(self):
        service = self.make_service(retry_max_attempts=1, breaker_open_seconds=1.0)
        self.server.plan(*[FaultServer.status(500)] * 30)
        with self.shared_cursor():
            for _ in range(3):
                with self.assertFails(Exception):
                    self.Gateway.call("fault", "GET", "/boom")
            for _ in range(5):  # short-circuited (or failed trials): no news
                with self.assertFails(Exception):
                    self.Gateway.call("fault", "GET", "/boom")
            time.sleep(1.1)
            breaker_model._cache.clear()
            with self.assertFails(Exception):  # the trial fails: the same episode
                self.Gateway.call("fault", "GET", "/boom")
            self.server.clear()  # the service answers 200 again
            self.assertEqual(len(self.notes(service, "opened")), 1)
            alerts = self.alerts(service)
            self.assertIn(self.manager, alerts.user_id)
            self.assertEqual(len(alerts), len(alerts.user_id), "one activity per manager")
            self.assertIn("HTTP 500", alerts[0].note)
            time.sleep(1.1)
            breaker_model._cache.clear()
            self.assertEqual(self.Gateway.call("fault", "GET", "/ok")["status"], 200)
        self.assertEqual(len(self.notes(service, "opened")), 1)
        self.assertEqual(len(self.notes(service, "closed")), 1)
        self.assertFalse(self.alerts(service), "recovery closes the alert activities")

    def test_availability_below_target_alerts_once_and_notes_the_recovery(self):
        service = self.make_service(availability_target=99.0)
        self.server.plan(FaultServer.status(500), FaultServer.status(500))
        with self.shared_cursor():
            for _ in range(2):
                self.Gateway._job_health_check(service)
        self.assertTrue(service.alert_availability_low)
        self.assertEqual(len(self.notes(service, "below its target")), 1)
        self.assertTrue(self.alerts(service))
        # An hour later the down checks are out of the window.
        self.env.cr.execute("UPDATE ipai_gateway_health_log SET checked_at = checked_at "
                            "- interval '2 hours' WHERE service_id = %s", [service.id])
        with self.shared_cursor():
            self.Gateway._job_health_check(service)
        self.assertFalse(service.alert_availability_low)
        self.assertEqual(len(self.notes(service, "is back to 100.0")), 1)
        self.assertFalse(self.alerts(service))

    def test_changes_are_tracked_in_the_chatter_never_the_secret(self):
        secret = "tok-audit-SECRET-5"
        service = self.make_service().with_user(self.manager)
        self.env.cr.precommit.run()  # as if created in an earlier transaction
        port = self.server.port
        service.write({"base_url": f"http://localhost:{port}",
                       "allowed_hosts": f"http://localhost:{port}", "auth_type": "bearer"})
        service.token = secret
        self.env.cr.precommit.run()  # tracking values are written before commit
        messages = service.sudo().message_ids
        tracked = messages.tracking_value_ids
        self.assertEqual(set(tracked.field_id.mapped("name")),
                         {"base_url", "allowed_hosts", "auth_type"})
        self.assertEqual(set(tracked.create_uid.ids), {self.manager.id})
        note = self.notes(service.sudo(), "Bearer token changed")
        self.assertEqual(note.author_id, self.manager.partner_id)
        everything = " ".join(messages.mapped("body")) + " ".join(
            f"{t.old_value_char} {t.new_value_char}" for t in tracked)
        self.assertNotIn(secret, everything)
