"""Honest crawl states that reach the index: ``removed`` means archived and now gone; a report link that never
answered is a dead link (counted and listed apart); a change of state updates the indexed document in the same
run without parsing it again. Real HTTP servers on 127.0.0.1, real catalog, archive and SQLite index."""

from __future__ import annotations

from pathlib import Path

from crawler_support import pages
from crawler_support.settings import crawl_settings
from crawler_support.site import Page, Reset, Site

from crawler.catalog import Catalog
from crawler.run import crawl
from demo.site import COLUMN, COUNTY_SLUGS, DemoSite, expected_reports, special_paths
from indexer.document import report_id
from indexer.pipeline import index_archive
from nianbao.settings import load_settings
from nianbao.status import collect_status
from service.app import create_app
from store import open_store
from store.query import build_search


def _removed_in_index(settings, url: str) -> bool:
    with open_store(settings) as store:
        doc = store.get(report_id(url))
        assert doc is not None, url
        found = store.search(build_search("", filters={"removed": ["true"]}, size=50))
        assert (report_id(url) in {h.id for h in found.hits}) == doc.removed  # the filter agrees with the document
        return doc.removed


def test_removed_and_back_again_reach_the_index_without_reparsing(tmp_path: Path) -> None:
    removed_path = special_paths()["removed"]
    county = next(c for c, slug in COUNTY_SLUGS.items() if removed_path.startswith(f"{COLUMN}{slug}/"))
    with DemoSite() as site:
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f'[[source]]\nid = "county"\nstart_urls = ["{site.url}{COLUMN}{COUNTY_SLUGS[county]}/index.html"]\n'
            f'link_patterns = ["{COLUMN}{COUNTY_SLUGS[county]}/"]\n',
            encoding="utf-8",
        )
        settings = load_settings(
            env={},
            data_dir=tmp_path / "data",
            sources_file=sources,
            crawl_delay=0.0,
            removal_after_crawls=1,
            crawl_allow_loopback=True,
        )
        url = site.url + removed_path
        crawl(settings)
        first = index_archive(settings)
        assert first.indexed == len([e for e in expected_reports(1) if e.region.county == county])
        assert not _removed_in_index(settings, url)

        site.set_version(2)  # the report is gone from its listing (and answers 404)
        summary = crawl(settings)
        assert summary.removed == [url] and summary.dead_links == []
        stats = index_archive(settings)
        edited_here = int(special_paths()["edited"].startswith(f"{COLUMN}{COUNTY_SLUGS[county]}/"))
        assert stats.indexed == edited_here  # only a silently edited report is parsed; the removal was carried over
        assert stats.states_updated >= 1
        assert "took their new crawl state" in stats.describe()
        assert _removed_in_index(settings, url)
        status = collect_status(settings)
        assert status["archive.removed"] == 1 and status["index.removed.true"] == 1
        assert status["archive.states_not_indexed"] == 0

        site.set_version(1)  # back again
        crawl(settings)
        index_archive(settings)
        assert not _removed_in_index(settings, url)
        with open_store(settings) as store, Catalog(settings.catalog_path) as catalog:
            assert store.get(report_id(url)).last_seen == catalog.url_state(url).last_seen


def test_a_report_link_that_never_answered_is_a_dead_link_not_a_removed_report(tmp_path: Path) -> None:
    with Site() as site:
        site.routes["/list.html"] = Page(
            pages.listing(
                "政府信息公开年报",
                [
                    ("/r/ok.html", "某县2024年政府信息公开工作年度报告"),
                    ("/r/never.html", "某县2023年政府信息公开工作年度报告"),
                    ("/r/refused.html", "某县2022年政府信息公开工作年度报告"),
                ],
            )
        )
        site.routes["/r/ok.html"] = Page(pages.report("某县2024年政府信息公开工作年度报告"))
        site.routes["/r/refused.html"] = Reset()  # /r/never.html: 404 from the start
        settings = crawl_settings(tmp_path, removal_after_crawls=1)
        summary = crawl(settings, url=site.url("/list.html"))
        dead = sorted([site.url("/r/never.html"), site.url("/r/refused.html")])
        assert sorted(summary.dead_links) == dead and summary.removed == []
        assert "dead report links: 2" in summary.describe()
        with Catalog(settings.catalog_path) as catalog:
            assert [s.url for s in catalog.dead_links()] == dead
            assert catalog.removed_urls() == []
            assert catalog.stats()["dead_links"] == 2

        site.routes["/r/ok.html"] = Page("gone", status=404)  # archived before: now it is removed
        again = crawl(settings, url=site.url("/list.html"))
        assert again.removed == [] and sorted(again.dead_links) == dead  # removal is by 404 here, see below
        with Catalog(settings.catalog_path) as catalog:
            assert [s.url for s in catalog.removed_urls()] == [site.url("/r/ok.html")]
            assert [s.url for s in catalog.dead_links()] == dead

        index_archive(settings)
        client = create_app(settings).test_client()
        body = client.get("/api/v1/missing?year=2025&today=2026-06-01").get_json()
        assert sorted(d["url"] for d in body["dead_links"]) == dead
        assert {d["status"] for d in body["dead_links"]} == {404, None}
