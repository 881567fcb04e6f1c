"""Agencies that published in earlier years but have no report for a year whose deadline has passed.

Deadlines (条例 第五十条): 31 January of the following year for every agency; 31 March for the
provincial governments' summaries (level 省, type 人民政府 / 办公厅). A publisher renamed within its series
(``doc.analysis.series_agencies``) is not missing when the new name published.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from store.base import Store
from store.query import MAX_PAGE_SIZE, QueryError, build_search

MAX_SCAN = 500_000  # reports read; beyond this, narrow by region or source


def deadline(year: int, level: str, kind: str) -> date:
    if level == "省" and kind in ("人民政府", "办公厅"):
        return date(year + 1, 3, 31)
    return date(year + 1, 1, 31)


def missing_reports(
    store: Store, year: int, today: date, filters: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    query = build_search(filters=filters or {}, year_to=year, facets=(), size=MAX_PAGE_SIZE, highlight=False)
    agencies: dict[str, dict[str, Any]] = {}
    while True:
        result = store.search(query)
        if result.total > MAX_SCAN:
            raise QueryError(f"{result.total} reports to scan; narrow by region or source", "year")
        for h in result.hits:
            if not h.agency.get("id") or h.year is None:
                continue
            a = agencies.setdefault(h.agency["id"], {"years": set(), "latest": h})
            a["years"].add(h.year)
            if h.year > (a["latest"].year or 0):
                a["latest"] = h
        if not result.next_cursor or not result.hits:
            break
        query = dataclasses.replace(query, cursor=result.next_cursor)
    published = {aid for aid, a in agencies.items() if year in a["years"]}
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    not_yet_due = 0
    for aid, a in sorted(agencies.items()):
        if year in a["years"]:
            continue
        latest = a["latest"]
        agency = latest.agency
        due = deadline(year, agency.get("level", ""), agency.get("type", ""))
        if today <= due:
            not_yet_due += 1
            continue
        doc = store.get(latest.id)
        if doc is not None and set(doc.analysis.series_agencies) & published:
            continue  # the same publisher under another name published
        region = latest.region
        source = doc.provenance.source_id if doc is not None else ""
        key = (source, region.get("province", ""), region.get("city", ""), region.get("county", ""))
        groups.setdefault(key, []).append(
            {
                "agency_id": aid,
                "name": agency.get("normalized_name") or agency.get("name", ""),
                "type": agency.get("type", ""),
                "level": agency.get("level", ""),
                "years": sorted(a["years"]),
                "last_year": latest.year,
                "last_report_id": latest.id,
                "last_title": latest.title,
                "deadline": due.isoformat(),
            }
        )
    return {
        "year": year,
        "today": today.isoformat(),
        "missing": sum(len(v) for v in groups.values()),
        "not_yet_due": not_yet_due,
        "groups": [
            {"source": k[0], "region": {"province": k[1], "city": k[2], "county": k[3]}, "agencies": v}
            for k, v in sorted(groups.items())
        ],
    }
