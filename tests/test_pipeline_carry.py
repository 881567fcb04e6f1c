"""A rebuild carries each report's derived values from the index it replaces (``indexer.pipeline``,
``store.sqlite_carry``): the insights stage then rewrites almost nothing, and the store holds exactly what a
rebuild without carrying holds — also where the carried values were stale or missing."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks import pipeline_bench
from indexer import parse_pool, pipeline
from indexer.document import Analysis, Check
from indexer.pipeline import index_archive
from nianbao.settings import load_settings
from store import open_store
from store.base import DerivedValues
from store.query import SearchQuery

N = 32


def _stored(data_dir: Path) -> tuple[list[dict], int]:
    with open_store(load_settings(env={}, data_dir=data_dir)) as store:
        docs = sorted((d.to_dict() for d in store.iter_documents()), key=lambda d: d["id"])
        return docs, store.search(SearchQuery(q="依申请公开", metric_facets=["copied.peers_ratio"])).total


def _updated(insights_line: str) -> int:
    return int(insights_line.split(" updated")[0].rsplit(", ", 1)[1])


def test_a_rebuild_with_carried_values_stores_what_one_without_stores(tmp_path: Path, monkeypatch) -> None:
    carried, plain = tmp_path / "carried", tmp_path / "plain"
    settings = load_settings(env={}, data_dir=carried)
    pipeline_bench.build_archive(settings, N, seed=7)
    first = index_archive(settings)
    assert first.indexed == N and _updated(first.insights) == N  # every report gained derived values
    with open_store(settings) as store:
        docs = sorted(store.iter_documents(), key=lambda d: d.id)
        assert any(d.analysis.series for d in docs) and any(d.metrics.get("copied.peers_ratio") for d in docs)
        stale = DerivedValues(
            {"copied.peers_ratio": 0.99},
            [Check("cross.carry", "failed", 1.0, 2.0, "stale")],
            ["cross.carry"],
            Analysis(series="stale", copied_peer_id=docs[1].id),
            "failed",
        )
        assert store.update_derived({docs[0].id: stale, docs[1].id: stale}).indexed == 2  # wrong values carried
        assert store.delete([docs[2].id]) == 1  # nothing to carry
    shutil.copytree(carried, plain)

    monkeypatch.setattr(parse_pool, "PARALLEL_MIN", 1)  # the helpers read the old index
    with_carry = index_archive(settings, rebuild=True)
    monkeypatch.setattr(pipeline, "CARRY_DERIVED", False)
    without = index_archive(load_settings(env={}, data_dir=plain), rebuild=True)

    assert with_carry.indexed == without.indexed == N
    assert _updated(without.insights) == N and 1 <= _updated(with_carry.insights) <= 3
    (docs_c, hits_c), (docs_p, hits_p) = _stored(carried), _stored(plain)
    assert len(docs_c) == N and docs_c == docs_p
    assert hits_c == hits_p > 0

    monkeypatch.setattr(pipeline, "CARRY_DERIVED", True)
    monkeypatch.setattr(parse_pool, "PARALLEL_MIN", 10**9)  # parsed in this process, nothing stale to carry
    again = index_archive(settings, rebuild=True)
    assert _updated(again.insights) == 0 and _stored(carried)[0] == docs_p
