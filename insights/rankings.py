"""Top and bottom reports by a metric or by a share of two metrics, within a region and year."""

from __future__ import annotations

import dataclasses
from typing import Any

from indexer import catalogue
from store.base import Hit, Store
from store.query import MAX_PAGE_SIZE, QueryError, build_search

# Shares journalists ask for by name: (numerator, denominator, label).
RATIOS: dict[str, tuple[str, str, str]] = {
    "disclosed_share": ("outcomes.disclosed.total", "outcomes.total.total", "予以公开占办理结果的比例"),
    "not_held_share": ("outcomes.unavailable.not_held.total", "outcomes.total.total", "本机关不掌握占办理结果的比例"),
    "withheld_share": ("outcomes.withheld.total.total", "outcomes.total.total", "不予公开占办理结果的比例"),
    "review_rate": ("review.total", "applications.new.total", "行政复议件数占新收申请的比例"),
}
MAX_LIMIT = 100
MAX_SCAN = 200_000  # reports read to rank a share; beyond this, narrow the region
KNOWN = -1e15  # "metric >= KNOWN" selects the reports that give the number (conditions never match None)


def _known(key: str) -> str:
    return f"{key}>={KNOWN:.0f}"


def resolve(metric: str, per: str | None) -> tuple[str, str | None, str]:
    """(numerator, denominator or None, label) for a metric key, a named share, or ``metric`` per ``per``."""
    if metric in RATIOS:
        if per:
            raise QueryError(f"{metric!r} is a named share already; leave out 'per'", "per")
        return RATIOS[metric]
    if not catalogue.is_metric(metric):
        names = ", ".join(RATIOS)
        raise QueryError(f"unknown metric {metric!r}; use a key of /api/v1/metrics or one of {names}", "metric")
    if per is not None and not catalogue.is_metric(per):
        raise QueryError(f"unknown metric {per!r} for 'per'; see /api/v1/metrics", "per")
    label = catalogue.get(metric).label
    if per:
        label = f"{label} ÷ {catalogue.get(per).label}"
    return metric, per, label


def _row(hit: Hit, value: float, numerator: float, denominator: float | None) -> dict[str, Any]:
    return {
        "report_id": hit.id,
        "title": hit.title,
        "agency": hit.agency,
        "region": hit.region,
        "year": hit.year,
        "value": value,
        "numerator": numerator,
        "denominator": denominator,
    }


def rankings(
    store: Store,
    metric: str,
    *,
    per: str | None = None,
    filters: dict[str, list[str]] | None = None,
    year: int | None = None,
    order: str = "desc",
    limit: int = 20,
    min_denominator: float = 1,
    q: str = "",
    section: str | None = None,
    conditions: tuple[str, ...] | list[str] = (),
) -> dict[str, Any]:
    """``q``, ``section`` and ``conditions`` (metric conditions) narrow the ranked reports as a search would."""
    numerator, denominator, label = resolve(metric, per)
    if order not in ("desc", "asc"):
        raise QueryError("order must be desc or asc", "order")
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT}", "limit")
    if denominator is not None and min_denominator <= 0:
        raise QueryError("min_denominator must be above 0 (a share of nothing is no share)", "min_denominator")
    filters = dict(filters or {})
    if year is not None:
        filters["year"] = [str(year)]
    conditions = [*conditions, _known(numerator)]
    if denominator is not None:
        conditions.append(f"{denominator}>={min_denominator:g}")
    text = {"q": q, "section": section}
    sign = "-" if order == "desc" else ""
    if denominator is None:
        sort = f"{sign}metric:{numerator}"
        query = build_search(
            **text, filters=filters, metric=conditions, facets=(), sort=sort, size=limit, highlight=False
        )
        result = store.search(query)
        rows = [_row(h, h.metrics[numerator], h.metrics[numerator], None) for h in result.hits]
        total = result.total
    else:
        scored, total = _scan(store, filters, conditions, numerator, denominator, text)
        scored.sort(key=lambda s: (-s[0] if order == "desc" else s[0], s[1].id))
        rows = [_row(h, value, num, den) for value, h, num, den in scored[:limit]]
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return {
        "metric": metric,
        "numerator": numerator,
        "denominator": denominator,
        "label": label,
        "numerator_label": catalogue.get(numerator).label,
        "denominator_label": catalogue.get(denominator).label if denominator else None,
        "min_denominator": min_denominator if denominator else None,
        "year": year,
        "order": order,
        "total": total,
        "rows": rows,
    }


def _scan(
    store: Store,
    filters: dict[str, list[str]],
    conditions: list[str],
    numerator: str,
    denominator: str,
    text: dict[str, Any],
) -> tuple[list[tuple[float, Hit, float, float]], int]:
    query = build_search(**text, filters=filters, metric=conditions, facets=(), size=MAX_PAGE_SIZE, highlight=False)
    out: list[tuple[float, Hit, float, float]] = []
    while True:
        result = store.search(query)
        if result.total > MAX_SCAN:
            raise QueryError(f"{result.total} reports to rank; narrow by region or year (at most {MAX_SCAN})", "metric")
        for h in result.hits:
            num, den = h.metrics[numerator], h.metrics[denominator]
            out.append((round(num / den, 6), h, num, den))
        if not result.next_cursor or not result.hits:
            return out, result.total
        query = dataclasses.replace(query, cursor=result.next_cursor)
