"""Files and bytes: multipart uploads, raw bodies, binary answers kept byte for byte,
and a response-size cap (issue 13)."""

import json
import logging

from odoo.tests import tagged

from ..exceptions import GatewayError, GatewayResponseTooLarge
from .common import GatewayCase
from .fault_server import FaultServer

# Bytes that break any text decoding: a PNG signature, every byte value, CRLFs and
# something that looks like a multipart boundary.
IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40 + b"\r\n--boundary--\r\n\xff\xd8"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(
    range(128, 256)) * 20 + b"\n%%EOF\n"


@tagged("post_install", "-at_install")
class TestGatewayFiles(GatewayCase):
    def test_an_uploaded_image_comes_back_identical(self):
        service = self.make_service()
        form_secret = "form-SECRET-3141"
        self.server.plan(FaultServer.multipart_echo(), FaultServer.mirror())
        with self.assertLogs(level=logging.DEBUG) as captured, self.shared_cursor():
            logging.getLogger("odoo.addons.ipai_microservices_gateway").debug("start")
            uploaded = self.Gateway.call(
                "fault", "POST", "/v1/parse", data={"lang": "en", "api_key": form_secret},
                files={"receipt": ("receipt.png", IMAGE, "image/png")})
            raw = self.Gateway.call("fault", "PUT", "/v1/blobs/1", content=IMAGE,
                                    headers={"Content-Type": "image/png"})
        self.assertEqual(uploaded["content"], IMAGE)
        self.assertNotIn("text", uploaded, "an image is not decoded as text")
        self.assertEqual(json.loads(uploaded["headers"]["X-Form-Fields"]),
                         {"lang": "en", "api_key": form_secret})
        sent = self.server.requests[0]
        self.assertTrue(sent["headers"]["Content-Type"].startswith("multipart/form-data"))
        self.assertEqual(raw["content"], IMAGE)
        self.assertEqual(self.server.requests[1]["body"], IMAGE)
        self.assertNotIn(form_secret, "\n".join(captured.output))
        self.assertNotIn(form_secret, str(self.logs(service).read()))

    def test_a_pdf_answer_round_trips_intact(self):
        self.make_service()
        self.server.plan(FaultServer.binary(PDF, "application/pdf"),
                         FaultServer.binary(PDF, "application/pdf", omit_length=True))
        with self.shared_cursor():
            first = self.Gateway.call("fault", "GET", "/reports/1.pdf")
            second = self.Gateway.call("fault", "GET", "/reports/2.pdf")
        for result in (first, second):
            self.assertEqual(result["content"], PDF)
            self.assertNotIn("text", result)
        # Text answers keep their text, with the bytes beside it.
        self.server.plan(FaultServer.binary("café".encode(), "text/plain; charset=utf-8"))
        with self.shared_cursor():
            text = self.Gateway.call("fault", "GET", "/readme")
        self.assertEqual((text["text"], text["content"]), ("café", "café".encode()))

    def test_an_answer_over_the_size_cap_is_refused_and_not_kept(self):
        service = self.make_service(response_max_mb=0.01)  # 10,485 bytes
        big = b"\0" * 50_000
        self.server.plan(FaultServer.binary(big), FaultServer.binary(big, omit_length=True),
                         FaultServer.binary(b"\0" * 10_000))
        with self.shared_cursor():
            for path in ("/big", "/streamed"):
                with self.subTest(path=path), self.assertFails(GatewayResponseTooLarge) as err:
                    self.Gateway.call("fault", "GET", path)
                self.assertIn("more than 0.01 MB", str(err.exception))
                self.assertGreater(err.exception.size, err.exception.limit)
            self.assertEqual(len(self.Gateway.call("fault", "GET", "/small")["content"]),
                             10_000)
        self.assertEqual(self.server.count(), 3, "a too-large answer is not retried")
        self.assertEqual(self.logs(service).mapped("outcome"),
                         ["too_large", "too_large", "success"])

    def test_a_call_has_one_body(self):
        self.make_service()
        for kwargs in ({"json": {"a": 1}, "data": {"b": 2}},
                       {"content": b"x", "files": {"f": b"y"}},
                       {"content": b"x", "content_b64": "eA=="}, {"content_b64": "not base64!"}):
            with self.subTest(kwargs=kwargs), self.assertRaises(GatewayError) as err:
                self.Gateway.call("fault", "POST", "/x", **kwargs)
            self.assertIn("othing was sent", str(err.exception))
        self.assertEqual(self.server.count(), 0)
