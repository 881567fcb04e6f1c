"""Parse helpers hand the store compact rows (``SqliteStore.index_prepared``) instead of documents: the store
then holds exactly what parsing and writing in one process gives — documents, crawl state, search hits."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks import pipeline_bench
from crawler.catalog import Catalog
from indexer import parse_pool
from indexer.pipeline import index_archive
from nianbao.settings import load_settings
from store import open_store
from store.query import SearchQuery

N = 24


def _stored(data_dir: Path) -> tuple[list[dict], int]:
    settings = load_settings(env={}, data_dir=data_dir)
    with open_store(settings) as store:
        docs = sorted((d.to_dict() for d in store.iter_documents()), key=lambda d: d["id"])
        hits = store.search(SearchQuery(q="依申请公开")).total
    return docs, hits


def test_rows_prepared_in_helpers_store_what_one_process_stores(tmp_path: Path, monkeypatch) -> None:
    helpers, here = tmp_path / "helpers", tmp_path / "here"
    settings = load_settings(env={}, data_dir=helpers)
    pipeline_bench.build_archive(settings, N, seed=5)
    with Catalog(settings.catalog_path) as catalog:  # a crawl state the parser does not see reaches the store
        cap = next(c for c in catalog.report_captures() if c.url == pipeline_bench.report_url(2))
        catalog.update_url(
            cap.url,
            source_id="bench",
            region=cap.region,
            kind="report",
            parent_url=None,
            title="",
            status=404,
            gone=True,
        )
    shutil.copytree(helpers, here)

    monkeypatch.setattr(parse_pool, "PARALLEL_MIN", 1)  # forked helpers parse and prepare the rows
    assert index_archive(settings, rebuild=True).indexed == N
    monkeypatch.setattr(parse_pool, "PARALLEL_MIN", 10**9)  # everything in this process
    assert index_archive(load_settings(env={}, data_dir=here), rebuild=True).indexed == N

    (docs, hits), (expected, expected_hits) = _stored(helpers), _stored(here)
    assert len(docs) == N and docs == expected
    assert hits == expected_hits > 0
    assert sum(d["removed"] for d in docs) == 1 and all(d["provenance"]["warc_file"] for d in docs)


def test_the_catalog_pages_through_the_same_report_captures(tmp_path: Path) -> None:
    settings = load_settings(env={}, data_dir=tmp_path / "data")
    pipeline_bench.build_archive(settings, 12, seed=6)
    pipeline_bench.build_archive(settings, 5, seed=6)  # a second crawl: newer captures of the first five URLs
    with Catalog(settings.catalog_path) as catalog:
        whole = list(catalog.report_captures())
        paged = [c for page in catalog.report_capture_pages(size=5) for c in page]
        assert len(whole) == 12 and paged == whole
        assert catalog.count_report_captures() == 12 and catalog.shared_report_captures() == []
        assert catalog.report_attachments() == [] and catalog.report_page_urls([whole[0].url, "x"]) == {whole[0].url}
