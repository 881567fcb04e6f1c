"""Elasticsearch and the embedded store give the same answers on the same documents.

Runs when ``ELASTICSEARCH_URL`` is set (e.g. ``docker compose up -d elasticsearch`` then
``ELASTICSEARCH_URL=http://127.0.0.1:9200 pytest -m elasticsearch``) and fails when the server there is not
usable: a run meant to test Elasticsearch must not pass without it. Skipped only when the variable is unset.
Each run uses its own temporary alias and deletes its indices afterwards.
"""

from __future__ import annotations

import math
import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.document import Agency, Region, ReportDocument, Section, agency_id
from store.base import SearchResult
from store.es_store import ElasticStore, ElasticStoreError
from store.query import build_aggregation, build_search
from store.sqlite_store import SqliteStore

pytestmark = pytest.mark.elasticsearch

URL = os.environ.get("ELASTICSEARCH_URL", "")
SKIP_REASON = "ELASTICSEARCH_URL is not set; these tests need a running Elasticsearch 8.x"


def open_elastic(alias: str) -> ElasticStore:
    """The store at ELASTICSEARCH_URL: skipped when it is unset, a failure when it is set but not usable."""
    if not URL:
        pytest.skip(SKIP_REASON)
    try:
        return ElasticStore(URL, alias)
    except ElasticStoreError as exc:
        pytest.fail(f"ELASTICSEARCH_URL={URL} is set but Elasticsearch is not usable there ({exc}); unset it to skip")


PHRASES = [
    "收到政府信息公开申请12件",
    "依申请公开工作稳步推进",
    "行政复议0件",
    "行政复 议1件",  # a stray extraction space inside a word
    "复、议",
    "行政诉讼2件",
    "未收取任何费用",
    "主动公开规范性文件",
    "ISO9001认证",
    "收费金额0.5万元",
    "第1条",
    "二〇二三年度",
]
PLACES = [
    ("河南省", "平顶山市", "鲁山县"),
    ("河南省", "平顶山市", "叶县"),
    ("河南省", "郑州市", ""),
    ("湖北省", "武汉市", ""),
]
AGENCY_KINDS = ["人民政府", "教育局", "卫健委"]
SECTION_CHOICES = ["overview", "overview.application", "applications", "review", "problems", "other"]


def corpus(n: int = 60) -> list[ReportDocument]:
    rng = random.Random(20240601)
    docs = []
    for i in range(n):
        province, city, county = PLACES[i % len(PLACES)]
        sections = [
            Section(key, "", "。".join(rng.sample(PHRASES, rng.randint(1, 4))))
            for key in rng.sample(SECTION_CHOICES, rng.randint(1, 3))
        ]
        metrics = {
            "applications.new.total": rng.choice([None, 0, 1, 5, 12, 150]),
            "active.fees.amount_wan": rng.choice([None, 0.0, 0.5, 2.25]),
        }
        region = Region(province, city, county)
        name = f"{county or city}机关{i % 3}"
        kind = rng.choice(AGENCY_KINDS)
        docs.append(
            ReportDocument(
                id=f"doc{i:03d}",
                title=f"{name}{kind}{2019 + i % 5}年政府信息公开工作年度报告",
                agency=Agency(name, name, type=rng.choice(["部门", "人民政府"]), id=agency_id(region, name)),
                region=region,
                year=None if i % 13 == 0 else 2019 + i % 5,
                published=None if i % 11 == 0 else f"{2020 + i % 5}-0{1 + i % 9}-15",
                sections=sections,
                metrics={k: v for k, v in metrics.items() if v is not None or rng.random() < 0.5},
                check_status=rng.choice(["ok", "failed", "incomplete"]),
                flags=rng.sample(["pre2019", "needs_ocr"], rng.randint(0, 2)),
                removed=i % 17 == 0,
            )
        )
    return docs


def _drop(store: ElasticStore, alias: str) -> None:
    """Delete this run's indices by name (8.x refuses wildcard deletes by default)."""
    names = list(store.client.indices.get(index=f"{alias}-v*", allow_no_indices=True).body)
    if names:
        store.client.indices.delete(index=",".join(names), ignore_unavailable=True)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ElasticStore, SqliteStore]]:
    alias = f"nianbao-test-{uuid.uuid4().hex[:8]}"
    es = open_elastic(alias)
    sqlite = SqliteStore(Path(tmp_path_factory.mktemp("sqlite")) / "index.sqlite3")
    docs = corpus()
    assert es.index(docs).failed == 0
    assert sqlite.index(docs).failed == 0
    yield es, sqlite
    _drop(es, alias)
    es.close()
    sqlite.close()


def _same_search(es: ElasticStore, sqlite: SqliteStore, **kw) -> SearchResult:
    query = build_search(size=100, **kw)
    a, b = es.search(query), sqlite.search(query)
    assert a.total == b.total, kw
    assert {h.id for h in a.hits} == {h.id for h in b.hits}, kw
    assert [(f.name, f.values) for f in a.facets] == [(f.name, f.values) for f in b.facets], kw
    by_id = {h.id: h for h in b.hits}
    for hit in a.hits:
        other = by_id[hit.id]
        assert (hit.title, hit.year, hit.region, hit.metrics) == (other.title, other.year, other.region, other.metrics)
        assert hit.fragments == other.fragments
    return a


@pytest.mark.parametrize(
    "q",
    ["复", "件", "复议", "依申请公开", "政府信息公开", "12件", "0.5万元", "iso9001认证", "第1条", "〇二", '"复、议"'],
)
def test_phrases_match_the_same_reports(stores, q):
    result = _same_search(*stores, q=q)
    assert result.total > 0  # every probe is in the corpus, so both engines really searched


