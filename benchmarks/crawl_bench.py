"""Crawl benchmark: a generated government site of ≥2,000 pages over several loopback hosts, served by a child
process, crawled end to end (fetch → WARC → catalog, fsync included).

    .venv/bin/python -m benchmarks.crawl_bench [--pages 2400] [--hosts 4] [--delay 0.02]

Reports pages/second with politeness off (no delay, 4 connections per host), then how throughput scales
with the number of hosts with politeness on (one connection per host, ``--delay`` between requests).
Results also go to benchmarks/results/crawl.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPORTS_PER_LIST = 10  # each list page: 10 report links; each report page: one PDF → 21 pages per list page
RESULTS = Path(__file__).resolve().parent / "results"


def _page(path: str) -> tuple[int, str, bytes]:
    """The generated site: /nb/index.html, /nb/index_N.html, /nb/rK.html, /f/K.pdf."""
    if path == "/robots.txt":
        return 200, "text/plain", b"User-agent: *\nDisallow: /private/\n"
    name = path.rsplit("/", 1)[-1]
    if path.startswith("/nb/index"):
        n = 0 if name == "index.html" else int(name[6:-5])
        first = n * REPORTS_PER_LIST
        items = "".join(
            f'<li><a href="r{k}.html">某县{2000 + k % 25}年政府信息公开工作年度报告（{k}）</a></li>'
            for k in range(first, first + REPORTS_PER_LIST)
        )
        pager = f'<a href="index_{n + 1}.html">下一页</a>' if n + 1 < _LISTS else ""
        html = f"<html><head><meta charset='utf-8'><title>政府信息公开年报</title></head><body><ul>{items}</ul>{pager}"
        return 200, "text/html; charset=utf-8", (html + "</body></html>").encode()
    if path.startswith("/nb/r"):
        k = int(name[1:-5])
        body = "".join(
            f"<p>{s}</p><p>{'本年度工作情况。' * 40}</p>" for s in ("一、总体情况", "二、主动公开政府信息情况")
        )
        html = (
            f"<html><head><meta charset='utf-8'><title>某县{2000 + k % 25}年政府信息公开工作年度报告</title></head>"
            f"<body><h1>某县{2000 + k % 25}年政府信息公开工作年度报告</h1>{body}"
            f'<a href="/f/{k}.pdf">附件.pdf</a></body></html>'
        )
        return 200, "text/html; charset=utf-8", html.encode()
    if path.startswith("/f/"):
        k = int(name[:-4])
        return 200, "application/pdf", b"%PDF-1.4\n" + (f"report {k} " * 1500).encode()
    return 404, "text/plain", b"not found"


_LISTS = 1  # set in the server process


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes; do not wait on delayed ACKs

    def do_GET(self) -> None:
        status, ctype, body = _page(self.path)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def _serve(hosts: int, lists: int, ready: Any, stop: Any) -> None:
    import threading

    global _LISTS
    _LISTS = lists
    servers = [_Server((f"127.0.0.{i + 1}", 0), _Handler) for i in range(hosts)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ready.put([f"http://{s.server_address[0]}:{s.server_address[1]}" for s in servers])
    stop.wait()


def _crawl_once(hosts: int, pages_per_host: int, delay: float, concurrency: int) -> dict[str, Any]:
    from crawler.run import crawl
    from nianbao.settings import Settings

    lists = max(1, round(pages_per_host / (1 + 2 * REPORTS_PER_LIST)))
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=_serve, args=(hosts, lists, ready, stop), daemon=True)
    proc.start()
    try:
        origins = ready.get(timeout=30)
        with tempfile.TemporaryDirectory(prefix="nianbao-crawl-bench-") as tmp:
            sources = Path(tmp) / "sources.toml"
            sources.write_text(
                "".join(
                    f'[[source]]\nid = "h{i}"\nname = "host {i}"\nstart_urls = ["{o}/nb/index.html"]\n'
                    f"delay = {delay}\nconcurrency = {concurrency}\nmax_depth = 3\n\n"
                    for i, o in enumerate(origins)
                ),
                encoding="utf-8",
            )
            settings = Settings(
                data_dir=Path(tmp) / "data", sources_file=sources, request_timeout=10.0, crawl_allow_loopback=True
            )
            started = time.perf_counter()
            summary = crawl(settings)
            seconds = time.perf_counter() - started
            archive_bytes = sum(p.stat().st_size for p in settings.archive_dir.glob("*.warc.gz"))
    finally:
        stop.set()
        proc.join(timeout=5)
    return {
        "hosts": hosts,
        "delay": delay,
        "concurrency_per_host": concurrency,
        "pages": summary.pages,
        "failed": len(summary.failed),
        "seconds": round(seconds, 2),
        "pages_per_second": round(summary.pages / seconds, 1),
        "archive_mb": round(archive_bytes / 1e6, 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.crawl_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2400, help="total pages of the politeness-off run")
    parser.add_argument("--hosts", type=int, default=4, help="hosts of the politeness-off run")
    parser.add_argument("--delay", type=float, default=0.02, help="per-host delay of the politeness-on runs")
    parser.add_argument("--scaling-pages", type=int, default=126, help="pages per host in the scaling runs")
    parser.add_argument("--scaling-hosts", default="1,2,4,8", help="host counts of the scaling runs")
    args = parser.parse_args(argv)

    off = _crawl_once(args.hosts, args.pages // args.hosts, 0.0, 4)
    print(
        f"politeness off: {off['pages']} pages over {off['hosts']} hosts in {off['seconds']}s "
        f"= {off['pages_per_second']} pages/s ({off['failed']} failed, {off['archive_mb']} MB of WARC)"
    )
    scaling = []
    print(f"politeness on (delay {args.delay}s, 1 connection per host, {args.scaling_pages} pages per host):")
    for hosts in (int(h) for h in args.scaling_hosts.split(",")):
        row = _crawl_once(hosts, args.scaling_pages, args.delay, 1)
        scaling.append(row)
        ceiling = hosts / args.delay if args.delay else float("inf")
        print(
            f"  {hosts} host(s): {row['pages']} pages in {row['seconds']}s = {row['pages_per_second']} pages/s "
            f"(politeness ceiling {ceiling:.0f}/s)"
        )
    result = {"politeness_off": off, "politeness_on": scaling}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "crawl.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
