"""HTTP fetching: one GET per call, with timeouts, retries (urllib3 Retry for the request, our loop for the
body), robots.txt (protego), conditional requests, limits, and charset detection for link extraction.

Limits (see ``crawler.transport`` and ``crawler.encoding``): one total deadline per URL (connect + headers +
body, retries included), a body cap on the bytes received AND on the bytes they decode to, and a check of
the URL and of the address each connection reached (``crawler.address``).

Redirects are not followed here: a 3xx comes back with ``redirect_to`` so the crawl archives every hop and
owns the loop limit. Failures come back as a ``FetchResult`` with ``error`` set, never as an exception.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from protego import Protego
from urllib3.exceptions import HTTPError as Urllib3Error

from crawler.address import AddressPolicy
from crawler.archive import HttpRequest, HttpResponse
from crawler.encoding import BodyDecoder, DecodedTooLarge, UndecodableBody, decode_text
from crawler.transport import (
    RETRY_AFTER_CAP,
    AddressRefused,
    CrawlRetry,
    Deadline,
    DeadlineExceeded,
    GuardedAdapter,
    deadline,
    retry_after_seconds,
)

__all__ = ["RETRY_AFTER_CAP", "FetchResult", "Fetcher", "decode_text"]

RETRY_STATUSES = frozenset({500, 502, 503, 504})
ROBOTS_MAX_BYTES = 512 * 1024
ROBOTS_DELAY_CAP = 30.0  # seconds: a robots.txt Crawl-delay above this is capped, not obeyed literally
DEFAULT_DEADLINE = 300.0  # seconds for one URL, all attempts (settings.request_deadline)
_CHUNK = 64 * 1024


@dataclass(slots=True)
class FetchResult:
    url: str
    request: HttpRequest
    response: HttpResponse | None = None
    body: bytes = b""  # as received: de-chunked, Content-Encoding NOT undone (the archive keeps it so)
    error: str | None = None  # why there is no usable response
    redirect_to: str | None = None  # absolute Location of a 3xx
    attempts: int = 1
    elapsed: float = 0.0
    robots_blocked: bool = False
    refused: bool = False  # the URL or the address it connected to is not for the crawler (never retried)
    decoded: bytes | None = None  # the body with Content-Encoding undone (within the body cap); None: not encoded
    encoding_problem: str | None = None  # the Content-Encoding could not be undone (the page is read as sent)
    retry_after: float | None = None  # a 429/503 asked for a wait longer than the crawler gives (seconds)

    @property
    def status(self) -> int:
        return self.response.status if self.response else 0

    @property
    def ok(self) -> bool:
        return self.error is None and self.response is not None

    def header(self, name: str) -> str:
        if self.response is None:
            return ""
        name = name.lower()
        return next((v for k, v in self.response.headers if k.lower() == name), "")

    @property
    def content_type(self) -> str:
        return self.header("Content-Type")

    def entity(self) -> bytes:
        """The body with its Content-Encoding undone (what link extraction reads), decoded while it streamed."""
        return self.body if self.decoded is None else self.decoded


@dataclass(slots=True)
class _Robots:
    parser: Protego | None  # None → everything disallowed (robots.txt unreachable)
    reason: str = ""


@dataclass
class Fetcher:
    """Thread-safe: one requests Session per thread, a shared robots.txt cache."""

    user_agent: str
    timeout: float = 20.0
    max_body_bytes: int = 50 * 1024 * 1024
    retries: int = 3
    backoff: float = 0.5  # seconds; doubled each retry, plus up to the same again of jitter
    retry_after_cap: float = RETRY_AFTER_CAP
    obey_robots: bool = True
    deadline: float = DEFAULT_DEADLINE  # seconds for one URL: connect + headers + body, all attempts
    policy: AddressPolicy = field(default_factory=AddressPolicy)  # where connections may go
    _robots: dict[str, _Robots] = field(default_factory=dict, init=False, repr=False)
    _robots_locks: dict[str, threading.Lock] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False)

    # -- sessions ----------------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            retry = CrawlRetry(
                total=self.retries,
                connect=self.retries,
                read=self.retries,
                status=self.retries,
                other=0,
                redirect=0,
                backoff_factor=self.backoff,
                backoff_jitter=self.backoff,
                backoff_max=30.0,
                status_forcelist=RETRY_STATUSES,
                allowed_methods=frozenset({"GET", "HEAD"}),
                raise_on_status=False,  # after the last retry, hand back the 5xx itself
                respect_retry_after_header=True,  # 429/503 with Retry-After are retried after it, if short
                retry_after_cap=self.retry_after_cap,
            )
            adapter = GuardedAdapter(self.policy, max_retries=retry, pool_connections=4, pool_maxsize=4)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update(
                {
                    "User-Agent": self.user_agent,
                    "Accept": "text/html,application/xhtml+xml,application/pdf,*/*;q=0.8",
                    "Accept-Encoding": "identity",  # keep archived bytes as close to the file as servers allow
                    "Accept-Language": "zh-CN,zh;q=0.9",
                }
            )
            session.trust_env = False  # no proxies from the environment: we talk to the sites directly
            self._local.session = session
        return session

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()

    # -- robots.txt ----------------------------------------------------------------------------------------

    def robots_allows(self, url: str) -> bool:
        if not self.obey_robots:
            return True
        robots = self._robots_for(url)
        return robots.parser is not None and robots.parser.can_fetch(url, self.user_agent)

    def robots_delay(self, url: str) -> float:
        """The site's Crawl-delay for us (capped), 0 when none or robots.txt not loaded yet."""
        robots = self._robots.get(_origin(url))
        if robots is None or robots.parser is None:
            return 0.0
        delay = robots.parser.crawl_delay(self.user_agent)
        return min(float(delay), ROBOTS_DELAY_CAP) if delay else 0.0

    def robots_reason(self, url: str) -> str:
        robots = self._robots.get(_origin(url))
        return robots.reason if robots else ""

    def _robots_for(self, url: str) -> _Robots:
        origin = _origin(url)
        with self._lock:
            cached = self._robots.get(origin)
            if cached is not None:
                return cached
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:  # one robots.txt fetch per site, however many threads ask at once
            cached = self._robots.get(origin)
            if cached is None:
                cached = self._load_robots(origin)
                with self._lock:
                    self._robots[origin] = cached
            return cached

    def _load_robots(self, origin: str) -> _Robots:
        # RFC 9309: 4xx → no rules; 5xx or unreachable → assume complete disallow.
        try:
            with (
                deadline(self.deadline) as limit,
                self._session().get(
                    origin + "/robots.txt", timeout=self.timeout, allow_redirects=True, stream=True
                ) as resp,
            ):
                if 400 <= resp.status_code < 500:
                    return _Robots(Protego.parse(""))
                if resp.status_code >= 500:
                    return _Robots(None, f"robots.txt unreachable: HTTP {resp.status_code}")
                # RFC 9309: at least 500 KiB; urllib3 (≥ 2.6) decodes no more than asked for.
                raw = resp.raw.read(ROBOTS_MAX_BYTES, decode_content=True)
                if limit.expired:
                    return _Robots(None, f"robots.txt unreachable: timeout: not complete within {self.deadline:g}s")
        except AddressRefused as exc:
            return _Robots(None, f"refused: {exc}")
        except (requests.RequestException, Urllib3Error, OSError, DeadlineExceeded) as exc:
            return _Robots(None, f"robots.txt unreachable: {_describe(exc)}")
        return _Robots(Protego.parse(raw.decode("utf-8", errors="replace")))

    # -- one GET -----------------------------------------------------------------------------------------

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        started = time.monotonic()
        request = HttpRequest("GET", url, [*self._session().headers.items(), *headers.items()])
        refusal = self.policy.url_refusal(url)
        if refusal:
            return FetchResult(url, request, error=f"refused: {refusal}", refused=True)
        if not self.robots_allows(url):
            reason = self.robots_reason(url) or "disallowed by robots.txt"
            if reason.startswith("refused: "):  # robots.txt itself led to a refused address
                return FetchResult(url, request, error=reason, refused=True)
            return FetchResult(url, request, error=reason, robots_blocked=True)
        result = FetchResult(url, request)
        with deadline(self.deadline) as limit:
            for attempt in range(self.retries + 1):
                result, body_failed = self._attempt(url, headers, request, limit)
                result.attempts = attempt + 1
                # urllib3's Retry already retried connect/read errors and 5xx before a response arrived;
                # this loop covers what it cannot: the body breaking off after the headers.
                if limit.expired or not (body_failed and result.error and _retryable(result.error)):
                    break
                pause = self.backoff * (2**attempt) + random.uniform(0, self.backoff)
                if pause >= limit.remaining():
                    break
                time.sleep(pause)
        result.elapsed = time.monotonic() - started
        return result

    def _attempt(
        self, url: str, headers: dict[str, str], request: HttpRequest, limit: Deadline
    ) -> tuple[FetchResult, bool]:
        """One request (with urllib3's retries); the flag says the failure happened while reading the body."""
        try:
            resp = self._session().get(url, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False)
        except AddressRefused as exc:
            return FetchResult(url, request, error=f"refused: {exc}", refused=True), False
        except requests.exceptions.InvalidURL as exc:
            return FetchResult(url, request, error=f"invalid URL: {exc}"), False
        except (requests.RequestException, DeadlineExceeded) as exc:
            return FetchResult(url, request, error=_timed_out(limit) if limit.expired else _describe(exc)), False
        try:
            sent = resp.request.headers
            request = HttpRequest("GET", url, list(sent.items()))
            response = HttpResponse(
                status=resp.status_code,
                reason=resp.reason or "",
                http_version="HTTP/1.0" if resp.raw.version == 10 else "HTTP/1.1",
                headers=list(resp.raw.headers.items()),
            )
            result = FetchResult(url, request, response)
            if resp.is_redirect and resp.headers.get("Location"):
                result.redirect_to = urljoin(url, resp.headers["Location"])
            if resp.status_code in (429, 503):
                wait = retry_after_seconds(resp.headers.get("Retry-After"))
                if wait is not None and wait > self.retry_after_cap:
                    result.retry_after = wait
            declared = resp.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                result.error = f"body too large: Content-Length {declared} > limit {self.max_body_bytes}"
                return result, False
            self._read_body(resp, result)
            if limit.expired:  # the socket was shut under a drip: what arrived is not the whole response
                result.body, result.decoded, result.error = b"", None, _timed_out(limit)
            return result, result.error is not None
        finally:
            resp.close()

    def _read_body(self, resp: requests.Response, result: FetchResult) -> None:
        """Stream the body into ``result``: raw (as archived) and decoded, both within the body cap."""
        try:
            decoder = BodyDecoder.for_header(resp.headers.get("Content-Encoding", ""), self.max_body_bytes)
        except UndecodableBody as exc:
            decoder, result.encoding_problem = None, str(exc)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in resp.raw.stream(_CHUNK, decode_content=False):
                size += len(chunk)
                if size > self.max_body_bytes:
                    result.error = f"body too large: more than {self.max_body_bytes} bytes (aborted)"
                    return
                if decoder is not None:
                    try:
                        decoder.feed(chunk)
                    except UndecodableBody as exc:
                        decoder, result.encoding_problem = None, str(exc)
                chunks.append(chunk)
            if decoder is not None:
                try:
                    result.decoded = decoder.finish()
                except UndecodableBody as exc:
                    result.encoding_problem = str(exc)
        except DecodedTooLarge:
            result.error = (
                f"body too large: {', '.join(decoder.encodings) if decoder else 'encoded'} body decodes to more "
                f"than {self.max_body_bytes} bytes (aborted after {size} bytes received)"
            )
            return
        except (Urllib3Error, requests.RequestException, OSError) as exc:
            got = f" after {size} bytes" if size else ""
            result.error = f"{_describe(exc)}{got}"
            return
        result.body = b"".join(chunks)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _timed_out(limit: Deadline) -> str:
    return f"timeout: no complete response within {limit.seconds:g}s (request deadline)"


