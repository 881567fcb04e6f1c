"""The search page in headless Chromium, served by waitress on 127.0.0.1 (no internet needed)."""

from __future__ import annotations

import csv
import io
import re
import shutil
import threading
from pathlib import Path

import pytest
from test_service_data import build_documents, make_settings, make_store

from crawler.render import CHROMIUM_ARGS
from indexer import catalogue
from service.app import create_app
from service.server import make_server
from store import analysis, open_store

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = list(CHROMIUM_ARGS)  # the crawler's renderer launches Chromium the same way
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no chromium binary (apt-get install chromium fonts-noto-cjk, or scripts/bootstrap.sh)"
    ),
]


@pytest.fixture(scope="module")
def docs():
    return build_documents()


@pytest.fixture(scope="module")
def server(docs, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    store = make_store(tmp / "index.sqlite3", docs)
    settings = make_settings(tmp, rate_limit_per_minute=0, host="127.0.0.1", port=0)
    srv = make_server(settings, create_app(settings, store=store))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}"
    srv.close()
    thread.join(timeout=5)
    store.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def matching(docs, phrase):
    return [
        d
        for d in docs
        if analysis.contains(d.title, phrase) or any(analysis.contains(s.text, phrase) for s in d.sections)
    ]


def test_search_facet_report_and_csv(server, browser, docs, tmp_path):
    expected = matching(docs, "依申请公开")
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda req: None if req.url.startswith(server) else outside.append(req.url))

    page.goto(server + "/")
    page.fill("#q", "依申请公开")
    page.click("#go")
    page.wait_for_selector("#total")
    assert page.inner_text("#total") == str(len(expected))
    assert page.locator("li.hit mark").first.inner_text() == "依申请公开"

    # Narrow by a county facet, then add a year (AND across facets).
    page.click('section[data-facet="county"] a[data-value="鲁山县"]')
    page.wait_for_url("**county=*")
    in_county = [d for d in expected if d.region.county == "鲁山县"]
    assert page.inner_text("#total") == str(len(in_county))
    assert "selected" in (page.get_attribute('section[data-facet="county"] a[data-value="鲁山县"]', "class") or "")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=True)

    # Download the CSV of the current results.
    with page.expect_download() as info:
        page.click("#csv")
    download = info.value
    saved = tmp_path / "results.csv"
    download.save_as(saved)
    text = saved.read_text("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert {r[0] for r in rows[1:]} == {d.id for d in in_county}

    # Open a report: the three tables are there, with labels, and the narrative.
    first_title = page.locator("a.hit-title").first
    title = first_title.inner_text()
    first_title.click()
    page.wait_for_selector("#report-title")
    assert page.inner_text("#report-title") == title
    assert page.locator("section.metric-table").count() == len(catalogue.TABLE_LABELS)  # the three + analysis
    assert page.locator("#table-applications tbody th", has_text="（一）予以公开").count() == 1
    doc = next(d for d in docs if d.title == title)
    cell = page.locator('td[data-metric="applications.new.total"]')
    assert cell.inner_text() == f"{doc.metrics['applications.new.total']:,}"
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)

    # The sort select re-runs the search (search.js).
    page.goto(server + "/?q=依申请公开")
    page.select_option("#sort", "-year")
    page.wait_for_url("**sort=-year*")
    years = [int(t.split("·")[2].strip()[:4]) for t in page.locator("li.hit p.meta").all_inner_texts()]
    assert years == sorted(years, reverse=True)
    assert outside == [], f"the page fetched outside resources: {outside}"
    context.close()


def test_docs_page_renders_operations_offline(server, browser):
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(server + "/api/docs")
    page.wait_for_selector("section.op")
    assert page.locator("section.op").count() >= 10
    search_op = page.locator("section.op", has=page.locator("code", has_text="/search")).first
    search_op.locator("input[name=q]").fill("依申请公开")
    search_op.locator("button").click()
    expect(search_op.locator("pre")).to_contain_text("\n200\n")
    expect(search_op.locator("pre")).to_contain_text("依申请公开")
    page.close()


