"""The interface both stores implement, and the result types they return.

A store is derived data: everything in it can be rebuilt from the archive (``nianbao reindex``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from indexer.document import ReportDocument
from store.query import AggregationQuery, SearchQuery

# The fields of a report document that follow the crawl (not the report's content): updatable in place.
STATE_FIELDS = frozenset({"removed", "last_seen"})


def check_state_fields(states: dict[str, dict[str, Any]]) -> None:
    """Reject an update of anything but the crawl-state fields: content changes go through ``index``."""
    for report_id, fields in states.items():
        bad = set(fields) - STATE_FIELDS
        if bad:
            raise ValueError(f"{report_id}: not crawl-state field(s): {', '.join(sorted(bad))}")


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