def _retryable(error: str) -> bool:
    # Body-phase failures worth another try: the connection broke or stalled. Never a size or URL problem.
    return error.startswith(("connection", "timeout", "truncated", "protocol"))


def _describe(exc: BaseException) -> str:
    """A short, stable reason for the failure log ("timeout: …", "connection reset", …)."""
    text = str(exc)
    chain: list[BaseException] = [exc]
    while chain[-1].__cause__ is not None or chain[-1].__context__ is not None:
        nxt = chain[-1].__cause__ or chain[-1].__context__
        if nxt is None or nxt in chain:
            break
        chain.append(nxt)
    names = " ".join(type(e).__name__ for e in chain) + " " + text
    if "IncompleteRead" in names or "incomplete" in text.lower():
        return f"truncated body: {_short(text)}"
    if isinstance(exc, requests.exceptions.Timeout) or "Timeout" in names or "timed out" in text:
        return f"timeout: {_short(text)}"
    if "Reset" in names or "reset by peer" in text or "RemoteDisconnected" in names or "aborted" in text.lower():
        return f"connection reset: {_short(text)}"
    if isinstance(exc, requests.exceptions.ConnectionError) or "NewConnectionError" in names:
        return f"connection failed: {_short(text)}"
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return f"redirect loop: {_short(text)}"
    return f"protocol error: {_short(text)}"


def _short(text: str, limit: int = 200) -> str:
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
