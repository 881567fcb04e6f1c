"""The embedded default store: one SQLite file (WAL) with FTS5 for text and numpy for the rest.

Reading path of a search: each query term is matched (``sqlite_match``) either from the bitmaps of
frequent ideograph n-grams (``sqlite_shingles``: a phrase such as 依申请公开 in 90% of a million reports
costs milliseconds, not FTS5's half second) or by FTS5 over the token stream of ``sqlite_fts``; bm25
ranks come from FTS5 for a single term with few matches. Filters and multi-select facets
(``sqlite_facets``), metric conditions, sorting and keyset paging (``sqlite_sort``) and aggregations
(``sqlite_aggregate``) run vectorised over an in-memory columnar copy of the facet fields and metrics
(``sqlite_columns``); only the returned page is decompressed and highlighted (``highlight``).

Writing path: documents are prepared (``sqlite_prepare``: JSON, normalisation, token streams, n-grams;
in helper processes on big runs) and written by one writer thread in transactions that span batches
on long streams (``COMMIT_ROWS``); before each commit it brings the n-gram bitmaps up to the rows it
wrote. Tables: ``sqlite_schema``.
"""

from __future__ import annotations

import contextlib
import copy
import glob
import logging
import math
import os
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import orjson
import zstandard

from indexer import catalogue
from indexer.document import SECTION_KEYS, ReportDocument
from store import doc_codec, highlight, sqlite_columns, sqlite_schema
from store.base import (
    DERIVED_METRICS,
    DERIVED_PREFIX,
    AgencySummary,
    AggregationResult,
    DerivedValues,
    Hit,
    IndexStats,
    SearchResult,
    check_state_fields,
    derived_json,
)
from store.query import (
    GROUP_BY,
    MAX_PAGE_SIZE,
    SCOPE_TITLE,
    AggregationQuery,
    Node,
    QueryError,
    SearchQuery,
    Term,
    terms,
)
from store.sqlite_aggregate import aggregate_rows
from store.sqlite_columns import NONE, Columns
from store.sqlite_facets import combine, compute_facets, parse_filters
from store.sqlite_match import Matcher
from store.sqlite_prepare import (
    Prepared,
    PreparedBatch,
    Preparer,
    digest_of,
    fts_values,
    normalized_fields,
)
from store.sqlite_shingles import CHUNK_ROWS, SEPARATOR, Ngrams, ShingleIndex
from store.sqlite_sort import ORDER_SCAN_MIN, cursor_after, cursor_of, page, page_in_order, sort_keys
from store.sqlite_translate import fts_expression

log = logging.getLogger(__name__)
T = TypeVar("T")

FACET_BUDGET_S = 2.0  # facets computed after this much facet time are reported as timed out
MATCH_CACHE_SIZE = 32  # recent FTS match sets (paging through one query re-uses its matches)
# Relevance (bm25) is computed for a single-term query matching at most this many reports; beyond
# that (or with several terms, whose IDF scans would each cost a full phrase scan) "relevance"
# orders the result set newest first: exact bm25 would cost seconds at a million reports.
RANK_LIMIT = 2_000
RELEVANCE_FALLBACK = "-published"
SAVED_COLUMNS_SUFFIX = ".columns"  # the columnar copy saved next to the index file
REBUILD_INFIX = ".rebuild-"  # index.sqlite3.rebuild-<pid>: a rebuild in progress
# This process's own writes reach its columnar copy in patches of at least this many reports (or when a search
# needs the copy): a patch copies every column, so one per small batch (the insights stage writes 200 at a
# time) would cost seconds at a million reports.
PATCH_ROWS = 8192
DERIVED_ROWS = 500  # reports read per statement by update_derived


# A long stream is written in transactions of this many reports (or this many seconds, whichever comes
# first): each becomes one FTS5 segment, and fewer, bigger segments mean less merging. Other writers wait
# for the lock (60 s timeout) and readers see the previous commit meanwhile.
COMMIT_ROWS = 8192
COMMIT_SECONDS = 5.0


Written = tuple[int, tuple[Any, ...], dict[str, float]]  # rowid, Prepared.report, Prepared.metrics


@dataclass(slots=True)
class _Changes:
    """What one write transaction wrote (rowid, report row, metrics) and removed (rowids)."""

    written: list[Written] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Transaction:
    started: float  # time.monotonic()
    rows: int = 0
    new_codec: bool = False  # the file's document dictionary was stored in this transaction
    written: list[Written] = field(default_factory=list)  # for the columnar copy


