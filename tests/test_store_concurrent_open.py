"""A new index file opened by several processes at once (the server's forked workers on a fresh data directory)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from store.sqlite_store import SqliteStore

PROCESSES = 8


def _open_after(barrier, path: str, results) -> None:
    barrier.wait(timeout=30)
    try:
        store = SqliteStore(Path(path))
        store.close()
        results.put("ok")
    except Exception as exc:  # reported to the test, which names it
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_file_together_all_succeed(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for attempt in range(3):  # the race is a window of milliseconds: give it several chances to show
        path = tmp_path / f"index-{attempt}.sqlite3"
        barrier = ctx.Barrier(PROCESSES)
        results = ctx.Queue()
        procs = [ctx.Process(target=_open_after, args=(barrier, str(path), results)) for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        assert outcomes == ["ok"] * PROCESSES, outcomes
        store = SqliteStore(path)
        try:
            assert store.count() == 0
        finally:
            store.close()
