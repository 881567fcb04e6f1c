"""Search, statistics and the Atom feed: the same filters everywhere."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

from flask import Response, jsonify, request, stream_with_context

from indexer import catalogue
from indexer.document import ReportDocument
from service import exports, state
from service.api import Blueprint
from service.errors import ApiError
from service.present import search_dict
from service.queries import FEED_SIZE, aggregation_query, check_metric_keys, search_query
from service.schemas import (
    FeedArgsSchema,
    SearchArgsSchema,
    SearchResultSchema,
    StatsArgsSchema,
    StatsResultSchema,
)
from store.query import MAX_PAGE_SIZE, SearchQuery

blp = Blueprint("search", __name__, description="Full-text search, aggregations and exports")

# Reports one CSV export may hold. Streamed, so memory stays flat; a bigger result is refused with the
# reason (never cut short silently: a story must not quote a partial table as the whole).
MAX_EXPORT_ROWS = 100_000
CSV_MIMETYPE = "text/csv; charset=utf-8"


def csv_response(body: str | Iterator[str], filename: str) -> Response:
    chunks = [body] if isinstance(body, str) else body
    return Response(
        stream_with_context(chunk.encode("utf-8") for chunk in chunks),
        mimetype="text/csv",
        headers={"Content-Type": CSV_MIMETYPE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


def iter_matching(query: SearchQuery, limit: int = MAX_EXPORT_ROWS) -> Iterator[ReportDocument]:
    """Every report matching a query (up to ``limit``), following cursors page by page."""
    st = state.store()
    query = dataclasses.replace(query, size=MAX_PAGE_SIZE, facets=(), metric_facets=(), highlight=False)
    seen = 0
    # Every page from one index file: a reindex swapping the file meanwhile neither closes the connection
    # under the stream nor mixes cursors of two files (the SQLite store; others have no such files).
    reading = getattr(st, "reading", None)
    with reading() if reading else contextlib.nullcontext():
        while True:
            result = st.search(query)
            for hit in result.hits:
                doc = st.get(hit.id)
                if doc is not None:
                    yield doc
                    seen += 1
                    if seen >= limit:
                        return
            if not result.next_cursor or not result.hits:
                return
            query = dataclasses.replace(query, cursor=result.next_cursor)


def _columns(args: dict[str, Any]) -> list[str]:
    """The metric columns asked for, and the metric the search is sorted by (a sorted export shows its key)."""
    columns = args.get("columns", [])
    if "all" in columns:
        return [m.key for m in catalogue.metrics()]
    keys = check_metric_keys(columns, "columns")
    sort = (args.get("sort") or "").lstrip("-")
    key = sort.removeprefix("metric:")
    if sort.startswith("metric:") and catalogue.is_metric(key) and key not in keys:
        keys.append(key)
    return keys


@blp.route("/search")
@blp.arguments(SearchArgsSchema(), location="query", as_kwargs=False)
@blp.response(200, SearchResultSchema)
@blp.alt_response(
    200,
    description="CSV export (format=csv): one row per report",
    content_type="text/csv",
    schema={"type": "string"},
    success=True,
)
def search(args: dict[str, Any]):
    """Search reports: full text, filters, metric conditions, facets, paging by cursor.

    With ``format=csv`` the whole result (not just one page; up to 100,000 reports, else a 400 error saying
    so) is streamed as CSV with the metric ``columns`` chosen.
    """
    query = search_query(args)
    columns = _columns(args)
    if args.get("format") == "csv":
        total = state.store().search(dataclasses.replace(query, size=1, facets=(), metric_facets=())).total
        if total > MAX_EXPORT_ROWS:
            raise ApiError(
                400,
                f"the search matches {total:,} reports; one CSV export holds at most {MAX_EXPORT_ROWS:,}: "
                "narrow it (year, region, agency type…), or use /api/v1/stats for totals",
                {"format": [f"more than {MAX_EXPORT_ROWS} reports to export"]},
            )
        return csv_response(exports.reports_csv(iter_matching(query), columns), "nianbao-search.csv")
    result = state.store().search(query)
    data = search_dict(result)
    if columns:
        st = state.store()
        for hit in data["hits"]:
            doc = st.get(hit["id"])
            hit["metrics"] = {k: (doc.metrics.get(k) if doc else None) for k in columns}
    for hit in data["hits"]:
        hit["metrics"] = {k: None if v is None else float(v) for k, v in hit["metrics"].items()}
    # ``data`` is already what SearchResultSchema dumps it to (tests/test_api_search_response.py holds it to
    # that); a Response skips the dump, a sixth of a search request's CPU.
    return jsonify(data)


@blp.route("/stats")
@blp.arguments(StatsArgsSchema(), location="query", as_kwargs=False)
@blp.response(200, StatsResultSchema)
@blp.alt_response(200, description="CSV (format=csv)", content_type="text/csv", schema={"type": "string"}, success=True)
def stats(args: dict[str, Any]):
    """Aggregate metrics (sum, avg, min, max, count) over the reports a search selects, grouped by year, region…"""
    query = aggregation_query(args)
    result = state.store().aggregate(query)
    value_keys = [f"{fn}:{m}" for m in query.metrics for fn in query.functions]
    if args.get("format") == "csv":
        return csv_response(exports.stats_csv(result.rows, query.group_by, value_keys), "nianbao-stats.csv")
    return {
        "rows": [{**dataclasses.asdict(r), "values": exports.stats_values(r.values)} for r in result.rows],
        "labels": {k: exports.value_label(k) for k in value_keys},
        "took_ms": result.took_ms,
    }


@blp.route("/feed.atom")
@blp.arguments(FeedArgsSchema(), location="query", as_kwargs=False)
@blp.response(
    200, {"type": "string"}, description="Atom feed of the newest matching reports", content_type="application/atom+xml"
)
def feed(args: dict[str, Any]):
    """The newest reports matching a search, as an Atom feed (subscribe to a query)."""
    query = search_query(args, sort="-published", size=args.get("size") or FEED_SIZE, facets=())
    st = state.store()
    docs = [d for d in (st.get(h.id) for h in st.search(query).hits) if d is not None]
    # The Host header is the client's to choose: a configured public address wins.
    public = state.settings().public_url.rstrip("/")
    base = public or request.host_url.rstrip("/")
    self_url = public + request.full_path.rstrip("?") if public else request.url
    title = "年报 · " + (args.get("q") or "最新报告")
    body = exports.atom_feed(docs, title=title, self_url=self_url, base_url=base)
    return Response(body, mimetype="application/atom+xml")
