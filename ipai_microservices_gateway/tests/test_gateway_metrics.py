"""GET /metrics: Prometheus text, behind a token, read with prometheus_client's own
parser (issue 13)."""

import os

from prometheus_client.parser import text_string_to_metric_families

from odoo.tests import HttpCase, tagged

from ..models import ipai_gateway_metrics as metrics_model

TOKEN = "metrics-token-2718"


@tagged("post_install", "-at_install")
class TestGatewayMetrics(HttpCase):
    def setUp(self):
        super().setUp()
        saved = os.environ.get(metrics_model.METRICS_TOKEN_ENV)
        os.environ[metrics_model.METRICS_TOKEN_ENV] = TOKEN
        self.addCleanup(os.environ.pop, metrics_model.METRICS_TOKEN_ENV, None)
        if saved is not None:
            self.addCleanup(os.environ.__setitem__, metrics_model.METRICS_TOKEN_ENV, saved)

    def scrape(self, token=TOKEN):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.url_open("/metrics", headers=headers)

    def test_a_scrape_needs_the_token(self):
        for token in (None, "wrong"):
            response = self.scrape(token)
            self.assertEqual(response.status_code, 401)
            self.assertNotIn("ipai_gateway", response.text)
        del os.environ[metrics_model.METRICS_TOKEN_ENV]
        self.assertEqual(self.scrape().status_code, 401, "no token configured: no scrape")

    def test_calls_latency_breakers_and_jobs_parse_as_prometheus_text(self):
        Service = self.env["ipai.gateway.service"]
        ocr = Service.create({"name": "OCR m", "code": "ocr_m", "base_url": "http://127.0.0.1:9"})
        llm = Service.create({"name": "LLM m", "code": "llm_m", "base_url": "http://127.0.0.1:9"})
        Log = self.env["ipai.gateway.call.log"]
        for outcome, ms in (("success", 12.0), ("success", 40.0), ("success", 700.0),
                            ("timeout", 3000.0), ("short_circuited", 0.0)):
            Log._insert(self.env.cr, {
                "service_id": ocr.id, "method": "POST", "path": "/p", "host": None,
                "status": 200 if outcome == "success" else None, "outcome": outcome,
                "attempts": 1, "duration_ms": ms, "correlation_id": "c", "user_id": self.env.uid,
                "job_uuid": None, "error": None})
        Log._insert(self.env.cr, {
            "service_id": llm.id, "method": "POST", "path": "/v1/chat", "host": None,
            "status": 200, "outcome": "success", "attempts": 1, "duration_ms": 900.0,
            "correlation_id": "d", "user_id": self.env.uid, "job_uuid": None, "error": None})
        self.env.cr.execute("UPDATE ipai_gateway_call_log SET llm_model = 'gpt-4o', "
                            "prompt_tokens = 120, completion_tokens = 30, total_tokens = 150 "
                            "WHERE correlation_id = 'd'")
        self.env["ipai.gateway.breaker"]._fetch(self.env.cr, llm.id, lock=True)
        self.env.cr.execute("UPDATE ipai_gateway_breaker SET state = 'open' "
                            "WHERE service_id = %s", [llm.id])
        self.env["ipai.gateway"].call_async("llm_m", "GET", "/later")
        self.env.flush_all()

        response = self.scrape()
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        families = {f.name: f for f in text_string_to_metric_families(response.text)}

        def value(family, sample=None, **labels):
            found = [s.value for s in families[family].samples if s.name == (sample or family)
                     and all(s.labels.get(k) == v for k, v in labels.items())]
            self.assertEqual(len(found), 1, (family, labels))
            return found[0]

        self.assertEqual(value("ipai_gateway_calls", service="ocr_m", outcome="success"), 3)
        self.assertEqual(value("ipai_gateway_calls", service="ocr_m", outcome="timeout"), 1)
        latency = families["ipai_gateway_call_duration_ms"]
        self.assertEqual(latency.type, "histogram")
        buckets = {s.labels["le"]: s.value for s in latency.samples
                   if s.name.endswith("_bucket") and s.labels["service"] == "ocr_m"}
        self.assertEqual((buckets["25.0"], buckets["50.0"], buckets["1000.0"], buckets["+Inf"]),
                         (1, 2, 3, 4), "short-circuited calls are not latencies")
        self.assertEqual(value("ipai_gateway_call_duration_ms",
                               "ipai_gateway_call_duration_ms_sum", service="ocr_m"), 3752.0)
        self.assertEqual(value("ipai_gateway_breaker_state", service="llm_m", state="open"), 1)
        self.assertEqual(value("ipai_gateway_breaker_state", service="ocr_m", state="closed"), 1)
        self.assertEqual(value("ipai_gateway_llm_tokens", service="llm_m", model="gpt-4o",
                               kind="completion"), 30)
        self.assertEqual(value("ipai_gateway_open_jobs", channel="root.ipai.gateway.llm_m",
                               state="pending"), 1)
