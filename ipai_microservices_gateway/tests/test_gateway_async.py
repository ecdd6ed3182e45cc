"""call_async keeps the promises of call: nothing non-idempotent is sent twice, and
the job stores no raw request data (issue 13; issue 9, item 11)."""

import json

from odoo.addons.queue_job.controllers.main import RunJobController
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..exceptions import GatewayNotRepeated
from ..models.ipai_gateway import _slot_key
from .common import GatewayCase
from .fault_server import FaultServer


@tagged("post_install", "-at_install")
class TestGatewayAsync(GatewayCase):
    def run_job(self, uuid):
        """One run of the job, as the runner does it (perform, then done)."""
        job = Job.load(self.env, uuid)
        with self.shared_cursor():
            RunJobController._try_perform_job(self.env, job)
        return job

    def perform(self, uuid):
        with self.shared_cursor():
            return Job.load(self.env, uuid).perform()

    def test_a_queued_post_is_retried_only_while_it_cannot_have_been_sent(self):
        closed = self.make_service("closed", base_url="http://127.0.0.1:9",
                                   retry_max_attempts=1, breaker_failure_threshold=50)
        uuid = self.Gateway.call_async("closed", "POST", "/orders", json={"n": 1})
        # Connection refused: the request was never written, so the job retries.
        with self.assertFails(RetryableJobError):
            self.perform(uuid)
        payload = self.env["ipai.gateway.job.payload"].sudo().search([("job_uuid", "=", uuid)])
        self.assertFalse(payload.sent_at, "a refused connection sent nothing")
        self.assertEqual(self.logs(closed).outcome, "connection_error")

        self.make_service(read_timeout=0.3, retry_max_attempts=3)
        self.server.plan(FaultServer.hang(2), FaultServer.hang(2), FaultServer.hang(2))
        uuid = self.Gateway.call_async("fault", "POST", "/orders", json={"n": 1})
        with self.assertFails(GatewayNotRepeated) as err:
            self.perform(uuid)
        self.assertIn("did not answer within 0.3 s", str(err.exception))
        self.assertIn("does not send it again", str(err.exception))
        # Whatever happens to the job next (a retry, a requeue after a worker died),
        # the POST is not sent again.
        with self.assertFails(GatewayNotRepeated) as err:
            self.perform(uuid)
        self.assertIn("was not sent again", str(err.exception))
        self.assertEqual(self.server.count(), 1)

    def test_a_reset_after_the_post_was_written_fails_the_job(self):
        self.make_service()
        self.server.plan(FaultServer.reset())
        uuid = self.Gateway.call_async("fault", "PATCH", "/orders/1", json={"paid": True})
        with self.assertFails(GatewayNotRepeated) as err:
            self.perform(uuid)
        self.assertIn("unreachable", str(err.exception))
        self.assertEqual(self.server.count(), 1)

    def test_idempotency_key_true_uses_the_job_uuid(self):
        service = self.make_service(read_timeout=0.3)
        self.server.plan(FaultServer.hang(2))  # then 200
        uuid = self.Gateway.call_async("fault", "POST", "/runs", json={"job": 7},
                                       idempotency_key=True)
        job = self.run_job(uuid)
        self.assertEqual(job.state, "done")
        self.assertIn("2 attempt(s)", job.result)
        self.assertEqual([r["headers"].get("Idempotency-Key") for r in self.server.requests],
                         [uuid, uuid])
        self.assertEqual(self.logs(service).job_uuid, uuid)

    def test_queued_requests_keep_no_raw_data(self):
        service = self.make_service(auth_type="bearer", token="tok-service-1")
        secrets = ("4111-BODY-SECRET", "hdr-SECRET-77", "qry-SECRET-99")
        self.server.plan(FaultServer.echo())
        uuid = self.Gateway.call_async(
            "fault", "POST", f"/charge?access_token={secrets[2]}",
            json={"card": secrets[0]}, headers={"X-Customer-Token": secrets[1]},
            idempotency_key="charge-1")

        def job_row():
            self.env.flush_all()
            self.env.cr.execute(
                "SELECT name, func_string, args::text, kwargs::text, records::text, state, "
                "coalesce(result, '') FROM queue_job WHERE uuid = %s", [uuid])
            return self.env.cr.fetchone()

        def payload_rows():
            self.env.cr.execute("SELECT ciphertext FROM ipai_gateway_job_payload "
                                "WHERE job_uuid = %s", [uuid])
            return [row[0] for row in self.env.cr.fetchall()]

        row = job_row()
        for secret in secrets:
            self.assertNotIn(secret, json.dumps(row))
        self.assertEqual(row[0], "POST Fault fault /charge?access_token=***")
        (ciphertext,) = payload_rows()
        self.assertTrue(ciphertext.startswith("gAAAAA"))
        self.assertFalse(any(secret in ciphertext for secret in secrets))
        manager = new_test_user(self.env, "gw_payload_manager",
                                groups="ipai_microservices_gateway.gateway_group_manager")
        with self.assertRaises(AccessError):
            self.env["ipai.gateway.job.payload"].with_user(manager).search_read([])

        job = self.run_job(uuid)
        # The service got the request as the caller wrote it ...
        echoed = self.server.requests[0]
        self.assertEqual(echoed["path"], f"/charge?access_token={secrets[2]}")
        self.assertEqual(echoed["headers"]["X-Customer-Token"], secrets[1])
        self.assertEqual(json.loads(echoed["body"]), {"card": secrets[0]})
        # ... and once the job is done, nothing of it is left in the database.
        self.assertEqual(job.state, "done")
        self.assertEqual(payload_rows(), [])
        row = job_row()
        self.assertEqual(row[5], "done")
        for secret in secrets:
            self.assertNotIn(secret, json.dumps(row))
        self.assertEqual(self.logs(service).path, "/charge?access_token=***")

    def test_a_job_waits_for_a_free_slot_of_its_service(self):
        service = self.make_service(concurrency=1)
        uuid = self.Gateway.call_async("fault", "GET", "/one")
        # Another worker runs a job of this service: it holds the only slot.
        with self.registry.cursor() as other:
            other.execute("SELECT pg_advisory_xact_lock(%s)",
                          [_slot_key(service.id, 0)])
            with self.assertFails(RetryableJobError) as err:
                self.perform(uuid)
            self.assertTrue(err.exception.ignore_retry, "waiting uses up no retry")
            self.assertIn("concurrency", str(err.exception))
            self.assertEqual(self.server.count(), 0)
        # That job ended (its transaction is over): the slot is free again.
        self.assertEqual(self.run_job(uuid).state, "done")
        self.assertEqual(self.server.count(), 1)


    def test_the_autovacuum_keeps_exactly_the_requests_a_requeue_needs(self):
        Payload = self.env["ipai.gateway.job.payload"].sudo()
        cases = {  # name: (job state, job age in days, payload age in hours), None: no job
            "pending": ("pending", 40, 48), "started": ("started", 0, 2),
            "failed_recent": ("failed", 29, 48), "failed_old": ("failed", 31, 48),
            "done": ("done", 0, 2), "cancelled": ("cancelled", 0, 2),
            "orphan_old": (None, 0, 2), "orphan_new": (None, 0, 0),
        }
        ids = {}
        for name, (state, job_days, payload_hours) in cases.items():
            payload = Payload._store({"path": f"/{name}", "body": "x" * 10})
            uuid = None
            if state:
                uuid = Payload.with_delay()._gc_payloads().uuid
                self.env.cr.execute(
                    "UPDATE queue_job SET state = %s, date_created = now() at time zone 'UTC'"
                    " - make_interval(days => %s) WHERE uuid = %s", [state, job_days, uuid])
            self.env.cr.execute(
                "UPDATE ipai_gateway_job_payload SET job_uuid = %s, create_date = "
                "now() at time zone 'UTC' - make_interval(hours => %s) WHERE id = %s",
                [uuid, payload_hours, payload.id])
            ids[name] = payload.id
        deleted = Payload._gc_payloads()
        self.env.invalidate_all()
        left = {name for name, pid in ids.items() if Payload.browse(pid).exists()}
        self.assertEqual(left, {"pending", "started", "failed_recent", "orphan_new"})
        self.assertEqual(deleted, 4)
        self.assertEqual(Payload._gc_payloads(), 0)  # a second run finds nothing
