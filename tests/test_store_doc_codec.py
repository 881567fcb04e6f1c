"""Stored documents (``store.doc_codec``): zstd with a dictionary the file trains on its first batch, read back
exactly; documents written without it (zstd) or by earlier versions (zlib) still read."""

from __future__ import annotations

import sqlite3
import zlib
from pathlib import Path

import orjson
import zstandard

from demo.generator import generate_corpus
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
