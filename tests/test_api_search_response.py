"""The search endpoint answers with a dict it builds itself (no marshmallow dump per request, a sixth of its
CPU): hold that answer to the documented SearchResultSchema on real crawled reports."""

from __future__ import annotations

import json

import pytest

from service.app import create_app
from service.schemas import SearchResultSchema

QUERIES = [
    {"q": "依申请公开"},
    {"q": ""},
    {"q": "依申请公开", "columns": "applications.new.total,review.total", "size": "50"},
    {"q": "", "sort": "-metric:applications.new.total", "metric_facets": "applications.new.total"},
    {"q": "复议", "section": "review"},
    {"q": "公开", "year_from": "2020", "size": "3"},
]


@pytest.fixture(scope="module")
def client(demo_data):
    return create_app(demo_data).test_client()


def _canonical(value: object) -> str:
    """JSON text that tells 3 from 3.0 and ignores key order."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@pytest.mark.parametrize("params", QUERIES, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()))
def test_the_search_answer_is_what_its_schema_dumps(client, params):
    resp = client.get("/api/v1/search", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["hits"], "the query should match demo reports"
    schema = SearchResultSchema()
    assert schema.validate(body) == {}  # every required field there, nothing undocumented
    assert _canonical(schema.dump(body)) == _canonical(body)  # types as the schema writes them (3.0, not 3)
    metrics = [v for hit in body["hits"] for v in hit["metrics"].values() if v is not None]
    assert all(isinstance(v, float) for v in metrics)


def _join_by_every_length(first: str, second: str, min_overlap: int) -> str | None:
    for n in range(min(len(first), len(second)) - 1, min_overlap - 1, -1):
        if first.endswith(second[:n]):
            return first + second[n:]
    return None


def test_fragments_join_at_their_longest_overlap():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from service.present import _join

    text = st.text(alphabet="依申请公", max_size=16)  # few letters: overlaps of every length happen

    @settings(max_examples=1000, deadline=None)
    @given(text, text, st.integers(1, 6))
    def same(first: str, second: str, min_overlap: int) -> None:
        assert _join(first, second, min_overlap) == _join_by_every_length(first, second, min_overlap)

    same()
    assert _join("一二三四五六七八", "五六七八九十", 3) == "一二三四五六七八九十"
