"""Shared set-up for the gateway's Odoo tests: a real loopback server per class."""

import socket
import unittest
from contextlib import contextmanager
from unittest.mock import patch
from urllib.parse import urlsplit

import requests

from odoo.tests import TransactionCase, common

from .fault_server import FaultServer


def free_port():
    """A TCP port free on 127.0.0.1 now, for a loopback server a test starts (the module
    tests' one helper; the repository's tests/ports.py is the same for ./suite)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def loopback_requests_only(test_class):
    """Replace Odoo's test-time request guard by a stricter loopback-only one.

    Odoo's guard (``BaseCase._request_handler``) raises every timeout under
    10 s to 10 s and cannot take a ``(connect, read)`` tuple, which would make
    the timeout tests meaningless. This one keeps the real timeouts and, like
    Odoo's, refuses any host but the loopback one. It replaces the test
    harness only; the gateway code runs unchanged.
    """
    real_send = common._super_send

    def send(session, request, **kwargs):
        host = urlsplit(request.url).hostname
        if host not in ("127.0.0.1", "localhost"):
            raise common.BlockedRequest(f"External requests verboten (was {request.url})")
        return real_send(session, request, **kwargs)

    patcher = patch.object(requests.sessions.Session, "send", send)
    patcher.start()
    test_class.addClassCleanup(patcher.stop)


class GatewayCase(TransactionCase):
    """Services point at a FaultServer on 127.0.0.1 with short, fast policies."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        loopback_requests_only(cls)
        cls.server = FaultServer().start()
        cls.addClassCleanup(cls.server.stop)
        cls.Service = cls.env["ipai.gateway.service"]
        cls.Gateway = cls.env["ipai.gateway"]
        cls.Log = cls.env["ipai.gateway.call.log"]

    def setUp(self):
        super().setUp()
        self.server.clear()

    def make_service(self, code="fault", **vals):
        values = {
            "name": f"Fault {code}",
            "code": code,
            "base_url": self.server.url,
            "connect_timeout": 1.0,
            "read_timeout": 1.0,
            "retry_max_attempts": 3,
            "retry_backoff_initial": 0.01,
            "retry_backoff_max": 0.05,
            "retry_total_budget": 10.0,
            "breaker_failure_threshold": 3,
            "breaker_minimum_calls": 100,
            "breaker_open_seconds": 30.0,
            "health_path": "/health",
        }
        values.update(vals)
        return self.Service.create(values)

    @contextmanager
    def shared_cursor(self):
        """Make the gateway's separate cursors (breaker, failure logs) use the
        test transaction, so each test's writes are rolled back with it."""
        with self.enter_registry_test_mode():
            yield

    def assertFails(self, exception):
        """unittest's assertRaises: Odoo's wraps the block in a savepoint that it
        rolls back, which would also undo the failure logs written in test mode."""
        return unittest.TestCase.assertRaises(self, exception)

    def logs(self, service):
        return self.Log.search([("service_id", "=", service.id)], order="id")
