"""The insights stage as the corpus grows: seconds per size, to show it stays near-linear.

Run: ``.venv/bin/python -m benchmarks.insights_bench [--sizes 1000,10000,50000] [--store-max 10000]``.
For each size, reports come from ``demo.generator.generate_corpus`` (generation is not timed):

* ``records_s``: reading each report into its light record (narrative shingles, MinHash signature,
  content checks) — linear by construction;
* ``derive_s``: linking series, year-over-year changes, cross-report checks and copied-text ratios
  (capped LSH candidates, exact overlap on the best three) — the part that would be quadratic if it
  compared all pairs;
* ``refresh_s`` (sizes ≤ ``--store-max``): the whole stage on a real SqliteStore (read, derive, re-index);
* ``stage_anon_mib``: the process's own memory held by the records and derived values (RssAnon growth).

``us_per_report`` should stay roughly flat across sizes. Results go to ``benchmarks/results/insights-*.json``.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from benchmarks import save_results
from demo.generator import generate_corpus
from insights.derive import derive
from insights.records import record_of
from insights.spill import ShingleSpill


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _anon_mib() -> float | None:
    """The process's own memory (RssAnon: not the page cache of mapped files); None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def measure(n: int, store_max: int) -> dict[str, float | int | None]:
    before = _anon_mib()
    records, records_s = [], 0.0
    with ShingleSpill() as spill:  # as in insights.refresh: shingles mapped from a temporary file
        for i, report in enumerate(generate_corpus(n)):
            doc = report.to_document(f"https://bench.example/{i}")
            started = time.perf_counter()
            record = record_of(doc)
            spill.put(record)
            records.append(record)
            records_s += time.perf_counter() - started
        spill.attach()
        started = time.perf_counter()
        derived = derive(records)
        derive_s = time.perf_counter() - started
        after = _anon_mib()
        copied = sum(1 for d in derived.values() if (d.metrics.get("copied.peers_ratio") or 0) >= 0.8)
        del records, derived
    refresh_s = _refresh(n) if n <= store_max else None
    total = records_s + derive_s
    return {
        "reports": n,
        "records_s": round(records_s, 3),
        "derive_s": round(derive_s, 3),
        "total_s": round(total, 3),
        "us_per_report": round(total / n * 1e6, 1) if n else None,
        "refresh_s": round(refresh_s, 3) if refresh_s is not None else None,
        "peers_ratio_ge_0_8": copied,
        "stage_anon_mib": round(after - before, 1) if after is not None and before is not None else None,
        "peak_rss_mib": round(_peak_mib(), 1),
    }


def _refresh(n: int) -> float:
    from insights import refresh
    from store.sqlite_store import SqliteStore

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "index.sqlite3")
        try:
            store.index(r.to_document(f"https://bench.example/{i}") for i, r in enumerate(generate_corpus(n)))
            started = time.perf_counter()
            refresh(store)
            return time.perf_counter() - started
        finally:
            store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000", help="comma-separated corpus sizes [1000,5000]")
    parser.add_argument("--store-max", type=int, default=1000, help="largest size also run on a SqliteStore [1000]")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows = []
    print(f"{'reports':>8} {'records s':>10} {'derive s':>9} {'µs/report':>10} {'refresh s':>10} {'≥80% copied':>12}")
    for n in sizes:
        row = measure(n, args.store_max)
        rows.append(row)
        refresh = f"{row['refresh_s']:.2f}" if row["refresh_s"] is not None else "—"
        print(
            f"{n:>8,} {row['records_s']:>10.2f} {row['derive_s']:>9.2f} {row['us_per_report']:>10.0f} "
            f"{refresh:>10} {row['peers_ratio_ge_0_8']:>12,}",
            flush=True,
        )
    out = save_results("insights", {"benchmark": "insights", "sizes": rows})
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
