"""Result links (EXTERNAL_LINKS) name any URL the endpoint likes: the download is held to
the workspace's link policy. Real listeners on loopback play the internal services."""

from odoo.addons.ipai_microservices_gateway.tests.common import loopback_requests_only
from odoo.addons.ipai_microservices_gateway.tests.fault_server import FaultServer
from odoo.tests import TransactionCase, tagged

from ..lakehouse import errors

SIGNATURE = "X-Amz-Signature=5ec12e7deadbeef"


@tagged("post_install", "-at_install")
class TestResultLinks(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        loopback_requests_only(cls)
        cls.internal = FaultServer(default={"echo": True}).start()
        cls.addClassCleanup(cls.internal.stop)
        cls.storage = FaultServer(default={"echo": True}).start()
        cls.addClassCleanup(cls.storage.stop)
        cls.Dbx = cls.env["ipai.databricks"]

    def setUp(self):
        super().setUp()
        self.internal.clear()
        self.storage.clear()
        self.ws = self.env["ipai.databricks.workspace"].create({
            "name": "Links", "backend": "local", "local_root": "/nonexistent"})

    def link(self, server, path="/chunk"):
        return f"{server.url}{path}?{SIGNATURE}"

    def refused(self, url, headers=None):
        with self.assertRaises(errors.DatabricksError) as caught:
            self.Dbx._fetch_link(self.ws, url, headers)
        self.assertNotIn(SIGNATURE, str(caught.exception))
        return str(caught.exception)

    def test_by_default_only_https_cloud_storage_is_fetched(self):
        self.assertIn("*.blob.core.windows.net", self.ws.link_hosts)
        for url in (self.link(self.internal), "http://169.254.169.254/latest/meta-data/",
                    f"https://127.0.0.1:{self.internal.port}/x?{SIGNATURE}",
                    f"https://evil.example.com/x?{SIGNATURE}",
                    f"https://bucket.s3.amazonaws.com.evil.example/x?{SIGNATURE}",
                    f"https://bucket.s3.amazonaws.com@127.0.0.1:{self.internal.port}/x",
                    f"https://127.0.0.1:{self.internal.port}\\@bucket.s3.amazonaws.com/x"):
            with self.subTest(url=url):
                self.refused(url)
        self.assertEqual(self.internal.count(), 0)

    def test_http_needs_the_explicit_loopback_setting_and_a_listed_host(self):
        self.ws.link_hosts = f"127.0.0.1:{self.storage.port}"
        self.assertIn("only https", self.refused(self.link(self.storage)))
        self.ws.allow_http_links = True
        body = self.Dbx._fetch_link(self.ws, self.link(self.storage))
        self.assertIn(b'"path": "/chunk?', body)
        self.assertIn("not among", self.refused(self.link(self.internal)))
        self.assertEqual(self.internal.count(), 0)

    def test_no_redirect_no_cookie_and_only_documented_headers(self):
        self.ws.write({"link_hosts": f"127.0.0.1:{self.storage.port}",
                       "allow_http_links": True})
        self.storage.plan({"status": 302, "headers": {
            "Location": self.link(self.internal), "Set-Cookie": "session=stolen"}})
        self.refused(self.link(self.storage))
        self.assertEqual(self.internal.count(), 0, "the redirect was not followed")
        self.storage.plan({"status": 200, "headers": {"Set-Cookie": "session=stolen"}})
        self.Dbx._fetch_link(self.ws, self.link(self.storage))
        self.Dbx._fetch_link(self.ws, self.link(self.storage), {
            "Authorization": "Bearer dapi-stolen", "Cookie": "a=b", "Host": "internal",
            "x-amz-server-side-encryption-customer-key": "c2VjcmV0",
            "x-ms-encryption-key": "a2V5"})
        sent = {k.lower(): v for k, v in self.storage.requests[-1]["headers"].items()}
        self.assertEqual(sent["x-amz-server-side-encryption-customer-key"], "c2VjcmV0")
        self.assertEqual(sent["x-ms-encryption-key"], "a2V5")
        self.assertNotIn("authorization", sent)
        self.assertNotIn("cookie", sent)
        self.assertEqual(sent["host"], f"127.0.0.1:{self.storage.port}")

    def test_a_chunk_over_the_cap_is_refused(self):
        self.ws.write({"link_hosts": f"127.0.0.1:{self.storage.port}",
                       "allow_http_links": True, "link_max_mb": 1})
        self.storage.plan({"status": 200, "body": b"x" * (2 * 1024 * 1024)})
        self.assertIn("cap of 1 MB", self.refused(self.link(self.storage)))

    def test_a_failing_link_never_shows_its_signature(self):
        self.ws.write({"link_hosts": "127.0.0.1:*", "allow_http_links": True})
        self.storage.plan({"reset": True})
        message = self.refused(self.link(self.storage))
        self.assertIn(f"127.0.0.1:{self.storage.port}", message)
        self.storage.plan({"status": 500})
        self.refused(self.link(self.storage))
