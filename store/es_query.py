"""The query model (store.query) as Elasticsearch DSL, and responses back as store.base results.

Pure functions: no client, no I/O, so every translation is testable without a server. User text only
ever reaches Elasticsearch as the ``query`` of a ``match_phrase``/``multi_match`` (analysed, never
parsed), values of ``term(s)`` queries, or numbers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from indexer.document import SECTION_KEYS
from store import analysis, es_mapping, highlight
from store.base import AgencySummary, AggregationRow, Facet, FacetValue, Hit, SearchResult
from store.query import (
    FACET_FIELDS,
    GROUP_BY,
    SCOPE_TITLE,
    AggregationQuery,
    And,
    MetricCondition,
    Node,
    Not,
    Or,
    QueryError,
    SearchQuery,
    Term,
    buckets_for,
    decode_cursor,
    encode_cursor,
)
from store.query import terms as query_terms

FACET_VALUE_LIMIT = 100  # values per facet, as the embedded store (selected values are always included)
FACET_SHARD_SIZE = 1000  # per-shard candidates, so multi-shard counts of the top values stay exact
COMPOSITE_PAGE = 1000
MATCH_NONE: dict[str, Any] = {"bool": {"must_not": [{"match_all": {}}]}}
HIT_SOURCE = ("id", "title", "agency", "region", "year", "published", "check_status", "removed")


# -- text ---------------------------------------------------------------------------------------------


def needs_chars_field(term: Term) -> bool:
    """Whether a term must be matched on the per-ideograph ``.chars`` field instead of the bigram field.

    The bigram field turns a lone ideograph into a unigram, but in the text the same ideograph may start
    or end a longer run (its bigram then differs). That is harmless between two non-ideographs, where the
    text's run must be lone too, but not at either end of the term: a one-character term, or a term
    starting or ending with a lone ideograph next to a word (``12件`` in ``收到12件申请``).
    """
    tokens = analysis.tokenize(term.text)
    if not tokens:
        raise QueryError(f"{term.text!r} has no searchable characters")
    if len(tokens) == 1:
        return tokens[0].cjk
    first_lone = tokens[0].cjk and not tokens[1].joined
    last_lone = tokens[-1].cjk and not tokens[-1].joined
    return first_lone or last_lone


def term_query(term: Term, fields: list[str]) -> dict[str, Any]:
    """A phrase over ``fields`` (any one of them may match)."""
    if needs_chars_field(term):
        fields = [f"{f}.{es_mapping.CHARS_SUBFIELD}" for f in fields]
    if len(fields) == 1:
        return {"match_phrase": {fields[0]: {"query": term.text}}}
    return {"multi_match": {"query": term.text, "type": "phrase", "fields": fields}}


def scope_fields(scope: str | None) -> list[str]:
    if scope is None:
        return list(es_mapping.text_fields())
    if scope != SCOPE_TITLE and scope not in SECTION_KEYS:
        raise QueryError(f"unknown section {scope!r}", field="section")
    return [es_mapping.scope_field(scope)]


def text_query(node: Node, scope: str | None = None) -> dict[str, Any]:
    """The boolean tree as bool queries: AND → must (+ must_not), OR → should (min 1), NOT → must_not."""
    fields = scope_fields(scope)
    if isinstance(node, Term):
        return term_query(node, fields)
    if isinstance(node, Not):
        return {"bool": {"must_not": [text_query(node.item, scope)]}}
    if isinstance(node, Or):
        return {"bool": {"should": [text_query(i, scope) for i in node.items], "minimum_should_match": 1}}
    if isinstance(node, And):
        must = [text_query(i, scope) for i in node.items if not isinstance(i, Not)]
        must_not = [text_query(i.item, scope) for i in node.items if isinstance(i, Not)]
        if not must:
            raise QueryError("a query cannot consist only of exclusions ('-term'); add a term to search for")
        clause: dict[str, Any] = {"must": must}
        if must_not:
            clause["must_not"] = must_not
        return {"bool": clause}
    raise TypeError(f"not a query node: {node!r}")


# -- filters ------------------------------------------------------------------------------------------


def _typed_values(name: str, values: tuple[str, ...]) -> list[Any]:
    """Filter values as the field's type; a value the field cannot hold matches nothing (as in SQLite)."""
    if name == "year":
        return [int(v) for v in values if v.lstrip("-").isdigit()]
    if name == "removed":
        return [v == "true" for v in values if v in ("true", "false")]
    return list(values)


