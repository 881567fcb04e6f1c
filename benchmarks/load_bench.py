"""Load benchmark of ``nianbao serve``: requests/s and latency with 1, 8 and 32 concurrent clients.

    python -m benchmarks load [--reports 2000] [--clients 1,8,32] [--duration 4] [--workers 0] [--waitress]

An index of ``--reports`` generated reports (or an existing one, ``--index PATH``, e.g. one kept by
``python -m benchmarks search --keep``) is served on 127.0.0.1 by the real ``nianbao serve`` command, first
with one worker process, then with ``--workers`` (default: one per core). A separate client process keeps
N connections busy (HTTP/1.1 keep-alive, asyncio) for ``--duration`` seconds per level, cycling through
realistic searches (the search benchmark's queries: 20 hits, all default facets, highlighting); the rate
limiter stays on (a limit too high to refuse anything), so its shared table is part of every request.
Results go to ``benchmarks/results/load-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
RATE_LIMIT = 100_000_000  # per minute: the limiter runs, refuses nothing
WAITRESS = """
import logging
logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" on every queued request
from nianbao.settings import load_settings
from service.server import make_server
server = make_server(load_settings(port={port}))
print(f"waitress on http://127.0.0.1:{{server.effective_port}}/", flush=True)
server.run()
"""


def search_paths(seed: int) -> list[str]:
    """The search benchmark's queries as API request targets."""
    from benchmarks.search_bench import _documents, queries

    paths = []
    for spec in queries(list(islice(_documents(10, seed), 10))):
        params: list[tuple[str, str]] = [("q", spec.get("q", "")), ("size", "20")]
        for name, values in spec.get("filters", {}).items():
            params.extend((name, v) for v in values)
        params.extend(("metric", m) for m in spec.get("metric", []))
        if "section" in spec:
            params.append(("section", spec["section"]))
        if "sort" in spec:
            params.append(("sort", spec["sort"]))
        paths.append("/api/v1/search?" + urlencode(params))
    return paths


def build_index(data_dir: Path, n: int, seed: int) -> float:
    from benchmarks.search_bench import build

    return build(data_dir / "index.sqlite3", n, seed)["reports_per_second"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``nianbao serve`` in a subprocess, on a free port of 127.0.0.1."""

    def __init__(self, data_dir: Path, workers: int) -> None:
        """``workers`` 0: the in-process waitress server (``service.server.make_server``, 8 threads), which is
        what ``nianbao serve`` ran before it pre-forked gunicorn workers."""
        self.port = _free_port()
        env = dict(os.environ, NIANBAO_RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT), NIANBAO_DATA_DIR=str(data_dir))
        cmd = [sys.executable, "-m", "nianbao.cli", "serve", "--port", str(self.port), "--workers", str(workers)]
        if workers == 0:
            cmd = [sys.executable, "-c", WAITRESS.format(port=self.port)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if f":{self.port}/" not in line:
            self.stop()
            raise RuntimeError(f"nianbao serve did not start: {line!r}")
        self.banner = line.strip()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def _client(port: int, paths: list[str], offset: int, until: float, out: list[float], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while time.perf_counter() < until:
            path = paths[i % len(paths)]
            i += 1
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode("ascii"))
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            out.append(time.perf_counter() - started)
            if status != b"200":
                errors.append(status.decode())
            if b"connection: close" in head.lower():
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


async def _level(port: int, paths: list[str], clients: int, duration: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    # A short warm-up at this concurrency (connections opened, every worker's caches filled), not counted.
    warm_until = time.perf_counter() + min(2.0, duration / 2)
    await asyncio.gather(*(_client(port, paths, c * 7, warm_until, [], []) for c in range(clients)))
    started = time.perf_counter()
    until = started + duration
    await asyncio.gather(*(_client(port, paths, c * 7, until, latencies, errors) for c in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 1)

    return {
        "clients": clients,
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "errors": len(errors),
    }


def measure(data_dir: Path, workers: int, levels: list[int], duration: float, paths: list[str]) -> dict[str, Any]:
    server = Server(data_dir, workers)
    try:
        print(f"  {server.banner}", file=sys.stderr)
        rows = []
        for clients in levels:
            row = asyncio.run(_level(server.port, paths, clients, duration))
            rows.append(row)
            print(
                f"  workers {workers}, {clients:>3} clients: {row['requests_per_second']:8.1f} req/s"
                f"  p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms  errors {row['errors']}",
                file=sys.stderr,
            )
        return {"workers": workers, "levels": rows}
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks load", description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=2_000, help="generated reports to index (default 2000)")
    parser.add_argument("--index", type=Path, help="serve this existing index file instead of generating one")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", default="1,8,32", help="concurrency levels (default 1,8,32)")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds measured per level (default 4)")
    parser.add_argument("--workers", type=int, default=0, help="worker processes to compare with one (0: one per core)")
    parser.add_argument("--waitress", action="store_true", help="also measure the in-process waitress server (before)")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.clients.split(",") if c.strip()]
    workers = args.workers or len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="nianbao-load-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        report: dict[str, Any] = {
            "benchmark": "load",
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
            "duration_s": args.duration,
        }
        if args.index:
            os.symlink(args.index.resolve(), data_dir / "index.sqlite3")
            saved = Path(f"{args.index.resolve()}.columns.npz")
            if saved.exists():
                os.symlink(saved, data_dir / "index.sqlite3.columns.npz")
            report["index"] = str(args.index)
        else:
            print(f"indexing {args.reports:,} generated reports", file=sys.stderr)
            build_index(data_dir, args.reports, args.seed)
            report["reports"] = args.reports
        paths = search_paths(args.seed)
        if args.waitress:
            report["waitress"] = measure(data_dir, 0, levels, args.duration, paths)
        report["single"] = measure(data_dir, 1, levels, args.duration, paths)
        report["multi"] = measure(data_dir, workers, levels, args.duration, paths)
    ratios = {
        str(one["clients"]): round(many["requests_per_second"] / max(one["requests_per_second"], 1e-9), 2)
        for one, many in zip(report["single"]["levels"], report["multi"]["levels"], strict=True)
    }
    report["ratio_by_clients"] = ratios
    print(f"throughput, {workers} workers / 1 worker, by clients: {ratios}", file=sys.stderr)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"load-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
