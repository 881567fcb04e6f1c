"""HTTP fetching: one GET per call, with timeouts, retries (urllib3 Retry for the request, our loop for the
body), robots.txt (protego), conditional requests, a body-size cap and charset detection for link extraction.

Redirects are not followed here: a 3xx comes back with ``redirect_to`` so the crawl archives every hop and
owns the loop limit. Failures come back as a ``FetchResult`` with ``error`` set, never as an exception.
"""

from __future__ import annotations

import random
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from charset_normalizer import from_bytes
from protego import Protego
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from crawler.archive import HttpRequest, HttpResponse

RETRY_STATUSES = frozenset({500, 502, 503, 504})
RETRY_AFTER_CAP = 30.0  # seconds: a longer Retry-After (429/503) is waited this long, not hours in a worker
ROBOTS_MAX_BYTES = 512 * 1024
ROBOTS_DELAY_CAP = 30.0  # seconds: a robots.txt Crawl-delay above this is capped, not obeyed literally
_CHUNK = 64 * 1024
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
_GB_FAMILY = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936", "gb18030"}


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
        """The body with gzip/deflate Content-Encoding undone (what link extraction reads)."""
        encoding = self.header("Content-Encoding").lower().strip()
        if encoding in ("gzip", "x-gzip", "deflate"):
            try:
                return zlib.decompress(self.body, 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS)
            except zlib.error:
                return self.body
        return self.body


@dataclass(slots=True)
class _Robots:
    parser: Protego | None  # None → everything disallowed (robots.txt unreachable)
    reason: str = ""


class _CappedRetry(Retry):
    """urllib3's Retry, honouring a server's Retry-After (on 429 and 503) for at most ``retry_after_cap``
    seconds: the server asked us to slow down, but one worker thread must not sleep for hours."""

    def __init__(self, *args: Any, retry_after_cap: float = RETRY_AFTER_CAP, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after_cap = retry_after_cap

    def new(self, **kwargs: Any) -> _CappedRetry:  # each retry is a new object: keep the cap
        kwargs.setdefault("retry_after_cap", self.retry_after_cap)
        return super().new(**kwargs)

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        wait = super().get_retry_after(response)
        return None if wait is None else min(wait, self.retry_after_cap)


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
    _robots: dict[str, _Robots] = field(default_factory=dict, init=False, repr=False)
    _robots_locks: dict[str, threading.Lock] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False)

    # -- sessions ----------------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            retry = _CappedRetry(
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
                respect_retry_after_header=True,  # 429/503 with Retry-After are retried after it, capped
                retry_after_cap=self.retry_after_cap,
            )
            adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=4)
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
            with self._session().get(
                origin + "/robots.txt", timeout=self.timeout, allow_redirects=True, stream=True
            ) as resp:
                if 400 <= resp.status_code < 500:
                    return _Robots(Protego.parse(""))
                if resp.status_code >= 500:
                    return _Robots(None, f"robots.txt unreachable: HTTP {resp.status_code}")
                raw = resp.raw.read(ROBOTS_MAX_BYTES, decode_content=True)  # RFC 9309: at least 500 KiB
        except (requests.RequestException, Urllib3Error, OSError) as exc:
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
        if not self.robots_allows(url):
            reason = self.robots_reason(url) or "disallowed by robots.txt"
            return FetchResult(url, request, error=reason, robots_blocked=True)
        result = FetchResult(url, request)
        for attempt in range(self.retries + 1):
            result, body_failed = self._attempt(url, headers, request)
            result.attempts = attempt + 1
            # urllib3's Retry already retried connect/read errors and 5xx before a response arrived;
            # this loop covers what it cannot: the body breaking off after the headers.
            if not (body_failed and result.error and _retryable(result.error)):
                break
            time.sleep(self.backoff * (2**attempt) + random.uniform(0, self.backoff))
        result.elapsed = time.monotonic() - started
        return result

    def _attempt(self, url: str, headers: dict[str, str], request: HttpRequest) -> tuple[FetchResult, bool]:
        """One request (with urllib3's retries); the flag says the failure happened while reading the body."""
        try:
            resp = self._session().get(url, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False)
        except requests.exceptions.InvalidURL as exc:
            return FetchResult(url, request, error=f"invalid URL: {exc}"), False
        except requests.RequestException as exc:
            return FetchResult(url, request, error=_describe(exc)), False
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
            declared = resp.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                result.error = f"body too large: Content-Length {declared} > limit {self.max_body_bytes}"
                return result, False
            result.body, result.error = self._read_body(resp)
            return result, result.error is not None
        finally:
            resp.close()

    def _read_body(self, resp: requests.Response) -> tuple[bytes, str | None]:
        deadline = time.monotonic() + self.timeout * 10  # a slow drip must end too, not only a silent socket
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in resp.raw.stream(_CHUNK, decode_content=False):
                size += len(chunk)
                if size > self.max_body_bytes:
                    return b"", f"body too large: more than {self.max_body_bytes} bytes (aborted)"
                if time.monotonic() > deadline:
                    return b"", f"timeout: body not complete after {self.timeout * 10:.0f}s"
                chunks.append(chunk)
        except (Urllib3Error, requests.RequestException, OSError) as exc:
            got = f" after {size} bytes" if size else ""
            return b"", f"{_describe(exc)}{got}"
        return b"".join(chunks), None


def decode_text(body: bytes, content_type: str = "") -> str:
    """Text for link extraction: charset from the HTTP header, then a <meta> tag, then charset-normalizer."""
    for candidate in (_header_charset(content_type), _meta_charset(body)):
        if candidate:
            try:
                return body.decode(candidate, errors="replace")
            except LookupError:
                continue
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(body[:200_000]).best()
    encoding = _normalise_charset(best.encoding) if best is not None else "gb18030"
    return body.decode(encoding or "gb18030", errors="replace")


def _header_charset(content_type: str) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_:.-]+)", content_type or "", re.I)
    return _normalise_charset(match.group(1)) if match else None


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:4096])
    return _normalise_charset(match.group(1).decode("ascii", "ignore")) if match else None


def _normalise_charset(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().lower()
    return "gb18030" if name in _GB_FAMILY else name  # GB18030 is a superset; pages labelled gb2312 often use GBK


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


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
