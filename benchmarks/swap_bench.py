"""Index swaps under load: parallel CSV exports and searches against a real server while the index is rebuilt
and swapped, in another process (``nianbao reindex`` while the service runs) and in the serving process (the
admin reindex job). Counts requests, errors (any non-200, any incomplete export, any connection failure) and
latency percentiles.

    python -m benchmarks swap [--reports 2000] [--clients 6] [--swaps 6] [--seed 1]

``tests/test_service_swap.py`` runs the same at a small size and requires zero errors.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import http.client
import io
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent

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


@dataclasses.dataclass
class Figures:
    swaps: int
    seconds: float
    requests: int
    exports: int
    reports: int
    errors: list[str]
    p50_ms: float
    p99_ms: float

    def describe(self) -> str:
        return (
            f"{self.swaps} swaps in {self.seconds:.1f} s: {self.requests} requests ({self.exports} CSV exports of "
            f"{self.reports} reports), {len(self.errors)} errors, p50 {self.p50_ms:.0f} ms, p99 {self.p99_ms:.0f} ms"
        )


def run(workdir: Path, docs: Sequence[Any], *, clients: int, swaps_other: int, swaps_in: int) -> Figures:
    """Index ``docs``, serve them on 127.0.0.1 (waitress, in this process), and swap while clients hammer it."""
    from nianbao.settings import Settings
    from service import state
    from service.app import create_app
    from service.server import make_server
    from store.sqlite_store import SqliteStore

    path = workdir / "index.sqlite3"
    seed = SqliteStore(path)
    seed.index(docs)
    seed.close()
    store = SqliteStore(path)
    settings = Settings(data_dir=workdir / "data", rate_limit_per_minute=0, host="127.0.0.1", port=0)
    app = create_app(settings, store=store)
    server = make_server(settings, app)
    threading.Thread(target=server.run, daemon=True).start()
    port = server.effective_port

    stop = threading.Event()
    latencies: list[float] = []
    errors: list[str] = []
    exports = [0]
    lock = threading.Lock()

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        i = 0
        while not stop.is_set():
            export = (i + n) % 2 == 0
            params = {"format": "csv", "columns": "all"} if export else {"q": "依申请公开", "size": "20"}
            started = time.perf_counter()
            try:
                conn.request("GET", "/api/v1/search?" + urlencode(params))
                resp = conn.getresponse()
                status, body = resp.status, resp.read()
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(f"{params}: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    errors.append(f"{params}: {status} {body[:300]!r}")
                elif export:
                    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
                    if len(rows) != len(docs) + 1:  # every swap rebuilds the same reports: always all of them
                        errors.append(f"export of {len(rows) - 1} rows, not {len(docs)}")
                    exports[0] += 1
            i += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    started = time.perf_counter()
    try:
        other = subprocess.Popen(
            [sys.executable, "-c", REBUILD_SCRIPT, str(path), str(swaps_other)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(swaps_in):  # the admin reindex job's way: the served store rebuilds itself
            time.sleep(0.3)
            with store.rebuild() as fresh:
                fresh.index(list(store.iter_documents()))
        _, err = other.communicate(timeout=1800)
        if other.returncode != 0:
            errors.append(f"the rebuilding process failed: {err[-2000:]}")
        time.sleep(0.5)  # requests after the last swap, too
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=300)
        seconds = time.perf_counter() - started
        server.close()
        state.close(app)
    ordered = sorted(latencies) or [0.0]
    return Figures(
        swaps=swaps_other + swaps_in,
        seconds=seconds,
        requests=len(latencies),
        exports=exports[0],
        reports=len(docs),
        errors=errors,
        p50_ms=ordered[len(ordered) // 2] * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks swap", description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=2_000, help="generated reports (default 2000)")
    parser.add_argument("--clients", type=int, default=6, help="client threads (default 6)")
    parser.add_argument("--swaps", type=int, default=6, help="swaps, half in another process (default 6)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    from benchmarks.search_bench import _documents

    docs = list(_documents(args.reports, args.seed))
    with tempfile.TemporaryDirectory(prefix="nianbao-swap-") as tmp:
        figures = run(
            Path(tmp), docs, clients=args.clients, swaps_other=args.swaps - args.swaps // 2, swaps_in=args.swaps // 2
        )
    print(figures.describe())
    print(
        json.dumps(
            {k: v for k, v in dataclasses.asdict(figures).items() if k != "errors"} | {"errors": len(figures.errors)}
        )
    )
    for error in figures.errors[:10]:
        print("  ", error)
    return 1 if figures.errors else 0
