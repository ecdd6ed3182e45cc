"""Queue channels and job functions are queue_job data, with retry patterns."""

from odoo.addons.queue_job.job import Job
from odoo.tests import TransactionCase, tagged

from ..models.ipai_databricks import JOB_CHANNEL

MODELS = ("ipai.databricks.job.run", "ipai.databricks.snapshot", "ipai.databricks.view")


@tagged("post_install", "-at_install")
class TestQueueJobData(TransactionCase):
    def _job_methods(self, model):
        cls = type(self.env[model])
        return sorted(
            name for name in dir(cls)
            if name.startswith("_job_")
            and getattr(getattr(cls, name), "__module__", "").startswith(
                "odoo.addons.ipai_databricks_connector")
        )

    def test_the_channel_is_one_xml_record_under_the_suites_root_ipai(self):
        channel = self.env.ref("ipai_databricks_connector.queue_job_channel_databricks")
        self.assertEqual(channel.complete_name, JOB_CHANNEL)
        self.assertEqual(channel.parent_id,
                         self.env.ref("ipai_well_architected.queue_job_channel_ipai"))
        self.assertEqual(channel.parent_id.complete_name, "root.ipai")
        Channel = self.env["queue.job.channel"]
        for name in ("root.ipai", JOB_CHANNEL):
            self.assertEqual(Channel.search_count([("complete_name", "=", name)]), 1, name)

    def test_every_queued_method_has_its_job_function_with_a_retry_pattern(self):
        Function = self.env["queue.job.function"]
        channel = self.env.ref("ipai_databricks_connector.queue_job_channel_databricks")
        seen = []
        for model in MODELS:
            for method in self._job_methods(model):
                name = f"<{model}>.{method}"
                with self.subTest(name=name):
                    function = Function.search([("name", "=", name)])
                    self.assertEqual(len(function), 1, "one record, never a duplicate")
                    self.assertEqual(function.channel_id, channel)
                    self.assertTrue(function.retry_pattern)
                    self.assertTrue(function.get_external_id()[function.id].startswith(
                        "ipai_databricks_connector."))
                    seen.append(name)
        self.assertGreaterEqual(len(seen), 9)

    def test_a_queued_job_waits_as_its_pattern_says_when_the_error_names_no_delay(self):
        job = Job(self.env["ipai.databricks.snapshot"].browse()._job_query)
        self.assertEqual(job.channel, JOB_CHANNEL)
        delays = []
        for retry in (1, 2, 3, 6, 10):
            job.retry = retry
            delays.append(job._get_retry_seconds())
        self.assertEqual(delays, [10, 10, 30, 120, 600])
        job.retry = 3
        self.assertEqual(job._get_retry_seconds(45), 45, "a Retry-After still wins")
        local = Job(self.env["ipai.databricks.snapshot"].browse()._job_publish)
        local.retry = 1
        self.assertEqual(local._get_retry_seconds(), 5)
