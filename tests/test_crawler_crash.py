"""Crash safety: kill -9 mid-crawl and restart loses nothing; torn WARC tails; rebuilding the catalog."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from crawler_support import pages
from crawler_support.settings import crawl_settings
from crawler_support.site import Page, Site, Slow

from crawler.archive import HttpRequest, HttpResponse, WarcArchive, payload_digest, warc_files
from crawler.catalog import Catalog
from crawler.run import crawl

TESTS = Path(__file__).resolve().parent
N_REPORTS = 60


def _big_site(site: Site) -> dict[str, bytes]:
    """N report pages (one PDF each) over paginated listings; each response a little slow."""
    served: dict[str, bytes] = {}
    per_page = 10
    for n in range(N_REPORTS // per_page):
        ids = range(n * per_page, (n + 1) * per_page)
        links = [(f"/nb/{i}.html", f"平潭{2000 + i}年政府信息公开工作年度报告") for i in ids]
        pager = f'<a href="index_{n + 1}.html">下一页</a>' if n + 1 < N_REPORTS // per_page else ""
        site.routes["/nb/index.html" if n == 0 else f"/nb/index_{n}.html"] = Page(
            pages.listing("政府信息公开年报", links, pager=pager)
        )
        for i in ids:
            html = Page(
                pages.report(f"平潭{2000 + i}年政府信息公开工作年度报告", attachments=[(f"/f/{i}.pdf", "附件.pdf")])
            )
            pdf = b"%PDF-1.7\n" + os.urandom(2000 + 97 * i)
            site.routes[f"/nb/{i}.html"] = Slow(0.02, html)
            site.routes[f"/f/{i}.pdf"] = Slow(0.02, Page(pdf, content_type="application/pdf"))
            served[site.url(f"/nb/{i}.html")] = html.data()
            served[site.url(f"/f/{i}.pdf")] = pdf
    return served


def _captures_committed(catalog_path: Path) -> int:
    if not catalog_path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{catalog_path}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM captures").fetchone()[0]
    except sqlite3.Error:
        return 0


def _start_child(data_dir: Path, url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": f"{TESTS}{os.pathsep}{TESTS.parent}"}
    return subprocess.Popen(
        [sys.executable, "-m", "crawler_support.crawl_child", str(data_dir), url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_kill_9_mid_crawl_then_restart_loses_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = crawl_settings(tmp_path).replace(data_dir=data_dir)
    kills = 0
    with Site() as site:
        served = _big_site(site)
        start = site.url("/nb/index.html")
        # Kill the crawler at three different depths into the crawl, then let a fourth run finish.
        for threshold in (15, 50, 90):
            child = _start_child(data_dir, start)
            deadline = time.monotonic() + 30
            while _captures_committed(settings.catalog_path) < threshold and time.monotonic() < deadline:
                if child.poll() is not None:
                    break
                time.sleep(0.01)
            killed_last = child.poll() is None
            if killed_last:
                child.send_signal(signal.SIGKILL)
                kills += 1
            child.wait(timeout=10)
        assert kills >= 2, "the crawl finished before it could be killed; make the site slower"
        summary = crawl(settings, url=start)
        fetches = Counter(path for path, _ in site.log if path != "/robots.txt")
    if killed_last:  # (on a very slow machine the last child may have finished before its kill)
        assert summary.resumed and summary.resumed_from_archive > 0
    assert not summary.interrupted
    with Catalog(settings.catalog_path) as catalog:
        # Every catalog row points at a readable record whose bytes equal what the server sent.
        captures = list(catalog.all_captures())
        for cap in captures:
            body = catalog.read_payload(cap, settings.archive_dir)
            if cap.url in served:
                assert body == served[cap.url], cap.url
            assert payload_digest(body) == (catalog.capture(cap.revisit_of) if cap.revisit_of else cap).digest
        # Nothing lost: every report and attachment is archived, exactly once as a full record.
        full = Counter(c.url for c in captures if c.revisit_of is None and c.url in served)
        assert set(full) == set(served)
        assert max(full.values()) == 1
        assert {c.url for c in catalog.report_captures()} >= set(served)
    # Resume: what a killed run archived is not fetched again; only what was in flight at a kill is.
    refetched = sum(n - 1 for n in fetches.values())
    assert refetched <= kills * 2 * 16, fetches.most_common(5)
    # And no WARC file ends in a torn record.
    for path in warc_files(settings.archive_dir):
        from crawler.archive import scan_members

        assert scan_members(path)[1] == path.stat().st_size


def _write_some(archive_dir: Path, n: int) -> list[tuple[str, bytes]]:
    written = []
    with WarcArchive(archive_dir, 10**9) as archive:
        for i in range(n):
            url, body = f"http://example.test/{i}.pdf", f"body {i}".encode() * 50
            archive.write_response(
                HttpRequest("GET", url, [("User-Agent", "t")]),
                HttpResponse(200, "OK", "HTTP/1.1", [("Content-Type", "application/pdf")]),
                body,
                {
                    "kind": "attachment",
                    "source-id": "s",
                    "region": "福建省/福州市/平潭县",
                    "parent-url": "http://example.test/",
                },
                datetime.now(UTC),
            )
            written.append((url, body))
    return written


def test_torn_tail_is_truncated_and_uncommitted_records_recovered(tmp_path: Path) -> None:
    archive_dir = tmp_path / "archive"
    written = _write_some(archive_dir, 3)
    (path,) = warc_files(archive_dir)
    complete = path.read_bytes()
    # A crawler killed while writing a fourth record leaves half a gzip member.
    with open(path, "ab") as fh:
        fh.write(complete[len(complete) // 2 : len(complete) // 2 + 700])
    with Catalog(tmp_path / "catalog.sqlite3") as catalog:
        report = catalog.recover_archive(archive_dir)
        assert report.bytes_truncated == 700
        assert report.records_recovered == 3  # written and fsynced, but the catalog never committed them
        assert path.read_bytes() == complete
        caps = list(catalog.all_captures())
        assert [(c.url, catalog.read_payload(c, archive_dir)) for c in caps] == written
        assert {(c.kind, c.region, c.parent_url) for c in caps} == {
            ("attachment", "福建省/福州市/平潭县", "http://example.test/")
        }
        again = catalog.recover_archive(archive_dir)
        assert (again.bytes_truncated, again.records_recovered) == (0, 0)


def test_catalog_rebuilt_from_the_archive_matches_the_original(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path)
    with Site() as site:
        site.routes["/nb/index.html"] = Page(
            pages.listing("年报", [("/nb/a.html", "2024年政府信息公开工作年度报告")]), etag='"L1"'
        )
        site.routes["/nb/a.html"] = Page(
            pages.report("2024年政府信息公开工作年度报告", attachments=[("/a.pdf", "a.pdf")])
        )
        site.routes["/a.pdf"] = Page(b"%PDF a", content_type="application/pdf")
        crawl(settings, url=site.url("/nb/index.html"))
        crawl(settings, url=site.url("/nb/index.html"))  # revisits, incl. a 304

    def shape(catalog: Catalog) -> list[tuple]:
        rows = []
        for c in catalog.all_captures():
            original = catalog.capture(c.revisit_of).url if c.revisit_of else None
            rows.append(
                (c.url, c.status, c.digest, c.kind, c.parent_url, c.title, c.region, c.warc_file, c.offset, original)
            )
        return sorted(rows)

    with Catalog(settings.catalog_path) as catalog:
        before = shape(catalog)
        reports_before = sorted(c.url for c in catalog.report_captures())
    rebuilt = Catalog.rebuild_from_archive(settings.catalog_path, settings.archive_dir)
    with rebuilt:
        assert shape(rebuilt) == before
        assert sorted(c.url for c in rebuilt.report_captures()) == reports_before
        for cap in rebuilt.report_captures():
            assert rebuilt.read_payload(cap, settings.archive_dir)
        assert rebuilt.url_state(site.url("/nb/index.html")).etag == '"L1"'  # validators come back too
    assert settings.catalog_path.with_name(settings.catalog_path.name + ".bak").exists()
