"""Load benchmark of ``nianbao serve``: requests/s and latency with 1, 8 and 32 concurrent clients.

    python -m benchmarks load [--reports 2000] [--clients 1,8,32] [--duration 4] [--threads 1,4] [--waitress]

An index of ``--reports`` generated reports (or an existing one, ``--index PATH``, e.g. one kept by
``python -m benchmarks search --keep``) is served on 127.0.0.1 by the real ``nianbao serve`` command, first
with one worker process and with ``--workers`` (default: one per core), both running at once and measured in
turns (``--rounds`` interleaved runs per level, so other work on the machine weighs on both alike). A load
generator keeps N connections busy (HTTP/1.1 keep-alive) for ``--duration`` seconds per level and server:
``wrk`` when it is installed (``apt-get install wrk``; a few µs of CPU a request, so the server has the cores),
else an asyncio client in this process (``--client python``). Both cycle through
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
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from benchmarks import save_results

ROOT = Path(__file__).resolve().parent.parent
RATE_LIMIT = 100_000_000  # per minute: the limiter runs, refuses nothing
WAITRESS = """
import logging
logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" on every queued request
from nianbao.settings import load_settings
from service.server import make_server
server = make_server(load_settings(port={port}, threads=8))  # as `nianbao serve` ran before gunicorn
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

    def __init__(self, data_dir: Path, workers: int, threads: int = 0, rate_limit: int = RATE_LIMIT) -> None:
        """``workers`` 0: the in-process waitress server (``service.server.make_server``, 8 threads), which is
        what ``nianbao serve`` ran before it pre-forked gunicorn workers. ``threads`` 0: the setting's default."""
        self.port = _free_port()
        env = dict(os.environ, NIANBAO_RATE_LIMIT_PER_MINUTE=str(rate_limit), NIANBAO_DATA_DIR=str(data_dir))
        cmd = [sys.executable, "-m", "nianbao.cli", "serve", "--port", str(self.port), "--workers", str(workers)]
        if threads:
            cmd += ["--threads", str(threads)]
        if workers == 0:
            cmd = [sys.executable, "-c", WAITRESS.format(port=self.port)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if f":{self.port}/" not in line:
            self.stop()
            raise RuntimeError(f"nianbao serve did not start: {line!r}")
        self.banner = line.strip()

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server and its worker processes."""
        pids = [self.proc.pid]
        try:
            pids += [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]
        except OSError:
            return float("nan")
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

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


async def _python_run(port: int, paths: list[str], clients: int, duration: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors: list[str] = []
    until = time.perf_counter() + duration
    await asyncio.gather(*(_client(port, paths, c * 7, until, latencies, errors) for c in range(clients)))
    return latencies, len(errors)


# wrk (C, epoll: a few µs of CPU a request, against ~1 ms for the asyncio client, so on a 2-core machine the
# load generator leaves the cores to the server). The script cycles through the paths from a different
# starting point per connection and reports, as JSON on its last line, what ``measure`` needs.
WRK_SCRIPT = """
local paths = {%s}
local counter = 0
function setup(thread) counter = counter + 1; thread:set("start", counter * 7) end
function init(args) i = start end
function request()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


class Load:
    """Keeps ``clients`` keep-alive connections busy for a while and says how it went; ``client`` is "wrk" or
    "python" (the asyncio client in this process)."""

    def __init__(self, client: str, paths: list[str], script_dir: Path) -> None:
        self.client = client
        self.paths = paths
        self.script = script_dir / "load.lua"
        self.script.write_text(WRK_SCRIPT % ", ".join(json.dumps(p) for p in paths), encoding="utf-8")

    def run(self, port: int, clients: int, duration: float) -> dict[str, Any]:
        """requests, seconds, p50/p99 (ms), errors, and the client's own CPU seconds."""
        before = _cpu_self_and_children()
        if self.client == "wrk":
            out = self._wrk(port, clients, duration)
        else:
            started = time.perf_counter()
            latencies, errors = asyncio.run(_python_run(port, self.paths, clients, duration))
            out = {"requests": len(latencies), "seconds": time.perf_counter() - started, "errors": errors}
            out.update(_percentiles(latencies))
        out["client_cpu_s"] = _cpu_self_and_children() - before
        return out

    def _wrk(self, port: int, clients: int, duration: float) -> dict[str, Any]:
        seconds = max(1, round(duration))  # wrk counts whole seconds
        cmd = ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s", "-s", str(self.script)]
        proc = subprocess.run([*cmd, f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True)
        last = json.loads(proc.stdout.strip().splitlines()[-1])
        return {
            "requests": last["requests"],
            "seconds": last["duration_us"] / 1e6,
            "errors": last["errors"],
            "p50_ms": round(last["p50_us"] / 1000, 1),
            "p99_ms": round(last["p99_us"] / 1000, 1),
        }


def _cpu_self_and_children() -> float:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _percentiles(latencies: list[float]) -> dict[str, float]:
    latencies = sorted(latencies) or [float("nan")]

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 1)

    return {"p50_ms": pct(50), "p99_ms": pct(99)}


def _pool(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One level's interleaved runs as one: totals summed, percentiles the request-weighted mean of the runs'."""
    requests = sum(r["requests"] for r in runs)
    weight = [r["requests"] / max(requests, 1) for r in runs]
    return {
        "requests": requests,
        "seconds": sum(r["seconds"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "p50_ms": round(sum(w * r["p50_ms"] for w, r in zip(weight, runs, strict=True)), 1),
        "p99_ms": round(max(r["p99_ms"] for r in runs), 1),
        "client_cpu_s": sum(r["client_cpu_s"] for r in runs),
        "server_cpu_s": sum(r["server_cpu_s"] for r in runs),
    }


def measure(
    servers: dict[str, Server], levels: list[int], duration: float, rounds: int, load: Load
) -> dict[str, list[dict[str, Any]]]:
    """Every server at every level, interleaved round by round (``rounds`` runs of ``duration`` / ``rounds``
    seconds each), so that other work on the machine weighs on all of them alike. Before each run a short
    warm-up at the same concurrency (connections opened, every worker's caches filled) is not counted, neither
    its requests nor its CPU."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    for clients in levels:
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
        for _ in range(rounds):
            for name, server in servers.items():
                load.run(server.port, clients, min(1.0, duration / rounds / 2))
                before = server.cpu_seconds()
                run = load.run(server.port, clients, duration / rounds)
                run["server_cpu_s"] = server.cpu_seconds() - before
                runs[name].append(run)
        for name in servers:
            pooled = _pool(runs[name])
            row = {
                "clients": clients,
                "requests": pooled["requests"],
                "requests_per_second": round(pooled["requests"] / pooled["seconds"], 1),
                "p50_ms": pooled["p50_ms"],
                "p99_ms": pooled["p99_ms"],
                "errors": pooled["errors"],
                # CPU per request and cores busy: what throughput a quiet machine allows (this one may be shared).
                "server_cpu_ms_per_request": round(pooled["server_cpu_s"] * 1000 / max(pooled["requests"], 1), 2),
                "server_cores_busy": round(pooled["server_cpu_s"] / pooled["seconds"], 2),
                "client_cores_busy": round(pooled["client_cpu_s"] / pooled["seconds"], 2),
            }
            out[name].append(row)
            print(
                f"  {name:>10}, {clients:>3} clients: {row['requests_per_second']:8.1f} req/s"
                f"  p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms  errors {row['errors']}"
                f"  server CPU {row['server_cpu_ms_per_request']:5.1f} ms/request, {row['server_cores_busy']:.2f} cores"
                f"; client {row['client_cores_busy']:.2f} cores",
                file=sys.stderr,
            )
    return out


def _name(workers: int, threads: int) -> str:
    """A server's label: "2 workers", or "2 workers × 1 threads" when the thread count was chosen."""
    name = "1 worker" if workers == 1 else f"{workers} workers"
    return f"{name} × {threads} threads" if threads else name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks load", description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=2_000, help="generated reports to index (default 2000)")
    parser.add_argument("--index", type=Path, help="serve this existing index file instead of generating one")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", default="1,8,32", help="concurrency levels (default 1,8,32)")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds measured per level (default 4)")
    parser.add_argument("--workers", type=int, default=0, help="worker processes to compare with one (0: one per core)")
    parser.add_argument(
        "--threads",
        default="0",
        help="request threads per worker, a list to compare several (default 0: the setting's)",
    )
    parser.add_argument("--rate-limit", type=int, default=RATE_LIMIT, help="per minute; 0 turns the limiter off")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs per level and server (default 3)")
    parser.add_argument("--waitress", action="store_true", help="also measure the in-process waitress server (before)")
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk (C, needs the wrk package) or the asyncio client here; auto: wrk when installed",
    )
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.clients.split(",") if c.strip()]
    thread_counts = [int(t) for t in args.threads.split(",") if t.strip()]
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
            saved = Path(f"{args.index.resolve()}.columns")
            if saved.exists():
                os.symlink(saved, data_dir / "index.sqlite3.columns")
            report["index"] = str(args.index)
        else:
            print(f"indexing {args.reports:,} generated reports", file=sys.stderr)
            build_index(data_dir, args.reports, args.seed)
            report["reports"] = args.reports
        paths = search_paths(args.seed)
        client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "python")
        report["client"] = client
        print(f"load generator: {client}", file=sys.stderr)
        load = Load(client, paths, Path(tmp))
        configs = {"waitress": (0, 0)} if args.waitress else {}
        for threads in thread_counts:
            configs[_name(1, threads)] = (1, threads)
            configs[_name(workers, threads)] = (workers, threads)
        servers: dict[str, Server] = {}
        try:
            for name, (count, threads) in configs.items():
                servers[name] = Server(data_dir, count, threads, args.rate_limit)
                print(f"  {servers[name].banner}", file=sys.stderr)
            report["levels"] = measure(servers, levels, args.duration, args.rounds, load)
        finally:
            for server in servers.values():
                server.stop()
    report["ratio_by_clients"] = {}
    for threads in thread_counts:
        single, multi = report["levels"][_name(1, threads)], report["levels"][_name(workers, threads)]
        ratios = {
            str(one["clients"]): round(many["requests_per_second"] / max(one["requests_per_second"], 1e-9), 2)
            for one, many in zip(single, multi, strict=True)
        }
        report["ratio_by_clients"][_name(workers, threads)] = ratios
        print(f"throughput, {_name(workers, threads)} / 1 worker, by clients: {ratios}", file=sys.stderr)
    out = save_results("load", report)
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
