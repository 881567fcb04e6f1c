"""Archived originals, captures and diffs, from a real WARC archive and crawl catalogue."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from test_service_data import build_documents, make_settings, make_store

from crawler.archive import HttpRequest, HttpResponse, WarcArchive, payload_digest
from crawler.catalog import Catalog
from service import state
from service.app import create_app

OLD = "<html><body><h1>鲁山县2024年报告</h1><p>本年度收到依申请公开申请10件。</p><p>不变的一段。</p></body></html>"
NEW = "<html><body><h1>鲁山县2024年报告</h1><p>本年度收到依申请公开申请12件。</p><p>不变的一段。</p></body></html>"
CONTENT_TYPE = "text/html; charset=utf-8"


def _archive(settings, url: str, bodies: list[bytes]) -> list:
    catalog = Catalog(settings.catalog_path)
    captures = []
    with WarcArchive(settings.archive_dir, settings.warc_max_bytes) as warc:
        for day, body in enumerate(bodies, start=1):
            ref = warc.write_response(
                HttpRequest("GET", url, [("User-Agent", "test")]),
                HttpResponse(200, "OK", "HTTP/1.1", [("Content-Type", CONTENT_TYPE)]),
                body,
                {},
                datetime(2025, 3, day, tzinfo=UTC),
            )
            warc.sync()
            captures.append(
                catalog.add_capture(
                    ref,
                    url=url,
                    status=200,
                    content_type=CONTENT_TYPE,
                    source_id="lushan",
                    region="河南省/平顶山市/鲁山县",
                    kind="report",
                    parent_url=None,
                    title="年报",
                    revisit_of=None,
                    run_id=None,
                )
            )
    catalog.close()
    return captures


@pytest.fixture()
def setup(tmp_path):
    settings = make_settings(tmp_path)
    docs = build_documents()
    doc, other = docs[0], docs[1]
    captures = _archive(settings, doc.provenance.url, [OLD.encode(), NEW.encode()])
    other_capture = _archive(settings, other.provenance.url, [b"<p>other</p>"])[0]
    doc.provenance.digest = payload_digest(NEW.encode())
    store = make_store(tmp_path / "index.sqlite3", [doc, other, docs[2]])
    app = create_app(settings, store=store)
    yield app.test_client(), doc, captures, other_capture, docs[2]
    state.close(app)


def test_original_is_the_archived_bytes_of_the_indexed_capture(setup):
    client, doc, captures, _, _ = setup
    resp = client.get(f"/api/v1/reports/{doc.id}/original")
    assert resp.status_code == 200
    assert resp.data == NEW.encode()
    assert resp.headers["Content-Type"] == CONTENT_TYPE
    assert resp.headers["X-Archive-Capture"] == str(captures[1].id)
    assert "sandbox" in resp.headers["Content-Security-Policy"]


def test_captures_lists_every_capture(setup):
    client, doc, captures, other, _ = setup
    body = client.get(f"/api/v1/reports/{doc.id}/captures").get_json()
    assert body["url"] == doc.provenance.url
    assert [c["id"] for c in body["captures"]] == [str(c.id) for c in captures]
    assert [c["current"] for c in body["captures"]] == [False, True]
    assert all(c["digest"] == cap.digest for c, cap in zip(body["captures"], captures, strict=True))
    assert str(other.id) not in {c["id"] for c in body["captures"]}


def test_diff_between_two_captures(setup):
    client, doc, captures, _, _ = setup
    resp = client.get(f"/api/v1/reports/{doc.id}/diff", query_string={"from": captures[0].id, "to": captures[1].id})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["changed"] is True
    changed = [
        line
        for line in difflib.ndiff(["本年度收到依申请公开申请10件。"], ["本年度收到依申请公开申请12件。"])
        if line[:1] in "+-"
    ]
    assert all(line.replace(" ", "", 1) in body["diff"].replace(" ", "") for line in changed)
    assert "-本年度收到依申请公开申请10件。" in body["diff"]
    assert "+本年度收到依申请公开申请12件。" in body["diff"]
    assert "不变的一段" not in [line[1:] for line in body["diff"].splitlines() if line[:1] in "+-"]
    same = client.get(f"/api/v1/reports/{doc.id}/diff", query_string={"from": captures[1].id, "to": captures[1].id})
    assert same.get_json() == {
        "report_id": doc.id,
        "from": str(captures[1].id),
        "to": str(captures[1].id),
        "changed": False,
        "diff": "",
    }


def test_diff_errors(setup):
    client, doc, captures, other, _ = setup
    foreign = client.get(f"/api/v1/reports/{doc.id}/diff", query_string={"from": other.id, "to": captures[1].id})
    assert foreign.status_code == 404  # another URL's capture is not this report's
    assert "from" in foreign.get_json()["error"]["fields"]
    missing = client.get(f"/api/v1/reports/{doc.id}/diff", query_string={"to": captures[1].id})
    assert missing.status_code == 400 and "from" in missing.get_json()["error"]["fields"]


def test_report_without_archived_original_is_404(setup):
    client, _, _, _, unarchived = setup
    resp = client.get(f"/api/v1/reports/{unarchived.id}/original")
    assert resp.status_code == 404
    assert "no archived original" in resp.get_json()["error"]["reason"]
    assert client.get(f"/api/v1/reports/{unarchived.id}/captures").get_json()["captures"] == []


def test_missing_warc_file_is_a_clean_error(setup, tmp_path):
    client, doc, _, _, _ = setup
    for warc in (tmp_path / "data" / "archive").glob("*.warc*"):
        warc.unlink()
    resp = client.get(f"/api/v1/reports/{doc.id}/original")
    assert resp.status_code == 503
    assert "cannot be read" in resp.get_json()["error"]["reason"]


def test_an_earlier_capture_can_be_opened(setup):
    client, doc, captures, other, _ = setup
    resp = client.get(f"/api/v1/reports/{doc.id}/original", query_string={"capture": captures[0].id})
    assert resp.status_code == 200 and resp.data == OLD.encode()
    foreign = client.get(f"/api/v1/reports/{doc.id}/original", query_string={"capture": other.id})
    assert foreign.status_code == 404 and "capture" in foreign.get_json()["error"]["fields"]


def test_report_page_lists_captures_and_shows_the_diff(setup):
    from bs4 import BeautifulSoup

    client, doc, captures, _, _ = setup
    report = BeautifulSoup(client.get(f"/reports/{doc.id}").data, "html.parser")
    # Capture time in Beijing time, not raw ISO; every version on its own page (HTML, the JSON stays in the API).
    captured = datetime.fromisoformat(doc.provenance.captured_at.replace("Z", "+00:00"))
    beijing = captured.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert report.select_one("#captured-at").text == beijing and captured.hour + 8 == int(beijing[11:13])
    captures_page = client.get(report.select_one("#captures-link")["href"])
    assert captures_page.mimetype == "text/html"
    soup = BeautifulSoup(captures_page.data, "html.parser")
    rows = soup.select("#captures tbody tr")
    assert len(rows) == len(captures)
    assert [r.select_one("time").text for r in rows] == ["2025-03-01 08:00", "2025-03-02 08:00"]
    assert "current" in rows[1].get("class", []) and not rows[0].get("class")
    links = soup.select("#captures a.diff-link")
    assert len(links) == 1  # only the second version has a previous, different one
    page = client.get(links[0]["href"])
    assert page.status_code == 200
    diff = BeautifulSoup(page.data, "html.parser")
    assert diff.select_one("#changed").text == "正文有改动"
    assert [s.text for s in diff.select("#diff .del")] == ["-本年度收到依申请公开申请10件。"]
    assert [s.text for s in diff.select("#diff .add")] == ["+本年度收到依申请公开申请12件。"]
    missing = client.get(f"/reports/{doc.id}/diff")
    assert missing.status_code == 400 and missing.mimetype == "text/html"


def test_original_is_saved_under_its_own_name(setup):
    from werkzeug.http import parse_options_header

    client, doc, _, _, _ = setup
    resp = client.get(f"/api/v1/reports/{doc.id}/original")
    kind, options = parse_options_header(resp.headers["Content-Disposition"])
    assert kind == "inline" and options["filename"] == doc.provenance.url.rsplit("/", 1)[-1]


def test_a_chinese_file_name_survives_content_disposition():
    from werkzeug.http import parse_options_header

    from service.reading import content_disposition, original_filename

    name = original_filename("http://127.0.0.1:9/gk/%E9%B2%81%E5%B1%B1%E5%8E%BF2024%E5%B9%B4%E6%8A%A5.pdf", "")
    assert name == "鲁山县2024年报.pdf"
    header = content_disposition(name)
    assert header.isascii()  # HTTP headers are Latin-1: the Chinese goes in filename* (RFC 5987)
    assert parse_options_header(header)[1]["filename"] == name
    assert 'filename="2024.pdf"' in header  # the fallback for clients without RFC 5987
    # A URL without a file name: the report's title and the content type's extension.
    assert original_filename("http://x.gov.cn/gk/", "application/pdf", "鲁山县 年报") == "鲁山县_年报.pdf"


def test_reading_view_is_a_clean_page_of_the_original(setup):
    from bs4 import BeautifulSoup

    client, doc, _, _, unarchived = setup
    resp = client.get(f"/reports/{doc.id}/read")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    soup = BeautifulSoup(resp.data, "html.parser")
    assert "本年度收到依申请公开申请12件。" in [p.text for p in soup.select("#reading p")]
    assert soup.select_one("#raw")["href"] == f"/api/v1/reports/{doc.id}/original"
    old = BeautifulSoup(client.get(f"/reports/{doc.id}/read?capture=1").data, "html.parser")
    assert "本年度收到依申请公开申请10件。" in [p.text for p in old.select("#reading p")]
    missing = client.get(f"/reports/{unarchived.id}/read")
    assert missing.status_code == 404 and "没有存档原件" in missing.get_data(as_text=True)


def test_reading_view_uses_the_archived_stylesheet(tmp_path):
    from bs4 import BeautifulSoup

    settings = make_settings(tmp_path)
    doc = build_documents()[0]
    page = (
        '<html><head><link rel="stylesheet" href="/css/site.css"><script>alert(1)</script></head>'
        '<body onload="x()"><p class="lead">本年度收到依申请公开申请12件。</p><img src="http://evil/x.png"></body></html>'
    )
    _archive(settings, doc.provenance.url, [page.encode()])
    css_url = doc.provenance.url.split("/gk/")[0] + "/css/site.css"
    catalog = Catalog(settings.catalog_path)
    with WarcArchive(settings.archive_dir, settings.warc_max_bytes) as warc:
        css = b".lead { color: #123456; } @import url(http://evil/a.css);"
        ref = warc.write_response(
            HttpRequest("GET", css_url, []),
            HttpResponse(200, "OK", "HTTP/1.1", [("Content-Type", "text/css")]),
            css,
            {},
            datetime(2025, 3, 1, tzinfo=UTC),
        )
        warc.sync()
        catalog.add_capture(
            ref,
            url=css_url,
            status=200,
            content_type="text/css",
            source_id="lushan",
            region="",
            kind="page",
            parent_url=None,
            title="",
            revisit_of=None,
            run_id=None,
        )
    catalog.close()
    doc.provenance.digest = payload_digest(page.encode())
    store = make_store(tmp_path / "index.sqlite3", [doc])
    app = create_app(settings, store=store)
    resp = app.test_client().get(f"/reports/{doc.id}/read")
    state.close(app)
    assert resp.status_code == 200
    assert resp.headers["Content-Security-Policy"].startswith("sandbox")  # nothing in it runs or loads
    soup = BeautifulSoup(resp.data, "html.parser")
    styles = " ".join(s.text for s in soup.select("style"))
    assert ".lead { color: #123456; }" in styles and "evil" not in styles
    assert not soup.select("script") and not soup.select("[onload]") and not soup.select("img[src]")
    assert soup.select_one("p.lead").text == "本年度收到依申请公开申请12件。"
