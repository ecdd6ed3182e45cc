"""The circuit breaker is shared through PostgreSQL and survives rollbacks."""

import threading
import time
from contextlib import ExitStack

from odoo import api
from odoo.tests import tagged

from ..exceptions import GatewayCircuitOpen, GatewayHTTPError, GatewaySecretMissing
from ..models import ipai_gateway_breaker as breaker_model
from .common import GatewayCase
from .fault_server import FaultServer


@tagged("post_install", "-at_install")
class TestGatewayBreaker(GatewayCase):
    def _fail_times(self, n, code="fault"):
        self.server.plan(*[FaultServer.status(500)] * n)
        for _ in range(n):
            with self.assertFails(Exception):
                self.Gateway.call(code, "GET", "/boom")

    def test_opens_after_consecutive_failures_and_short_circuits(self):
        service = self.make_service(retry_max_attempts=1)
        with self.shared_cursor():
            self._fail_times(3)
            self.assertEqual(self.server.count(), 3)
            with self.assertFails(GatewayCircuitOpen) as err:
                self.Gateway.call("fault", "GET", "/boom")
        self.assertEqual(self.server.count(), 3, "an open breaker must not touch the network")
        self.assertGreater(err.exception.retry_in, 25)
        self.assertIn("Next try in", str(err.exception))
        self.assertIn("HTTP 500", str(err.exception))
        service.invalidate_recordset()
        with self.shared_cursor():
            self.assertEqual(service.breaker_state, "open")
            self.assertEqual(self.logs(service)[-1].outcome, "short_circuited")

    def test_failure_rate_over_the_window_trips(self):
        self.make_service(retry_max_attempts=1, breaker_failure_threshold=50,
                          breaker_minimum_calls=4, breaker_failure_rate=50)
        with self.shared_cursor():
            for status in (200, 500, 200, 500):
                self.server.plan(FaultServer.status(status))
                if status == 200:
                    self.Gateway.call("fault", "GET", "/x")
                else:
                    with self.assertFails(GatewayHTTPError):
                        self.Gateway.call("fault", "GET", "/x")
            with self.assertFails(GatewayCircuitOpen):
                self.Gateway.call("fault", "GET", "/x")

    def test_probe_success_closes_and_manager_can_reset(self):
        service = self.make_service(retry_max_attempts=1)
        with self.shared_cursor():
            self._fail_times(3)
            self.server.plan(FaultServer.status(200))
            result = self.Gateway._probe(service)
            self.assertEqual(result["status"], "up")
            service.invalidate_recordset()
            self.assertEqual(service.breaker_state, "closed")
            self._fail_times(3)
            service.action_reset_breaker()
            service.invalidate_recordset()
            self.assertEqual(service.breaker_state, "closed")
            health = self.env["ipai.gateway.health.log"].search([("service_id", "=", service.id)])
            self.assertEqual(health.status, "up")

    def test_half_open_sends_one_trial_and_closes_on_success(self):
        service = self.make_service(retry_max_attempts=1, breaker_open_seconds=0.2)
        with self.shared_cursor():
            self._fail_times(3)
            breaker_model._cache.clear()
            time.sleep(0.3)
            count = self.server.count()
            result = self.Gateway.call("fault", "GET", "/trial")
            self.assertEqual(result["status"], 200)
            self.assertEqual(self.server.count(), count + 1)
            service.invalidate_recordset()
            self.assertEqual(service.breaker_state, "closed")

    def test_a_trial_ending_in_a_non_transport_error_is_handed_back(self):
        service = self.make_service(retry_max_attempts=1, breaker_open_seconds=0.3,
                                    auth_type="bearer", token="tok-trial")
        with self.shared_cursor():
            self._fail_times(3)
            # The secret disappears while the breaker is open (a neutralized copy, a
            # manager clearing it): the trial call ends with GatewaySecretMissing.
            self.env["ipai.gateway.secret"]._set(service, "token", "")
            self.env.registry.clear_cache()
            time.sleep(0.4)
            breaker_model._cache.clear()
            with self.assertFails(GatewaySecretMissing):
                self.Gateway.call("fault", "GET", "/trial")
            state = self.env["ipai.gateway.breaker"]._get_state(service.id, fresh=True)
            self.assertEqual(state.state, "open", "the trial was handed back")
            self.assertLessEqual(state.open_until - time.time(), 0.3)
            # open_seconds later, the next call gets the trial and closes the breaker.
            service.token = "tok-trial"
            time.sleep(0.4)
            breaker_model._cache.clear()
            self.assertEqual(self.Gateway.call("fault", "GET", "/trial")["status"], 200)
            service.invalidate_recordset()
            self.assertEqual(service.breaker_state, "closed")


