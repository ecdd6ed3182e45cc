"""A real HTTP server on 127.0.0.1 that misbehaves on demand.

Used by the gateway's tests and benchmark, and by other modules' tests::

    with FaultServer() as server:
        server.plan(FaultServer.status(503), FaultServer.status(503))  # then 200s
        ...
        assert server.count() == 3

Behaviours are consumed one per request; when none is planned the server
answers ``default`` (200 with a small JSON body).
"""

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

    def log_message(self, format, *args):  # silence the access log
        return

    def _serve(self):
        server = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        behaviour = server._next()
        server._record(self, body)
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
        if behaviour.get("echo"):
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
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


class FaultServer:
    """See the module docstring."""

    def __init__(self, default=None, host="127.0.0.1"):
        self.default = default or {"status": 200}
        self._plan = deque()
        self._lock = threading.Lock()
        self.requests = []
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

    def gaps(self):
        """Seconds between consecutive requests (the client's waits plus latency)."""
        times = [r["at"] for r in self.requests]
        return [b - a for a, b in zip(times, times[1:], strict=False)]

    def clear(self):
        with self._lock:
            self.requests.clear()
            self._plan.clear()

    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
