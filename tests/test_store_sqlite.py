"""The embedded SQLite/FTS5 store against brute force: every expectation is computed from the documents
with ``store.query.matches`` / ``store.analysis.contains`` and plain Python, never written down by hand."""

from __future__ import annotations

import dataclasses
import html
import random
import re
import sqlite3
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.document import SECTION_KEYS, Agency, Region, ReportDocument, Section
from store import sqlite_columns, sqlite_facets, sqlite_store
from store.base import Store
from store.query import (
    DEFAULT_BUCKETS,
    FACET_FIELDS,
    MAX_PAGE_SIZE,
    And,
    Node,
    Not,
    Or,
    QueryError,
    Term,
    build_aggregation,
    build_search,
    matches,
    parse_q,
    terms,
)
from store.sqlite_store import SqliteStore

# -- a varied corpus --------------------------------------------------------------------------------

PLACES = [
    ("河南省", "平顶山市", "鲁山县"),
    ("河南省", "平顶山市", "郏县"),
    ("河南省", "郑州市", "中牟县"),
    ("广东省", "广州市", "从化区"),
    ("广东省", "深圳市", ""),
]
AGENCIES = [("人民政府", "县"), ("办公厅", "市"), ("部门", "县"), ("乡镇街道", "乡镇")]
SNIPPETS = [
    "本年度依申请公开政府信息",
    "依申请 公开",  # stray space inside a word (extraction noise)
    "依申请，公开",  # punctuation: not the phrase
    "行政复议1件",
    "行政复 议",
    "复、议",
    "复查议",
    "行政诉讼0件",
    "收费0.5万元",
    "收费金额1,234元",
    "ＩＳＯ９００１认证",
    "iso90011",
    "covid-19防控",
    "本机关不掌握相关政府信息",
    "不掌握",
    "平台建设进一步加强",
    "公开",
    "政府 信息",
    "<b>&amp;",
]
METRIC_KEYS = ["applications.new.total", "outcomes.disclosed.total", "review.total", "active.fees.amount_wan"]


def make_doc(i: int, rng: random.Random) -> ReportDocument:
    province, city, county = rng.choice(PLACES)
    agency_type, level = rng.choice(AGENCIES)
    name = f"{county or city}{agency_type}{i % 3}"
    sections = []
    for key in rng.sample(list(SECTION_KEYS), rng.randint(1, 4)):
        text = "。".join(rng.sample(SNIPPETS, rng.randint(1, 4)))
        sections.append(Section(key=key, title=key, text=text))
    metrics: dict[str, float | int | None] = {}
    for key in METRIC_KEYS:
        roll = rng.random()
        if roll < 0.15:
            metrics[key] = None
        elif roll < 0.85:
            metrics[key] = (
                round(rng.uniform(0, 200), 1) if key.endswith("wan") else rng.choice([0, 1, 5, 9, 10, 42, 99, 100, 250])
            )
    year = rng.choice([2019, 2020, 2021, 2022, 2023, None])
    return ReportDocument(
        id=f"r{i:04d}",
        title=f"{name}{year or ''}年政府信息公开工作年度报告" + rng.choice(["", "（复议）", "ＩＳＯ"]),
        agency=Agency(name=name, normalized_name=name, type=agency_type, level=level, id=f"a-{name}"),
        region=Region(province=province, city=city, county=county),
        year=year,
        published=None if rng.random() < 0.1 else f"{(year or 2024) + 1}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        template=rng.choice(["2021", "2019"]),
        source_format=rng.choice(["html", "pdf"]),
        sections=sections,
        metrics=metrics,
        check_status=rng.choice(["ok", "failed", "incomplete"]),
        flags=rng.sample(["pre2019", "needs_ocr", "scanned"], rng.randint(0, 2)),
        removed=rng.random() < 0.1,
    )


def make_corpus(n: int = 120, seed: int = 7) -> list[ReportDocument]:
    rng = random.Random(seed)
    return [make_doc(i, rng) for i in range(n)]


@pytest.fixture(scope="module")
def corpus() -> list[ReportDocument]:
    return make_corpus()


# Every test on ``store`` runs twice: on FTS5 alone, and with every row in shingle bitmaps (small
# chunks, low document frequency) so frequent terms are answered from bitmaps over several chunks.
SHINGLED = {"shingle_chunk": 16, "shingle_min_df": 2}


@pytest.fixture(scope="module", params=["fts", "shingles"])
def store(request, tmp_path_factory: pytest.TempPathFactory, corpus: list[ReportDocument]) -> SqliteStore:
    options = SHINGLED if request.param == "shingles" else {}
    st_ = SqliteStore(tmp_path_factory.mktemp("sqlite") / "index.sqlite3", **options)
    stats = st_.index(corpus)
    assert stats.indexed == len(corpus) and stats.failed == 0
    if request.param == "shingles":
        conn = st_._reader()
        assert st_._shingles.covered(conn) == len(corpus) + 1 and st_._shingles.vocab is not None
    yield st_
    st_.close()


# -- the oracle ---------------------------------------------------------------------------------------


def field_texts(doc: ReportDocument, scope: str | None) -> list[str]:
    if scope == "title":
        return [doc.title]
    if scope:
        return [doc.section_text(scope)]
    return [doc.title, *(doc.section_text(k) for k in SECTION_KEYS)]


