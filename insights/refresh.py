"""The insights stage: read every report from the store, derive, and re-index what changed.

Run after indexing (``indexer.pipeline.index_archive``, so ``nianbao index`` and ``nianbao reindex``
recompute it). Everything it sets is a function of the documents alone, so running it twice changes
nothing the second time and a rebuild from the archive gives the same store.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from indexer import catalogue
from indexer.checks import MAIN_CHECKS
from indexer.document import Analysis, Check, ReportDocument
from insights.content_checks import PREFIX
from insights.derive import Derived, derive
from insights.records import record_of
from insights.spill import ShingleSpill
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


@dataclass(slots=True)
class _Current:
    """What a stored document holds of the stage's values (as a fingerprint: the full values of every report
    were most of the stage's memory, kilobytes a report) and what its status depends on (kept from pass 1)."""

    fingerprint: bytes  # of its metrics, checks and flags from this stage, its analysis and its status
    status: str
    has_own: bool  # checks of the report itself (indexer.checks), whose status is recomputed with ours
    own_failed: bool
    own_main_ok: bool


def _canonical(value: Any) -> Any:
    """Plain values that are equal exactly when the values are (a number read back from JSON as 3 equals 3.0)."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        return sorted((k, _canonical(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if dataclasses.is_dataclass(value):
        return [type(value).__name__, *(_canonical(getattr(value, f.name)) for f in dataclasses.fields(value))]
    return repr(value)


def _fingerprint(
    metrics: dict[str, Any], checks: list[Check], flags: list[str], analysis: Analysis, status: str
) -> bytes:
    plain = repr(_canonical([metrics, checks, flags, analysis, status]))
    return hashlib.blake2b(plain.encode("utf-8"), digest_size=16).digest()


def _current(doc: ReportDocument) -> _Current:
    own = [c for c in doc.checks if not c.name.startswith(PREFIX)]
    by_name = {c.name: c.status for c in own}
    return _Current(
        fingerprint=_fingerprint(
            {k: v for k, v in doc.metrics.items() if k in ANALYSIS_KEYS},
            [c for c in doc.checks if c.name.startswith(PREFIX)],
            [f for f in doc.flags if f.startswith(PREFIX)],
            doc.analysis,
            doc.check_status,
        ),
        status=doc.check_status,
        has_own=bool(own),
        own_failed=any(c.status == "failed" for c in own),
        own_main_ok=all(by_name.get(name) == "ok" for name in MAIN_CHECKS),
    )


def _status(cur: _Current, cross: list[Check]) -> str:
    """``indexer.checks.check_status`` over the report's own checks plus ours. A report without checks
    of its own (not parsed from tables) keeps its status unless one of ours failed."""
    failed = any(c.status == "failed" for c in cross)
    if cur.has_own:
        return "failed" if cur.own_failed or failed else ("ok" if cur.own_main_ok else "incomplete")
    if failed:
        return "failed"
    return cur.status if cur.status != "failed" else "incomplete"


def _metrics_of(derived: Derived) -> dict[str, float | int | None]:
    return {k: v for k, v in derived.metrics.items() if v is not None}


def _unchanged(cur: _Current, derived: Derived) -> bool:
    status = _status(cur, derived.checks)
    values = _metrics_of(derived), derived.checks, derived.flags, derived.analysis, status
    return cur.fingerprint == _fingerprint(*values)


def apply(doc: ReportDocument, derived: Derived | None) -> ReportDocument:
    """The document with the insights stage's values replaced by ``derived`` (None: none)."""
    derived = derived or Derived()
    cur = _current(doc)
    metrics = {k: v for k, v in doc.metrics.items() if k not in ANALYSIS_KEYS}
    metrics.update(_metrics_of(derived))
    checks = [c for c in doc.checks if not c.name.startswith(PREFIX)] + list(derived.checks)
    flags = [f for f in doc.flags if not f.startswith(PREFIX)] + derived.flags
    new = replace(doc, metrics=metrics, checks=checks, flags=flags, analysis=replace(derived.analysis))
    new.check_status = _status(cur, derived.checks)
    return new


def refresh(store: Store) -> RefreshStats:
    """Recompute every report's derived values from the store's documents; re-index the changed ones.

    One pass reads every document into a light record (and what it holds of ours now); only the
    documents whose values change are read again and re-indexed."""
    started = time.perf_counter()
    stats = RefreshStats()
    records, current = [], {}
    with ShingleSpill() as spill:
        for doc in store.iter_documents():
            record = record_of(doc)
            spill.put(record)
            records.append(record)
            current[doc.id] = _current(doc)
        spill.attach()
        stats.reports = len(records)
        derived = derive(records)
        del records
    changed = [i for i, cur in current.items() if not _unchanged(cur, derived.get(i) or Derived())]
    del current
    derived = {i: derived[i] for i in changed if i in derived}  # the rest is not needed any more
    for start in range(0, len(changed), BATCH_SIZE):
        docs = [d for d in (store.get(i) for i in changed[start : start + BATCH_SIZE]) if d is not None]
        result = store.index(apply(d, derived.get(d.id)) for d in docs)
        stats.updated += result.indexed
        stats.failed += result.failed
        stats.errors.extend(result.errors)
    stats.seconds = time.perf_counter() - started
    log.info("%s", stats.describe())
    return stats


__all__ = ["Analysis", "RefreshStats", "apply", "refresh"]
