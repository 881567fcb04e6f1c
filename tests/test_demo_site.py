"""The demo website, served for real on 127.0.0.1: pagination, encodings, robots, 304s, versions, truth."""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import urljoin

import docx
import pdfplumber
import pytest
import requests
from bs4 import BeautifulSoup
from protego import Protego
from test_demo_generator import identity_violations
from test_demo_render import expand

from demo import site as demo_site
from demo.seeds import SEEDS, seed_table_numbers
from demo.site import DemoSite, build_site, expected_reports, special_paths


@pytest.fixture(scope="module")
def server():
    with DemoSite() as s:
        yield s


def get(s: DemoSite, path: str, **headers: str) -> requests.Response:
    return requests.get(s.url + path, headers=headers, timeout=10)


def links(html: str, base: str) -> list[tuple[str, str]]:
    soup = BeautifulSoup(html, "lxml")
    return [(urljoin(base, a["href"]), a.get_text(strip=True)) for a in soup.find_all("a", href=True)]


def crawl_column(s: DemoSite, start: str) -> tuple[list[str], set[str]]:
    """Follow 下一页 from ``start``: (list pages visited, report pages they list)."""
    url, visited, listed = s.url + start, [], set()
    while url:
        r = requests.get(url, timeout=10)
        assert r.status_code == 200
        visited.append(url)
        soup = BeautifulSoup(r.text, "lxml")
        items = soup.select("ul.list_ul li a")
        assert len(items) <= demo_site.PAGE_SIZE
        listed |= {urljoin(url, a["href"]).removeprefix(s.url) for a in items}
        nxt = [href for href, text in links(r.text, url) if text == "下一页"]
        url = nxt[0] if nxt else ""
    return visited, listed


def test_site_builds_deterministically_and_from_memory() -> None:
    # Its build time (about 0.5 s) is a benchmark matter, not a test's: a timed assertion failed on a loaded machine.
    demo_site._build.cache_clear()
    first = build_site(1)
    demo_site._build.cache_clear()
    again = build_site(1)
    assert {p: pg.body for p, pg in first.items()} == {p: pg.body for p, pg in again.items()}
    reports = expected_reports(1)
    assert 60 <= len(reports) <= 200  # a county-sized demo: room for new site shapes, not for a runaway generator
    for source in Path(demo_site.__file__).parent.glob("*.py"):
        assert "/work/shared" not in source.read_text(encoding="utf-8")


