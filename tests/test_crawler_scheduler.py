"""The scheduler: persistent jobs per source, a job crawls then indexes, SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import types
from datetime import datetime
from pathlib import Path

import pytest
from crawler_support import pages
from crawler_support.settings import crawl_settings
from crawler_support.site import Page, Site

from crawler.catalog import Catalog
from crawler.scheduler import JOB_PREFIX, MISFIRE_GRACE_SECONDS, SchedulerError, build_scheduler

TESTS = Path(__file__).resolve().parent


def _sources(path: Path, entries: list[tuple[str, str, str]]) -> Path:
    text = "".join(
        f'[[source]]\nid = "{sid}"\nname = "{sid}"\nregion = "福建省/福州市/平潭县"\nstart_urls = ["{url}"]\n'
        f'schedule = "{cron}"\n\n'
        for sid, url, cron in entries
    )
    path.write_text(text, encoding="utf-8")
    return path


def test_one_persistent_job_per_source_with_safe_defaults(tmp_path: Path) -> None:
    sources = _sources(
        tmp_path / "s.toml", [("a", "http://127.0.0.1:9/a", "30 2 * * *"), ("b", "http://127.0.0.1:9/b", "0 4 * * 1")]
    )
    settings = crawl_settings(tmp_path, sources_file=sources)
    scheduler = build_scheduler(settings)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {JOB_PREFIX + "a", JOB_PREFIX + "b"}
        a = jobs[JOB_PREFIX + "a"]
        assert a.coalesce and a.max_instances == 1 and a.misfire_grace_time == MISFIRE_GRACE_SECONDS
        assert (a.next_run_time.hour, a.next_run_time.minute) == (2, 30)
        assert str(a.next_run_time.tzinfo) == "Asia/Shanghai"
        assert jobs[JOB_PREFIX + "b"].next_run_time.weekday() == 0
        assert a.args[1] == "a"
    finally:
        scheduler.shutdown(wait=False)
    assert settings.scheduler_path.exists()
    # A source dropped from the file loses its job; the store persists across scheduler restarts.
    _sources(sources, [("a", "http://127.0.0.1:9/a", "30 2 * * *")])
    scheduler = build_scheduler(settings)
    try:
        assert [job.id for job in scheduler.get_jobs()] == [JOB_PREFIX + "a"]
    finally:
        scheduler.shutdown(wait=False)


def test_bad_schedule_and_missing_sources_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SchedulerError, match="no sources file"):
        build_scheduler(crawl_settings(tmp_path))
    sources = _sources(tmp_path / "s.toml", [("a", "http://127.0.0.1:9/a", "61 2 * * *")])
    with pytest.raises(SchedulerError, match=r"no source can be scheduled.*'61 2 \* \* \*'"):
        build_scheduler(crawl_settings(tmp_path, sources_file=sources))


def test_one_bad_source_never_stops_the_others(tmp_path: Path) -> None:
    """A schedule APScheduler rejects (added by hand, or by an older version) skips that source only."""
    entries = [("a", "http://127.0.0.1:9/a", "0 3 * * *"), ("bad", "http://127.0.0.1:9/b", "99 99 99 99 99")]
    entries.append(("c", "http://127.0.0.1:9/c", "30 4 * * 0"))
    settings = crawl_settings(tmp_path, sources_file=_sources(tmp_path / "s.toml", entries))
    scheduler = build_scheduler(settings)
    try:
        assert sorted(job.id for job in scheduler.get_jobs()) == [JOB_PREFIX + "a", JOB_PREFIX + "c"]
    finally:
        scheduler.shutdown(wait=False)


def test_a_due_job_crawls_its_source_then_indexes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    indexed: list[Path] = []
    # The indexer is another stage; record that the job hands over to it after the crawl.
    fake = types.ModuleType("indexer.pipeline")
    fake.index_archive = lambda settings, **kw: (
        indexed.append(settings.catalog_path) or types.SimpleNamespace(describe=lambda: "indexed")
    )
    monkeypatch.setitem(sys.modules, "indexer.pipeline", fake)
    with Site() as site:
        site.routes["/nb/index.html"] = Page(pages.listing("年报", [("/nb/r.html", "2024年政府信息公开工作年度报告")]))
        site.routes["/nb/r.html"] = Page(pages.report("2024年政府信息公开工作年度报告"))
        sources = _sources(tmp_path / "s.toml", [("pt", site.url("/nb/index.html"), "0 3 * * *")])
        settings = crawl_settings(tmp_path, sources_file=sources)
        scheduler = build_scheduler(settings)
        try:
            job = scheduler.get_job(JOB_PREFIX + "pt")
            job.modify(next_run_time=datetime.now(job.next_run_time.tzinfo))
            scheduler.resume()
            deadline = time.monotonic() + 20
            while not indexed and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            scheduler.shutdown(wait=True)
    assert indexed == [settings.catalog_path]
    with Catalog(settings.catalog_path) as catalog:
        assert [c.url for c in catalog.report_captures()] == [site.url("/nb/r.html")]


def test_sigterm_stops_the_scheduler_gracefully(tmp_path: Path) -> None:
    sources = _sources(tmp_path / "s.toml", [("a", "http://127.0.0.1:9/a", "0 3 * * *")])
    code = (
        "from crawler_support.settings import crawl_settings\n"
        "from crawler.scheduler import run_scheduler\n"
        "from pathlib import Path\n"
        f"run_scheduler(crawl_settings(Path({str(tmp_path)!r}), sources_file=Path({str(sources)!r})))\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{TESTS}{os.pathsep}{TESTS.parent}"}
    child = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = child.stdout.readline().decode()
        assert line.startswith("scheduled crawl a"), line + child.stderr.read().decode()
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=15)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err.decode()
    assert "scheduler stopped" in out.decode()
