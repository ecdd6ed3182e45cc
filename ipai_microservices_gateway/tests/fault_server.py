"""A real HTTP server on 127.0.0.1 that misbehaves on demand.

Used by the gateway's tests and benchmark, and by other modules' tests::

    with FaultServer() as server:
        server.plan(FaultServer.status(503), FaultServer.status(503))  # then 200s
        ...
        assert server.count() == 3

Behaviours are consumed one per request; when none is planned the server
answers ``default`` (200 with a small JSON body).
"""

import contextlib
import email.parser
import email.policy
import json
import socket
import struct
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real services
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between header and body

    def setup(self):
        # Known to the server, so that stop ends this thread even while it waits on a
        # connection a client's pool keeps: else it outlives the server, and a test run
        # piles such threads up (8 MB of stack and often a 64 MB malloc arena of address
        # space each, which Odoo's limit_memory_hard counts).
        with self.server.owner._lock:
            self.server.owner._connections.add(self.request)
        return super().setup()

    def finish(self):
        with self.server.owner._lock:
            self.server.owner._connections.discard(self.request)
        return super().finish()

    def log_message(self, format, *args):  # silence the access log
        return

    def _serve(self):
        server = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        behaviour = server._next()
        server._record(self, body)
        with server._lock:
            server._in_flight += 1
            server._max_in_flight = max(server._max_in_flight, server._in_flight)
        try:
            self._answer(behaviour, body)
        finally:
            with server._lock:
                server._in_flight -= 1

    def _answer(self, behaviour, body):
        if behaviour.get("hang"):
            time.sleep(behaviour["hang"])
            self.close_connection = True
            return
        if behaviour.get("reset"):
            # SO_LINGER 0: the close sends a TCP RST, as a crashed peer does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if behaviour.get("delay"):
            time.sleep(behaviour["delay"])
        status = behaviour.get("status", 200)
        if behaviour.get("mirror"):
            payload = body  # the request body, byte for byte, with its content type
            behaviour = dict(behaviour, content_type=self.headers.get("Content-Type", ""))
        elif behaviour.get("multipart_echo"):
            behaviour, payload = self._first_file(behaviour, body)
        elif behaviour.get("echo"):
            payload = json.dumps(
                {"method": self.command, "path": self.path, "headers": dict(self.headers),
                 "body": body.decode(errors="replace")}
            ).encode()
        else:
            payload = behaviour.get("body", b'{"ok": true}')
        self.send_response(status)
        self.send_header("Content-Type", behaviour.get("content_type", "application/json"))
        for key, value in behaviour.get("headers", {}).items():
            self.send_header(key, value)
        if behaviour.get("omit_length"):  # the body ends when the connection closes
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _first_file(self, behaviour, body):
        """The first file part of a multipart body, as its bytes and content type;
        the form's other fields are listed in the X-Form-Fields header."""
        head = f"Content-Type: {self.headers.get('Content-Type', '')}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        fields, found = {}, (b"", "application/octet-stream")
        for part in message.iter_parts():
            if part.get_filename():
                if not found[0]:
                    found = (part.get_payload(decode=True), part.get_content_type())
            else:
                fields[part.get_param("name", header="content-disposition")] = \
                    part.get_payload(decode=True).decode()
        headers = dict(behaviour.get("headers", {}), **{"X-Form-Fields": json.dumps(fields)})
        return dict(behaviour, content_type=found[1], headers=headers), found[0]

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


class FaultServer:
    """See the module docstring."""

    def __init__(self, default=None, host="127.0.0.1"):
        self.default = default or {"status": 200}
        self._plan = deque()
        self._lock = threading.Lock()
        self.requests = []
        self._in_flight = self._max_in_flight = 0
        self._connections = set()  # kept alive by clients; closed at stop (see _Handler)
        self._httpd = ThreadingHTTPServer((host, 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = None

    # behaviours
    @staticmethod
    def status(code, **extra):
        return dict(extra, status=code)

    @staticmethod
    def retry_after(seconds, code=429):
        return {"status": code, "headers": {"Retry-After": str(seconds)}}

    @staticmethod
    def hang(seconds):
        return {"hang": seconds}

    @staticmethod
    def reset():
        return {"reset": True}

    @staticmethod
    def slow(seconds, code=200):
        return {"delay": seconds, "status": code}

    @staticmethod
    def malformed():
        return {"status": 200, "body": b'{"ok": tru'}

    @staticmethod
    def echo():
        return {"echo": True}

    @staticmethod
    def mirror():
        """Answer the request's body, byte for byte, with its content type."""
        return {"mirror": True}

    @staticmethod
    def multipart_echo():
        """Answer the first uploaded file of a multipart request, byte for byte."""
        return {"multipart_echo": True}

    @staticmethod
    def binary(body, content_type="application/octet-stream", omit_length=False):
        """Answer ``body``; ``omit_length``: no Content-Length, the body ends at close."""
        return {"status": 200, "body": body, "content_type": content_type,
                "omit_length": omit_length}

    def plan(self, *behaviours):
        with self._lock:
            self._plan.extend(behaviours)
        return self

    def _next(self):
        with self._lock:
            return self._plan.popleft() if self._plan else self.default

    def _record(self, handler, body):
        with self._lock:
            self.requests.append(
                {"method": handler.command, "path": handler.path, "headers": dict(handler.headers),
                 "body": body, "at": time.monotonic()}
            )

    def count(self):
        with self._lock:
            return len(self.requests)

    def max_in_flight(self):
        """The most requests this server was answering at the same time."""
        with self._lock:
            return self._max_in_flight

    def gaps(self):
        """Seconds between consecutive requests (the client's waits plus latency)."""
        times = [r["at"] for r in self.requests]
        return [b - a for a, b in zip(times, times[1:], strict=False)]

    def clear(self):
        with self._lock:
            self.requests.clear()
            self._plan.clear()
            self._max_in_flight = self._in_flight

    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # closed by its client meanwhile
                connection.shutdown(socket.SHUT_RDWR)  # its thread's read returns: it ends
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
