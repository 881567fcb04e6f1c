"""The interface both stores implement, and the result types they return.

A store is derived data: everything in it can be rebuilt from the archive (``nianbao reindex``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from indexer import catalogue
from indexer.document import Analysis, Check, ReportDocument
from store.query import AggregationQuery, SearchQuery

# The fields of a report document that follow the crawl (not the report's content): updatable in place.
STATE_FIELDS = frozenset({"removed", "last_seen"})


def check_state_fields(states: dict[str, dict[str, Any]]) -> None:
    """Reject an update of anything but the crawl-state fields: content changes go through ``index``."""
    for report_id, fields in states.items():
        bad = set(fields) - STATE_FIELDS
        if bad:
            raise ValueError(f"{report_id}: not crawl-state field(s): {', '.join(sorted(bad))}")


# What the insights stage derives across reports, replaced as a whole on each of its runs: the metrics of the
# analysis table, the checks and flags named ``cross.*``, the analysis and the check status.
DERIVED_PREFIX = "cross."
DERIVED_METRICS: frozenset[str] = frozenset(m.key for m in catalogue.metrics_of_table(catalogue.TABLE_ANALYSIS))


@dataclass(slots=True)
class DerivedValues:
    """The insights stage's values of one report (``Store.update_derived``)."""

    metrics: dict[str, float | int]  # DERIVED_METRICS keys it gives (the others are removed)
    checks: list[Check]  # cross.* checks
    flags: list[str]  # cross.* flags
    analysis: Analysis
    check_status: str


_CHECK_FIELDS = tuple(f.name for f in dataclasses.fields(Check))
_ANALYSIS_FIELDS = tuple(f.name for f in dataclasses.fields(Analysis))


def derived_json(values: DerivedValues) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The checks and the analysis as the stored JSON holds them (``asdict``'s output, without its deep copies:
    these are flat records)."""
    checks = [{name: getattr(c, name) for name in _CHECK_FIELDS} for c in values.checks]
    analysis = {name: getattr(values.analysis, name) for name in _ANALYSIS_FIELDS}
    analysis["series_agencies"] = list(analysis["series_agencies"])
    return checks, analysis


def derived_of(data: dict[str, Any]) -> DerivedValues:
    """The derived values a stored document's JSON holds (``derived_json``'s inverse, with its metrics)."""
    metrics = {k: v for k, v in data.get("metrics", {}).items() if k in DERIVED_METRICS and v is not None}
    checks = [
        Check(**{k: v for k, v in c.items() if k in _CHECK_FIELDS})
        for c in data.get("checks", [])
        if c["name"].startswith(DERIVED_PREFIX)
    ]
    flags = [f for f in data.get("flags", []) if f.startswith(DERIVED_PREFIX)]
    analysis = Analysis(**{k: v for k, v in data.get("analysis", {}).items() if k in _ANALYSIS_FIELDS})
    return DerivedValues(metrics, checks, flags, analysis, data.get("check_status", ""))


def with_derived(doc: ReportDocument, values: DerivedValues) -> ReportDocument:
    """The document with its derived values replaced by ``values`` (what both stores' ``update_derived`` store)."""
    metrics = {k: v for k, v in doc.metrics.items() if k not in DERIVED_METRICS}
    metrics.update(values.metrics)
    checks = [c for c in doc.checks if not c.name.startswith(DERIVED_PREFIX)] + list(values.checks)
    flags = [f for f in doc.flags if not f.startswith(DERIVED_PREFIX)] + list(values.flags)
    new = replace(doc, metrics=metrics, checks=checks, flags=flags, analysis=replace(values.analysis))
    new.check_status = values.check_status
    return new


class StoreUnavailable(RuntimeError):
    """The configured store cannot be used right now; the message says why and what to do."""


@dataclass(slots=True)
class Fragment:
    section: str  # section key ("title" for the title)
    text: str  # with matches wrapped in <mark>…</mark>; the rest HTML-escaped


@dataclass(slots=True)
class Hit:
    id: str
    score: float | None
    title: str
    agency: dict[str, Any]
    region: dict[str, Any]
    year: int | None
    published: str | None
    check_status: str
    removed: bool
    fragments: list[Fragment] = field(default_factory=list)
    metrics: dict[str, float | int | None] = field(default_factory=dict)  # requested ones only


@dataclass(slots=True)
class FacetValue:
    value: str
    count: int
    selected: bool = False


@dataclass(slots=True)
class Facet:
    name: str
    values: list[FacetValue]
    timed_out: bool = False  # a facet that ran out of time is reported, not fatal


@dataclass(slots=True)
class SearchResult:
    total: int
    hits: list[Hit]
    facets: list[Facet]
    next_cursor: str | None = None
    took_ms: float = 0.0


@dataclass(slots=True)
class AggregationRow:
    group: dict[str, Any]  # e.g. {"year": 2024, "county": "鲁山县"}
    count: int  # reports in the group
    values: dict[str, float | None]  # "sum:applications.new.total" → value


@dataclass(slots=True)
class AggregationResult:
    rows: list[AggregationRow]
    took_ms: float = 0.0


@dataclass(slots=True)
class IndexStats:
    indexed: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AgencySummary:
    id: str
    name: str
    type: str
    level: str
    region: dict[str, Any]
    reports: int
    years: list[int]


@runtime_checkable
class Store(Protocol):
    """What the indexer writes to and the service reads from."""

    def index(self, docs: Iterable[ReportDocument]) -> IndexStats:
        """Insert or replace documents by id (idempotent: the same document twice changes nothing)."""

    def delete(self, ids: Iterable[str]) -> int: ...

    def update_state(self, states: dict[str, dict[str, Any]]) -> int:
        """Set crawl-state fields (``removed``, ``last_seen``: see ``STATE_FIELDS``) of indexed documents by id,
        without re-parsing; ids not in the store are skipped. Returns how many documents changed."""

    def update_derived(self, values: dict[str, DerivedValues]) -> IndexStats:
        """Replace the insights stage's values of indexed documents by id (``with_derived``) without re-indexing
        their text; ids not in the store are skipped. ``indexed`` counts the documents written."""

    def get(self, report_id: str) -> ReportDocument | None: ...

    def iter_documents(self) -> Iterator[ReportDocument]: ...

    def count(self) -> int: ...

    def search(self, query: SearchQuery) -> SearchResult:
        """Raises store.query.QueryError for a query the user must fix."""

    def aggregate(self, query: AggregationQuery) -> AggregationResult: ...

    def agencies(self, name: str = "", limit: int = 50) -> list[AgencySummary]: ...

    def rebuild(self) -> AbstractContextManager[Store]:
        """A context giving a fresh, empty store that replaces this one atomically on success."""

    def outdated(self) -> str | None:
        """Why the index must be rebuilt before it can be written (made by another version), else None."""

    def close(self) -> None: ...
