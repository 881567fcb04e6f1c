"""Parsing many archived payloads on every core, in their order.

A rebuild (``nianbao reindex``, or the first run after a parser upgrade) parses the whole archive, and
parsing is pure Python (lxml, pdfminer): one core reads a few hundred HTML reports a second. A big run
parses in helper processes, a bounded window of payloads ahead of the one it hands on; a small run, where
starting them would cost more than it saves, parses here. Helpers are forked, like the store's preparation
helpers (``store.sqlite_prepare``): spawning would re-run the caller's ``__main__``, and a script without a
main guard would crawl or index again in every helper. They only parse (CPython re-initialises the logging
locks in a forked child), and the parser is imported before the fork so its pages are shared.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from indexer.document import ReportDocument

log = logging.getLogger(__name__)

PARALLEL_MIN = 400  # payloads to parse before helper processes are worth starting
# Payloads in flight per helper: enough to keep it busy while this process writes a batch to the store, few
# enough to bound memory (a payload and its result are tens of KB).
AHEAD_PER_WORKER = 32
# Address space a helper may add to what it inherits: a document whose parse needs more (a 199 KB DOCX of two
# million paragraphs took 1.27 GB) fails with MemoryError, flagged parse_failed, instead of swapping the machine.
HELPER_MEMORY_BYTES = 2 * 1024**3

Item = TypeVar("Item")


@dataclass(slots=True)
class ParseJob:
    """One archived payload and what the catalog knows of it: everything ``parse_bytes`` needs."""

    data: bytes
    url: str
    content_type: str
    region: str | None
    source_id: str
    digest: str
    captured_at: str | None
    title_hint: str | None
    refused: str = ""  # why the payload was not read (e.g. it decodes past the size cap): a parse_failed document
    budget_s: float = 0.0  # parse time budget (0: none); past it the document is flagged parse_failed
    # Run on the document where it was parsed (a helper process), its result handed on instead of the
    # document: e.g. the store's compact row, cheaper to send back than a document to unpickle. Picklable.
    then: Callable[[ReportDocument], Any] | None = None

    def result(self) -> Any:
        """The document, or what ``then`` makes of it."""
        doc = self.run()
        return doc if self.then is None else self.then(doc)

    def run(self) -> ReportDocument:
        from indexer.budget import ParseBudgetExceeded, time_budget
        from indexer.document import Warning
        from indexer.parse import parse_bytes

        try:
            with time_budget(self.budget_s):
                doc = self._parse(parse_bytes)
        except ParseBudgetExceeded as exc:  # fired between the parser's end and the budget's: still a failure
            doc = self._parse(parse_bytes, b"")
            doc.flags, doc.warnings = ["parse_failed"], [Warning("parse_failed", f"解析超时 / {exc}")]
        if self.refused:  # the empty payload's warning replaced by the reason
            doc.flags = ["parse_failed"]
            doc.warnings = [Warning("parse_failed", self.refused)]
        return doc

    def _parse(self, parse_bytes: Callable[..., ReportDocument], data: bytes | None = None) -> ReportDocument:
        return parse_bytes(
            self.data if data is None else data,
            url=self.url,
            content_type=self.content_type,
            region=self.region,
            source_id=self.source_id,
            digest=self.digest,
            captured_at=self.captured_at,
            title_hint=self.title_hint,
        )


def parse_in_order(
    items: Iterable[Item], job_of: Callable[[Item], ParseJob | None], count: int, workers: int | None = None
) -> Iterator[tuple[Item, Any]]:
    """(item, its job's result: ``ParseJob.result``) in the order of ``items``; None for an item without a
    job (``job_of`` says why).

    ``count`` is how many items there are (to choose between helpers and this process)."""
    workers = workers or os.cpu_count() or 1
    if count < PARALLEL_MIN or workers < 2:
        for item in items:
            job = job_of(item)
            yield item, job.result() if job is not None else None
        return
    import indexer.parse  # noqa: F401  (before the fork: the parser and its libraries, shared by the helpers)

    try:
        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_limit_memory,
            initargs=(HELPER_MEMORY_BYTES,),
        )
    except (OSError, ValueError) as exc:  # no processes here (a sandbox): parse in this process
        log.warning("parsing in this process only: %s", exc)
        yield from parse_in_order(items, job_of, 0, 1)
        return
    window: deque[tuple[Item, ParseJob | None, Future[Any] | None]] = deque()
    try:
        for item in items:
            job = job_of(item)
            window.append((item, job, _submit(pool, job)))
            if len(window) >= workers * AHEAD_PER_WORKER:
                yield _take(*window.popleft())
        while window:
            yield _take(*window.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _limit_memory(budget: int) -> None:
    """In a helper, after the fork: cap its address space at what it inherited plus ``budget`` (RLIMIT_AS)."""
    try:
        import resource

        with open("/proc/self/statm") as fh:
            inherited = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = inherited + budget if hard == resource.RLIM_INFINITY else min(hard, inherited + budget)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError) as exc:  # not Linux: no cap, parsing still works
        log.warning("parsing helpers run without a memory cap: %s", exc)


def _submit(pool: ProcessPoolExecutor, job: ParseJob | None) -> Future[Any] | None:
    if job is None:
        return None
    try:
        return pool.submit(job.result)
    except BrokenProcessPool:  # a helper died earlier: this one is parsed here when its turn comes
        return None


def _take(item: Item, job: ParseJob | None, future: Future[Any] | None) -> tuple[Item, Any]:
    if job is None:
        return item, None
    if future is not None:
        try:
            return item, future.result()
        except BrokenProcessPool:
            log.warning("a parsing process died; parsing %s in this process", job.url)
    return item, job.result()
