"""The insights stage: read every report from the store, derive, and re-index what changed.

Run after indexing (``indexer.pipeline.index_archive``, so ``nianbao index`` and ``nianbao reindex``
recompute it). Everything it sets is a function of the documents alone, so running it twice changes
nothing the second time and a rebuild from the archive gives the same store.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

from indexer import catalogue
from indexer.checks import check_status
from indexer.document import Analysis, ReportDocument
from insights.content_checks import PREFIX
from insights.derive import Derived, derive
from insights.records import record_of
from store.base import Store

log = logging.getLogger(__name__)

BATCH_SIZE = 200
ANALYSIS_KEYS: frozenset[str] = frozenset(m.key for m in catalogue.metrics_of_table(catalogue.TABLE_ANALYSIS))


@dataclass
class RefreshStats:
    reports: int = 0
    updated: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        line = f"insights: {self.reports} report(s) analysed, {self.updated} updated in {self.seconds:.1f} s"
        if self.failed:
            line += f"; {self.failed} could not be written: " + "; ".join(self.errors[:5])
        return line


def _status(doc: ReportDocument, checks: list) -> str:
    """The document status over its own and the cross checks (``indexer.checks.check_status``).

    A document without any checks of its own (e.g. not parsed from tables) keeps its status unless a
    cross check failed."""
    if any(not c.name.startswith(PREFIX) for c in checks):
        return check_status(checks)
    if any(c.status == "failed" for c in checks):
        return "failed"
    return doc.check_status if doc.check_status != "failed" else "incomplete"


def apply(doc: ReportDocument, derived: Derived | None) -> ReportDocument:
    """The document with the insights stage's values replaced by ``derived`` (None: removed)."""
    derived = derived or Derived()
    metrics = {k: v for k, v in doc.metrics.items() if k not in ANALYSIS_KEYS}
    metrics.update({k: v for k, v in derived.metrics.items() if v is not None})
    checks = [c for c in doc.checks if not c.name.startswith(PREFIX)] + list(derived.checks)
    new = replace(doc, metrics=metrics, checks=checks, analysis=replace(derived.analysis))
    new.check_status = _status(new, checks)
    return new


def _same(a: ReportDocument, b: ReportDocument) -> bool:
    return (
        a.metrics == b.metrics
        and a.checks == b.checks
        and a.check_status == b.check_status
        and (a.analysis == b.analysis)
    )


def refresh(store: Store) -> RefreshStats:
    """Recompute every report's derived values from the store's documents; re-index the changed ones."""
    started = time.perf_counter()
    stats = RefreshStats()
    records = []
    for doc in store.iter_documents():
        records.append(record_of(doc))
    stats.reports = len(records)
    derived = derive(records)
    del records
    batch: list[ReportDocument] = []

    def flush() -> None:
        if batch:
            result = store.index(batch)
            stats.updated += result.indexed
            stats.failed += result.failed
            stats.errors.extend(result.errors)
            batch.clear()

    for doc in store.iter_documents():
        new = apply(doc, derived.get(doc.id))
        if not _same(doc, new):
            batch.append(new)
            if len(batch) >= BATCH_SIZE:
                flush()
    flush()
    stats.seconds = time.perf_counter() - started
    log.info("%s", stats.describe())
    return stats


__all__ = ["Analysis", "RefreshStats", "apply", "refresh"]
