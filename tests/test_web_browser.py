"""The search page in headless Chromium, served by waitress on 127.0.0.1 (no internet needed)."""

from __future__ import annotations

import csv
import io
import shutil
import threading
from pathlib import Path

import pytest
from test_service_data import build_documents, make_settings, make_store

from indexer import catalogue
from service.app import create_app
from service.server import make_server
from store import analysis

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
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
