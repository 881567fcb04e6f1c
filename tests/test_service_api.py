"""The JSON API against a real SqliteStore: expected values are computed from the documents in Python."""

from __future__ import annotations

import csv
import dataclasses
import io
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict

import pytest
from test_service_data import build_documents, client_over_one_report_without_totals, make_settings, make_store

from crawler.sources import load_sources
from indexer import catalogue
from indexer.document import SECTION_NAMES, ReportDocument
from service import state
from service.app import create_app
from store import analysis

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def docs() -> list[ReportDocument]:
    return build_documents()


@pytest.fixture(scope="module")
def store(docs, tmp_path_factory):
    st = make_store(tmp_path_factory.mktemp("index") / "index.sqlite3", docs)
    yield st
    st.close()


@pytest.fixture(scope="module")
def app(store, tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("svc"), admin_token="s3cret", rate_limit_per_minute=0)
    return create_app(settings, store=store)


@pytest.fixture()
def client(app):
    return app.test_client()


# -- the oracle ----------------------------------------------------------------------------------


def has_phrase(doc: ReportDocument, phrase: str) -> bool:
    return analysis.contains(doc.title, phrase) or any(analysis.contains(s.text, phrase) for s in doc.sections)


def ids(docs) -> set[str]:
    return {d.id for d in docs}


def all_hits(client, params: dict) -> list[dict]:
    """Follow next_cursor through every page."""
    hits, cursor = [], None
    for _ in range(100):
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        body = client.get("/api/v1/search", query_string=query).get_json()
        hits.extend(body["hits"])
        cursor = body["next_cursor"]
        if not cursor:
            return hits
    raise AssertionError("paging did not end")


# -- search ----------------------------------------------------------------------------------------


def test_phrase_search_counts_and_highlights(client, docs):
    expected = [d for d in docs if has_phrase(d, "依申请公开")]
    assert 0 < len(expected) < len(docs)  # the data set must discriminate
    resp = client.get("/api/v1/search", query_string={"q": "依申请公开", "size": 100})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["total"] == len(expected)
    assert {h["id"] for h in body["hits"]} == ids(expected)
    for hit in body["hits"]:
        assert hit["fragments"], hit["id"]
        for frag in hit["fragments"]:
            assert "<mark>依申请公开</mark>" in frag["text"]
            expected_name = "标题" if frag["section"] == "title" else SECTION_NAMES[frag["section"]]
            assert frag["section_name"] == expected_name
        assert hit["url"] == f"/api/v1/reports/{hit['id']}"


def test_filters_year_range_and_metric_condition(client, docs):
    expected = [
        d
        for d in docs
        if d.region.city == "平顶山市"
        and d.agency.type == "人民政府"
        and 2023 <= d.year <= 2025
        and (d.metrics["applications.new.total"] or 0) >= 10
    ]
    assert expected
    params = {
        "city": "平顶山市",
        "agency_type": "人民政府",
        "year_from": 2023,
        "year_to": 2025,
        "metric": "applications.new.total>=10",
        "size": 100,
    }
    body = client.get("/api/v1/search", query_string=params).get_json()
    assert body["total"] == len(expected)
    assert {h["id"] for h in body["hits"]} == ids(expected)


def test_repeated_filter_values_combine_with_or(client, docs):
    expected = [d for d in docs if d.region.county in ("鲁山县", "叶县")]
    body = client.get("/api/v1/search?county=鲁山县&county=叶县&size=100").get_json()
    assert {h["id"] for h in body["hits"]} == ids(expected)


def test_section_scope(client, docs):
    expected = [d for d in docs if analysis.contains(d.section_text("problems"), "平台建设")]
    body = client.get("/api/v1/search", query_string={"q": "平台建设", "section": "problems", "size": 100}).get_json()
    assert body["total"] == len(expected) > 0
    none = client.get("/api/v1/search", query_string={"q": "平台建设", "section": "review"}).get_json()
    assert none["total"] == sum(analysis.contains(d.section_text("review"), "平台建设") for d in docs)


