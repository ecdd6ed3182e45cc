"""Outside tests, a success's log row is written off the caller's commit."""

import time
import uuid

import odoo
from odoo import SUPERUSER_ID, api
from odoo.tests import tagged
from odoo.tools import SQL

from ..models import ipai_gateway_call_log as call_log_model
from .common import GatewayCase


@tagged("post_install", "-at_install")
class TestGatewayLogWriter(GatewayCase):
    """Successes are written by each process's writer thread, except under tests,
    where no thread may share the test's cursor. This class calls as production
    does: on real cursors of its own (a committed service and log row, both deleted
    at the end), with Odoo's "a test is running" flag cleared during the call."""

    def committed(self, func):
        """``func(env)`` in a transaction of its own, committed."""
        with self.registry.cursor() as cr:
            return func(api.Environment(cr, SUPERUSER_ID, {}))

    def create_committed_service(self, code):
        service = self.committed(lambda env: env["ipai.gateway.service"].create({
            "name": "Writer ☃ test", "code": code, "base_url": self.server.url,
            "connect_timeout": 1.0, "read_timeout": 1.0, "retry_max_attempts": 1,
        }).read(["channel_id"])[0])
        self.addCleanup(self.committed, lambda env: (
            env["ipai.gateway.service"].browse(service["id"]).unlink(),
            env["queue.job.channel"].browse(service["channel_id"][0]).unlink()))
        return service["id"]

    def committed_logs(self, service_id, seconds):
        query = SQL("SELECT outcome, path, status, duration_ms > 0 FROM ipai_gateway_call_log "
                    "WHERE service_id = %s", service_id)
        deadline = time.monotonic() + seconds
        while True:
            rows = self.committed(lambda env: env.execute_query(query))
            if rows or time.monotonic() > deadline:
                return [tuple(row) for row in rows]
            time.sleep(0.05)

    def test_a_success_stays_logged_when_its_caller_rolls_back(self):
        code = f"Writer-{uuid.uuid4().hex[:8]}"
        service_id = self.create_committed_service(code)
        path = "/orders?since=2026-12-03T00%3A00%3A00%2B09%3A00&q=caf%C3%A9"
        saved = odoo.modules.module.current_test
        odoo.modules.module.current_test = None
        try:
            with self.registry.cursor() as cr:
                started = time.monotonic()
                result = api.Environment(cr, SUPERUSER_ID, {})["ipai.gateway"].call(
                    code, "GET", path)
                cr.rollback()  # the caller's own work is undone; the call happened
        finally:
            odoo.modules.module.current_test = saved
        self.assertEqual(result["status"], 200)
        rows = self.committed_logs(service_id, seconds=call_log_model.WRITE_SECONDS * 20)
        self.assertEqual(rows, [("success", path, 200, True)])
        # Written within about WRITE_SECONDS of the call, not at some later flush.
        self.assertLess(time.monotonic() - started, call_log_model.WRITE_SECONDS * 10)
