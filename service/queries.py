"""Validated request arguments → the store's query model (``store.query``), shared by API and web page."""

from __future__ import annotations

from typing import Any

from indexer import catalogue
from store.query import AggregationQuery, QueryError, SearchQuery, build_aggregation, build_search

FEED_SIZE = 20


def check_metric_keys(keys: list[str], field: str) -> list[str]:
    for key in keys:
        if not catalogue.is_metric(key):
            raise QueryError(f"unknown metric {key!r}; see /api/v1/metrics", field)
    return keys


def search_query(args: dict[str, Any], **overrides: Any) -> SearchQuery:
    """A SearchQuery from loaded ``SearchArgsSchema`` / ``FilterArgsSchema`` arguments."""
    params: dict[str, Any] = {
        "section": args.get("section"),
        "filters": args.get("filters", {}),
        "year_from": args.get("year_from"),
        "year_to": args.get("year_to"),
        "metric": args.get("metric", []),
        "facets": args.get("facets"),
        "metric_facets": args.get("metric_facets", []),
        "sort": args.get("sort"),
        "size": args.get("size"),
        "cursor": args.get("cursor"),
    }
    params.update(overrides)
    return build_search(args.get("q"), **params)


def aggregation_query(args: dict[str, Any]) -> AggregationQuery:
    search = search_query(args, facets=(), size=None, cursor=None, sort=None)
    return build_aggregation(
        search,
        metrics=args.get("metrics", []),
        functions=args.get("functions") or ("sum",),
        group_by=args.get("group_by") or ("year",),
    )
