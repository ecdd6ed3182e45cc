# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestDashboardBreakersTour(HttpCase):
    def test_tour_the_dashboard_names_an_open_breaker(self):
        Service = self.env["ipai.gateway.service"]
        Service.search([]).active = False  # the shipped services are not under test
        zebra = Service.create({"name": "Tour zebra", "code": "tour_zebra",
                                "base_url": "http://127.0.0.1:9",
                                "breaker_failure_threshold": 3})
        Service.create({"name": "Tour aardvark", "code": "tour_aardvark",
                        "base_url": "http://127.0.0.1:9"})
        # three failures in a row, as the gateway records a call's: the breaker opens
        # (HttpCase's registry test mode keeps the shared row in this transaction)
        policy = zebra._make_config().breaker
        Breaker = self.env["ipai.gateway.breaker"]
        for _ in range(3):
            state = Breaker._record_result(zebra.id, policy, success=False,
                                           duration_ms=12.0, error="HTTP 500")
        self.assertEqual(state.state, "open")
        self.start_tour("/odoo/well-architected", "ipai_waf_dashboard_breakers_tour",
                        login="admin", timeout=180)
