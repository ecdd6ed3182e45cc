"""LLM and agent usage: tokens and cost from OpenAI-compatible answers, quotas per
company refused before sending, usage views (issue 13)."""

import json

from odoo.tests import new_test_user, tagged

from ..exceptions import GatewayQuotaExceeded
from .common import GatewayCase
from .fault_server import FaultServer


def chat_answer(model, prompt_tokens, completion_tokens):
    """What an OpenAI-compatible /v1/chat/completions endpoint answers."""
    return FaultServer.status(200, body=json.dumps({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Total: 42.00 EUR"}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }).encode())


@tagged("post_install", "-at_install")
class TestGatewayLlm(GatewayCase):
    def make_llm(self, **vals):
        return self.make_service("llm_t", kind="llm", llm_price_ids=[
            (0, 0, {"model": "gpt-4o", "prompt_price": 2.5, "completion_price": 10.0}),
            (0, 0, {"model": "gpt-4o-mini", "prompt_price": 0.15, "completion_price": 0.6}),
        ], **vals)

    def chat(self, user=None):
        gateway = self.Gateway.with_user(user) if user else self.Gateway
        return gateway.call("llm_t", "POST", "/v1/chat/completions",
                            json={"model": "gpt-4o-mini", "messages": []})

    def test_tokens_model_and_cost_are_logged(self):
        service = self.make_llm()
        self.server.plan(chat_answer("gpt-4o-mini-2024-07-18", 1200, 300),
                         chat_answer("gpt-4o", 1000, 100), chat_answer("other", 10, 10))
        with self.shared_cursor():
            for _ in range(3):
                self.chat()
        logs = self.logs(service)
        # The longest matching prefix prices a dated model; an unpriced one costs 0.
        self.assertEqual(
            sorted((log.llm_model, log.prompt_tokens, log.completion_tokens, log.total_tokens,
                    round(log.cost, 8)) for log in logs),
            [("gpt-4o", 1000, 100, 1100, 0.0035),
             ("gpt-4o-mini-2024-07-18", 1200, 300, 1500, 0.00036), ("other", 10, 10, 20, 0.0)])
        self.assertEqual(logs.usage_company_id, self.env.company)

    def test_a_quota_refuses_the_call_before_it_is_sent(self):
        service = self.make_llm()
        other = self.env["res.company"].create({"name": "Other LLM Co"})
        Quota = self.env["ipai.gateway.llm.quota"]
        Quota.create({"name": "Other's tokens", "company_id": other.id, "period": "day",
                      "limit_kind": "tokens", "limit": 1})
        Quota.create({"name": "Daily tokens", "period": "day", "limit_kind": "tokens",
                      "limit": 1000})
        self.server.plan(chat_answer("gpt-4o-mini", 1200, 300))
        with self.shared_cursor():
            self.chat()  # 0 used so far: allowed, and it uses 1,500
            with self.assertFails(GatewayQuotaExceeded) as err:
                self.chat()
        message = str(err.exception)
        self.assertIn("Daily tokens", message)
        self.assertIn("1500.0 of 1000.0 tokens this day", message)
        _start, reset = Quota._period_bounds("day")
        self.assertIn(f"resets at {reset:%Y-%m-%d} 00:00:00 UTC", message)
        self.assertEqual(self.server.count(), 1, "a refused call is not sent")
        self.assertEqual(sorted(self.logs(service).mapped("outcome")),
                         ["quota_exceeded", "success"])

        Quota.search([]).unlink()
        Quota.create({"name": "Monthly budget", "period": "month", "limit_kind": "cost",
                      "limit": 0.0003, "service_id": service.id})
        with self.shared_cursor(), self.assertFails(GatewayQuotaExceeded) as err:
            self.chat()  # 0.00036 spent this month already
        self.assertIn("Monthly budget", str(err.exception))
        self.assertEqual(self.server.count(), 1)

    def test_managers_see_usage_by_company_model_and_user(self):
        self.make_llm()
        user = new_test_user(self.env, "gw_llm_user",
                             groups="ipai_microservices_gateway.gateway_group_user")
        manager = new_test_user(self.env, "gw_llm_manager",
                                groups="ipai_microservices_gateway.gateway_group_manager")
        self.server.plan(chat_answer("gpt-4o", 100, 50), chat_answer("gpt-4o", 10, 5),
                         chat_answer("gpt-4o-mini", 1000, 1))
        with self.shared_cursor():
            self.chat(user)
            self.chat(user)
            self.chat(manager)
        action = self.env.ref("ipai_microservices_gateway.ipai_gateway_llm_usage_action")
        domain = [("total_tokens", ">", 0)]
        self.assertEqual(action.domain, str(domain))
        Log = self.env["ipai.gateway.call.log"].with_user(manager)
        groups = Log.formatted_read_group(domain, ["usage_company_id", "llm_model", "user_id"],
                                          ["total_tokens:sum", "cost:sum"])
        usage = {(g["llm_model"], g["user_id"][0]): g["total_tokens:sum"] for g in groups}
        self.assertEqual(usage, {("gpt-4o", user.id): 165, ("gpt-4o-mini", manager.id): 1001})
        self.assertEqual({g["usage_company_id"][0] for g in groups}, {self.env.company.id})
        views = Log.get_views([(v.view_id.id, v.view_mode) for v in action.view_ids])["views"]
        self.assertIn("total_tokens", views["pivot"]["arch"])
        self.assertIn("llm_model", views["graph"]["arch"])
        # Users read only their own usage.
        mine = self.env["ipai.gateway.call.log"].with_user(user).search(domain)
        self.assertEqual(set(mine.user_id.ids), {user.id})
