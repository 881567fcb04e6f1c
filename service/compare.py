"""The comparison view: several agencies (picked one by one, or every agency a region filter selects) and one
metric, side by side across years — a table, a chart and a CSV from the same rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

from indexer import catalogue
from store.base import Hit, Store
from store.query import MAX_PAGE_SIZE, QueryError, build_search

# Filters that pick the agencies to compare (the same names as the search's).
PICK_FILTERS = ("agency_id", "province", "city", "county", "agency_type", "level")
MAX_AGENCIES = 40  # rows of one comparison; a chart of more lines is unreadable anyway
MAX_SCAN = 20_000  # reports read for one comparison
DEFAULT_METRIC = "applications.new.total"


@dataclasses.dataclass
class Row:
    agency_id: str
    name: str
    region: dict[str, Any]
    values: dict[int, float | int | None] = dataclasses.field(default_factory=dict)
    reports: dict[int, str] = dataclasses.field(default_factory=dict)  # year → report id
    removed: dict[int, bool] = dataclasses.field(default_factory=dict)

    def change(self, year: int) -> tuple[float | None, float | None]:
        """(absolute, relative) change from the previous year; relative None when last year was 0."""
        now, before = self.values.get(year), self.values.get(year - 1)
        if now is None or before is None:
            return None, None
        return now - before, ((now - before) / before if before else None)


def _hits(
    store: Store, filters: dict[str, list[str]], metric: str, year_from: int | None, year_to: int | None
) -> Iterator[Hit]:
    query = build_search(
        filters=filters,
        year_from=year_from,
        year_to=year_to,
        facets=(),
        metric_facets=(metric,),
        size=MAX_PAGE_SIZE,
        highlight=False,
        sort="year",
    )
    while True:
        result = store.search(query)
        if result.total > MAX_SCAN:
            raise QueryError(f"{result.total} reports to compare; narrow by region (at most {MAX_SCAN})", "city")
        yield from result.hits
        if not result.next_cursor or not result.hits:
            return
        query = dataclasses.replace(query, cursor=result.next_cursor)


def comparison(
    store: Store,
    metric: str,
    filters: dict[str, list[str]],
    *,
    year_from: int | None = None,
    year_to: int | None = None,
) -> dict[str, Any]:
    """Agencies (rows) × years (columns) of one metric. A year an agency has no report for is absent from
    its values; a report that does not give the number has None (shown as "未填", never as 0)."""
    if not catalogue.is_metric(metric):
        raise QueryError(f"unknown metric {metric!r}; see /api/v1/metrics", "metric")
    picked = {k: v for k, v in filters.items() if k in PICK_FILTERS and v}
    rows: dict[str, Row] = {}
    if picked:
        for hit in _hits(store, picked, metric, year_from, year_to):
            aid, year = hit.agency.get("id"), hit.year
            if not aid or year is None:
                continue
            row = rows.get(aid)
            if row is None:
                if len(rows) >= MAX_AGENCIES:
                    continue
                name = hit.agency.get("normalized_name") or hit.agency.get("name") or aid
                row = rows[aid] = Row(aid, name, hit.region)
            # A removed report gives way to a live one of the same year; otherwise the later one wins.
            if year in row.values and hit.removed and not row.removed.get(year, False):
                continue
            row.values[year] = hit.metrics.get(metric)
            row.reports[year] = hit.id
            row.removed[year] = hit.removed
    ordered = sorted(rows.values(), key=lambda r: (r.region.get("city", ""), r.region.get("county", ""), r.name))
    years = sorted({y for r in ordered for y in r.values})
    if years:
        years = list(range(years[0], years[-1] + 1))
    m = catalogue.get(metric)
    return {
        "metric": metric,
        "label": m.label,
        "unit": m.unit,
        "years": years,
        "rows": ordered,
        "truncated": len(rows) >= MAX_AGENCIES,
        "filters": picked,
    }


def comparison_rows(data: dict[str, Any]) -> Iterable[list[Any]]:
    """The comparison as CSV rows: one per agency, one column per year, then each year's change."""
    from service.present import metric_change_text

    years = data["years"]
    metric = data["metric"]
    yield [
        "机关",
        "机关编号",
        "省份",
        "城市",
        "区县",
        *(f"{y} 年 {data['label']}（{data['unit']}）[{metric}]" for y in years),
        *(f"{y} 年比上年" for y in years[1:]),
    ]
    for row in data["rows"]:
        cells: list[Any] = [row.name, row.agency_id, *(row.region.get(k, "") for k in ("province", "city", "county"))]
        for y in years:
            cells.append("无报告" if y not in row.values else ("未填" if row.values[y] is None else row.values[y]))
        for y in years[1:]:
            abs_, rel = row.change(y)
            cells.append("" if abs_ is None else metric_change_text(metric, abs_, rel))
        yield cells
