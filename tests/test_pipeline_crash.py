"""A killed ``nianbao index`` loses nothing: kill -9 the indexer at the moment it is about to write an
attachment-only report (a page that only links its PDF/DOCX), run it again, and every report is there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from crawler.run import crawl
from demo.site import DemoSite, expected_reports
from indexer.pipeline import index_archive
from nianbao.demo_run import DEMO_COLUMN
from nianbao.settings import load_settings
from store import open_store

ROOT = Path(__file__).resolve().parent.parent

# The indexer, killed by SIGKILL (no cleanup, no finally) when a batch holding an attachment reaches the store.
KILLED_INDEXER = """
import os, signal, sys
from nianbao.settings import load_settings
from indexer import pipeline
from store.sqlite_store import SqliteStore

original = SqliteStore.index

def index(self, docs):
    docs = list(docs)
    if any(d.source_format in ("pdf", "docx") for d in docs):
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, docs)

SqliteStore.index = index
pipeline.index_archive(load_settings(env={}, data_dir=sys.argv[1]))
"""


def test_reports_of_attachment_only_pages_survive_a_killed_indexer(tmp_path: Path) -> None:
    settings = load_settings(
        env={}, data_dir=tmp_path / "data", crawl_delay=0.0, request_timeout=5.0, crawl_allow_loopback=True
    )
    with DemoSite() as site:
        summary = crawl(settings, url=site.url.rstrip("/") + DEMO_COLUMN)
    assert not summary.failed, summary.describe()

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_INDEXER, str(settings.data_dir)], cwd=ROOT, capture_output=True, timeout=300
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]

    stats = index_archive(settings)  # the next run
    with open_store(settings) as store:
        docs = list(store.iter_documents())
    formats = {d.source_format for d in docs}
    assert {"pdf", "docx"} <= formats, (formats, stats.describe())
    assert len(docs) == len(expected_reports()), stats.describe()
    assert os.path.exists(settings.index_path)
