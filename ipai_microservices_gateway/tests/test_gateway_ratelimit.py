"""Rate limits: one token bucket per service, shared by every process through
PostgreSQL (issue 13)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job
from odoo.tests import tagged
from odoo.tools import config

from ..exceptions import GatewayHTTPError, GatewayRateLimited
from .common import GatewayCase
from .fault_server import FaultServer

RATELIMIT_PY = Path(__file__).resolve().parents[1] / "resilience" / "ratelimit.py"
# One OS process drawing tokens from the shared bucket as fast as it may.
WORKER = """
import importlib.util, json, sys, time
import psycopg2
spec = importlib.util.spec_from_file_location("ratelimit", sys.argv[1])
rl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rl)
dsn, service_id, start, wanted = json.loads(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), 30
policy = rl.RatePolicy(20, 1.0)
conn = psycopg2.connect(**dsn)
time.sleep(max(0.0, start - time.time()))
grants = []
while len(grants) < wanted:
    with conn, conn.cursor() as cr:
        wait = rl.take(cr, service_id, policy, time.time())
    if wait:
        time.sleep(wait)
    else:
        grants.append(time.time())
print(json.dumps(grants))
"""


@tagged("post_install", "-at_install")
class TestGatewayRateLimit(GatewayCase):
    def test_call_waits_within_its_budget_or_raises_rate_limited(self):
        service = self.make_service("slowrate", rate_limit_requests=2, rate_limit_window=10,
                                    retry_total_budget=1.0)
        with self.shared_cursor():
            for _ in range(2):
                self.Gateway.call("slowrate", "GET", "/x")
            with self.assertFails(GatewayRateLimited) as err:
                self.Gateway.call("slowrate", "GET", "/x")
        self.assertGreater(err.exception.retry_in, 4.0)
        self.assertLessEqual(err.exception.retry_in, 5.0)
        self.assertIn("rate-limited to 2 call(s) per 10 s", str(err.exception))
        self.assertEqual(self.server.count(), 2, "a rate-limited call is not sent")
        self.assertEqual(sorted(self.logs(service).mapped("outcome")),
                         ["rate_limited", "success", "success"])

        self.make_service("fastrate", rate_limit_requests=5, rate_limit_window=1)
        started = time.monotonic()
        with self.shared_cursor():
            for _ in range(6):
                self.Gateway.call("fastrate", "GET", "/y")
        self.assertGreaterEqual(time.monotonic() - started, 0.15, "the 6th call waited")
        self.assertEqual(self.server.count(), 8)

    def test_a_429_empties_the_bucket_until_its_retry_after(self):
        self.make_service(rate_limit_requests=100, rate_limit_window=1, retry_max_attempts=1,
                          retry_total_budget=1.0)
        self.server.plan(FaultServer.retry_after(2))
        with self.shared_cursor():
            with self.assertFails(GatewayHTTPError):
                self.Gateway.call("fault", "GET", "/x")
            with self.assertFails(GatewayRateLimited) as err:
                self.Gateway.call("fault", "GET", "/x")
        self.assertGreater(err.exception.retry_in, 1.5)
        self.assertEqual(self.server.count(), 1)

    def test_call_async_turns_it_into_a_job_retry_with_that_delay(self):
        self.make_service(rate_limit_requests=1, rate_limit_window=30)
        uuid = self.Gateway.call_async("fault", "POST", "/orders", json={"n": 1})
        with self.shared_cursor():
            self.Gateway.call("fault", "GET", "/first")
            with self.assertFails(RetryableJobError) as err:
                Job.load(self.env, uuid).perform()
        self.assertIn(err.exception.seconds, (29, 30))
        self.assertTrue(err.exception.ignore_retry)
        self.assertEqual(self.server.count(), 1)

    def test_two_os_processes_share_one_bucket(self):
        service_id = -(os.getpid() % 1_000_000) - 1  # no service: the bucket row only
        self.addCleanup(self._drop_bucket, service_id)
        dsn = {"dbname": self.env.cr.dbname, "host": config["db_host"] or None,
               "port": config["db_port"] or None, "user": config["db_user"] or None,
               "password": config["db_password"] or None}
        start = time.time() + 1.0
        procs = [subprocess.Popen(
            [sys.executable, "-c", WORKER, str(RATELIMIT_PY), json.dumps(dsn),
             str(service_id), str(start)], stdout=subprocess.PIPE, text=True)
            for _ in range(2)]
        grants = []
        for proc in procs:
            out, _err = proc.communicate(timeout=60)
            self.assertEqual(proc.returncode, 0)
            mine = json.loads(out)
            self.assertEqual(len(mine), 30)
            grants += mine
        grants.sort()
        # 20 a second with a burst of 20: 60 tokens take at least 2 s, whoever takes them.
        self.assertGreaterEqual(grants[-1] - grants[0], 1.8)
        for i, at in enumerate(grants):
            # Slack of 0.25 s: a grant's time is read after its transaction commits, and
            # a busy machine can hold the first process back that long. Two unshared
            # buckets would hand out all 60 tokens within 0.5 s (at most 35 allowed).
            self.assertLessEqual(i + 1, 20 + 20 * (at - grants[0] + 0.25))

    def _drop_bucket(self, service_id):
        with self.registry.cursor() as cr:
            cr.execute("DELETE FROM ipai_gateway_rate_bucket WHERE service_id = %s",
                       [service_id])
