"""Crawls of small real sites on 127.0.0.1: discovery, attachments, GBK, robots.txt, revisits, removal."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from crawler_support import pages
from crawler_support.settings import crawl_settings
from crawler_support.site import Page, Site

from crawler.archive import warc_files
from crawler.catalog import Catalog
from crawler.run import CrawlError, crawl

REGION = "河南省/平顶山市/鲁山县"
NAV_LINKS = {"/", "/xwzx/"}  # navigation links the page builders carry and the test sites do not serve


def _failed_paths(summary, site: Site) -> set[str]:
    return {url.removeprefix(site.origin) for url, _ in summary.failed}


def _column_site(site: Site, *, years: range = range(2019, 2025), per_page: int = 2) -> dict[str, bytes]:
    """A 年报 column paginated index.html → index_1.html …, one report page per year, each with a PDF.

    Returns the bytes served for every report and attachment URL (what the archive must hold).
    """
    served: dict[str, bytes] = {}
    years_desc = list(reversed(years))
    chunks = [years_desc[i : i + per_page] for i in range(0, len(years_desc), per_page)]
    for n, chunk in enumerate(chunks):
        links = [(f"/nb/{y}/t{y}0120_1.html", f"鲁山县{y}年政府信息公开工作年度报告") for y in chunk]
        links.append(("/xw/notice.html", "关于开展安全生产检查的通知"))
        pager = f'<a href="index_{n + 1}.html">下一页</a>' if n + 1 < len(chunks) else ""
        name = "index.html" if n == 0 else f"index_{n}.html"
        site.routes[f"/nb/{name}"] = Page(pages.listing("政府信息公开年报", links, pager=pager))
        for y in chunk:
            pdf = b"%PDF-1.4\n" + f"report {y}".encode() + hashlib.sha256(str(y).encode()).digest()
            page = Page(
                pages.report(f"鲁山县{y}年政府信息公开工作年度报告", attachments=[(f"P0{y}.pdf", f"{y}年报.pdf")])
            )
            site.routes[f"/nb/{y}/t{y}0120_1.html"] = page
            site.routes[f"/nb/{y}/P0{y}.pdf"] = Page(pdf, content_type="application/pdf")
            served[site.url(f"/nb/{y}/t{y}0120_1.html")] = page.data()
            served[site.url(f"/nb/{y}/P0{y}.pdf")] = pdf
    site.routes["/xw/notice.html"] = Page(pages.news("关于开展安全生产检查的通知"))
    return served


def test_pagination_reports_and_attachments_are_found_and_archived_byte_for_byte(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path, warc_max_bytes=4000)  # small: the archive rotates files
    with Site() as site:
        served = _column_site(site)
        summary = crawl(settings, url=site.url("/nb/index.html"), region=REGION)
        assert _failed_paths(summary, site) == NAV_LINKS
    assert summary.new_reports == len(served)
    with Catalog(settings.catalog_path) as catalog:
        captures = {c.url: c for c in catalog.report_captures()}
        assert set(captures) == set(served)
        for url, body in served.items():
            cap = captures[url]
            assert catalog.read_payload(cap, settings.archive_dir) == body
            assert cap.region == REGION
            if url.endswith(".pdf"):
                assert cap.kind == "attachment"
                assert (
                    cap.parent_url
                    == url.rsplit("/", 1)[0] + "/" + Path(url).name.replace("P0", "t")[:-4] + "0120_1.html"
                )
                assert cap.title.endswith("年报.pdf")
            else:
                assert cap.kind == "report"
                assert "政府信息公开工作年度报告" in cap.title
        notice = catalog.captures_of(site.url("/xw/notice.html"))
        assert len(notice) == 1 and notice[0].kind == "other"  # archived, not a report
        assert catalog.captures_of(site.url("/nb/index_2.html"))[0].kind == "listing"
        files = warc_files(settings.archive_dir)
        assert len(files) > 3 and all(f.stat().st_size < 4000 + 3000 for f in files)
        assert {c.warc_file for c in catalog.all_captures()} <= {f.name for f in files}


def test_gbk_site_is_crawled_and_raw_bytes_kept(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path)
    title = "平顶山市2023年度政府信息公开工作年度报告"
    listing_html = pages.listing("信息公开年报", [("/r/2023.htm", title)], charset="gbk").encode("gbk")
    report_html = pages.report(title, charset="gb2312", attachments=[("/r/附件.docx", "附件：年报全文.docx")])
    report_bytes = report_html.encode("gbk")
    docx = b"PK\x03\x04 docx bytes"
    with Site() as site:
        # No charset in the HTTP header: the crawler must find it in <meta> (or guess it).
        site.routes["/r/index.htm"] = Page(listing_html, content_type="text/html")
        site.routes["/r/2023.htm"] = Page(report_bytes, content_type="text/html")
        site.routes["/r/%E9%99%84%E4%BB%B6.docx"] = Page(docx, content_type="application/octet-stream")
        summary = crawl(settings, url=site.url("/r/index.htm"))
        assert _failed_paths(summary, site) <= NAV_LINKS
    with Catalog(settings.catalog_path) as catalog:
        by_url = {c.url: c for c in catalog.report_captures()}
        report = by_url[site.url("/r/2023.htm")]
        assert report.title == title
        assert catalog.read_payload(report, settings.archive_dir) == report_bytes
        attachment = by_url[site.url("/r/%E9%99%84%E4%BB%B6.docx")]
        assert attachment.kind == "attachment" and attachment.title == "附件：年报全文.docx"
        assert catalog.read_payload(attachment, settings.archive_dir) == docx


def test_robots_txt_is_respected_and_user_agent_is_clear(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path, user_agent="nianbao-test/1.0 (+archive)")
    with Site() as site:
        _column_site(site, years=range(2023, 2025))
        site.routes["/robots.txt"] = Page("User-agent: *\nDisallow: /nb/2023/\n", content_type="text/plain")
        summary = crawl(settings, url=site.url("/nb/index.html"))
        fetched = [path for path, _ in site.log]
        agents = {headers.get("User-Agent") for _, headers in site.log}
    assert not any(p.startswith("/nb/2023/") for p in fetched)
    assert "/nb/2024/t20240120_1.html" in fetched
    assert summary.blocked == 1
    assert agents == {"nianbao-test/1.0 (+archive)"}


def test_second_crawl_uses_conditional_requests_and_writes_revisits(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path)
    with Site() as site:
        served = _column_site(site, years=range(2023, 2025))
        report_path = "/nb/2024/t20240120_1.html"
        site.routes[report_path].etag = '"r1"'
        site.routes["/nb/index.html"].etag = '"list-v1"'  # a 304 listing: its links come from the archive
        site.routes["/nb/2023/P02023.pdf"].last_modified = "Mon, 20 Jan 2025 08:00:00 GMT"
        crawl(settings, url=site.url("/nb/index.html"))
        site.log.clear()
        again = crawl(settings, url=site.url("/nb/index.html"))
        conditional = {p: (h.get("If-None-Match"), h.get("If-Modified-Since")) for p, h in site.log}
    assert conditional[report_path] == ('"r1"', None)
    assert conditional["/nb/2023/P02023.pdf"] == (None, "Mon, 20 Jan 2025 08:00:00 GMT")
    assert again.new_reports == 0 and again.changed == 0
    assert again.unchanged == again.pages
    with Catalog(settings.catalog_path) as catalog:
        for url, body in served.items():
            first, second = catalog.captures_of(url)
            assert first.revisit_of is None and second.revisit_of == first.id
            assert second.digest == first.digest
            assert catalog.read_payload(second, settings.archive_dir) == body  # a revisit reads the original
        assert catalog.captures_of(site.url(report_path))[1].status == 304
        # Revisits are not stored again: the report set is the same first captures.
        assert {c.id for c in catalog.report_captures()} == {catalog.captures_of(u)[0].id for u in served}


def test_silent_edit_is_a_new_capture_and_both_versions_stay(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path)
    with Site() as site:
        _column_site(site, years=range(2024, 2025))
        pdf_path = "/nb/2024/P02024.pdf"
        old = site.routes[pdf_path].data()
        crawl(settings, url=site.url("/nb/index.html"))
        new = old.replace(b"report", b"REPORT (corrected)")
        site.routes[pdf_path] = Page(new, content_type="application/pdf")
        summary = crawl(settings, url=site.url("/nb/index.html"))
    assert summary.changed == 1 and summary.new_reports == 0
    with Catalog(settings.catalog_path) as catalog:
        versions = catalog.captures_of(site.url(pdf_path))
        assert [v.revisit_of for v in versions] == [None, None]
        assert [catalog.read_payload(v, settings.archive_dir) for v in versions] == [old, new]
        newest = [c for c in catalog.report_captures() if c.url == site.url(pdf_path)]
        assert [c.id for c in newest] == [versions[1].id]


def _sources_file(tmp_path: Path, site: Site) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        f"""[[source]]
id = "lushan"
name = "鲁山县人民政府"
region = "{REGION}"
start_urls = ["{site.url("/nb/index.html")}"]
schedule = "0 3 * * *"
""",
        encoding="utf-8",
    )
    return path


def test_removed_report_404_and_absence_from_listings(tmp_path: Path) -> None:
    with Site() as site:
        settings = crawl_settings(tmp_path, sources_file=_sources_file(tmp_path, site), removal_after_crawls=2)
        _column_site(site, years=range(2022, 2025), per_page=3)
        crawl(settings, source_id="lushan")
        gone_url = site.url("/nb/2024/t20240120_1.html")
        hidden_url = site.url("/nb/2022/t20220120_1.html")
        site.routes["/nb/2024/t20240120_1.html"] = Page("not found", status=404)
        # 2022 disappears from the listing but the page itself still answers.
        site.routes["/nb/index.html"] = Page(
            pages.listing(
                "政府信息公开年报",
                [("/nb/2024/t20240120_1.html", "鲁山县2024年政府信息公开工作年度报告"),
                 ("/nb/2023/t20230120_1.html", "鲁山县2023年政府信息公开工作年度报告")],
            )
        )  # fmt: skip
        with Catalog(settings.catalog_path) as catalog:
            seen_before = catalog.url_state(hidden_url).last_seen
        first = crawl(settings, source_id="lushan")
        with Catalog(settings.catalog_path) as catalog:
            assert catalog.url_state(gone_url).removed
            assert not catalog.url_state(hidden_url).removed  # missing once; the threshold is 2
            assert catalog.url_state(hidden_url).missing_count == 1
        second = crawl(settings, source_id="lushan")
    assert (gone_url, "HTTP 404") in first.failed
    assert hidden_url in second.removed and hidden_url not in first.removed
    with Catalog(settings.catalog_path) as catalog:
        hidden = catalog.url_state(hidden_url)
        assert hidden.removed and hidden.removed_at and hidden.last_seen == seen_before
        # The archive keeps removed reports.
        kept = {c.url for c in catalog.report_captures()}
        assert {gone_url, hidden_url} <= kept


def test_adhoc_crawl_stays_on_its_host(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path)
    with Site() as site, Site("127.0.0.2") as other:
        other.routes["/elsewhere.html"] = Page(pages.report("某县2024年政府信息公开工作年度报告"))
        site.routes["/nb/index.html"] = Page(
            pages.listing("年报", [(other.url("/elsewhere.html"), "某县2024年政府信息公开工作年度报告")])
        )
        crawl(settings, url=site.url("/nb/index.html"))
        assert other.log == []


def test_clear_errors_when_there_is_nothing_to_crawl(tmp_path: Path) -> None:
    with pytest.raises(CrawlError, match="no sources"):
        crawl(crawl_settings(tmp_path))
    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nid = "x"\nstart_urls = ["ftp://nowhere"]\n', encoding="utf-8")
    with pytest.raises(CrawlError, match="not an http"):
        crawl(crawl_settings(tmp_path, sources_file=bad))
    with pytest.raises(CrawlError, match="no source 'nope'"):
        crawl(crawl_settings(tmp_path, sources_file=Path("sources.example.toml")), source_id="nope")


def test_on_capture_sees_every_committed_capture_and_a_stopped_crawl_resumes(tmp_path: Path) -> None:
    import threading

    settings = crawl_settings(tmp_path)
    stop = threading.Event()
    seen = []

    def on_capture(capture) -> None:
        seen.append(capture)
        if len(seen) >= 4:
            stop.set()  # what SIGTERM does in the scheduler

    with Site() as site:
        served = _column_site(site)
        first = crawl(settings, url=site.url("/nb/index.html"), on_capture=on_capture, stop=stop)
        with Catalog(settings.catalog_path) as catalog:
            assert [c.id for c in catalog.all_captures()] == [c.id for c in seen]
        fetched_first = {path for path, _ in site.log}
        site.log.clear()
        second = crawl(settings, url=site.url("/nb/index.html"))
        fetched_second = [path for path, _ in site.log if path != "/robots.txt"]
    assert first.interrupted and "INTERRUPTED" in first.describe()
    assert second.resumed and second.run_id == first.run_id and not second.interrupted
    archived_in_first = {c.url.removeprefix(site.origin) for c in seen}
    assert not archived_in_first & set(fetched_second)  # not fetched again
    assert len(fetched_second) == len(set(fetched_second))
    assert fetched_first  # sanity: the first run did fetch
    with Catalog(settings.catalog_path) as catalog:
        assert {c.url for c in catalog.report_captures()} == set(served)
