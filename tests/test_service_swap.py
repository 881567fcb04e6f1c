"""Index swaps under load: a real waitress server on 127.0.0.1 over a real SQLite file answers parallel CSV exports
and searches while the index is rebuilt and swapped several times, in another process (``nianbao reindex`` while
the service runs) and in the serving process (the admin reindex job). No 5xx, no crash, every export complete."""

from __future__ import annotations

import csv
import dataclasses
import http.client
import io
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from test_service_data import build_documents, make_settings

from service import state
from service.app import create_app
from service.server import make_server
from store.sqlite_store import SqliteStore

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 6
SWAPS_OTHER_PROCESS = 3
SWAPS_IN_PROCESS = 3

REBUILD_SCRIPT = """
import sys
from store.sqlite_store import SqliteStore
store = SqliteStore(sys.argv[1])
for _ in range(int(sys.argv[2])):
    docs = list(store.iter_documents())
    with store.rebuild() as fresh:
        fresh.index(docs)
store.close()
"""


def many_documents(copies: int = 8):
    """The shared data set, repeated under new ids: a CSV export takes several pages of 100."""
    base = build_documents()
    return [dataclasses.replace(d, id=f"{d.id}-{k}") for k in range(copies) for d in base]


def test_index_swaps_under_parallel_exports_and_searches(tmp_path, capsys):
    docs = many_documents()
    path = tmp_path / "index.sqlite3"
    seed = SqliteStore(path)
    seed.index(docs)
    seed.close()
    store = SqliteStore(path)
    app = create_app(make_settings(tmp_path, rate_limit_per_minute=0), store=store)
    server = make_server(dataclasses.replace(app.config["NIANBAO_SETTINGS"], host="127.0.0.1", port=0), app)
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    port = server.effective_port

    stop = threading.Event()
    latencies: list[float] = []
    failures: list[str] = []
    exports = [0]
    lock = threading.Lock()

    def get(conn: http.client.HTTPConnection, params: dict[str, str]) -> tuple[int, bytes]:
        conn.request("GET", "/api/v1/search?" + urlencode(params))
        resp = conn.getresponse()
        return resp.status, resp.read()

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = 0
        while not stop.is_set():
            export = (i + n) % 2 == 0
            params = {"format": "csv", "columns": "all"} if export else {"q": "依申请公开", "size": "20"}
            started = time.perf_counter()
            try:
                status, body = get(conn, params)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    failures.append(f"{params}: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    failures.append(f"{params}: {status} {body[:300]!r}")
                elif export:
                    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
                    if len(rows) != len(docs) + 1:  # every swap rebuilds the same reports: always all of them
                        failures.append(f"export of {len(rows) - 1} rows, not {len(docs)}")
                    exports[0] += 1
            i += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    started = time.perf_counter()
    try:
        other = subprocess.Popen(
            [sys.executable, "-c", REBUILD_SCRIPT, str(path), str(SWAPS_OTHER_PROCESS)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(SWAPS_IN_PROCESS):  # the admin reindex job's way: the served store rebuilds itself
            time.sleep(0.3)
            with store.rebuild() as fresh:
                fresh.index(list(store.iter_documents()))
        _, err = other.communicate(timeout=240)
        assert other.returncode == 0, err
        time.sleep(0.5)  # requests after the last swap, too
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
        elapsed = time.perf_counter() - started
        server.close()
        state.close(app)

    assert not failures, failures[:5]
    ordered = sorted(latencies)
    assert exports[0] >= CLIENTS, "too few exports ran during the swaps to test anything"
    p50, p99 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    with capsys.disabled():
        print(
            f"\nswap test: {SWAPS_OTHER_PROCESS + SWAPS_IN_PROCESS} swaps in {elapsed:.1f} s, "
            f"{len(latencies)} requests "
            f"({exports[0]} CSV exports of {len(docs)} reports), {len(failures)} errors, "
            f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
        )


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
