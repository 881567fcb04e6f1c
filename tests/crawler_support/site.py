"""A real HTTP server on loopback whose routes are plain data, plus fault-injecting routes.

Routes are looked up by path + query; anything unknown is a 404. Every request is logged with its
headers so tests can check conditional requests, robots.txt and retries from the server's side.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[["_RequestHandler"], None]


@dataclass
class Page:
    """A static response; answers 304 to a matching If-None-Match / If-Modified-Since."""

    body: bytes | str
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    encoding: str = "utf-8"

    def data(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else self.body.encode(self.encoding)

    def __call__(self, h: _RequestHandler) -> None:
        if self.etag and h.headers.get("If-None-Match") == self.etag:
            h.respond(304, b"", {"ETag": self.etag})
            return
        if self.last_modified and not self.etag and h.headers.get("If-Modified-Since") == self.last_modified:
            h.respond(304, b"", {"Last-Modified": self.last_modified})
            return
        headers = {"Content-Type": self.content_type, **self.headers}
        if self.etag:
            headers["ETag"] = self.etag
        if self.last_modified:
            headers["Last-Modified"] = self.last_modified
        h.respond(self.status, self.data(), headers)


@dataclass
class Flaky:
    """Answers ``status`` the first ``failures`` times, then ``then``."""

    failures: int
    then: Handler
    status: int = 500
    calls: int = 0
    headers: dict[str, str] = field(default_factory=dict)  # of the failing answers, e.g. Retry-After

    def __call__(self, h: _RequestHandler) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            h.respond(self.status, b"server error", {"Content-Type": "text/plain", **self.headers})
        else:
            self.then(h)


@dataclass
class Slow:
    delay: float
    then: Handler

    def __call__(self, h: _RequestHandler) -> None:
        time.sleep(self.delay)
        self.then(h)


@dataclass
class Reset:
    """Resets the connection (RST) instead of answering, ``times`` times (None: always), then ``then``."""

    times: int | None = None
    then: Handler | None = None
    calls: int = 0

    def __call__(self, h: _RequestHandler) -> None:
        self.calls += 1
        if self.times is not None and self.calls > self.times and self.then is not None:
            self.then(h)
            return
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.close_connection = True
        h.connection.close()


@dataclass
class Truncated:
    """Declares ``declared`` bytes, sends ``body`` (shorter) and closes; ``times`` then ``then``."""

    body: bytes
    declared: int
    times: int | None = None
    then: Handler | None = None
    calls: int = 0

    def __call__(self, h: _RequestHandler) -> None:
        self.calls += 1
        if self.times is not None and self.calls > self.times and self.then is not None:
            self.then(h)
            return
        h.send_response(200)
        h.send_header("Content-Type", "application/pdf")
        h.send_header("Content-Length", str(self.declared))
        h.end_headers()
        h.wfile.write(self.body)
        h.wfile.flush()
        h.close_connection = True


@dataclass
class Redirect:
    location: str
    status: int = 302

    def __call__(self, h: _RequestHandler) -> None:
        h.respond(self.status, b"", {"Location": self.location})


@dataclass
class Stream:
    """``size`` bytes in chunks, without Content-Length (connection-close delimited) unless ``declare``."""

    size: int
    declare: bool = False
    content_type: str = "application/pdf"

    def __call__(self, h: _RequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", self.content_type)
        if self.declare:
            h.send_header("Content-Length", str(self.size))
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        sent, chunk = 0, b"x" * 65536
        try:
            while sent < self.size:
                h.wfile.write(chunk[: self.size - sent])
                sent += len(chunk)
        except OSError:
            pass  # the client gave up, as it should


@dataclass
class Drip:
    """A 200 sent one byte every ``every`` seconds: its header lines (``in_headers``) or its body, then closed.
    Each byte arrives well within any socket timeout; only a total deadline ends it early."""

    body: bytes
    every: float
    in_headers: bool = False
    content_type: str = "application/pdf"

    def __call__(self, h: _RequestHandler) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {self.content_type}\r\nConnection: close\r\n".encode()
        padding = b"X-Padding: " + b"." * 40 + b"\r\n"
        h.close_connection = True
        try:
            if self.in_headers:
                h.wfile.write(head)
                self._drip(h, padding + b"\r\n")
                h.wfile.write(self.body)
            else:
                h.wfile.write(head + b"\r\n")
                self._drip(h, self.body)
            h.wfile.flush()
        except OSError:
            pass  # the client gave up, as it should

    def _drip(self, h: _RequestHandler, data: bytes) -> None:
        for i in range(len(data)):
            h.wfile.write(data[i : i + 1])
            h.wfile.flush()
            time.sleep(self.every)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes; do not wait on delayed ACKs
    server: _Server

    def do_GET(self) -> None:
        site = self.server.site
        with site.lock:
            site.log.append((self.path, dict(self.headers.items())))
        route = site.routes.get(self.path)
        if route is None:
            self.respond(404, b"<html><body>not found</body></html>", {"Content-Type": "text/html"})
            return
        route(self)

    def respond(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    site: Site

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up on purpose (size limits, timeouts) are expected here


class Site:
    """``with Site() as site: site.routes["/a.html"] = Page("…"); site.url("/a.html")``"""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Handler] = {}
        self.log: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self._server = _Server((host, 0), _RequestHandler)
        self._server.site = self
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def hits(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [headers for p, headers in self.log if p == path]

    def __enter__(self) -> Site:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
