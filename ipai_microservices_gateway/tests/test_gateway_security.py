"""Access rights, multi-company, the vault's keys and neutralization."""

import os
import socket
import time

from cryptography.fernet import Fernet

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import config, file_open

from ..exceptions import (
    GatewayHostRefused,
    GatewaySecretMissing,
    GatewayServiceNotFound,
    GatewayTimeout,
)
from .common import GatewayCase
from .fault_server import FaultServer


@tagged("post_install", "-at_install")
class TestGatewaySecurity(GatewayCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plain = new_test_user(cls.env, "gw_plain", groups="base.group_user")
        cls.user = new_test_user(cls.env, "gw_user",
                                 groups="ipai_microservices_gateway.gateway_group_user")
        cls.manager = new_test_user(cls.env, "gw_manager",
                                    groups="ipai_microservices_gateway.gateway_group_manager")

    def test_plain_users_cannot_call_or_read_secrets(self):
        service = self.make_service(auth_type="bearer", token="tok-secret-1")
        with self.assertRaises(AccessError):
            self.Gateway.with_user(self.plain).call("fault", "GET", "/x")
        with self.assertRaises(AccessError):
            service.with_user(self.plain).read(["name"])
        with self.assertRaises(AccessError):
            service.with_user(self.user).read(["token"])
        with self.assertRaises(AccessError):
            self.env["ipai.gateway.secret"].with_user(self.manager).search([])
        # Managers read the field, but it is write-only: always empty.
        self.assertFalse(service.with_user(self.manager).read(["token"])[0]["token"])
        self.assertEqual(service.with_user(self.user).secret_status, "Set")

    def test_users_call_and_read_only_their_own_logs(self):
        service = self.make_service()
        with self.shared_cursor():
            self.Gateway.with_user(self.user).call("fault", "GET", "/mine")
            self.Gateway.with_user(self.manager).call("fault", "GET", "/theirs")
        user_logs = self.Log.with_user(self.user).search([("service_id", "=", service.id)])
        self.assertEqual(user_logs.mapped("path"), ["/mine"])
        all_logs = self.Log.with_user(self.manager).search([("service_id", "=", service.id)])
        self.assertEqual(len(all_logs), 2)
        with self.assertRaises(AccessError):
            service.with_user(self.user).write({"read_timeout": 99})

    def test_services_of_another_company_are_invisible(self):
        other = self.env["res.company"].create({"name": "Other Co"})
        service = self.make_service(code="elsewhere", company_id=other.id)
        self.assertFalse(self.Service.with_user(self.user).search([("id", "=", service.id)]))
        with self.assertRaises(GatewayServiceNotFound):
            self.Gateway.with_user(self.user).call("elsewhere", "GET", "/x")

    def test_rotation_with_old_and_new_keys(self):
        service = self.make_service(auth_type="bearer", token="tok-rotate")
        old_keys = os.environ["IPAI_VAULT_KEYS"]
        new_key = Fernet.generate_key().decode()
        self.addCleanup(os.environ.__setitem__, "IPAI_VAULT_KEYS", old_keys)
        os.environ["IPAI_VAULT_KEYS"] = f"{new_key},{old_keys}"
        self.server.plan(FaultServer.echo(), FaultServer.echo())
        with self.shared_cursor():
            before = self.Gateway.call("fault", "GET", "/x")
            # Every stored secret was encrypted with an older key: all are re-encrypted.
            stored = self.env["ipai.gateway.secret"].sudo().search_count([])
            action = self.Service.with_user(self.manager).action_reencrypt_secrets()
            self.assertIn(f"{stored} secret(s)", action["params"]["message"])
            again = self.Service.with_user(self.manager).action_reencrypt_secrets()
            self.assertIn("0 secret(s)", again["params"]["message"])
            os.environ["IPAI_VAULT_KEYS"] = new_key  # the old keys are gone now
            after = self.Gateway.call("fault", "GET", "/x")
        for result in (before, after):
            self.assertEqual(result["json"]["headers"]["Authorization"], "Bearer tok-rotate")
        self.assertEqual(service.secret_status, "Set")
        with self.assertRaises(AccessError):
            self.Service.with_user(self.user).action_reencrypt_secrets()

    def test_missing_key_gives_the_promised_error_and_calls_fail_closed(self):
        service = self.make_service(auth_type="bearer", token="tok-before")
        saved = os.environ.pop("IPAI_VAULT_KEYS")
        self.addCleanup(os.environ.__setitem__, "IPAI_VAULT_KEYS", saved)
        self.assertFalse(config.get("ipai_vault_keys") or config.get("ipai_vault_keys_file"))
        with self.assertRaises(GatewaySecretMissing) as err:
            service.write({"token": "tok-after"})
        self.assertIn("IPAI_VAULT_KEYS", str(err.exception))
        self.assertIn("[ipai_vault] section", str(err.exception))
        with self.shared_cursor(), self.assertFails(GatewaySecretMissing):
            self.Gateway.call("fault", "GET", "/x")
        self.assertEqual(self.server.count(), 0, "no request may leave without its secret")

    def test_a_call_needing_an_unset_secret_fails_closed(self):
        self.make_service(auth_type="api_key")
        with self.shared_cursor(), self.assertFails(GatewaySecretMissing) as err:
            self.Gateway.call("fault", "GET", "/x")
        self.assertIn("needs a api key", str(err.exception))
        self.assertEqual(self.server.count(), 0)

    def test_neutralization_wipes_the_secrets(self):
        service = self.make_service(auth_type="bearer", token="tok-prod")
        with file_open("ipai_microservices_gateway/data/neutralize.sql") as sql:
            self.env.cr.execute(sql.read())
        service.invalidate_recordset()
        self.assertFalse(service.has_secret)

    def test_seeded_services_are_inactive(self):
        seeded = self.Service.with_context(active_test=False).search(
            [("code", "in", ["ocr", "llm", "agent"])])
        self.assertEqual(sorted(seeded.mapped("base_url")), [
            "http://agent-service:8002", "http://llm-service:8001", "http://ocr-service:8000"])
        self.assertFalse(any(seeded.mapped("active")))

    def test_a_read_only_user_cannot_close_a_breaker_or_probe_an_inactive_service(self):
        service = self.make_service(retry_max_attempts=1)
        self.server.plan(*[FaultServer.status(500)] * 3)
        with self.shared_cursor():
            for _ in range(3):
                with self.assertFails(Exception):
                    self.Gateway.call("fault", "GET", "/boom")
            sent = self.server.count()
            with self.assertFails(AccessError):
                service.with_user(self.user).action_test_connection()
            service.active = False
            with self.assertFails(AccessError):
                service.with_user(self.user).action_test_connection()
            self.assertEqual(self.server.count(), sent, "no probe may leave")
            service.invalidate_recordset()
            self.assertEqual(service.breaker_state, "open")
            # A manager may test it, inactive or not, and so close the breaker.
            service.with_user(self.manager).action_test_connection()
            service.invalidate_recordset()
            self.assertEqual(service.breaker_state, "closed")

    def test_callers_may_not_set_the_host_header(self):
        service = self.make_service()
        for headers in ({"Host": "evil.example"}, {"host": "127.0.0.2"},
                        {" HOST ": "x"}, {"Transfer-Encoding": "chunked"}):
            with self.subTest(headers=headers), self.shared_cursor(), \
                    self.assertFails(GatewayHostRefused) as err:
                self.Gateway.with_user(self.user).call("fault", "GET", "/x", headers=headers)
            self.assertIn("Nothing was sent", str(err.exception))
            with self.subTest(headers=headers), self.assertRaises(GatewayHostRefused):
                self.Gateway.with_user(self.user).call_async("fault", "GET", "/x",
                                                             headers=headers)
        self.assertEqual(self.server.count(), 0)
        self.assertEqual(set(self.logs(service).mapped("outcome")), {"refused"})

    def test_a_callers_connect_timeout_is_capped_by_the_services(self):
        # A peer whose accept queue is full: the kernel drops new SYNs, so a
        # connection attempt hangs until the connect timeout.
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        self.addCleanup(listener.close)
        port = listener.getsockname()[1]
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            self.addCleanup(filler.close)
        self.make_service("blackhole", base_url=f"http://127.0.0.1:{port}",
                          connect_timeout=0.5, retry_max_attempts=1)
        started = time.monotonic()
        with self.shared_cursor(), self.assertFails(GatewayTimeout) as err:
            self.Gateway.with_user(self.user).call("blackhole", "GET", "/x", timeout=(20, 20))
        self.assertLess(time.monotonic() - started, 3.0)
        self.assertFalse(err.exception.request_sent)
