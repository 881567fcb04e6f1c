"""``python -m benchmarks all|search|parse|crawl|render|insights|pipeline|accuracy|load|peer|swap [options]``: one
benchmark, or each at its default size."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "search": "benchmarks.search_bench",
    "parse": "benchmarks.parse_bench",
    "crawl": "benchmarks.crawl_bench",
    "render": "benchmarks.render_bench",
    "insights": "benchmarks.insights_bench",
    "pipeline": "benchmarks.pipeline_bench",
    "accuracy": "benchmarks.accuracy_bench",
    "load": "benchmarks.load_bench",
    "peer": "benchmarks.peer_bench",
    "swap": "benchmarks.swap_bench",
}


def run(name: str, argv: list[str]) -> int:
    try:
        module = importlib.import_module(BENCHMARKS[name])
    except ModuleNotFoundError as exc:
        if exc.name != BENCHMARKS[name]:
            raise  # a real missing dependency inside the benchmark, not an absent benchmark
        print(f"benchmarks: the {name} benchmark ({BENCHMARKS[name]}) is not available; skipped", file=sys.stderr)
        return 0
    result = module.main(argv)  # an exit status, or the figures (a dict) for callers that want them
    return result if isinstance(result, int) else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in (*BENCHMARKS, "all"):
        print(f"usage: python -m benchmarks {{all|{'|'.join(BENCHMARKS)}}} [options]", file=sys.stderr)
        return 2
    if argv[0] == "all":
        status = 0
        for name in BENCHMARKS:
            print(f"== {name}", file=sys.stderr)
            status = max(status, run(name, []))
        return status
    return run(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main())
