from odoo.tests import HttpCase, tagged

from .common import loopback_requests_only
from .fault_server import FaultServer


@tagged("post_install", "-at_install")
class TestGatewayTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        loopback_requests_only(cls)

    def test_manager_creates_a_service_sets_a_secret_and_tests_it(self):
        server = FaultServer().start()
        self.addCleanup(server.stop)
        self.env["ir.config_parameter"].sudo().set_param(
            "ipai_microservices_gateway.tour_base_url", server.url
        )
        self.start_tour(
            "/odoo/action-ipai_microservices_gateway.ipai_gateway_service_action",
            "ipai_gateway_service_tour",
            login="admin",
        )
        service = self.env["ipai.gateway.service"].search([("code", "=", "tour_svc")])
        self.assertTrue(service.has_secret)
        self.assertIn("HTTP 200", service.last_test_result)
        probe = server.requests[-1]
        self.assertEqual(probe["path"], "/health")
        self.assertEqual(probe["headers"]["Authorization"], "Bearer tour-token-123")
