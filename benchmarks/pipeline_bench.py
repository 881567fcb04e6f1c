"""The indexing stage on a crawled archive: archive → parse → store (``indexer.pipeline.index_archive``).

Run: ``.venv/bin/python -m benchmarks pipeline [--reports 1000] [--seed 0] [--keep]``.

1. Not timed: an archive + catalog of ``--reports`` report captures is built in a temporary data directory,
   as a crawl leaves it. Each report of ``demo.generator.generate_corpus(n, seed)`` is rendered by
   ``demo.render`` (three in four as an HTML page, the rest as plain text or Markdown) and written with the
   calls the crawler makes for a fetched report page (``crawler.run._Crawl._write`` and ``_mark_seen``):
   ``WarcArchive.write_response`` (WARC response + request records, ``WARC-Nianbao-*`` metadata),
   ``Catalog.add_capture`` (kind "report", the agency's region "省/市/县", content type, payload digest) and
   ``Catalog.update_url``, in crawl-run batches (one catalog transaction per batch, the WARC file fsynced
   before it commits).
2. Timed: ``index_archive(settings)`` into a fresh embedded SQLite store, then ``index_archive(settings,
   rebuild=True)`` (the ``nianbao reindex`` path). Both include the insights stage the pipeline runs.
   For each: reports/s (also without the insights stage), the time split (reading the archive, parsing in
   this process, insights; the rest is the store's writes, the catalog and waiting for the parse helper
   processes a big run uses, whose CPU time is reported), and peak memory (this process's VmHWM, reset
   before each run, and the largest child process).

Results go to ``benchmarks/results/pipeline-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks import save_results

if TYPE_CHECKING:
    from crawler.archive import WarcArchive
    from crawler.catalog import Capture, Catalog
    from demo.generator import GeneratedReport
    from nianbao.settings import Settings

HOST = "http://bench.example"
LISTING_URL = HOST + "/nb/index.html"  # the listing page every report was found on
SOURCE_ID = "bench"
WRITE_BATCH = 32  # captures per catalog transaction (the crawler commits each batch of finished fetches)
# The crawler's request headers (crawler.fetch.Fetcher's session), User-Agent from the settings.
_REQUEST_HEADERS = (
    ("Accept", "text/html,application/xhtml+xml,application/pdf,*/*;q=0.8"),
    ("Accept-Encoding", "identity"),
    ("Accept-Language", "zh-CN,zh;q=0.9"),
    ("Connection", "keep-alive"),
)
FORMATS = {  # format → (URL suffix, Content-Type)
    "html": ("html", "text/html; charset=utf-8"),
    "text": ("txt", "text/plain; charset=utf-8"),
    "markdown": ("md", "text/markdown; charset=utf-8"),
}


def report_format(i: int) -> str:
    """How report ``i`` is published: HTML for three in four, else plain text or Markdown in turn."""
    if i % 4 != 3:
        return "html"
    return "text" if i % 8 == 3 else "markdown"


def report_url(i: int) -> str:
    return f"{HOST}/nb/{i}.{FORMATS[report_format(i)][0]}"


def render_report(i: int, report: GeneratedReport) -> tuple[bytes, str]:
    """(the body a site would serve for report ``i``, its Content-Type)."""
    from demo import render

    fmt = report_format(i)
    if fmt == "html":
        body = render.to_html(report)
    elif fmt == "text":
        body = render.to_text(report).encode("utf-8")
    else:
        body = render.to_markdown(report).encode("utf-8")
    return body, FORMATS[fmt][1]


@dataclass
class BuiltArchive:
    reports: int = 0
    formats: Counter[str] = field(default_factory=Counter)
    payload_bytes: int = 0
    warc_bytes: int = 0
    warc_files: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "reports": self.reports,
            "formats": dict(self.formats),
            "payload_mb": round(self.payload_bytes / 1e6, 2),
            "warc_mb": round(self.warc_bytes / 1e6, 2),
            "warc_files": self.warc_files,
            "build_s": round(self.seconds, 2),
        }


def archive_report(
    archive: WarcArchive,
    catalog: Catalog,
    run_id: int,
    *,
    url: str,
    body: bytes,
    content_type: str,
    title: str,
    region: str,
    user_agent: str,
    modified: datetime,
    when: datetime,
) -> Capture:
    """Archive and catalog one fetched report page (200 OK, first capture of its URL) with the calls and
    fields of ``crawler.run._Crawl._write`` + ``_mark_seen``: WARC response (+ request) record, capture
    row, URL state. The caller holds a catalog transaction and syncs the archive before it commits."""
    from crawler.archive import HttpRequest, HttpResponse, payload_digest

    digest = payload_digest(body)  # what the crawler compares with the URL's last capture
    etag = '"' + digest[5:25].lower() + '"'
    last_modified = format_datetime(modified.astimezone(UTC), usegmt=True)
    request = HttpRequest("GET", url, [("User-Agent", user_agent), *_REQUEST_HEADERS])
    response = HttpResponse(
        200,
        "OK",
        "HTTP/1.1",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("ETag", etag),
            ("Last-Modified", last_modified),
        ],
    )
    meta = {
        "source-id": SOURCE_ID,
        "region": region,
        "kind": "report",
        "parent-url": LISTING_URL,
        "title": title,
        "run-id": str(run_id),
    }
    ref = archive.write_response(request, response, body, meta, when)
    if ref.digest != digest:
        raise RuntimeError(f"{url}: the archive recorded digest {ref.digest}, the crawler's is {digest}")
    capture = catalog.add_capture(
        ref,
        url=url,
        status=200,
        content_type=content_type,
        source_id=SOURCE_ID,
        region=region,
        kind="report",
        parent_url=LISTING_URL,
        title=title,
        revisit_of=None,
        run_id=run_id,
    )
    catalog.update_url(
        url,
        source_id=SOURCE_ID,
        region=region,
        kind=capture.kind,
        parent_url=LISTING_URL,
        title=capture.title,
        status=200,
        etag=etag,
        last_modified=last_modified,
        seen=True,
        gone=False,
    )
    return capture


# A rendered report as the archive writer needs it: (index, body, Content-Type, title, region, published).
Rendered = tuple[int, bytes, str, str, str, datetime]
RENDER_CHUNK = 256  # reports a rendering helper process makes at a time
PARALLEL_RENDER_MIN = 2000  # from this many reports the bodies are rendered in helper processes


def _rendered(start: int, count: int, seed: int) -> list[Rendered]:
    """Reports ``start`` … ``start + count - 1`` rendered (in a helper process: ``generate_corpus`` makes
    any slice of one corpus alike)."""
    from demo.generator import generate_corpus

    out: list[Rendered] = []
    for i, report in enumerate(generate_corpus(count, seed, start), start):
        body, content_type = render_report(i, report)
        published = datetime.combine(report.published, datetime.min.time(), UTC)
        out.append((i, body, content_type, report.title, report.agency.region_path, published))
    return out


def _all_rendered(n: int, seed: int) -> Iterator[Rendered]:
    """Every report in order; generating and rendering (most of the untimed build) on every core when many."""
    starts = range(0, n, RENDER_CHUNK)
    workers = os.cpu_count() or 1
    if n < PARALLEL_RENDER_MIN or workers < 2:
        for start in starts:
            yield from _rendered(start, min(RENDER_CHUNK, n - start), seed)
        return
    import multiprocessing
    from collections import deque
    from concurrent.futures import Future, ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        window: deque[Future[list[Rendered]]] = deque()
        for start in starts:
            window.append(pool.submit(_rendered, start, min(RENDER_CHUNK, n - start), seed))
            if len(window) > 2 * workers:  # bounded: memory stays flat however many reports
                yield from window.popleft().result()
        while window:
            yield from window.popleft().result()


def build_archive(settings: Settings, n: int, seed: int = 0) -> BuiltArchive:
    """Archive ``n`` generated reports as one crawl run of source "bench" would (see the module docstring)."""
    from crawler.archive import ArchiveLock, WarcArchive, warc_files
    from crawler.catalog import Catalog

    built = BuiltArchive()
    started = time.perf_counter()
    lock = ArchiveLock(settings.archive_dir)
    if not lock.acquire(blocking=False):
        lock.release()
        raise RuntimeError(f"another process is writing the archive in {settings.archive_dir}")
    try:
        with Catalog(settings.catalog_path) as catalog:
            run_id, _ = catalog.begin_run(f"sources:{SOURCE_ID}")
            with WarcArchive(settings.archive_dir, settings.warc_max_bytes) as archive:
                reports = _all_rendered(n, seed)
                while batch := list(islice(reports, WRITE_BATCH)):
                    with catalog.transaction():
                        for i, body, content_type, title, region, published in batch:
                            archive_report(
                                archive,
                                catalog,
                                run_id,
                                url=report_url(i),
                                body=body,
                                content_type=content_type,
                                title=title,
                                region=region,
                                user_agent=settings.user_agent,
                                modified=published,
                                when=datetime.now(UTC),
                            )
                            built.reports += 1
                            built.formats[report_format(i)] += 1
                            built.payload_bytes += len(body)
                        archive.sync()  # records durable before the rows pointing at them commit
            summary = {"pages": built.reports, "new_reports": built.reports, "failed": 0, "interrupted": False}
            catalog.finish_run(run_id, json.dumps(summary))
    finally:
        lock.release()
    files = warc_files(settings.archive_dir)
    built.warc_files = len(files)
    built.warc_bytes = sum(p.stat().st_size for p in files)
    built.seconds = time.perf_counter() - started
    return built


# -- measuring ---------------------------------------------------------------------------------------------


@contextmanager
def time_split(targets: dict[str, tuple[object, str]]) -> Iterator[dict[str, float | None]]:
    """Seconds spent inside each ``owner.attr`` while the block runs (wrapped, restored afterwards). A
    target that is missing, or never called (the pipeline changed how it calls it), reads None."""
    spent: dict[str, float | None] = {}
    calls: Counter[str] = Counter()
    saved: list[tuple[object, str, Any]] = []

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] = (spent.get(name) or 0.0) + time.perf_counter() - started
                calls[name] += 1

        return timed

    for name, (owner, attr) in targets.items():
        spent[name] = None
        original = owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
        if callable(original):
            saved.append((owner, attr, original))
            setattr(owner, attr, wrap(name, original))
    try:
        yield spent
    finally:
        for owner, attr, original in saved:
            setattr(owner, attr, original)
        for name in targets:
            if not calls[name]:
                spent[name] = None


def _reset_peak_rss() -> bool:
    """Reset this process's peak RSS (VmHWM) on Linux, so the next reading is the peak of one stage."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_mib(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _peak_rss_mib() -> float:
    hwm = _status_mib("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _children_peak_mib() -> float:
    """The largest peak RSS of any child process waited for so far (the store's helper processes)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _children_cpu_s() -> float:
    """CPU seconds of every child process waited for so far (parse and store helper processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _parallel_parse_min() -> int | None:
    """From how many payloads the pipeline parses in helper processes (None: this version does not)."""
    try:
        from indexer import parse_pool
    except ImportError:
        return None
    return getattr(parse_pool, "PARALLEL_MIN", None)


@contextmanager
def stage_marks() -> Iterator[dict[str, float]]:
    """Readings taken when the insights stage starts and ends (it runs last, after archive → parse → store):
    this process's peak RSS until then and during it (VmHWM reset in between), the child processes' CPU
    time and largest peak RSS until then (the parse helpers, waited for when parsing ends) and after it."""
    import insights

    marks: dict[str, float] = {}
    original = insights.__dict__["refresh"]

    @functools.wraps(original)
    def refresh(*args: Any, **kwargs: Any) -> Any:
        marks["peak_before_insights_mib"] = _peak_rss_mib()
        marks["cpu_before_insights_s"] = time.process_time()
        marks["children_cpu_before_insights_s"] = _children_cpu_s()
        marks["children_peak_before_insights_mib"] = _children_peak_mib()
        marks["insights_reset"] = float(_reset_peak_rss())
        try:
            return original(*args, **kwargs)
        finally:
            marks["peak_insights_mib"] = _peak_rss_mib()
            marks["cpu_insights_s"] = time.process_time() - marks["cpu_before_insights_s"]

    insights.refresh = refresh
    try:
        yield marks
    finally:
        insights.refresh = original


def _skipped_insights(store: object) -> object:
    class Skipped:
        def describe(self) -> str:
            return "insights: skipped (--skip-insights)"

    return Skipped()


def _stages(n: int, seconds: float, split: dict[str, float | None], marks: dict[str, float], **cpu: float) -> dict:
    """Per-stage throughput and peak memory. Archive reading and store writing run in this process (one peak
    RSS for both, before insights), parsing in helper processes (its CPU time; their largest peak RSS) or
    here when the run is small; insights last, in this process (and the store's helpers when it rewrites)."""

    def rate(count: int, s: float | None) -> float | None:
        return round(count / s, 1) if s else None

    main_peak = marks.get("peak_before_insights_mib", _peak_rss_mib())
    parse_cpu = cpu["parse_helpers_cpu_s"] + (split.get("parse_in_process_s") or 0.0)
    # CPU of archive -> parse -> store: this process until insights starts, and the parse helpers
    main_cpu = marks.get("cpu_before_insights_s", time.process_time()) - cpu["cpu_at_start_s"]
    end_to_end_cpu = main_cpu + cpu["parse_helpers_cpu_s"]
    return {
        "archive_read": {
            "seconds": split.get("read_archive_s"),
            "reports_per_s": rate(n, split.get("read_archive_s")),
            "peak_rss_mib": round(main_peak, 1),
        },
        "parse": {
            "cpu_s": round(parse_cpu, 2),
            "reports_per_cpu_s": rate(n, parse_cpu),
            "in_helpers": cpu["parse_helpers_cpu_s"] > 0,
            "peak_rss_mib": round(marks.get("children_peak_before_insights_mib", _children_peak_mib()), 1),
        },
        "store": {
            "seconds": split.get("store_s"),
            "reports_per_s": rate(n, split.get("store_s")),
            "peak_rss_mib": round(main_peak, 1),
        },
        "insights": {
            "seconds": split.get("insights_s"),
            "reports_per_s": rate(n, split.get("insights_s")),
            "peak_rss_mib": round(marks["peak_insights_mib"], 1) if "peak_insights_mib" in marks else None,
            "this_process_cpu_s": round(marks["cpu_insights_s"], 2) if "cpu_insights_s" in marks else None,
            "children_cpu_s": round(cpu["insights_helpers_cpu_s"], 2),
        },
        "archive_to_store": {
            "seconds": round(seconds - (split.get("insights_s") or 0.0), 2),
            "this_process_cpu_s": round(main_cpu, 2),
            "cpu_s": round(end_to_end_cpu, 2),  # this process + the parse helpers
            "reports_per_cpu_s": rate(n, end_to_end_cpu),
        },
    }


def measure_index(settings: Settings, *, rebuild: bool) -> dict[str, Any]:
    """One timed ``index_archive`` run, its time split and memory.

    The split wraps functions the pipeline calls in this process: reading the archive, ``parse_bytes``
    (only the payloads parsed here: a big run parses in helper processes, whose CPU time is
    ``helpers_cpu_s``) and the insights stage; ``other_s`` is the rest (store writes, catalog, waiting
    for the parse helpers)."""
    import insights
    from crawler.catalog import Catalog
    from indexer import parse, pipeline
    from indexer.pipeline import index_archive

    targets = {
        "read_archive_s": (Catalog, "read_payload"),
        "parse_in_process_s": (parse, "parse_bytes"),
        "store_s": (pipeline, "_store"),  # the store's writes (rows prepared by the parse helpers)
        "insights_s": (insights, "refresh"),
    }
    stage_peak = _reset_peak_rss()
    rss_before = _status_mib("VmRSS")
    cpu, helpers_cpu = time.process_time(), _children_cpu_s()
    cpu_start, helpers_start = cpu, helpers_cpu
    with stage_marks() as marks, time_split(targets) as split:
        started = time.perf_counter()
        stats = index_archive(settings, rebuild=rebuild)
        seconds = time.perf_counter() - started
    cpu, helpers_cpu = time.process_time() - cpu, _children_cpu_s() - helpers_cpu
    parse_helpers = marks.get("children_cpu_before_insights_s", helpers_start + helpers_cpu) - helpers_start
    split_s = {k: (round(v, 2) if v is not None else None) for k, v in split.items()}
    split_s["other_s"] = round(seconds - sum(v for v in split.values() if v is not None), 2)
    without_insights = seconds - (split["insights_s"] or 0.0)
    return {
        "rebuild": rebuild,
        "seconds": round(seconds, 2),
        "indexed": stats.indexed,
        "captures": stats.captures,
        "reports_per_s": round(stats.indexed / seconds, 1) if seconds else None,
        # archive → parse → store alone, without the insights stage the pipeline runs after it
        "reports_per_s_without_insights": round(stats.indexed / without_insights, 1) if without_insights else None,
        "split_s": split_s,
        "stages": _stages(
            stats.indexed,
            seconds,
            split,
            marks,
            parse_helpers_cpu_s=parse_helpers,
            cpu_at_start_s=cpu_start,
            insights_helpers_cpu_s=helpers_cpu - parse_helpers,
        ),
        "process_cpu_s": round(cpu, 2),
        "helpers_cpu_s": round(helpers_cpu, 2),  # child processes that ended during the run
        "parallel_parse_min": _parallel_parse_min(),
        "rss_before_mib": round(rss_before, 1) if rss_before is not None else None,
        "peak_rss_mib": round(_peak_rss_mib(), 1),
        "peak_rss_is_this_stage": stage_peak,  # False: the process's lifetime peak (VmHWM could not be reset)
        "children_peak_rss_mib": round(_children_peak_mib(), 1),  # the largest child so far (not a sum)
        "store_failures": stats.store_failures,
        "not_reports": len(stats.not_reports),
        "unreadable": len(stats.unreadable),
        "check_failed": stats.check_failed,
        "rebuilt_because": stats.rebuilt_because,
        "describe": stats.describe(),
    }


def _store_figures(settings: Settings) -> dict[str, Any]:
    from store import open_store

    with open_store(settings) as store:
        count = store.count()
    files = list(settings.index_path.parent.glob(settings.index_path.name + "*"))
    size = sum(p.stat().st_size for p in files if p.is_file())
    per_report = round(size / count) if count else None
    return {"count": count, "index_mb": round(size / 1e6, 2), "bytes_per_report": per_report}


def _split_text(row: dict[str, Any]) -> str:
    names = {
        "read_archive_s": "read archive",
        "parse_in_process_s": "parse here",
        "store_s": "store",
        "insights_s": "insights",
        "other_s": "catalog+waiting",
    }
    parts = [f"{label} {row['split_s'][k]:.1f}" for k, label in names.items() if row["split_s"].get(k) is not None]
    return "; ".join(parts) + f" s; helper CPU {row['helpers_cpu_s']:.1f} s"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks pipeline", description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=1000, help="report captures in the archive [1000]")
    parser.add_argument("--seed", type=int, default=0, help="generator seed [0]")
    parser.add_argument("--keep", action="store_true", help="keep the data directory (archive, catalog, index)")
    parser.add_argument(
        "--runs", default="index,rebuild", help="which runs, in order: index (new captures), rebuild [index,rebuild]"
    )
    parser.add_argument("--skip-insights", action="store_true", help="leave the insights stage out of the runs")
    parser.add_argument(
        "--data-dir", type=Path, help="reuse a kept data directory's archive (not built, not deleted; no --reports)"
    )
    args = parser.parse_args(argv)
    if args.reports < 1:
        parser.error("--reports must be at least 1")
    runs_asked = [r.strip() for r in args.runs.split(",") if r.strip()]
    if not runs_asked or set(runs_asked) - {"index", "rebuild"}:
        parser.error("--runs takes index and/or rebuild")

    import insights
    from nianbao.settings import load_settings

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="nianbao-pipeline-bench-"))
    original_refresh = insights.refresh
    if args.skip_insights:
        insights.refresh = _skipped_insights
    try:
        settings = load_settings(env={}, data_dir=data_dir)
        if args.data_dir:
            built = _existing_archive(settings)
            args.reports = built.reports
        else:
            built = build_archive(settings, args.reports, args.seed)
        fmt = built.formats
        print(
            f"archive: {built.reports:,} report captures ({fmt['html']:,} HTML, {fmt['text']:,} text, "
            f"{fmt['markdown']:,} Markdown), {built.warc_bytes / 1e6:.1f} MB of WARC in {built.seconds:.1f}s "
            f"(not timed)",
            flush=True,
        )
        runs = {}
        for name in runs_asked:
            row = measure_index(settings, rebuild=name == "rebuild")
            runs[name] = row
            print(f"{name}: {row['describe']}")
            if row["indexed"] != built.reports:
                print(f"  WARNING: {built.reports - row['indexed']:,} archived report(s) were not indexed")
            print(
                f"  {row['indexed']:,} reports in {row['seconds']:.1f}s = {row['reports_per_s']} reports/s, "
                f"{row['reports_per_s_without_insights']} without insights ({_split_text(row)}); "
                f"peak RSS {row['peak_rss_mib']:.0f} MiB, largest child {row['children_peak_rss_mib']:.0f} MiB",
                flush=True,
            )
            print(f"  stages: {_stages_text(row['stages'])}", flush=True)
        store = _store_figures(settings)
    finally:
        insights.refresh = original_refresh
        if args.keep or args.data_dir:
            print(f"data directory kept: {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)

    result: dict[str, Any] = {
        "benchmark": "pipeline",
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "reports": args.reports,
        "seed": args.seed,
        "cpu_count": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "archive": built.as_dict(),
        "skip_insights": args.skip_insights,
        **runs,
        "store": store,
        "data_dir": str(data_dir) if args.keep else None,
    }
    out = save_results("pipeline", result)
    speeds = ", ".join(f"{name} {row['reports_per_s']} reports/s ({row['seconds']:.1f}s)" for name, row in runs.items())
    last = list(runs.values())[-1]
    print(
        f"pipeline: {args.reports:,} reports — {speeds}, peak RSS "
        f"{max(row['peak_rss_mib'] for row in runs.values()):.0f} MiB (children {last['children_peak_rss_mib']:.0f}),"
        f" {store['count']:,} in the store; results: {out}"
    )
    return result


def _existing_archive(settings: Settings) -> BuiltArchive:
    """What a kept data directory's archive holds (its report captures by format, its WARC files)."""
    from crawler.archive import warc_files
    from crawler.catalog import Catalog

    built = BuiltArchive()
    with Catalog(settings.catalog_path) as catalog:
        paged = getattr(catalog, "report_capture_pages", None)  # (an older checkout has no pages: all at once)
        for page in paged() if paged else [catalog.report_captures()]:  # the runs' memory starts where it would
            for cap in page:
                built.reports += 1
                suffix = cap.url.rsplit(".", 1)[-1]
                built.formats[next((f for f, (s, _) in FORMATS.items() if s == suffix), "?")] += 1
    files = warc_files(settings.archive_dir)
    built.warc_files = len(files)
    built.warc_bytes = sum(p.stat().st_size for p in files)
    return built


def _stages_text(stages: dict[str, Any]) -> str:
    def fig(value: float | None, unit: str) -> str:
        return f"{value:,.0f} {unit}" if value is not None else "—"

    read, parse, store, insights = stages["archive_read"], stages["parse"], stages["store"], stages["insights"]
    whole = stages["archive_to_store"]
    where = "in helpers" if parse["in_helpers"] else "here"
    return (
        f"archive read {fig(read['reports_per_s'], 'reports/s')}; "
        f"parse {fig(parse['reports_per_cpu_s'], 'reports/CPU-s')} ({where}, "
        f"peak {fig(parse['peak_rss_mib'], 'MiB')}); "
        f"store {fig(store['reports_per_s'], 'reports/s')}; "
        f"this process before insights peak {fig(store['peak_rss_mib'], 'MiB')}; "
        f"insights {fig(insights['reports_per_s'], 'reports/s')} (peak {fig(insights['peak_rss_mib'], 'MiB')}); "
        f"archive -> store {fig(whole['reports_per_cpu_s'], 'reports/CPU-s')} (this process "
        f"{whole['this_process_cpu_s']:.1f} s + parse helpers)"
    )


if __name__ == "__main__":
    main()
