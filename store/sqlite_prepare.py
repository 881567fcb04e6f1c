"""Turning report documents into the rows the SQLite store writes, in this process or in helper processes.

Preparing a report (JSON, compression, normalisation, the FTS5 token stream, its frequent n-grams) is
pure Python and costs more than writing it; on a big run forked helper processes prepare batches while
this process writes them (SQLite runs without the GIL, in the store's writer thread). On two cores that
about doubles indexing throughput.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, fields, is_dataclass
from itertools import chain, islice
from typing import Any

import numpy as np
import orjson

from indexer import catalogue
from indexer.document import SECTION_KEYS, ReportDocument
from store import analysis
from store.doc_codec import DocCodec
from store.sqlite_fts import index_texts_many, normalized_index_text
from store.sqlite_shingles import SEPARATOR, Ngrams, Vocabulary

log = logging.getLogger(__name__)
_PLAIN = DocCodec()  # zstd without a dictionary (the file has none yet, or the caller did not pass it)

BATCH_SIZE = 250  # documents per write transaction (smaller batches: the helpers and the writer overlap more)
# Batches handed to the helpers ahead of the writer: they go on preparing while it commits a transaction
# (seconds, see sqlite_store.COMMIT_ROWS).
AHEAD_BATCHES = 16
IN_PROCESS_BATCHES = 1  # batches prepared here before helper processes start (a one-batch run never starts them)
_METRIC_COLUMNS = {m.key: m.column_name for m in catalogue.metrics()}

PreparedBatch = tuple[list["Prepared"], int, list[str]]  # rows, documents that failed, error messages


@dataclass(slots=True)
class Prepared:
    id: str
    digest: str
    blob: bytes
    report: tuple[Any, ...]  # values for sqlite_schema.REPORT_COLUMNS[2:] (after id, digest)
    metrics: dict[str, float]  # column name → value (non-null only)
    # Each FTS5 column's token stream as UTF-8 (FTS5 reads a blob's bytes as text): the writer's process neither
    # decodes it when it arrives nor encodes it for SQLite.
    fts: tuple[bytes, ...]
    text: str  # the searchable fields, normalised, joined by the shingle SEPARATOR ("" once ``ngrams`` is set)
    ngrams: Ngrams | None = None  # the frequent n-grams in ``text`` (global ids), when a vocabulary was given

    def __reduce__(self) -> tuple[type[Prepared], tuple[Any, ...]]:
        # A flat tuple: pickled several times faster than a slotted dataclass's state (the helpers send every row)
        return Prepared, (self.id, self.digest, self.blob, self.report, self.metrics, self.fts, self.text, self.ngrams)


def normalized_fields(doc: ReportDocument) -> list[str]:
    """The searchable fields (title, then each section) through ``analysis.normalize``."""
    return [analysis.normalize(f) for f in _source_fields(doc)]


def fts_values(doc: ReportDocument) -> tuple[bytes, ...]:
    """``Prepared.fts`` of a document."""
    return tuple(normalized_index_text(f).encode() for f in normalized_fields(doc))


def _plain(obj: Any) -> dict[str, Any]:
    """JSON form of the document's dataclasses (what ``asdict`` gives, without its deep copies)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in fields(obj)}
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _metric_columns(doc: ReportDocument, errors: list[str]) -> dict[str, float]:
    """Column name → value of the known, non-null metrics (comprehensions: this runs for every metric)."""
    given = [(k, v) for k, v in doc.metrics.items() if v is not None]
    bad = [(k, v) for k, v in given if type(v) is not int and (type(v) is not float or not math.isfinite(v))]
    if bad:  # bool, str, NaN: input errors
        raise ValueError(f"metric {bad[0][0]!r} is not a number: {bad[0][1]!r}")
    errors.extend(f"{doc.id}: unknown metric {k!r} not indexed" for k, _ in given if k not in _METRIC_COLUMNS)
    return {_METRIC_COLUMNS[k]: v for k, v in given if k in _METRIC_COLUMNS}


def _source_fields(doc: ReportDocument) -> list[str]:
    """The searchable fields as written (title, then each section): what ``normalized_fields`` normalises."""
    fields = [doc.title or "", *(doc.section_text(k) for k in SECTION_KEYS)]
    if not all(type(f) is str for f in fields):
        raise TypeError("a title or section text is not a string")
    return fields


def prepare_stored(doc: ReportDocument, errors: list[str], codec: DocCodec | None = None) -> Prepared:
    """The rows of a report apart from its text (``fts`` and ``text`` empty)."""
    if not isinstance(doc, ReportDocument):
        raise ValueError(f"not a ReportDocument: {type(doc).__name__}")
    if not doc.id or not isinstance(doc.id, str):
        raise ValueError("document has no id")
    raw = orjson.dumps(doc, default=_plain)  # dataclasses natively: ~10× json.dumps
    metrics = _metric_columns(doc, errors)
    report = (
        doc.title or "",
        doc.agency.name,
        doc.agency.normalized_name,
        doc.agency.id,
        doc.agency.type,
        doc.agency.level,
        doc.region.province,
        doc.region.city,
        doc.region.county,
        doc.year,
        doc.published,
        doc.check_status,
        doc.template,
        doc.source_format,
        " ".join(doc.flags),
        1 if doc.removed else 0,
        doc.provenance.source_id,
    )
    return Prepared(doc.id, digest_of(raw), (codec or _PLAIN).compress(raw), report, metrics, (), "")