def test_facet_counts_and_selection(client, docs):
    matching = [d for d in docs if has_phrase(d, "依申请公开")]
    params = {"q": "依申请公开", "city": "平顶山市", "facets": "city,county,year"}
    body = client.get("/api/v1/search", query_string=params).get_json()
    facets = {f["name"]: f for f in body["facets"]}
    assert set(facets) == {"city", "county", "year"}
    # Counts of the filtered facet ignore its own filter (multi-select); the others respect it.
    city_counts = {v["value"]: v["count"] for v in facets["city"]["values"]}
    assert city_counts == dict(Counter(d.region.city for d in matching))
    assert [v["value"] for v in facets["city"]["values"] if v["selected"]] == ["平顶山市"]
    in_city = [d for d in matching if d.region.city == "平顶山市"]
    assert {v["value"]: v["count"] for v in facets["county"]["values"]} == dict(
        Counter(d.region.county for d in in_city)
    )
    assert {v["value"]: v["count"] for v in facets["year"]["values"]} == dict(Counter(str(d.year) for d in in_city))
    assert facets["county"]["label"] == "区县"


def test_cursor_paging_visits_every_result_once(client, docs):
    hits = all_hits(client, {"size": 7, "sort": "-year"})
    assert len(hits) == len(docs)
    assert {h["id"] for h in hits} == ids(docs)
    years = [h["year"] for h in hits]
    assert years == sorted(years, reverse=True)


def test_columns_return_requested_metrics(client, docs):
    by_id = {d.id: d for d in docs}
    body = client.get("/api/v1/search?columns=applications.new.total,review.total&size=5").get_json()
    for hit in body["hits"]:
        doc = by_id[hit["id"]]
        assert hit["metrics"] == {k: doc.metrics[k] for k in ("applications.new.total", "review.total")}


# -- exports ---------------------------------------------------------------------------------------


def read_csv(resp) -> list[list[str]]:
    raw = resp.data.decode("utf-8")
    assert raw.startswith("\ufeff"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(raw[1:])))


def test_search_csv_has_a_row_per_report_with_chosen_metrics(client, docs):
    expected = {d.id: d for d in docs if d.region.city == "平顶山市"}
    keys = ["applications.new.total", "outcomes.disclosed.total", "review.total"]
    resp = client.get("/api/v1/search", query_string={"city": "平顶山市", "format": "csv", "columns": keys})
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = read_csv(resp)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["编号", "标题", "机关"]
    for key in keys:
        assert any(f"[{key}]" in h and catalogue.get(key).label in h for h in header)
    assert len(body) == len(expected)  # every match, not only the first page
    for row in body:
        doc = expected[row[0]]
        assert row[1] == doc.title
        for key, cell in zip(keys, row[-len(keys) - 1 : -1], strict=True):
            value = doc.metrics[key]
            assert cell == ("" if value is None else str(int(value)))
        assert row[-1] == ""  # every total printed in these reports


def test_stats_sum_by_year_matches_python(client, docs):
    selected = [
        d
        for d in docs
        if d.region.city == "平顶山市"
        and d.agency.type == "人民政府"
        and 2023 <= d.year <= 2025
        and (d.metrics["applications.new.total"] or 0) >= 10
    ]
    sums: dict[int, float] = defaultdict(float)
    counts: Counter = Counter()
    for d in selected:
        sums[d.year] += d.metrics["outcomes.disclosed.total"]
        counts[d.year] += 1
    params = {
        "city": "平顶山市",
        "agency_type": "人民政府",
        "year_from": 2023,
        "year_to": 2025,
        "metric": "applications.new.total>=10",
        "metrics": "outcomes.disclosed.total",
        "functions": "sum",
        "group_by": "year",
    }
    body = client.get("/api/v1/stats", query_string=params).get_json()
    got = {r["group"]["year"]: (r["count"], r["values"]["sum:outcomes.disclosed.total"]) for r in body["rows"]}
    assert got == {y: (counts[y], sums[y]) for y in sums}
    assert "予以公开" in body["labels"]["sum:outcomes.disclosed.total"]

    rows = read_csv(client.get("/api/v1/stats", query_string=dict(params, format="csv")))
    assert rows[0][:2] == ["年度", "报告数"]
    assert {int(r[0]): (int(r[1]), float(r[2])) for r in rows[1:]} == got


def test_stats_by_county_with_several_functions(client, docs):
    params = {"metrics": ["applications.new.total"], "functions": ["max", "avg"], "group_by": "county", "year": "2024"}
    body = client.get("/api/v1/stats", query_string=params).get_json()
    by_county: dict[str, list[float]] = defaultdict(list)
    for d in docs:
        if d.year == 2024:
            by_county[d.region.county].append(d.metrics["applications.new.total"])
    got = {r["group"]["county"]: r["values"] for r in body["rows"]}
    assert set(got) == set(by_county)
    for county, values in by_county.items():
        assert got[county]["max:applications.new.total"] == max(values)
        assert got[county]["avg:applications.new.total"] == pytest.approx(sum(values) / len(values))