# -- a journalist's walk on the demo data (what `make demo` serves), desktop and phone width -----------------

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def demo_server(demo_data):
    srv = make_server(demo_data.replace(host="127.0.0.1", port=0), create_app(demo_data))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}"
    srv.close()
    thread.join(timeout=5)


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _fits_width(page) -> bool:
    """Nothing wider than the screen except inside a horizontally scrolling table box."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_journalist_walk(demo_server, demo_data, browser, tmp_path):
    from playwright.sync_api import expect

    server = demo_server
    context = browser.new_context(accept_downloads=True, locale="zh-CN", viewport={"width": 1100, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda req: None if req.url.startswith(server) else outside.append(req.url))
    assert page.request.get(server + "/favicon.ico").status == 200

    # Search: every hit's fragments are distinct (a sub-section is not shown again under its part), cuts marked.
    page.goto(server + "/")
    page.fill("#q", "依申请公开")
    page.click("#go")
    page.wait_for_selector("#total")
    for hit in page.locator("li.hit").all():
        texts = [t.replace("…", "") for t in hit.locator("p.fragment").all_inner_texts()]
        assert all(a == b or a not in b for a in texts for b in texts), texts
    assert any("…" in t for t in page.locator("p.fragment").all_inner_texts())

    # A county facet, then the tools of the result: ranking, missing reports, comparison — pages, not JSON.
    page.click('section[data-facet="city"] a[data-value="平顶山市"]')
    page.wait_for_url("**city=*")
    _shot(page, "walk-1-search")
    total = int(page.inner_text("#total"))

    # CSV of the results sorted by a metric: the metric is a column although no columns= was asked for.
    page.select_option("#sort", "-metric:yoy.applications.new.total.abs")
    page.wait_for_url("**sort=*")
    with page.expect_download() as info:
        page.click("#csv")
    saved = tmp_path / "results.csv"
    info.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text("utf-8").lstrip("\ufeff"))))
    assert len(rows) == total + 1
    header = rows[0]
    assert any(h.endswith("[yoy.applications.new.total.abs]") for h in header)

    # 排行 follows the query and the filters; metric and year can be changed on the page.
    page.click("#rankings")
    page.wait_for_selector("#ranking-scope")
    assert "依申请公开" in page.inner_text("#ranking-scope") and "平顶山市" in page.inner_text("#ranking-scope")
    assert page.locator("select#rank").input_value() == "yoy.applications.new.total.abs"
    page.select_option("#rank", "disclosed_share")
    page.wait_for_url("**rank=disclosed_share*")
    values = page.locator("#ranking td.value").all_inner_texts()
    assert values and all(v.endswith("%") for v in values)
    assert [float(v.rstrip("%")) for v in values] == sorted((float(v.rstrip("%")) for v in values), reverse=True)
    _shot(page, "walk-2-rankings")

    # 逾期未发布 for the search's region.
    page.goto(server + "/?q=依申请公开&city=平顶山市")
    page.click("#missing")
    page.wait_for_selector("#missing-summary")
    assert "逾期未发布" in page.inner_text("h1")
    _shot(page, "walk-3-missing")

    # A report: the checks in one line (expandable), failed ones first in Chinese; narrative once.
    with open_store(demo_data) as store:
        failed = next(d for d in store.iter_documents() if d.check_status == "failed")
        ok = next(
            d
            for d in store.iter_documents()
            if d.check_status == "ok" and not d.removed and d.metrics.get("yoy.applications.new.total.rel")
        )
    page.goto(f"{server}/reports/{ok.id}")
    summary = page.locator("#checks-summary")
    assert f"{len(ok.checks)} 项核对" in summary.inner_text()
    expect(page.locator("#checks-details li").first).to_be_hidden()
    summary.click()
    expect(page.locator("#checks-details li").first).to_be_visible()
    assert not re.search(r"[a-z]+\.[a-z_]+", page.inner_text("#checks"))  # no English keys
    titles = page.locator("#sections h3").all_inner_texts()
    assert len(titles) == len(set(titles)) and not any(t.startswith("（") for t in titles)
    assert not any("\t" in p for p in page.locator("#sections p").all_inner_texts())
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", page.inner_text("#captured-at"))
    changes = page.locator('#table-analysis td[data-metric$=".rel"]').all_inner_texts()
    assert changes and all(c == "—" or c.endswith("%") for c in changes)  # growth in percent, not 4.2
    _shot(page, "walk-4-report")
    page.goto(f"{server}/reports/{failed.id}")
    first = page.locator("#failed-checks li").first
    assert re.search(r"[\u4e00-\u9fff]", first.inner_text()) and "/" not in first.inner_text()
    _shot(page, "walk-5-report-failed")

    # The original: saved under its own name, and a readable view beside it.
    page.goto(f"{server}/reports/{ok.id}")
    raw = page.request.get(server + page.get_attribute("#original", "href"))
    assert raw.status == 200 and "filename=" in raw.headers["content-disposition"]
    assert ok.provenance.url.rsplit("/", 1)[-1] in raw.headers["content-disposition"]
    page.click("#read")
    page.wait_for_selector("#reading")
    assert len(page.locator("#reading p").all()) > 5
    _shot(page, "walk-6-original")

    # The agency: each chart has a scale, its unit once, every year label inside the picture.
    page.goto(f"{server}/agencies/{ok.agency.id}")
    chart = page.locator('figure[data-metric="applications.new.total"]')
    assert chart.locator("text.tick").count() >= 2
    assert chart.locator("text.unit").text_content() == "单位：件"
    assert "（件）（件）" not in page.inner_text("main")
    box = chart.locator("svg").bounding_box()
    for label in chart.locator("text.year").all():
        b = label.bounding_box()
        assert b["x"] >= box["x"] - 0.5 and b["x"] + b["width"] <= box["x"] + box["width"] + 0.5
    for change in page.locator("#timeline .change").all_inner_texts():
        assert re.fullmatch(r"[+−±][\d,.]+(（[+−]?[\d,.]+%）|（上年为 0）)?", change), change
    _shot(page, "walk-7-agency")

    # Comparison: the county governments of a city, one metric, by year; chart, table, CSV, a link to share.
    page.goto(server + "/compare")
    page.click('a.city:has-text("平顶山市")')
    page.wait_for_selector("#compare-table")
    agencies = page.locator("#compare-table tbody tr").count()
    assert agencies >= 2 and page.locator("#compare-chart g.series").count() == agencies
    assert page.get_attribute("#permalink", "href") in page.url.replace(server, "")
    with page.expect_download() as info:
        page.click("#compare-csv")
    saved = tmp_path / "compare.csv"
    info.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text("utf-8").lstrip("\ufeff"))))
    assert len(rows) == agencies + 1 and rows[0][0] == "机关"
    _shot(page, "walk-8-compare")

    # Errors on the page are in Chinese.
    page.goto(server + '/?q="依申请')
    assert page.inner_text("#error").startswith("查询有误：") and "position" not in page.inner_text("#error")
    assert outside == [], f"the pages fetched outside resources: {outside}"
    context.close()

    # Phone width, and no JavaScript at all: every page still works and fits the screen.
    phone = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="zh-CN")
    page = phone.new_page()
    for name, url in (
        ("search", "/?q=依申请公开"),
        ("report", f"/reports/{ok.id}"),
        ("agency", f"/agencies/{ok.agency.id}"),
        ("rankings", "/rankings?q=依申请公开"),
        ("missing", "/missing"),
        ("compare", "/compare?city=平顶山市&agency_type=人民政府&level=县"),
        ("original", f"/reports/{ok.id}/read"),
    ):
        resp = page.goto(server + url)
        assert resp.status == 200, url
        assert _fits_width(page), f"{url} is wider than a phone screen"
        page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"))
    page.goto(server + "/rankings?q=依申请公开")
    page.select_option("#rank", "applications.new.total")
    page.click("#rank-go")  # without JavaScript the button submits the choice
    page.wait_for_url("**rank=applications.new.total*")
    assert page.locator("#ranking tbody tr").count() > 0
    phone.close()
