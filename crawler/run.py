"""One crawl: a frontier per host, fetches on worker threads, and archive + catalog writes on the calling thread.

Politeness lives in the dispatcher (like Scrapy's download slots): each host has a queue, a concurrency
limit and a delay between request starts, so a slow host never ties up workers another host could use.
Writes are batched: the WARC records of a batch are fsynced once, then the catalog rows commit; a crash
in between leaves complete records that ``Catalog.recover_archive`` adds back on the next start.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

import click

from crawler.address import AddressPolicy
from crawler.archive import (
    ArchiveError,
    ArchiveLock,
    HttpRequest,
    HttpResponse,
    RecordRef,
    WarcArchive,
    payload_digest,
    read_record,
)
from crawler.budget import PageBudget
from crawler.catalog import Capture, Catalog
from crawler.discover import (
    Link,
    Page,
    analyse,
    canonical_url,
    is_attachment_url,
    is_html_type,
    looks_like_report_title,
)
from crawler.encoding import decode_page, decode_text
from crawler.fetch import RETRY_AFTER_CAP, Fetcher, FetchResult
from crawler.file_links import disposition_filename, title_from_filename
from crawler.jcms import is_datastore
from crawler.progress import Progress
from crawler.render import Rendered, Renderer, RenderUnavailable
from crawler.sources import Source, SourcesError, adhoc_source, load_sources
from nianbao.settings import Settings

log = logging.getLogger(__name__)

MAX_REDIRECTS = 10
WORKERS = 16
_DOC_TYPES = ("pdf", "msword", "officedocument", "ms-excel", "wps", "octet-stream", "ofd", "kswps")


# Reasons the catalog's failure log holds for pages that WERE archived, but may read wrong.
WARNING_PREFIXES = ("undecodable text:", "content-encoding:")


def is_crawl_warning(reason: str) -> bool:
    return reason.startswith(WARNING_PREFIXES)


class CrawlError(click.ClickException):
    """The crawl cannot start (no sources, unknown source, archive busy…); the message is for the user.

    A ClickException so that the CLI prints "Error: …" and exits 1 instead of a traceback; elsewhere it is
    an ordinary exception whose str() is the message.
    """


@dataclass
class CrawlSummary:
    pages: int = 0  # responses received (including 304s and errors with a status)
    new_reports: int = 0  # first capture of a report or attachment URL
    changed: int = 0  # a report or attachment whose content differs from its last capture
    unchanged: int = 0  # revisits: same payload digest, or 304 Not Modified
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    removed: list[str] = field(default_factory=list)  # report URLs newly marked removed
    dead_links: list[str] = field(default_factory=list)  # report links that never answered (not "removed")
    reports_seen: int = 0  # report/attachment URLs fetched or confirmed this run
    resumed_from_archive: int = 0  # pages of an interrupted run taken from the archive instead of refetched
    blocked: int = 0  # URLs robots.txt disallows
    rendered: int = 0  # list pages read again after Chromium ran their scripts
    render_seconds: float = 0.0  # time spent rendering them (browser launch excluded)
    render_skipped: list[str] = field(default_factory=list)  # list pages that needed a browser we do not have
    render_unavailable: str = ""  # why (no Playwright, no Chromium)
    limits: list[str] = field(default_factory=list)  # caps reached, hosts given up: what this run left out
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (url, note): read, but maybe not right
    sources: list[str] = field(default_factory=list)
    run_id: int = 0
    resumed: bool = False
    interrupted: bool = False
    seconds: float = 0.0

    def describe(self) -> str:
        head = f"crawl of {', '.join(self.sources) or 'nothing'}: {self.pages} pages in {self.seconds:.1f}s"
        if self.resumed:
            head += f" (resumed run {self.run_id}; {self.resumed_from_archive} pages taken from the archive)"
        if self.interrupted:
            head += " — INTERRUPTED, run again to resume"
        lines = [
            head,
            f"  new reports/attachments: {self.new_reports}, changed: {self.changed}, unchanged: {self.unchanged}",
            f"  removed: {len(self.removed)}, dead report links: {len(self.dead_links)}, "
            f"blocked by robots.txt: {self.blocked}, failed: {len(self.failed)}",
        ]
        if self.rendered:
            per_page = 1000 * self.render_seconds / self.rendered
            lines.append(f"  rendered {self.rendered} list page(s) in a browser ({per_page:.0f} ms a page)")
        if self.render_skipped:
            lines.append(
                f"  rendering SKIPPED for {len(self.render_skipped)} list page(s) that show no report links without "
                f"JavaScript: {self.render_unavailable}"
            )
            lines += [f"    not rendered {url}" for url in self.render_skipped[:20]]
        lines += [f"  LIMIT: {line}" for line in self.limits]
        if self.warnings:
            lines.append(f"  warnings: {len(self.warnings)}")
            lines += [f"    warning {url} — {note}" for url, note in self.warnings[:10]]
        lines += [f"    removed {url}" for url in self.removed[:20]]
        lines += [f"    dead link {url}" for url in self.dead_links[:20]]
        lines += [f"    failed {url} — {reason}" for url, reason in self.failed[:20]]
        if len(self.failed) > 20:
            lines.append(f"    … and {len(self.failed) - 20} more failures")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        return {
            "pages": self.pages,
            "new_reports": self.new_reports,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "failed": len(self.failed),
            "removed": len(self.removed),
            "dead_links": len(self.dead_links),
            "rendered": self.rendered,
            "render_skipped": len(self.render_skipped),
            "interrupted": self.interrupted,
            "limits": self.limits,
            "warnings": len(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class Task:
    url: str
    source: Source
    depth: int = 0
    kind_hint: str = "page"  # page | column (a 年报 column) | report | attachment | file (its response decides)
    parent_url: str | None = None
    title: str = ""
    pager_hops: int = 0
    chain: tuple[str, ...] = ()  # redirect hops so far, for loop detection
    list_url: str | None = None  # a pager page: the first page of its list (pages per list are capped)


@dataclass
class _Host:
    queue: deque[Task] = field(default_factory=deque)
    inflight: int = 0
    next_at: float = 0.0
    delay: float = 0.0
    concurrency: int = 1
    given_up: str = ""  # why this host is left for the rest of the run (a long Retry-After)
    skipped: int = 0  # URLs not fetched because of it


def crawl(
    settings: Settings,
    *,
    source_id: str | None = None,
    url: str | None = None,
    region: str | None = None,
    progress: bool = False,
    on_capture: Callable[[Capture], None] | None = None,
    stop: threading.Event | None = None,
    render: str = "auto",
) -> CrawlSummary:
    """Crawl one source, an ad-hoc URL, or every source of ``settings.sources_file``; archive and catalog it.

    Raises CrawlError when the crawl cannot start. Failures of single URLs never raise: they are recorded
    in the catalog and listed in the summary. ``render`` applies to an ad-hoc URL (sources set their own).
    """
    sources = _select_sources(settings, source_id, url, region, render)
    lock = ArchiveLock(settings.archive_dir)
    if not lock.acquire(blocking=False):
        lock.release()
        raise CrawlError(f"another crawl is writing the archive in {settings.archive_dir}; try again when it ends")
    try:
        with Catalog(settings.catalog_path) as catalog:
            report = catalog.recover_archive(settings.archive_dir)
            if report.bytes_truncated or report.records_recovered:
                log.warning("archive recovery: %s", report.describe())
            with WarcArchive(settings.archive_dir, settings.warc_max_bytes) as archive:
                return _Crawl(settings, sources, catalog, archive, progress, on_capture, stop).run()
    finally:
        lock.release()


def _select_sources(
    settings: Settings, source_id: str | None, url: str | None, region: str | None, render: str = "auto"
) -> list[Source]:
    try:
        if url:
            refusal = AddressPolicy.from_settings(settings).url_refusal(url)
            if refusal:
                raise CrawlError(f"cannot crawl {url[:200]!r}: {refusal}")
            return [adhoc_source(url, region, render)]
        if settings.sources_file is None:
            raise CrawlError("no sources to crawl: set sources_file (NIANBAO_SOURCES_FILE) or give a URL")
        sources = load_sources(settings.sources_file)
    except SourcesError as exc:
        raise CrawlError(str(exc)) from exc
    if source_id:
        sources = [s for s in sources if s.id == source_id]
        if not sources:
            raise CrawlError(f"no source {source_id!r} in {settings.sources_file}")
    if not sources:
        raise CrawlError(f"no sources to crawl: {settings.sources_file} lists none")
    return sources


class _Crawl:
    def __init__(
        self,
        settings: Settings,
        sources: list[Source],
        catalog: Catalog,
        archive: WarcArchive,
        progress: bool,
        on_capture: Callable[[Capture], None] | None,
        stop: threading.Event | None,
    ) -> None:
        self.settings = settings
        self.sources = sources
        self.catalog = catalog
        self.archive = archive
        self.on_capture = on_capture
        self.stop = stop or threading.Event()
        self.progress = Progress(progress)
        self.fetcher = Fetcher(
            user_agent=settings.user_agent,
            timeout=settings.request_timeout,
            max_body_bytes=settings.max_body_bytes,
            retries=int(settings.extra.get("crawl_retries", 3)),
            backoff=float(settings.extra.get("crawl_backoff", 0.5)),
            retry_after_cap=float(settings.extra.get("crawl_retry_after_cap", RETRY_AFTER_CAP)),
            deadline=settings.request_deadline,
            policy=AddressPolicy.from_settings(settings),
        )
        self.renderer = Renderer(
            settings.render_browser,
            settings.render_timeout,
            settings.user_agent,
            refusal=AddressPolicy.from_settings(settings).url_refusal,
        )
        self.budget = PageBudget(settings)
        self.summary = CrawlSummary(sources=[s.id for s in sources])
        self.hosts: dict[str, _Host] = {}
        self.seen: set[str] = set()
        self.listed: dict[str, set[str]] = {s.id: set() for s in sources}  # URLs linked from pages, per source
        self.incomplete: set[str] = set()  # sources where a page failed: absence from listings proves nothing
        self.pending_callbacks: list[Capture] = []
        scope = (
            f"url:{sources[0].start_urls[0]}"
            if sources[0].id.startswith("adhoc:")
            else "sources:" + ",".join(sorted(s.id for s in sources))
        )
        self.run_id, self.summary.resumed = catalog.begin_run(scope)
        self.summary.run_id = self.run_id

    # -- the loop ----------------------------------------------------------------------------------------

    def run(self) -> CrawlSummary:
        started = time.monotonic()
        for source in self.sources:
            for start in source.start_urls:
                self._enqueue(Task(canonical_url(start), source))
        futures: dict[Future[FetchResult], Task] = {}
        pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="nianbao-fetch")
        try:
            while True:
                if not self.stop.is_set():
                    self._dispatch(pool, futures)
                if not futures:
                    if self.stop.is_set() or not any(h.queue for h in self.hosts.values()):
                        break
                    time.sleep(max(0.0, min(self._next_due() - time.monotonic(), 0.5)))
                    continue
                timeout = max(0.0, self._next_due() - time.monotonic()) if not self.stop.is_set() else None
                done, _ = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
                if done:
                    self._handle_batch([(futures.pop(f), f.result()) for f in done])
        except KeyboardInterrupt:
            self.stop.set()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self.fetcher.close()
            self.renderer.close()
            self.progress.done()
        self.summary.interrupted = self.stop.is_set()
        self.summary.limits = self.budget.describe() + [
            f"host {name}: {h.given_up}; given up for this run, {h.skipped} URL(s) not fetched"
            for name, h in self.hosts.items()
            if h.given_up
        ]
        if not self.summary.interrupted:
            for source in self.sources:
                if source.id not in self.incomplete and not source.id.startswith("adhoc:"):
                    self.summary.removed += self.catalog.apply_listing_absence(
                        source.id, self.listed[source.id], self.settings.removal_after_crawls
                    )
            self.catalog.finish_run(self.run_id, json.dumps(self.summary.as_dict()))
        self.summary.seconds = time.monotonic() - started
        return self.summary

    def _dispatch(self, pool: ThreadPoolExecutor, futures: dict[Future[FetchResult], Task]) -> None:
        now = time.monotonic()
        for host in self.hosts.values():
            while (
                host.queue and host.inflight < host.concurrency and host.next_at <= now and len(futures) < WORKERS * 2
            ):
                task = host.queue.popleft()
                if self.summary.resumed and self._resume(task):
                    continue
                etag, modified = self._validators(task.url)
                futures[pool.submit(self.fetcher.fetch, task.url, etag=etag, last_modified=modified)] = task
                host.inflight += 1
                host.next_at = now + host.delay

    def _next_due(self) -> float:
        due = [h.next_at for h in self.hosts.values() if h.queue and h.inflight < h.concurrency]
        return min(due) if due else time.monotonic() + 0.5

    def _enqueue(self, task: Task, *, force: bool = False) -> None:
        if task.url in self.seen and not force:
            return
        self.seen.add(task.url)
        name = urlsplit(task.url).netloc
        host = self.hosts.get(name)
        if host is not None and host.given_up:
            host.skipped += 1
            self.incomplete.add(task.source.id)  # unseen listings prove no report is gone
            return
        hit = self.budget.admit(task.source, task.list_url)
        if hit is not None:
            self.incomplete.add(task.source.id)
            if hit.refused == 1:  # the first URL a cap turns away: recorded once, described at the end
                self.catalog.record_failure(self.run_id, hit.url, f"cap: {hit.describe()}")
            return
        if host is None:
            delay = task.source.delay if task.source.delay is not None else self.settings.crawl_delay
            host = self.hosts[name] = _Host(delay=delay, concurrency=task.source.concurrency)
        host.queue.append(task)

    def _validators(self, url: str) -> tuple[str | None, str | None]:
        latest = self.catalog.latest_full_capture(url)
        if latest is None or latest.status != 200:
            return None, None  # nothing to fall back on if the server answers 304
        return self.catalog.validators(url)

    # -- handling responses ------------------------------------------------------------------------------

    def _handle_batch(self, batch: list[tuple[Task, FetchResult]]) -> None:
        with self.catalog.transaction():
            for task, result in batch:
                self.hosts[urlsplit(task.url).netloc].inflight -= 1
                try:
                    self._handle(task, result)
                except ArchiveError as exc:
                    self._fail(task, f"archive: {exc}")
                except Exception as exc:  # one odd page must not end the crawl; it is logged and listed
                    log.exception("crawler error on %s", task.url)
                    self._fail(task, f"internal error: {type(exc).__name__}: {exc}")
            self.archive.sync()  # records durable before the rows pointing at them commit
        for capture in self.pending_callbacks:
            self._callback(capture)
        self.pending_callbacks.clear()
        queued = sum(len(h.queue) for h in self.hosts.values())
        s = self.summary
        self.progress.update(
            pages=s.pages, reports=s.new_reports + s.changed, failed=len(s.failed), queued=queued, url=batch[-1][0].url
        )

    def _handle(self, task: Task, result: FetchResult) -> None:
        host = self.hosts[urlsplit(task.url).netloc]
        robots_delay = self.fetcher.robots_delay(task.url)
        if robots_delay > host.delay and self.settings.crawl_delay > 0:
            host.delay = robots_delay  # the site asked for more room than we give by default
        if result.robots_blocked:
            self.summary.blocked += 1
            if self._is_listing_task(task):
                self.incomplete.add(task.source.id)  # an unseen listing proves no report is gone
            self.catalog.record_failure(self.run_id, task.url, result.error or "disallowed by robots.txt")
            return
        if result.response is None or result.error:
            self._fail(task, result.error or "no response")
            return
        self.summary.pages += 1
        status = result.status
        if result.redirect_to and 300 <= status < 400:
            self._archive(task, result, kind="other")
            self._follow_redirect(task, result.redirect_to)
            return
        if status == 304:
            self._not_modified(task, result)
            return
        entity = result.entity()
        page = self._page(task, result.content_type, entity) if status == 200 else None
        rendered = self._render(task, page, entity, result.content_type) if page is not None else None
        if rendered is not None:
            page = analyse(task.url, rendered.html)
        task = self._titled(task, result, page)
        kind = self._kind(task, result.content_type, page)
        capture = self._archive(task, result, kind=kind, title=page.title if page and not task.title else "")
        if rendered is not None:
            self._archive_rendered(task, capture, rendered)
        if result.encoding_problem:
            self._warn(task, f"content-encoding: {result.encoding_problem}; read as sent")
        if status != 200:
            reason = f"HTTP {status}"
            if result.retry_after is not None:
                reason += f"; Retry-After {result.retry_after:.0f}s"
                self._give_up_host(task, result.retry_after)
            self._fail(task, reason, gone=status in (404, 410))
            return
        if page is not None:
            self._follow(task, page, kind)

    def _not_modified(self, task: Task, result: FetchResult) -> None:
        latest = self.catalog.latest_full_capture(task.url)
        if latest is None:
            self._fail(task, "304 Not Modified but nothing archived to fall back on")
            return
        kind = latest.kind
        capture = self._write(
            task, result, kind=kind, title=latest.title, digest=latest.digest, revisit_of=latest, not_modified=True
        )
        self.summary.unchanged += 1
        self._count_report(kind)
        self._mark_seen(task, result, capture)
        if is_html_type(latest.content_type) and latest.kind != "attachment":
            body = self.catalog.read_payload(latest, self.settings.archive_dir)
            page = self._page(task, latest.content_type, body)
            dom = self.catalog.rendered_dom(latest, self.settings.archive_dir) if page is not None else None
            if dom is not None:  # what the browser saw last time: the page has not changed since
                page = analyse(task.url, dom.decode("utf-8", "replace"))
            if page is not None:
                self._follow(task, page, kind)

    def _archive(self, task: Task, result: FetchResult, *, kind: str, title: str = "") -> Capture:
        digest = payload_digest(result.body)
        latest = self.catalog.latest_full_capture(task.url)
        reportish = kind in ("report", "attachment")
        if latest is not None and latest.digest == digest and latest.status == result.status:
            capture = self._write(task, result, kind=kind, title=title, digest=digest, revisit_of=latest)
            self.summary.unchanged += 1
        else:
            capture = self._write(task, result, kind=kind, title=title, digest=digest)
            if reportish and result.status == 200:
                if latest is not None and latest.status == 200:
                    self.summary.changed += 1
                else:
                    self.summary.new_reports += 1
        if result.status == 200:
            self._count_report(kind)
        self._mark_seen(task, result, capture)
        return capture

    def _write(
        self,
        task: Task,
        result: FetchResult,
        *,
        kind: str,
        title: str,
        digest: str,
        revisit_of: Capture | None = None,
        not_modified: bool = False,
    ) -> Capture:
        assert result.response is not None
        title = task.title or title
        meta = {
            "source-id": task.source.id,
            "region": task.source.region,
            "kind": kind,
            "parent-url": task.parent_url or "",
            "title": title,
            "run-id": str(self.run_id),
        }
        now = datetime.now(UTC)
        if revisit_of is None:
            ref = self.archive.write_response(result.request, result.response, result.body, meta, now)
        else:
            original = self._original_ref(revisit_of)
            ref = self.archive.write_revisit(
                result.request,
                result.response,
                digest=digest,
                refers_to=original,
                refers_to_uri=revisit_of.url,
                not_modified=not_modified,
                meta=meta,
                when=now,
            )
        capture = self.catalog.add_capture(
            ref,
            url=task.url,
            status=result.status,
            content_type=result.content_type,
            source_id=task.source.id,
            region=task.source.region,
            kind=kind,
            parent_url=task.parent_url,
            title=title,
            revisit_of=revisit_of.id if revisit_of else None,
            run_id=self.run_id,
        )
        self.pending_callbacks.append(capture)
        return capture

    def _original_ref(self, capture: Capture) -> RecordRef:
        record_id = self.catalog.record_id_of(capture.id) or ""
        date = capture.captured_at.replace("+00:00", "Z")
        return RecordRef(capture.warc_file, capture.offset, capture.length, record_id, capture.digest, date)

    def _mark_seen(self, task: Task, result: FetchResult, capture: Capture) -> None:
        ok = result.status in (200, 304)
        self.catalog.update_url(
            task.url,
            source_id=task.source.id,
            region=task.source.region,
            kind=capture.kind,
            parent_url=task.parent_url,
            title=capture.title,
            status=result.status,
            etag=result.header("ETag") or None if ok else None,
            last_modified=result.header("Last-Modified") or None if ok else None,
            seen=ok,
            gone=result.status in (404, 410),
            when=capture.captured_at,  # the record's WARC-Date: a catalog rebuilt from the archive agrees
        )

    def _fail(self, task: Task, reason: str, *, gone: bool = False) -> None:
        self.summary.failed.append((task.url, reason))
        self.catalog.record_failure(self.run_id, task.url, reason)
        if self._is_listing_task(task):
            self.incomplete.add(task.source.id)
        if not gone:  # a 404/410 was archived and its URL state updated already
            self.catalog.update_url(
                task.url,
                source_id=task.source.id,
                region=task.source.region,
                kind=task.kind_hint if task.kind_hint in ("report", "attachment") else "other",
                parent_url=task.parent_url,
                title=task.title,
                status=None,
                error=reason,
            )
        state = self.catalog.url_state(task.url)
        if state is not None and state.dead:
            self.summary.dead_links.append(task.url)

    def _warn(self, task: Task, note: str) -> None:
        """A page that was archived but may read wrong (charset, encoding): said in the run and the catalog."""
        self.summary.warnings.append((task.url, note))
        self.catalog.record_failure(self.run_id, task.url, note)

    def _give_up_host(self, task: Task, wait: float) -> None:
        """The server asked for a pause longer than a crawl waits: leave the host for the rest of this run."""
        name = urlsplit(task.url).netloc
        host = self.hosts[name]
        if host.given_up:
            return
        host.given_up = f"asked to retry after {wait:.0f}s (longer than the {self.fetcher.retry_after_cap:g}s waited)"
        host.skipped += len(host.queue)
        self.incomplete.update(t.source.id for t in host.queue)
        self.incomplete.add(task.source.id)
        host.queue.clear()
        origin = f"{urlsplit(task.url).scheme}://{name}/"
        self.catalog.record_failure(self.run_id, origin, f"host given up for this run: {host.given_up}")

    def _is_listing_task(self, task: Task) -> bool:
        """A start page, a pager page or a page known as a listing: if it failed, some listing went unseen."""
        if task.depth == 0 or task.pager_hops > 0:
            return True
        state = self.catalog.url_state(task.url)
        return state is not None and state.kind == "listing"

    def _count_report(self, kind: str) -> None:
        if kind in ("report", "attachment"):
            self.summary.reports_seen += 1

    def _callback(self, capture: Capture) -> None:
        if self.on_capture is None:
            return
        try:
            self.on_capture(capture)
        except Exception:  # a consumer's bug must not lose the crawl
            log.exception("on_capture callback failed for %s", capture.url)

    # -- rendering ---------------------------------------------------------------------------------------

    def _wants_render(self, task: Task, page: Page, body: bytes) -> bool:
        """``always``: every list page; ``auto``: a start page or 年报 column whose static HTML links no report
        but runs scripts (which may fill the list); ``never``: none."""
        mode = task.source.render
        if mode == "never" or page.is_report:
            return False
        listing_like = task.depth == 0 or task.kind_hint == "column" or task.pager_hops > 0
        if mode == "always":
            return listing_like or page.is_listing
        has_reports = any(link.looks_like_report for link in page.links)
        return listing_like and not has_reports and b"<script" in body.lower()

    def _render(self, task: Task, page: Page, body: bytes, content_type: str) -> Rendered | None:
        if not self._wants_render(task, page, body):
            return None
        try:
            rendered = self.renderer.render(task.url, body, content_type, allow=self._render_allows(task.source))
        except RenderUnavailable as exc:
            self.summary.render_skipped.append(task.url)
            self.summary.render_unavailable = str(exc)
            self.incomplete.add(task.source.id)  # a list we could not read proves no report is gone
            return None
        except RuntimeError as exc:
            log.warning("%s", exc)
            self.summary.failed.append((task.url, str(exc)))
            self.catalog.record_failure(self.run_id, task.url, str(exc))
            self.incomplete.add(task.source.id)
            return None
        self.summary.rendered += 1
        self.summary.render_seconds += rendered.seconds
        return rendered

    def _render_allows(self, source: Source) -> Callable[[str], bool]:
        """Where the browser may send a rendered page's own requests: the source's hosts and ports, under the
        crawler's address rules (Chromium resolves names itself: a name is judged by the URL alone here)."""
        policy = self.fetcher.policy
        return lambda url: source.allows(url) and policy.url_refusal(url) is None

    def _archive_rendered(self, task: Task, capture: Capture, rendered: Rendered) -> None:
        meta = {"source-id": task.source.id, "kind": "rendered-dom", "run-id": str(self.run_id)}
        ref = self.archive.write_conversion(
            task.url,
            rendered.html.encode("utf-8"),
            "text/html; charset=utf-8",
            refers_to=self._original_ref(capture),
            meta=meta,
            when=datetime.now(UTC),
        )
        self.catalog.add_render(capture.id, ref)

    # -- discovery ---------------------------------------------------------------------------------------

    def _page(self, task: Task, content_type: str, body: bytes) -> Page | None:
        if task.kind_hint == "attachment" or is_attachment_url(task.url):
            return None
        # A 大汉 JCMS dataproxy.jsp answer is XML whose records are the column's next group.
        xml_list = "xml" in content_type.lower() and is_datastore(decode_text(body[:4096], content_type))
        if not is_html_type(content_type) and not xml_list:
            return None
        if content_type.startswith("text/plain") and b"<" not in body[:2048]:
            return None
        decoded = decode_page(body, content_type)
        note = decoded.note()
        if decoded.replaced and note:
            self._warn(task, note)  # archived, but its text may read wrong: say so
        elif note:
            log.info("%s: %s", task.url, note)
        return analyse(task.url, decoded.text)

    @staticmethod
    def _titled(task: Task, result: FetchResult, page: Page | None) -> Task:
        """A file whose link said nothing ("附件下载", a download.jsp?id=…) takes its title from the name the
        server gives it in Content-Disposition (GBK bytes, RFC 5987 or percent-encoded UTF-8)."""
        if page is not None or looks_like_report_title(task.title):
            return task
        name = disposition_filename(result.header("Content-Disposition"))
        return replace(task, title=title_from_filename(name)) if name else task

    @staticmethod
    def _kind(task: Task, content_type: str, page: Page | None) -> str:
        if page is None:
            ct = content_type.lower()
            if task.kind_hint == "file":  # only a file that says it is a report is one
                is_doc = any(t in ct for t in _DOC_TYPES)
                return "report" if is_doc and looks_like_report_title(task.title) else "other"
            if task.kind_hint in ("report", "attachment"):
                return task.kind_hint
            return "attachment" if task.parent_url and any(t in ct for t in _DOC_TYPES) else "other"
        if page.is_report:
            return "report"
        if task.kind_hint == "report" and page.attachments() and not page.is_listing:
            return "report"  # a report page that only says "see the attachment"
        return page.kind

    def _follow(self, task: Task, page: Page, kind: str) -> None:
        source = task.source
        max_depth = source.max_depth if source.max_depth is not None else self.settings.crawl_max_depth
        listed = self.listed.setdefault(source.id, set())
        for link in page.links:
            if link.url == task.url or not source.allows(link.url):
                continue
            listed.add(link.url)
            if link.is_attachment or link.is_download:
                self._follow_file(task, link, kind)
                continue
            if link.pager:  # pages per list are capped in _enqueue (PageBudget)
                list_url = task.list_url or task.url
                self._enqueue(
                    Task(link.url, source, task.depth, "page", task.url, "", task.pager_hops + 1, list_url=list_url)
                )
                continue
            if task.depth + 1 > max_depth:
                continue
            reportish = link.looks_like_report
            if (
                source.compiled_patterns
                and not reportish
                and not any(p.search(link.url) for p in source.compiled_patterns)
            ):
                continue
            # A department's or township's 年报 column: a list page, rendered when its static HTML lists nothing.
            hint = "report" if reportish else "column" if link.is_column else "page"
            self._enqueue(Task(link.url, source, task.depth + 1, hint, task.url, link.text if reportish else ""))

    def _follow_file(self, task: Task, link: Link, kind: str) -> None:
        """A file: the attachment of a report page, a report published as a file, or a download endpoint
        whose response must say what it is (Content-Disposition name and type)."""
        if kind == "report":
            hint = "attachment"
        elif link.looks_like_report:
            hint = "report"
        elif link.is_download:
            hint = "file"
        else:
            return
        title = link.text if hint != "file" else ""
        self._enqueue(Task(link.url, task.source, task.depth + 1, hint, task.url, title))

    def _follow_redirect(self, task: Task, target: str) -> None:
        target = canonical_url(target)
        chain = (*task.chain, task.url)
        if target in chain:
            self._fail(task, f"redirect loop: {' → '.join((*chain, target))}")
            return
        if len(chain) > MAX_REDIRECTS:
            self._fail(task, f"too many redirects (more than {MAX_REDIRECTS})")
            return
        if not task.source.allows(target):
            self._fail(task, f"redirect leaves the allowed hosts: {target}")
            return
        # Followed even when the target was fetched already: only the chain shows whether it ends or loops.
        self._enqueue(replace(task, url=target, chain=chain), force=True)

    # -- resuming ----------------------------------------------------------------------------------------

    def _resume(self, task: Task) -> bool:
        """Take a page this (interrupted) run already archived from the archive instead of refetching it."""
        capture = self.catalog.run_capture(self.run_id, task.url)
        if capture is None:
            return False
        self.summary.resumed_from_archive += 1
        self._count_report(capture.kind)
        try:
            if 300 <= capture.status < 400:
                record = read_record(self.settings.archive_dir / capture.warc_file, capture.offset, capture.length)
                location = next((v for k, v in record.http_headers if k.lower() == "location"), "")
                if location:
                    from urllib.parse import urljoin

                    self._follow_redirect(task, urljoin(task.url, location))
                return True
            if capture.status not in (200, 304) or capture.kind == "attachment":
                return True
            original = self.catalog.capture(capture.revisit_of) if capture.revisit_of else capture
            if original is None or not is_html_type(original.content_type):
                return True
            body = self.catalog.read_payload(original, self.settings.archive_dir)
        except ArchiveError as exc:
            log.warning("cannot resume %s from the archive (%s); refetching", task.url, exc)
            self.summary.resumed_from_archive -= 1
            return False
        page = self._page(task, original.content_type, body)
        dom = self.catalog.rendered_dom(capture, self.settings.archive_dir) if page is not None else None
        if dom is not None:
            page = analyse(task.url, dom.decode("utf-8", "replace"))
        if page is not None:
            self._follow(task, page, capture.kind)
        return True


# Re-exported for callers that build requests/responses by hand (tests, tools).
__all__ = ["CrawlError", "CrawlSummary", "HttpRequest", "HttpResponse", "Link", "crawl"]