def test_atom_feed_parses_and_lists_newest_matching(client, docs):
    matching = sorted((d for d in docs if d.region.city == "平顶山市"), key=lambda d: d.published, reverse=True)
    resp = client.get("/api/v1/feed.atom", query_string={"city": "平顶山市", "size": 5})
    assert resp.status_code == 200
    assert resp.mimetype == "application/atom+xml"
    root = ET.fromstring(resp.data)
    assert root.tag == f"{ATOM}feed"
    assert root.find(f"{ATOM}title").text and root.find(f"{ATOM}updated").text
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == [d.title for d in matching[:5]]
    for entry, doc in zip(entries, matching, strict=False):
        assert entry.find(f"{ATOM}link[@rel='alternate']").get("href").endswith(f"/reports/{doc.id}")
        assert entry.find(f"{ATOM}updated").text.startswith(doc.published)


# -- reports, metrics, agencies -------------------------------------------------------------------


def test_report_is_the_canonical_document_with_tables(client, docs):
    doc = next(d for d in docs if d.check_status == "failed")
    resp = client.get(f"/api/v1/reports/{doc.id}")
    assert resp.status_code == 200
    body = resp.get_json()
    expected = doc.to_dict()
    for f in dataclasses.fields(ReportDocument):
        assert body[f.name] == expected[f.name], f.name
    cells = {c["metric"]: c for t in body["tables"] for b in t["blocks"] for r in b["rows"] for c in r["cells"]}
    for key, value in doc.metrics.items():
        assert cells[key]["value"] == value
    failed = {k for k, c in cells.items() if c["failed"]}
    assert failed == {m.key for m in catalogue.metrics() if m.row == "outcomes.disclosed"}
    tables = {t["key"]: t for t in body["tables"]}
    assert set(tables) == set(catalogue.TABLE_LABELS)
    assert tables["applications"]["label"] == catalogue.TABLE_LABELS["applications"]
    # Row label + column label give back the catalogue label of each cell.
    rows = [row for block in tables["applications"]["blocks"] for row in block["rows"]]
    for block in tables["applications"]["blocks"]:
        for row in (r for r in block["rows"] if r["key"]):
            for col, cell in zip(block["columns"], row["cells"], strict=True):
                assert f"{row['label']} · {col['label']}" == catalogue.get(cell["metric"]).label
                assert cell["derived"] == catalogue.get(cell["metric"]).derived
    # Template order, with the form's heading line before （一）予以公开.
    assert [r["key"] for r in rows if r["key"]] == [row for row, *_ in catalogue.application_rows()]
    heading = next(i for i, r in enumerate(rows) if not r["key"])
    assert rows[heading]["label"] == "三、本年度办理结果" and rows[heading + 1]["key"] == "outcomes.disclosed"
    assert body["links"]["original"] == f"/api/v1/reports/{doc.id}/original"
    flat = {m["key"]: m for t in body["tables"] for m in t["metrics"]}
    for key, value in doc.metrics.items():
        m = catalogue.get(key)
        assert flat[key] == {"key": key, "label": m.label, "unit": m.unit, "value": value}


def test_unknown_report_is_404(client):
    resp = client.get("/api/v1/reports/doesnotexist")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["status"] == 404
    assert "doesnotexist" in resp.get_json()["error"]["reason"]


def test_metric_catalogue(client):
    body = client.get("/api/v1/metrics").get_json()
    assert body["total"] == len(catalogue.metrics()) == len(body["metrics"])
    by_key = {m["key"]: m for m in body["metrics"]}
    for m in catalogue.metrics():
        assert by_key[m.key]["label"] == m.label
        assert by_key[m.key]["unit"] == m.unit
        assert by_key[m.key]["table_label"] == catalogue.TABLE_LABELS[m.table]


