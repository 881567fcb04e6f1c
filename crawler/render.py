"""Rendering list pages that JavaScript fills, with headless Chromium through Playwright (optional).

A list filled from a JSON API (or by any script) is empty in the static HTML. With ``render = "auto"`` a
source's list pages whose static HTML yields no report links are loaded in Chromium and read again from the
rendered DOM; ``"always"`` renders every list page, ``"never"`` none. The main document is served to the
browser from the response we already fetched (so the DOM is derived from the archived bytes); the page's
own requests (its JSON, scripts) go to the site. Images, fonts and media are not loaded.

Rendering is optional at run time: without Playwright (``pip install nianbao[render]``) or without a
Chromium binary the crawl goes on with the static reading and says which pages it could not render.
Playwright's sync API is bound to the thread that started it: the crawl calls ``render`` from its one
handling thread only.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Chromium's flags here and in the browser tests: headless, no sandbox (containers), quiet (no calls home).
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_SKIPPED_TYPES = frozenset({"image", "font", "media"})
QUIET = 0.15  # seconds without a request in flight after "load": the page's scripts are done
POLL = 0.025


class RenderUnavailable(RuntimeError):
    """No browser to render with; the message says why (no Playwright, no Chromium at the path, launch failed)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    url: str
    html: str  # the DOM after the page's scripts ran, serialised
    seconds: float


def find_browser(setting: str = "") -> str | None:
    """The Chromium executable: the ``render_browser`` setting when given (even if it does not exist: then
    there is no browser), else ``chromium``/``chromium-browser`` on PATH, else /usr/bin/chromium."""
    if setting:
        return setting if Path(setting).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


class Renderer:
    """One headless Chromium, launched on first use and closed with ``close()``."""

    def __init__(
        self,
        browser_path: str = "",
        timeout: float = 15.0,
        user_agent: str = "",
        refusal: Callable[[str], str | None] | None = None,
    ) -> None:
        self.browser_path = browser_path
        self.refusal = refusal  # the crawl's address policy: the page's own requests obey it too
        self.timeout = timeout
        self.user_agent = user_agent
        self.unavailable: str | None = None  # why rendering is impossible, once known
        self.pages = 0
        self.seconds = 0.0  # rendering time, launch excluded
        self.launch_seconds = 0.0
        self._pw: Any = None
        self._browser: Any = None
        self._context: Any = None  # one for the crawl, as one browser window: a fresh context costs ~1 s

    def _launch(self) -> None:
        if self._browser is not None:
            return
        if self.unavailable is not None:
            raise RenderUnavailable(self.unavailable)
        executable = find_browser(self.browser_path)
        if executable is None:
            where = self.browser_path or "chromium on PATH or /usr/bin/chromium"
            self.unavailable = f"no Chromium browser ({where} not found)"
            raise RenderUnavailable(self.unavailable)
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            self.unavailable = "Playwright is not installed (pip install 'nianbao[render]')"
            raise RenderUnavailable(self.unavailable) from None
        started = time.monotonic()
        try:
            self._pw = sync_playwright().start()
            self._browser = self._pw.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
            self._context = self._browser.new_context(user_agent=self.user_agent or None, java_script_enabled=True)
        except Exception as exc:  # a broken install must not end the crawl
            self.close()
            self.unavailable = f"Chromium at {executable} did not start: {type(exc).__name__}: {exc}"[:300]
            raise RenderUnavailable(self.unavailable) from exc
        self.launch_seconds = time.monotonic() - started

    def render(self, url: str, body: bytes, content_type: str, allow: Callable[[str], bool] | None = None) -> Rendered:
        """The DOM of ``url`` after its scripts ran, the main document answered with ``body``. The page's own
        requests go out only to URLs ``allow`` accepts (the source's hosts, the crawler's address rules).

        Raises RenderUnavailable when there is no browser; other failures (a timeout) raise RuntimeError."""
        self._launch()
        started = time.monotonic()
        page = self._context.new_page()
        try:
            page.set_default_timeout(self.timeout * 1000)

            def route(r: Any) -> None:
                request = r.request
                if request.url == url and request.is_navigation_request():
                    r.fulfill(status=200, body=body, headers={"Content-Type": content_type or "text/html"})
                elif request.resource_type in _SKIPPED_TYPES or (allow is not None and not allow(request.url)):
                    r.abort()
                elif self.refusal is not None and self.refusal(request.url):
                    r.abort("blockedbyclient")  # a script asking for an internal address gets nothing
                else:
                    r.continue_()

            page.route("**/*", route)
            inflight = [0]
            page.on("request", lambda _r: inflight.__setitem__(0, inflight[0] + 1))
            for event in ("requestfinished", "requestfailed"):
                page.on(event, lambda _r: inflight.__setitem__(0, inflight[0] - 1))
            try:
                page.goto(url, wait_until="load")
                self._settle(page, inflight, started)
            except Exception as exc:
                raise RuntimeError(f"rendering {url} failed: {type(exc).__name__}: {str(exc)[:200]}") from exc
            html = page.content()
        finally:
            page.close()
        elapsed = time.monotonic() - started
        self.pages += 1
        self.seconds += elapsed
        return Rendered(url, html, elapsed)

    def _settle(self, page: Any, inflight: list[int], started: float) -> None:
        """Wait until the page's own requests (its JSON, late scripts) have been quiet for ``QUIET`` seconds.

        Playwright's "networkidle" waits a fixed 500 ms; a list filled from one JSON answer settles sooner."""
        quiet_since = time.monotonic()
        while time.monotonic() - started < self.timeout:
            page.wait_for_timeout(POLL * 1000)
            if inflight[0] > 0:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= QUIET:
                return

    def close(self) -> None:
        for closer in (self._context, self._browser, self._pw):
            if closer is None:
                continue
            try:
                closer.stop() if closer is self._pw else closer.close()
            except Exception:  # closing a half-started browser may fail; nothing is lost
                log.debug("closing the renderer failed", exc_info=True)
        self._context = self._browser = self._pw = None
