"""The pipeline benchmark at a tiny size: its archive is the one a crawl leaves, and every report is indexed
with the generator's true numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import benchmarks
from benchmarks import pipeline_bench
from crawler.archive import payload_digest
from crawler.catalog import Catalog
from demo.generator import generate_corpus
from indexer.document import report_id
from indexer.pipeline import index_archive
from nianbao.settings import load_settings
from store import open_store

N = 30
SEED = 3


def test_every_archived_report_is_indexed_with_its_true_numbers(tmp_path: Path) -> None:
    settings = load_settings(env={}, data_dir=tmp_path / "data")
    built = pipeline_bench.build_archive(settings, N, SEED)
    assert built.reports == N and set(built.formats) == {"html", "text", "markdown"}

    reports = list(generate_corpus(N, SEED))
    with Catalog(settings.catalog_path) as catalog:
        captures = {c.url: c for c in catalog.report_captures()}
        assert len(captures) == N
        for i in (0, 3, 7):  # one of each format: the fields the crawler records for a report page
            report, url = reports[i], pipeline_bench.report_url(i)
            body, content_type = pipeline_bench.render_report(i, report)
            cap = captures[url]
            assert (cap.kind, cap.status, cap.content_type) == ("report", 200, content_type)
            assert cap.region == report.agency.region_path and cap.title == report.title
            assert cap.digest == payload_digest(body)
            assert catalog.read_payload(cap, settings.archive_dir) == body
            state = catalog.url_state(url)
            assert state is not None and state.last_seen and not state.removed

    stats = index_archive(settings)
    assert stats.indexed == N, stats.describe()
    with open_store(settings) as store:
        assert store.count() == N
        for i, report in enumerate(reports):
            doc = store.get(report_id(pipeline_bench.report_url(i)))
            assert doc is not None, (i, pipeline_bench.report_format(i))
            assert doc.year == report.year
            # the catalog's region hint reached the parser (the generator's counties are fictional: not resolved)
            assert (doc.region.province, doc.region.city) == (report.agency.province, report.agency.city)
            key = "applications.new.total"
            assert doc.metrics.get(key) == pytest.approx(report.metrics[key]), (i, pipeline_bench.report_format(i))


def test_main_times_index_and_rebuild_and_writes_results(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(benchmarks, "RESULTS_DIR", tmp_path)  # where save_results writes
    result = pipeline_bench.main(["--reports", "12", "--seed", str(SEED)])
    assert result["index"]["indexed"] == result["rebuild"]["indexed"] == 12
    assert result["store"]["count"] == 12
    assert result["index"]["split_s"]["parse_in_process_s"] is not None  # 12 payloads: parsed in this process
    assert not hasattr(Catalog.read_payload, "__wrapped__")  # the timing wrappers are removed afterwards
    (saved,) = tmp_path.glob("pipeline-*.json")
    assert json.loads(saved.read_text())["rebuild"]["indexed"] == 12
    assert "pipeline: 12 reports" in capsys.readouterr().out