def test_agencies_by_name_and_year_by_year(client, docs):
    body = client.get("/api/v1/agencies", query_string={"name": "鲁山"}).get_json()
    names = {a["name"] for a in body["agencies"]}
    assert names == {d.agency.name for d in docs if "鲁山" in d.agency.name}
    target = next(d for d in docs if d.agency.name == "鲁山县人民政府")
    own = [d for d in docs if d.agency.id == target.agency.id]
    detail = client.get(f"/api/v1/agencies/{target.agency.id}").get_json()
    assert detail["agency"]["name"] == "鲁山县人民政府"
    assert detail["years"] == sorted(d.year for d in own)
    assert {r["id"] for r in detail["reports"]} == ids(own)
    series = {s["key"]: s["values"] for s in detail["series"]}
    assert series["applications.new.total"] == {str(d.year): d.metrics["applications.new.total"] for d in own}
    assert client.get("/api/v1/agencies/nope").status_code == 404
    chosen = client.get(f"/api/v1/agencies/{target.agency.id}?metrics=active.fees.amount_wan").get_json()
    assert chosen["series"] == [
        {
            "key": "active.fees.amount_wan",
            "label": catalogue.get("active.fees.amount_wan").label,
            "unit": "万元",
            "values": {str(d.year): d.metrics["active.fees.amount_wan"] for d in own},
        }
    ]
    bad = client.get(f"/api/v1/agencies/{target.agency.id}?metrics=nosuch")
    assert bad.status_code == 400 and "metrics" in bad.get_json()["error"]["fields"]


def test_health_and_ready(client, docs):
    assert client.get("/api/v1/health").get_json()["status"] == "ok"
    ready = client.get("/api/v1/ready").get_json()
    assert ready == {"status": "ready", "engine": "sqlite", "reports": len(docs), "version": ready["version"]}


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"size": 0}, "size"),
        ({"size": 101}, "size"),
        ({"year_from": "abc"}, "year_from"),
        ({"year_from": ""}, "year_from"),
        ({"year_from": 2025, "year_to": 2021}, "year_from"),
        ({"sort": "sideways"}, "sort"),
        ({"metric": "nosuch.metric>1"}, "metric"),
        ({"metric": "applications.new.total >> 1"}, "metric"),
        ({"facets": "colour"}, "facets"),
        ({"metric_facets": "nosuch"}, "metric_facets"),
        ({"q": "x" * 501}, "q"),
        ({"q": "(依申请公开"}, "q"),
        ({"q": "-收费"}, "q"),
        ({"cursor": "%%%not-a-cursor"}, "cursor"),
        ({"section": "第七章"}, "section"),
        ({"colour": "red"}, "colour"),
        ({"columns": "nosuch"}, "columns"),
        ({"format": "xml"}, "format"),
    ],
)
def test_invalid_search_parameters_are_400_with_the_field(client, params, field):
    resp = client.get("/api/v1/search", query_string=params)
    assert resp.status_code == 400, resp.data
    error = resp.get_json()["error"]
    assert error["status"] == 400
    assert field in error["fields"], error
    assert all(isinstance(m, str) and m for m in error["fields"][field])


def test_stats_needs_a_metric(client):
    resp = client.get("/api/v1/stats", query_string={"group_by": "year"})
    assert resp.status_code == 400
    assert "metrics" in resp.get_json()["error"]["fields"]
    resp = client.get("/api/v1/stats", query_string={"metrics": "applications.new.total", "group_by": "colour"})
    assert "group_by" in resp.get_json()["error"]["fields"]


def test_wrong_method_and_unknown_path(client):
    resp = client.post("/api/v1/search")
    assert resp.status_code == 405
    assert "GET" in resp.headers["Allow"]
    assert resp.get_json()["error"]["status"] == 405
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404 and resp.get_json()["error"]["reason"]
    page = client.get("/nothing-here")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_too_large_body_is_413(client):
    resp = client.post(
        "/api/v1/admin/sources",
        data=b"{" + b" " * (1024 * 1024) + b"}",
        headers={"Authorization": "Bearer s3cret", "Content-Type": "application/json"},
    )
    assert resp.status_code == 413
    assert resp.get_json()["error"]["status"] == 413


