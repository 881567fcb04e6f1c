"""An agency's series year by year: the key metrics, their changes and the copied-text ratios."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from indexer import catalogue
from indexer.document import ReportDocument
from store.base import Store
from store.query import MAX_PAGE_SIZE, build_search

MAX_REPORTS = 500  # per agency id: far more than a publisher's years


def agency_documents(store: Store, agency_id: str) -> list[ReportDocument]:
    query = build_search(filters={"agency_id": [agency_id]}, facets=(), size=MAX_PAGE_SIZE, sort="-year")
    docs: list[ReportDocument] = []
    while len(docs) < MAX_REPORTS:
        result = store.search(query)
        docs.extend(d for d in (store.get(h.id) for h in result.hits) if d is not None)
        if not result.next_cursor or not result.hits:
            break
        query = dataclasses.replace(query, cursor=result.next_cursor)
    return docs


def series_documents(store: Store, agency_id: str) -> list[ReportDocument]:
    """The reports of ``agency_id`` and of the agency ids linked with it (``doc.analysis.series_agencies``)."""
    docs = agency_documents(store, agency_id)
    linked = {a for d in docs for a in d.analysis.series_agencies} - {agency_id}
    for other in sorted(linked):
        docs.extend(agency_documents(store, other))
    return docs


def representative_key(doc: ReportDocument) -> tuple[Any, ...]:
    """Which report stands for a year (as in ``insights.derive``): not removed, latest published, then id."""
    return (doc.removed, not doc.published, tuple(-ord(c) for c in doc.published or ""), doc.id)


def by_year(docs: Iterable[ReportDocument]) -> dict[int, ReportDocument]:
    out: dict[int, ReportDocument] = {}
    for d in sorted(docs, key=representative_key):
        if d.year is not None:
            out.setdefault(d.year, d)
    return dict(sorted(out.items()))


def timeline(docs: list[ReportDocument], agency_id: str) -> dict[str, Any]:
    """``docs`` non-empty (``series_documents``)."""
    years = by_year(docs)
    latest = max(docs, key=lambda d: (d.year or 0, d.published or ""))
    agencies: dict[str, dict[str, Any]] = {}
    for d in docs:
        a = agencies.setdefault(d.agency.id, {"id": d.agency.id, "name": d.agency.normalized_name, "years": set()})
        if d.year is not None:
            a["years"].add(d.year)
    rows = []
    for year, d in years.items():
        rows.append(
            {
                "year": year,
                "report_id": d.id,
                "title": d.title,
                "agency_id": d.agency.id,
                "agency_name": d.agency.normalized_name or d.agency.name,
                "check_status": d.check_status,
                "values": {k: d.metrics.get(k) for k in catalogue.YOY_METRICS},
                "changes": {
                    k: {"abs": d.metrics.get(f"yoy.{k}.abs"), "rel": d.metrics.get(f"yoy.{k}.rel")}
                    for k in catalogue.YOY_METRICS
                },
                "copied": {
                    "previous_ratio": d.metrics.get("copied.previous_ratio"),
                    "previous_id": d.analysis.copied_previous_id,
                    "peers_ratio": d.metrics.get("copied.peers_ratio"),
                    "peer_id": d.analysis.copied_peer_id,
                    "peer_title": d.analysis.copied_peer_title,
                },
                "failed_checks": [
                    {"name": c.name, "expected": c.expected, "actual": c.actual, "message": c.message}
                    for c in d.checks
                    if c.status == "failed" and c.name.startswith("cross.")
                ],
            }
        )
    return {
        "agency_id": agency_id,
        "series": latest.analysis.series,
        "agency": dataclasses.asdict(latest.agency),
        "region": dataclasses.asdict(latest.region),
        "agencies": [
            {**a, "years": sorted(a["years"])} for a in sorted(agencies.values(), key=lambda a: min(a["years"] or {0}))
        ],
        "metrics": [
            {"key": k, "label": catalogue.get(k).label, "unit": catalogue.get(k).unit} for k in catalogue.YOY_METRICS
        ],
        "years": rows,
    }
