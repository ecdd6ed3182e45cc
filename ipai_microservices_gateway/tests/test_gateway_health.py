"""GET /ipai/health: status for everyone, details for a token or a manager (issue 9,
item 15)."""

import os

from odoo.tests import HttpCase, new_test_user, tagged

from ..models import ipai_gateway_health as gateway_model


@tagged("post_install", "-at_install")
class TestGatewayHealth(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        new_test_user(cls.env, "gw_health_user",
                      groups="ipai_microservices_gateway.gateway_group_user")
        new_test_user(cls.env, "gw_health_manager",
                      groups="ipai_microservices_gateway.gateway_group_manager")

    def setUp(self):
        super().setUp()
        gateway_model._health_cache.clear()
        self.addCleanup(gateway_model._health_cache.clear)
        saved = os.environ.pop(gateway_model.HEALTH_TOKEN_ENV, None)
        if saved is not None:
            self.addCleanup(os.environ.__setitem__, gateway_model.HEALTH_TOKEN_ENV, saved)

    def health(self, **headers):
        response = self.url_open("/ipai/health", headers=headers)
        self.assertEqual(response.status_code, 200, response.text[-3000:])
        return response.json()

    def test_details_need_the_configured_token_or_a_manager(self):
        self.assertEqual(self.health(), {"status": "ok"})
        os.environ[gateway_model.HEALTH_TOKEN_ENV] = "health-token-1234"
        # A wrong token, or a plain Gateway User's session, changes nothing.
        self.assertEqual(self.health(Authorization="Bearer wrong"), {"status": "ok"})
        body = self.health(Authorization="Bearer health-token-1234")
        self.assertEqual(body["status"], "ok")
        self.assertTrue(body["database"])
        self.assertTrue(body["version"].startswith("19.0."))
        self.assertEqual(set(body["breakers"]), {"closed", "open", "half_open"})
        self.assertIn("done_last_hour", body["queue_job_runner"])
        del os.environ[gateway_model.HEALTH_TOKEN_ENV]
        self.authenticate("gw_health_user", "gw_health_user")
        self.assertEqual(self.health(), {"status": "ok"})
        self.authenticate("gw_health_manager", "gw_health_manager")
        self.assertEqual(self.health()["version"], body["version"])

    def test_the_answer_is_cached_a_few_seconds(self):
        self.authenticate("gw_health_manager", "gw_health_manager")
        before = self.health()["breakers"]["open"]
        service = self.env["ipai.gateway.service"].create({
            "name": "Opened", "code": "opened", "base_url": "http://127.0.0.1:9"})
        self.env["ipai.gateway.breaker"]._fetch(self.env.cr, service.id, lock=True)
        self.env.cr.execute("UPDATE ipai_gateway_breaker SET state = 'open' "
                            "WHERE service_id = %s", [service.id])
        self.assertEqual(self.health()["breakers"]["open"], before, "served from the cache")
        gateway_model._health_cache.clear()  # as HEALTH_CACHE_SECONDS later
        self.assertEqual(self.health()["breakers"]["open"], before + 1)

    def test_the_job_query_uses_an_index(self):
        # 30 days of done jobs, one a minute: the last hour is 60 of 43,200 rows.
        self.env.cr.execute("""
            INSERT INTO queue_job (uuid, state, date_done, date_created)
            SELECT 'ipai-health-' || n, 'done',
                   now() at time zone 'UTC' - n * interval '1 minute',
                   now() at time zone 'UTC' - n * interval '1 minute'
              FROM generate_series(1, 43200) AS n
        """)
        self.env.cr.execute("ANALYZE queue_job")
        self.env.cr.execute("EXPLAIN " + gateway_model.HEALTH_JOBS_QUERY,
                            [gateway_model.HEALTH_COUNT_CAP])
        plan = "\n".join(row[0] for row in self.env.cr.fetchall())
        self.assertIn("ipai_gateway_queue_job_done_idx", plan)
        self.assertNotIn("Seq Scan", plan)
        self.env.cr.execute(gateway_model.HEALTH_JOBS_QUERY, [gateway_model.HEALTH_COUNT_CAP])
        self.assertIn(self.env.cr.fetchone()[0], (59, 60))
