"""Tables of the embedded store, derived from the document and metric catalogue definitions.

* ``reports``: one row per report with the facet/filter fields (small rows: counting scans stay cheap);
* ``docs``: the canonical document as JSON, zstd-compressed with the file's dictionary (``doc_codec``: its
  ``doc_dicts``); read only for the returned page;
* ``metrics``: one REAL column per catalogue metric (``Metric.column_name``), so conditions,
  buckets, sorting and aggregations are plain column reads;
* ``shingle_*``: bitmaps of the reports containing each frequent ideograph n-gram (``sqlite_shingles``);
* ``fts``: a contentless FTS5 table, one column per section plus the title, over the token stream
  of ``store.sqlite_fts`` (the original text lives in ``docs``; highlighting works from there).
"""

from __future__ import annotations

import sqlite3
import uuid

from indexer import catalogue
from store import doc_codec, sqlite_shingles
from store.query import FACET_FIELDS
from store.sqlite_fts import FTS_TOKENIZER, TOKENS_VERSION, tokens_fingerprint
from store.sqlite_translate import FTS_COLUMNS

# 2: FTS5 without a prefix index; shingle bitmaps current at every commit (meta shingle_covered).
SCHEMA_VERSION = "2"

# Facet/filter name (store.query.FACET_FIELDS) → reports column: the reports table names each facet
# column after its facet, so the mapping is derived, never kept by hand.
FACET_COLUMNS: dict[str, str] = {name: name for name in FACET_FIELDS}

REPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "digest",
    "title",
    "agency_name",
    "agency",
    "agency_id",
    "agency_type",
    "level",
    "province",
    "city",
    "county",
    "year",
    "published",
    "check_status",
    "template",
    "source_format",
    "flags",
    "removed",
    "source",
)


def metric_columns() -> list[str]:
    return [m.column_name for m in catalogue.metrics()]


def fts_columns() -> list[str]:
    return list(FTS_COLUMNS.values())


# FTS5 options, kept in the file. FTS5 holds a transaction's new postings in memory and writes them as
# one segment at commit, or sooner once they pass ``hashsize`` (1 MB by default: a segment per few dozen
# reports, and a large index then spends most of its writing time merging them). Room for a whole write
# transaction of the store (sqlite_store.COMMIT_ROWS reports).
FTS_OPTIONS = {"hashsize": 512 * 1024 * 1024, "automerge": 8}


def create(conn: sqlite3.Connection) -> None:
    """Create the tables if missing (idempotent)."""
    metric_defs = ", ".join(f"{c} REAL" for c in metric_columns())
    fts_defs = ", ".join(fts_columns())
    weights = ", ".join("3.0" if c == "title" else "1.0" for c in fts_columns())
    conn.executescript(
        f"""
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS reports (
            rowid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            digest TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            agency_name TEXT NOT NULL DEFAULT '',
            agency TEXT NOT NULL DEFAULT '',
            agency_id TEXT NOT NULL DEFAULT '',
            agency_type TEXT NOT NULL DEFAULT '',
            level TEXT NOT NULL DEFAULT '',
            province TEXT NOT NULL DEFAULT '',
            city TEXT NOT NULL DEFAULT '',
            county TEXT NOT NULL DEFAULT '',
            year INTEGER,
            published TEXT,
            check_status TEXT NOT NULL DEFAULT '',
            template TEXT NOT NULL DEFAULT '',
            source_format TEXT NOT NULL DEFAULT '',
            flags TEXT NOT NULL DEFAULT '',  -- space-separated
            removed INTEGER NOT NULL DEFAULT 0,
            source TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX IF NOT EXISTS reports_agency ON reports (agency_id, year);
        CREATE TABLE IF NOT EXISTS docs (rowid INTEGER PRIMARY KEY, doc BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS metrics (rowid INTEGER PRIMARY KEY, {metric_defs});
        CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
            {fts_defs}, content='', tokenize="{FTS_TOKENIZER}"
        );
        """
    )
    sqlite_shingles.create(conn)
    doc_codec.create(conn)
    # Check-then-write under one write lock: several processes (the server's forked workers) may open a new
    # file at the same moment, and each must find it either untouched or fully initialised.
    conn.execute("BEGIN IMMEDIATE")
    try:
        existing = {row[1] for row in conn.execute("PRAGMA table_info(metrics)")}
        for column in metric_columns():
            if column not in existing:  # the catalogue grew: new metrics start out unknown (NULL)
                conn.execute(f"ALTER TABLE metrics ADD COLUMN {column} REAL")
        # A random identity of this file: derived data saved next to it (the columnar copy) names it.
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('build', ?)", (uuid.uuid4().hex,))
        if conn.execute("SELECT 1 FROM meta WHERE key = 'schema'").fetchone() is None:
            conn.execute("INSERT INTO fts(fts, rank) VALUES ('rank', ?)", (f"bm25({weights})",))
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("schema", SCHEMA_VERSION), ("tokens", tokens_fingerprint()), ("generation", "0")],
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    tune_fts(conn)


def tune_fts(conn: sqlite3.Connection) -> None:
    """Set FTS_OPTIONS where the file has other values (files made before an option was tuned too)."""
    current = dict(conn.execute("SELECT k, v FROM fts_config").fetchall())
    changes = [(k, v) for k, v in FTS_OPTIONS.items() if current.get(k) != v]
    if changes:
        with conn:
            conn.executemany("INSERT INTO fts (fts, rank) VALUES (?, ?)", changes)


def fts_segments(conn: sqlite3.Connection) -> int:
    """How many segments the FTS5 index has (the segment id is the top bits of an ``fts_data`` rowid)."""
    sql = "SELECT count(DISTINCT id >> 37) FROM fts_data WHERE id >= (1 << 37)"
    return int(conn.execute(sql).fetchone()[0])


def check_version(conn: sqlite3.Connection) -> str | None:
    """A message when the file was written by an incompatible version (the fix is a rebuild)."""
    rows = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('schema', 'tokens')").fetchall())
    # "1" alone: written before the fingerprint existed, by the stream the fingerprint of version 1 describes.
    tokens_ok = rows.get("tokens") in (tokens_fingerprint(), TOKENS_VERSION)
    if rows.get("schema") != SCHEMA_VERSION or not tokens_ok:
        return (
            f"the search index was built by another version (schema {rows.get('schema')}, tokens "
            f"{rows.get('tokens')}); run `nianbao reindex` to rebuild it from the archive"
        )
    return None


assert set(FACET_COLUMNS.values()) <= set(REPORT_COLUMNS), "every facet needs its column in the reports table"
