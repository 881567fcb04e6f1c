"""Hostile and odd input against the API over a real SqliteStore: deep nesting, formula cells in CSV, bad
filter values, 401 headers, feed links. Every answer is a clear 4xx or a correct 200, never a 500."""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import json

import pytest
from test_service_data import build_documents, make_settings, make_store

from service import state
from service.app import create_app
from store.query import MAX_NESTING

HOSTILE_TITLE = '=HYPERLINK("http://evil.example","年报")'
HOSTILE_AGENCY = "@SUM(1+1)*cmd|' /C calc'!A0"
NEGATIVE_METRIC = "yoy.applications.new.total.abs"


@pytest.fixture(scope="module")
def docs():
    docs = build_documents()
    first = docs[0]
    hostile = dataclasses.replace(
        first,
        id=first.id + "-hostile",
        title=HOSTILE_TITLE,
        agency=dataclasses.replace(first.agency, name=HOSTILE_AGENCY, normalized_name=HOSTILE_AGENCY),
        metrics={**first.metrics, NEGATIVE_METRIC: -3},
    )
    return [*docs, hostile]


@pytest.fixture(scope="module")
def client(docs, tmp_path_factory):
    store = make_store(tmp_path_factory.mktemp("index") / "index.sqlite3", docs)
    settings = make_settings(
        tmp_path_factory.mktemp("svc"),
        admin_token="s3cret",
        rate_limit_per_minute=0,
        public_url="https://nianbao.example.org/",
    )
    app = create_app(settings, store=store)
    yield app.test_client()
    state.close(app)


def _cursor_of(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


DEEP_Q = "(" * 245 + "依申请公开" + ")" * 245
DEEP_CURSOR = _cursor_of("[" * 1490)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/search", {"q": DEEP_Q}),
        ("/api/v1/search", {"cursor": DEEP_CURSOR}),
        ("/api/v1/stats", {"q": DEEP_Q, "metrics": "applications.new.total"}),
        ("/api/v1/feed.atom", {"q": DEEP_Q}),
        ("/", {"q": DEEP_Q}),
        ("/", {"cursor": DEEP_CURSOR}),
    ],
)
def test_deep_nesting_is_a_clear_400(client, path, params):
    resp = client.get(path, query_string=params)
    assert resp.status_code == 400, resp.data[:300]
    if path.startswith("/api/"):  # the page says it in Chinese
        reason = resp.get_data(as_text=True)
        assert "nested deeper" in reason or "cursor" in reason


def test_nesting_up_to_the_cap_still_searches(client, docs):
    q = "(" * MAX_NESTING + "依申请公开" + ")" * MAX_NESTING
    plain = client.get("/api/v1/search", query_string={"q": "依申请公开"}).get_json()
    nested = client.get("/api/v1/search", query_string={"q": q}).get_json()
    assert nested["total"] == plain["total"] > 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (DEEP_Q, "text/plain"),
        ("[" * 5000 + "]" * 5000, "application/json"),
        (json.dumps({"queries": [DEEP_Q]}), "application/json"),
    ],
)
def test_deeply_nested_batch_search_body_is_a_clear_400(client, body, content_type):
    resp = client.post("/api/v1/batch-search", data=body.encode(), content_type=content_type)
    assert resp.status_code == 400, resp.data[:300]
    assert resp.get_json()["error"]["reason"]


def _csv(resp) -> list[list[str]]:
    assert resp.status_code == 200, resp.data[:300]
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))


def test_search_export_neutralises_formulas_but_keeps_negative_numbers(client):
    rows = _csv(client.get("/api/v1/search", query_string={"format": "csv", "columns": NEGATIVE_METRIC}))
    header, body = rows[0], rows[1:]
    hostile = next(r for r in body if r[0].endswith("-hostile"))
    assert hostile[header.index("标题")] == "'" + HOSTILE_TITLE
    assert hostile[header.index("机关")] == "'" + HOSTILE_AGENCY
    metric_col = next(i for i, h in enumerate(header) if NEGATIVE_METRIC in h)
    assert hostile[metric_col] == "-3"  # a number stays a number
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), row


def test_stats_export_neutralises_formula_group_names(client):
    rows = _csv(
        client.get(
            "/api/v1/stats",
            query_string={"metrics": "applications.new.total", "group_by": "agency", "format": "csv"},
        )
    )
    cells = [c for r in rows for c in r]
    assert "'" + HOSTILE_AGENCY in cells
    assert not any(c.startswith(("=", "@")) for c in cells)


