"""Shingle bitmaps (store.sqlite_shingles): the vocabulary and n-gram matching against brute force, and the
store staying exact while rows are added, rewritten or deleted, and other processes write."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.document import ReportDocument, Section
from store import analysis, sqlite_store
from store.query import build_search, parse_q
from store.sqlite_match import Matcher, ideograph_run
from store.sqlite_shingles import learn
from store.sqlite_store import SqliteStore

_TEXT = st.text(alphabet="依申请公开复议政府信息 、a1", max_size=30)


def substrings(text: str, max_n: int) -> set[str]:
    """Every run substring of 1..max_n ideographs (brute force over the normalised text)."""
    norm = analysis.normalize(text)
    out = set()
    for i in range(len(norm)):
        for n in range(1, max_n + 1):
            piece = norm[i : i + n]
            if len(piece) == n and all(analysis.is_cjk(c) for c in piece):
                out.add(piece)
    return out


@settings(max_examples=80, deadline=None)
@given(texts=st.lists(_TEXT, min_size=1, max_size=15), min_df=st.integers(1, 3), max_n=st.integers(1, 6))
def test_vocabulary_and_pairs_agree_with_brute_force(texts: list[str], min_df: int, max_n: int):
    normalized = [analysis.normalize(t) for t in texts]
    df = Counter(g for t in texts for g in substrings(t, max_n))
    vocab = learn(normalized, min_df, max_n=max_n, max_vocab=10**6)
    frequent = {g for g, c in df.items() if c >= min_df}
    ids = {g: vocab.lookup(g) for g in df}
    assert {g for g, i in ids.items() if i is not None} == frequent
    assert len(set(ids.values()) - {None}) == len(frequent) == vocab.size  # one id each
    which, gids = vocab.pairs(normalized)
    got = set(zip(which.tolist(), gids.tolist(), strict=True))
    expected = {(i, ids[g]) for i, t in enumerate(texts) for g in substrings(t, max_n) if g in frequent}
    assert got == expected


def test_vocabulary_rises_threshold_to_fit_its_cap():
    texts = [analysis.normalize(t) for t in ["依申请公开", "依申请", "公开信息", "政府信息公开"] * 3]
    full = learn(texts, 1, max_vocab=10**6)
    capped = learn(texts, 1, max_vocab=full.size // 2)
    assert capped.size <= full.size // 2 and capped.size > 0


PHRASES = [
    "依申请公开",
    "政府信息公开",
    "行政复议",
    "复议",
    "本机关不掌握相关政府信息",
    "收费",
    "短视频",
    "依申请，公开",
]


def make_docs(n: int, seed: int, prefix: str = "d") -> list[ReportDocument]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        text = "。".join(rng.sample(PHRASES, rng.randint(1, 5)))
        docs.append(
            ReportDocument(
                id=f"{prefix}{i}", title=f"报告{i}", year=2020 + i % 5, sections=[Section(key="overview", text=text)]
            )
        )
    return docs


def hits(store: SqliteStore, q: str) -> set[str]:
    out: set[str] = set()
    cursor = None
    while True:
        result = store.search(build_search(q, size=100, cursor=cursor, sort="year"))
        out |= {h.id for h in result.hits}
        cursor = result.next_cursor
        if not cursor:
            return out


def expected(docs: dict[str, ReportDocument], q: str) -> set[str]:
    from store.query import matches

    tree = parse_q(q)
    return {
        d.id
        for d in docs.values()
        if matches(tree, d.title) or any(matches(tree, s.text) for s in d.sections)
        # (one-term queries only below, so "any field contains it" is the rule)
    }


QUERIES = ["依申请公开", "复议", "行政复议", "本机关不掌握相关政府信息", "收费", "视频", "依申请", "信息公开", "复"]


def assert_exact(store: SqliteStore, docs: dict[str, ReportDocument]) -> None:
    store._matches.clear()
    for q in QUERIES:
        assert hits(store, q) == expected(docs, q), q


def test_frequent_terms_come_from_bitmaps_and_stay_exact_through_rewrites(tmp_path: Path):
    store = SqliteStore(tmp_path / "i.sqlite3", shingle_chunk=16, shingle_min_df=2)
    docs = {d.id: d for d in make_docs(70, seed=1)}
    store.index(list(docs.values()))
    conn = store._reader()
    assert store._shingles.covered(conn) == 71  # every row (rowids 1..70)
    matcher = Matcher(conn, store._shingles, None)
    assert not matcher.beyond  # FTS5 answers no frequent term
    first_chunk = [docs[f"d{i}"] for i in range(15)]  # rowids 1..15: the vocabulary's sample
    frequent = [q for q in QUERIES if sum(q in s.text for d in first_chunk for s in d.sections) >= 2]
    assert len(frequent) >= 4
    assert all(matcher._ngram(parse_q(q)) is not None for q in frequent)
    assert matcher._ngram(parse_q("依申请，公开")) is None  # two runs: FTS5
    assert_exact(store, docs)

    # Rewrite reports in earlier chunks and in the last one: their old bits go, their new ones come.
    for report_id, text in [("d3", "全新文本无关内容"), ("d20", "只有依申请公开"), ("d69", "行政复议")]:
        docs[report_id].sections = [Section(key="overview", text=text)]
        store.index([docs[report_id]])
    assert_exact(store, docs)

    # Delete some, then add more (new chunks).
    store.delete(["d5", "d66"])
    del docs["d5"], docs["d66"]
    more = {d.id: d for d in make_docs(40, seed=2, prefix="e")}
    docs.update(more)
    store.index(list(more.values()))
    assert store._shingles.covered(conn) == 70 + 40 + 1
    assert_exact(store, docs)
    store.close()


def test_bitmaps_stay_exact_after_a_restart_and_another_writer(tmp_path: Path):
    path = tmp_path / "i.sqlite3"
    first = make_docs(40, seed=3)
    a = SqliteStore(path, shingle_chunk=16, shingle_min_df=2)
    a.index(first[:20])  # learns the vocabulary (16 reports exist)
    b = SqliteStore(path, shingle_chunk=16, shingle_min_df=2)
    b.index(first[20:30])  # another process writes into the chunk `a` keeps bits of
    a.index(first[30:])  # `a` must not build on its stale bits of that chunk
    a.close()
    b.close()
    reopened = SqliteStore(path, shingle_chunk=16, shingle_min_df=2)
    docs = {d.id: d for d in first}
    assert reopened._shingles.covered(reopened._reader()) == 41
    assert_exact(reopened, docs)
    extra = make_docs(20, seed=4, prefix="x")
    reopened.index(extra)  # a restarted writer adds to a chunk whose first rows it never saw
    docs.update({d.id: d for d in extra})
    assert reopened._shingles.covered(reopened._reader()) == 61
    assert_exact(reopened, docs)
    reopened.close()


def test_rows_beyond_the_bitmaps_are_answered_by_fts5(tmp_path: Path):
    """Committed rows are always covered, but a reader must not miss rows the bitmaps do not reach."""
    store = SqliteStore(tmp_path / "i.sqlite3", shingle_chunk=16, shingle_min_df=2)
    docs = {d.id: d for d in make_docs(50, seed=5)}
    store.index(list(docs.values()))
    with store._writer:  # as if rows from 30 on had no bits (chunks 2 and 3: rowids 32..50 have none)
        store._writer.execute("UPDATE meta SET value = '30' WHERE key = 'shingle_covered'")
        store._writer.execute("DELETE FROM shingle_map WHERE chunk >= 2")
    assert Matcher(store._reader(), store._shingles, None).beyond
    assert_exact(store, docs)
    store.close()


def test_ideograph_run_only_for_one_joined_run():
    assert ideograph_run("依申请 公开") == "依申请公开"  # space between ideographs is deleted
    assert ideograph_run("ＡＢ依申请") is None
    assert ideograph_run("复、议") is None


def test_chunk_size_must_be_a_multiple_of_eight(tmp_path: Path):
    with pytest.raises(ValueError, match="multiple of 8"):
        SqliteStore(tmp_path / "i.sqlite3", shingle_chunk=12)


def test_preparation_in_helper_processes_writes_the_same_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Big runs prepare batches in forked helper processes (n-grams included): same results as in-process."""
    from store import sqlite_prepare

    docs = make_docs(90, seed=9)
    serial = SqliteStore(tmp_path / "serial.sqlite3", shingle_chunk=16, shingle_min_df=2)
    serial.index(docs)
    monkeypatch.setattr(sqlite_prepare, "BATCH_SIZE", 10)
    monkeypatch.setattr(sqlite_prepare, "IN_PROCESS_BATCHES", 2)  # then helpers take over
    monkeypatch.setattr(sqlite_store, "COMMIT_ROWS", 20)  # the vocabulary is learnt during the run
    submitted = []
    real_submit = sqlite_prepare.ProcessPoolExecutor.submit
    monkeypatch.setattr(
        sqlite_prepare.ProcessPoolExecutor, "submit", lambda self, *a: submitted.append(a) or real_submit(self, *a)
    )
    parallel = SqliteStore(tmp_path / "parallel.sqlite3", shingle_chunk=16, shingle_min_df=2)
    stats = parallel.index(docs)
    batches = [a for a in submitted if a[0] is sqlite_prepare.prepare_batch]  # (function, batch, vocabulary, codec)
    assert stats.indexed == len(docs) and len(batches) == 7
    assert any(a[2] is not None for a in batches)  # n-grams found by the helpers once learnt
    by_id = {d.id: d for d in docs}
    for store in (serial, parallel):
        assert_exact(store, by_id)
    assert [parallel.get(d.id) for d in docs] == docs
    serial.close()
    parallel.close()


