"""The insights stage: read every report from the store, derive, and write the derived values that changed.

Run after indexing (``indexer.pipeline.index_archive``, so ``nianbao index`` and ``nianbao reindex``
recompute it). Everything it sets is a function of the documents alone, so running it twice changes
nothing the second time and a rebuild from the archive gives the same store.

Memory stays bounded at any corpus size: records are spilled to disk as they are read (``insights.spill``),
derived publisher by publisher (``insights.stage``), compared with a fingerprint of what the report holds,
and only the changed values are written, in batches, with ``Store.update_derived`` (no re-index of text).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from indexer.checks import MAIN_CHECKS
from indexer.document import Analysis, Check, ReportDocument
from insights.content_checks import PREFIX
from insights.derive import Derived
from insights.records import record_of
from insights.spill import RecordSpill
from insights.stage import derive_spilled
from store.base import DERIVED_METRICS, DerivedValues, Store, with_derived

log = logging.getLogger(__name__)

BATCH_SIZE = 500  # changed reports per update_derived call
ANALYSIS_KEYS = DERIVED_METRICS


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


_ANALYSIS_FIELDS = tuple(f.name for f in dataclasses.fields(Analysis))


def _num(value: Any) -> Any:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _fingerprint(
    metrics: dict[str, Any], checks: list[Check], flags: list[str], analysis: Analysis, status: str
) -> bytes:
    """Of plain values equal exactly when the values are (``_canonical``), with the shapes the stage sets
    spelled out: this runs twice for every report."""
    plain = (
        sorted((k, _num(v)) for k, v in metrics.items()),
        [(c.name, c.status, _num(c.expected), _num(c.actual), c.message) for c in checks],
        list(flags),
        [_canonical(getattr(analysis, name)) for name in _ANALYSIS_FIELDS],
        status,
    )
    return hashlib.blake2b(repr(plain).encode("utf-8"), digest_size=16).digest()


def _current(doc: ReportDocument) -> _Current:
    own = [c for c in doc.checks if not c.name.startswith(PREFIX)]
    by_name = {c.name: c.status for c in own}
    return _Current(
        fingerprint=_fingerprint(
            {k: v for k, v in doc.metrics.items() if k in ANALYSIS_KEYS and v is not None},
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


def carried(doc: ReportDocument, values: DerivedValues) -> ReportDocument:
    """A freshly parsed document with the derived values its report had in the index being rebuilt (same id,
    same payload): the stage, run after the rebuild, then finds them unchanged and writes nothing for it. The
    status is what the stage would give with those values; a report without checks of its own keeps the
    parser's (``_status`` keeps a stored status it cannot recompute: a carried one could stick)."""
    cur = _current(doc)
    status = _status(cur, values.checks) if cur.has_own else doc.check_status
    return with_derived(doc, dataclasses.replace(values, check_status=status))


def _metrics_of(derived: Derived) -> dict[str, float | int | None]:
    return {k: v for k, v in derived.metrics.items() if v is not None}


def values_of(cur: _Current, derived: Derived) -> DerivedValues:
    return DerivedValues(
        _metrics_of(derived), list(derived.checks), derived.flags, derived.analysis, _status(cur, derived.checks)
    )


def _unchanged(cur: _Current, values: DerivedValues) -> bool:
    fingerprint = _fingerprint(values.metrics, values.checks, values.flags, values.analysis, values.check_status)
    return cur.fingerprint == fingerprint


def refresh(store: Store) -> RefreshStats:
    """Recompute every report's derived values from the store's documents; write the changed ones.

    One pass reads every document into a light record on disk (with what it holds of ours now); the
    derived values are then produced publisher by publisher and only the changed ones are written."""
    started = time.perf_counter()
    stats = RefreshStats()
    with RecordSpill() as spill:
        for doc in store.iter_documents():
            spill.put(record_of(doc), _current(doc))
        spill.seal()
        stats.reports = len(spill)
        pending: dict[str, DerivedValues] = {}
        for report_id, derived, cur in derive_spilled(spill):
            values = values_of(cur, derived)
            if not _unchanged(cur, values):
                pending[report_id] = values
                if len(pending) >= BATCH_SIZE:
                    _write(store, pending, stats)
        _write(store, pending, stats)
    stats.seconds = time.perf_counter() - started
    log.info("%s", stats.describe())
    return stats


def _write(store: Store, pending: dict[str, DerivedValues], stats: RefreshStats) -> None:
    if pending:
        result = store.update_derived(pending)
        stats.updated += result.indexed
        stats.failed += result.failed
        stats.errors.extend(result.errors)
        pending.clear()


__all__ = ["Analysis", "RefreshStats", "carried", "refresh", "values_of"]
