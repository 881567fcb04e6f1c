"""The insights stage as the corpus grows: seconds and memory per size, to show both stay flat per report.

Run: ``.venv/bin/python -m benchmarks insights [--sizes 1000,10000,100000] [--store-max 10000]``.
For each size, reports come from ``demo.generator.generate_corpus`` (generation is not timed), and the
stage runs as ``insights.refresh`` runs it, without the store:

* ``records_s``: each report → its light record (narrative shingles, MinHash signature, content checks),
  spilled to disk (``insights.spill``);
* ``derive_s``: linking series, year-over-year changes, cross-report checks and copied-text ratios (capped
  LSH buckets, exact overlap on the best 8 candidates), publisher by publisher from the spill
  (``insights.stage``) — the part that would be quadratic if it compared all pairs;
* CPU seconds of both (the machine may be shared: wall time then overstates the cost);
* ``refresh_s`` (sizes ≤ ``--store-max``): the whole stage on a real SqliteStore just indexed (read, derive,
  write every report's new derived values with ``update_derived``), and ``refresh_again_s``: a second run,
  which writes nothing;
* memory: ``peak_rss_mib`` (VmHWM, reset before the stage: the process's baseline included) and
  ``max_anon_mib`` (the largest RssAnon sampled during the stage: memory of its own, not the page cache of
  the mapped spill files).

``us_per_report`` and the memory should stay flat across sizes. Results go to ``benchmarks/results/insights-*.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import save_results
from demo.generator import generate_corpus
from insights.records import record_of
from insights.spill import RecordSpill
from insights.stage import derive_spilled

SAMPLE_EVERY = 5000  # reports between two memory samples


def _status_mib(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak_rss() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux)


def _peak_rss_mib() -> float:
    hwm = _status_mib("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Clock:
    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> _Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall += time.perf_counter() - self._wall
        self.cpu += time.process_time() - self._cpu


def measure(n: int, store_max: int) -> dict[str, float | int | None]:
    _reset_peak_rss()
    anon = [_status_mib("RssAnon") or 0.0]
    records, derived_clock = _Clock(), _Clock()
    copied = 0
    with RecordSpill() as spill:
        for i, report in enumerate(generate_corpus(n)):
            doc = report.to_document(f"https://bench.example/{i}")
            with records:
                spill.put(record_of(doc))
            if i % SAMPLE_EVERY == 0:
                anon.append(_status_mib("RssAnon") or 0.0)
        with records:
            spill.seal()
        with derived_clock:
            for k, (_, derived, _) in enumerate(derive_spilled(spill)):
                copied += (derived.metrics.get("copied.peers_ratio") or 0) >= 0.8
                if k % SAMPLE_EVERY == 0:
                    anon.append(_status_mib("RssAnon") or 0.0)
        anon.append(_status_mib("RssAnon") or 0.0)
        peak = _peak_rss_mib()
    refresh = _refresh(n) if n <= store_max else None
    total = records.wall + derived_clock.wall
    return {
        "reports": n,
        "records_s": round(records.wall, 3),
        "derive_s": round(derived_clock.wall, 3),
        "total_s": round(total, 3),
        "cpu_s": round(records.cpu + derived_clock.cpu, 3),
        "us_per_report": round(total / n * 1e6, 1) if n else None,
        "cpu_us_per_report": round((records.cpu + derived_clock.cpu) / n * 1e6, 1) if n else None,
        "refresh_s": round(refresh[0], 3) if refresh else None,
        "refresh_cpu_s": round(refresh[1], 3) if refresh else None,
        "refresh_again_s": round(refresh[2], 3) if refresh else None,
        "peers_ratio_ge_0_8": copied,
        "max_anon_mib": round(max(anon), 1),
        "peak_rss_mib": round(peak, 1),
    }


def _refresh(n: int) -> tuple[float, float, float]:
    """(wall s, CPU s) of the stage on a SqliteStore just indexed, and the wall seconds of a second run."""
    from insights import refresh
    from store.sqlite_store import SqliteStore

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "index.sqlite3")
        try:
            store.index(r.to_document(f"https://bench.example/{i}") for i, r in enumerate(generate_corpus(n)))
            with _Clock() as first:
                refresh(store)
            with _Clock() as again:
                refresh(store)
            return first.wall, first.cpu, again.wall
        finally:
            store.close()


def scale(agencies: int) -> dict[str, float | int]:
    """The stage's structures that grow with the corpus, at the size of a corpus of ``agencies`` × 7 reports
    without generating it: that many agencies linked into series (the generator's first 2,000 agencies again
    under other ids and names, so none merge), and one year's LSH arrays over as many signatures (drawn from a
    narrow range, so that buckets fill up as boilerplate makes them)."""
    from insights.lsh import ArrayLSH
    from insights.series import AgencyNode, link

    years = frozenset(range(2019, 2026))
    proto = []
    for i in range(min(agencies, 2000)):
        (report,) = generate_corpus(1, start=7 * i)
        doc = report.to_document("https://bench.example/")
        region = (doc.region.province, doc.region.city, doc.region.county)
        proto.append((doc.agency.id, doc.agency.normalized_name or doc.agency.name, region))
    base = _status_mib("RssAnon") or 0.0
    nodes: dict[str, AgencyNode] = {}
    for k in range(-(-agencies // len(proto))):
        for agency_id, name, region in proto[: agencies - len(nodes)]:
            nodes[f"{agency_id}-{k}"] = AgencyNode(f"{agency_id}-{k}", f"{name}{k}号", region, years, 7)
    nodes_mib = (_status_mib("RssAnon") or 0.0) - base
    series = link(nodes.values())
    del nodes
    series_mib = (_status_mib("RssAnon") or 0.0) - base
    sigs = np.random.default_rng(0).integers(0, 2**16, size=(agencies, 64), dtype=np.uint32)
    before = _status_mib("RssAnon") or 0.0
    lsh = ArrayLSH(sigs)
    lsh_mib = (_status_mib("RssAnon") or 0.0) - before
    del lsh, series
    return {
        "agencies": agencies,
        "nodes_mib": round(nodes_mib, 1),
        "series_mib": round(series_mib, 1),
        "year_lsh_mib": round(lsh_mib, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000", help="comma-separated corpus sizes [1000,5000]")
    parser.add_argument("--store-max", type=int, default=1000, help="largest size also run on a SqliteStore [1000]")
    parser.add_argument(
        "--scale", type=int, default=0, help="instead: the corpus-sized structures for this many agencies (×7 reports)"
    )
    args = parser.parse_args(argv)
    if args.scale:
        row = scale(args.scale)
        print(
            f"{row['agencies']:,} agencies ({7 * row['agencies']:,} reports): agency nodes {row['nodes_mib']:.0f} MiB, "
            f"series {row['series_mib']:.0f} MiB, one year's LSH {row['year_lsh_mib']:.0f} MiB"
        )
        print(f"results: {save_results('insights-scale', {'benchmark': 'insights-scale', **row})}")
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows = []
    print(
        f"{'reports':>9} {'records s':>10} {'derive s':>9} {'CPU s':>8} {'µs/report':>10} {'refresh s':>10} "
        f"{'again s':>8} {'peak RSS':>9} {'max anon':>9} {'≥80% copied':>12}"
    )
    for n in sizes:
        row = measure(n, args.store_max)
        rows.append(row)
        refresh = f"{row['refresh_s']:.2f}" if row["refresh_s"] is not None else "—"
        again = f"{row['refresh_again_s']:.2f}" if row["refresh_again_s"] is not None else "—"
        print(
            f"{n:>9,} {row['records_s']:>10.2f} {row['derive_s']:>9.2f} {row['cpu_s']:>8.2f} "
            f"{row['us_per_report']:>10.0f} {refresh:>10} {again:>8} {row['peak_rss_mib']:>6.0f} MiB "
            f"{row['max_anon_mib']:>5.0f} MiB {row['peers_ratio_ge_0_8']:>12,}",
            flush=True,
        )
    out = save_results("insights", {"benchmark": "insights", "sizes": rows})
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