def test_a_writer_opened_before_the_vocabulary_was_learnt_uses_the_stored_one(tmp_path: Path):
    path = tmp_path / "i.sqlite3"
    a = SqliteStore(path, shingle_chunk=16, shingle_min_df=2)
    b = SqliteStore(path, shingle_chunk=16, shingle_min_df=2)  # opened while there is no vocabulary yet
    docs = make_docs(50, seed=11)
    a.index(docs[:20])  # learns the vocabulary
    learnt = a._shingles.vocab
    assert learnt is not None and b._shingles.vocab is None
    for d in docs[20:]:  # text the first chunk never had: a vocabulary learnt from chunk 1 would differ
        d.sections.append(Section(key="problems", text="新出现的短语甲乙丙"))
    b.index(docs[20:])  # uses the stored vocabulary, not one of its own
    assert b._shingles.vocab is not None and b._shingles.vocab.digest == learnt.digest
    assert_exact(a, {d.id: d for d in docs})
    a.close()
    b.close()


def test_ngrams_found_with_another_vocabulary_are_read_again(tmp_path: Path):
    """A prepared batch whose n-grams belong to another vocabulary (and whose text was not sent along) is
    not trusted: the writer reads those rows again from their stored documents."""
    from store import sqlite_prepare
    from store.base import IndexStats

    store = SqliteStore(tmp_path / "i.sqlite3", shingle_chunk=16, shingle_min_df=2)
    docs = make_docs(60, seed=17)
    store.index(docs[:20])  # learns the vocabulary
    prepared, failed, _ = sqlite_prepare.prepare_batch(docs[20:40], store._shingles.vocab)
    assert not failed and all(p.ngrams is not None and p.text == "" for p in prepared)
    for p in prepared:
        p.ngrams.vocabulary ^= 1  # as if found with a vocabulary this file does not have
    store._write(prepared, IndexStats())
    store._commit_open()
    assert_exact(store, {d.id: d for d in docs[:40]})
    store.index(docs[40:])
    assert store._shingles.covered(store._reader()) == 61
    assert_exact(store, {d.id: d for d in docs})
    store.close()