@tagged("post_install", "-at_install")
class TestBreakerAcrossTransactions(GatewayCase):
    """These tests use committed data and separate connections, as Odoo
    workers do; they clean up after themselves."""

    def _committed_service(self, **vals):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            service = env["ipai.gateway.service"].create({
                "name": "Committed", "code": f"committed{id(self)}", "base_url": self.server.url,
                "connect_timeout": 1, "read_timeout": 1, "retry_max_attempts": 1,
                "breaker_failure_threshold": 2, "breaker_open_seconds": 0.1, **vals,
            })
            service_id, code = service.id, service.code

        def cleanup():
            with self.registry.cursor() as cr:
                env = api.Environment(cr, api.SUPERUSER_ID, {})
                env["ipai.gateway.service"].browse(service_id).unlink()

        self.addCleanup(cleanup)
        return service_id, code

    def test_failures_count_even_when_the_caller_rolls_back(self):
        service_id, code = self._committed_service()
        self.server.plan(FaultServer.status(500))
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            with self.assertRaises(Exception):
                env["ipai.gateway"].call(code, "GET", "/x")
            cr.rollback()
        breaker_model._cache.clear()
        with self.registry.cursor() as cr:
            cr.execute("SELECT consecutive_failures, last_error FROM ipai_gateway_breaker "
                       "WHERE service_id = %s", [service_id])
            failures, error = cr.fetchone()
            cr.execute("SELECT outcome, status FROM ipai_gateway_call_log WHERE service_id = %s",
                       [service_id])
            logs = cr.fetchall()
        self.assertEqual(failures, 1)
        self.assertEqual(error, "HTTP 500")
        self.assertEqual(logs, [("http_error", 500)])

    def test_exactly_one_of_two_racing_connections_gets_the_half_open_trial(self):
        service_id, _code = self._committed_service()
        Breaker = self.env["ipai.gateway.breaker"]
        with self.registry.cursor() as cr:
            cr.execute(
                "UPDATE ipai_gateway_breaker SET state = 'open', open_until = 0 "
                "WHERE service_id = %s", [service_id])
            if not cr.rowcount:
                cr.execute("INSERT INTO ipai_gateway_breaker (service_id, state, open_until) "
                           "VALUES (%s, 'open', 0)", [service_id])
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            policy = env["ipai.gateway.service"].browse(service_id)._make_config().breaker
        barrier = threading.Barrier(2)
        won = []

        errors = []

        def contender(env):
            try:
                barrier.wait()
                won.append(env["ipai.gateway.breaker"]._claim_trial(service_id, policy))
            except Exception as exc:
                errors.append(repr(exc))

        # The environments are made here: api.Environment() takes the registry lock,
        # which odoo-bin holds while it runs post-install tests (a thread would wait).
        with ExitStack() as stack:
            envs = [api.Environment(stack.enter_context(self.registry.cursor()),
                                    api.SUPERUSER_ID, {}) for _ in range(2)]
            threads = [threading.Thread(target=contender, args=(env,)) for env in envs]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
        self.assertFalse(errors)
        self.assertEqual(sorted(won), [False, True])
        breaker_model._cache.clear()
        self.assertEqual(Breaker._get_state(service_id, fresh=True).state, "half_open")
