"""The insights API and pages on a real SqliteStore refreshed by the insights stage.

Expected answers come from the generator's truth (metrics, agencies, years) and plain Python.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest
from test_service_data import make_settings

from demo.generator import generate_corpus, make_report
from demo.universe import general_office, government
from indexer.document import ReportDocument
from insights import refresh
from service.app import create_app
from store import analysis
from store.query import RATIO_BUCKETS
from store.sqlite_store import SqliteStore

N_AGENCIES = 24
GOV = government("河南省", "平顶山市", "鲁山县")
OFFICE = general_office("河南省", "平顶山市", "鲁山县")  # publishes the government's report from 2025 on


def _corpus() -> tuple[list[ReportDocument], list[ReportDocument]]:
    """(indexed documents, dropped documents: the reports that are 'missing')."""
    docs = [r.to_document(f"https://gov.example/{i}") for i, r in enumerate(generate_corpus(7 * N_AGENCIES))]
    agencies = sorted(
        {d.agency.id for d in docs}, key=lambda a: next(i for i, d in enumerate(docs) if d.agency.id == a)
    )
    dropped_agencies = {agencies[0], agencies[2], agencies[5]}  # 0 is a provincial government (31 March)
    dropped = [d for d in docs if d.agency.id in dropped_agencies and d.year == 2025]
    kept = [d for d in docs if d not in dropped]
    renamed = [make_report(GOV, y).to_document(f"https://luoshan.example/{y}") for y in (2022, 2023, 2024)]
    renamed.append(make_report(OFFICE, 2025).to_document("https://luoshan.example/2025"))
    return kept + renamed, dropped


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory):
    docs, dropped = _corpus()
    tmp = tmp_path_factory.mktemp("insights-api")
    store = SqliteStore(tmp / "index.sqlite3")
    store.index(docs)
    refresh(store)
    app = create_app(make_settings(tmp, rate_limit_per_minute=0), store=store)
    yield app.test_client(), docs, dropped, store
    store.close()


# -- timeline ---------------------------------------------------------------------------------------


def test_timeline_links_the_renamed_publisher_and_gives_changes(data):
    client, docs, _, _ = data
    office = next(d for d in docs if d.agency.normalized_name == OFFICE.normalized_name)
    gov = {d.year: d for d in docs if d.agency.normalized_name == GOV.normalized_name}
    body = client.get(f"/api/v1/agencies/{office.agency.id}/timeline").get_json()
    years = {y["year"]: y for y in body["years"]}
    assert sorted(years) == [2022, 2023, 2024, 2025]
    assert {a["id"] for a in body["agencies"]} == {office.agency.id, gov[2022].agency.id}
    key = "applications.new.total"
    assert years[2025]["values"][key] == office.metrics[key]
    assert years[2025]["changes"][key]["abs"] == office.metrics[key] - gov[2024].metrics[key]
    assert years[2022]["changes"][key]["abs"] is None
    before = gov[2023].metrics["outcomes.disclosed.total"]
    if before:
        want = (gov[2024].metrics["outcomes.disclosed.total"] - before) / before
        assert years[2024]["changes"]["outcomes.disclosed.total"]["rel"] == pytest.approx(want, abs=1e-6)
    # the same timeline from the old name's id
    same = client.get(f"/api/v1/agencies/{gov[2022].agency.id}/timeline").get_json()
    assert [y["report_id"] for y in same["years"]] == [y["report_id"] for y in body["years"]]


def test_timeline_of_an_unknown_agency_is_404(data):
    client = data[0]
    resp = client.get("/api/v1/agencies/nope/timeline")
    assert resp.status_code == 404 and "nope" in resp.get_json()["error"]["reason"]


def test_agency_page_shows_the_changes(data):
    client, docs, _, _ = data
    office = next(d for d in docs if d.agency.normalized_name == OFFICE.normalized_name)
    page = client.get(f"/agencies/{office.agency.id}").get_data(as_text=True)
    assert 'id="timeline"' in page and "同比变化" in page and 'data-year="2024"' in page


# -- rankings ----------------------------------------------------------------------------------------


def test_top_and_bottom_by_a_metric(data):
    client, docs, _, _ = data
    key = "applications.new.total"
    values = sorted((d.metrics[key] for d in docs if d.year == 2024), reverse=True)
    top = client.get("/api/v1/rankings", query_string={"metric": key, "year": 2024, "limit": 5}).get_json()
    assert [r["value"] for r in top["rows"]] == values[:5]
    assert top["total"] == len(values) and [r["rank"] for r in top["rows"]] == [1, 2, 3, 4, 5]
    bottom = client.get("/api/v1/rankings", query_string={"metric": key, "year": 2024, "order": "asc", "limit": 3})
    assert [r["value"] for r in bottom.get_json()["rows"]] == sorted(values)[:3]


def test_share_of_disclosed_with_its_denominator(data):
    client, docs, _, _ = data
    province = docs[0].region.province
    want = sorted(
        (
            (d.metrics["outcomes.disclosed.total"] / d.metrics["outcomes.total.total"], d.id)
            for d in docs
            if d.year == 2023 and d.region.province == province and d.metrics["outcomes.total.total"] >= 3
        ),
        key=lambda vi: (-vi[0], vi[1]),
    )
    args = {"metric": "disclosed_share", "year": 2023, "province": province, "min_denominator": 3, "limit": 100}
    body = client.get("/api/v1/rankings", query_string=args).get_json()
    assert body["denominator"] == "outcomes.total.total" and body["total"] == len(want)
    assert [(pytest.approx(r["value"], abs=1e-6), r["report_id"]) for r in body["rows"]] == want
    by_id = {d.id: d for d in docs}
    for r in body["rows"]:
        assert r["denominator"] == by_id[r["report_id"]].metrics["outcomes.total.total"]
        assert r["numerator"] == by_id[r["report_id"]].metrics["outcomes.disclosed.total"]


def test_rankings_errors_are_400(data):
    client = data[0]
    for args in (
        {"metric": "bogus"},
        {"metric": "disclosed_share", "per": "review.total"},
        {},
        {"metric": "review.total", "per": "x"},
    ):
        resp = client.get("/api/v1/rankings", query_string=args)
        assert resp.status_code == 400, args
        assert resp.get_json()["error"]["reason"]


# -- missing reports ---------------------------------------------------------------------------------


def _expected_missing(dropped: list[ReportDocument], today: str) -> set[str]:
    out = set()
    for d in dropped:
        provincial = d.agency.level == "省" and d.agency.type in ("人民政府", "办公厅")
        due = "2026-03-31" if provincial else "2026-01-31"
        if today > due:
            out.add(d.agency.id)
    return out


@pytest.mark.parametrize("today", ["2026-01-15", "2026-02-15", "2026-04-01"])
def test_missing_reports_after_the_deadline(data, today):
    client, _, dropped, _ = data
    assert any(d.agency.level == "省" and d.agency.type == "人民政府" for d in dropped)  # both deadlines tested
    body = client.get("/api/v1/missing", query_string={"year": 2025, "today": today}).get_json()
    got = {a["agency_id"] for g in body["groups"] for a in g["agencies"]}
    assert got == _expected_missing(dropped, today)  # the renamed 鲁山县人民政府 is not missing
    assert body["missing"] == len(got)
    for g in body["groups"]:
        for a in g["agencies"]:
            assert a["last_year"] == 2024 and 2025 not in a["years"]


def test_missing_needs_a_year(data):
    resp = data[0].get("/api/v1/missing")
    assert resp.status_code == 400 and "year" in resp.get_json()["error"]["fields"]


# -- batch search -------------------------------------------------------------------------------------


def _read(resp) -> list[dict[str, str]]:
    raw = resp.get_data()
    assert raw.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def _brute(docs: list[ReportDocument], term: str) -> Counter:
    counts: Counter = Counter()
    for d in docs:
        fields = [d.title] + [s.text for s in d.sections]
        if any(analysis.contains(f, term) for f in fields):
            counts[(d.region.province, d.region.city, d.region.county, str(d.year))] += 1
    return counts


@pytest.mark.parametrize("kind", ["text", "csv", "upload", "json"])
def test_batch_search_counts_by_county_and_year(data, kind):
    client, docs, _, _ = data
    queries = ["依申请公开", "行政复议", "没有这个词组合"]
    if kind == "text":
        resp = client.post("/api/v1/batch-search", data="\n".join(queries) + "\n", content_type="text/plain")
    elif kind == "csv":
        resp = client.post("/api/v1/batch-search", data="query\n" + "\n".join(queries), content_type="text/csv")
    elif kind == "upload":
        payload = {"file": (io.BytesIO(("\n".join(queries)).encode("utf-8-sig")), "q.txt")}
        resp = client.post("/api/v1/batch-search", data=payload, content_type="multipart/form-data")
    else:
        resp = client.post("/api/v1/batch-search", json={"queries": queries})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"].startswith("text/csv")
    rows = _read(resp)
    for q in queries:
        got = Counter(
            {(r["province"], r["city"], r["county"], r["year"]): int(r["hits"]) for r in rows if r["query"] == q}
        )
        want = _brute(docs, q)
        if not want:
            assert [r["hits"] for r in rows if r["query"] == q] == ["0"]
        else:
            assert got == want, q


def test_batch_search_errors_are_clear(data):
    client = data[0]
    resp = client.post("/api/v1/batch-search", data='依申请公开\n"unterminated\n', content_type="text/plain")
    assert resp.status_code == 400 and "line 2" in resp.get_json()["error"]["reason"]
    assert client.post("/api/v1/batch-search", data="\n\n", content_type="text/plain").status_code == 400
    assert client.post("/api/v1/batch-search", data=b"\xff\xfe", content_type="text/plain").status_code == 400
    assert client.post("/api/v1/batch-search", json={"queries": "x", "y": 1}).status_code == 400
    assert client.get("/api/v1/batch-search").status_code == 405


def test_search_page_links_to_rankings_and_missing(data):
    page = data[0].get("/", query_string={"year": "2024"}).get_data(as_text=True)
    # HTML pages (their JSON stays under /api/v1), for the search's year.
    assert 'id="rankings" href="/rankings?year=2024"' in page and 'id="missing" href="/missing?year=2024"' in page


def test_openapi_lists_the_new_operations(data):
    paths = data[0].get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/rankings",
        "/api/v1/missing",
        "/api/v1/batch-search",
        "/api/v1/agencies/{agency_id}/timeline",
    ):
        assert path in paths


def test_refresh_after_reindex_in_a_fresh_store_gives_the_same_answers(data, tmp_path: Path):
    _, docs, _, store = data
    with closing(SqliteStore(tmp_path / "again.sqlite3")) as other:
        other.index(reversed(docs))
        refresh(other)
        for d in docs[:50]:
            assert other.get(d.id).to_dict() == store.get(d.id).to_dict()


def test_search_page_buckets_the_copied_ratio(data):
    client, _, _, store = data
    ratios = [v for d in store.iter_documents() if (v := d.metrics.get("copied.peers_ratio")) is not None]
    page = client.get("/", query_string={"metric_facets": "copied.peers_ratio"}).get_data(as_text=True)
    for b in RATIO_BUCKETS:
        count = sum(1 for v in ratios if v >= b.low and (b.high is None or v < b.high))
        assert (f'data-value="{b.label}"' in page) == (count > 0), b.label
    assert "copied.peers_ratio%3E%3D0.5" in page  # a bucket links to its metric conditions
    resp = client.get("/api/v1/search", query_string={"metric": "copied.peers_ratio>=0.5", "size": 1})
    assert resp.get_json()["total"] == sum(1 for v in ratios if v >= 0.5)


def test_report_page_names_the_copied_reports_and_shows_the_changes(data):
    client, docs, _, store = data
    doc = next(
        d for d in (store.get(x.id) for x in docs) if d.analysis.copied_peer_id and d.analysis.copied_previous_id
    )
    page = client.get(f"/reports/{doc.id}").get_data(as_text=True)
    assert 'id="copied"' in page and f"/reports/{doc.analysis.copied_peer_id}" in page
    assert f"{round(doc.metrics['copied.peers_ratio'] * 100, 1):g}%" in page
    assert 'id="table-analysis"' in page and 'data-metric="yoy.applications.new.total.abs"' in page
    api = client.get(f"/api/v1/reports/{doc.id}").get_json()
    assert api["analysis"]["copied_peer_id"] == doc.analysis.copied_peer_id
    assert any(t["key"] == "analysis" for t in api["tables"])
