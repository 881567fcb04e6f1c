"""Bogus files offered as reports, and payloads that would cost minutes or gigabytes: each is kept in the archive,
indexed with a flag users can filter on (``not_a_report`` / ``parse_failed``) and the reason, in bounded time.
A real crawl of a site on 127.0.0.1 → WARC archive → indexer → SQLite store → API."""

from __future__ import annotations

import gzip
import io
import os
import time
import zipfile
from datetime import UTC, datetime

import pytest
from crawler_support import pages
from crawler_support.settings import crawl_settings
from crawler_support.site import Page, Site

from crawler.archive import HttpRequest, HttpResponse, WarcArchive
from crawler.catalog import Catalog
from crawler.run import crawl
from indexer.parse_pool import ParseJob
from indexer.pipeline import index_archive
from service import state
from service.app import create_app
from store import open_store
from store.query import build_search

REGION = "河南省/平顶山市/鲁山县"


def docx_bomb(paragraphs: int = 2_000_000) -> bytes:
    """A small DOCX (tens of KB) holding millions of empty paragraphs."""
    body = '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
    xml = '<?xml version="1.0" encoding="UTF-8"?>' + body + "<w:p/>" * paragraphs + "</w:body></w:document>"
    types = (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="word/document.xml"/></Relationships>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("_rels/.rels", rels)
        z.writestr("word/document.xml", xml)
    return buf.getvalue()


BOGUS = {  # attachment name → (bytes, content type, the flag it must get)
    "notfound.pdf": (
        b"<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>",
        "application/pdf",
        "not_a_report",
    ),
    "random.pdf": (os.urandom(30_000), "application/pdf", "parse_failed"),
    "broken.pdf": (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + os.urandom(500),
        "application/pdf",
        "parse_failed",
    ),
    "bomb.docx": (docx_bomb(), "application/octet-stream", "parse_failed"),
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    settings = crawl_settings(tmp_path_factory.mktemp("bogus"))
    with Site() as site:
        links = []
        for i, (name, (body, ctype, _)) in enumerate(sorted(BOGUS.items())):
            page = f"/nb/t{i}.html"
            title = f"鲁山县{2020 + i}年政府信息公开工作年度报告"
            links.append((page, title))
            site.routes[page] = Page(pages.report(title, attachments=[(name, f"{2020 + i}年报全文")]))
            site.routes[f"/nb/{name}"] = Page(body, content_type=ctype)
        site.routes["/nb/index.html"] = Page(pages.listing("政府信息公开年报", links))
        summary = crawl(settings, url=site.url("/nb/index.html"), region=REGION)
        urls = {name: site.url(f"/nb/{name}") for name in BOGUS}
    assert summary.new_reports >= len(BOGUS), summary.describe()
    started = time.perf_counter()
    stats = index_archive(settings)
    return settings, urls, stats, time.perf_counter() - started


def test_bogus_attachments_are_indexed_flagged_and_kept(indexed):
    settings, urls, stats, elapsed = indexed
    assert elapsed < 60, f"indexing four bogus files took {elapsed:.0f} s"
    with open_store(settings) as store, Catalog(settings.catalog_path) as catalog:
        docs = {d.provenance.url: d for d in store.iter_documents()}
        captures = {c.url: c for c in catalog.report_captures()}
        for name, (body, _, flag) in BOGUS.items():
            doc = docs.get(urls[name])
            assert doc is not None, f"{name} was not indexed: {stats.describe()}"
            assert flag in doc.flags, (name, doc.flags)
            assert any(w.code == flag and w.message for w in doc.warnings), name  # the reason is given
            assert catalog.read_payload(captures[urls[name]], settings.archive_dir) == body  # archived as served
        for flag in ("not_a_report", "parse_failed"):
            found = store.search(build_search(filters={"flags": [flag]}, size=100))
            expected = {urls[n] for n, (_, _, f) in BOGUS.items() if f == flag}
            assert {docs[u].id for u in expected} <= {h.id for h in found.hits}
            assert any(f.name == "flags" for f in store.search(build_search(facets=["flags"])).facets)


def test_a_slow_parse_is_stopped_by_its_budget():
    line = "本年度共收到依申请公开政府信息申请12件，均在法定期限内答复。"
    html = ("<html><body>" + "".join(f"<p>{line}{i}</p>" for i in range(60_000)) + "</body></html>").encode()
    job = ParseJob(html, "http://127.0.0.1:9/slow.html", "text/html", None, "", "", None, None, budget_s=0.3)
    started = time.perf_counter()
    doc = job.run()
    assert time.perf_counter() - started < 5
    assert "parse_failed" in doc.flags
    assert any("parse_seconds" in w.message for w in doc.warnings)


# -- compression bombs in the archive ---------------------------------------------------------------


@pytest.fixture()
def gzip_bomb_archive(tmp_path):
    """A capture whose response is gzip-encoded: 64 MiB of zeros in ~64 KB on the wire (as a crawler without a
    decoded-size cap archived it), and a normal capture of the same URL, both written by the real archive."""
    settings = crawl_settings(tmp_path, max_body_bytes=1024 * 1024)
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    url = "http://127.0.0.1:9/nb/bomb.html"
    report = pages.report("鲁山县2024年政府信息公开工作年度报告").encode()
    with WarcArchive(settings.archive_dir, settings.warc_max_bytes) as archive, Catalog(settings.catalog_path) as cat:
        ids = []
        for when, body, headers in (
            (datetime(2025, 1, 1, tzinfo=UTC), report, [("Content-Type", "text/html; charset=utf-8")]),
            (datetime(2025, 2, 1, tzinfo=UTC), bomb, [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]),
        ):
            ref = archive.write_response(
                HttpRequest("GET", url, []), HttpResponse(200, "OK", "HTTP/1.1", headers), body, {}, when
            )
            archive.sync()
            cap = cat.add_capture(
                ref, url=url, status=200, content_type="text/html", source_id="", region=REGION, kind="report",
                parent_url=None, title="鲁山县2024年政府信息公开工作年度报告", revisit_of=None, run_id=None,
            )  # fmt: skip
            ids.append(cap.id)
    assert len(bomb) < 200_000
    return settings, url, ids


def test_indexer_refuses_to_decode_a_bomb_and_records_why(gzip_bomb_archive):
    settings, _, _ = gzip_bomb_archive
    started = time.perf_counter()
    stats = index_archive(settings)
    assert time.perf_counter() - started < 60
    with open_store(settings) as store:
        flagged = [d for d in store.iter_documents() if "parse_failed" in d.flags]
    assert flagged, stats.describe()
    assert any("max_body_bytes" in w.message for d in flagged for w in d.warnings)


def test_api_never_decodes_a_whole_bomb(gzip_bomb_archive, tmp_path):
    settings, _, (good, bomb) = gzip_bomb_archive
    index_archive(settings)
    app = create_app(settings.replace(rate_limit_per_minute=0))
    client = app.test_client()
    try:
        with open_store(settings) as store:
            (doc,) = list(store.iter_documents())
        started = time.perf_counter()
        resp = client.get(f"/api/v1/reports/{doc.id}/original", query_string={"capture": str(bomb)})
        assert resp.status_code == 422 and "max_body_bytes" in resp.get_json()["error"]["reason"]
        diff = client.get(f"/api/v1/reports/{doc.id}/diff", query_string={"from": str(good), "to": str(bomb)})
        assert diff.status_code == 422, diff.data[:300]
        assert time.perf_counter() - started < 20
        ok = client.get(f"/api/v1/reports/{doc.id}/original", query_string={"capture": str(good)})
        assert ok.status_code == 200 and "年度报告" in ok.get_data(as_text=True)
    finally:
        state.close(app)


def test_a_parse_past_the_helpers_memory_cap_is_flagged_not_fatal(monkeypatch):
    from indexer import parse_pool

    monkeypatch.setattr(parse_pool, "HELPER_MEMORY_BYTES", 200 * 1024 * 1024)
    line = "本年度共收到依申请公开政府信息申请12件，均在法定期限内答复。"
    huge = ("<html><body>" + "".join(f"<p>{line}</p>" for _ in range(600_000)) + "</body></html>").encode()
    small = pages.report("鲁山县2024年政府信息公开工作年度报告").encode()

    def job(item: tuple[str, bytes]) -> ParseJob:
        return ParseJob(item[1], f"http://127.0.0.1:9/{item[0]}.html", "text/html", REGION, "", "", None, None)

    items = [("a", small), ("huge", huge), ("b", small)]
    started = time.perf_counter()
    docs = dict(
        (name, doc) for (name, _), doc in parse_pool.parse_in_order(items, job, parse_pool.PARALLEL_MIN, workers=2)
    )
    assert time.perf_counter() - started < 60
    # Uncapped it parses; capped, Python says MemoryError or lxml an XMLSyntaxError ("unknown error")
    assert "parse_failed" in docs["huge"].flags
    assert any(w.code == "parse_failed" and w.message for w in docs["huge"].warnings)
    assert docs["a"].title and "parse_failed" not in docs["a"].flags and docs["b"].title
