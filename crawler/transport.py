"""The crawler's connections: a requests adapter whose sockets are checked and timed.

- Every connection is checked on the address it actually reached (``AddressPolicy``), before a byte is sent:
  a host name that resolves, or re-resolves, to a metadata, link-local or internal address is refused.
- Every request runs under one total deadline (connect + headers + body, retries included). Per-socket
  timeouts alone let a server that sends one byte every few seconds hold a worker for ever; when the deadline
  passes a timer shuts the socket down, and the fetch is a timeout failure, whatever was received.
- A ``Retry-After`` longer than the crawler will wait is not retried: the response comes back at once so the
  crawl can leave that host for the run.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import InvalidHeader, MaxRetryError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from crawler.address import AddressPolicy

RETRY_AFTER_CAP = 30.0  # seconds: a longer Retry-After (429/503) is not waited for in a worker
_GIVE_UP_STATUSES = frozenset({429, 503})


_RETRY_AFTER = Retry(retry_after_max=10**9)  # only parses the header


def retry_after_seconds(header: str | None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) in seconds, uncapped; None when absent or unreadable."""
    if header is None:
        return None
    try:
        return _RETRY_AFTER.parse_retry_after(header)
    except InvalidHeader:
        return None


class AddressRefused(Exception):
    """The connection reached an address the crawler must not talk to (not retried)."""


class DeadlineExceeded(Exception):
    """The request's total time ran out (not retried)."""


class Deadline:
    """One request's total time. While it runs, the socket in use is attached so that the timer can shut it
    down; a blocked read then returns at once instead of waiting for the next dripped byte. (The socket, not
    the connection: http.client lets go of a connection's socket once a response that closes it begins.)"""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._done = False

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def check(self) -> None:
        if self.expired or self.remaining() <= 0:
            self.expired = True
            raise DeadlineExceeded(f"no complete response within {self.seconds:g}s")

    def attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
        if sock is not None and self.expired:
            _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            sock = self._sock
        if sock is not None:
            _shutdown(sock)

    def __enter__(self) -> Deadline:
        _WATCHDOG.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
            self._sock = None
        _WATCHDOG.ended()


class _Watchdog:
    """One thread for every deadline of the process (a timer thread per request costs a thread start each)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._cond = threading.Condition()
        self._count = itertools.count()
        self._thread: threading.Thread | None = None
        self._active = 0

    def ended(self) -> None:
        with self._cond:
            self._active -= 1

    def add(self, limit: Deadline) -> None:
        with self._cond:
            self._active += 1
            if len(self._heap) > 2 * self._active + 64:  # mostly requests that ended long before their deadline
                self._heap = [entry for entry in self._heap if not entry[2]._done]
                heapq.heapify(self._heap)
            heapq.heappush(self._heap, (limit.at, next(self._count), limit))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="nianbao-deadlines", daemon=True)
                self._thread.start()
            if self._heap[0][2] is limit:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                _, _, limit = heapq.heappop(self._heap)
            limit._fire()  # a no-op when its request has ended


_WATCHDOG = _Watchdog()


_current = threading.local()


@contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Run the requests made on this thread inside the block under one total deadline."""
    outer = getattr(_current, "deadline", None)
    with Deadline(seconds) as limit:
        _current.deadline = limit
        try:
            yield limit
        finally:
            _current.deadline = outer


def current_deadline() -> Deadline | None:
    return getattr(_current, "deadline", None)


def _shutdown(sock: socket.socket) -> None:
    with suppress(OSError):  # closed already
        sock.shutdown(socket.SHUT_RDWR)


class _Guarded:
    """Mixed into urllib3's connections: the policy check on the connected address, the deadline."""

    policy: AddressPolicy = AddressPolicy()
    host: str
    timeout: Any
    sock: socket.socket | None

    def connect(self) -> None:
        limit = current_deadline()
        if limit is not None:
            limit.check()
            if isinstance(self.timeout, int | float):
                self.timeout = max(0.001, min(self.timeout, limit.remaining()))
        super().connect()  # type: ignore[misc]
        if limit is not None:
            limit.attach(self.sock)  # for https, the TLS socket now wrapping the one _new_conn attached

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        try:
            peer = sock.getpeername()[0]
        except OSError as exc:
            sock.close()
            raise AddressRefused(f"cannot tell which address {self.host} connected to: {exc}") from exc
        reason = self.policy.refusal(peer)
        if reason:
            sock.close()
            raise AddressRefused(f"{self.host} connected to {reason}")
        limit = current_deadline()
        if limit is not None:
            limit.attach(sock)  # a TLS handshake that drips is cut off too
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        limit = current_deadline()
        if limit is not None:
            limit.check()
            if self.sock is not None:  # a kept-alive connection: connect() is not called again
                limit.attach(self.sock)
        super().request(*args, **kwargs)  # type: ignore[misc]


class GuardedAdapter(HTTPAdapter):
    """``HTTPAdapter`` whose pools make connections checked against ``policy`` and timed by the deadline."""

    def __init__(self, policy: AddressPolicy, **kwargs: Any) -> None:
        self.policy = policy
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        http = type("GuardedHTTPConnection", (_Guarded, HTTPConnection), {"policy": self.policy})
        https = type("GuardedHTTPSConnection", (_Guarded, HTTPSConnection), {"policy": self.policy})
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }


class CrawlRetry(Retry):
    """urllib3's Retry within the request's deadline, honouring a server's Retry-After (429, 503) up to
    ``retry_after_cap`` seconds; a longer one is not retried at all (the response is handed back)."""

    def __init__(self, *args: Any, retry_after_cap: float = RETRY_AFTER_CAP, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after_cap = retry_after_cap

    def new(self, **kwargs: Any) -> CrawlRetry:  # each retry is a new object: keep the cap
        kwargs.setdefault("retry_after_cap", self.retry_after_cap)
        return super().new(**kwargs)

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> CrawlRetry:
        limit = current_deadline()
        if limit is not None and limit.expired:
            raise DeadlineExceeded(f"no complete response within {limit.seconds:g}s") from error
        if response is not None and response.status in _GIVE_UP_STATUSES:
            wait = self.requested_wait(response)
            if wait is not None and wait > self.retry_after_cap:
                cause = ResponseError(f"Retry-After {wait:.0f}s is longer than {self.retry_after_cap:g}s")
                raise MaxRetryError(_pool, url, cause)  # raise_on_status=False: the response is returned
        return super().increment(method, url, response, error, _pool, _stacktrace)  # type: ignore[return-value]

    def requested_wait(self, response: BaseHTTPResponse) -> float | None:
        return retry_after_seconds(response.headers.get("Retry-After"))

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        wait = super().get_retry_after(response)
        return None if wait is None else min(wait, self.retry_after_cap)

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        limit = current_deadline()
        if limit is not None:
            wait = (self.get_retry_after(response) if response is not None else None) or self.get_backoff_time()
            if wait >= limit.remaining():  # sleeping would spend the rest of the budget: give up now
                limit.expired = True
                raise DeadlineExceeded(f"no complete response within {limit.seconds:g}s")
        super().sleep(response)
