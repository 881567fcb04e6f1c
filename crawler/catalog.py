"""The catalog: an SQLite index of the WARC archive (which capture of which URL sits where), per-URL state for
conditional requests and removal detection, crawl runs, failures, and what the indexer has consumed.

Derived from the archive: ``Catalog.rebuild_from_archive`` recreates captures from the WARC files alone.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.archive import (
    ArchiveError,
    RecordRef,
    iter_records,
    read_payload,
    read_record,
    scan_members,
    truncate_tail,
    warc_files,
)

KINDS = ("report", "attachment", "listing", "other")
RESUME_WITHIN = timedelta(hours=24)  # an interrupted run older than this is not resumed: its pages are due again

_SCHEMA = """
CREATE TABLE IF NOT EXISTS captures (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    captured_at TEXT NOT NULL,
    status INTEGER NOT NULL,
    content_type TEXT NOT NULL DEFAULT '',
    digest TEXT NOT NULL DEFAULT '',
    warc_file TEXT NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    source_id TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'other',
    parent_url TEXT,
    title TEXT NOT NULL DEFAULT '',
    revisit_of INTEGER REFERENCES captures(id),
    record_id TEXT NOT NULL UNIQUE,
    run_id INTEGER
);
CREATE INDEX IF NOT EXISTS captures_url ON captures(url, id);
CREATE INDEX IF NOT EXISTS captures_digest ON captures(digest);
CREATE INDEX IF NOT EXISTS captures_run ON captures(run_id, url);
CREATE UNIQUE INDEX IF NOT EXISTS captures_location ON captures(warc_file, offset);
CREATE TABLE IF NOT EXISTS urls (
    url TEXT PRIMARY KEY,
    source_id TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'other',
    parent_url TEXT,
    title TEXT NOT NULL DEFAULT '',
    etag TEXT,
    last_modified TEXT,
    first_seen TEXT,
    last_seen TEXT,
    last_status INTEGER,
    last_error TEXT,
    removed INTEGER NOT NULL DEFAULT 0,
    removed_at TEXT,
    missing_count INTEGER NOT NULL DEFAULT 0,
    dead INTEGER NOT NULL DEFAULT 0  -- a linked report URL that never answered (never "removed": never archived)
);
CREATE TABLE IF NOT EXISTS state_changes (  -- report URLs whose removed/last_seen changed, not yet in the index
    url TEXT PRIMARY KEY,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS urls_source ON urls(source_id, kind);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY,
    run_id INTEGER,
    url TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS failures_run ON failures(run_id);
CREATE TABLE IF NOT EXISTS renders (
    capture_id INTEGER PRIMARY KEY REFERENCES captures(id),  -- the response the browser was given
    warc_file TEXT NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    record_id TEXT NOT NULL UNIQUE,
    rendered_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS indexed (
    digest TEXT PRIMARY KEY,
    report_id TEXT NOT NULL,
    indexed_at TEXT NOT NULL,
    parser TEXT NOT NULL DEFAULT ''  -- version of the parser that read it ('' before versions were kept)
);
"""

_CAPTURE_COLS = (
    "id, url, captured_at, status, content_type, digest, warc_file, offset, length, source_id, region, kind, "
    "parent_url, title, revisit_of"
)


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Capture:
    id: int
    url: str
    captured_at: str  # ISO 8601, UTC
    status: int
    content_type: str
    digest: str  # "sha1:BASE32" payload digest
    warc_file: str  # file name inside the archive directory
    offset: int
    length: int
    source_id: str
    region: str  # "省/市/县"
    kind: str  # report | attachment | listing | other
    parent_url: str | None
    title: str  # anchor text of the link that led here (or the page title)
    revisit_of: int | None  # the full capture whose payload this one repeats


@dataclass(frozen=True, slots=True)
class UrlState:
    url: str
    source_id: str
    region: str
    kind: str
    parent_url: str | None
    title: str
    etag: str | None
    last_modified: str | None
    first_seen: str | None
    last_seen: str | None
    last_status: int | None
    last_error: str | None
    removed: bool
    removed_at: str | None
    missing_count: int
    dead: bool = False  # linked as a report but never answered: a dead link, not a removed report


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    files_checked: int = 0
    bytes_truncated: int = 0
    records_recovered: int = 0  # complete records the catalog had not committed, added back

    def describe(self) -> str:
        return (
            f"checked {self.files_checked} WARC file(s); truncated {self.bytes_truncated} torn byte(s); "
            f"recovered {self.records_recovered} record(s)"
        )


class Catalog:
    """SQLite (WAL) catalog. Safe to share between threads; writes are serialised by a lock."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        if "parser" not in {row[1] for row in self._db.execute("PRAGMA table_info(indexed)")}:
            self._db.execute("ALTER TABLE indexed ADD COLUMN parser TEXT NOT NULL DEFAULT ''")
        if "dead" not in {row[1] for row in self._db.execute("PRAGMA table_info(urls)")}:
            self._db.execute("ALTER TABLE urls ADD COLUMN dead INTEGER NOT NULL DEFAULT 0")
        self._depth = 0

    # -- lifecycle -----------------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One commit for a batch of writes (nested calls join the outer transaction)."""
        with self._lock:
            if self._depth == 0:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("COMMIT")

    def _q(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    # -- the API the indexer and the service use ---------------------------------------------------------

    def report_captures(self, *, unindexed_only: bool = False) -> Iterator[Capture]:
        """The newest full (non-revisit) capture of every report or attachment URL, with status 200."""
        sql = f"""
            SELECT {_CAPTURE_COLS} FROM captures c
            WHERE c.id IN (
                SELECT MAX(id) FROM captures
                WHERE revisit_of IS NULL AND status = 200 AND kind IN ('report', 'attachment')
                GROUP BY url)
            {"AND NOT EXISTS (SELECT 1 FROM indexed i WHERE i.digest = c.digest)" if unindexed_only else ""}
            ORDER BY c.id"""
        for row in self._q(sql):
            yield _capture(row)

    # The same captures as report_captures(), by a test per row (an index look-up) instead of a grouping of the
    # whole table, so that they can be read a page at a time: a rebuild of a million reports holds one page.
    _LATEST_REPORT = (
        "c.revisit_of IS NULL AND c.status = 200 AND c.kind IN ('report', 'attachment') AND NOT EXISTS ("
        "SELECT 1 FROM captures n WHERE n.url = c.url AND n.id > c.id AND n.revisit_of IS NULL AND n.status = 200"
        " AND n.kind IN ('report', 'attachment'))"
    )

    def report_capture_pages(self, size: int = 5000) -> Iterator[list[Capture]]:
        """``report_captures()`` in pages of up to ``size`` captures, in id order."""
        last = 0
        while rows := self._q(
            f"SELECT {_CAPTURE_COLS} FROM captures c WHERE c.id > ? AND {self._LATEST_REPORT} ORDER BY c.id LIMIT ?",
            (last, size),
        ):
            page = [_capture(row) for row in rows]
            yield page
            last = page[-1].id

    def count_report_captures(self, *, unindexed_only: bool = False) -> int:
        unindexed = " AND NOT EXISTS (SELECT 1 FROM indexed i WHERE i.digest = c.digest)" if unindexed_only else ""
        return int(self._q(f"SELECT COUNT(*) FROM captures c WHERE {self._LATEST_REPORT}{unindexed}")[0][0])

    def report_attachments(self) -> list[Capture]:
        """Those of ``report_captures()`` that are attachments of a page (a parent URL)."""
        sql = f"""SELECT {_CAPTURE_COLS} FROM captures c WHERE c.kind = 'attachment' AND c.parent_url IS NOT NULL
                  AND c.parent_url != '' AND {self._LATEST_REPORT} ORDER BY c.id"""
        return [_capture(row) for row in self._q(sql)]

    def report_page_urls(self, urls: Iterable[str]) -> set[str]:
        """Which of ``urls`` are report pages (not attachments) among ``report_captures()``."""
        wanted, found = list(dict.fromkeys(urls)), set()
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            sql = f"""SELECT c.url FROM captures c WHERE c.url IN ({", ".join("?" * len(part))})
                      AND c.kind != 'attachment' AND {self._LATEST_REPORT}"""
            found.update(row[0] for row in self._q(sql, part))
        return found

    def shared_report_captures(self) -> list[Capture]:
        """Those of ``report_captures()`` whose payload another of them has too (a file behind two routes)."""
        sql = f"""SELECT {_CAPTURE_COLS} FROM captures c WHERE {self._LATEST_REPORT} AND c.digest IN (
                      SELECT c.digest FROM captures c WHERE {self._LATEST_REPORT} GROUP BY c.digest HAVING COUNT(*) > 1)
                  ORDER BY c.id"""
        return [_capture(row) for row in self._q(sql)]

    def read_payload(self, capture: Capture, archive_dir: Path, max_bytes: int | None = None) -> bytes:
        """The archived entity body, exactly as the server sent it (Content-Encoding undone).

        A revisit is followed to the capture holding the bytes. Raises ArchiveError if the record is unreadable,
        PayloadTooLarge (an ArchiveError) when it decodes to more than ``max_bytes`` (decoding stops there).
        """
        seen: set[int] = set()
        while capture.revisit_of is not None:
            if capture.id in seen:
                raise ArchiveError(f"revisit cycle at capture {capture.id}")
            seen.add(capture.id)
            original = self.capture(capture.revisit_of)
            if original is None:
                raise ArchiveError(f"capture {capture.id} refers to missing capture {capture.revisit_of}")
            capture = original
        digest, payload = read_payload(Path(archive_dir) / capture.warc_file, capture.offset, capture.length, max_bytes)
        if digest and digest != capture.digest:
            raise ArchiveError(f"capture {capture.id}: archived digest {digest} != catalog {capture.digest}")
        return payload

    def mark_indexed(self, digest: str, report_id: str, parser: str) -> None:
        """Record that the payload ``digest`` was parsed (by parser version ``parser``) and indexed as
        ``report_id`` (or a marker such as "wrapper" when it is not a report itself)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO indexed(digest, report_id, indexed_at, parser) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(digest) DO UPDATE SET report_id = excluded.report_id, indexed_at = excluded.indexed_at,"
                " parser = excluded.parser",
                (digest, report_id, utcnow(), parser),
            )

    def is_indexed(self, digest: str) -> bool:
        return bool(self._q("SELECT 1 FROM indexed WHERE digest = ?", (digest,)))

    def parsers_indexed(self) -> dict[str, int]:
        """How many indexed payloads each parser version read ('' for those from before versions were kept)."""
        return {row[0]: int(row[1]) for row in self._q("SELECT parser, COUNT(*) FROM indexed GROUP BY parser")}

    def keep_indexed_only(self, digests: set[str]) -> int:
        """After a full rebuild: forget every other payload as indexed (it is not in the new index, e.g. its
        archived record could not be read), so the next run tries it again. Returns how many were forgotten."""
        with self._lock:
            stale = [(d,) for (d,) in self._db.execute("SELECT digest FROM indexed") if d not in digests]
            self._db.executemany("DELETE FROM indexed WHERE digest = ?", stale)
        return len(stale)

    def captures_of(self, url: str) -> list[Capture]:
        return [_capture(r) for r in self._q(f"SELECT {_CAPTURE_COLS} FROM captures WHERE url = ? ORDER BY id", (url,))]

    def capture(self, capture_id: int) -> Capture | None:
        rows = self._q(f"SELECT {_CAPTURE_COLS} FROM captures WHERE id = ?", (capture_id,))
        return _capture(rows[0]) if rows else None

    def all_captures(self) -> Iterator[Capture]:
        for row in self._q(f"SELECT {_CAPTURE_COLS} FROM captures ORDER BY id"):
            yield _capture(row)

    def url_state(self, url: str) -> UrlState | None:
        rows = self._q("SELECT * FROM urls WHERE url = ?", (url,))
        return _url_state(rows[0]) if rows else None

    def removed_urls(self) -> list[UrlState]:
        return [_url_state(r) for r in self._q("SELECT * FROM urls WHERE removed = 1 ORDER BY url")]

    def dead_links(self, source_id: str | None = None) -> list[UrlState]:
        """Report links that never answered (404 from the start, refused, timed out): not reports we lost."""
        if source_id is None:
            rows = self._q("SELECT * FROM urls WHERE dead = 1 ORDER BY url")
        else:
            rows = self._q("SELECT * FROM urls WHERE dead = 1 AND source_id = ? ORDER BY url", (source_id,))
        return [_url_state(r) for r in rows]

    def pending_state_changes(self) -> list[UrlState]:
        """Report URLs whose state (removed, back again, last seen) changed since the index last took it."""
        return [
            _url_state(r)
            for r in self._q("SELECT u.* FROM state_changes c JOIN urls u ON u.url = c.url ORDER BY c.url")
        ]

    def clear_state_changes(self, urls: Iterable[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM state_changes WHERE url = ?", [(u,) for u in urls])

    def stats(self) -> dict[str, int]:
        one = self._q(
            """SELECT
                (SELECT COUNT(*) FROM captures) AS captures,
                (SELECT COUNT(*) FROM captures WHERE revisit_of IS NOT NULL) AS revisits,
                (SELECT COUNT(*) FROM urls) AS urls,
                (SELECT COUNT(*) FROM urls WHERE kind = 'report') AS report_urls,
                (SELECT COUNT(*) FROM urls WHERE kind = 'attachment') AS attachment_urls,
                (SELECT COUNT(*) FROM urls WHERE removed = 1) AS removed,
                (SELECT COUNT(*) FROM urls WHERE dead = 1) AS dead_links,
                (SELECT COUNT(*) FROM state_changes) AS states_not_indexed,
                (SELECT COUNT(*) FROM indexed) AS indexed_digests,
                (SELECT COUNT(DISTINCT warc_file) FROM captures) AS warc_files,
                (SELECT COUNT(*) FROM runs) AS crawl_runs,
                (SELECT COUNT(*) FROM failures WHERE run_id = (SELECT MAX(id) FROM runs)) AS last_run_failures"""
        )[0]
        return {k: int(one[k]) for k in one.keys()}  # noqa: SIM118 - sqlite3.Row has keys(), not iteration by key

    # -- what the crawler writes -------------------------------------------------------------------------

    def latest_full_capture(self, url: str) -> Capture | None:
        rows = self._q(
            f"SELECT {_CAPTURE_COLS} FROM captures WHERE url = ? AND revisit_of IS NULL ORDER BY id DESC LIMIT 1",
            (url,),
        )
        return _capture(rows[0]) if rows else None

    def run_capture(self, run_id: int, url: str) -> Capture | None:
        """The capture of ``url`` made in crawl run ``run_id`` (for resuming an interrupted run)."""
        rows = self._q(
            f"SELECT {_CAPTURE_COLS} FROM captures WHERE run_id = ? AND url = ? ORDER BY id DESC LIMIT 1",
            (run_id, url),
        )
        return _capture(rows[0]) if rows else None

    def record_id_of(self, capture_id: int) -> str | None:
        rows = self._q("SELECT record_id FROM captures WHERE id = ?", (capture_id,))
        return rows[0]["record_id"] if rows else None

    def add_capture(
        self,
        ref: RecordRef,
        *,
        url: str,
        status: int,
        content_type: str,
        source_id: str,
        region: str,
        kind: str,
        parent_url: str | None,
        title: str,
        revisit_of: int | None,
        run_id: int | None,
        captured_at: str | None = None,
    ) -> Capture:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO captures(url, captured_at, status, content_type, digest, warc_file, offset, length, "
                "source_id, region, kind, parent_url, title, revisit_of, record_id, run_id) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    url,
                    captured_at or _iso(ref.date),
                    status,
                    content_type,
                    ref.digest,
                    ref.warc_file,
                    ref.offset,
                    ref.length,
                    source_id,
                    region,
                    kind,
                    parent_url,
                    title,
                    revisit_of,
                    ref.record_id,
                    run_id,
                ),
            )
            capture_id = cur.lastrowid
        captured = self.capture(int(capture_id or 0))
        assert captured is not None
        return captured

    def update_url(
        self,
        url: str,
        *,
        source_id: str,
        region: str,
        kind: str,
        parent_url: str | None,
        title: str,
        status: int | None,
        error: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        seen: bool = False,
        gone: bool = False,
        when: str | None = None,
    ) -> None:
        """Fold one fetch outcome into the URL's state. ``seen``: it answered 200/304; ``gone``: 404/410."""
        now = when or utcnow()
        with self._lock:
            self._db.execute(
                """INSERT INTO urls(url, source_id, region, kind, parent_url, title, first_seen)
                   VALUES (?,?,?,?,?,?,?) ON CONFLICT(url) DO NOTHING""",
                (url, source_id, region, kind, parent_url, title, now if seen else None),
            )
            sets = ["source_id = ?", "region = ?", "last_status = ?", "last_error = ?"]
            args: list[Any] = [source_id, region, status, error]
            if kind != "other":  # never downgrade a known report to "other" because of one odd response
                sets.append(
                    "kind = CASE WHEN kind IN ('report', 'attachment') AND ? IN ('listing', 'other') "
                    "THEN kind ELSE ? END"
                )
                args += [kind, kind]
            if parent_url:
                sets.append("parent_url = ?")
                args.append(parent_url)
            if title:
                sets.append("title = ?")
                args.append(title)
            if seen:
                # A 304 need not repeat the validators: keep the ones we have.
                sets += ["etag = COALESCE(?, etag)", "last_modified = COALESCE(?, last_modified)"]
                sets += ["last_seen = ?", "first_seen = COALESCE(first_seen, ?)"]
                sets += ["removed = 0", "removed_at = NULL", "missing_count = 0", "dead = 0"]
                args += [etag, last_modified, now, now]
            elif gone or error:
                # Only a report or attachment we archived can be "removed"; one that never answered is a dead
                # link (a dead navigation link is just a failure).
                reportish = "kind IN ('report', 'attachment')"
                if gone:
                    sets += [
                        f"removed = CASE WHEN {reportish} AND first_seen IS NOT NULL THEN 1 ELSE removed END",
                        f"removed_at = CASE WHEN {reportish} AND first_seen IS NOT NULL THEN COALESCE(removed_at, ?) "
                        "ELSE removed_at END",
                    ]
                    args.append(now)
                sets.append(f"dead = CASE WHEN {reportish} AND first_seen IS NULL THEN 1 ELSE dead END")
            before = self._db.execute("SELECT removed, kind FROM urls WHERE url = ?", (url,)).fetchone()
            self._db.execute(f"UPDATE urls SET {', '.join(sets)} WHERE url = ?", (*args, url))
            after = self._db.execute("SELECT removed, kind FROM urls WHERE url = ?", (url,)).fetchone()
            if after["kind"] in ("report", "attachment") and (seen or before["removed"] != after["removed"]):
                self._note_change(url, now)

    def validators(self, url: str) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) for a conditional request, when a full capture of the URL exists."""
        rows = self._q("SELECT etag, last_modified FROM urls WHERE url = ?", (url,))
        return (rows[0]["etag"], rows[0]["last_modified"]) if rows else (None, None)

    def apply_listing_absence(self, source_id: str, listed: set[str], threshold: int) -> list[str]:
        """After a complete crawl of a source: report URLs no listing linked this time count one more miss;
        those missing ``threshold`` crawls in a row are marked removed. Returns the newly removed URLs."""
        now = utcnow()
        newly: list[str] = []
        with self.transaction():
            rows = self._q(
                "SELECT url, missing_count, removed FROM urls WHERE source_id = ? AND kind = 'report'", (source_id,)
            )
            for row in rows:
                if row["url"] in listed:
                    self._db.execute("UPDATE urls SET missing_count = 0 WHERE url = ?", (row["url"],))
                    continue
                missing = row["missing_count"] + 1
                remove = missing >= threshold and not row["removed"]
                self._db.execute(
                    "UPDATE urls SET missing_count = ?, removed = CASE WHEN ? THEN 1 ELSE removed END, "
                    "removed_at = CASE WHEN ? THEN ? ELSE removed_at END WHERE url = ?",
                    (missing, remove, remove, now, row["url"]),
                )
                if remove:
                    newly.append(row["url"])
                    self._note_change(row["url"], now)
        return newly

    def _note_change(self, url: str, when: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO state_changes(url, at) VALUES (?, ?)", (url, when))

    def add_render(self, capture_id: int, ref: RecordRef) -> None:
        """Record the archived rendered DOM (a WARC conversion record) of capture ``capture_id``."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO renders(capture_id, warc_file, offset, length, record_id, rendered_at) "
                "VALUES (?,?,?,?,?,?)",
                (capture_id, ref.warc_file, ref.offset, ref.length, ref.record_id, _iso(ref.date)),
            )

    def rendered_dom(self, capture: Capture, archive_dir: Path) -> bytes | None:
        """The archived rendered DOM of a capture (or of the capture a revisit repeats), None if never rendered."""
        ids = [capture.id] + ([capture.revisit_of] if capture.revisit_of else [])
        for capture_id in ids:
            rows = self._q("SELECT warc_file, offset, length FROM renders WHERE capture_id = ?", (capture_id,))
            if rows:
                row = rows[0]
                return read_record(Path(archive_dir) / row["warc_file"], row["offset"], row["length"]).payload
        return None

    def record_failure(self, run_id: int | None, url: str, reason: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO failures(run_id, url, reason, at) VALUES (?,?,?,?)", (run_id, url, reason, utcnow())
            )

    def failures(self, run_id: int | None = None) -> list[tuple[str, str]]:
        if run_id is None:
            rows = self._q("SELECT url, reason FROM failures ORDER BY id")
        else:
            rows = self._q("SELECT url, reason FROM failures WHERE run_id = ? ORDER BY id", (run_id,))
        return [(r["url"], r["reason"]) for r in rows]

    def last_run_failures(self) -> list[tuple[str, str]]:
        """(url, reason) of the newest crawl run's failures, robots.txt refusals included (``nianbao status``)."""
        rows = self._q("SELECT url, reason FROM failures WHERE run_id = (SELECT MAX(id) FROM runs) ORDER BY id")
        return [(r["url"], r["reason"]) for r in rows]

    def last_run_summary(self) -> dict[str, Any]:
        """The summary of the latest finished crawl run ({} when none): counts, limits reached."""
        rows = self._q("SELECT summary FROM runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1")
        try:
            summary = json.loads(rows[0]["summary"] or "{}") if rows else {}
        except ValueError:
            return {}
        return summary if isinstance(summary, dict) else {}

    def begin_run(self, scope: str, *, resume_within: timedelta = RESUME_WITHIN) -> tuple[int, bool]:
        """Resume the unfinished run of ``scope`` if a crawler died in it recently, else start one.

        Returns (run id, resumed). An older unfinished run is closed as abandoned: its pages are due again.
        """
        with self.transaction():
            rows = self._q(
                "SELECT id, started_at FROM runs WHERE scope = ? AND finished_at IS NULL ORDER BY id DESC LIMIT 1",
                (scope,),
            )
            if rows:
                started = datetime.fromisoformat(rows[0]["started_at"])
                if datetime.now(UTC) - started < resume_within:
                    return int(rows[0]["id"]), True
                self._db.execute(
                    "UPDATE runs SET finished_at = ?, summary = ? WHERE id = ?",
                    (utcnow(), '{"abandoned": true}', rows[0]["id"]),
                )
            cur = self._db.execute("INSERT INTO runs(scope, started_at) VALUES (?, ?)", (scope, utcnow()))
            return int(cur.lastrowid or 0), False

    def finish_run(self, run_id: int, summary: str) -> None:
        with self._lock:
            self._db.execute("UPDATE runs SET finished_at = ?, summary = ? WHERE id = ?", (utcnow(), summary, run_id))

    # -- crash recovery --------------------------------------------------------------------------------------

    def recover_archive(self, archive_dir: Path) -> RecoveryReport:
        """Make catalog and archive agree after a crash.

        Records written (and fsynced) whose catalog rows never committed are added back from their own
        headers; a torn tail (an incomplete gzip member) is truncated. Call with the archive lock held.
        """
        checked = truncated = recovered = 0
        for path in warc_files(Path(archive_dir)):
            checked += 1
            rows = self._q("SELECT MAX(offset + length) AS end FROM captures WHERE warc_file = ?", (path.name,))
            start = int(rows[0]["end"] or 0)
            if start >= path.stat().st_size:
                continue
            members, good_end = scan_members(path, start)
            if members:
                recovered += self._add_records(iter_records(path, start), path.name)
            truncated += truncate_tail(path, good_end)
        return RecoveryReport(checked, truncated, recovered)

    @classmethod
    def rebuild_from_archive(cls, path: Path, archive_dir: Path) -> Catalog:
        """Recreate the catalog's captures from the WARC files alone (the fallback when the catalog is lost).

        Writes a fresh catalog at ``path`` (an existing file is moved aside as ``*.bak``). URL state and
        validators come from the records' HTTP headers; failures, listing-absence counts and indexing marks
        are not in the archive and start empty (the indexer re-marks what it indexes).
        """
        path = Path(path)
        for suffix in ("", "-wal", "-shm"):
            old = path.with_name(path.name + suffix)
            if old.exists():
                old.replace(old.with_name(old.name + ".bak"))
        catalog = cls(path)
        for warc in warc_files(Path(archive_dir)):
            catalog._add_records(iter_records(warc), warc.name)
        return catalog

    def _add_records(self, records: Iterable[Any], warc_name: str) -> int:
        added = 0
        with self.transaction():
            for rec in records:
                if rec.rec_type == "conversion":
                    self._add_render_record(rec, warc_name)
                    continue
                if rec.rec_type not in ("response", "revisit"):
                    continue
                if self._q("SELECT 1 FROM captures WHERE record_id = ?", (rec.record_id,)):
                    continue
                revisit_of = None
                if rec.rec_type == "revisit":
                    refers = rec.headers.get("WARC-Refers-To", "")
                    hit = self._q("SELECT id FROM captures WHERE record_id = ?", (refers,)) if refers else []
                    if not hit:
                        hit = self._q(
                            "SELECT id FROM captures WHERE digest = ? AND revisit_of IS NULL ORDER BY id DESC LIMIT 1",
                            (rec.digest,),
                        )
                    revisit_of = hit[0]["id"] if hit else None
                    if revisit_of is None:
                        continue  # a revisit of nothing we hold is useless
                meta = rec.meta
                ref = RecordRef(warc_name, rec.offset, rec.length, rec.record_id, rec.digest, rec.date)
                run_id = meta.get("run-id")
                kind = meta.get("kind", "other")
                self.add_capture(
                    ref,
                    url=rec.url,
                    status=rec.status,
                    content_type=rec.content_type,
                    source_id=meta.get("source-id", ""),
                    region=meta.get("region", ""),
                    kind=kind if kind in KINDS else "other",
                    parent_url=meta.get("parent-url") or None,
                    title=meta.get("title", ""),
                    revisit_of=revisit_of,
                    run_id=int(run_id) if run_id and run_id.isdigit() else None,
                )
                ok = rec.status in (200, 304)
                validators = {k.lower(): v for k, v in rec.http_headers} if rec.status == 200 else {}
                self.update_url(
                    rec.url,
                    source_id=meta.get("source-id", ""),
                    region=meta.get("region", ""),
                    kind=kind if kind in KINDS else "other",
                    parent_url=meta.get("parent-url") or None,
                    title=meta.get("title", ""),
                    status=rec.status,
                    etag=validators.get("etag"),
                    last_modified=validators.get("last-modified"),
                    seen=ok,
                    gone=rec.status in (404, 410),
                    when=_iso(rec.date),
                )
                added += 1
        return added

    def _add_render_record(self, rec: Any, warc_name: str) -> None:
        refers = rec.headers.get("WARC-Refers-To", "")
        hit = self._q("SELECT id FROM captures WHERE record_id = ?", (refers,)) if refers else []
        if hit:
            ref = RecordRef(warc_name, rec.offset, rec.length, rec.record_id, rec.digest, rec.date)
            self.add_render(int(hit[0]["id"]), ref)


def _iso(warc_date: str) -> str:
    """WARC-Date (…Z, microseconds) → the catalog's ISO form (seconds, +00:00)."""
    try:
        moment = datetime.fromisoformat(warc_date.replace("Z", "+00:00"))
    except ValueError:
        return utcnow()
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _capture(row: sqlite3.Row) -> Capture:
    return Capture(
        id=row["id"],
        url=row["url"],
        captured_at=row["captured_at"],
        status=row["status"],
        content_type=row["content_type"],
        digest=row["digest"],
        warc_file=row["warc_file"],
        offset=row["offset"],
        length=row["length"],
        source_id=row["source_id"],
        region=row["region"],
        kind=row["kind"],
        parent_url=row["parent_url"],
        title=row["title"],
        revisit_of=row["revisit_of"],
    )


def _url_state(row: sqlite3.Row) -> UrlState:
    return UrlState(
        url=row["url"],
        source_id=row["source_id"],
        region=row["region"],
        kind=row["kind"],
        parent_url=row["parent_url"],
        title=row["title"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        last_status=row["last_status"],
        last_error=row["last_error"],
        removed=bool(row["removed"]),
        removed_at=row["removed_at"],
        missing_count=row["missing_count"],
        dead=bool(row["dead"]),
    )