def test_batch_search_export_neutralises_formula_queries(client):
    rows = _csv(
        client.post("/api/v1/batch-search", data="-诉讼 依申请公开\n@依申请公开\n".encode(), content_type="text/plain")
    )
    queries = {r[0] for r in rows[1:]}
    assert queries == {"'-诉讼 依申请公开", "'@依申请公开"}


@pytest.mark.parametrize(("name", "value"), [("year", "abc"), ("year", "2024x"), ("removed", "maybe")])
def test_malformed_filter_value_is_a_400(client, name, value):
    resp = client.get("/api/v1/search", query_string={name: value})
    assert resp.status_code == 400
    assert name in resp.get_json()["error"]["fields"]


def test_year_filter_still_filters(client, docs):
    body = client.get("/api/v1/search", query_string={"year": "2024", "size": 100}).get_json()
    assert body["total"] == sum(1 for d in docs if d.year == 2024) > 0


def test_tiny_min_denominator_is_understood(client):
    params = {"metric": "disclosed_share", "limit": 100}
    tiny = client.get("/api/v1/rankings", query_string={**params, "min_denominator": "0.00001"})
    assert tiny.status_code == 200, tiny.data[:300]
    one = client.get("/api/v1/rankings", query_string={**params, "min_denominator": "1"}).get_json()
    # Denominators are counts, so "at least 0.00001" and "at least 1" select the same reports.
    assert [r["report_id"] for r in tiny.get_json()["rows"]] == [r["report_id"] for r in one["rows"]]
    assert one["rows"]
    assert tiny.get_json()["min_denominator"] == pytest.approx(0.00001)


def test_401_names_the_scheme_in_www_authenticate(client):
    resp = client.post("/api/v1/admin/reindex")
    assert resp.status_code == 401
    assert ("WWW-Authenticate", "Bearer") in list(resp.headers.items())


def test_feed_links_use_the_configured_public_url_not_the_host_header(client):
    resp = client.get("/api/v1/feed.atom", headers={"Host": "evil.example"})
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert "https://nianbao.example.org/reports/" in text
    assert "evil.example" not in text


@pytest.fixture()
def admin(docs, tmp_path):
    """A client whose sources file holds one source (the admin endpoint appends to it)."""
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nid = "lushan"\nname = "鲁山县"\nstart_urls = ["http://127.0.0.1:9/ls/"]\n', "utf-8")
    store = make_store(tmp_path / "index.sqlite3", docs[:3])
    settings = make_settings(
        tmp_path, admin_token="s3cret", rate_limit_per_minute=0, sources_file=sources, crawl_allow_loopback=True
    )
    app = create_app(settings, store=store)
    yield app.test_client(), sources
    state.close(app)


AUTH = {"Authorization": "Bearer s3cret"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"schedule": "99 99 99 99 99"}, "schedule"),
        ({"schedule": "0 3 * *"}, "schedule"),
        ({"name": "鲁山\ud800县"}, "name"),
        ({"region": "\udfff"}, "region"),
    ],
)
def test_admin_source_the_scheduler_cannot_use_is_a_400_and_changes_nothing(admin, change, field):
    client, sources = admin
    before = sources.read_bytes()
    new = {"id": "jiaxian", "name": "郏县", "start_urls": ["http://127.0.0.1:9/jx/"], **change}
    body = json.dumps(new, ensure_ascii=True)  # "\ud800" travels as JSON escapes
    resp = client.post("/api/v1/admin/sources", data=body, content_type="application/json", headers=AUTH)
    assert resp.status_code == 400, resp.data[:300]
    error = resp.get_json()["error"]
    assert field in error["reason"] or field in error.get("fields", {})
    assert sources.read_bytes() == before


def test_admin_source_with_a_valid_schedule_is_added(admin):
    from crawler.scheduler import JOB_PREFIX, build_scheduler

    client, sources = admin
    new = {"id": "jiaxian", "name": "郏县", "start_urls": ["http://127.0.0.1:9/jx/"], "schedule": "15 2 * * 7"}
    assert client.post("/api/v1/admin/sources", json=new, headers=AUTH).status_code == 201
    scheduler = build_scheduler(make_settings(sources.parent, sources_file=sources, crawl_allow_loopback=True))
    try:
        assert sorted(j.id for j in scheduler.get_jobs()) == [JOB_PREFIX + "jiaxian", JOB_PREFIX + "lushan"]
    finally:
        scheduler.shutdown(wait=False)