def test_rate_limit_per_client_address(store, tmp_path):
    app = create_app(make_settings(tmp_path, rate_limit_per_minute=3), store=store)
    client = app.test_client()
    statuses = [client.get("/api/v1/health").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    resp = client.get("/api/v1/health")
    assert resp.get_json()["error"]["status"] == 429 and int(resp.headers["Retry-After"]) >= 1
    other = client.get("/api/v1/health", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200  # the limit is per address


def test_store_failure_is_a_clean_json_error(docs, tmp_path):
    path = tmp_path / "broken.sqlite3"
    st = make_store(path, docs[:3])
    st.close()
    for leftover in tmp_path.glob("broken.sqlite3*"):
        leftover.unlink()
    path.write_bytes(b"this is not a database " * 1000)  # the index file got destroyed under us
    app = create_app(make_settings(tmp_path), store=st)
    client = app.test_client()
    resp = client.get("/api/v1/search?q=依申请公开")
    assert resp.status_code == 500
    assert resp.get_json() == {"error": {"status": 500, "reason": "internal error; it has been logged"}}
    assert b"Traceback" not in resp.data
    assert client.get("/api/v1/ready").status_code == 503
    page = client.get("/?q=依申请公开")
    assert page.status_code == 500 and b"Traceback" not in page.data and "出错了".encode() in page.data


# -- admin -----------------------------------------------------------------------------------------


def test_admin_needs_the_right_token(client, store, tmp_path):
    assert client.post("/api/v1/admin/reindex").status_code == 401
    assert client.post("/api/v1/admin/reindex", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.post("/api/v1/admin/reindex", headers={"Authorization": "Basic s3cret"}).status_code == 401
    unconfigured = create_app(make_settings(tmp_path), store=store).test_client()
    resp = unconfigured.post("/api/v1/admin/crawl", headers={"Authorization": "Bearer anything"})
    assert resp.status_code == 403
    assert resp.get_json()["error"]["reason"]


def wait_for_job(client, url: str, auth: dict) -> dict:
    for _ in range(300):
        job = client.get(url, headers=auth).get_json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {url} did not finish")


def test_admin_reindex_and_crawl_run_in_the_background(store, tmp_path):
    settings = make_settings(tmp_path, admin_token="tok")
    client = create_app(settings, store=store).test_client()
    auth = {"Authorization": "Bearer tok"}
    resp = client.post("/api/v1/admin/reindex", json={"rebuild": True}, headers=auth)
    assert resp.status_code == 202
    job = resp.get_json()
    assert resp.headers["Location"] == job["url"]
    finished = wait_for_job(client, job["url"], auth)
    assert finished["status"] == "done", finished
    assert settings.index_path.exists()  # the rebuilt (empty) index of the empty archive
    # A crawl of a source that does not exist fails, and the failure is reported in the job.
    resp = client.post("/api/v1/admin/crawl", json={"source_id": "no-such-source"}, headers=auth)
    assert resp.status_code == 202
    failed = wait_for_job(client, resp.get_json()["url"], auth)
    assert failed["status"] == "failed" and failed["error"]
    assert client.get("/api/v1/admin/jobs/nope", headers=auth).status_code == 404
    bad = client.post("/api/v1/admin/crawl", json={"url": "ftp://x"}, headers=auth)
    assert bad.status_code == 400 and "url" in bad.get_json()["error"]["fields"]


def test_admin_adds_a_source_to_the_sources_file(store, tmp_path):
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nid = "lushan"\nname = "鲁山县"\nstart_urls = ["http://127.0.0.1:9/"]\n', "utf-8")
    settings = make_settings(tmp_path, admin_token="tok", sources_file=sources, crawl_allow_loopback=True)
    client = create_app(settings, store=store).test_client()
    auth = {"Authorization": "Bearer tok"}
    new = {
        "id": "jiaxian",
        "name": "郏县人民政府",
        "start_urls": ["http://127.0.0.1:9/jx/"],
        "region": "河南省/平顶山市/郏县",
    }
    resp = client.post("/api/v1/admin/sources", json=new, headers=auth)
    assert resp.status_code == 201, resp.data
    loaded = {s.id: s for s in load_sources(sources)}
    assert set(loaded) == {"lushan", "jiaxian"}
    assert loaded["jiaxian"].region == "河南省/平顶山市/郏县" and loaded["jiaxian"].start_urls == (
        "http://127.0.0.1:9/jx/",
    )
    before = sources.read_text("utf-8")
    dup = client.post("/api/v1/admin/sources", json=new, headers=auth)
    assert dup.status_code == 400 and "duplicate" in dup.get_json()["error"]["reason"]
    assert sources.read_text("utf-8") == before  # a refused source leaves the file untouched
    bad = client.post("/api/v1/admin/sources", json={"id": "x", "name": "x", "start_urls": ["nope"]}, headers=auth)
    assert bad.status_code == 400 and "start_urls" in bad.get_json()["error"]["fields"]
    assert client.post("/api/v1/admin/sources", data="not json", headers=auth).status_code == 400


def test_stats_leave_missing_values_out(client, docs):
    body = client.get("/api/v1/stats?metrics=review.total&functions=sum,count,avg&group_by=year").get_json()
    by_year: dict[int, list] = defaultdict(list)
    for d in docs:
        by_year[d.year].append(d.metrics["review.total"])
    assert any(None in values for values in by_year.values())  # the data set has missing values
    for row in body["rows"]:
        known = [v for v in by_year[row["group"]["year"]] if v is not None]
        assert row["count"] == len(by_year[row["group"]["year"]])
        assert row["values"]["sum:review.total"] == sum(known)
        assert row["values"]["count:review.total"] == len(known)
        assert row["values"]["avg:review.total"] == pytest.approx(sum(known) / len(known))


def test_app_opens_the_store_from_the_settings(tmp_path):
    app = create_app(make_settings(tmp_path))
    ready = app.test_client().get("/api/v1/ready").get_json()
    assert ready["status"] == "ready" and ready["reports"] == 0
    assert (tmp_path / "data" / "index.sqlite3").exists()
    state.close(app)
    assert app.test_client().get("/api/v1/ready").status_code == 503  # closed: not ready, not a crash


def test_csv_with_every_metric(client, docs):
    rows = read_csv(client.get("/api/v1/search", query_string={"county": "郏县", "format": "csv", "columns": "all"}))
    keys = [m.key for m in catalogue.metrics()]
    assert len(rows[0]) == 11 + len(keys) + 1  # … and the column naming computed values
    assert rows[0][-2].endswith(f"[{keys[-1]}]")
    by_id = {d.id: d for d in docs}
    for row in rows[1:]:
        doc = by_id[row[0]]
        assert sum(1 for cell in row[11:-1] if cell != "") == sum(1 for v in doc.metrics.values() if v is not None)


def test_report_json_lists_computed_totals(tmp_path):
    with client_over_one_report_without_totals(tmp_path) as (doc, api):
        body = api.get(f"/api/v1/reports/{doc.id}").get_json()
    assert "applications.new.total" in body["computed"] and body["computed"] == doc.computed
    assert body["metrics"]["applications.new.total"] == 19
    cells = {c["metric"]: c for t in body["tables"] for bl in t["blocks"] for r in bl["rows"] for c in r["cells"]}
    assert cells["applications.new.total"]["computed"] is True
    assert cells["applications.new.natural_person"]["computed"] is False
    checks = {c["name"]: c["status"] for c in body["checks"]}
    assert checks["columns.applications.new"] == "skipped" and body["check_status"] == "incomplete"


def test_search_csv_says_which_exported_values_were_computed(tmp_path):
    keys = ["applications.new.total", "applications.new.natural_person", "review.total"]
    with client_over_one_report_without_totals(tmp_path) as (_doc, api):
        rows = read_csv(api.get("/api/v1/search", query_string={"format": "csv", "columns": keys}))
    header, (row,) = rows[0], rows[1:]
    assert header[-1].endswith("[computed]") and row[-4] == "19"
    assert row[-1] == "applications.new.total"  # of the exported values, only this one is not the report's own


def test_search_csv_refuses_a_result_too_big_to_export_instead_of_cutting_it(client, docs, monkeypatch):
    from service.api import search as search_api

    matching = [d for d in docs if d.region.city == "平顶山市"]
    monkeypatch.setattr(search_api, "MAX_EXPORT_ROWS", len(matching) - 1)
    resp = client.get("/api/v1/search", query_string={"city": "平顶山市", "format": "csv"})
    assert resp.status_code == 400 and resp.is_json
    reason = resp.get_json()["error"]["reason"]
    assert f"{len(matching):,} reports" in reason and "narrow" in reason
    monkeypatch.setattr(search_api, "MAX_EXPORT_ROWS", len(matching))  # exactly the limit: every row, streamed
    resp = client.get("/api/v1/search", query_string={"city": "平顶山市", "format": "csv"})
    assert resp.status_code == 200 and resp.is_streamed
    assert sorted(row[0] for row in read_csv(resp)[1:]) == sorted(d.id for d in matching)
