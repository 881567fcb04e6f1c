"""The insights stage inside the data line: demo site (HTTP on 127.0.0.1) → crawl → archive → index.

Expected changes come from the demo site's own truth (``demo.site.expected_reports``), per agency id.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crawler.render import find_browser
from crawler.run import crawl
from demo.site import DemoSite
from indexer.document import report_id
from indexer.pipeline import index_archive
from nianbao.demo_run import DEMO_COLUMN
from nianbao.settings import Settings, load_settings
from store import open_store

KEY = "applications.new.total"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoSite, Settings, str]]:
    with DemoSite() as site:
        settings = load_settings(
            env={}, data_dir=tmp_path_factory.mktemp("data"), crawl_delay=0.0, crawl_allow_loopback=True
        )
        summary = crawl(settings, url=site.url.rstrip("/") + DEMO_COLUMN)
        assert not summary.failed, summary.describe()
        stats = index_archive(settings)
        yield site, settings, stats.describe()


def test_indexing_runs_the_insights_stage(indexed):
    site, settings, described = indexed
    assert "insights:" in described and "failed" not in described.split("insights:")[1].split("\n")[0]
    truth = [
        e
        for e in site.expected_reports()
        if e.kind == "generated" and e.metrics.get(KEY) is not None and (e.column != "js" or find_browser())
    ]
    by_agency_year = {}
    with open_store(settings) as store:
        docs = {e.url: store.get(report_id(e.url)) for e in truth}
        for e in truth:
            by_agency_year[(docs[e.url].agency.id, e.year)] = e
        checked = 0
        for e in truth:
            doc = docs[e.url]
            prev = by_agency_year.get((doc.agency.id, e.year - 1))
            if prev is None:
                continue
            assert doc.metrics.get(f"yoy.{KEY}.abs") == e.metrics[KEY] - prev.metrics[KEY], e.url
            assert doc.analysis.previous_id == report_id(prev.url)
            assert any(c.name.startswith("cross.carry.") for c in doc.checks)
            checked += 1
        assert checked >= 5


def test_indexing_again_without_news_leaves_the_analysis_alone(indexed):
    _, settings, _ = indexed
    with open_store(settings) as store:
        before = {d.id: d.to_dict() for d in store.iter_documents()}
    stats = index_archive(settings)
    assert stats.indexed == 0 and stats.insights == ""  # nothing new: the stage is skipped
    index_archive(settings, rebuild=True)
    with open_store(settings) as store:
        assert {d.id: d.to_dict() for d in store.iter_documents()} == before
