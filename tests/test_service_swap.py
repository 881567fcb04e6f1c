"""Index swaps under load: a real waitress server on 127.0.0.1 over a real SQLite file answers parallel CSV exports
and searches while the index is rebuilt and swapped several times, in another process (``nianbao reindex`` while
the service runs) and in the serving process (the admin reindex job). No 5xx, no crash, every export complete.
(``python -m benchmarks swap`` runs the same at a bigger size.)"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from test_service_data import build_documents

from benchmarks.swap_bench import run
from store.sqlite_store import SqliteStore


def many_documents(copies: int = 8):
    """The shared data set, repeated under new ids: a CSV export takes several pages of 100."""
    base = build_documents()
    return [dataclasses.replace(d, id=f"{d.id}-{k}") for k in range(copies) for d in base]


def test_index_swaps_under_parallel_exports_and_searches(tmp_path, capsys):
    figures = run(tmp_path, many_documents(), clients=6, swaps_other=3, swaps_in=3)
    assert not figures.errors, figures.errors[:5]
    assert figures.exports >= 6, "too few exports ran during the swaps to test anything"
    with capsys.disabled():
        print(f"\nswap test: {figures.describe()}")


@pytest.mark.parametrize("pid_alive", [False, True])
def test_files_of_a_killed_rebuild_are_removed(tmp_path, pid_alive):
    path = tmp_path / "index.sqlite3"
    SqliteStore(path).close()
    if pid_alive:
        pid = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    else:
        pid = subprocess.Popen([sys.executable, "-c", "pass"])
        pid.wait()
    try:
        left = [tmp_path / f"index.sqlite3.rebuild-{pid.pid}{suffix}" for suffix in ("", "-wal", "-shm")]
        for f in left:
            f.write_bytes(b"x")
        store = SqliteStore(path)  # `nianbao index`, `serve` and `reindex` all open the store first
        store.close()
        assert all(f.exists() for f in left) is pid_alive  # a rebuild still running keeps its files
    finally:
        pid.kill()
        pid.wait()


def test_a_swap_closes_idle_readers_of_other_threads_and_they_read_the_new_file(tmp_path):
    """A thread that is not reading when the file is swapped loses its old connection at once (the old file's
    space is freed), and its next read opens the new file."""
    import sqlite3
    import threading

    docs = build_documents()
    store = SqliteStore(tmp_path / "index.sqlite3")
    store.index(docs)
    readers, go, counts = [], threading.Event(), []

    def idle_thread() -> None:
        counts.append(store.count())
        readers.append(store._local.reader)
        go.wait(timeout=60)
        counts.append(store.count())

    thread = threading.Thread(target=idle_thread)
    thread.start()
    while not readers:
        thread.join(timeout=0.05)
    with store.rebuild() as fresh:
        fresh.index(docs[:5])
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        readers[0].conn.execute("SELECT 1")  # closed by the swap, while its thread was idle
    go.set()
    thread.join(timeout=60)
    assert counts == [len(docs), 5]
    store.close()
