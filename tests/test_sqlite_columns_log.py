"""The writer's columnar copy kept on disk (``sqlite_columns.ColumnLog``): a writer that no search made load the
copy records its writes in a spill file and saves, when it closes, the copy a load from the tables gives."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.document import Analysis, Region
from store import sqlite_columns, sqlite_prepare, sqlite_store
from store.base import DerivedValues
from store.query import build_search
from store.sqlite_store import SqliteStore
from tests.test_store_sqlite import _decoded, make_corpus, passes


def _saved_copy_is_a_fresh_load(path: Path) -> sqlite_columns.Columns:
    reader = SqliteStore(path)
    conn = reader._writer
    generation = reader._generation(conn)
    saved = sqlite_columns.load_saved(reader._saved_columns, reader._build, generation)
    assert saved is not None, "no current saved copy"
    fresh = sqlite_columns.load(conn, generation)
    for key in saved._metrics:
        fresh.metric(conn, key)
    assert _decoded(saved) == _decoded(fresh)
    for name, keyword in saved.keywords.items():  # a filter finds every report of a label: one code per label
        labels = [v for v in keyword.labels if v]
        assert len(labels) == len(set(labels)), name
    reader.close()
    return saved


def _spills(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}{sqlite_columns.SPILL_INFIX}*"))


def test_a_writer_logs_its_writes_on_disk_and_saves_the_copy_a_load_gives(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_prepare, "BATCH_SIZE", 10)
    monkeypatch.setattr(sqlite_store, "COMMIT_ROWS", 15)  # several transactions a call
    docs = make_corpus(60, seed=31)
    path = tmp_path / "i.sqlite3"
    writer = SqliteStore(path)
    writer.index(docs[:30])
    assert writer._cols is None, "the writer holds the copy in memory"
    assert writer._column_log is not None and writer._column_log.records == 30
    docs[3].region = Region(province="新疆维吾尔自治区", city="", county="")
    docs[3].flags = ["brand_new_flag"]
    docs[4].metrics = {"applications.new.total": 7}
    later = dataclasses.replace(docs[3], flags=["later_flag", "needs_ocr"])  # the same report again, later
    writer.index([*docs[:40], later])
    writer.delete([docs[5].id, docs[35].id])
    derived = DerivedValues({"copied.peers_ratio": 0.5}, [], ["cross.carry"], Analysis(series="s"), "failed")
    assert writer.update_derived({docs[6].id: derived}).indexed == 1
    assert writer._cols is None
    spills = _spills(path)
    assert len(spills) == 2  # records and new labels
    writer.close()
    assert not _spills(path), "the spill files outlived the writer"
    saved = _saved_copy_is_a_fresh_load(path)
    assert saved.keywords["province"].lookup["新疆维吾尔自治区"] == saved.keywords["province"].codes[4]  # rowid 4

    again = SqliteStore(path)  # an incremental run: the saved copy (mapped) is the log's base
    docs[7].region = Region(province="西藏自治区", city="拉萨市", county="")
    again.index([*docs[40:50], docs[7]])
    assert again._cols is None and again._column_log is not None
    again.delete([docs[8].id])
    again.close()
    _saved_copy_is_a_fresh_load(path)
    query = build_search("公开", facets=["province", "flags"])
    reader = SqliteStore(path)
    kept = [d for d in docs[:50] if d.id not in {docs[5].id, docs[35].id, docs[8].id}]
    assert reader.search(query).total == len({d.id for d in kept if passes(d, query)})
    reader.close()


def test_the_log_is_dropped_when_another_process_writes_and_the_copy_still_saved_is_right(tmp_path, monkeypatch):
    import sqlite3

    monkeypatch.setattr(sqlite_prepare, "BATCH_SIZE", 10)
    docs = make_corpus(30, seed=37)
    path = tmp_path / "i.sqlite3"
    writer = SqliteStore(path)
    writer.index(docs[:20])
    with sqlite3.connect(path) as other:  # another writer (older version, or killed before it saved)
        other.execute("UPDATE reports SET removed = 1 WHERE id = ?", (docs[0].id,))
        other.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    other.close()
    writer.index(docs[20:])
    assert writer._column_log is None and not _spills(path)
    writer.close()
    _saved_copy_is_a_fresh_load(path)


def test_more_distinct_flags_than_the_log_holds_fall_back_to_a_load(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_columns, "_FLAG_BITS", 2)
    docs = make_corpus(12, seed=41)
    for i, d in enumerate(docs):
        d.flags = [f"flag{i % 4}"]
    path = tmp_path / "i.sqlite3"
    writer = SqliteStore(path)
    writer.index(docs)
    assert writer._column_log is None
    writer.close()
    assert set(_saved_copy_is_a_fresh_load(path).flags) == {"flag0", "flag1", "flag2", "flag3"}


def test_a_killed_writer_leaves_an_index_whose_first_search_loads_the_copy(tmp_path):
    path = tmp_path / "i.sqlite3"
    script = f"""