def doc_matches(node: Node | None, doc: ReportDocument, scope: str | None = None) -> bool:
    """A term matches when it is contained in one of the searched fields; the tree combines terms."""
    if node is None:
        return True
    if isinstance(node, Term):
        return any(matches(node, text) for text in field_texts(doc, scope))
    if isinstance(node, Not):
        return not doc_matches(node.item, doc, scope)
    if isinstance(node, And):
        return all(doc_matches(i, doc, scope) for i in node.items)
    assert isinstance(node, Or)
    return any(doc_matches(i, doc, scope) for i in node.items)


def facet_values(doc: ReportDocument, name: str) -> list[str]:
    obj: object = doc
    for part in FACET_FIELDS[name].split("."):
        obj = getattr(obj, part)
    if isinstance(obj, bool):
        return ["true" if obj else "false"]
    if isinstance(obj, list):
        return [str(v) for v in obj]
    return [] if obj in (None, "") else [str(obj)]


def expected_ids(docs: list[ReportDocument], q: str, scope: str | None = None, **kw: object) -> set[str]:
    query = build_search(q, section=scope, **kw)  # type: ignore[arg-type]
    return {d.id for d in docs if passes(d, query)}


def passes(doc: ReportDocument, query, skip: str | None = None) -> bool:
    if not doc_matches(query.tree, doc, query.scope):
        return False
    for name, values in query.filters.items():
        if name != skip and not set(facet_values(doc, name)) & set(values):
            return False
    if skip != "year":
        if query.year_from is not None and (doc.year is None or doc.year < query.year_from):
            return False
        if query.year_to is not None and (doc.year is None or doc.year > query.year_to):
            return False
    return all(c.test(doc.metrics.get(c.key)) for c in query.conditions)


def all_hits(store: Store, **kw: object) -> list[str]:
    """Every id of a search, paging with the cursor."""
    ids: list[str] = []
    cursor = None
    while True:
        result = store.search(build_search(size=7, cursor=cursor, facets=[], **kw))  # type: ignore[arg-type]
        ids.extend(h.id for h in result.hits)
        cursor = result.next_cursor
        if cursor is None:
            assert len(ids) == result.total
            return ids


# -- phrase semantics ------------------------------------------------------------------------------------

PHRASES = [
    "复",  # 1 character: a prefix query on the token stream
    "议",
    "公",
    "复议",  # 2 characters
    "收费",
    "诉讼",
    "依申请公开",  # 5 characters
    "本机关不掌握相关政府信息",
    "不掌握相关",
    "复、议",  # an ideograph pair that must NOT be joined
    "iso9001认证",  # mixed script
    "ＩＳＯ９００１",  # full-width
    "iso9001",
    "0.5万元",
    "1,234",
    "covid-19",
    "政府 信息",
    "年度报告",
]


@pytest.mark.parametrize("q", PHRASES)
def test_phrase_matches_exactly_where_the_text_contains_it(store: SqliteStore, corpus: list[ReportDocument], q: str):
    expected = expected_ids(corpus, q)
    assert 0 < len(expected) < len(corpus) or q in ("公", "年度报告", "政府 信息")  # the corpus discriminates
    result = store.search(build_search(q, size=100, facets=[]))
    assert result.total == len(expected)
    assert set(all_hits(store, q=q)) == expected


def test_joinedness_distinguishes_spaces_from_punctuation(store: SqliteStore, corpus: list[ReportDocument]):
    with_space = {d.id for d in corpus if "依申请 公开" in d.full_text()}
    with_comma_only = {
        d.id for d in corpus if "依申请，公开" in d.full_text() and "依申请公开" not in d.full_text().replace(" ", "")
    }
    hits = set(all_hits(store, q="依申请公开"))
    assert with_space and with_space <= hits
    assert with_comma_only and not (with_comma_only & hits)


@pytest.mark.parametrize(
    "q",
    [
        "复议 OR 诉讼",
        "依申请公开 -收费",
        "(复议 OR 诉讼) 公开 -iso9001",
        '"政府 信息" 平台建设',
        "复 -复议",
        "依申请公开 -(收费 OR 复议)",
        "公开 -(-复议)",
        "公开 -(-复议 -诉讼)",
    ],
)
def test_boolean_queries(store: SqliteStore, corpus: list[ReportDocument], q: str):
    assert set(all_hits(store, q=q)) == expected_ids(corpus, q)


@pytest.mark.parametrize("scope", ["title", "overview", "review", "problems", "overview.application"])
@pytest.mark.parametrize("q", ["复议", "公开", "iso9001"])
def test_section_scope(store: SqliteStore, corpus: list[ReportDocument], q: str, scope: str):
    assert set(all_hits(store, q=q, section=scope)) == expected_ids(corpus, q, scope)


# -- filters, facets, metrics -----------------------------------------------------------------------------

FILTER_CASES = [
    {"q": "", "filters": {"province": ["河南省"]}},
    {"q": "公开", "filters": {"county": ["鲁山县", "郏县"], "year": ["2021", "2022"]}},
    {"q": "复", "filters": {"flags": ["needs_ocr"], "check_status": ["ok", "failed"]}},
    {"q": "", "filters": {"removed": ["true"]}},
    {"q": "公开", "filters": {"removed": ["false"], "agency_type": ["部门"]}, "year_from": 2020, "year_to": 2022},
    {"q": "", "metric": ["applications.new.total >= 10"]},
    {"q": "依申请公开", "metric": ["applications.new.total < 10", "review.total != 0"]},
    {"q": "", "metric": ["active.fees.amount_wan > 50.5"], "filters": {"level": ["县"]}},
    {"q": "", "metric": ["review.total = 42"]},
]


