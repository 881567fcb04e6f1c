"""Cost of rendering a JavaScript-filled list page in headless Chromium, against reading it statically.

``python -m benchmarks render [--pages 10]``: the demo site's JavaScript column (its list comes from a JSON
file) rendered ``--pages`` times by ``crawler.render.Renderer`` (one browser, a fresh context per page, as the
crawl does), after one launch. Prints the launch time, the time per rendered page and the static reading's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import requests

from crawler.discover import analyse
from crawler.render import Renderer, RenderUnavailable
from demo import site as demo_site
from demo.site import DemoSite


def main(argv: list[str] | None = None) -> dict[str, Any] | int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks render", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5, help="renders to time")
    parser.add_argument("--browser", default="", help="Chromium executable (default: found on PATH)")
    args = parser.parse_args(argv)
    with DemoSite() as site:
        url = site.url + demo_site.JS_COLUMN + "index.html"
        response = requests.get(url, timeout=10)
        body, ctype = response.content, response.headers["Content-Type"]
        renderer = Renderer(args.browser)
        times = []
        try:
            for _ in range(args.pages):
                rendered = renderer.render(url, body, ctype)
                times.append(rendered.seconds)
        except RenderUnavailable as exc:
            print(f"render benchmark skipped: {exc}", file=sys.stderr)
            return 0
        finally:
            renderer.close()
        reports = sum(link.looks_like_report for link in analyse(url, rendered.html).links)
        started = time.perf_counter()
        for _ in range(args.pages):
            analyse(url, body.decode("utf-8"))
        static_ms = 1000 * (time.perf_counter() - started) / args.pages
    figures = {
        "launch_s": renderer.launch_seconds,
        "render_ms_median": 1000 * statistics.median(times),
        "render_ms_max": 1000 * max(times),
        "static_ms": static_ms,
        "reports_found": reports,
    }
    print(
        f"browser launch {figures['launch_s']:.2f}s; rendered {args.pages} page(s): median "
        f"{figures['render_ms_median']:.0f} ms, max {figures['render_ms_max']:.0f} ms a page "
        f"({reports} report links found); static reading {static_ms:.2f} ms a page"
    )
    return figures


if __name__ == "__main__":
    main()
