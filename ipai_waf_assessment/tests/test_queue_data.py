"""The check job's channel and retry timing are queue_job data."""

from odoo.addons.queue_job.job import Job
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestAssessmentQueueData(TransactionCase):
    def test_the_check_job_runs_on_root_ipai_assessment_with_a_retry_pattern(self):
        channel = self.env.ref("ipai_waf_assessment.queue_job_channel_assessment")
        self.assertEqual(channel.complete_name, "root.ipai.assessment")
        self.assertEqual(channel.parent_id,
                         self.env.ref("ipai_well_architected.queue_job_channel_ipai"))
        for name in ("root.ipai", "root.ipai.assessment"):
            self.assertEqual(
                self.env["queue.job.channel"].search_count([("complete_name", "=", name)]), 1)
        functions = self.env["queue.job.function"].search(
            [("name", "=", "<ipai.waf.finding>._job_run_check")])
        self.assertEqual(len(functions), 1, "the older Python hook made no duplicate")
        self.assertEqual(functions.channel_id, channel)
        job = Job(self.env["ipai.waf.finding"].browse()._job_run_check)
        self.assertEqual(job.channel, "root.ipai.assessment")
        delays = []
        for retry in (1, 3, 5, 9):
            job.retry = retry
            delays.append(job._get_retry_seconds())
        self.assertEqual(delays, [10, 60, 300, 300])