@pytest.mark.parametrize("case", FILTER_CASES)
def test_filters_and_multiselect_facet_counts(store: SqliteStore, corpus: list[ReportDocument], case: dict):
    facets = ["province", "county", "year", "flags", "removed", "check_status", "agency_type", "level"]
    query = build_search(facets=facets, size=100, **case)
    result = store.search(query)
    expected = {d.id for d in corpus if passes(d, query)}
    assert result.total == len(expected)
    assert {h.id for h in result.hits} == expected
    assert [f.name for f in result.facets] == facets
    for facet in result.facets:
        assert not facet.timed_out
        counts: Counter[str] = Counter()
        for d in corpus:
            if passes(d, query, skip=facet.name):  # multi-select: a facet ignores its own filter
                counts.update(set(facet_values(d, facet.name)))
        selected = set(query.filters.get(facet.name, ()))
        want = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        want += [(v, 0) for v in sorted(selected) if v not in counts]
        assert [(v.value, v.count) for v in facet.values] == want
        assert {v.value for v in facet.values if v.selected} == selected


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_facet_value_limit_keeps_the_top_values_and_the_selected_ones(
    store: SqliteStore, corpus: list[ReportDocument], monkeypatch: pytest.MonkeyPatch, limit: int
):
    monkeypatch.setattr(sqlite_facets, "FACET_VALUE_LIMIT", limit)
    query = build_search("", filters={"county": ["中牟县"]}, facets=["county", "agency", "year"])
    result = store.search(query)
    for facet in result.facets:
        counts = Counter(v for d in corpus if passes(d, query, skip=facet.name) for v in facet_values(d, facet.name))
        want = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        want += [(v, counts[v]) for v in query.filters.get(facet.name, ()) if v not in dict(want)]
        assert [(v.value, v.count) for v in facet.values] == want


def test_metric_bucket_facets(store: SqliteStore, corpus: list[ReportDocument]):
    query = build_search("公开", metric_facets=["applications.new.total", "active.fees.amount_wan"], facets=[])
    result = store.search(query)
    for facet in result.facets:
        hits = [d for d in corpus if passes(d, query)]
        want = []
        for bucket in DEFAULT_BUCKETS:
            n = 0
            for d in hits:
                v = d.metrics.get(facet.name)
                if (
                    v is not None
                    and (bucket.low is None or v >= bucket.low)
                    and (bucket.high is None or v < bucket.high)
                ):
                    n += 1
            want.append((bucket.label, n))
        assert [(v.value, v.count) for v in facet.values] == want
        assert sum(c for _, c in want) > 0


@pytest.mark.parametrize(
    ("group_by", "q"),
    [(["year"], ""), (["province", "city"], "公开"), (["agency_type"], "复议"), ([], ""), (["county", "year"], "")],
)
def test_aggregations(store: SqliteStore, corpus: list[ReportDocument], group_by: list[str], q: str):
    search = build_search(q, filters={"removed": ["false"]})
    keys = ["applications.new.total", "active.fees.amount_wan"]
    fns = ["sum", "avg", "min", "max", "count"]
    result = store.aggregate(build_aggregation(search, keys, fns, group_by))
    groups: dict[tuple, list[ReportDocument]] = defaultdict(list)
    for d in corpus:
        if passes(d, search):
            key = []
            for g in group_by:
                vals = facet_values(d, {"year": "year"}.get(g, g))
                key.append((int(vals[0]) if g == "year" else vals[0]) if vals else None)
            groups[tuple(key)].append(d)
    got = {tuple(r.group[g] for g in group_by): r for r in result.rows}
    assert set(got) == set(groups)
    for key, docs in groups.items():
        row = got[key]
        assert row.count == len(docs)
        for metric in keys:
            values = [d.metrics[metric] for d in docs if d.metrics.get(metric) is not None]
            want = {
                "sum": sum(values) if values else None,
                "avg": sum(values) / len(values) if values else None,
                "min": min(values) if values else None,
                "max": max(values) if values else None,
                "count": len(values),
            }
            for fn in fns:
                assert row.values[f"{fn}:{metric}"] == pytest.approx(want[fn]), (key, fn, metric)


# -- sorting and paging --------------------------------------------------------------------------------------


def _sort_value(doc: ReportDocument, sort: str) -> float | None:
    bare = sort.lstrip("-")
    if bare == "year":
        return doc.year
    if bare == "published":
        return float(doc.published.replace("-", "")) if doc.published else None
    return doc.metrics.get(bare[len("metric:") :])