def filter_clause(name: str, values: tuple[str, ...]) -> dict[str, Any]:
    typed = _typed_values(name, values)
    if not typed:
        return MATCH_NONE
    return {"terms": {FACET_FIELDS[name]: typed}}


def year_range(year_from: int | None, year_to: int | None) -> dict[str, Any] | None:
    if year_from is None and year_to is None:
        return None
    bounds = {k: v for k, v in (("gte", year_from), ("lte", year_to)) if v is not None}
    return {"range": {FACET_FIELDS["year"]: bounds}}


def facet_filters(query: SearchQuery) -> dict[str, list[dict[str, Any]]]:
    """Facet name → its filter clauses; the year range belongs to the year facet (it lifts it too)."""
    out: dict[str, list[dict[str, Any]]] = {name: [filter_clause(name, vals)] for name, vals in query.filters.items()}
    rng = year_range(query.year_from, query.year_to)
    if rng is not None:
        out.setdefault("year", []).append(rng)
    return out


def condition_clause(cond: MetricCondition) -> dict[str, Any]:
    """A metric condition; a report without the number (a missing field) satisfies none."""
    field = es_mapping.metric_field(cond.key)
    if cond.op == "=":
        return {"term": {field: cond.value}}
    if cond.op == "!=":
        return {"bool": {"filter": [{"exists": {"field": field}}], "must_not": [{"term": {field: cond.value}}]}}
    op = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}[cond.op]
    return {"range": {field: {op: cond.value}}}


def base_query(query: SearchQuery, *, with_facet_filters: bool = False) -> dict[str, Any]:
    """Text in query context, metric conditions (and optionally the facet filters) in filter context."""
    tree = query.tree
    clause: dict[str, Any] = {}
    if tree is not None:
        clause["must"] = [text_query(tree, query.scope)]
    filters = [condition_clause(c) for c in query.conditions]
    if with_facet_filters:
        filters += [c for clauses in facet_filters(query).values() for c in clauses]
    if filters:
        clause["filter"] = filters
    return {"bool": clause} if clause else {"match_all": {}}


