# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The gateway's assessment checks and dashboard panel read real services: a loopback
FaultServer answers their calls and probes, their breakers open on real failures."""

import time

from odoo.addons.ipai_microservices_gateway.tests.common import GatewayCase
from odoo.addons.ipai_microservices_gateway.tests.fault_server import FaultServer
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged


@tagged("post_install", "-at_install")
class TestGatewayChecks(GatewayCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Service.search([]).active = False  # the shipped services are not under test
        cls.registry_model = cls.env["ipai.waf.check.registry"]
        cls.assessor = new_test_user(
            cls.env, login="gw_bridge_assessor",
            groups="ipai_waf_assessment.assessment_group_user")

    def _fail(self, code, times):
        self.server.plan(*[FaultServer.status(500)] * times)
        for _ in range(times):
            with self.assertFails(Exception):
                self.Gateway.call(code, "GET", "/boom")

    def _panel(self, user):
        data = self.env["ipai.waf.assessment"].with_user(user).get_dashboard_data()
        panels = {p["key"]: p for p in data["panels"]}
        self.assertIn("gateway_breakers", panels)
        return panels["gateway_breakers"]

    def test_the_checks_are_the_bridges_not_the_missing_module_message(self):
        for key in ("gateway_credentials", "gateway_health"):
            self.assertIn(key, self.registry_model._checks())
            status, evidence = self.registry_model._run(key)
            self.assertEqual((status, evidence), ("not_applicable",
                                                  "No active gateway service."), key)

    def test_credentials_check_reads_the_services_safeguards(self):
        self.make_service(code="quokka_svc", name="Quokka svc")
        status, evidence = self.registry_model._run("gateway_credentials")
        self.assertEqual(status, "implemented")
        self.assertIn("1 active services", evidence)
        # a bearer service without its token lacks credentials
        self.make_service(code="wombat_api", name="Wombat API ✓ (prod)", auth_type="bearer")
        status, evidence = self.registry_model._run("gateway_credentials")
        self.assertEqual(status, "partial")
        self.assertEqual(evidence, "Services lacking safeguards: Wombat API ✓ (prod): "
                         "credentials")

    def test_health_check_reads_the_health_logs_of_the_last_day(self):
        service = self.make_service(code="quokka_svc", name="Quokka svc")
        status, evidence = self.registry_model._run("gateway_health")
        self.assertEqual(status, "missing")
        self.assertEqual(evidence, "Quokka svc: no health check in 24 h")
        self.server.plan(FaultServer.status(200))
        self.assertEqual(self.Gateway._probe(service)["status"], "up")
        service.invalidate_recordset()
        status, evidence = self.registry_model._run("gateway_health")
        self.assertEqual(status, "implemented", evidence)
        # a second service probed down: one of two misses its target
        other = self.make_service(code="numbat", name="Numbat")
        self.server.plan(FaultServer.status(503))
        self.assertEqual(self.Gateway._probe(other)["status"], "down")
        status, evidence = self.registry_model._run("gateway_health")
        self.assertEqual(status, "partial")
        self.assertIn("Numbat: availability 0.00% < target 99.0%", evidence)

    def test_another_companys_services_are_not_evidence(self):
        other = self.env["res.company"].create({"name": "Gateway Other Co"})
        self.make_service(code="foreign", name="Foreign svc", company_id=other.id)
        mine = self.registry_model.with_context(ipai_waf_company_id=self.env.company.id)
        self.assertEqual(mine._run("gateway_credentials")[0], "not_applicable")
        theirs = self.registry_model.with_context(ipai_waf_company_id=other.id)
        self.assertEqual(theirs._run("gateway_credentials")[0], "implemented")

    def test_dashboard_panel_counts_the_breakers_and_names_the_open_ones(self):
        self.make_service(code="aardvark", name="Aardvark")
        self.make_service(code="zebra", name="Zebra", retry_max_attempts=1)
        flaky = self.make_service(code="flaky", name="Flaky", retry_max_attempts=1,
                                  breaker_open_seconds=0.05)
        with self.shared_cursor():
            before = self._panel(self.assessor)["rows"]
            self.assertEqual([(r["label"], r["value"], r["state"]) for r in before], [
                ("Closed", 3, "success"), ("Half-open", 0, False), ("Open", 0, False)])
            # three failures in a row open a breaker (threshold 3)
            self._fail("zebra", 3)
            self._fail("flaky", 3)
            time.sleep(0.1)  # flaky's open duration is over: one caller gets the trial
            Breaker = self.env["ipai.gateway.breaker"]
            self.assertTrue(Breaker._claim_trial(flaky.id, flaky._make_config().breaker))
            panel = self._panel(self.assessor)
        self.assertEqual(panel["title"], "Gateway circuit breakers")
        self.assertEqual([(r["label"], r["value"], r["state"]) for r in panel["rows"]], [
            ("Closed", 1, "success"), ("Half-open", 1, "warning"), ("Open", 1, "danger"),
            ("Zebra", "Open", "danger"), ("Flaky", "Half-open", "warning"),
        ])
        # an assessor who is no gateway user sees the figures, not a link to the services
        self.assertFalse(panel["action"])
        self.assessor.group_ids |= self.env.ref(
            "ipai_microservices_gateway.gateway_group_user")
        with self.shared_cursor():
            self.assertEqual(self._panel(self.assessor)["action"],
                             "ipai_microservices_gateway.ipai_gateway_service_action")

    def test_dashboard_panel_is_for_assessors_of_their_companies(self):
        other = self.env["res.company"].create({"name": "Gateway Panel Other Co"})
        self.make_service(code="foreign", name="Foreign svc", company_id=other.id)
        with self.shared_cursor():
            rows = self._panel(self.assessor)["rows"]
        self.assertEqual(rows[0]["value"], 0, "another company's service is not counted")
        outsider = new_test_user(self.env, login="gw_bridge_outsider", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.env["ipai.waf.assessment"].with_user(outsider).get_dashboard_data()