@pytest.mark.parametrize(
    "sort", ["year", "-year", "published", "-published", "metric:applications.new.total", "-metric:review.total"]
)
@pytest.mark.parametrize("q", ["", "公开", "复议"])
@pytest.mark.parametrize("walk_order", [False, True])
def test_sort_orders_with_nulls_last_and_cursor_paging(
    store: SqliteStore,
    corpus: list[ReportDocument],
    sort: str,
    q: str,
    walk_order: bool,
    monkeypatch: pytest.MonkeyPatch,
):
    if walk_order:  # big result sets walk the precomputed order of all reports instead of sorting
        monkeypatch.setattr(sqlite_store, "ORDER_SCAN_MIN", 0)
    ids = all_hits(store, q=q, sort=sort)
    expected = expected_ids(corpus, q)
    assert len(ids) == len(set(ids)) == len(expected) and set(ids) == expected  # no duplicates, no gaps
    by_id = {d.id: d for d in corpus}
    values = [_sort_value(by_id[i], sort) for i in ids]
    known = [v for v in values if v is not None]
    assert values == known + [None] * (len(values) - len(known))  # nulls last
    assert known == sorted(known, reverse=sort.startswith("-"))


@pytest.mark.parametrize("q", ["公开", "复"])
def test_relevance_scores_descend_and_page_completely(store: SqliteStore, corpus: list[ReportDocument], q: str):
    first = store.search(build_search(q, size=100, facets=[]))
    scores = [h.score for h in first.hits]
    assert all(s is not None for s in scores) and scores == sorted(scores, reverse=True)
    assert len(set(scores)) > 1
    ids = all_hits(store, q=q)
    assert ids[: len(first.hits)] == [h.id for h in first.hits]
    assert len(ids) == len(set(ids)) and set(ids) == expected_ids(corpus, q)


def _newest_first(ids: list[str], corpus: list[ReportDocument]) -> bool:
    by_id = {d.id: d for d in corpus}
    dates = [by_id[i].published for i in ids]
    known = [d for d in dates if d]
    return dates == known + [None] * (len(dates) - len(known)) and known == sorted(known, reverse=True)


def test_multi_term_relevance_is_newest_first(store: SqliteStore, corpus: list[ReportDocument]):
    result = store.search(build_search("复议 OR 公开", size=100, facets=[]))
    assert all(h.score is None for h in result.hits)
    ids = all_hits(store, q="复议 OR 公开")
    assert set(ids) == expected_ids(corpus, "复议 OR 公开") and _newest_first(ids, corpus)


