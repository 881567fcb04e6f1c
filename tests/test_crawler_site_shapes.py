"""Real government-site list shapes, crawled over real HTTP from the demo site on 127.0.0.1: a 大汉 JCMS column
(records in ``<script type="text/xml">``, later groups from dataproxy.jsp), reports published only as files
(pdf.js viewer, iframe, object/embed, window.open, data-href, download.jsp named by Content-Disposition) and a
directory of department/township columns. Truth comes from ``demo.site.expected_reports``."""

from __future__ import annotations

import pytest
import requests

from crawler.catalog import Catalog
from crawler.discover import analyse
from crawler.file_links import disposition_filename, disposition_header, url_in_script, viewer_target
from crawler.jcms import jpage
from crawler.render import find_browser
from crawler.run import crawl
from demo import site as demo_site
from demo.site import DemoSite
from indexer.pipeline import index_archive
from nianbao.settings import Settings, load_settings
from store import open_store

# The JavaScript-filled column needs a browser; without one the crawl skips it (tests/test_crawler_render.py).
NEW_COLUMNS = ("jcms", "files", "directory") + (("js",) if find_browser() else ())


@pytest.fixture(scope="module")
def crawled(site: DemoSite, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = load_settings(
        env={},
        data_dir=tmp_path_factory.mktemp("shapes"),
        crawl_delay=0.0,
        request_timeout=5.0,
        crawl_allow_loopback=True,
    )
    summary = crawl(settings, url=site.url + demo_site.DIRECTORY + "index.html")
    assert not summary.failed, summary.describe()
    index_archive(settings)
    return settings


def _truth(site: DemoSite, column: str | None = None) -> dict[str, demo_site.ExpectedReport]:
    return {
        e.url: e for e in site.expected_reports() if e.column == column or (column is None and e.column in NEW_COLUMNS)
    }


def test_the_directory_leads_to_every_report_of_every_new_column_and_nothing_else(
    site: DemoSite, crawled: Settings
) -> None:
    truth = _truth(site)
    assert {e.column for e in truth.values()} == set(NEW_COLUMNS)
    with open_store(crawled) as store:
        docs = {d.provenance.url: d for d in store.iter_documents()}
    everything = {e.url for e in site.expected_reports()}
    # Its report pages link the site's TRS column too, so more is found: but only reports, and all of these.
    assert set(truth) <= set(docs) <= everything
    for url, expected in truth.items():
        doc = docs[url]
        assert doc.year == expected.year and doc.title == expected.title, url
        for key, value in expected.metrics.items():
            if value is not None:
                assert doc.metrics.get(key) == pytest.approx(value), (url, key)


def test_jcms_groups_come_from_dataproxy_and_are_archived(site: DemoSite, crawled: Settings) -> None:
    jcms = _truth(site, "jcms")
    embedded = demo_site.columns.JCMS_PER_PAGE * demo_site.columns.JCMS_GROUP
    assert len(jcms) > embedded  # some records are only in the dataproxy answer
    with Catalog(crawled.catalog_path) as catalog:
        proxies = [c for c in catalog.all_captures() if "dataproxy.jsp" in c.url]
        assert len(proxies) == -(-(len(jcms) - embedded) // embedded)
        assert all(c.status == 200 and c.kind == "listing" for c in proxies)
        body = catalog.read_payload(proxies[0], crawled.archive_dir).decode("utf-8")
        assert f"<totalrecord>{len(jcms)}</totalrecord>" in body
        from_proxy = {c.url for c in catalog.report_captures() if c.parent_url == proxies[0].url}
        assert from_proxy and from_proxy <= set(jcms)


def test_files_titles_from_content_disposition_and_one_report_per_file(site: DemoSite, crawled: Settings) -> None:
    files = _truth(site, "files")
    assert {e.route for e in files.values()} == {r for r, _ in demo_site.FILE_ROUTES}
    with Catalog(crawled.catalog_path) as catalog:
        titles = {c.url: c.title for c in catalog.report_captures()}
        decoy = catalog.url_state(f"{site.url}{demo_site.DOWNLOAD}?id={demo_site.DECOY_DOWNLOAD}")
    for url, e in files.items():
        if e.route.startswith("dl-"):  # the link said only "附件下载"
            assert titles[url] == e.title
    viewer = next(e for e in files.values() if e.route == "viewer")
    alias = viewer.url.rsplit("/uploadfile/", 1)[0] + f"{demo_site.DOWNLOAD}?id="
    assert any(u.startswith(alias) for u in titles)  # the second route was crawled …
    with open_store(crawled) as store:
        urls = [d.provenance.url for d in store.iter_documents() if d.title == viewer.title]
    assert urls == [viewer.url]  # … and is still one report
    assert decoy is not None and decoy.kind == "other" and decoy.title == "政府信息公开指南"


def test_reindex_rebuilds_the_same_reports_from_the_archive(crawled: Settings) -> None:
    with open_store(crawled) as store:
        before = {d.id: d.to_dict() for d in store.iter_documents()}
    index_archive(crawled, rebuild=True)
    with open_store(crawled) as store:
        assert {d.id: d.to_dict() for d in store.iter_documents()} == before


def test_a_catalog_rebuilt_from_the_warc_files_gives_the_same_reports(crawled: Settings) -> None:
    """The archive alone: titles from Content-Disposition, the one-report-per-file choice and the states all
    come back from the WARC records."""
    with open_store(crawled) as store:
        before = {d.id: d.to_dict() for d in store.iter_documents()}
    for suffix in ("", "-wal", "-shm"):
        old = crawled.catalog_path.with_name(crawled.catalog_path.name + suffix)
        if old.exists():
            old.unlink()
    Catalog.rebuild_from_archive(crawled.catalog_path, crawled.archive_dir).close()
    index_archive(crawled, rebuild=True)
    with open_store(crawled) as store:
        after = {d.id: d.to_dict() for d in store.iter_documents()}
    assert after.keys() == before.keys()
    for rid, doc in after.items():
        assert doc == before[rid], rid


def test_jcms_page_reading() -> None:
    page = demo_site.build_site(1)[demo_site.JCMS_COLUMN].body.decode("utf-8")
    paging = jpage(page)
    assert paging is not None and paging.per_page == 4 and paging.group_size == 2
    assert dict(paging.params)["unitid"] == "4963" and dict(paging.params)["webname"] == "闽侯县人民政府"
    urls = paging.group_urls("http://x.gov.cn/col/col1001/index.html")
    assert urls and urls[0].startswith(
        "http://x.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=9&endrecord=13&perpage=4"
    )
    read = analyse("http://x.gov.cn/col/col1001/index.html", page)
    reports = [link for link in read.links if link.looks_like_report]
    assert len(reports) == 8 and all("/art/" in link.url for link in reports)
    assert read.is_listing and [link.url for link in read.links if link.pager] == urls


def test_dataproxy_answers_post_like_the_page_script(site: DemoSite) -> None:
    fields = dict(demo_site.columns.JCMS_PARAMS) | {"startrecord": "9", "endrecord": "16", "perpage": "4"}
    posted = requests.post(site.url + demo_site.columns.JCMS_PROXY, data=fields, timeout=10)
    got = requests.get(site.url + demo_site.columns.JCMS_PROXY, params=fields, timeout=10)
    assert posted.status_code == got.status_code == 200 and posted.content == got.content
    assert "<recordset>" in got.text
    wrong = requests.get(site.url + demo_site.columns.JCMS_PROXY, params=fields | {"columnid": "9"}, timeout=10)
    assert wrong.status_code == 404


@pytest.mark.parametrize("style", ["gbk", "rfc5987", "percent"])
def test_content_disposition_names(style: str) -> None:
    name = "卢氏县财政局2024年政府信息公开工作年度报告.pdf"
    assert disposition_filename(disposition_header(name, style)) == name


def test_content_disposition_odd_forms() -> None:
    raw_utf8 = 'attachment; filename="' + "年报.pdf".encode().decode("latin-1") + '"'
    assert disposition_filename(raw_utf8) == "年报.pdf"
    assert disposition_filename("attachment; filename=plain.doc") == "plain.doc"
    assert disposition_filename("inline") is None
    assert disposition_filename('attachment; filename="C:\\\\temp\\\\a.pdf"') == "a.pdf"


def test_file_routes_in_links() -> None:
    assert viewer_target("http://x/pdfjs/web/viewer.html?file=%2Fupload%2Fa.pdf") == "/upload/a.pdf"
    assert viewer_target("http://x/news/view.html?file=a.pdf") is None
    assert url_in_script("window.open('/upload/b.docx','_blank')") == "/upload/b.docx"
    assert url_in_script("javascript:void(0)") is None
    html = """<html><head><title>x</title></head><body>
    <a href="javascript:openFile('../files/c.pdf')">2024年某县政府信息公开工作年度报告</a>
    <span data-url="/files/d.pdf">2023年某县政府信息公开工作年度报告</span>
    <a href="javascript:void(0)" onclick="alert('建设中')">制度</a></body></html>"""
    links = {link.url: link.text for link in analyse("http://x.gov.cn/a/b/list.html", html).links}
    assert links == {
        "http://x.gov.cn/a/files/c.pdf": "2024年某县政府信息公开工作年度报告",
        "http://x.gov.cn/files/d.pdf": "2023年某县政府信息公开工作年度报告",
    }