def _all_of(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bool": {"filter": clauses}} if clauses else {"match_all": {}}


# -- facets -------------------------------------------------------------------------------------------


def facet_aggs(query: SearchQuery) -> dict[str, Any]:
    """Per facet: a ``filter`` agg applying every facet filter but its own, wrapping a terms agg."""
    groups = facet_filters(query)
    aggs: dict[str, Any] = {}
    for name in query.facets:
        others = [c for other, clauses in groups.items() if other != name for c in clauses]
        inner: dict[str, Any] = {
            "values": {
                "terms": {
                    "field": FACET_FIELDS[name],
                    "size": FACET_VALUE_LIMIT + 1,  # +1: the empty value is dropped afterwards
                    "shard_size": FACET_SHARD_SIZE,
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                }
            }
        }
        selected = query.filters.get(name, ())
        if selected:  # counts of selected values even when they are not among the top ones
            inner["selected"] = {"filters": {"filters": {v: filter_clause(name, (v,)) for v in selected}}}
        aggs[f"facet:{name}"] = {"filter": _all_of(others), "aggs": inner}
    all_filters = [c for clauses in groups.values() for c in clauses]
    for key in query.metric_facets:
        ranges = []
        for bucket in buckets_for(key):
            rng: dict[str, Any] = {"key": bucket.label}
            if bucket.low is not None:
                rng["from"] = bucket.low
            if bucket.high is not None:
                rng["to"] = bucket.high
            ranges.append(rng)
        aggs[f"metric:{key}"] = {
            "filter": _all_of(all_filters),
            "aggs": {"buckets": {"range": {"field": es_mapping.metric_field(key), "ranges": ranges}}},
        }
    return aggs


def _facet_key(bucket: dict[str, Any]) -> str:
    return str(bucket.get("key_as_string", bucket["key"]))


def parse_facets(query: SearchQuery, aggregations: dict[str, Any]) -> list[Facet]:
    out: list[Facet] = []
    for name in query.facets:
        agg = aggregations[f"facet:{name}"]
        counts = {_facet_key(b): b["doc_count"] for b in agg["values"]["buckets"]}
        counts.pop("", None)  # an empty value is no value
        selected = query.filters.get(name, ())
        for value, bucket in agg.get("selected", {}).get("buckets", {}).items():
            counts.setdefault(value, bucket["doc_count"])
        out.append(Facet(name, _ordered(counts, selected)))
    for key in query.metric_facets:
        buckets = aggregations[f"metric:{key}"]["buckets"]["buckets"]
        by_label = {b["key"]: b["doc_count"] for b in buckets}
        out.append(Facet(key, [FacetValue(b.label, by_label.get(b.label, 0)) for b in buckets_for(key)]))
    return out


def _ordered(counts: dict[str, int], selected: tuple[str, ...]) -> list[FacetValue]:
    """Count desc, then value; at most FACET_VALUE_LIMIT, plus selected values wherever they rank."""
    chosen = set(selected)
    ranked = sorted(((v, c) for v, c in counts.items() if c > 0), key=lambda vc: (-vc[1], vc[0]))
    out = [FacetValue(v, c, v in chosen) for v, c in ranked[:FACET_VALUE_LIMIT]]
    shown = {fv.value for fv in out}
    out.extend(FacetValue(v, counts.get(v, 0), True) for v in selected if v not in shown)
    return out


# -- sorting and paging ----------------------------------------------------------------------------------


def sort_clause(sort: str) -> list[dict[str, Any]]:
    """Sort keys, always ending with the id so equal keys page deterministically."""
    tiebreak = {"id": {"order": "asc"}}
    if sort == "relevance":
        return [{"_score": {"order": "desc"}}, tiebreak]
    order = "desc" if sort.startswith("-") else "asc"
    bare = sort.lstrip("-")
    if bare.startswith("metric:"):
        field = es_mapping.metric_field(bare[len("metric:") :])
    elif bare in ("year", "published"):
        field = bare
    else:
        raise QueryError(f"unknown sort {sort!r}", "sort")
    return [{field: {"order": order, "missing": "_last"}}, tiebreak]


def search_after(query: SearchQuery) -> list[Any] | None:
    """The sort values after which the page starts; the cursor carries its sort name to catch misuse."""
    if query.cursor is None:
        return None
    values = decode_cursor(query.cursor)
    if len(values) != len(sort_clause(query.sort)) + 1 or values[0] != query.sort:
        raise QueryError("this cursor belongs to a different query or sort; start again without it", "cursor")
    return values[1:]


def cursor_of(query: SearchQuery, sort_values: list[Any]) -> str:
    return encode_cursor([query.sort, *sort_values])


# -- highlighting -------------------------------------------------------------------------------------


def highlight_fields(source: dict[str, Any], scope: str | None) -> list[tuple[str, str]]:
    """The (section key or "title", original text) pairs a query searched, in display order.

    Fragments are built by ``store.highlight`` from the stored text, as the embedded store does, so both
    engines mark exactly what ``store.analysis`` matches (Elasticsearch's highlighters work on bigram
    tokens and cannot tell a joined pair from a separated one) and return identical fragments.
    """
    texts: dict[str, list[str]] = {}
    for section in source.get("sections") or []:
        texts.setdefault(section.get("key", ""), []).append(section.get("text", ""))
    title = source.get("title") or ""
    if scope == SCOPE_TITLE:
        return [(SCOPE_TITLE, title)]
    if scope:
        return [(scope, "\n".join(texts.get(scope, [])))]
    return [(SCOPE_TITLE, title), *((k, "\n".join(texts[k])) for k in SECTION_KEYS if k in texts)]


# -- search -------------------------------------------------------------------------------------------


def requested_metrics(query: SearchQuery) -> tuple[str, ...]:
    """Metrics a hit carries: those the query conditions, buckets or sorts on."""
    keys = [c.key for c in query.conditions] + list(query.metric_facets)
    bare = query.sort.lstrip("-")
    if bare.startswith("metric:"):
        keys.append(bare[len("metric:") :])
    return tuple(dict.fromkeys(keys))


def search_body(query: SearchQuery) -> dict[str, Any]:
    """The request body of ``_search``: facet filters in ``post_filter`` so facets can lift their own."""
    source = [*HIT_SOURCE, *(es_mapping.metric_field(k) for k in requested_metrics(query))]
    if query.highlight and query.tree is not None:
        source.append("sections")  # fragments are cut from the stored text (see highlight_fields)
    body: dict[str, Any] = {
        "query": base_query(query),
        "size": query.size + 1,  # one extra tells whether there is a next page
        "sort": sort_clause(query.sort),
        "track_total_hits": True,
        "_source": {"includes": source},
    }
    groups = facet_filters(query)
    if groups:
        body["post_filter"] = _all_of([c for clauses in groups.values() for c in clauses])
    aggs = facet_aggs(query)
    if aggs:
        body["aggs"] = aggs
    after = search_after(query)
    if after is not None:
        body["search_after"] = after
    return body


def _hit(raw: dict[str, Any], query: SearchQuery, metrics: tuple[str, ...], terms: list[Term]) -> Hit:
    src = raw.get("_source", {})
    values = src.get(es_mapping.METRICS_FIELD, {})
    ranked = query.sort == "relevance" and query.tree is not None
    return Hit(
        id=src.get("id", raw["_id"]),
        score=float(raw["_score"]) if ranked and raw.get("_score") is not None else None,
        title=src.get("title", ""),
        agency=src.get("agency", {}),
        region=src.get("region", {}),
        year=src.get("year"),
        published=src.get("published"),
        check_status=src.get("check_status", "incomplete"),
        removed=bool(src.get("removed", False)),
        fragments=highlight.fragments(highlight_fields(src, query.scope), terms) if terms else [],
        metrics={k: values.get(k) for k in metrics},
    )


def parse_search(query: SearchQuery, response: dict[str, Any]) -> SearchResult:
    raw_hits = response["hits"]["hits"]
    page = raw_hits[: query.size]
    metrics = requested_metrics(query)
    terms = query_terms(query.tree) if query.highlight else []
    next_cursor = cursor_of(query, page[-1]["sort"]) if len(raw_hits) > query.size else None
    return SearchResult(
        total=response["hits"]["total"]["value"],
        hits=[_hit(h, query, metrics, terms) for h in page],
        facets=parse_facets(query, response.get("aggregations", {})),
        next_cursor=next_cursor,
        took_ms=float(response.get("took", 0)),
    )


# -- aggregations -------------------------------------------------------------------------------------


def _metric_aggs(query: AggregationQuery) -> dict[str, Any]:
    """One ``stats`` agg per metric: count (value_count), sum, min, max and avg in a single pass."""
    return {f"stats:{key}": {"stats": {"field": es_mapping.metric_field(key)}} for key in query.metrics}


def aggregation_body(query: AggregationQuery, after: dict[str, Any] | None = None) -> dict[str, Any]:
    """A composite aggregation grouped by ``group_by`` (paged with ``after``), one metric agg per function."""
    body: dict[str, Any] = {"query": base_query(query.search, with_facet_filters=True), "size": 0}
    if not query.group_by:  # one group: everything selected
        return {**body, "track_total_hits": True, "aggs": _metric_aggs(query)}
    sources = [{g: {"terms": {"field": GROUP_BY[g], "missing_bucket": True}}} for g in query.group_by]
    composite: dict[str, Any] = {"size": COMPOSITE_PAGE, "sources": sources}
    if after is not None:
        composite["after"] = after
    return {
        **body,
        "track_total_hits": False,
        "aggs": {"groups": {"composite": composite, "aggs": _metric_aggs(query)}},
    }


@dataclass(slots=True)
class _Partial:
    """One group's report count and per-metric [count, sum, min, max], mergeable across buckets."""

    count: int = 0
    stats: dict[str, list[float]] = dataclasses.field(default_factory=dict)

    def add(self, query: AggregationQuery, doc_count: int, bucket: dict[str, Any]) -> None:
        self.count += doc_count
        for key in query.metrics:
            st = bucket[f"stats:{key}"]
            if not st["count"]:
                continue
            old = self.stats.get(key)
            if old is None:
                self.stats[key] = [st["count"], st["sum"], st["min"], st["max"]]
            else:
                old[:] = [old[0] + st["count"], old[1] + st["sum"], min(old[2], st["min"]), max(old[3], st["max"])]

    def values(self, query: AggregationQuery) -> dict[str, float | None]:
        """``fn:key`` → value; None when no report of the group gives the number (count is then 0)."""
        out: dict[str, float | None] = {}
        for key in query.metrics:
            st = self.stats.get(key)
            for fn in query.functions:
                if st is None:
                    out[f"{fn}:{key}"] = 0.0 if fn == "count" else None
                    continue
                n, total, low, high = st
                out[f"{fn}:{key}"] = float({"count": n, "sum": total, "avg": total / n, "min": low, "max": high}[fn])
        return out


def _group_value(name: str, value: Any) -> Any:
    """As the embedded store reports groups: an empty value is None, the year an int."""
    if value is None or value == "":
        return None
    return int(value) if name == "year" else value


class AggregationCollector:
    """Folds composite pages into rows; "" and a missing value are one group (None), as in SQLite."""

    def __init__(self, query: AggregationQuery) -> None:
        self.query = query
        self.groups: dict[tuple[Any, ...], _Partial] = {}

    def add_page(self, response: dict[str, Any]) -> dict[str, Any] | None:
        """Take one response; returns the ``after`` key of the next composite page, None when done."""
        aggs = response.get("aggregations", {})
        if not self.query.group_by:
            total = response["hits"]["total"]["value"]
            if total:
                self.groups.setdefault((), _Partial()).add(self.query, total, aggs)
            return None
        buckets = aggs["groups"]["buckets"]
        for bucket in buckets:
            key = tuple(_group_value(g, bucket["key"].get(g)) for g in self.query.group_by)
            self.groups.setdefault(key, _Partial()).add(self.query, bucket["doc_count"], bucket)
        return aggs["groups"].get("after_key") if len(buckets) >= COMPOSITE_PAGE else None

    def rows(self) -> list[AggregationRow]:
        rows = [
            AggregationRow(dict(zip(self.query.group_by, key, strict=True)), part.count, part.values(self.query))
            for key, part in self.groups.items()
            if part.count
        ]
        rows.sort(key=lambda r: tuple((v is None, v if v is not None else 0) for v in r.group.values()))
        return rows


# -- agencies -------------------------------------------------------------------------------------------


def _wildcard_literal(text: str) -> str:
    return "".join("\\" + ch if ch in "*?\\" else ch for ch in text)


def agencies_body(name: str = "", limit: int = 50) -> dict[str, Any]:
    """Agencies whose name contains ``name``: one terms bucket per agency id with its years."""
    query: dict[str, Any] = {"match_all": {}}
    if name.strip():
        pattern = f"*{_wildcard_literal(name.strip())}*"
        query = {
            "bool": {
                "should": [
                    {"wildcard": {field: {"value": pattern, "case_insensitive": True}}}
                    for field in ("agency.name", "agency.normalized_name")
                ],
                "minimum_should_match": 1,
            }
        }
    return {
        "query": query,
        "size": 0,
        "aggs": {
            "agencies": {
                "terms": {
                    "field": FACET_FIELDS["agency_id"],
                    "size": limit,
                    "shard_size": max(FACET_SHARD_SIZE, limit * 5),
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                },
                "aggs": {  # as the embedded store: the greatest name/type/level, the region of one report
                    "doc": {"top_hits": {"size": 1, "_source": {"includes": ["region"]}}},
                    "name": {"terms": {"field": FACET_FIELDS["agency"], "size": 1, "order": {"_key": "desc"}}},
                    "type": {"terms": {"field": FACET_FIELDS["agency_type"], "size": 1, "order": {"_key": "desc"}}},
                    "level": {"terms": {"field": FACET_FIELDS["level"], "size": 1, "order": {"_key": "desc"}}},
                    "years": {"terms": {"field": "year", "size": 500}},
                },
            }
        },
    }


def _top_key(bucket: dict[str, Any], name: str) -> str:
    buckets = bucket[name]["buckets"]
    return str(buckets[0]["key"]) if buckets else ""


def parse_agencies(response: dict[str, Any], limit: int) -> list[AgencySummary]:
    """Ordered as the embedded store: most reports first, then by name."""
    out: list[AgencySummary] = []
    for bucket in response["aggregations"]["agencies"]["buckets"]:
        region = bucket["doc"]["hits"]["hits"][0]["_source"].get("region", {})
        out.append(
            AgencySummary(
                id=str(bucket["key"]),
                name=_top_key(bucket, "name"),
                type=_top_key(bucket, "type"),
                level=_top_key(bucket, "level"),
                region={k: region.get(k, "") for k in ("province", "city", "county")},
                reports=bucket["doc_count"],
                years=sorted(int(b["key"]) for b in bucket["years"]["buckets"]),
            )
        )
    out.sort(key=lambda a: (-a.reports, a.name))
    return out[:limit]