def digest_of(raw: bytes) -> str:
    """Of a stored document's JSON: equal digests, same document (a write of it is skipped)."""
    return f"{zlib.crc32(raw)}:{len(raw)}b"  # "b": a byte length (older digests counted characters)


def prepare_batch(
    batch: list[ReportDocument], vocab: Vocabulary | None = None, codec: DocCodec | None = None
) -> PreparedBatch:
    prepared: list[Prepared] = []
    sources: list[list[str]] = []
    errors: list[str] = []
    failed = 0
    for doc in batch:
        try:
            prepared.append(prepare_stored(doc, errors, codec))
            sources.append(_source_fields(doc))
        except (ValueError, TypeError) as exc:
            failed += 1
            errors.append(f"{getattr(doc, 'id', '?') or '?'}: {exc}")
    # (a batch of one, as the indexing pipeline's parse helpers prepare, gains nothing from numpy)
    analysed = index_texts_many(sources) if len(sources) > 1 else None
    if analysed is None:  # one report, or a text holds a separator character: one at a time
        normalized = [[analysis.normalize(f) for f in fields] for fields in sources]
        analysed = (
            [SEPARATOR.join(fields) for fields in normalized],
            [[normalized_index_text(f) for f in fields] for fields in normalized],
        )
    for p, text, fts in zip(prepared, *analysed, strict=True):
        p.text = text
        p.fts = tuple(f.encode() for f in fts)
    if vocab is not None and prepared:
        for p, ids in zip(prepared, vocab.ids_per_text([p.text for p in prepared]), strict=True):
            p.ngrams = Ngrams(vocab.digest, ids)
            p.text = ""  # only needed to find the n-grams
    return prepared, failed, errors


class Preparer:
    """Prepares batches in order: in this process until a run shows it is big (a second batch), then in
    helper processes, which are kept for the store's later runs (a caller indexing in chunks pays the
    start once) and stopped by ``close``.

    Helpers are forked (spawning would re-run the caller's ``__main__``, and a script without a main guard
    would fail); ``quiesce`` is called first so no other thread of ours is inside SQLite when we fork."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False  # no processes here (a sandbox): always prepare in this process
        # As many helpers as cores: this process's own share (SQLite, mostly without the GIL) leaves room.
        self.workers = max(1, os.cpu_count() or 1)

    def batches(
        self,
        docs: Iterable[ReportDocument],
        quiesce: Callable[[], None],
        vocab: Callable[[], Vocabulary | None],
        codec: Callable[[], DocCodec | None] = lambda: None,
    ) -> Iterator[PreparedBatch]:
        batches = _chunks(docs, BATCH_SIZE)
        if self._pool is None:
            for batch in islice(batches, IN_PROCESS_BATCHES):
                yield prepare_batch(batch, vocab(), codec())
        first = next(batches, None)
        if first is None:
            return
        pool = self._start(quiesce)
        if pool is None:
            yield from (prepare_batch(b, vocab(), codec()) for b in chain([first], batches))
            return
        inflight: deque[tuple[list[ReportDocument], Future[PreparedBatch]]] = deque()
        try:
            for batch in chain([first], batches):
                inflight.append((batch, pool.submit(prepare_batch, batch, vocab(), codec())))
                if len(inflight) >= AHEAD_BATCHES:
                    yield _result(*inflight.popleft())
        except Exception:  # reading the documents failed: what was read is still written
            while inflight:
                yield _result(*inflight.popleft())
            raise
        while inflight:
            yield _result(*inflight.popleft())

    def _start(self, quiesce: Callable[[], None]) -> ProcessPoolExecutor | None:
        if self._pool is None and not self._broken:
            quiesce()
            try:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))
            except (OSError, ValueError) as exc:
                log.warning("preparing in this process only: %s", exc)
                self._broken = True
        return self._pool

    def ngram_ids(self, texts: list[str], vocab: Vocabulary) -> list[np.ndarray]:
        """``vocab.ids_per_text(texts)``, in the helper processes when they run (the writer calls this for the
        rows written before there was a vocabulary: the first 8,192 or more of a new index)."""
        pool = self._pool
        parts = [texts[i : i + BATCH_SIZE] for i in range(0, len(texts), BATCH_SIZE)]
        if pool is None or len(parts) < 2:
            return vocab.ids_per_text(texts)
        try:
            futures = [pool.submit(vocab.ids_per_text, part) for part in parts]
            return [ids for f in futures for ids in f.result()]
        except BrokenProcessPool:
            log.warning("a preparation process died; finding n-grams in this process")
            return vocab.ids_per_text(texts)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _chunks(docs: Iterable[ReportDocument], size: int) -> Iterator[list[ReportDocument]]:
    """Lists of ``size`` documents; when reading fails, the documents read so far come first."""
    batch: list[ReportDocument] = []
    try:
        for doc in docs:
            batch.append(doc)
            if len(batch) == size:
                yield batch
                batch = []
    except Exception:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def _result(batch: list[ReportDocument], future: Future[PreparedBatch]) -> PreparedBatch:
    try:
        return future.result()
    except BrokenProcessPool:  # a helper died (memory, a signal): this batch is prepared here instead
        log.warning("a preparation process died; preparing the batch in this process")
        return prepare_batch(batch)  # (its n-grams are found by the writer)
