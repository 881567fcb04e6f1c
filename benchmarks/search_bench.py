"""Search benchmark of the embedded store: indexing throughput, memory, index size and query latency.

    python -m benchmarks search --sizes 10000,100000,1000000

For each size a synthetic corpus (``demo.generator``, deterministic) is streamed into a fresh SQLite
store in batches; then a fixed set of realistic queries (common and rare phrases of 1, 2 and 5+
characters, mixed script, with and without filters, each with all default facets and highlighting)
is run with the match cache cleared before every run ("cold"), and again warm. Results go to
``benchmarks/results/search-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from benchmarks import RESULTS_DIR, save_results

CHUNK = 5_000  # reports generated at a time (generation is not counted as indexing time)


def _memory_mb() -> tuple[float, float]:
    """(RSS, anonymous RSS) now, in MiB. RSS includes pages of the index file that SQLite reads through
    mmap (reclaimable cache); the anonymous part is what the process itself holds, and must stay flat."""
    values = {}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "RssAnon"):
                    values[key] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return round(values.get("VmRSS", 0.0), 1), round(values.get("RssAnon", 0.0), 1)


def _documents(n: int, seed: int) -> Iterator[Any]:
    from demo.generator import generate_corpus

    for i, report in enumerate(generate_corpus(n, seed)):
        yield report.to_document(f"https://bench.example/{seed}/{i}.html")


def queries(sample: list[Any]) -> list[dict[str, Any]]:
    """The benchmark's query set; a few rare ones are taken from the corpus itself (agency names)."""
    rare_agency = sample[3].agency.normalized_name
    rare_county = next((d.region.county for d in sample if d.region.county), "县")
    province = sample[0].region.province
    return [
        {"q": "依申请公开"},  # 5 characters, in nearly every report
        {"q": "复议"},  # 2 characters, common
        {"q": "诉讼"},
        {"q": "收费"},
        {"q": "复"},  # 1 character: prefix query
        {"q": "本机关不掌握相关政府信息"},  # long phrase
        {"q": "三审三校"},
        {"q": "政务新媒体"},
        {"q": "短视频"},
        {"q": "二十大"},
        {"q": "H5"},  # Latin
        {"q": "711号"},  # digits + ideograph
        {"q": rare_agency},  # rare: one agency's reports
        {"q": rare_county},
        {"q": f"{rare_county} 依申请公开"},
        {"q": "复议 OR 诉讼"},
        {"q": "依申请公开 -收费"},
        {"q": "依申请公开", "filters": {"province": [province]}},
        {"q": "复议", "filters": {"year": ["2023"]}, "metric": ["applications.new.total >= 10"]},
        {"q": "依申请公开", "section": "review"},
        {"q": "政府信息", "filters": {"agency_type": ["部门"], "level": ["县"]}},
        {"q": "", "filters": {"province": [province], "year": ["2024"]}},
        {"q": ""},  # match all + facets
        {"q": "", "metric": ["review.total >= 1"], "sort": "-metric:applications.new.total"},
    ]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def build(path: Path, n: int, seed: int) -> dict[str, Any]:
    from store.sqlite_store import SqliteStore

    for suffix in ("", "-wal", "-shm", ".columns"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = SqliteStore(path)
    docs = _documents(n, seed)
    indexed, index_s = 0, 0.0
    rss: list[dict[str, float]] = []
    while chunk := list(islice(docs, CHUNK)):
        started = time.perf_counter()
        stats = store.index(chunk)
        index_s += time.perf_counter() - started
        indexed += stats.indexed
        del chunk
        if indexed % max(CHUNK, n // 20) == 0 or indexed == n:
            gc.collect()
            rss_mb, anon_mb = _memory_mb()
            rss.append({"reports": indexed, "rss_mib": rss_mb, "anon_mib": anon_mb})
            rate = indexed / index_s
            print(f"  indexed {indexed:>9,}  {rate:,.0f}/s  rss {rss_mb} MiB (anon {anon_mb})", file=sys.stderr)
    shingles = _shingle_stats(store)
    started = time.perf_counter()
    store.close()  # saves the columnar copy the writer kept up to its writes (part of indexing)
    close_s = time.perf_counter() - started
    index_s += close_s
    size = sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())
    return {
        "shingles": shingles,
        "reports": indexed,
        "index_seconds": round(index_s, 2),
        "close_seconds": round(close_s, 2),
        "reports_per_second": round(indexed / index_s, 1) if index_s else None,
        "memory_by_reports": rss,
        "bytes_on_disk": size,
        "bytes_per_report": round(size / max(indexed, 1)),
    }


def _shingle_stats(store: Any) -> dict[str, Any]:
    """Size of the frequent n-gram bitmaps (store.sqlite_shingles) next to the rest of the index."""
    conn = store._reader()
    vocab = store._shingles.ensure_vocab(conn)
    bits, sets = conn.execute("SELECT coalesce(sum(length(bits)), 0), count(*) FROM shingle_sets").fetchone()
    (mapped,) = conn.execute("SELECT count(*) FROM shingle_map").fetchone()
    return {
        "vocabulary": vocab.size if vocab is not None else 0,
        "covered_rows": max(0, store._shingles.covered(conn) - 1),  # rowids 1…n: all, once there is a vocabulary
        "stored_bitmaps": sets,
        "bitmap_bytes": bits,
        "ngram_chunk_rows": mapped,
    }


def measure(path: Path, seed: int, repeats: int) -> dict[str, Any]:
    from store import sqlite_columns
    from store.query import build_search
    from store.sqlite_store import SqliteStore

    store = SqliteStore(path)
    sample = list(islice(_documents(10, seed), 10))
    started = time.perf_counter()
    store.search(build_search("依申请公开"))  # the first search after indexing: reads the copy the writer saved
    first_ms = (time.perf_counter() - started) * 1000
    conn = store._reader()
    started = time.perf_counter()
    sqlite_columns.load(conn, -1)  # what a first search cost when the copy was built on first use
    load_ms = (time.perf_counter() - started) * 1000
    per_query: list[dict[str, Any]] = []
    cold: list[float] = []
    warm: list[float] = []
    for spec in queries(sample):
        query = build_search(**spec)
        times = []
        for _ in range(repeats):
            store._matches.clear()  # cold: the FTS match is evaluated every time
            started = time.perf_counter()
            result = store.search(query)
            times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        store.search(query)
        warm_ms = (time.perf_counter() - started) * 1000
        cold.extend(times)
        warm.append(warm_ms)
        per_query.append(
            {
                **spec,
                "total": result.total,
                "median_ms": round(statistics.median(times), 1),
                "warm_ms": round(warm_ms, 1),
                "facets_timed_out": [f.name for f in result.facets if f.timed_out],
            }
        )
        print(f"  {json.dumps(spec, ensure_ascii=False):70} {result.total:>9,} {statistics.median(times):8.1f} ms")
    store.close()
    store = SqliteStore(path)  # a restart: the columnar copy now comes from the file saved next to the index
    started = time.perf_counter()
    store.search(build_search("", size=1))
    restart_ms = (time.perf_counter() - started) * 1000
    store.close()
    return {
        "first_search_ms": round(first_ms, 1),
        "columnar_load_ms": round(load_ms, 1),
        "restart_first_search_ms": round(restart_ms, 1),
        "p50_ms": round(_percentile(cold, 50), 1),
        "p95_ms": round(_percentile(cold, 95), 1),
        "max_ms": round(max(cold), 1),
        "warm_p50_ms": round(_percentile(warm, 50), 1),
        "warm_p95_ms": round(_percentile(warm, 95), 1),
        "queries": per_query,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks search", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000", help="comma-separated corpus sizes (default: 10000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="cold runs per query")
    parser.add_argument("--work-dir", type=Path, default=RESULTS_DIR / "indexes", help="where the index files go")
    parser.add_argument("--reuse", action="store_true", help="measure an existing index of the same size")
    parser.add_argument("--keep", action="store_true", help="keep the index files afterwards")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    try:
        import demo.generator  # noqa: F401
    except ImportError:
        print("search benchmark: demo.generator is not available yet; nothing to index", file=sys.stderr)
        return 2
    args.work_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "benchmark": "search",
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count()},
        "sizes": {},
    }
    for n in sizes:
        path = args.work_dir / f"search-{n}.sqlite3"
        print(f"size {n:,}", file=sys.stderr)
        entry: dict[str, Any] = {}
        if not (args.reuse and path.exists()):
            entry["indexing"] = build(path, n, args.seed)
        entry["search"] = measure(path, args.seed, args.repeats)
        report["sizes"][str(n)] = entry
        if not args.keep:
            for suffix in ("", "-wal", "-shm", ".columns"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        s = entry["search"]
        print(f"size {n:,}: p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms (cold)", file=sys.stderr)
    out = save_results("search", report)
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
