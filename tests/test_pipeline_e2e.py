"""The whole data line on real parts: demo site (HTTP on 127.0.0.1) → crawl → WARC archive → parse →
SQLite store → Flask API. Expected values come from the demo site's own truth, not from the pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.catalog import Catalog
from crawler.render import find_browser
from crawler.run import crawl
from demo.site import DemoSite, expected_reports
from indexer.document import PARSER_VERSION, report_id
from indexer.pipeline import index_archive
from nianbao.demo_run import DEMO_COLUMN
from nianbao.settings import Settings, load_settings
from service.app import create_app
from store import open_store
from store.query import build_search


@pytest.fixture(scope="module")
def pipeline(site: DemoSite, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("data")
    settings = load_settings(env={}, data_dir=data, crawl_delay=0.0, request_timeout=5.0, crawl_allow_loopback=True)
    summary = crawl(settings, url=site.url.rstrip("/") + DEMO_COLUMN)
    assert not summary.failed, summary.describe()
    stats = index_archive(settings)
    assert stats.indexed > 0, stats.describe()
    return settings


def test_every_report_on_the_site_is_indexed_with_its_true_numbers(site: DemoSite, pipeline: Settings) -> None:
    # The JavaScript-filled column is found only with a browser (the crawl says it skipped it otherwise).
    truth = [e for e in expected_reports() if e.column != "js" or find_browser()]
    with open_store(pipeline) as store:
        indexed = {doc.provenance.url: doc for doc in store.iter_documents()}
        for expected in truth:
            url = site.url.rstrip("/") + expected.path if hasattr(expected, "path") else expected.url
            doc = indexed.get(url) or store.get(report_id(url))
            assert doc is not None, f"report {url} ({expected.agency}) was not indexed"
            assert doc.year == expected.year, url
            for key, value in expected.metrics.items():
                if value is not None:
                    assert doc.metrics.get(key) == pytest.approx(value), (url, key)
        # Non-report pages (news, notices, the 公开指南) are archived but not indexed as reports.
        assert len(indexed) == len(truth)


def test_reindex_rebuilds_the_same_store_from_the_archive_alone(pipeline: Settings) -> None:
    with open_store(pipeline) as store:
        before = {d.id: d.to_dict() for d in store.iter_documents()}
    index_archive(pipeline, rebuild=True)
    with open_store(pipeline) as store:
        after = {d.id: d.to_dict() for d in store.iter_documents()}
    assert after == before


def test_an_index_written_by_another_version_is_rebuilt_by_the_next_run(pipeline: Settings) -> None:
    import sqlite3

    with open_store(pipeline) as store:
        before = {d.id: d.to_dict() for d in store.iter_documents()}
    with sqlite3.connect(pipeline.index_path) as conn:
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    with open_store(pipeline) as store:
        assert store.outdated()
    stats = index_archive(pipeline)
    assert "another version" in stats.rebuilt_because and "rebuilt the whole index" in stats.describe()
    with open_store(pipeline) as store:
        assert store.outdated() is None
        assert {d.id: d.to_dict() for d in store.iter_documents()} == before


def test_reports_read_by_an_earlier_parser_are_parsed_again_by_the_next_run(pipeline: Settings) -> None:
    """A new parser (PARSER_VERSION) re-derives the index from the archive once, then indexes incrementally."""
    import sqlite3

    with open_store(pipeline) as store:
        before = {d.id: d.to_dict() for d in store.iter_documents()}
    with sqlite3.connect(pipeline.catalog_path) as conn:  # as an older nianbao left it
        conn.execute("UPDATE indexed SET parser = '0.1.0' WHERE rowid % 2 = 0")
        conn.execute("UPDATE indexed SET parser = '' WHERE rowid % 2 = 1")
    with Catalog(pipeline.catalog_path) as catalog:
        marked = sum(catalog.parsers_indexed().values())
    stats = index_archive(pipeline)
    assert "earlier parser" in stats.rebuilt_because and "0.1.0" in stats.rebuilt_because, stats.describe()
    assert stats.indexed == len(before)
    with Catalog(pipeline.catalog_path) as catalog:
        assert catalog.parsers_indexed() == {PARSER_VERSION: marked}
    with open_store(pipeline) as store:
        assert {d.id: d.to_dict() for d in store.iter_documents()} == before
        assert {d.parser_version for d in store.iter_documents()} == {PARSER_VERSION}
    again = index_archive(pipeline)
    assert not again.rebuilt_because and again.indexed == 0


def test_indexing_again_parses_nothing_new(pipeline: Settings) -> None:
    stats = index_archive(pipeline)
    assert stats.indexed == 0 and stats.already_indexed > 0


def test_search_api_answers_the_quickstart_query(pipeline: Settings) -> None:
    client = create_app(pipeline).test_client()
    resp = client.get("/api/v1/search", query_string={"q": "依申请公开", "size": 50})
    assert resp.status_code == 200
    body = resp.get_json()
    agencies = {hit["agency"]["normalized_name"] or hit["agency"]["name"] for hit in body["hits"]}
    assert len(agencies) >= 5
    for hit in body["hits"]:
        assert any("<mark>" in frag["text"] for frag in hit["fragments"]), hit["id"]
    facet_names = {f["name"] for f in body["facets"]}
    assert {"year", "county"} <= facet_names
    with open_store(pipeline) as store:
        assert body["total"] == store.search(build_search("依申请公开")).total


def test_a_silent_edit_becomes_a_second_capture_and_updates_the_report(site: DemoSite, pipeline: Settings) -> None:
    site.set_version(2)
    try:
        crawl(pipeline, url=site.url.rstrip("/") + DEMO_COLUMN)
        index_archive(pipeline)
    finally:
        site.set_version(1)
    with Catalog(pipeline.catalog_path) as catalog:
        changed = [c for c in catalog.report_captures() if len(catalog.captures_of(c.url)) >= 2]
        versions = {c.url: {x.digest for x in catalog.captures_of(c.url) if x.revisit_of is None} for c in changed}
    assert any(len(digests) >= 2 for digests in versions.values()), "the edited page should have two versions"


def test_cli_parse_prints_json_lines(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from nianbao.cli import main

    report = Path(__file__).parent.parent / "demo" / "data"
    seeds = sorted(report.rglob("*.txt"))[:2]
    assert seeds, "demo/data should carry the seed reports"
    result = CliRunner().invoke(main, ["parse", *map(str, seeds)])
    assert result.exit_code == 0, result.output
    assert len([line for line in result.output.splitlines() if line.startswith("{")]) == len(seeds)
    missing = CliRunner().invoke(main, ["parse", str(tmp_path / "nope.txt")])
    assert missing.exit_code != 0


def test_a_damaged_archive_record_is_reported_and_the_rest_indexed(site: DemoSite, tmp_path: Path) -> None:
    """Bad input loses nothing: an unreadable record is reported, left unindexed for the next run, and
    every other report is indexed."""
    settings = load_settings(
        env={}, data_dir=tmp_path / "data", crawl_delay=0.0, request_timeout=5.0, crawl_allow_loopback=True
    )
    crawl(settings, url=site.url.rstrip("/") + DEMO_COLUMN)
    with Catalog(settings.catalog_path) as catalog:
        victim = next(c for c in catalog.report_captures() if c.kind == "report")
        others = {c.url for c in catalog.report_captures()} - {victim.url}
    path = settings.archive_dir / victim.warc_file
    data = bytearray(path.read_bytes())
    data[victim.offset : victim.offset + victim.length] = b"\0" * victim.length  # the record is destroyed
    path.write_bytes(bytes(data))

    stats = index_archive(settings)
    assert [e for e in stats.unreadable if victim.url in e], stats.describe()
    assert victim.url in stats.describe()
    with Catalog(settings.catalog_path) as catalog:
        assert not catalog.is_indexed(victim.digest)
    with open_store(settings) as store:
        indexed_urls = {d.provenance.url for d in store.iter_documents()}
    assert victim.url not in indexed_urls
    assert indexed_urls and indexed_urls <= others


def test_a_rebuild_leaves_a_report_it_cannot_read_for_the_next_run(site: DemoSite, tmp_path: Path) -> None:
    """A report indexed before its archived record was damaged is not in the rebuilt index, so it must not
    stay marked as indexed: the next run tries it again (and would index it once the archive is repaired)."""
    settings = load_settings(
        env={}, data_dir=tmp_path / "data", crawl_delay=0.0, request_timeout=5.0, crawl_allow_loopback=True
    )
    crawl(settings, url=site.url.rstrip("/") + DEMO_COLUMN)
    assert index_archive(settings).indexed
    with Catalog(settings.catalog_path) as catalog:
        victim = next(c for c in catalog.report_captures() if c.kind == "report")
        assert catalog.is_indexed(victim.digest)
    path = settings.archive_dir / victim.warc_file
    original = path.read_bytes()
    data = bytearray(original)
    data[victim.offset : victim.offset + victim.length] = b"\0" * victim.length
    path.write_bytes(bytes(data))

    stats = index_archive(settings, rebuild=True)
    assert [e for e in stats.unreadable if victim.url in e], stats.describe()
    with Catalog(settings.catalog_path) as catalog:
        assert not catalog.is_indexed(victim.digest)
    path.write_bytes(original)  # the archive is repaired (e.g. restored from a replica)
    retried = index_archive(settings)
    assert retried.indexed == 1 and not retried.unreadable, retried.describe()
    with open_store(settings) as store:
        assert victim.url in {d.provenance.url for d in store.iter_documents()}


def test_parsing_in_helper_processes_gives_the_same_index(
    site: DemoSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big run parses in spawned helper processes (indexer.parse_pool); the index is the same as when
    this process parses alone, in the same order, with the same wrapper pages and non-reports set aside."""
    from indexer import parse_pool

    settings = load_settings(
        env={}, data_dir=tmp_path / "data", crawl_delay=0.0, request_timeout=5.0, crawl_allow_loopback=True
    )
    crawl(settings, url=site.url.rstrip("/") + DEMO_COLUMN)
    alone = index_archive(settings)  # the demo's ~90 captures: below PARALLEL_MIN, parsed here
    with open_store(settings) as store:
        before = {d.id: d.to_dict() for d in store.iter_documents()}

    submitted: list[str] = []

    class CountingPool(parse_pool.ProcessPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            submitted.append(fn.__self__.url)
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(parse_pool, "PARALLEL_MIN", 1)
    monkeypatch.setattr(parse_pool, "ProcessPoolExecutor", CountingPool)
    helped = index_archive(settings, rebuild=True)
    assert len(submitted) >= alone.indexed - alone.wrappers  # the pages went to the helpers
    assert (helped.indexed, helped.wrappers, helped.not_reports) == (alone.indexed, alone.wrappers, alone.not_reports)
    with Catalog(settings.catalog_path) as catalog:  # every report capture counted once, wrapped ones too
        assert alone.captures == helped.captures == len(list(catalog.report_captures()))
    with open_store(settings) as store:
        assert {d.id: d.to_dict() for d in store.iter_documents()} == before
