"""What a build leaves in the SQLite file: documents (``store.doc_codec``) in zstd with a dictionary the file trains on
its first batch, read back exactly (those written without it, or by earlier versions in zlib, still read); one FTS5
segment after a build from empty."""

from __future__ import annotations

import sqlite3
import zlib
from pathlib import Path

import orjson
import pytest
import zstandard

from demo.generator import generate_corpus
from store import sqlite_schema, sqlite_store
from store.query import build_search
from store.sqlite_prepare import _plain, prepare_batch
from store.sqlite_store import SqliteStore


def _docs(n: int, seed: int = 4) -> list:
    return [r.to_document(f"https://codec.example/{seed}/{i}.html") for i, r in enumerate(generate_corpus(n, seed))]


def _dict_ids(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [zstandard.get_frame_parameters(blob).dict_id for (blob,) in conn.execute("SELECT doc FROM docs")]


def test_documents_use_the_files_dictionary_and_read_back_exactly(tmp_path: Path):
    docs = _docs(600)
    store = SqliteStore(tmp_path / "i.sqlite3")
    store.index(docs)
    with sqlite3.connect(tmp_path / "i.sqlite3") as conn:
        (dict_id,) = [r[0] for r in conn.execute("SELECT id FROM doc_dicts")]
        stored = conn.execute("SELECT sum(length(doc)) FROM docs").fetchone()[0]
    ids = _dict_ids(tmp_path / "i.sqlite3")
    assert ids.count(dict_id) >= len(docs) - 250  # all but the batch it was trained on
    raw = sum(len(orjson.dumps(d, default=_plain)) for d in docs)
    assert stored < raw / 6  # zlib level 1 made about a quarter of it
    store.close()
    reopened = SqliteStore(tmp_path / "i.sqlite3")
    assert [reopened.get(d.id) for d in docs] == docs
    assert list(reopened.iter_documents()) == docs
    more = _docs(300, seed=5)
    reopened.index(more)  # a later run uses the stored dictionary
    assert _dict_ids(tmp_path / "i.sqlite3")[-300:] == [dict_id] * 300
    reopened.close()


def test_documents_of_earlier_versions_and_rows_prepared_elsewhere_still_read(tmp_path: Path):
    docs = _docs(3, seed=6)
    store = SqliteStore(tmp_path / "i.sqlite3")
    store.index_prepared(prepare_batch(docs[:2]))  # prepared without the store's dictionary (plain zstd)
    store.index(docs[2:])
    with sqlite3.connect(tmp_path / "i.sqlite3") as conn:  # an index file written before zstd: zlib streams
        rowid = conn.execute("SELECT rowid FROM reports WHERE id = ?", (docs[1].id,)).fetchone()[0]
        old = zlib.compress(orjson.dumps(docs[1], default=_plain), 1)
        conn.execute("UPDATE docs SET doc = ? WHERE rowid = ?", (old, rowid))
    assert [store.get(d.id) for d in docs] == docs
    hits = store.search(build_search(docs[1].title[:6]))
    assert docs[1].id in {h.id for h in hits.hits}
    store.close()


def test_a_build_from_empty_leaves_one_fts5_segment_and_later_runs_do_not_merge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Closing a store that built its file from empty merges FTS5's segments (a phrase costs a look-up per token and
    segment); a store that only added to an existing file leaves them to FTS5's own merging."""
    monkeypatch.setattr(sqlite_store, "COMMIT_ROWS", 20)  # a segment per 20 reports
    path = tmp_path / "i.sqlite3"
    docs = _docs(90, seed=7)
    store = SqliteStore(path)
    for start in range(0, 60, 20):
        store.index(docs[start : start + 20])
    with sqlite3.connect(path) as conn:
        assert sqlite_schema.fts_segments(conn) == 3
    phrase = docs[5].agency.normalized_name
    before = store.search(build_search(phrase)).total
    store.close()
    with sqlite3.connect(path) as conn:
        assert sqlite_schema.fts_segments(conn) == 1
    store = SqliteStore(path)
    assert store.search(build_search(phrase)).total == before > 0
    for start in range(60, 90, 20):
        store.index(docs[start : start + 20])
    store.close()
    with sqlite3.connect(path) as conn:
        assert sqlite_schema.fts_segments(conn) == 3
