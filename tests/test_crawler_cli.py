"""The crawler as users meet it: `nianbao crawl` errors without tracebacks, progress lines, resume windows."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from crawler.catalog import Catalog
from crawler.progress import Progress
from nianbao.cli import main


def test_crawl_without_sources_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "crawl", "--no-index"], env={})
    assert result.exit_code == 1
    assert "no sources to crawl" in result.output
    assert "Traceback" not in result.output


def test_crawl_of_unknown_source_is_a_clear_error(tmp_path: Path) -> None:
    env = {"NIANBAO_SOURCES_FILE": str(Path(__file__).resolve().parent.parent / "sources.example.toml")}
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "crawl", "--source", "nope", "--no-index"], env=env)
    assert result.exit_code == 1 and "no source 'nope'" in result.output


def test_progress_writes_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(True, out, interval=0.0)
    progress.update(pages=3, reports=1, failed=0, queued=7, url="http://x.test/")
    progress.update(pages=9, reports=2, failed=1, queued=0)
    assert out.getvalue().splitlines() == [
        "crawl: 3 pages, 1 new/changed reports, 0 failed, 7 queued",
        "crawl: 9 pages, 2 new/changed reports, 1 failed, 0 queued",
    ]
    silent = io.StringIO()
    Progress(False, silent).update(pages=1, reports=0, failed=0, queued=0)
    assert silent.getvalue() == ""


def test_an_interrupted_run_resumes_only_while_recent(tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite3") as catalog:
        first, resumed = catalog.begin_run("sources:a")
        assert not resumed
        assert catalog.begin_run("sources:a") == (first, True)  # died mid-run: resume it
        assert catalog.begin_run("sources:b")[1] is False  # another scope is another run
        stale, resumed = catalog.begin_run("sources:a", resume_within=timedelta(0))
        assert stale != first and not resumed  # too old: abandoned, a fresh run starts
        catalog.finish_run(stale, "{}")
        assert catalog.begin_run("sources:a")[1] is False