def test_relevance_over_too_many_matches_falls_back_to_newest_first(
    store: SqliteStore, corpus: list[ReportDocument], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(sqlite_store, "RANK_LIMIT", 3)
    store._matches.clear()
    ids = all_hits(store, q="公开")
    assert set(ids) == expected_ids(corpus, "公开") and _newest_first(ids, corpus)
    store._matches.clear()


def test_bad_cursor_and_foreign_cursor_are_query_errors(store: SqliteStore):
    with pytest.raises(QueryError):
        store.search(build_search("公开", cursor="bm90IGpzb24"))
    page = store.search(build_search("", sort="year", size=2))
    assert page.next_cursor
    with pytest.raises(QueryError) as exc:
        store.search(build_search("", sort="-year", size=2, cursor=page.next_cursor))
    assert exc.value.field == "cursor"


def test_page_size_is_respected(store: SqliteStore):
    result = store.search(build_search("", size=5))
    assert len(result.hits) == 5 and result.total > 5 and result.next_cursor


# -- highlighting -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["复议", "依申请公开", "iso9001", "复 OR 收费", "0.5万元", "复、议", "公开 -收费"])
def test_highlight_fragments_mark_only_matches_of_the_original_text(
    store: SqliteStore, corpus: list[ReportDocument], q: str
):
    by_id = {d.id: d for d in corpus}
    positive = terms(parse_q(q))
    result = store.search(build_search(q, size=100, facets=[]))
    assert result.hits
    for hit in result.hits:
        doc = by_id[hit.id]
        assert hit.fragments, hit.id  # every hit matched somewhere it can show
        for frag in hit.fragments:
            original = doc.title if frag.section == "title" else doc.section_text(frag.section)
            marked = re.findall(r"<mark>(.*?)</mark>", frag.text)
            assert marked
            for m in marked:
                assert any(matches(t, html.unescape(m)) for t in positive), m
            plain = html.unescape(frag.text.replace("<mark>", "").replace("</mark>", ""))
            assert plain in original
            assert "<" not in re.sub(r"</?mark>", "", frag.text)  # everything else escaped


def test_highlight_off_and_scope_limits_fragments(store: SqliteStore):
    assert all(not h.fragments for h in store.search(build_search("公开", highlight=False)).hits)
    for hit in store.search(build_search("公开", section="problems", size=50)).hits:
        assert {f.section for f in hit.fragments} == {"problems"}


# -- documents, writes, rebuild ----------------------------------------------------------------------------------


def test_get_count_iter_and_agencies(store: SqliteStore, corpus: list[ReportDocument]):
    assert store.count() == len(corpus)
    assert store.get(corpus[5].id) == corpus[5]
    assert store.get("missing") is None
    assert [d.id for d in store.iter_documents()] == [d.id for d in corpus]
    summaries = store.agencies("鲁山县")
    expected = {d.agency.id for d in corpus if "鲁山县" in d.agency.normalized_name}
    assert {a.id for a in summaries} == expected
    for a in summaries:
        docs = [d for d in corpus if d.agency.id == a.id]
        assert a.reports == len(docs)
        assert a.years == sorted({d.year for d in docs if d.year is not None})
    assert isinstance(store, Store)


def test_index_is_idempotent_and_replaces_changed_documents(tmp_path: Path):
    docs = make_corpus(30, seed=3)
    st_ = SqliteStore(tmp_path / "i.sqlite3")
    assert st_.index(docs).indexed == 30
    again = st_.index(docs)
    assert (again.indexed, again.unchanged) == (0, 30)
    assert st_.count() == 30
    changed = docs[0]
    old_text = changed.sections[0].text
    changed.sections[0].text = "全新的内容：网格化治理"
    for s in changed.sections[1:]:
        s.text = "其他"
    changed.title = "标题"
    assert st_.index([changed]).indexed == 1
    assert st_.count() == 30
    assert {h.id for h in st_.search(build_search("网格化治理")).hits} == {changed.id}
    still = {d.id for d in docs if any(matches(Term(old_text[:4]), t) for t in field_texts(d, None))}
    assert set(all_hits(st_, q=old_text[:4])) == still
    assert st_.get(changed.id) == changed
    assert st_.delete([changed.id, "nope"]) == 1
    assert st_.search(build_search("网格化治理")).total == 0
    assert st_.count() == 29
    st_.close()


def test_match_all_facets_follow_writes(tmp_path: Path):
    docs = make_corpus(25, seed=11)
    st_ = SqliteStore(tmp_path / "i.sqlite3")
    st_.index(docs[:20])
    for batch in (docs[:20], docs):
        if len(batch) > 20:
            st_.index(batch[20:])
        result = st_.search(build_search("", facets=["province", "year"]))
        assert result.total == len(batch)
        for facet in result.facets:
            counts = Counter(v for d in batch for v in facet_values(d, facet.name))
            assert {v.value: v.count for v in facet.values} == dict(counts)
    st_.close()


def test_searches_in_threads_while_indexing(tmp_path: Path):
    docs = make_corpus(200, seed=13)
    st_ = SqliteStore(tmp_path / "i.sqlite3")
    st_.index(docs[:50])
    errors: list[BaseException] = []
    totals: list[int] = []
    stop = threading.Event()

    def searcher() -> None:
        try:
            while not stop.is_set():
                result = st_.search(build_search("公开", filters={"province": ["河南省"]}))
                totals.append(result.total)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    for start in range(50, 200, 30):
        st_.index(docs[start : start + 30])
    stop.set()
    for t in threads:
        t.join()
    assert not errors and totals
    want = len(expected_ids(docs, "公开", filters={"province": ["河南省"]}))
    assert max(totals) <= want == st_.search(build_search("公开", filters={"province": ["河南省"]})).total
    st_.close()


def test_a_long_stream_commits_in_transactions_that_readers_see_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A stream is written in transactions of COMMIT_ROWS reports: another connection sees whole
    transactions only, and the last, partial one once the stream ends."""
    from store import sqlite_prepare

    monkeypatch.setattr(sqlite_prepare, "BATCH_SIZE", 10)
    monkeypatch.setattr(sqlite_store, "COMMIT_ROWS", 20)
    monkeypatch.setattr(sqlite_store, "COMMIT_SECONDS", 3600.0)
    docs = make_corpus(95, seed=21)
    st_ = SqliteStore(tmp_path / "i.sqlite3")
    other = sqlite3.connect(tmp_path / "i.sqlite3", check_same_thread=False)  # used in the writer thread
    seen: list[tuple[int, int]] = []  # (rows in the open transaction, rows another connection sees) at commits
    real_commit = SqliteStore._commit_open

    def commit(self: SqliteStore) -> None:
        if self._txn is not None:
            seen.append((self._txn.rows, other.execute("SELECT count(*) FROM reports").fetchone()[0]))
        real_commit(self)

    monkeypatch.setattr(SqliteStore, "_commit_open", commit)
    assert st_.index(docs).indexed == len(docs)
    assert seen == [(20, 0), (20, 20), (20, 40), (20, 60), (15, 80)]
    assert other.execute("SELECT count(*) FROM reports").fetchone()[0] == len(docs)
    assert set(all_hits(st_, q="公开")) == expected_ids(docs, "公开")
    other.close()
    st_.close()


def test_a_failing_stream_keeps_what_was_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from store import sqlite_prepare

    monkeypatch.setattr(sqlite_prepare, "BATCH_SIZE", 10)
    docs = make_corpus(40, seed=22)

    def stream() -> Iterator[ReportDocument]:
        yield from docs[:33]  # 3 batches, more in flight in helper processes, and a partial one
        raise RuntimeError("the archive went away")

    st_ = SqliteStore(tmp_path / "i.sqlite3")
    with pytest.raises(RuntimeError, match="archive went away"):
        st_.index(stream())
    assert st_.count() == 33
    assert st_.index(docs).indexed == 7  # and the store takes the rest
    assert set(all_hits(st_, q="公开")) == expected_ids(docs, "公开")
    st_.close()


def test_a_failed_write_rolls_back_its_transaction_and_the_store_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from store import sqlite_prepare

    monkeypatch.setattr(sqlite_prepare, "BATCH_SIZE", 10)
    monkeypatch.setattr(sqlite_store, "COMMIT_ROWS", 20)
    docs = make_corpus(64, seed=23)
    st_ = SqliteStore(tmp_path / "i.sqlite3", shingle_chunk=16, shingle_min_df=2)
    real = SqliteStore._insert_many
    calls: list[int] = []

    def failing(self, conn, batch, *args, **kwargs):
        calls.append(len(batch))
        if len(calls) == 4:  # the second batch of the second transaction
            raise sqlite3.OperationalError("disk I/O error")
        return real(self, conn, batch, *args, **kwargs)

    monkeypatch.setattr(SqliteStore, "_insert_many", failing)
    with pytest.raises(sqlite3.OperationalError):
        st_.index(docs)
    assert st_.count() == 20  # the first transaction only
    monkeypatch.setattr(SqliteStore, "_insert_many", real)
    assert st_.index(docs).indexed == len(docs) - 20
    assert set(all_hits(st_, q="公开")) == expected_ids(docs, "公开")
    assert set(all_hits(st_, q="依申请公开")) == expected_ids(docs, "依申请公开")
    st_.close()


def _decoded(cols: sqlite_columns.Columns) -> dict[str, object]:
    """A columnar copy as plain values per report (codes differ between a patched and a fresh copy)."""
    ids = cols.rowids.tolist()
    out: dict[str, object] = {"rowids": ids}
    for name, kw in cols.keywords.items():
        out[name] = [None if kw.codes[r] < 0 else kw.labels[kw.codes[r]] for r in ids]
    out["year"] = [None if np.isnan(cols.year[r]) else cols.year[r] for r in ids]
    out["published"] = [None if np.isnan(cols.published[r]) else cols.published[r] for r in ids]
    out["flags"] = {f: [r for r in ids if m[r]] for f, m in cols.flags.items() if m[ids].any()}
    out["metrics"] = {k: [None if np.isnan(v[r]) else v[r] for r in ids] for k, v in cols._metrics.items()}
    return out


def test_own_writes_patch_the_columnar_copy_like_a_fresh_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from store import sqlite_prepare

    monkeypatch.setattr(sqlite_prepare, "BATCH_SIZE", 10)
    docs = make_corpus(60, seed=17)
    st_ = SqliteStore(tmp_path / "i.sqlite3")
    st_.index(docs[:30])
    query = build_search("公开", metric=["applications.new.total >= 1"], facets=["province", "flags"])
    st_.search(query)  # loads the copy (and one metric column)
    docs[3].region = Region(province="新疆维吾尔自治区", city="", county="")
    docs[3].flags = ["brand_new_flag"]
    docs[4].metrics = {"applications.new.total": 7}
    later = dataclasses.replace(docs[3], flags=["later_flag"])  # a later batch of the same transaction
    st_.index([*docs[:40], later])  # 10 new, 2 changed (one twice)
    docs[3] = later
    st_.delete([docs[5].id, docs[35].id])
    patched = st_._columns(st_._reader())  # as a search takes it: our writes patched in
    assert patched.generation == st_._generation(st_._writer)
    fresh = sqlite_columns.load(st_._writer, patched.generation)
    fresh.metric(st_._writer, "applications.new.total")
    assert _decoded(patched) == _decoded(fresh)
    remaining = [d for d in docs[:40] if d.id not in (docs[5].id, docs[35].id)]
    result = st_.search(query)
    assert result.total == len({d.id for d in remaining if passes(d, query)})
    st_.close()


def test_saved_columnar_copy_round_trips_and_a_damaged_file_is_ignored(tmp_path: Path):
    docs = make_corpus(40, seed=23)
    st_ = SqliteStore(tmp_path / "i.sqlite3")
    st_.index(docs)
    cols = sqlite_columns.load(st_._writer, st_._generation(st_._writer))
    cols.metric(st_._writer, "applications.new.total")
    st_.close()
    saved = tmp_path / "copy.columns"
    sqlite_columns.save(cols, saved, "build-1")
    again = sqlite_columns.load_saved(saved, "build-1", cols.generation)
    assert again is not None and _decoded(again) == _decoded(cols)
    assert all(again.keywords[n].lookup == cols.keywords[n].lookup for n in cols.keywords)
    assert sqlite_columns.load_saved(saved, "build-2", cols.generation) is None  # another index file
    assert sqlite_columns.load_saved(saved, "build-1", cols.generation + 1) is None  # written since
    whole = saved.read_bytes()
    saved.write_bytes(whole[: len(whole) - 4096])  # cut short
    assert sqlite_columns.load_saved(saved, "build-1", cols.generation) is None
    saved.write_bytes(b"PK\x03\x04" + whole[4:])  # not our format (an old .npz)
    assert sqlite_columns.load_saved(saved, "build-1", cols.generation) is None


def test_saved_columnar_copy_is_used_only_while_it_is_current(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    docs = make_corpus(40, seed=19)
    path = tmp_path / "i.sqlite3"
    query = build_search("公开", filters={"year": ["2021", "2022"]}, facets=["province", "flags", "year"])
    first = SqliteStore(path)
    first.index(docs[:30])
    expected = first.search(query)
    first.close()
    assert (tmp_path / ("i.sqlite3" + sqlite_store.SAVED_COLUMNS_SUFFIX)).exists()

    real_load = sqlite_columns.load
    monkeypatch.setattr(sqlite_columns, "load", lambda *a: pytest.fail("should use the saved copy"))
    reopened = SqliteStore(path)
    assert dataclasses.replace(reopened.search(query), took_ms=0) == dataclasses.replace(expected, took_ms=0)
    reopened.close()

    with sqlite3.connect(path) as other:  # another writer that did not save the copy (killed, older version)
        other.execute("UPDATE reports SET removed = 1 WHERE id = ?", (docs[0].id,))
        other.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    docs = docs[1:30]
    loads: list[int] = []
    monkeypatch.setattr(sqlite_columns, "load", lambda *a: loads.append(1) or real_load(*a))
    again = SqliteStore(path)
    result = again.search(query)
    assert loads and result.total == len({d.id for d in docs if passes(d, query)})
    again.close()


def test_first_search_after_indexing_reads_the_copy_the_writer_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The writer keeps the columnar copy up to its writes and saves it when it closes: the first search of
    another process (the service after ``nianbao index`` / ``reindex``) does not load every row again."""
    from store import sqlite_prepare

    monkeypatch.setattr(sqlite_prepare, "BATCH_SIZE", 10)
    monkeypatch.setattr(sqlite_store, "PATCH_ROWS", 25)  # some writes patched in at once, the rest at close
    docs = make_corpus(70, seed=29)
    path = tmp_path / "i.sqlite3"
    query = build_search("公开", metric=["applications.new.total >= 1"], facets=["province", "flags", "year"])
    real_load = sqlite_columns.load
    loads: list[int] = []
    monkeypatch.setattr(sqlite_columns, "load", lambda *a: loads.append(len(a)) or real_load(*a))
    writer = SqliteStore(path)
    for start in range(0, 40, 20):  # a fresh index, written in several runs (as the pipeline does)
        writer.index(docs[start : start + 20])
    writer.delete([docs[2].id])
    writer.close()
    assert loads == [2]  # only the empty index's copy was loaded from the tables

    def first_search(expected: list[ReportDocument]) -> None:
        loads.clear()
        reader = SqliteStore(path)
        result = reader.search(query)
        assert not loads, "the first search loaded the copy from the tables"
        assert result.total == len({d.id for d in expected if passes(d, query)})
        for facet in result.facets:
            kept = [d for d in expected if passes(d, query, skip=facet.name)]
            counts = Counter(v for d in kept for v in facet_values(d, facet.name))
            assert {v.value: v.count for v in facet.values if v.count} == dict(counts), facet.name
        reader.close()

    first_search([d for d in docs[:40] if d.id != docs[2].id])
    later = SqliteStore(path)  # an incremental run: takes up the saved copy, patches it, saves it
    later.index(docs[40:55])
    later.close()
    first_search([d for d in docs[:55] if d.id != docs[2].id])
    with SqliteStore(path).rebuild() as fresh:  # nianbao reindex: the copy goes with the new file
        fresh.index(docs[10:])
    first_search(docs[10:])


def test_index_built_by_another_analysis_is_read_only_until_rebuilt(tmp_path: Path):
    path = tmp_path / "i.sqlite3"
    docs = make_corpus(10, seed=23)
    st_ = SqliteStore(path)
    st_.index(docs)
    st_._writer.execute("UPDATE meta SET value = '1:another' WHERE key = 'tokens'")
    st_.close()
    old = SqliteStore(path)
    assert old.search(build_search("")).total == 10  # still searchable
    with pytest.raises(sqlite_store.IndexVersionError, match="reindex"):
        old.index(docs)
    with pytest.raises(sqlite_store.IndexVersionError):
        old.delete([docs[0].id])
    with old.rebuild() as fresh:
        fresh.index(docs)
    assert old.index(docs).unchanged == 10 and old.delete([docs[0].id]) == 1
    old.close()


def test_bad_documents_fail_alone(tmp_path: Path):
    st_ = SqliteStore(tmp_path / "i.sqlite3")
    good = make_corpus(3, seed=1)
    bad_metric = make_corpus(1, seed=2)[0]
    bad_metric.id = "bad"
    bad_metric.metrics = {"applications.new.total": "many"}
    unknown = make_corpus(1, seed=4)[0]
    unknown.id = "unknown-metric"
    unknown.metrics = {"no.such.metric": 3}
    stats = st_.index([good[0], ReportDocument(id=""), bad_metric, good[1], unknown, good[2]])
    assert (stats.indexed, stats.failed) == (4, 2)
    assert any("bad" in e for e in stats.errors) and any("no.such.metric" in e for e in stats.errors)
    assert st_.count() == 4
    st_.close()


def test_rebuild_replaces_atomically_and_keeps_old_on_failure(tmp_path: Path):
    path = tmp_path / "i.sqlite3"
    docs = make_corpus(40, seed=5)
    st_ = SqliteStore(path)
    st_.index(docs[:10])
    with pytest.raises(RuntimeError), st_.rebuild() as fresh:
        fresh.index(docs)
        raise RuntimeError("parser crashed")
    assert st_.count() == 10  # untouched
    with st_.rebuild() as fresh:
        fresh.index(docs[10:])
        assert st_.count() == 10  # the old one serves while the new one builds
    assert st_.count() == 30
    assert set(all_hits(st_, q="公开")) == {d.id for d in docs[10:] if doc_matches(parse_q("公开"), d)}
    assert not list(tmp_path.glob("*.rebuild-*"))
    st_.close()
    reopened = SqliteStore(path)
    assert reopened.count() == 30
    reopened.close()


def test_facet_out_of_time_is_reported_not_fatal(store: SqliteStore, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sqlite_store, "FACET_BUDGET_S", -1.0)
    result = store.search(build_search("公开"))
    assert result.total > 0 and result.facets and all(f.timed_out for f in result.facets)


def test_unknown_filter_facet_or_oversized_page_is_a_query_error(store: SqliteStore):
    from store.query import SearchQuery

    with pytest.raises(QueryError):
        store.search(SearchQuery(q="公开", filters={"colour": ("red",)}))
    with pytest.raises(QueryError):
        store.search(SearchQuery(q="公开", facets=("colour",)))
    with pytest.raises(QueryError) as exc:
        store.search(SearchQuery(q="公开", size=MAX_PAGE_SIZE + 1))
    assert exc.value.field == "size"


# -- property: random corpora and queries agree with brute force --------------------------------------------

_ALPHABET = "复议公开申请政府信息ab1 、，。Ａ"
_words = st.text(alphabet=_ALPHABET, min_size=1, max_size=12)
_query_words = st.text(alphabet="复议公开申请政府信息ab1Ａ、 ", min_size=1, max_size=4).filter(lambda s: parse_ok(s))


def parse_ok(text: str) -> bool:
    try:
        return parse_q(f'"{text}"') is not None
    except QueryError:
        return False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(st.tuples(_words, _words), min_size=1, max_size=20),
    query_parts=st.lists(st.tuples(_query_words, st.sampled_from(["", "-", "OR"])), min_size=1, max_size=3),
    chunk=st.sampled_from([None, 8]),
)
def test_random_corpora_and_queries_agree_with_brute_force(
    tmp_path_factory: pytest.TempPathFactory, texts, query_parts, chunk
):
    docs = [
        ReportDocument(id=f"d{i}", title=title, sections=[Section(key="overview", text=body)], year=2020)
        for i, (title, body) in enumerate(texts)
    ]
    q = ""
    for word, op in query_parts:
        q += f' {"-" if op == "-" else ""}"{word}"' if op != "OR" or not q else f' OR "{word}"'
    try:
        tree = parse_q(q)
    except QueryError:
        return
    options = {"shingle_chunk": chunk, "shingle_min_df": 1} if chunk else {}
    st_ = SqliteStore(tmp_path_factory.mktemp("prop") / "i.sqlite3", **options)
    try:
        st_.index(docs)
        got = set(all_hits(st_, q=q))
    finally:
        st_.close()
    assert got == {d.id for d in docs if doc_matches(tree, d)}, q


