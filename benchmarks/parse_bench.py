"""Parser throughput: reports per second for text, HTML and PDF on one core, and memory over the run.

Run: ``.venv/bin/python -m benchmarks.parse_bench [--seconds 5]``. Inputs are the real reports in
tests/fixtures/reports/ plus synthetic ones built the way the tests build them (a ruled-table PDF).
Targets: ≥100 text/HTML reports/s, ≥5 PDF/s, resident memory flat across passes.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from pathlib import Path

from indexer.parse import parse_bytes

REPORTS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "reports"


def _rss_mb() -> float:
    """Current resident set size (Linux /proc), falling back to the peak elsewhere."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def corpus() -> dict[str, list[tuple[str, bytes]]]:
    from tests import parser_builders as b

    text = [
        (p.name, p.read_bytes()) for p in sorted(REPORTS.glob("*")) if p.suffix in (".txt", ".md") and p.stem.islower()
    ]
    text.append(("synthetic.txt", b.text_report().encode()))
    html = [(p.name, p.read_bytes()) for p in sorted(REPORTS.glob("*.html"))]
    html += [("synthetic-utf8.html", b.html_report()), ("synthetic-gbk.html", b.html_report("gbk"))]
    pdf = [("synthetic.pdf", b.pdf_report()), ("synthetic-3pages.pdf", b.pdf_report(pages_of_padding=2))]
    return {"text": text, "html": html, "pdf": pdf}


def measure(
    items: list[tuple[str, bytes]], seconds: float, parse: Callable[[str, bytes], object]
) -> tuple[float, int, float]:
    """Parse the items round-robin for ``seconds``; returns (reports per second, reports parsed, reports per
    CPU-second: this process's CPU time, which a machine busy with other work disturbs far less)."""
    for name, data in items:  # warm caches (division table, regexes) outside the timing
        parse(name, data)
    done = 0
    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        for name, data in items:
            parse(name, data)
            done += 1
    return done / (time.perf_counter() - start), done, done / max(time.process_time() - cpu, 1e-9)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per format [5]")
    args = parser.parse_args(argv)

    def parse(name: str, data: bytes) -> object:
        return parse_bytes(data, url=f"bench/{name}", filename=name)

    inputs = corpus()
    print(f"{'format':8} {'files':>5} {'reports':>8} {'reports/s':>10} {'per CPU-s':>10} {'rss MB after':>13}")
    rss_start = _rss_mb()
    for fmt, items in inputs.items():
        rate, done, per_cpu = measure(items, args.seconds, parse)
        print(f"{fmt:8} {len(items):5d} {done:8d} {rate:10.1f} {per_cpu:10.1f} {_rss_mb():13.1f}")
    rss_end = _rss_mb()
    again, _, _ = measure(inputs["text"], args.seconds / 2, parse)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"second text pass {again:.1f} reports/s; rss {rss_start:.1f} → {rss_end:.1f} → {_rss_mb():.1f} MB")
    print(f"peak RSS {peak:.1f} MB")


if __name__ == "__main__":
    main()
