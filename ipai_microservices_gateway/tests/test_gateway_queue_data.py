"""The gateway's channels and job functions are queue_job data, with retry patterns."""

from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestGatewayQueueData(TransactionCase):
    def test_root_ipai_is_one_channel_declared_by_the_base_module_and_the_gateway(self):
        base = self.env.ref("ipai_well_architected.queue_job_channel_ipai")
        self.assertEqual(base, self.env.ref("ipai_microservices_gateway.queue_job_channel_ipai"))
        self.assertEqual(base.complete_name, "root.ipai")
        self.assertEqual(
            self.env["queue.job.channel"].search_count([("complete_name", "=", "root.ipai")]), 1)

    def test_every_gateway_job_function_has_a_retry_pattern(self):
        channel = self.env.ref("ipai_microservices_gateway.queue_job_channel_gateway")
        functions = self.env["queue.job.function"].search(
            [("name", "in", ["<ipai.gateway>._job_call", "<ipai.gateway>._job_health_check"])])
        self.assertEqual(len(functions), 2)
        for function in functions:
            with self.subTest(function=function.name):
                self.assertEqual(function.channel_id, channel)
                self.assertTrue(function.retry_pattern)
        health = functions.filtered(lambda f: f.method == "_job_health_check")
        self.assertEqual(health._parse_retry_pattern(), {1: 30, 3: 120})