def test_replacing_numbers_only_keeps_full_text_exact(tmp_path: Path):
    """A re-index that changes metrics but not text (what the analysis stage does) leaves search exact."""
    docs = make_corpus(20, seed=21)
    st_ = SqliteStore(tmp_path / "i.sqlite3")
    st_.index(docs)
    for d in docs:
        d.metrics["applications.new.total"] = (d.metrics.get("applications.new.total") or 0) + 1000
    assert st_.index(docs).indexed == len(docs)
    term = docs[0].sections[0].text[:3]
    expected = {d.id for d in docs if any(matches(Term(term), t) for t in field_texts(d, None))}
    assert set(all_hits(st_, q=term)) == expected
    assert st_.get(docs[0].id) == docs[0]
    big = build_search("", metric=["applications.new.total >= 1000"], size=100)
    assert st_.search(big).total == len(docs)
    # Then a text change after a numbers-only write still replaces the old text.
    docs[1].sections[0].text = "替换后的唯一文本乙丙丁"
    st_.index([docs[1]])
    assert [h.id for h in st_.search(build_search("替换后的唯一文本")).hits] == [docs[1].id]
    st_.close()


def test_a_store_sees_a_rebuild_done_by_another_instance(tmp_path: Path):
    """The service keeps its store open while `nianbao reindex` (another instance) swaps the file in."""
    path = tmp_path / "i.sqlite3"
    serving = SqliteStore(path)
    docs = make_corpus(10, seed=5)
    serving.index(docs[:4])
    assert serving.count() == 4
    builder = SqliteStore(path)
    with builder.rebuild() as fresh:
        fresh.index(docs)
    builder.close()
    assert serving.count() == 10
    assert serving.search(build_search("", size=100)).total == 10
    serving.close()


def test_facets_of_big_result_sets_count_the_complement_the_same(store: SqliteStore, monkeypatch: pytest.MonkeyPatch):
    """A result set over half the reports is counted as all reports minus the rest: same counts."""
    taken = []
    real = sqlite_facets._complement
    monkeypatch.setattr(sqlite_facets, "_complement", lambda cols, s: taken.append(real(cols, s)) or taken[-1])
    candidates = ["公开 -收费", "公开 -复议", "信息 -不掌握", "公开 -ISO", "公开 -依申请"]
    queries = [build_search(q, metric_facets=["applications.new.total"], size=5) for q in candidates]
    n = store.count()
    queries = [q for q in queries if n // 2 < store.search(q).total < n]
    assert queries
    store._matches.clear()
    with_complement = [[(f.name, f.values) for f in store.search(q).facets] for q in queries]
    assert any(c is not None and c.size for c in taken)
    monkeypatch.setattr(sqlite_facets, "_complement", lambda cols, s: None)
    for cols in [store._cols]:
        cols.memo.clear()
    store._matches.clear()
    assert [[(f.name, f.values) for f in store.search(q).facets] for q in queries] == with_complement
