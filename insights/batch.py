"""Batch search: many queries at once → one CSV of hit counts per query, county and year."""

from __future__ import annotations

import csv
import io
from typing import Any

from nianbao.spreadsheet import safe_text
from store.base import Store
from store.query import MAX_QUERY_LENGTH, QueryError, build_aggregation, build_search, parse_q

MAX_QUERIES = 200
GROUPS = ("province", "city", "county", "year")
HEADER = ("query", "province", "city", "county", "year", "hits")
BOM = "\ufeff"  # Excel opens UTF-8 CSV as UTF-8 only with it
_HEADER_NAMES = {"q", "query", "queries", "关键词", "检索词", "查询"}


def parse_queries(text: str, *, is_csv: bool = False) -> list[str]:
    """One query per line, or the first column of a CSV (a header cell q/query/关键词 is skipped).

    Blank lines and lines starting with # are ignored. Raises QueryError naming the line."""
    text = text.lstrip(BOM)
    lines = [row[0] if row else "" for row in csv.reader(io.StringIO(text))] if is_csv else text.splitlines()
    queries: list[str] = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#") or (not queries and line.lower() in _HEADER_NAMES):
            continue
        if len(line) > MAX_QUERY_LENGTH:
            raise QueryError(f"line {number}: query longer than {MAX_QUERY_LENGTH} characters", "queries")
        try:
            parse_q(line)
        except QueryError as exc:
            raise QueryError(f"line {number} ({line[:40]!r}): {exc}", "queries") from exc
        queries.append(line)
    if not queries:
        raise QueryError("no queries: send one query per line (or a CSV whose first column holds them)", "queries")
    if len(queries) > MAX_QUERIES:
        raise QueryError(f"{len(queries)} queries; at most {MAX_QUERIES} per request", "queries")
    return queries


def counts(store: Store, query: str, **search: Any) -> list[tuple[str, str, str, str, int]]:
    """(province, city, county, year, hits) for one query, by county and year."""
    selected = build_search(query, facets=(), **search)
    # Any metric will do: the row count is the number of matching reports in the group.
    agg = build_aggregation(selected, metrics=["applications.new.total"], functions=["count"], group_by=GROUPS)
    out = []
    for row in store.aggregate(agg).rows:
        g = row.group
        year = "" if g.get("year") is None else str(g["year"])
        out.append((g.get("province") or "", g.get("city") or "", g.get("county") or "", year, row.count))
    return out


def batch_csv(store: Store, queries: list[str], **search: Any) -> str:
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADER)
    for q in queries:
        rows = counts(store, q, **search)
        cell = safe_text(q)
        if not rows:
            writer.writerow((cell, "", "", "", "", 0))
        for province, city, county, year, hits in rows:
            writer.writerow((cell, *map(safe_text, (province, city, county)), year, hits))
    return buf.getvalue()
