"""The derived values an index file holds, read back by report id: what a rebuild carries into its new rows.

The insights stage derives its values across reports and writes only those that changed. After a rebuild from
the archive every report would lack them, so the stage would rewrite every report; most of them are the same as
in the index being replaced. The parse helpers (``indexer.pipeline``) read a report's values from that index
(same report id, same payload digest) and prepare the new row with them; the stage then recomputes everything
as always and writes only the values that differ (the store ends up the same either way).

Read-only, one connection per process (helpers are forked: a connection is never shared across the fork).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import orjson

from store import doc_codec
from store.base import DerivedValues, derived_of

log = logging.getLogger(__name__)

_open: dict[tuple[str, int], tuple[sqlite3.Connection, doc_codec.DocReader]] = {}


def stored_derived(path: str, report_id: str, digest: str) -> DerivedValues | None:
    """The derived values of report ``report_id`` in the index file ``path``, when it holds that report parsed
    from the payload ``digest``; None otherwise (a new report, a changed file, no such index)."""
    reader = _reader(path)
    if reader is None:
        return None
    conn, docs = reader
    try:
        row = conn.execute(
            "SELECT d.doc FROM reports r JOIN docs d ON d.rowid = r.rowid WHERE r.id = ?", (report_id,)
        ).fetchone()
        if row is None:
            return None
        data = orjson.loads(docs.decompress(conn, row[0]))
    except (sqlite3.Error, ValueError) as exc:  # unreadable: nothing carried, the insights stage derives it
        log.warning("derived values of %s not carried from %s: %s", report_id, path, exc)
        _forget(path)
        return None
    if data.get("provenance", {}).get("digest") != digest:
        return None
    return derived_of(data)


def _reader(path: str) -> tuple[sqlite3.Connection, doc_codec.DocReader] | None:
    key = (path, os.getpid())
    reader = _open.get(key)
    if reader is None:
        if not Path(path).is_file():
            return None
        conn = sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA cache_size=-8192")
        reader = _open[key] = (conn, doc_codec.DocReader())
    return reader


def _forget(path: str) -> None:
    reader = _open.pop((path, os.getpid()), None)
    if reader is not None:
        reader[0].close()


def close(path: str) -> None:
    """Close this process's connection to ``path`` (the rebuild is about to replace the file)."""
    _forget(path)
