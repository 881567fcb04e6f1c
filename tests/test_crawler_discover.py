"""Discovery and the sources file: pure functions over real page shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from crawler_support import pages

from crawler.discover import analyse, canonical_url, looks_like_report_title
from crawler.fetch import decode_text
from crawler.sources import SourcesError, adhoc_source, load_sources

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "reports"  # real report pages
REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("鲁山县库区乡2024年政府信息公开工作年度报告", True),
        ("平潭综合实验区管委会办公室2025年度政府信息公开工作年度报告", True),
        ("上海市人民政府办公厅2025年度政府信息公开工作报告", True),
        ("二〇二三年政府信息公开年报", True),
        ("政府信息公开年报", False),  # the column, not a report
        ("2024年政府工作报告", False),
        ("关于2024年度财政预算执行情况的报告", False),
        ("2024年法治政府建设年度报告", False),
    ],
)
def test_report_titles(title: str, expected: bool) -> None:
    assert looks_like_report_title(title) is expected


def test_a_real_report_page_is_recognised() -> None:
    raw = (FIXTURES / "pingtan-gwh-2025.html").read_bytes()
    page = analyse("https://www.pingtan.gov.cn/zwgk/t20260120_104919.htm", decode_text(raw, "text/html"))
    assert page.is_report and page.kind == "report"
    assert "2025年度政府信息公开工作年度报告" in page.title


def test_listing_with_pager_and_report_links_is_a_listing_not_a_report() -> None:
    links = [(f"/nb/{y}.html", f"{y}年政府信息公开工作年度报告") for y in range(2019, 2025)]
    html = pages.listing(
        "政府信息公开工作年度报告", links, pager='<a href="index_1.html">下一页</a> <a href="index_5.html">尾页</a>'
    )
    page = analyse("http://gov.test/nb/index.html", html)
    assert not page.is_report and page.kind == "listing"
    pagers = {link.url for link in page.links if link.pager}
    assert pagers == {"http://gov.test/nb/index_1.html", "http://gov.test/nb/index_5.html"}
    reports = {link.url for link in page.links if link.looks_like_report}
    assert reports == {f"http://gov.test/nb/{y}.html" for y in range(2019, 2025)}
    home = next(link for link in page.links if link.url == "http://gov.test/")
    assert not home.pager  # "首页" in the navigation is the home page


def test_trs_create_page_html_pager_is_expanded() -> None:
    html = """<html><body><ul><li><a href="./202401/t1.html">2023年政府信息公开工作年度报告</a></li></ul>
    <script>createPageHTML(4, 0, "index", "shtml");</script></body></html>"""
    page = analyse("http://gov.test/zfxxgk/ndbg/index.shtml", html)
    pagers = sorted(link.url for link in page.links if link.pager)
    expected = ["http://gov.test/zfxxgk/ndbg/index.shtml"] + [
        f"http://gov.test/zfxxgk/ndbg/index_{n}.shtml" for n in (1, 2, 3)
    ]
    assert pagers == sorted(expected)


def test_report_page_attachments_including_download_scripts() -> None:
    html = pages.report(
        "2024年政府信息公开工作年度报告",
        attachments=[("P020250120.pdf", "年报.pdf"), ("/down.jsp?id=9", "统计表.xlsx"), ("/x/pic.jpg", "图片")],
    )
    page = analyse("http://gov.test/nb/2024/t1.html", html)
    assert page.is_report
    assert {link.url for link in page.attachments()} == {
        "http://gov.test/nb/2024/P020250120.pdf",
        "http://gov.test/down.jsp?id=9",
    }
    assert all("pic.jpg" not in link.url for link in page.links)  # images are never fetched


def test_truncated_anchor_text_falls_back_to_the_title_attribute() -> None:
    full = "平顶山市鲁山县人民政府办公室2024年政府信息公开工作年度报告"
    html = f'<html><body><a href="/nb/t1.html" title="{full}">平顶山市鲁山县人民政府办公室2024年政府…</a></body></html>'
    (link,) = analyse("http://gov.test/nb/", html).links
    assert link.text == full and link.looks_like_report


def test_news_page_is_other() -> None:
    assert analyse("http://gov.test/xw/1.html", pages.news("县长调研安全生产工作")).kind == "other"


def test_canonical_urls() -> None:
    assert canonical_url("HTTP://Gov.Test:80/a/附件.pdf#top") == "http://gov.test/a/%E9%99%84%E4%BB%B6.pdf"
    assert canonical_url("https://gov.test") == "https://gov.test/"
    assert canonical_url("http://gov.test:8080/list?page=2") == "http://gov.test:8080/list?page=2"


def test_example_sources_file_is_valid() -> None:
    sources = load_sources(REPO / "sources.example.toml")
    assert len(sources) >= 3
    assert all(s.start_urls and s.region and len(s.schedule.split()) == 5 for s in sources)
    lushan = next(s for s in sources if s.id == "lushan-county")
    assert lushan.allows("https://www.lushan.gov.cn/zfxxgk/x.html")
    assert not lushan.allows("https://www.example.com/")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[source]]\nid = "a b"\nstart_urls = ["http://x.test/"]\n', "'id'"),
        ('[[source]]\nid = "a"\n', "start_urls"),
        ('[[source]]\nid = "a"\nstart_urls = ["http://x.test/"]\nschedule = "daily"\n', "schedule"),
        ('[[source]]\nid = "a"\nstart_urls = ["http://x.test/"]\nlink_patterns = ["("]\n', "bad link pattern"),
        ('[[source]]\nid = "a"\nstart_urls = ["http://x.test/"]\ncolour = "red"\n', "unknown field"),
        ('[[source]]\nid = "a"\nstart_urls = ["http://x.test/"]\n[[source]]\nid = "a"\nstart_urls = ["http://y.test/"]\n',
         "duplicate"),
        ("[[source]\n", "cannot read"),
    ],
)  # fmt: skip
def test_bad_sources_files_are_clear_errors(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(SourcesError, match=message):
        load_sources(path)


def test_adhoc_source_stays_on_its_host() -> None:
    src = adhoc_source("http://www.lushan.gov.cn/zfxxgk/nb/", "河南省/平顶山市/鲁山县")
    assert src.allows("http://www.lushan.gov.cn/other/page.html")
    assert not src.allows("http://www.pds.gov.cn/")
    with pytest.raises(SourcesError):
        adhoc_source("lushan.gov.cn")
