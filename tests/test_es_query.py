"""Query model → Elasticsearch DSL, and responses → store.base results, without a server.

Besides the shape of each clause, the translated bool trees are evaluated by a tiny interpreter of the
DSL subset we emit (phrases judged by store.analysis, whose equivalence to the configured analysis chain
is tested in test_es_analysis) and compared with the query model's reference semantics.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.document import SECTION_KEYS
from store import analysis, es_mapping, es_query
from store.base import AggregationRow
from store.query import (
    DEFAULT_BUCKETS,
    FACET_FIELDS,
    QueryError,
    build_aggregation,
    build_search,
    decode_cursor,
    matches,
    parse_q,
)

ALL_FIELDS = list(es_mapping.text_fields())


# -- a tiny interpreter of the DSL subset, over flat documents {field path: value or list} -----------------


def _values(doc: dict[str, Any], field: str) -> list[Any]:
    field = field.removesuffix("." + es_mapping.CHARS_SUBFIELD)
    value = doc.get(field)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def evaluate(q: dict[str, Any], doc: dict[str, Any]) -> bool:
    ((kind, body),) = q.items()
    if kind == "match_all":
        return True
    if kind == "bool":
        ok = all(evaluate(c, doc) for c in body.get("must", []) + body.get("filter", []))
        ok = ok and not any(evaluate(c, doc) for c in body.get("must_not", []))
        if "should" in body:
            ok = ok and sum(evaluate(c, doc) for c in body["should"]) >= body.get("minimum_should_match", 1)
        return ok
    if kind == "match_phrase":
        ((field, spec),) = body.items()
        return any(analysis.contains(v, spec["query"]) for v in _values(doc, field))
    if kind == "multi_match":
        assert body["type"] == "phrase"
        return any(analysis.contains(v, body["query"]) for f in body["fields"] for v in _values(doc, f))
    if kind == "terms":
        ((field, wanted),) = body.items()
        return any(v in wanted for v in _values(doc, field))
    if kind == "term":
        ((field, wanted),) = body.items()
        return wanted in _values(doc, field)
    if kind == "exists":
        return bool(_values(doc, body["field"]))
    if kind == "range":
        ((field, bounds),) = body.items()
        ops = {"gte": float.__ge__, "gt": float.__gt__, "lte": float.__le__, "lt": float.__lt__}
        return any(all(ops[op](float(v), float(b)) for op, b in bounds.items()) for v in _values(doc, field))
    raise AssertionError(f"unexpected clause {kind}")


def _walk_keys(obj: Any) -> set[str]:
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in _walk_keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in _walk_keys(v)}
    return set()


# -- text ---------------------------------------------------------------------------------------------


def test_multi_character_term_is_a_phrase_on_the_bigram_field_of_its_scope():
    q = es_query.text_query(parse_q("依申请公开"), "problems")
    assert q == {"match_phrase": {"sections_text.problems": {"query": "依申请公开"}}}


def test_one_character_term_uses_the_unigram_subfield():
    q = es_query.text_query(parse_q("复"), "title")
    assert q == {"match_phrase": {"title.chars": {"query": "复"}}}


def test_mixed_script_term_with_a_lone_ideograph_at_an_end_uses_the_unigram_subfield():
    q = es_query.text_query(parse_q("12件"), "title")
    assert q == {"match_phrase": {"title.chars": {"query": "12件"}}}
    q = es_query.text_query(parse_q("iso9001认证"), "title")
    assert q == {"match_phrase": {"title": {"query": "iso9001认证"}}}


def test_unscoped_term_searches_title_and_every_section():
    q = es_query.text_query(parse_q('"政府 信息"'))
    assert q == {"multi_match": {"query": "政府 信息", "type": "phrase", "fields": ALL_FIELDS}}
    assert ALL_FIELDS[0] == "title"
    assert ALL_FIELDS[1:] == [es_mapping.section_field(k) for k in SECTION_KEYS]


def test_booleans_become_must_should_must_not():
    q = es_query.text_query(parse_q("复议 (诉讼 OR 申请) -收费"), "title")
    phrase = lambda t: {"match_phrase": {"title": {"query": t}}}  # noqa: E731
    assert q == {
        "bool": {
            "must": [phrase("复议"), {"bool": {"should": [phrase("诉讼"), phrase("申请")], "minimum_should_match": 1}}],
            "must_not": [phrase("收费")],
        }
    }


def test_unknown_scope_is_a_query_error():
    with pytest.raises(QueryError):
        es_query.text_query(parse_q("复议"), "nowhere")


_WORDS = ["复议", "诉讼", "公开", "申请", "收费", "12件", "复", "a复b", '"政府 信息"']


@st.composite
def _query_strings(draw: st.DrawFn) -> str:
    def expr(depth: int) -> str:
        if depth == 0 or draw(st.booleans()):
            return draw(st.sampled_from(_WORDS))
        op = draw(st.sampled_from(["and", "or", "not"]))
        left, right = expr(depth - 1), expr(depth - 1)
        if op == "and":
            return f"({left} {right})"
        if op == "or":
            return f"({left} OR {right})"
        return f"({left} -{right})"

    return expr(3)


_TEXTS = st.text(st.sampled_from(list("复议诉讼公开申请收费政府信息件12ab、 ")), max_size=30)


@settings(max_examples=300, deadline=None)
@given(_query_strings(), _TEXTS)
def test_translated_boolean_tree_selects_what_the_reference_selects(q, text):
    tree = parse_q(q)
    dsl = es_query.text_query(tree, "problems")
    assert evaluate(dsl, {"sections_text.problems": text}) is matches(tree, text)
    assert "query_string" not in _walk_keys(dsl) and "simple_query_string" not in _walk_keys(dsl)


def test_unscoped_terms_may_match_in_different_fields():
    tree = parse_q("复议 诉讼 -收费")
    dsl = es_query.text_query(tree)
    assert evaluate(dsl, {"title": "行政复议", "sections_text.review": "行政诉讼"})
    assert not evaluate(dsl, {"title": "行政复议", "sections_text.review": "行政诉讼", "sections_text.other": "收费"})


# -- filters, facets, buckets -------------------------------------------------------------------------


def _query(**kw: Any):
    return build_search(**kw)


FILTERED = dict(
    q="复议",
    filters={"province": ["河南省"], "year": ["2023", "2024"], "agency_type": ["部门"], "removed": ["false"]},
    year_from=2020,
    metric=["applications.new.total >= 10"],
    metric_facets=["applications.new.total"],
)


def test_conditions_in_filter_context_and_facet_filters_in_post_filter():
    query = _query(**FILTERED)
    body = es_query.search_body(query)
    assert body["query"]["bool"]["filter"] == [{"range": {"metrics.applications.new.total": {"gte": 10.0}}}]
    assert "filter" not in body["query"]["bool"]["must"][0].get("bool", {})
    post = body["post_filter"]["bool"]["filter"]
    assert {"terms": {"region.province": ["河南省"]}} in post
    assert {"terms": {"year": [2023, 2024]}} in post  # typed for the integer field
    assert {"terms": {"removed": [False]}} in post
    assert {"range": {"year": {"gte": 2020}}} in post


def test_each_facet_counts_under_every_filter_but_its_own():
    query = _query(**FILTERED)
    aggs = es_query.search_body(query)["aggs"]
    for name in query.facets:
        # Independent expectation: the post_filter of the same query without this facet's filter.
        without = es_query.search_body(query.without_filter(name)).get("post_filter", {"match_all": {}})
        agg = aggs[f"facet:{name}"]
        assert agg["filter"] == without, name
        terms = agg["aggs"]["values"]["terms"]
        assert terms["field"] == FACET_FIELDS[name]
        assert terms["order"] == [{"_count": "desc"}, {"_key": "asc"}]
    assert "range" not in json.dumps(aggs["facet:year"]["filter"])  # the year range is the year facet's own


def test_metric_bucket_facet_is_a_range_agg_of_the_default_buckets_under_all_filters():
    query = _query(**FILTERED)
    body = es_query.search_body(query)
    agg = body["aggs"]["metric:applications.new.total"]
    assert agg["filter"] == body["post_filter"]
    ranges = agg["aggs"]["buckets"]["range"]["ranges"]
    assert [r["key"] for r in ranges] == [b.label for b in DEFAULT_BUCKETS]
    for r, b in zip(ranges, DEFAULT_BUCKETS, strict=True):
        assert r.get("from") == b.low and r.get("to") == b.high


def test_filter_values_the_field_cannot_hold_match_nothing():
    clause = es_query.filter_clause("year", ("not-a-year",))
    assert not evaluate(clause, {"year": 2023})
    assert evaluate(es_query.filter_clause("year", ("2023", "x")), {"year": 2023})


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [(">=", 10, [10, 11]), (">", 10, [11]), ("<=", 10, [0, 10]), ("<", 10, [0]), ("=", 10, [10]), ("!=", 10, [0, 11])],
)
def test_metric_conditions_and_unknown_numbers(op, value, expected):
    (cond,) = _query(metric=[f"applications.new.total {op} {value}"]).conditions
    clause = es_query.condition_clause(cond)
    docs = {v: {"metrics.applications.new.total": v} for v in (0, 10, 11)}
    assert [v for v, d in docs.items() if evaluate(clause, d)] == expected
    assert not evaluate(clause, {})  # a report without the number satisfies no condition
    assert [v for v in docs if cond.test(v)] == expected  # the reference agrees


def test_parse_facets_orders_by_count_then_value_drops_empty_and_keeps_selected():
    query = _query(filters={"county": ["鲁山县", "郏县"]}, facets=["county", "year"])
    aggregations = {
        "facet:county": {
            "values": {
                "buckets": [
                    {"key": "", "doc_count": 9},
                    {"key": "宝丰县", "doc_count": 3},
                    {"key": "叶县", "doc_count": 3},
                    {"key": "鲁山县", "doc_count": 5},
                ]
            },
            "selected": {"buckets": {"鲁山县": {"doc_count": 5}, "郏县": {"doc_count": 0}}},
        },
        "facet:year": {"values": {"buckets": [{"key": 2023, "doc_count": 2}, {"key": 2021, "doc_count": 2}]}},
    }
    county, year = es_query.parse_facets(query, aggregations)
    expected = sorted([("宝丰县", 3), ("叶县", 3), ("鲁山县", 5)], key=lambda vc: (-vc[1], vc[0]))
    assert [(v.value, v.count) for v in county.values[:3]] == expected
    assert [(v.value, v.count, v.selected) for v in county.values[3:]] == [("郏县", 0, True)]
    assert [v.selected for v in county.values[:3]] == [v == "鲁山县" for v, _ in expected]
    assert [(v.value, v.count) for v in year.values] == [("2021", 2), ("2023", 2)]


# -- sorting and paging ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "first"),
    [
        ("relevance", {"_score": {"order": "desc"}}),
        ("year", {"year": {"order": "asc", "missing": "_last"}}),
        ("-published", {"published": {"order": "desc", "missing": "_last"}}),
        ("-metric:active.fees.amount_wan", {"metrics.active.fees.amount_wan": {"order": "desc", "missing": "_last"}}),
    ],
)
def test_sort_has_missing_last_and_an_id_tiebreaker(sort, first):
    assert es_query.sort_clause(sort) == [first, {"id": {"order": "asc"}}]


def _response(hits: list[dict[str, Any]], total: int) -> dict[str, Any]:
    return {"took": 3, "hits": {"total": {"value": total}, "hits": hits}, "aggregations": {}}


def _raw_hit(i: int, sort: list[Any]) -> dict[str, Any]:
    source = {
        "id": f"r{i}",
        "title": f"第{i}号 行政复议",
        "agency": {"name": "甲"},
        "region": {"county": "鲁山县"},
        "year": 2020 + i,
        "published": None,
        "check_status": "ok",
        "removed": False,
        "metrics": {"applications.new.total": i},
        "sections": [{"key": "review", "title": "", "text": "本年度行政复议0件"}],
    }
    return {"_id": f"r{i}", "_score": 1.5, "_source": source, "sort": sort}


def test_search_after_pages_with_the_last_hits_sort_values():
    query = _query(q="复议", size=2, sort="-year", facets=[], metric=["applications.new.total >= 0"])
    body = es_query.search_body(query)
    assert body["size"] == 3  # one extra to know whether there is a next page
    result = es_query.parse_search(query, _response([_raw_hit(i, [2030 - i, f"r{i}"]) for i in range(3)], 7))
    assert [h.id for h in result.hits] == ["r0", "r1"]
    assert result.total == 7
    assert result.hits[0].score is None  # not ranked by relevance
    assert result.hits[1].metrics == {"applications.new.total": 1}
    assert decode_cursor(result.next_cursor) == ["-year", 2029, "r1"]
    following = _query(q="复议", size=2, sort="-year", facets=[], cursor=result.next_cursor)
    assert es_query.search_body(following)["search_after"] == [2029, "r1"]


def test_last_page_has_no_cursor_and_a_foreign_cursor_is_refused():
    query = _query(q="复议", size=5, facets=[])
    result = es_query.parse_search(query, _response([_raw_hit(1, [1.5, "r1"])], 1))
    assert result.next_cursor is None
    assert result.hits[0].score == 1.5
    year_cursor = es_query.cursor_of(_query(sort="year"), [2024, "r1"])
    with pytest.raises(QueryError):
        es_query.search_body(_query(q="复议", cursor=year_cursor))


def test_fragments_are_marked_per_section_from_the_stored_text():
    query = _query(q="复议", facets=[])
    body = es_query.search_body(query)
    assert "sections" in body["_source"]["includes"]
    (hit,) = es_query.parse_search(query, _response([_raw_hit(1, [1.0, "r1"])], 1)).hits
    assert [(f.section, f.text) for f in hit.fragments] == [
        ("title", "第1号 行政<mark>复议</mark>"),
        ("review", "本年度行政<mark>复议</mark>0件"),
    ]
    no_hl = _query(q="复议", facets=[], highlight=False)
    assert "sections" not in es_query.search_body(no_hl)["_source"]["includes"]


# -- aggregations -------------------------------------------------------------------------------------


def test_aggregation_body_groups_with_composite_and_stats_under_all_filters():
    search = _query(q="复议", filters={"province": ["河南省"]}, metric=["applications.new.total > 0"])
    agg = build_aggregation(search, ["applications.new.total"], ["sum", "avg"], ["year", "county"])
    body = es_query.aggregation_body(agg)
    assert body["size"] == 0
    assert {"terms": {"region.province": ["河南省"]}} in body["query"]["bool"]["filter"]  # no facets to lift it
    composite = body["aggs"]["groups"]["composite"]
    assert [next(iter(s)) for s in composite["sources"]] == ["year", "county"]
    assert composite["sources"][1]["county"]["terms"] == {"field": "region.county", "missing_bucket": True}
    stats = body["aggs"]["groups"]["aggs"]["stats:applications.new.total"]
    assert stats == {"stats": {"field": "metrics.applications.new.total"}}
    assert es_query.aggregation_body(agg, after={"year": 2023, "county": "x"})["aggs"]["groups"]["composite"][
        "after"
    ] == {"year": 2023, "county": "x"}


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "sum": 0.0, "min": None, "max": None, "avg": None}
    return {"count": len(values), "sum": sum(values), "min": min(values), "max": max(values)}


def test_aggregation_rows_merge_empty_and_missing_groups_and_sort_like_sqlite():
    search = _query()
    agg = build_aggregation(search, ["applications.new.total"], ["sum", "avg", "min", "max", "count"], ["county"])
    data = {"鲁山县": [[3, 4], 1], "": [[5], 2], None: [[], 1], "叶县": [[1], 1]}  # county → (values, no-value docs)
    buckets = [
        {"key": {"county": k}, "doc_count": len(v) + extra, "stats:applications.new.total": _stats(v)}
        for k, (v, extra) in data.items()
    ]
    collector = es_query.AggregationCollector(agg)
    assert (
        collector.add_page({"aggregations": {"groups": {"buckets": buckets, "after_key": {"county": "鲁山县"}}}})
        is None
    )
    rows = collector.rows()

    def row(county: str | None, values: list[float], count: int) -> AggregationRow:
        present = bool(values)
        return AggregationRow(
            {"county": county},
            count,
            {
                "sum:applications.new.total": float(sum(values)) if present else None,
                "avg:applications.new.total": sum(values) / len(values) if present else None,
                "min:applications.new.total": float(min(values)) if present else None,
                "max:applications.new.total": float(max(values)) if present else None,
                "count:applications.new.total": float(len(values)),
            },
        )

    merged: dict[str | None, tuple[list[float], int]] = {}
    for county, (values, extra) in data.items():
        key = county or None  # "" and a missing value are one group, as in the embedded store
        old_values, old_count = merged.get(key, ([], 0))
        merged[key] = (old_values + values, old_count + len(values) + extra)
    order = sorted(merged, key=lambda c: (c is None, c or ""))
    assert rows == [row(c, *merged[c]) for c in order]


def test_aggregation_without_grouping_is_one_row():
    agg = build_aggregation(_query(), ["applications.new.total"], ["sum"], [])
    body = es_query.aggregation_body(agg)
    assert "groups" not in body["aggs"] and body["track_total_hits"] is True
    collector = es_query.AggregationCollector(agg)
    collector.add_page(
        {"hits": {"total": {"value": 4}}, "aggregations": {"stats:applications.new.total": _stats([2, 5])}}
    )
    assert collector.rows() == [AggregationRow({}, 4, {"sum:applications.new.total": 7.0})]


# -- agencies -----------------------------------------------------------------------------------------


def test_agency_name_search_escapes_wildcards():
    body = es_query.agencies_body("a*b?", 10)
    clauses = body["query"]["bool"]["should"]
    assert clauses[0] == {"wildcard": {"agency.name": {"value": "*a\\*b\\?*", "case_insensitive": True}}}
    assert es_query.agencies_body("", 10)["query"] == {"match_all": {}}
