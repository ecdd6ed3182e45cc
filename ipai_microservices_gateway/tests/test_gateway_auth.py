"""Auth types, one method each: every type sends its header to a real loopback server."""

import base64
import json
from urllib.parse import parse_qs

from odoo.tests import tagged

from ..exceptions import GatewayAuthUnsupported
from .common import GatewayCase
from .fault_server import FaultServer

TOKEN = "Tok-MiXeD_case.0123~+/="
API_KEY = "k3y-With Spaces and:colons"
USERNAME = "Zoë Müller-O'Brien"
PASSWORD = "pa:ss wörd 💥"
CLIENT_SECRET = "s3cret/With+Base64=Chars"
ACCESS_TOKEN = "at-" + "x" * 500  # a long, JWT-like token


def _basic(user, secret):
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


@tagged("post_install", "-at_install")
class TestGatewayAuth(GatewayCase):
    def service_for(self, auth_type):
        """A service of ``auth_type`` with its settings, and the header it must send."""
        values = {
            "none": ({}, None),
            "bearer": ({"token": TOKEN}, ("Authorization", f"Bearer {TOKEN}")),
            "api_key": ({"api_key": API_KEY, "api_key_header": "X-Customer-KEY"},
                        ("X-Customer-KEY", API_KEY)),
            "basic": ({"username": USERNAME, "password": PASSWORD},
                      ("Authorization", _basic(USERNAME, PASSWORD))),
            "oauth2": ({"client_id": "App ID", "client_secret": CLIENT_SECRET,
                        "token_url": f"{self.server.url}/oauth/token",
                        "oauth_scope": "read:Items write"},
                       ("Authorization", f"Bearer {ACCESS_TOKEN}")),
        }
        settings, header = values[auth_type]
        service = self.make_service(f"auth_{auth_type}", auth_type=auth_type, **settings)
        return service, header

    def test_every_auth_type_is_one_method(self):
        gateway = self.env["ipai.gateway"]
        for auth_type, _label in self.Service._fields["auth_type"].selection:
            with self.subTest(auth_type=auth_type):
                self.assertTrue(callable(getattr(gateway, f"_get_auth_headers_{auth_type}",
                                                 None)),
                                f"auth type {auth_type} has no _get_auth_headers_{auth_type}")

    def test_each_auth_type_sends_its_header(self):
        for auth_type in ("none", "bearer", "api_key", "basic", "oauth2"):
            with self.subTest(auth_type=auth_type):
                self.server.clear()
                service, header = self.service_for(auth_type)
                if auth_type == "oauth2":
                    self.server.plan(FaultServer.status(200, body=json.dumps(
                        {"access_token": ACCESS_TOKEN, "token_type": "Bearer",
                         "expires_in": 3600}).encode()))
                with self.shared_cursor():
                    result = self.Gateway.call(service.code, "GET", "/v1/whoami")
                self.assertEqual(result["status"], 200)
                sent = self.server.requests[-1]
                self.assertEqual(sent["path"], "/v1/whoami")
                if header is None:
                    self.assertNotIn("Authorization", sent["headers"])
                    self.assertNotIn("X-API-Key", sent["headers"])
                else:
                    self.assertEqual(sent["headers"].get(header[0]), header[1])
                self.assertEqual(self.logs(service).mapped("outcome"), ["success"])

    def test_oauth2_gets_its_token_with_the_client_credentials(self):
        service, _header = self.service_for("oauth2")
        self.server.plan(FaultServer.status(200, body=json.dumps(
            {"access_token": ACCESS_TOKEN, "expires_in": 3600}).encode()))
        with self.shared_cursor():
            self.Gateway.call(service.code, "GET", "/a")
            self.Gateway.call(service.code, "GET", "/b")
        token_request, first, second = self.server.requests
        self.assertEqual((token_request["method"], token_request["path"]),
                         ("POST", "/oauth/token"))
        self.assertEqual(token_request["headers"]["Authorization"],
                         _basic("App ID", CLIENT_SECRET))
        self.assertEqual(parse_qs(token_request["body"].decode()),
                         {"grant_type": ["client_credentials"], "scope": ["read:Items write"]})
        # The token is fetched once, then reused until shortly before it expires.
        for sent in (first, second):
            self.assertEqual(sent["headers"]["Authorization"], f"Bearer {ACCESS_TOKEN}")

    def test_an_auth_type_no_module_implements_is_refused_before_sending(self):
        # As left by an uninstalled module that had added the type.
        service, _header = self.service_for("bearer")
        self.env.cr.execute("UPDATE ipai_gateway_service SET auth_type = 'hmac_SHA256' "
                            "WHERE id = %s", [service.id])
        self.env.invalidate_all()
        self.env.registry.clear_cache()
        with self.shared_cursor(), self.assertFails(GatewayAuthUnsupported) as err:
            self.Gateway.call(service.code, "GET", "/x")
        self.assertIn("hmac_SHA256", str(err.exception))
        self.assertIn(service.code, str(err.exception))
        self.assertEqual(self.server.count(), 0, "nothing may leave without its credentials")
        log = self.logs(service)
        self.assertEqual(log.outcome, "refused")
        self.assertIn("hmac_SHA256", log.error)