class IndexVersionError(RuntimeError):
    """The index file was written by an incompatible version; rebuild it (``nianbao reindex``)."""


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection; a reader's is read-only, so closing it never checkpoints or deletes the ``-wal`` / ``-shm``
    files by name (after a swap those names belong to the replacement, while it still reads the old file)."""
    if read_only:
        # Used by one thread at a time (``_Reader.busy``); an idle one may be closed by the thread swapping files.
        uri = f"{path.absolute().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, timeout=60, isolation_level=None, uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        _enter_wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA mmap_size=1073741824")
    return conn


def _enter_wal(conn: sqlite3.Connection, *, give_up_after: float = 30.0) -> None:
    """Switch a writer's file to WAL. Setting the journal mode of a new file needs it alone and SQLite answers
    "locked" at once, without its busy handler, while another process does the same (the server's forked workers
    opening a fresh data directory together): wait and retry for a bounded time."""
    deadline = time.monotonic() + give_up_after
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class _Epoch:
    """What belongs to one index file (replaced as a whole by ``nianbao reindex``): the writer connection, the
    n-gram bitmaps, the columnar copy and match cache, and the reader connections opened on it."""

    def __init__(self, path: Path, shingle_options: tuple[int, int | None]) -> None:
        self.writer = _connect(path)
        # A longer WAL between checkpoints: a B-tree page written by several batches (the id index takes
        # random inserts) reaches the database file once, not once per batch.
        self.writer.execute("PRAGMA wal_autocheckpoint=16384")
        self.writer.execute("PRAGMA cache_size=-262144")  # 256 MiB: FTS5 merges and index inserts re-read less
        sqlite_schema.create(self.writer)
        self.build = self.writer.execute("SELECT value FROM meta WHERE key = 'build'").fetchone()[0]
        self.saved_columns = path.with_name(path.name + SAVED_COLUMNS_SUFFIX)
        self.version_problem = sqlite_schema.check_version(self.writer)
        if self.version_problem:
            log.warning("%s", self.version_problem)
        self.identity = _file_identity(path)
        self.shingles = ShingleIndex(self.writer, *shingle_options)
        self.codec = doc_codec.stored(self.writer)  # compresses the documents this process writes
        self.codec_tried = False  # training a dictionary failed (too few distinct documents): not again
        self.docs = doc_codec.DocReader()
        self.fresh_build = False  # this process started writing to an empty file: it merges FTS5 when it closes
        self.last_generation: int | None = None  # after this process's last write (cached shingle bits are current)
        self.cols: Columns | None = None
        # Our writes not yet patched into ``cols``: rowid → (report, metrics), None when deleted; they bring it
        # to generation ``pending_to``. ``unsaved``: the copy is newer than the one saved next to the file.
        self.pending: dict[int, tuple[tuple[Any, ...], dict[str, float]] | None] = {}
        self.pending_to: int | None = None
        self.unsaved = False
        # A writer that holds no copy (no search needed one) records its writes here, on disk, to save the copy.
        self.column_log: sqlite_columns.ColumnLog | None = None
        self.matches: OrderedDict[tuple[int, str, bool], tuple[np.ndarray, np.ndarray | None]] = OrderedDict()
        self.readers: list[_Reader] = []
        self.retired = False


@dataclass(eq=False, slots=True)
class _Reader:
    """One thread's read-only connection to one index file. ``busy`` counts the calls (or the stream) using
    it: only its own thread uses it, and a swap closes it only while nobody does (else its thread does)."""

    conn: sqlite3.Connection
    epoch: _Epoch
    busy: int = 0
    closed: bool = False


class _OnEpoch(Generic[T]):
    """A store attribute kept on the ``_Epoch`` of the file the calling thread works on (``SqliteStore._ep``):
    one attribute of that name there, read (and, when writable, set) through the store."""

    def __init__(self, field: str, *, writable: bool = True) -> None:
        self.field = field
        self.writable = writable

    def __get__(self, store: SqliteStore | None, owner: type | None = None) -> T:
        if store is None:  # looked up on the class
            return self  # type: ignore[return-value]
        return getattr(store._ep, self.field)

    def __set__(self, store: SqliteStore, value: T) -> None:
        if not self.writable:
            raise AttributeError(f"{self.field} is set when its file is opened")
        setattr(store._ep, self.field, value)


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


_METRIC_COLUMN = {m.key: m.column_name for m in catalogue.metrics()}
_STATUS_AT = sqlite_schema.REPORT_COLUMNS.index("check_status") - 2  # in Prepared.report (after id, digest)
_FLAGS_AT = sqlite_schema.REPORT_COLUMNS.index("flags") - 2


def _derived_rows(
    report_id: str, stored: bytes, report: list[Any], values: DerivedValues, codec: doc_codec.DocCodec | None
) -> Prepared:
    """A stored report's rows with its derived values replaced: ``store.base.with_derived`` done on the stored
    JSON (building the ReportDocument and its rows again would be two thirds of the cost), the same bytes."""
    for key, value in values.metrics.items():
        if type(value) is not int and (type(value) is not float or not math.isfinite(value)):
            raise ValueError(f"metric {key!r} is not a number: {value!r}")
    data = orjson.loads(stored)
    metrics = {k: v for k, v in data["metrics"].items() if k not in DERIVED_METRICS}
    metrics.update(values.metrics)
    data["metrics"] = metrics
    checks, analysis = derived_json(values)
    data["checks"] = [c for c in data["checks"] if not c["name"].startswith(DERIVED_PREFIX)] + checks
    data["flags"] = [f for f in data["flags"] if not f.startswith(DERIVED_PREFIX)] + list(values.flags)
    data["analysis"] = analysis
    data["check_status"] = values.check_status
    raw = orjson.dumps(data)
    report[_STATUS_AT], report[_FLAGS_AT] = values.check_status, " ".join(data["flags"])
    columns = {_METRIC_COLUMN[k]: v for k, v in metrics.items() if v is not None and k in _METRIC_COLUMN}
    blob = (codec or doc_codec.DocCodec()).compress(raw)
    return Prepared(report_id, digest_of(raw), blob, tuple(report), columns, (), "")


def _decode(data: bytes) -> ReportDocument:
    return ReportDocument.from_dict(orjson.loads(data))


class SqliteStore:
    """``store.base.Store`` on one SQLite file. Safe to share between threads (one connection each)."""

    def __init__(self, path: Path, *, shingle_chunk: int = CHUNK_ROWS, shingle_min_df: int | None = None) -> None:
        self.path = Path(path)
        self._shingle_options = (shingle_chunk, shingle_min_df)  # see sqlite_shingles (tests use small chunks)
        # Taken in this order. The write lock is held by the writer for a whole transaction (which may span
        # batches); readers only ever wait for the short one, which guards the columnar copy and match cache.
        self._write_lock = threading.RLock()
        self._lock = threading.RLock()
        self._txn: _Transaction | None = None  # the writer's open transaction (under the write lock)
        self._local = threading.local()  # .reader: this thread's _Reader; .active: the one its current call uses
        self._readers_lock = threading.Lock()  # guards _Reader.busy / .closed and _Epoch.readers
        self._preparer = Preparer()
        if REBUILD_INFIX not in self.path.name:
            _remove_abandoned_rebuilds(self.path)
        sqlite_columns.remove_abandoned_spills(self.path)
        self._open()

    # -- connections -------------------------------------------------------------------------------

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._epoch = _Epoch(self.path, self._shingle_options)

    # The state of the file a call works on: the one its reader connection reads (a stream keeps reading the
    # file it started on after a swap), else the current one.
    @property
    def _ep(self) -> _Epoch:
        active: _Reader | None = getattr(self._local, "active", None)
        return active.epoch if active is not None else self._epoch

    # State of the file a call works on (see ``_ep``), by the names the store's code has always used.
    _writer = _OnEpoch[sqlite3.Connection]("writer", writable=False)
    _shingles = _OnEpoch[ShingleIndex]("shingles", writable=False)
    _build = _OnEpoch[str]("build", writable=False)
    _saved_columns = _OnEpoch[Path]("saved_columns", writable=False)
    _version_problem = _OnEpoch["str | None"]("version_problem", writable=False)
    _matches = _OnEpoch["OrderedDict[tuple[int, str, bool], tuple[np.ndarray, np.ndarray | None]]"](
        "matches", writable=False
    )
    _identity = _OnEpoch["tuple[int, int] | None"]("identity", writable=False)
    _pending = _OnEpoch["dict[int, tuple[tuple[Any, ...], dict[str, float]] | None]"]("pending", writable=False)
    _cols = _OnEpoch["Columns | None"]("cols")
    _pending_to = _OnEpoch["int | None"]("pending_to")
    _unsaved = _OnEpoch[bool]("unsaved")
    _column_log = _OnEpoch["sqlite_columns.ColumnLog | None"]("column_log")
    _last_generation = _OnEpoch["int | None"]("last_generation")
    _codec = _OnEpoch["doc_codec.DocCodec | None"]("codec")
    _docs = _OnEpoch[doc_codec.DocReader]("docs", writable=False)

    def _document(self, conn: sqlite3.Connection, blob: bytes) -> ReportDocument:
        return _decode(self._docs.decompress(conn, blob))

    def _follow_replacement(self) -> None:
        """Move to the new file when another instance (``nianbao reindex`` while the service runs) swapped it
        in: open connections would otherwise keep reading, and writing, the replaced file."""
        if _file_identity(self.path) == self._epoch.identity:
            return
        with self._write_lock, self._lock:
            if _file_identity(self.path) != self._epoch.identity:
                log.info("index file %s was replaced; reopening", self.path)
                self._retire()
                self._open()

    def _retire(self) -> None:
        """Leave the current file (under both locks): close the reader connections nobody is using, then its
        writer; a reader in use (a search, a CSV export streaming) is closed by its thread when it is done."""
        epoch = self._epoch
        epoch.retired = True
        if epoch.column_log is not None:
            epoch.column_log.discard()
            epoch.column_log = None
        with self._readers_lock:
            idle = [r for r in epoch.readers if not r.busy]
            for r in idle:
                r.closed = True
                epoch.readers.remove(r)
        for r in idle:  # not in use, and marked closed first: its thread opens a new one
            with contextlib.suppress(sqlite3.Error):
                r.conn.close()
        # Last: the last connection to a file folds its WAL into it (a rebuilt file is renamed right after).
        with contextlib.suppress(sqlite3.Error):
            epoch.writer.close()

    def _acquire(self) -> _Reader:
        """This thread's reader on the current file (opened on first use or after a swap), marked busy."""
        active: _Reader | None = getattr(self._local, "active", None)
        if active is not None:  # inside a stream or another call of this thread: the same file
            with self._readers_lock:
                active.busy += 1
            return active
        while True:
            self._follow_replacement()
            if self._epoch.retired:  # used again after close(): open the file again
                with self._write_lock, self._lock:
                    if self._epoch.retired:
                        self._open()
            epoch = self._epoch
            reader: _Reader | None = getattr(self._local, "reader", None)
            if reader is None or reader.closed or reader.epoch is not epoch:
                reader = _Reader(_connect(self.path, read_only=True), epoch)
                with self._readers_lock:
                    fresh = not epoch.retired
                    if fresh:
                        epoch.readers.append(reader)
                        reader.busy += 1
                        self._local.reader = reader
                if fresh:
                    return reader
                reader.conn.close()  # the file was swapped meanwhile: never used, ours to close
                continue
            with self._readers_lock:
                if not reader.closed and not reader.epoch.retired:
                    reader.busy += 1
                    return reader

    def _release(self, reader: _Reader) -> None:
        with self._readers_lock:
            reader.busy -= 1
            done = reader.busy == 0 and reader.epoch.retired and not reader.closed
            if done:
                reader.closed = True
                with contextlib.suppress(ValueError):
                    reader.epoch.readers.remove(reader)
        if done:
            reader.conn.close()

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection for the duration of the block, on one file: a swap meanwhile neither closes
        it nor moves the block to the new file (a CSV export streams all its pages from one file)."""
        reader = self._acquire()
        outer = getattr(self._local, "active", None)
        self._local.active = reader
        try:
            yield reader.conn
        finally:
            self._local.active = outer
            self._release(reader)

    def _reader(self) -> sqlite3.Connection:
        """This thread's current connection (for tests and benchmarks; store calls use ``reading``)."""
        with self.reading() as conn:
            return conn

    def close(self) -> None:
        with self._write_lock, self._lock:
            if self._epoch.fresh_build and not self._epoch.retired:
                self._merge_fts()
            self._save_columns()
            self._preparer.close()
            self._retire()

    def _merge_fts(self) -> None:
        """After building a file from empty (``nianbao reindex``, a first ``nianbao index``): merge FTS5's segments
        into one. A phrase costs a b-tree look-up per token and segment, and a build leaves one segment per write
        transaction, merged eight at a time: a rare ten-character phrase took 0.36 ms over 8 segments and 0.04 ms
        over one (30k reports). The merge rewrites the FTS5 data once (~50 µs a report), as the peer's one-step
        build does; later writes add small segments that FTS5 merges among themselves."""
        self._epoch.fresh_build = False
        conn = self._writer
        try:
            if sqlite_schema.fts_segments(conn) > 1:
                conn.execute("INSERT INTO fts (fts) VALUES ('optimize')")
        except sqlite3.Error as exc:  # only costs rare phrases some speed
            log.warning("could not merge the full-text segments of %s: %s", self.path, exc)

    @staticmethod
    def _generation(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    def _columns(self, conn: sqlite3.Connection) -> Columns:
        generation = self._generation(conn)
        cols = self._cols
        if cols is None or cols.generation != generation:
            with self._lock:
                if self._pending_to == generation:
                    self._apply_pending()
                cols = self._cols
                if cols is None or cols.generation != generation:
                    conn.execute("BEGIN")  # one snapshot for generation and data
                    try:
                        generation = self._generation(conn)
                        cols = sqlite_columns.load_saved(self._saved_columns, self._build, generation)
                        spill = self._column_log
                        if cols is None and spill is not None and spill.generation == generation:
                            spill.save(self._saved_columns, self._build)  # our writes since the base: cheap
                            cols = sqlite_columns.load_saved(self._saved_columns, self._build, generation)
                        if cols is None:
                            cols = sqlite_columns.load(conn, generation)
                            sqlite_columns.save(cols, self._saved_columns, self._build)
                    finally:
                        conn.execute("COMMIT")
                    self._cols = cols
                    self._matches.clear()
        return cols

    def _prime_columns(self) -> None:
        """Before writing: take up the columnar copy if that is cheap (an empty index, or a current saved copy) as
        the base of a log of our writes on disk (a copy in memory, if a search loaded one, is patched instead), so
        that it is saved when we close; the first search after indexing then reads it instead of loading every
        row (seconds at a million reports), and the writer's memory does not grow with the copy."""
        # The connection before the short lock: it may take the write lock to follow a replaced file.
        with self.reading() as conn, self._lock:
            if self._cols is not None or self._column_log is not None:
                return
            conn.execute("BEGIN")
            try:
                generation = self._generation(conn)
                if conn.execute("SELECT max(rowid) FROM reports").fetchone()[0] is None:
                    base = sqlite_columns.load(conn, generation)
                    self._ep.fresh_build = True
                else:
                    base = sqlite_columns.load_saved(self._saved_columns, self._build, generation)
            finally:
                conn.execute("COMMIT")
            if base is not None:
                self._column_log = sqlite_columns.ColumnLog(base, self.path, sqlite_schema.REPORT_COLUMNS[2:])

    def _save_columns(self) -> None:
        """On close, after our writes: save the copy, current (loading it if we had none), next to the file."""
        if not self._unsaved or self._txn is not None or _file_identity(self.path) != self._identity:
            return  # nothing new, mid-write, or the file was replaced: its saved copy is not ours to overwrite
        self._unsaved = False
        try:
            conn = self._writer
            generation = self._generation(conn)
            if self._pending_to == generation:
                self._apply_pending()
            cols, spill = self._cols, self._column_log
            if cols is not None and cols.generation == generation:
                sqlite_columns.save(cols, self._saved_columns, self._build)
            elif spill is not None and spill.generation == generation:
                spill.save(self._saved_columns, self._build)
            else:
                self._columns(conn)  # loads it from the tables and saves it
        except (sqlite3.Error, OSError) as exc:  # only costs the next reader a load
            log.warning("could not save the columnar copy of %s: %s", self.path, exc)

    # -- writing -----------------------------------------------------------------------------------

    def update_state(self, states: dict[str, dict[str, Any]]) -> int:
        """Crawl-state fields changed in place: the stored document is amended and written again through
        ``index`` (so every derived column stays consistent); nothing is re-parsed."""
        check_state_fields(states)
        changed: list[ReportDocument] = []
        for report_id, fields in states.items():
            doc = self.get(report_id)
            if doc is None:
                continue
            if any(getattr(doc, k) != v for k, v in fields.items()):
                for k, v in fields.items():
                    setattr(doc, k, v)
                changed.append(doc)
        if changed:
            result = self.index(changed)
            if result.failed:
                raise RuntimeError(f"state update failed for {result.failed} report(s): {result.errors[:3]}")
        return len(changed)

    def update_derived(self, values: dict[str, DerivedValues]) -> IndexStats:
        """The insights stage's values replaced in place, in one transaction: a report's document, its
        ``reports`` and ``metrics`` rows are rewritten at the same rowid; its full-text row and n-gram bits are
        not (its text did not change), which is most of what a re-index through ``index`` would cost."""
        stats = IndexStats()
        with self._one_transaction() as (conn, changes):
            ids = list(values)
            for start in range(0, len(ids), DERIVED_ROWS):
                changes.written.extend(self._update_derived(conn, ids[start : start + DERIVED_ROWS], values, stats))
        return stats

    @contextlib.contextmanager
    def _one_transaction(
        self, on_rollback: Callable[[], None] | None = None
    ) -> Iterator[tuple[sqlite3.Connection, _Changes]]:
        """A write transaction for one call (``update_derived``, ``delete``): the body records the rows it wrote
        and removed; the generation moves and the columnar copy is patched only when there are some."""
        self._follow_replacement()
        if self._version_problem:
            raise IndexVersionError(self._version_problem)
        changes = _Changes()
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._check_other_writers(conn)
                yield conn, changes
                generation = self._bump_generation(conn) if changes.written or changes.removed else None
                conn.execute("COMMIT")
                self._last_generation = generation or self._last_generation
            except BaseException:
                conn.execute("ROLLBACK")
                if on_rollback is not None:
                    on_rollback()
                raise
            if generation is not None:
                self._patch_columns(generation, changes.written, changes.removed)

    def _update_derived(
        self, conn: sqlite3.Connection, ids: list[str], values: dict[str, DerivedValues], stats: IndexStats
    ) -> list[Written]:
        marks = ", ".join("?" * len(ids))
        columns = ", ".join(f"r.{c}" for c in sqlite_schema.REPORT_COLUMNS[2:])
        rows = conn.execute(
            f"SELECT r.rowid, r.id, r.digest, d.doc, {columns} FROM reports r JOIN docs d ON d.rowid = r.rowid "
            f"WHERE r.id IN ({marks})",
            ids,
        ).fetchall()
        batch: list[Prepared] = []
        rowids: list[int] = []
        for rowid, report_id, digest, blob, *report in rows:
            try:
                stored = self._docs.decompress(conn, blob)
                p = _derived_rows(report_id, stored, report, values[report_id], self._codec)
            except (ValueError, TypeError) as exc:
                stats.failed += 1
                stats.errors.append(f"{report_id}: {exc}")
                continue
            if p.digest == digest:
                stats.unchanged += 1
                continue
            batch.append(p)
            rowids.append(rowid)
        for table in ("reports", "docs", "metrics"):
            conn.executemany(f"DELETE FROM {table} WHERE rowid = ?", [(r,) for r in rowids])
        self._insert_many(conn, batch, rowids, with_fts=False)
        stats.indexed += len(batch)
        return [(r, p.report, p.metrics) for r, p in zip(rowids, batch, strict=True)]

    def index(self, docs: Iterable[ReportDocument]) -> IndexStats:
        return self._index_batches(
            lambda quiesce: self._preparer.batches(docs, quiesce, lambda: self._shingles.vocab, lambda: self._codec)
        )

    def index_prepared(self, batch: PreparedBatch) -> IndexStats:
        """Write rows prepared elsewhere (``sqlite_prepare.prepare_batch`` without this file's vocabulary and
        document dictionary, e.g. in the indexing pipeline's parse helper processes, which then send back
        these compact rows instead of documents); as ``index``. What the file's own preparing would add is
        added here: documents compressed with its dictionary, the n-grams of its vocabulary."""
        rows, failed, errors = batch
        codec, vocab = self._codec, self._shingles.vocab
        if codec is not None:
            plain = zstandard.ZstdDecompressor()
            for p in rows:
                if p.blob[:4] == b"\x28\xb5\x2f\xfd" and zstandard.get_frame_parameters(p.blob).dict_id == 0:
                    p.blob = codec.compress(plain.decompress(p.blob))  # ~30 µs: a plain frame, with the dictionary
        todo = [p for p in rows if p.ngrams is None and p.text]
        if vocab is not None and todo:
            for p, ids in zip(todo, vocab.ids_per_text([p.text for p in todo]), strict=True):
                p.ngrams = Ngrams(vocab.digest, ids)
                p.text = ""  # only needed to find the n-grams
        return self._index_batches(lambda quiesce: iter([(rows, failed, errors)]))

    def _index_batches(self, batches: Callable[[Callable[[], None]], Iterator[PreparedBatch]]) -> IndexStats:
        self._follow_replacement()
        if self._version_problem:
            raise IndexVersionError(self._version_problem)
        stats = IndexStats()
        self._prime_columns()
        # SQLite works without the GIL: one thread writes a batch while this one reads and prepares the next.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer") as writer:
            writing: Future[None] | None = None

            def quiesce() -> None:
                if writing is not None:
                    writing.result()

            try:
                for prepared, failed, errors in batches(quiesce):
                    stats.failed += failed
                    stats.errors.extend(errors)
                    if writing is not None:
                        writing.result()
                    writing = writer.submit(self._write, prepared, stats)
                if writing is not None:
                    writing.result()
            finally:
                # Also when reading the documents failed: what was written so far is kept.
                writer.submit(self._commit_open).result()
        return stats

    def _write(self, batch: list[Prepared], stats: IndexStats) -> None:
        """Write a batch into the open write transaction (beginning one), committing it once it is big or
        old enough: FTS5 turns each transaction into a new segment, and merging many small segments is
        most of the cost of a large index."""
        txn = self._txn or self._begin()
        try:
            self._write_batch(self._writer, batch, stats, txn.written)
            self._learn_codec(self._writer, batch, txn)
        except BaseException:
            self._rollback_open()
            raise
        txn.rows += len(batch)
        if txn.rows >= COMMIT_ROWS or time.monotonic() - txn.started >= COMMIT_SECONDS:
            self._commit_open()

    def _begin(self) -> _Transaction:
        self._write_lock.acquire()
        try:
            self._writer.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._write_lock.release()
            raise
        self._txn = _Transaction(time.monotonic())
        try:
            self._check_other_writers(self._writer)
        except BaseException:
            self._rollback_open()
            raise
        return self._txn

    def _commit_open(self) -> None:
        """Commit the open write transaction, if any (with the n-gram bitmaps brought up to it)."""
        txn, conn = self._txn, self._writer
        if txn is None:
            return
        try:
            self._shingles.update(conn, self._texts_of, self._preparer.ngram_ids)
            generation = self._bump_generation(conn) if txn.written else None
            conn.execute("COMMIT")
        except BaseException:
            self._rollback_open()
            raise
        self._txn = None
        try:
            self._last_generation = generation or self._last_generation
            if generation is not None:
                self._patch_columns(generation, txn.written, [])
        finally:
            self._write_lock.release()

    def _learn_codec(self, conn: sqlite3.Connection, batch: list[Prepared], txn: _Transaction) -> None:
        """In the write transaction: when the file has no document dictionary yet, train it on this batch (~0.1 s,
        once); the batches prepared after it use it."""
        if self._codec is not None or self._ep.codec_tried or len(batch) < doc_codec.TRAIN_MIN:
            return
        codec = doc_codec.stored(conn)  # another process may have stored one
        if codec is None:
            codec = doc_codec.train([self._docs.decompress(conn, p.blob) for p in batch])
            if codec is None:
                self._ep.codec_tried = True
                return
            doc_codec.store(conn, codec)
            txn.new_codec = True
        self._codec = codec

    def _rollback_open(self) -> None:
        if self._txn is not None and self._txn.new_codec:  # its dictionary is gone with it
            self._codec = None
        self._txn = None
        try:
            with contextlib.suppress(sqlite3.Error):
                self._writer.execute("ROLLBACK")
            self._shingles.discard()
        finally:
            self._write_lock.release()

    def _write_batch(
        self, conn: sqlite3.Connection, batch: list[Prepared], stats: IndexStats, written: list[Written]
    ) -> None:
        """Inside the writer's transaction: insert new reports, replace changed ones, skip unchanged ones."""
        latest = {p.id: p for p in batch}  # a report given twice in one batch: its last version wins
        stats.indexed += len(batch) - len(latest)
        marks = ", ".join("?" * len(latest))
        existing = {
            row[0]: (row[1], row[2])
            for row in conn.execute(f"SELECT id, rowid, digest FROM reports WHERE id IN ({marks})", list(latest))
        }
        new_text: list[tuple[int, str | None, Ngrams | None]] = []
        fresh: list[Prepared] = []
        for p in latest.values():
            row = existing.get(p.id)
            if row is None:
                fresh.append(p)
            elif row[1] == p.digest:
                stats.unchanged += 1
            else:
                rowid, text_changed = self._replace(conn, row[0], p)
                written.append((rowid, p.report, p.metrics))
                stats.indexed += 1
                if text_changed:
                    new_text.append((rowid, p.text, p.ngrams))
        for rowid, p in zip(self._insert_many(conn, fresh), fresh, strict=True):
            written.append((rowid, p.report, p.metrics))
            new_text.append((rowid, p.text, p.ngrams))
        stats.indexed += len(fresh)
        self._shingles.written(conn, new_text, self._texts_of)

    def _check_other_writers(self, conn: sqlite3.Connection) -> None:
        """Inside a write transaction: drop cached shingle bits if another process wrote since our last write."""
        if self._generation(conn) != self._last_generation:
            self._shingles.forget_cached()
            if self._codec is None:
                self._codec = doc_codec.stored(conn)

    def _texts_of(self, conn: sqlite3.Connection, rowids: list[int]) -> list[str]:
        """Normalised searchable text of stored reports (for the n-gram bitmaps of rows it has no text of)."""
        marks = ", ".join("?" * len(rowids))
        blobs = dict(conn.execute(f"SELECT rowid, doc FROM docs WHERE rowid IN ({marks})", rowids).fetchall())
        return [SEPARATOR.join(normalized_fields(self._document(conn, blobs[r]))) for r in rowids]

    @staticmethod
    def _bump_generation(conn: sqlite3.Connection) -> int:
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
        return SqliteStore._generation(conn)

    def _patch_columns(self, generation: int, written: list[Written], removed: list[int]) -> None:
        """Bring the columnar copy up to our own write instead of reloading it all (seconds at 1M reports):
        recorded now, patched in once enough has gathered or a search needs it."""
        with self._lock:
            self._unsaved = True
            spill = self._column_log
            if spill is not None and not self._log_columns(spill, generation, written, removed):
                spill.discard()
                self._column_log = None
            cols = self._cols
            if cols is None:
                return
            if (self._pending_to or cols.generation) != generation - 1:  # someone else wrote in between
                self._cols, self._pending_to = None, None  # reload on next use
                self._pending.clear()
                return
            for rowid, report, metrics in written:
                self._pending[rowid] = (report, metrics)  # a report written twice: its last version
            for rowid in removed:
                self._pending[rowid] = None
            self._pending_to = generation
            if len(self._pending) >= PATCH_ROWS:
                self._apply_pending()

    def _log_columns(
        self, spill: sqlite_columns.ColumnLog, generation: int, written: list[Written], removed: list[int]
    ) -> bool:
        """Append our committed write to the log; False when the log is of no use any more (someone else wrote in
        between, too many flags, or its file could not be written: the copy is then loaded when it is needed)."""
        try:
            return spill.append(generation, written, removed)
        except OSError as exc:  # the write itself is committed: this only costs the first search a load
            log.warning("could not log the columnar copy of %s: %s", self.path, exc)
            return False

    def _apply_pending(self) -> None:
        """Patch the recorded writes into the columnar copy (under the short lock)."""
        cols, generation = self._cols, self._pending_to
        if cols is None or generation is None:
            return
        names = sqlite_schema.REPORT_COLUMNS[2:]
        rows = [(rowid, dict(zip(names, row[0], strict=True)), row[1]) for rowid, row in self._pending.items() if row]
        removed = [rowid for rowid, row in self._pending.items() if row is None]
        self._cols = sqlite_columns.patched(cols, generation, rows, removed)
        self._pending.clear()
        self._pending_to = None
        self._matches.clear()

    def _replace(self, conn: sqlite3.Connection, rowid: int, p: Prepared) -> tuple[int, bool]:
        """Replace a report in place. Its full-text row is rewritten only when its text changed: the
        analysis stage (insights) updates numbers of every report, and the FTS5 rewrite would be most of
        the cost of such a write."""
        old = conn.execute("SELECT doc FROM docs WHERE rowid = ?", (rowid,)).fetchone()
        same_text = old is not None and fts_values(self._document(conn, old[0])) == p.fts
        if same_text:
            for table in ("reports", "docs", "metrics"):
                conn.execute(f"DELETE FROM {table} WHERE rowid = ?", (rowid,))
        else:
            self._remove(conn, rowid)
        return self._insert_many(conn, [p], [rowid], with_fts=not same_text)[0], not same_text

    def _insert_many(
        self, conn: sqlite3.Connection, batch: list[Prepared], rowids: list[int] | None = None, *, with_fts: bool = True
    ) -> list[int]:
        """Insert reports with one statement per table, at ``rowids`` (default: after the current last one)."""
        if not batch:
            return []
        if rowids is None:
            first = (conn.execute("SELECT max(rowid) FROM reports").fetchone()[0] or 0) + 1
            rowids = list(range(first, first + len(batch)))
        cols = sqlite_schema.REPORT_COLUMNS
        conn.executemany(
            f"INSERT INTO reports (rowid, {', '.join(cols)}) VALUES ({', '.join('?' * (len(cols) + 1))})",
            [(r, p.id, p.digest, *p.report) for r, p in zip(rowids, batch, strict=True)],
        )
        conn.executemany(
            "INSERT INTO docs (rowid, doc) VALUES (?, ?)", [(r, p.blob) for r, p in zip(rowids, batch, strict=True)]
        )
        by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}  # one statement per set of known metrics
        for r, p in zip(rowids, batch, strict=True):
            by_columns.setdefault(tuple(p.metrics), []).append((r, *p.metrics.values()))
        for names, rows in by_columns.items():
            conn.executemany(
                f"INSERT INTO metrics (rowid{''.join(', ' + n for n in names)}) VALUES (?{', ?' * len(names)})", rows
            )
        if with_fts:
            fts_cols = sqlite_schema.fts_columns()
            conn.executemany(
                f"INSERT INTO fts (rowid, {', '.join(fts_cols)}) VALUES (?{', ?' * len(fts_cols)})",
                [(r, *p.fts) for r, p in zip(rowids, batch, strict=True)],
            )
        return rowids

    def _remove(self, conn: sqlite3.Connection, rowid: int) -> None:
        """Delete a report's rows; a contentless FTS5 row is deleted by replaying its tokens."""
        blob = conn.execute("SELECT doc FROM docs WHERE rowid = ?", (rowid,)).fetchone()
        if blob is not None:
            fts_cols = sqlite_schema.fts_columns()
            conn.execute(
                f"INSERT INTO fts (fts, rowid, {', '.join(fts_cols)}) VALUES ('delete', ?{', ?' * len(fts_cols)})",
                (rowid, *fts_values(self._document(conn, blob[0]))),
            )
        for table in ("reports", "docs", "metrics"):
            conn.execute(f"DELETE FROM {table} WHERE rowid = ?", (rowid,))

    def delete(self, ids: Iterable[str]) -> int:
        with self._one_transaction(on_rollback=self._shingles.discard) as (conn, changes):
            for report_id in ids:
                row = conn.execute("SELECT rowid FROM reports WHERE id = ?", (report_id,)).fetchone()
                if row is not None:
                    self._remove(conn, row[0])
                    changes.removed.append(row[0])
            self._shingles.written(conn, [(rowid, None, None) for rowid in changes.removed], self._texts_of)
            self._shingles.update(conn, self._texts_of)
        return len(changes.removed)

    def outdated(self) -> str | None:
        return self._version_problem

    @contextlib.contextmanager
    def rebuild(self) -> Iterator[SqliteStore]:
        """Build into a new file next to this one; on success it atomically replaces this store's file."""
        _remove_abandoned_rebuilds(self.path)
        tmp = self.path.with_name(f"{self.path.name}{REBUILD_INFIX}{os.getpid()}")
        _unlink_db(tmp)
        fresh = SqliteStore(tmp)
        try:
            yield fresh
        except BaseException:
            fresh.close()
            _unlink_db(tmp)
            raise
        fresh.close()
        _checkpoint(tmp)  # renamed below without its -wal: every commit must be in the file itself
        with self._write_lock, self._lock:
            self._retire()
            _retire_wal(self.path)
            os.replace(tmp, self.path)
            try:  # the copy the build saved (it names the new file's build and generation) goes with it
                os.replace(f"{tmp}{SAVED_COLUMNS_SUFFIX}", self._saved_columns)
            except FileNotFoundError:
                self._saved_columns.unlink(missing_ok=True)
            self._open()

    # -- reading documents -------------------------------------------------------------------------

    def get(self, report_id: str) -> ReportDocument | None:
        with self.reading() as conn:
            row = conn.execute(
                "SELECT d.doc FROM reports r JOIN docs d ON d.rowid = r.rowid WHERE r.id = ?", (report_id,)
            ).fetchone()
            return self._document(conn, row[0]) if row else None

    def iter_documents(self) -> Iterator[ReportDocument]:
        conn = _connect(self.path)  # its own connection: callers may write to another store meanwhile
        docs = doc_codec.DocReader()
        try:
            last = -1
            while rows := conn.execute(
                "SELECT rowid, doc FROM docs WHERE rowid > ? ORDER BY rowid LIMIT 500", (last,)
            ).fetchall():
                for rowid, blob in rows:
                    last = rowid
                    yield _decode(docs.decompress(conn, blob))
        finally:
            conn.close()

    def count(self) -> int:
        with self.reading() as conn:
            return int(conn.execute("SELECT count(*) FROM reports").fetchone()[0])

    # -- searching ---------------------------------------------------------------------------------

    def _match(
        self, conn: sqlite3.Connection, generation: int, tree: Node, scope: str | None, ranked: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Rowids (ascending) matching a query tree, and their bm25 ranks when ``ranked``."""
        expr = fts_expression(tree, scope)
        key = (generation, expr, ranked)
        cached = self._matches.get(key)
        if cached is not None:
            self._matches.move_to_end(key)
            return cached
        conn.execute("BEGIN")  # one snapshot for the bitmaps and FTS5
        try:
            ids = Matcher(conn, self._shingles, scope).ids(tree)
            ranks = None
            if ranked and 0 < ids.size <= RANK_LIMIT:
                # bm25 costs microseconds per match: exact for result sets up to RANK_LIMIT (see search()).
                ids_text, ranks_text = conn.execute(
                    "SELECT group_concat(rowid), group_concat(rank) FROM fts WHERE fts MATCH ?", (expr,)
                ).fetchone()
                ids = np.fromstring(ids_text, dtype=np.int64, sep=",") if ids_text else np.empty(0, dtype=np.int64)
                ranks = np.fromstring(ranks_text, dtype=np.float64, sep=",") if ranks_text else np.empty(0)
                if ids.size > 1 and np.any(ids[1:] < ids[:-1]):
                    order = np.argsort(ids, kind="stable")
                    ids, ranks = ids[order], ranks[order]
        except sqlite3.OperationalError as exc:
            raise QueryError(f"cannot search for this query ({exc})") from exc
        finally:
            conn.execute("COMMIT")
        result = (ids, ranks)
        with self._lock:
            self._matches[key] = result
            while len(self._matches) > MATCH_CACHE_SIZE:
                self._matches.popitem(last=False)
        return result

    def _select(
        self, query: SearchQuery, conn: sqlite3.Connection, ranked: bool
    ) -> tuple[Columns, np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
        """Candidates (text matches or everything), their ranks, and the filter masks over them."""
        tree = query.tree
        cols = self._columns(conn)
        if tree is None:
            ids, ranks = cols.rowids, None
        else:
            ids, ranks = self._match(conn, cols.generation, tree, query.scope, ranked)
            # The match may see writes newer than the columnar snapshot: keep the reports it knows.
            ids_in = ids[ids < cols.size] if len(ids) and ids[-1] >= cols.size else ids
            known = cols.keywords["removed"].codes[ids_in] != NONE  # set for every report of the snapshot
            if ranks is not None:
                ranks = ranks[: len(ids_in)][known]
            ids = ids_in[known]
        return cols, ids, ranks, parse_filters(query, cols, conn, ids)

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        for name in query.filters:
            if name not in sqlite_schema.FACET_COLUMNS:
                raise QueryError(f"unknown filter {name!r}", name)
        for name in query.facets:
            if name not in sqlite_schema.FACET_COLUMNS:
                raise QueryError(f"unknown facet {name!r}", "facets")
        if not 1 <= query.size <= MAX_PAGE_SIZE:
            raise QueryError(f"size must be between 1 and {MAX_PAGE_SIZE}", "size")
        sort = query.sort or "relevance"
        # bm25 scans every phrase of the query over the whole index for its IDF, so it is affordable
        # only for a single term (whose scan the match itself already paid for).
        ranked = sort == "relevance" and isinstance(query.tree, Term)
        with self.reading() as conn:
            cols, ids, ranks, masks = self._select(query, conn, ranked)
            final = combine(masks, len(ids))
            result_ids = ids[final]
            if query.q.strip() or masks:
                facets = compute_facets(query, cols, conn, ids, masks, FACET_BUDGET_S)
            else:  # the browse page: the same counts until the next write
                key = ("facets", query.facets, query.metric_facets)
                facets = cols.memo.get(key)  # type: ignore[assignment]
                if facets is None:
                    facets = compute_facets(query, cols, conn, ids, masks, FACET_BUDGET_S)
                    if not any(f.timed_out for f in facets):
                        cols.memo[key] = facets
                facets = copy.deepcopy(facets)
            if sort == "relevance" and ranks is None:
                sort = RELEVANCE_FALLBACK  # no text query, or too many matches to rank
            after = cursor_after(query.cursor, sort)
            if ranks is None and result_ids.size >= ORDER_SCAN_MIN:
                page_ids, page_keys, more = page_in_order(sort, cols, conn, result_ids, query.size, after)
                chosen = np.searchsorted(result_ids, page_ids)  # result_ids ascend
                keys = np.empty(result_ids.size)
                keys[chosen] = page_keys  # only the page's keys are read (cursor)
            else:
                keys = sort_keys(sort, cols, conn, result_ids, ranks[final] if ranks is not None else None)
                chosen, more = page(keys, result_ids, query.size, after)
            hits = self._hits(conn, query, chosen, keys, result_ids, ranks is not None)
            next_cursor = cursor_of(sort, keys[chosen[-1]], result_ids[chosen[-1]]) if more and chosen.size else None
        return SearchResult(
            total=int(result_ids.size),
            hits=hits,
            facets=facets,
            next_cursor=next_cursor,
            took_ms=(time.perf_counter() - started) * 1000,
        )

    def _hits(
        self,
        conn: sqlite3.Connection,
        query: SearchQuery,
        page: np.ndarray,
        keys: np.ndarray,
        ids: np.ndarray,
        ranked: bool,
    ) -> list[Hit]:
        rowids = [int(ids[i]) for i in page]
        if not rowids:
            return []
        marks = ", ".join("?" * len(rowids))
        blobs = dict(conn.execute(f"SELECT rowid, doc FROM docs WHERE rowid IN ({marks})", rowids).fetchall())
        wanted = {c.key for c in query.conditions} | set(query.metric_facets)
        if query.sort.lstrip("-").startswith("metric:"):
            wanted.add(query.sort.lstrip("-")[len("metric:") :])
        highlight_terms = terms(query.tree) if query.highlight else []
        hits = []
        for i, rowid in zip(page, rowids, strict=True):
            blob = blobs.get(rowid)
            if blob is None:
                continue  # deleted since the match; the next page is still consistent
            data = orjson.loads(self._docs.decompress(conn, blob))  # the plain dict: no dataclasses for a hit
            fragments = highlight.fragments(_fields(data, query.scope), highlight_terms) if highlight_terms else []
            metrics = data.get("metrics") or {}
            hits.append(
                Hit(
                    id=data["id"],
                    score=float(-keys[i]) if ranked else None,
                    title=data.get("title") or "",
                    agency=data.get("agency") or {},
                    region=data.get("region") or {},
                    year=data.get("year"),
                    published=data.get("published"),
                    check_status=data.get("check_status") or "",
                    removed=bool(data.get("removed")),
                    fragments=fragments,
                    metrics={k: metrics.get(k) for k in sorted(wanted)},
                )
            )
        return hits

    # -- aggregations and agencies -----------------------------------------------------------------

    def aggregate(self, query: AggregationQuery) -> AggregationResult:
        started = time.perf_counter()
        for g in query.group_by:
            if g not in GROUP_BY:
                raise QueryError(f"cannot group by {g!r}", "group_by")
        with self.reading() as conn:
            cols, ids, _, masks = self._select(query.search, conn, ranked=False)
            rows = aggregate_rows(cols, conn, ids[combine(masks, len(ids))], query)
        return AggregationResult(rows, (time.perf_counter() - started) * 1000)

    def agencies(self, name: str = "", limit: int = 50) -> list[AgencySummary]:
        limit = max(1, min(int(limit), 1000))
        pattern = "%" + name.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.reading() as conn:
            rows = conn.execute(
                """
            SELECT agency_id, max(agency), max(agency_type), max(level), max(province), max(city), max(county),
                   count(*), group_concat(DISTINCT year)
            FROM reports
            WHERE agency LIKE ? ESCAPE '\\' OR agency_name LIKE ? ESCAPE '\\'
            GROUP BY agency_id
            ORDER BY count(*) DESC, max(agency)
            LIMIT ?
            """,
                (pattern, pattern, limit),
            ).fetchall()
        return [
            AgencySummary(
                id=r[0],
                name=r[1],
                type=r[2],
                level=r[3],
                region={"province": r[4], "city": r[5], "county": r[6]},
                reports=r[7],
                years=sorted(int(y) for y in (r[8] or "").split(",") if y),
            )
            for r in rows
        ]


def _fields(data: dict[str, Any], scope: str | None) -> list[tuple[str, str]]:
    """The (section, original text) pairs a query searched, in display order, from a document's dict."""
    title = data.get("title") or ""
    if scope == SCOPE_TITLE:
        return [(SCOPE_TITLE, title)]
    texts: dict[str, list[str]] = {}
    for section in data.get("sections") or ():
        texts.setdefault(section.get("key", ""), []).append(section.get("text") or "")
    if scope:
        return [(scope, "\n".join(texts.get(scope, ())))]
    return [(SCOPE_TITLE, title), *((k, "\n".join(texts[k])) for k in SECTION_KEYS if k in texts)]


def _remove_abandoned_rebuilds(path: Path) -> None:
    """Delete the files of rebuilds whose process is gone (a killed ``nianbao reindex`` leaves them behind)."""
    prefix = f"{path.name}{REBUILD_INFIX}"
    for leftover in path.parent.glob(f"{glob.escape(prefix)}*"):
        pid_text = re.match(r"\d+", leftover.name[len(prefix) :])
        if pid_text is None or _alive(int(pid_text.group())):
            continue
        log.info("removing %s, left by an interrupted rebuild", leftover)
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _unlink_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal", SAVED_COLUMNS_SUFFIX):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def _checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise sqlite3.OperationalError(f"{path} is still in use; its WAL cannot be folded in")
    finally:
        conn.close()


def _retire_wal(path: Path) -> None:
    """Fold the WAL into the old file and leave WAL mode, so no stale -wal can meet the replacement."""
    if not path.exists():
        return
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:  # another process still reads it; it keeps its snapshot
        log.warning("could not leave WAL mode on %s before replacing it: %s", path, exc)
    finally:
        conn.close()
