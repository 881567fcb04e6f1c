"""Archive → parse → store: the indexing stage of the data line.

The archive (WARC + catalog) is the source of truth. ``index_archive`` parses every report capture not
indexed yet (the same payload digest is never indexed twice) and writes the canonical documents to the
configured store; with ``rebuild=True`` it builds a fresh index from the whole archive and swaps it in.

A report page that only wraps attachments (a short page linking a PDF/DOCX) is not a report itself: its
attachments are indexed instead, titled by the page. A page that carries the report's tables is indexed
and its attachments (usually the same report again as PDF) are kept in the archive but not indexed twice.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from indexer.document import PARSER_VERSION, ReportDocument, report_id
from indexer.parse_pool import ParseJob, parse_in_order

if TYPE_CHECKING:
    from crawler.catalog import Capture, Catalog
    from nianbao.settings import Settings
    from store.base import IndexStats, Store
    from store.sqlite_prepare import PreparedBatch

log = logging.getLogger(__name__)

BATCH_SIZE = 200
# A rebuild carries each report's derived values (the insights stage's) from the index it replaces into the
# new rows, so that stage, which recomputes them all, finds them unchanged and rewrites almost nothing.
CARRY_DERIVED = True
# Recorded as the "report id" of a digest that is not indexed, so it is not parsed again.
WRAPPER = "wrapper"
NOT_A_REPORT = "not-a-report"


@dataclass
class IndexRunStats:
    captures: int = 0
    indexed: int = 0
    already_indexed: int = 0
    wrappers: int = 0
    duplicates: int = 0  # attachments of pages that carry the report themselves
    states_updated: int = 0  # indexed reports whose crawl state (removed, last seen) changed, updated in place
    not_reports: list[str] = field(default_factory=list)  # candidate pages the parser found no report in
    unreadable: list[str] = field(default_factory=list)  # captures whose archived record cannot be read
    store_failures: int = 0
    check_failed: int = 0
    insights: str = ""  # what the insights stage did (insights.refresh), "" when it did not run
    flags: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    rebuilt_because: str = ""  # why an incremental run rebuilt the whole index instead
    marked: set[str] = field(default_factory=set, repr=False)  # payload digests this run recorded as indexed

    def describe(self) -> str:
        lines = [
            f"indexed {self.indexed} report(s) from {self.captures} capture(s)"
            f" ({self.already_indexed} already indexed, {self.wrappers} attachment wrapper page(s),"
            f" {self.duplicates} duplicate attachment(s))",
        ]
        if self.rebuilt_because:
            lines.append(f"  rebuilt the whole index from the archive: {self.rebuilt_because}")
        if self.states_updated:
            lines.append(f"  {self.states_updated} indexed report(s) took their new crawl state (removed, last seen)")
        if self.unreadable:
            lines.append(f"  {len(self.unreadable)} archived record(s) could not be read (left for the next run):")
            lines.extend(f"    {e}" for e in self.unreadable[:10])
        if self.not_reports:
            lines.append(f"  {len(self.not_reports)} candidate page(s) hold no report (archived, not indexed):")
            lines.extend(f"    {url}" for url in self.not_reports[:10])
        if self.check_failed:
            lines.append(f"  {self.check_failed} report(s) break an accounting identity (check_status=failed)")
        for flag, n in sorted(self.flags.items()):
            lines.append(f"  {n} report(s) flagged {flag}")
        if self.insights:
            lines.append(f"  {self.insights}")
        if self.store_failures:
            lines.append(f"  {self.store_failures} report(s) could not be written to the store:")
            lines.extend(f"    {e}" for e in self.errors[:20])
        return "\n".join(lines)


@dataclass(slots=True)
class Parsed:
    """A parsed capture as the pipeline handles it: the few fields it reads, and the store's row prepared
    where the capture was parsed (a helper process: a compact row to send back instead of a document to
    unpickle, and the preparing done on the helper's core). The document itself is kept when the pipeline
    may look further (no tables: a page that only wraps its attachments) or the store takes documents."""

    id: str
    flags: list[str]
    check_status: str
    has_tables: bool
    is_report: bool
    doc: ReportDocument | None
    row: PreparedBatch | None = None  # ``sqlite_prepare.prepare_batch`` of the one document


def _summary(doc: ReportDocument, row: PreparedBatch | None = None) -> Parsed:
    tables = _has_tables(doc)
    kept = doc if row is None or not tables else None
    return Parsed(doc.id, list(doc.flags), doc.check_status, tables, is_report(doc), kept, row)


def _ready(
    doc: ReportDocument,
    *,
    warc_file: str,
    state: tuple[bool, str | None] | None,
    rows: bool,
    carry: str | None = None,
) -> Parsed:
    """Where the capture was parsed: the archive's and the crawl's knowledge of it, its derived values from the
    index a rebuild replaces (``carry``: that file), then the store's row."""
    doc = _carried(_apply_state(doc, warc_file, state), carry)
    row = None
    if rows and is_report(doc):
        from store.sqlite_prepare import prepare_batch

        row = prepare_batch([doc])  # its frequent n-grams are found by the store's writer
    return _summary(doc, row)


def _carried(doc: ReportDocument, carry: str | None) -> ReportDocument:
    """The document with the derived values the index file ``carry`` holds for the same report parsed from the
    same payload (``insights.refresh.carried``); as it is when there are none."""
    if carry is None:
        return doc
    from insights.refresh import carried
    from store.sqlite_carry import stored_derived

    values = stored_derived(carry, doc.id, doc.provenance.digest)
    return doc if values is None else carried(doc, values)


def _job(
    catalog: Catalog,
    capture: Capture,
    settings: Settings,
    title_hint: str | None,
    stats: IndexRunStats,
    *,
    rows: bool | None = None,
    carry: str | None = None,
) -> ParseJob | None:
    """What parsing the capture needs, or None (recorded in ``stats``) when its archived record cannot be
    read: the capture stays unindexed, so the next run tries again once the archive is repaired. ``rows``
    (not None): the job's result is a ``Parsed``, with the store's row when ``rows`` is true."""
    from crawler.archive import ArchiveError, PayloadTooLarge

    refused = ""
    try:
        data = catalog.read_payload(capture, settings.archive_dir, max_bytes=settings.max_body_bytes)
    except PayloadTooLarge as exc:  # kept in the archive; indexed as unreadable, with the reason
        data, refused = b"", f"文件过大 / {exc} (cap: max_body_bytes)"
    except (ArchiveError, OSError) as exc:
        stats.unreadable.append(f"{capture.url} (capture {capture.id}): {exc}")
        return None
    return ParseJob(
        data,
        url=capture.url,
        content_type=capture.content_type,
        region=capture.region or None,
        source_id=capture.source_id,
        digest=capture.digest,
        captured_at=capture.captured_at,
        title_hint=title_hint or capture.title or None,
        refused=refused,
        budget_s=settings.parse_seconds,
        then=None if rows is None else _then(catalog, capture, rows, carry),
    )


def _then(catalog: Catalog, capture: Capture, rows: bool, carry: str | None) -> Callable[[ReportDocument], Parsed]:
    state = _crawl_state(catalog, capture)
    return functools.partial(_ready, warc_file=capture.warc_file, state=state, rows=rows, carry=carry)


def _with_state(doc: ReportDocument, catalog: Catalog, capture: Capture) -> ReportDocument:
    """The archive's and the crawl's knowledge of the capture, which the parser does not see."""
    return _apply_state(doc, capture.warc_file, _crawl_state(catalog, capture))


def _crawl_state(catalog: Catalog, capture: Capture) -> tuple[bool, str | None] | None:
    """(removed, last seen) of the capture's URL as the crawl knows it, or None when it has no record."""
    state = catalog.url_state(capture.url)
    return (bool(state.removed), state.last_seen) if state is not None else None


def _apply_state(doc: ReportDocument, warc_file: str, state: tuple[bool, str | None] | None) -> ReportDocument:
    doc.provenance.warc_file = warc_file
    if state is not None:
        doc.removed, doc.last_seen = state
    return doc


def _has_tables(doc: ReportDocument) -> bool:
    return any(v is not None for v in doc.metrics.values())


def is_report(doc: ReportDocument) -> bool:
    """Whether a crawled candidate is a report at all. The crawler judges by title and links; the parser
    knows the template. A document that failed to parse, or is flagged (pre-2019, needs OCR, unsupported
    format), is kept so that nothing is lost; one with neither tables nor template sections is not a report
    (e.g. a notice about writing reports)."""
    if doc.flags:
        return True
    return _has_tables(doc) or len({s.key for s in doc.sections if "." not in s.key}) >= 2


# A parsed report to write, its capture, and other captures to record as indexed once it is stored (a wrapper
# page rides on its last attachment: recorded before, a crash in between lost the attachment for good).
Pending = tuple[Parsed, "Capture", list[tuple[str, str]]]


NOT_A_REPORT_FLAG = "not_a_report"


def _flag_not_a_report(doc: ReportDocument) -> ReportDocument:
    """An attachment the page offered as its report but which reads as none (an HTML error page or a notice
    served as .pdf): indexed anyway, so it can be found, with the flag users filter on and the reason why.
    One that failed to parse already carries its own flag (parse_failed, needs_ocr, unsupported_format). Its
    title is the page's (a hint), so only its content counts: template, section headings, tables."""
    from indexer.document import Warning
    from indexer.parse import not_a_report

    reason = not_a_report(dataclasses.replace(doc, title=""))
    if reason and not doc.flags:
        doc.flags.append(NOT_A_REPORT_FLAG)
        doc.warnings.append(Warning(NOT_A_REPORT_FLAG, f"附件不是年报 / the attachment reads as no report: {reason}"))
    return doc


def _documents(
    catalog: Catalog,
    settings: Settings,
    stats: IndexRunStats,
    *,
    only_new: bool,
    rows: bool = False,
    carry: str | None = None,
) -> Iterator[Pending]:
    """Yield (parsed report, capture, marks after it) for each report capture to index, resolving attachment
    wrappers. ``rows``: the store takes rows prepared where the captures are parsed (``Parsed.row``);
    ``carry``: the index file whose derived values the reports take (``_carried``).

    The captures are read from the catalog a page at a time, so memory stays flat however big the archive;
    only the attachments of pages and the captures that share a payload are held whole."""
    attachments: dict[str, list[Capture]] = {}
    for cap in catalog.report_attachments():
        attachments.setdefault(cap.parent_url or "", []).append(cap)
    page_urls = catalog.report_page_urls(attachments)

    def with_its_page(cap: Capture) -> bool:  # handled with its page, below
        return cap.kind == "attachment" and cap.parent_url in page_urls

    first = _one_per_payload([c for c in catalog.shared_report_captures() if not with_its_page(c)])

    def pending(cap: Capture) -> bool:
        return not (only_new and catalog.is_indexed(cap.digest))

    def todo() -> Iterator[Capture]:
        for page in catalog.report_capture_pages():
            stats.captures += len(page)  # each once: attachments of pages are counted here, not below
            for cap in page:
                if with_its_page(cap) or first.get(cap.digest, cap).id != cap.id:  # another route to the file
                    continue
                if pending(cap):
                    yield cap
                else:
                    stats.already_indexed += 1

    count = catalog.count_report_captures(unindexed_only=only_new)  # at most this many to parse
    parsed: Iterator[tuple[Capture, Parsed | None]] = parse_in_order(
        todo(), lambda c: _job(catalog, c, settings, None, stats, rows=rows, carry=carry), count
    )
    for cap, page in parsed:
        if page is None:
            continue
        children = attachments.get(cap.url, [])
        if children and not page.has_tables:
            doc = page.doc
            assert doc is not None  # kept: it has no tables
            # The page only wraps the report: index the attachment(s) under the page's title.
            stats.wrappers += 1
            produced: list[tuple[Parsed, Capture]] = []
            complete = True  # every attachment read (an unreadable one: the page is tried again next run)
            for child in children:
                if not pending(child):
                    stats.already_indexed += 1
                elif (job := _job(catalog, child, settings, doc.title or cap.title, stats)) is not None:
                    child_doc = _flag_not_a_report(_carried(_with_state(job.run(), catalog, child), carry))
                    produced.append((_summary(child_doc), child))
                else:
                    complete = False
            wrapper_mark = [(cap.digest, WRAPPER)] if complete else []
            if not produced:
                _mark_all(catalog, wrapper_mark, stats)
            for i, (child_doc, child) in enumerate(produced, 1):
                yield child_doc, child, wrapper_mark if i == len(produced) else []
            continue
        if not page.is_report:
            stats.not_reports.append(cap.url)
            _mark(catalog, cap.digest, NOT_A_REPORT, stats)
            continue
        stats.duplicates += len(children)
        yield page, cap, []


def _one_per_payload(captures: list[Capture]) -> dict[str, Capture]:
    """One report per file: a file reachable by two routes (``/upload/x.pdf`` and ``download.jsp?id=7``) is
    indexed once, under its plainest URL (a file name, then the shortest), whichever the crawl met first.
    Returns payload digest → the capture indexed for it."""
    from crawler.discover import is_attachment_url

    def rank(c: Capture) -> tuple[bool, int, str]:
        return (not is_attachment_url(c.url), len(c.url), c.url)

    best: dict[str, Capture] = {}
    for cap in captures:
        if cap.digest not in best or rank(cap) < rank(best[cap.digest]):
            best[cap.digest] = cap
    return best


def _mark(catalog: Catalog, digest: str, report_id: str, stats: IndexRunStats) -> None:
    catalog.mark_indexed(digest, report_id, PARSER_VERSION)
    stats.marked.add(digest)


def _mark_all(catalog: Catalog, marks: list[tuple[str, str]], stats: IndexRunStats) -> None:
    for digest, marker in marks:
        _mark(catalog, digest, marker, stats)


def _parsed_by_another_parser(catalog: Catalog) -> str:
    """Why the index no longer says what this parser reads from the archive ("" when it does)."""
    others = {version: n for version, n in catalog.parsers_indexed().items() if version != PARSER_VERSION}
    if not others:
        return ""
    described = ", ".join(f"{n} by {version or 'a version before 0.2.0'}" for version, n in sorted(others.items()))
    return f"archived reports were parsed by an earlier parser ({described}); this is parser {PARSER_VERSION}"


def _write(
    store: Store,
    catalog: Catalog,
    pending: Iterable[Pending],
    stats: IndexRunStats,
    progress: Callable[[IndexRunStats], None] | None,
) -> None:
    batch: list[Pending] = []

    def flush() -> None:
        if not batch:
            return
        result = _store(store, [parsed for parsed, _, _ in batch])
        stats.store_failures += result.failed
        stats.errors.extend(result.errors)
        if not result.failed:  # only now, after the store has them: a crash before leaves them unmarked
            with catalog.transaction():  # one commit for the batch's marks
                for parsed, cap, after in batch:
                    _mark(catalog, cap.digest, parsed.id, stats)
                    _mark_all(catalog, after, stats)
        stats.indexed += len(batch) - result.failed
        batch.clear()
        if progress:
            progress(stats)

    for parsed, cap, after in pending:
        if parsed.check_status == "failed":
            stats.check_failed += 1
        stats.flags.update(parsed.flags)
        batch.append((parsed, cap, after))
        if len(batch) >= BATCH_SIZE:
            flush()
    flush()


def _store(store: Store, batch: list[Parsed]) -> IndexStats:
    """Write a batch: the rows prepared by the parse helpers as they are, the documents through the store."""
    from store.base import IndexStats

    total = IndexStats()
    prepared: list[Any] = []
    failed, errors = 0, []
    for parsed in batch:
        if parsed.row is not None:
            prepared.extend(parsed.row[0])
            failed += parsed.row[1]
            errors.extend(parsed.row[2])
    docs = [parsed.doc for parsed in batch if parsed.row is None and parsed.doc is not None]
    results = []
    if prepared:
        results.append(store.index_prepared((prepared, failed, errors)))  # type: ignore[attr-defined]
    else:  # none to write: the documents the preparing refused
        total.failed, total.errors = failed, errors
    if docs:
        results.append(store.index(docs))
    for result in results:
        total.indexed += result.indexed
        total.unchanged += result.unchanged
        total.failed += result.failed
        total.errors.extend(result.errors)
    return total


def _takes_rows(store: Store) -> bool:
    """Whether the store writes rows prepared elsewhere (the embedded SQLite store)."""
    return callable(getattr(store, "index_prepared", None))


def index_archive(settings: Settings, *, rebuild: bool = False, progress: bool = False) -> IndexRunStats:
    """Index what the archive holds and the store does not; ``rebuild`` re-derives the whole store."""
    from crawler.catalog import Catalog
    from store import open_store

    stats = IndexRunStats()
    report = _print_progress if progress else None
    with Catalog(settings.catalog_path) as catalog, open_store(settings) as store:
        # Written by another version of the store, or read by another parser: the archive has everything
        # to derive the index again.
        outdated = store.outdated() or _parsed_by_another_parser(catalog)
        if outdated and not rebuild:
            log.warning("%s; rebuilding the index from the archive", outdated)
            stats.rebuilt_because = outdated
            rebuild = True
        if rebuild:
            pending = [s.url for s in catalog.pending_state_changes()]  # the rebuild reads every state anew
            carry = _carry_source(store)
            with store.rebuild() as fresh:
                try:
                    docs = _documents(catalog, settings, stats, only_new=False, rows=_takes_rows(fresh), carry=carry)
                    _write(fresh, catalog, docs, stats, report)
                finally:
                    if carry is not None:
                        from store.sqlite_carry import close

                        close(carry)
                _refresh_insights(fresh, stats)  # before the swap: the new index goes live complete
            catalog.keep_indexed_only(stats.marked)  # the rest is not in the new index: tried again next run
            catalog.clear_state_changes(pending)
        else:
            docs = _documents(catalog, settings, stats, only_new=True, rows=_takes_rows(store))
            _write(store, catalog, docs, stats, report)
            if stats.indexed:  # derived across reports: only new reports can change it
                _refresh_insights(store, stats)
            stats.states_updated = _sync_states(catalog, store)
    return stats


def _carry_source(store: Store) -> str | None:
    """The index file whose derived values a rebuild carries (``CARRY_DERIVED``): the embedded store's current
    file, unless it was written by another version of the store (values read by another parser are carried
    too: the stage recomputes every value and rewrites those that differ). Read by the parse helpers, so what they
    need is imported here, before they are forked."""
    path = getattr(store, "path", None)
    if not CARRY_DERIVED or path is None or store.outdated() or not _takes_rows(store):
        return None
    import insights.refresh  # noqa: F401
    from store import sqlite_carry  # noqa: F401

    return str(path)


def _sync_states(catalog: Catalog, store: Store) -> int:
    """Carry the crawl's news about already indexed reports (removed, back again, last seen) into their
    documents, without parsing them again. Returns how many documents changed."""
    changes = catalog.pending_state_changes()
    if not changes:
        return 0
    states = {report_id(s.url): {"removed": s.removed, "last_seen": s.last_seen} for s in changes}
    changed = store.update_state(states)
    catalog.clear_state_changes(s.url for s in changes)
    return changed


def _refresh_insights(store: Store, stats: IndexRunStats) -> None:
    """Derived analysis is not worth losing the indexed reports (or a rebuild) for: a failure is reported."""
    import insights

    try:
        stats.insights = insights.refresh(store).describe()
    except Exception as exc:
        log.exception("insights stage failed")
        stats.insights = f"insights: failed ({type(exc).__name__}: {exc}); the reports are indexed without it"


def _print_progress(stats: IndexRunStats) -> None:
    print(f"\rindexed {stats.indexed} …", end="", flush=True)