def test_pagination_lists_every_report_twenty_a_page(server: DemoSite) -> None:
    visited, listed = crawl_column(server, "/zfxxgk/ndbg/index.html")
    expected = {e.page_path for e in expected_reports(1) if e.column == "trs"}  # the other columns list the rest
    assert len(visited) == -(-len(expected) // demo_site.PAGE_SIZE)
    assert visited[1].endswith("/zfxxgk/ndbg/index_1.html")
    assert listed == expected
    page = get(server, "/zfxxgk/ndbg/index_1.html").text
    numbered = {text for _, text in links(page, server.url) if text.isdigit()}
    assert numbered == {str(i + 1) for i in range(len(visited))} - {"2"}  # page 2 is the current one, not a link
    # Per-county sub-columns list exactly that county's reports.
    for url, region in demo_site.county_columns():
        _, listed_here = crawl_column(server, url)
        assert listed_here == {
            e.page_path
            for e in expected_reports(1)
            if f"{e.region.province}/{e.region.city}/{e.region.county}" == region and e.column == "trs"
        }


def test_every_expected_report_is_served_with_validators(server: DemoSite) -> None:
    for e in expected_reports(1, server.url):
        r = requests.get(e.url, timeout=10)
        assert r.status_code == 200, e.url
        assert r.headers["ETag"] and r.headers["Last-Modified"]
        if e.source_format == "html":
            assert e.title in r.content.decode(e.encoding)


def test_gbk_page(server: DemoSite) -> None:
    r = get(server, special_paths()["gbk"])
    assert r.headers["Content-Type"].lower() == "text/html; charset=gbk"
    with pytest.raises(UnicodeDecodeError):
        r.content.decode("utf-8")
    text = r.content.decode("gbk")
    assert '<meta charset="gbk"' in text
    e = next(e for e in expected_reports(1) if e.encoding == "gbk")
    assert e.title in text
    tables = BeautifulSoup(text, "lxml").select("div.TRS_Editor table")
    row = next(row for row in expand(tables[1]) if "本年新收" in row[0])
    assert int(row[-1]) == e.metrics["applications.new.total"]


def test_pdf_and_docx_attachments(server: DemoSite) -> None:
    paths = special_paths()
    by_path = {e.path: e for e in expected_reports(1)}
    pdf_e, docx_e = by_path[paths["pdf"]], by_path[paths["docx"]]
    assert re.search(r"/P0\d{8}\d+\.pdf$", pdf_e.path) and pdf_e.source_format == "pdf"
    page = get(server, pdf_e.page_path).text
    assert paths["pdf"] in {href.removeprefix(server.url) for href, _ in links(page, server.url + pdf_e.page_path)}
    r = get(server, paths["pdf"])
    assert r.headers["Content-Type"] == "application/pdf"
    with pdfplumber.open(io.BytesIO(r.content)) as pdf:
        text = re.sub(r"\s+", "", "".join(p.extract_text() or "" for p in pdf.pages))
    assert pdf_e.title in text
    r = get(server, paths["docx"])
    assert r.headers["Content-Type"].endswith("wordprocessingml.document")
    d = docx.Document(io.BytesIO(r.content))
    assert d.paragraphs[0].text == docx_e.title and len(d.tables) == 3


def test_robots_txt_disallows_the_draft(server: DemoSite) -> None:
    robots = get(server, "/robots.txt")
    assert robots.status_code == 200
    rules = Protego.parse(robots.text)
    home_links = [href for href, _ in links(get(server, "/").text, server.url + "/")]
    draft = next(h for h in home_links if "/ysb/" in h)
    assert not rules.can_fetch(draft, "nianbao")
    assert rules.can_fetch(server.url + "/zfxxgk/ndbg/index.html", "nianbao")
    page = requests.get(draft, timeout=10)  # it exists and looks like a report: only robots keeps it out
    assert page.status_code == 200 and "政府信息公开工作年度报告" in page.text
    assert draft.removeprefix(server.url) not in {e.path for e in expected_reports(1)}


def test_non_report_pages_are_linked_but_not_reports(server: DemoSite) -> None:
    home = {href.removeprefix(server.url) for href, _ in links(get(server, "/").text, server.url + "/")}
    column = {
        href.removeprefix(server.url)
        for href, _ in links(get(server, "/zfxxgk/ndbg/index.html").text, server.url + "/zfxxgk/ndbg/index.html")
    }
    guide, notice = "/zfxxgk/zn/index.html", "/zfxxgk/tzgg/202501/t20250106_90011.html"
    assert {guide, notice} <= home and {guide, notice} <= column
    assert any(p.startswith("/xwzx/gzdt/") for p in home)
    report_paths = {e.page_path for e in expected_reports(1)}
    for path in (guide, notice):
        r = get(server, path)
        assert r.status_code == 200 and "政府信息公开" in r.text and path not in report_paths


def test_conditional_requests_get_304(server: DemoSite) -> None:
    path = next(e.path for e in expected_reports(1) if e.source_format == "html")
    first = get(server, path)
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    by_etag = get(server, path, **{"If-None-Match": etag})
    assert by_etag.status_code == 304 and by_etag.content == b"" and by_etag.headers["ETag"] == etag
    assert get(server, path, **{"If-Modified-Since": modified}).status_code == 304
    assert get(server, path, **{"If-None-Match": '"other"'}).status_code == 200
    assert get(server, path, **{"If-Modified-Since": "Mon, 01 Jan 2018 00:00:00 GMT"}).status_code == 200
    assert get(server, path, **{"If-Modified-Since": "not a date"}).status_code == 200
    head = requests.head(server.url + path, timeout=10)
    assert head.status_code == 200 and head.content == b"" and int(head.headers["Content-Length"]) == len(first.content)
    assert get(server, "/no/such/page.html").status_code == 404


def test_version_two_edits_one_report_and_removes_another() -> None:
    paths = special_paths()
    v1 = {e.path: e for e in expected_reports(1)}
    v2 = {e.path: e for e in expected_reports(2)}
    assert set(v1) - set(v2) == {paths["removed"]}
    assert [p for p, e in v2.items() if e.edited] == [paths["edited"]]
    assert v2[paths["edited"]].metrics != v1[paths["edited"]].metrics
    with DemoSite() as s:
        before = get(s, paths["edited"])
        column_before = get(s, "/zfxxgk/ndbg/index.html")
        assert get(s, paths["removed"]).status_code == 200
        s.set_version(2)
        # The column changed (one item fewer), so date-only revalidation must not answer 304.
        since = column_before.headers["Last-Modified"]
        assert get(s, "/zfxxgk/ndbg/index.html", **{"If-Modified-Since": since}).status_code == 200
        assert get(s, paths["removed"]).status_code == 404
        _, listed = crawl_column(s, "/zfxxgk/ndbg/index.html")
        assert paths["removed"] not in listed and paths["edited"] in listed
        after = get(s, paths["edited"])
        assert after.status_code == 200 and after.content != before.content
        assert after.headers["ETag"] != before.headers["ETag"]
        assert get(s, paths["edited"], **{"If-None-Match": before.headers["ETag"]}).status_code == 200
        tables = BeautifulSoup(after.text, "lxml").select("div.TRS_Editor table")
        row = next(row for row in expand(tables[1]) if "本年新收" in row[0])
        assert int(row[-1]) == v2[paths["edited"]].metrics["applications.new.total"]
        s.set_version(1)
        assert get(s, paths["removed"]).status_code == 200


def test_expected_reports_tell_the_truth() -> None:
    reports = expected_reports(1)
    generated = [e for e in reports if e.kind == "generated"]
    assert len({e.path for e in reports}) == len(reports)
    for e in generated:
        fake = type("R", (), {"metrics": e.metrics, "template": e.template, "title": e.title})()
        assert identity_violations(fake) == [], e.title
    assert {e.region.county for e in reports} >= {"鲁山县", "湛河区", "郏县", "叶县", "宝丰县", "卢氏县"}
    assert {e.year for e in reports} == set(range(2019, 2026))
    assert {e.source_format for e in reports} == {"html", "pdf", "docx"}
    seeds = {e.path: e for e in reports if e.kind == "seed"}
    assert len(seeds) == 5
    by_township = {(e.region.county, e.region.township): e for e in seeds.values()}
    assert {
        ("鲁山县", "库区乡"),
        ("鲁山县", "背孜乡"),
        ("湛河区", "曹镇乡"),
        ("卢氏县", "官坡镇"),
        ("卢氏县", ""),
    } == set(by_township)
    assert by_township[("卢氏县", "")].agency.type == "部门"
    assert by_township[("卢氏县", "官坡镇")].agency.normalized_name == "卢氏县官坡镇人民政府"


def test_seed_pages_keep_the_seed_text_and_its_numbers(server: DemoSite) -> None:
    seeds = {e.title: e for e in expected_reports(1, server.url) if e.kind == "seed"}
    for seed in SEEDS:
        e = seeds[seed.title]
        page = BeautifulSoup(requests.get(e.url, timeout=10).text, "lxml")
        body = page.select_one("div.TRS_Editor").get_text("\n")
        for line in seed.text.splitlines()[3:]:
            prose = line.strip().lstrip("#").strip().removeprefix("- ")
            if prose and "\t" not in line and "|" not in line:
                assert prose in body, (seed.file, prose)
        numbers = seed_table_numbers(seed.text)
        assert numbers and set(numbers) == {"0"}
        assert {v for v in e.metrics.values() if v is not None} == {0}
        # Where table 三's rows give fewer numbers than its seven columns, the truth says "unknown".
        new_row = next(line for line in seed.text.splitlines() if "本年新收" in line)
        complete = sum(c.strip().isdigit() for c in re.split(r"[\t|]", new_row)) == 7
        assert (e.metrics["applications.new.total"] is None) != complete
        assert e.metrics["review.total"] == 0 and e.metrics["active.licensing.decisions"] == 0
        cells = [c for t in page.select("div.TRS_Editor table") for row in expand(t) for c in row]
        assert [c for c in cells if c.isdigit()] and {c for c in cells if c.isdigit()} == {"0"}


def test_every_page_changed_in_version_two_advertises_it() -> None:
    v1, v2 = build_site(1), build_site(2)
    changed = [p for p in v1 if p in v2 and v1[p].body != v2[p].body]
    assert special_paths()["edited"] in changed and any(p.startswith("/zfxxgk/ndbg/index") for p in changed)
    for path in changed:
        assert v2[path].headers["ETag"] != v1[path].headers["ETag"], path
        assert v2[path].modified > v1[path].modified, path


def _stop_in_child(site) -> None:
    site.stop()


def test_a_forked_copy_of_the_site_leaves_without_waiting_for_the_serving_thread():
    """`nianbao demo` serves with forked workers inside `with DemoSite()`: a worker leaving the block must not
    wait for the site's serving thread, which only the parent has (it hung until the graceful timeout)."""
    import multiprocessing

    with DemoSite() as site:
        child = multiprocessing.get_context("fork").Process(target=_stop_in_child, args=(site,))
        child.start()
        child.join(timeout=20)
        stuck = child.is_alive()
        if stuck:
            child.kill()
        assert not stuck and child.exitcode == 0
        assert requests.get(site.url + "/", timeout=10).status_code == 200  # the parent's site still serves