@pytest.mark.parametrize("q", ["复议 -诉讼", "(复议 OR 诉讼) 公开", "依申请公开 OR 收费", "复议 诉讼 -费用"])
def test_boolean_queries(stores, q):
    _same_search(*stores, q=q)


@pytest.mark.parametrize(("q", "section"), [("复议", "review"), ("公开", "依申请公开"), ("年度报告", "title")])
def test_section_scoped(stores, q, section):
    _same_search(*stores, q=q, section=section)


def test_filters_facets_and_buckets(stores):
    _same_search(
        *stores,
        q="公开",
        filters={"province": ["河南省"], "county": ["鲁山县", "叶县"], "flags": ["pre2019"]},
        year_from=2020,
        year_to=2022,
        metric=["applications.new.total >= 1"],
        facets=["province", "county", "year", "flags", "removed", "agency_type", "check_status"],
        metric_facets=["applications.new.total", "active.fees.amount_wan"],
    )
    _same_search(*stores, filters={"removed": ["true"], "year": ["2021", "nope"]})
    _same_search(*stores, metric=["active.fees.amount_wan != 0", "applications.new.total < 100"])


def test_sorting_and_cursor_paging(stores):
    es, sqlite = stores
    for sort in ("year", "-year", "published", "-metric:applications.new.total"):
        full_es = es.search(build_search("公开", sort=sort, size=100, facets=[]))
        full_sql = sqlite.search(build_search("公开", sort=sort, size=100, facets=[]))
        key = {
            "year": lambda h: h.year,
            "-year": lambda h: h.year,
            "published": lambda h: h.published,
            "-metric:applications.new.total": lambda h: h.metrics.get("applications.new.total"),
        }[sort]
        assert [key(h) for h in full_es.hits] == [key(h) for h in full_sql.hits], sort  # ties may differ in order
        seen: list[str] = []
        cursor = None
        while True:
            page = es.search(build_search("公开", sort=sort, size=7, facets=[], cursor=cursor))
            seen.extend(h.id for h in page.hits)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == [h.id for h in full_es.hits]


def test_aggregations(stores):
    es, sqlite = stores
    for group_by in (["year"], ["province", "county"], ["agency_type", "year"], []):
        query = build_aggregation(
            build_search("公开", filters={"province": ["河南省"]}),
            ["applications.new.total", "active.fees.amount_wan"],
            ["sum", "avg", "min", "max", "count"],
            group_by,
        )
        a, b = es.aggregate(query).rows, sqlite.aggregate(query).rows
        assert [(r.group, r.count) for r in a] == [(r.group, r.count) for r in b], group_by
        for ra, rb in zip(a, b, strict=True):
            assert ra.values.keys() == rb.values.keys()
            for k, va in ra.values.items():
                vb = rb.values[k]
                assert (va is None) == (vb is None) and (va is None or math.isclose(va, vb, rel_tol=1e-9)), (k, ra)


def test_documents_and_agencies(stores):
    es, sqlite = stores
    assert es.count() == sqlite.count()
    assert es.get("doc007") == sqlite.get("doc007")
    assert es.get("missing") is None
    assert sorted(d.id for d in es.iter_documents()) == sorted(d.id for d in sqlite.iter_documents())
    assert es.agencies("机关", limit=100) == sqlite.agencies("机关", limit=100)


def test_rebuild_swaps_the_alias_atomically():
    alias = f"nianbao-test-{uuid.uuid4().hex[:8]}"
    store = open_elastic(alias)
    try:
        docs = corpus(10)
        store.index(docs[:4])
        (old,) = store.physical_indices()
        with store.rebuild() as fresh:
            fresh.index(docs)
            assert store.count() == 4  # searches still see the old, complete index while the new one fills
            new = fresh.target
        assert store.physical_indices() == [new] != [old]
        assert not store.client.indices.exists(index=old)
        assert store.count() == 10
        with pytest.raises(RuntimeError), store.rebuild():
            raise RuntimeError("abandoned")
        assert store.physical_indices() == [new] and store.count() == 10
    finally:
        _drop(store, alias)
        store.close()


def test_update_derived_leaves_what_with_derived_describes():
    """The scripted partial updates (store.es_store.DERIVED_SCRIPT) against the engine itself: the stored
    document equals store.base.with_derived, also when a derived value is no longer given."""
    from indexer.document import Analysis, Check
    from store.base import DerivedValues, with_derived

    alias = f"nianbao-test-{uuid.uuid4().hex[:8]}"
    es = open_elastic(alias)
    try:
        docs = corpus(6)
        assert es.index(docs).failed == 0
        failed = Check(name="cross.jump.applications.new.total", status="failed", expected=1.0, actual=150.0)
        first = {
            d.id: DerivedValues(
                {"yoy.applications.new.total.abs": k, "copied.peers_ratio": 0.25},
                [failed, Check(name="cross.problems_section", status="ok")],
                ["cross.jump"],
                Analysis(series=d.agency.id, series_agencies=[d.agency.id], previous_id=f"p{k}"),
                "failed",
            )
            for k, d in enumerate(docs)
        }
        assert es.update_derived(first).indexed == len(docs)
        second = {d.id: DerivedValues({"copied.peers_ratio": 0.5}, [], [], Analysis(), "ok") for d in docs[:3]}
        assert es.update_derived({**second, "not-indexed": second[docs[0].id]}).indexed == 3
        for d in docs:
            expected = with_derived(d, first[d.id])
            if d.id in second:
                expected = with_derived(expected, second[d.id])
            assert es.get(d.id).to_dict() == expected.to_dict()
    finally:
        _drop(es, alias)
        es.close()
