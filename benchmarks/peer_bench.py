"""nianbao's embedded store against the peer build, back to back on the same rows and machine.

    python -m benchmarks peer [--reports 2000] [--seed 1] [--repeats 5] [--keep]

The peer is what someone would build with stock tools: ``sqlite-utils insert`` of the reports as rows (id,
title, region, agency, year, published, check status, the sections' text, the metrics as JSON) and
``sqlite-utils enable-fts --tokenize trigram`` over title and text (the ``sqlite-utils`` command line, a dev
dependency). Not timed: generating the reports and writing them as the JSON lines the peer reads. Timed:
``SqliteStore.index`` of the same reports (in batches of 5,000, including ``close``, which saves the columnar
copy), and the peer's two commands. Then queries on both: rare and common phrases as nianbao searches (all
facets, highlighting, 20 hits) and as the peer's trigram ``MATCH`` (matching rowids and their count), each
the median of ``--repeats`` runs (nianbao's match cache cleared before each). Results go to
``benchmarks/results/peer-<timestamp>.json``; ``--keep`` leaves both databases.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

from benchmarks import save_results

CHUNK = 5_000


def _row(doc: Any) -> dict[str, Any]:
    return {
        "id": doc.id,
        "title": doc.title,
        "province": doc.region.province,
        "city": doc.region.city,
        "county": doc.region.county,
        "agency": doc.agency.normalized_name,
        "agency_type": doc.agency.type,
        "year": doc.year,
        "published": doc.published,
        "check_status": doc.check_status,
        "text": "\n".join(s.text for s in doc.sections),
        "metrics": json.dumps(doc.metrics, ensure_ascii=False),
    }


def write_rows(path: Path, n: int, seed: int) -> None:
    from benchmarks.search_bench import _documents

    with open(path, "w", encoding="utf-8") as fh:
        for doc in _documents(n, seed):
            fh.write(json.dumps(_row(doc), ensure_ascii=False) + "\n")


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def index_nianbao(path: Path, n: int, seed: int) -> tuple[float, float]:
    """Seconds to index and CPU seconds it took, this process's and its helper processes' (generating each chunk
    is not counted)."""
    from benchmarks.search_bench import _documents
    from store.sqlite_store import SqliteStore

    store = SqliteStore(path)
    docs = _documents(n, seed)
    seconds = cpu = 0.0
    children = _cpu(resource.RUSAGE_CHILDREN)  # the preparation helpers are reaped when the store closes
    while chunk := list(islice(docs, CHUNK)):
        started, cpu_started = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
        store.index(chunk)
        seconds += time.perf_counter() - started
        cpu += _cpu(resource.RUSAGE_SELF) - cpu_started
    started, cpu_started = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
    store.close()
    cpu += _cpu(resource.RUSAGE_SELF) - cpu_started + _cpu(resource.RUSAGE_CHILDREN) - children
    return seconds + time.perf_counter() - started, cpu


def index_peer(db: Path, rows: Path) -> dict[str, float]:
    tool = Path(sys.executable).with_name("sqlite-utils")
    cpu_started = _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([str(tool), "insert", str(db), "reports", str(rows), "--nl", "--pk", "id"], check=True)
    inserted = time.perf_counter()
    subprocess.run([str(tool), "enable-fts", str(db), "reports", "title", "text", "--tokenize", "trigram"], check=True)
    done = time.perf_counter()
    cpu = _cpu(resource.RUSAGE_CHILDREN) - cpu_started
    return {"insert_s": inserted - started, "enable_fts_s": done - inserted, "total_s": done - started, "cpu_s": cpu}


def queries(seed: int) -> list[str]:
    from benchmarks.search_bench import _documents

    sample = list(islice(_documents(10, seed), 10))
    return [sample[3].agency.normalized_name, "本机关不掌握相关政府信息", "依申请公开", "政务新媒体", "二十大"]


def _median_ms(fn: Any, repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2), out


def compare_queries(ours: Path, peer: Path, seed: int, repeats: int) -> list[dict[str, Any]]:
    from store.query import build_search
    from store.sqlite_match import Matcher
    from store.sqlite_store import SqliteStore

    store = SqliteStore(ours)
    store.search(build_search(""))  # the columnar copy, as in a running service
    conn = sqlite3.connect(peer)
    out = []
    for q in queries(seed):
        query = build_search(q)
        reader = store._reader()

        def search(query: Any = query) -> Any:
            store._matches.clear()
            return store.search(query)

        def match(query: Any = query, reader: Any = reader) -> Any:
            reader.execute("BEGIN")
            try:
                return Matcher(reader, store._shingles, None).ids(query.tree)
            finally:
                reader.execute("COMMIT")

        def peer_match(q: str = q) -> Any:
            phrase = '"' + q.replace('"', '""') + '"'
            return conn.execute("SELECT rowid FROM reports_fts WHERE reports_fts MATCH ?", (phrase,)).fetchall()

        search_ms, result = _median_ms(search, repeats)
        match_ms, _ = _median_ms(match, repeats)
        peer_ms, rows = _median_ms(peer_match, repeats)
        entry = {
            "q": q,
            "total": result.total,
            "peer_total": len(rows),
            "search_ms": search_ms,
            "match_ms": match_ms,
            "peer_match_ms": peer_ms,
            "match_vs_peer": round(match_ms / max(peer_ms, 1e-6), 2),
        }
        out.append(entry)
        print(
            f"  {q:24} {result.total:>8,} (peer {len(rows):>8,})  nianbao search {search_ms:7.2f} ms, match"
            f" {match_ms:7.2f} ms; peer MATCH {peer_ms:7.2f} ms",
            file=sys.stderr,
        )
    conn.close()
    store.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks peer", description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep both databases (printed)")
    args = parser.parse_args(argv)
    if shutil.which("sqlite-utils", path=str(Path(sys.executable).parent)) is None:
        print("peer benchmark: sqlite-utils is not installed (pip install -e '.[dev]'); skipped", file=sys.stderr)
        return 0
    work = Path(tempfile.mkdtemp(prefix="nianbao-peer-"))
    try:
        rows = work / "reports.jsonl"
        print(f"generating {args.reports:,} reports (not timed)", file=sys.stderr)
        write_rows(rows, args.reports, args.seed)
        ours_s, ours_cpu = index_nianbao(work / "nianbao.sqlite3", args.reports, args.seed)
        peer = index_peer(work / "peer.db", rows)
        ratio = peer["total_s"] / ours_s
        report: dict[str, Any] = {
            "benchmark": "peer",
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"cpus": os.cpu_count(), "load": os.getloadavg(), "sqlite": sqlite3.sqlite_version},
            "reports": args.reports,
            "nianbao_s": round(ours_s, 2),
            "nianbao_reports_per_s": round(args.reports / ours_s, 1),
            "nianbao_cpu_us_per_report": round(ours_cpu / args.reports * 1e6),
            "peer_cpu_us_per_report": round(peer["cpu_s"] / args.reports * 1e6),
            "peer": {k: round(v, 2) for k, v in peer.items()},
            "peer_reports_per_s": round(args.reports / peer["total_s"], 1),
            "speed_ratio": round(ratio, 2),  # > 1: nianbao indexes faster than the peer
            "bytes_per_report": {
                "nianbao": sum(p.stat().st_size for p in work.glob("nianbao.sqlite3*")) // args.reports,
                "peer": (work / "peer.db").stat().st_size // args.reports,
            },
        }
        print(
            f"indexing {args.reports:,} reports: nianbao {report['nianbao_reports_per_s']:,.0f}/s, peer"
            f" (sqlite-utils insert + enable-fts trigram) {report['peer_reports_per_s']:,.0f}/s; nianbao/peer"
            f" speed {ratio:.2f}x; CPU per report nianbao {report['nianbao_cpu_us_per_report']:,} µs (its helper"
            f" processes included), peer {report['peer_cpu_us_per_report']:,} µs",
            file=sys.stderr,
        )
        report["queries"] = compare_queries(work / "nianbao.sqlite3", work / "peer.db", args.seed, args.repeats)
        out = save_results("peer", report)
        print(f"results: {out}")
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
