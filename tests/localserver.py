"""A real HTTP server on 127.0.0.1 for integration tests (no network beyond loopback).

Routes map a path (without query) to a handler ``fn(request) -> Reply``. GET and
POST requests (with their body) are recorded so tests can assert what was sent.
Unknown paths answer 404.

A ``Reply`` with ``chunks`` streams its body: each chunk is written after ``delay``
seconds, with chunked transfer-encoding (or, with ``chunked=False``, no length and the
connection closed at the end; with a ``Content-Length`` in ``headers``, that header is
sent as is). A ``Reply`` with ``reset`` answers nothing and resets the connection.
Streaming stops when the client goes away or the server shuts down, so
a trickling or endless body never holds a test; still, bound endless generators.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Iterable[bytes] | None = None  # stream these instead of ``body``
    delay: float = 0.0  # seconds before each chunk
    chunked: bool = True  # chunked transfer-encoding, else close-delimited
    reset: bool = False  # answer nothing and reset the connection


Handler = Callable[[Request], Reply]


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._answer("POST", self.rfile.read(length) if length else b"")

            def do_GET(self) -> None:
                self._answer("GET", b"")

            def _answer(self, method: str, body: bytes) -> None:
                parts = urlsplit(self.path)
                headers = dict(self.headers)
                request = Request(method, parts.path, parse_qs(parts.query), headers, body)
                server.requests.append(request)
                handler = server.routes.get(parts.path)
                reply = handler(request) if handler else Reply(404, b"not found")
                if reply.reset:  # SO_LINGER 0: closing sends a TCP reset, no response
                    linger = struct.pack("ii", 1, 0)
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    self.close_connection = True
                    return
                if reply.chunks is not None:
                    self._stream(reply)
                    return
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if not any(key.lower() == "content-length" for key in reply.headers):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, reply: Reply) -> None:
                assert reply.chunks is not None
                sized = any(key.lower() == "content-length" for key in reply.headers)
                chunked = reply.chunked and not sized
                if chunked:
                    self.protocol_version = "HTTP/1.1"
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for chunk in reply.chunks:
                        if server.stopping.wait(reply.delay):  # wait(0) just checks
                            return
                        if not chunk:
                            continue
                        self.wfile.write(
                            b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
                        )
                        self.wfile.flush()
                    if chunked:
                        self.wfile.write(b"0\r\n\r\n")
                except OSError:  # the client went away (what deadline and cap tests do)
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, path: str, handler: Handler | Reply) -> None:
        self.routes[path] = handler if callable(handler) else (lambda _r, h=handler: h)

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()  # streaming handlers stop at their next chunk
        self._httpd.shutdown()
        self._httpd.server_close()