import os, sys
sys.path.insert(0, {str(Path(__file__).parent.parent)!r})
from demo.generator import generate_corpus
from store.sqlite_store import SqliteStore
store = SqliteStore({str(path)!r})
store.index(r.to_document(f"https://gov.example/{{i}}") for i, r in enumerate(generate_corpus(25)))
assert store._column_log is not None and store._column_log.path.exists()
os._exit(0)  # killed: nothing closed, nothing saved
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert len(_spills(path)) == 2
    assert not Path(f"{path}{sqlite_store.SAVED_COLUMNS_SUFFIX}").exists()
    reader = SqliteStore(path)  # opening removes the dead writer's spill files
    assert not _spills(path)
    result = reader.search(build_search("", facets=["year"]))
    assert result.total == 25
    assert sum(v.count for f in result.facets for v in f.values) == 25
    reader.close()
    _saved_copy_is_a_fresh_load(path)  # the first search saved the copy it loaded


def test_labels_with_separators_and_quotes_survive_the_labels_file(tmp_path):
    docs = make_corpus(6, seed=43)
    odd = ['a\tb"c', "line\nbreak", "\\back", "中文\u2028sep"]
    for d, name in zip(docs, odd, strict=False):
        d.region = Region(province=name, city="", county="")
    path = tmp_path / "i.sqlite3"
    writer = SqliteStore(path)
    writer.index(docs)
    writer.close()
    saved = _saved_copy_is_a_fresh_load(path)
    assert set(odd) <= set(saved.keywords["province"].labels)
    json.dumps(saved.keywords["province"].labels)  # plain strings


@pytest.mark.parametrize("alive", [False, True])
def test_spill_files_of_a_dead_writer_are_removed_and_a_live_ones_kept(tmp_path, alive):
    path = tmp_path / "i.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)" if alive else "pass"])
    if not alive:
        proc.wait()
    try:
        left = [tmp_path / f"i.sqlite3{sqlite_columns.SPILL_INFIX}{proc.pid}-x{s}" for s in ("", ".labels")]
        for f in left:
            f.write_bytes(b"x")
        SqliteStore(path).close()
        assert all(f.exists() for f in left) is alive
    finally:
        proc.kill()
        proc.wait()


def test_a_search_of_the_writing_process_takes_the_copy_from_its_log(tmp_path, monkeypatch):
    """The service indexes what an admin crawl found, then searches: the copy comes from the log, not the tables."""
    docs = make_corpus(30, seed=47)
    path = tmp_path / "i.sqlite3"
    first = SqliteStore(path)
    first.index(docs[:20])
    first.close()
    monkeypatch.setattr(sqlite_columns, "load", lambda *a: pytest.fail("loaded the copy from the tables"))
    writer = SqliteStore(path)
    writer.index(docs[20:])
    writer.delete([docs[0].id])
    query = build_search("公开", facets=["province", "flags", "year"])
    assert writer.search(query).total == len({d.id for d in docs[1:] if passes(d, query)})
    docs[1].flags = ["after_the_search"]
    writer.index([docs[1]])  # patched into the copy the search loaded, and logged
    assert writer.search(build_search("", filters={"flags": ["after_the_search"]})).total == 1
    writer.close()
    monkeypatch.undo()
    _saved_copy_is_a_fresh_load(path)


def test_a_log_that_cannot_be_written_or_saved_costs_only_a_load(tmp_path, monkeypatch, caplog):
    docs = make_corpus(20, seed=53)
    path = tmp_path / "i.sqlite3"

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    writer = SqliteStore(path)
    writer.index(docs[:10])
    monkeypatch.setattr(sqlite_columns.ColumnLog, "append", full_disk)
    assert writer.index(docs[10:15]).indexed == 5  # committed: the log is dropped, the write is not
    assert writer._column_log is None and not _spills(path)
    writer.close()  # saves the copy it loads from the tables
    assert "could not log the columnar copy" in caplog.text
    _saved_copy_is_a_fresh_load(path)

    monkeypatch.undo()
    writer = SqliteStore(path)
    writer.index(docs[15:])
    monkeypatch.setattr(sqlite_columns.ColumnLog, "save", full_disk)
    writer.close()  # the copy could not be saved: warned, nothing raised
    assert "could not save the columnar copy" in caplog.text and not _spills(path)
    monkeypatch.undo()
    reader = SqliteStore(path)
    assert reader.search(build_search("", facets=["year"])).total == 20
    reader.close()
