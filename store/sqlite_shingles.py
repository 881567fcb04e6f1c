"""Report bitmaps of frequent ideograph n-grams ("shingles"): exact answers for common phrases at FTS5-free speed.

Why: FTS5 hands matching rowids to SQLite's VM at ~100 ns a row and checks the positions of every token
of a phrase, so a phrase in most reports (依申请公开 is in ~90% of them) costs 0.3–0.7 s at a million
reports. Under the matching contract (``store.analysis``) an unscoped query term made of ideographs only
matches a report exactly when that string occurs inside one ideograph run of one of its fields. When the
string is a *frequent* n-gram (1..MAX_N ideographs), the set of reports containing it is kept here as a
bitmap, read in a millisecond or two.

* **Vocabulary**: learnt once, at the first commit that finds ``chunk_rows`` reports, from a sample of
  them: the n-grams found in at least ``min_df`` of them (levelwise: an n-gram is a candidate only if its
  (n-1)-prefix is frequent). Level n is a sorted array of codes ``prefix_id * 2**16 + last character``
  (every ideograph of the contract is in the BMP), so whole batches of texts are matched with one
  vectorised hash look-up per level (``store.code_index``).
* **Chunks**: rowids are cut into chunks of ``chunk_rows``; a chunk's bitmaps are stored deduplicated
  (n-grams found in the same reports share one bitmap).
* **Current at every commit**: in each write transaction the writer sets the bits of the rows it writes
  (clearing those of rewritten and deleted rows) in the chunks they fall in, and stores those chunks
  before it commits; rows written before there was a vocabulary are read from their documents then.
  So every committed row below ``covered`` (all of them, once there is a vocabulary) is answered by the
  bitmaps, and FTS5 only answers the rest (``store.sqlite_match``). That is also why FTS5 needs no
  prefix index: a one-ideograph query is a frequent 1-gram here, or a rare character whose few bigrams
  FTS5 merges quickly. The bitmaps are derived data: ``nianbao reindex`` rebuilds them with the rest.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from store import analysis
from store.code_index import CodeIndex

MAX_N = 12  # longest n-gram with a bitmap; longer terms are answered by FTS5
CHUNK_ROWS = 8192  # rowids per chunk: the writer holds vocabulary × chunk_rows / 8 bytes per chunk it changes
SAMPLE_REPORTS = 1000  # reports of the first chunk the vocabulary is learnt from
MIN_DF_SHARE = 0.01  # an n-gram is frequent when at least this share of the sample contains it…
MIN_DF = 3  # …and at least this many reports
MAX_VOCAB = 40_000  # cap on frequent n-grams (the writer holds vocabulary × chunk_rows / 8 bytes)
# Until there is a vocabulary the writer keeps the texts it was sent (at most this many characters), so that
# learning it and finding the n-grams of the rows written before do not read every one of them back from its
# document (decompress, parse, normalise: most of the first 10k reports' indexing time).
EARLY_TEXT_CHARS = 32 * 1024 * 1024
SEPARATOR = "\x00"  # joins a report's fields: not an ideograph, so no n-gram spans two fields

# Texts of some rows, normalised and joined with SEPARATOR: how the store hands stored documents over.
TextsOf = Callable[[sqlite3.Connection, list[int]], list[str]]
# The distinct n-gram ids of each text (``Vocabulary.ids_per_text``, possibly run in helper processes).
FindIds = Callable[[list[str], "Vocabulary"], list[np.ndarray]]


def _ideograph_table() -> np.ndarray:
    """bool per BMP code point: is it an ideograph of the contract (parsed from ``analysis._CJK``)."""
    table = np.zeros(0x10000, dtype=bool)
    spec, i = analysis._CJK, 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            table[ord(spec[i]) : ord(spec[i + 2]) + 1] = True
            i += 3
        else:
            table[ord(spec[i])] = True
            i += 1
    return table


_IS_IDEOGRAPH = _ideograph_table()


IDS_TEXTS = 250  # texts whose n-grams are found at once
_SET_BYTES = 64  # bytes (rows / 8) of a chunk's bits set at a time: a boolean matrix of vocabulary × 512 rows


def _chars(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Code points of the texts joined by SEPARATOR, the text each position belongs to, and ideograph mask."""
    joined = SEPARATOR.join(texts)
    chars = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)[: len(chars)]
    ideograph = np.zeros(len(chars), dtype=bool)
    bmp = chars < 0x10000
    ideograph[bmp] = _IS_IDEOGRAPH[chars[bmp]]
    return chars, owner, ideograph


def _extend(
    chars: np.ndarray, ideograph: np.ndarray, pos: np.ndarray, local: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """From the (n-1)-grams starting at ``pos`` (ids ``local`` in their level) to the n-grams: the starts
    whose n-th character is an ideograph, and the n-grams' codes (prefix id × 2**16 + last character)."""
    nxt = pos + (n - 1)
    ok = nxt < len(chars)
    ok[ok] = ideograph[nxt[ok]]
    return pos[ok], local[ok] * 0x10000 + chars[nxt[ok]]


def distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sorting beats numpy's hash-based ``unique`` on these many-duplicate arrays)."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if values.size else values


def _set_bits(bits: np.ndarray, offsets: np.ndarray, ids: np.ndarray) -> None:
    """Set the bit of each (row offset in the chunk, n-gram id) pair in a chunk's bits (little bit order).

    The bytes the rows fall in are filled as a boolean matrix and packed at once (a batch is mostly
    consecutive rows: a few MB, several times faster than ``np.bitwise_or.at`` on the bytes)."""
    if not offsets.size:
        return
    first = int(offsets.min()) >> 3
    span = (int(offsets.max()) >> 3) - first + 1
    for start in range(0, span, _SET_BYTES):
        width = min(_SET_BYTES, span - start)
        base = (first + start) << 3
        sel = (offsets >= base) & (offsets < base + (width << 3))
        if not sel.any():
            continue
        present = np.zeros((bits.shape[0], width << 3), dtype=bool)
        present[ids[sel], offsets[sel] - base] = True
        bits[:, first + start : first + start + width] |= np.packbits(present, axis=1, bitorder="little")


@dataclass(slots=True)
class Ngrams:
    """The frequent n-grams of one text, found ahead of writing (by a preparation process)."""

    vocabulary: int  # digest of the vocabulary the ids belong to
    ids: np.ndarray

    def __reduce__(self) -> tuple[Callable[..., Ngrams], tuple[int, bytes, str]]:
        return _ngrams, (self.vocabulary, self.ids.tobytes(), self.ids.dtype.str)  # raw bytes: cheaper than an array


def _ngrams(vocabulary: int, ids: bytes, dtype: str) -> Ngrams:
    return Ngrams(vocabulary, np.frombuffer(ids, dtype=dtype))


@dataclass(slots=True)
class Vocabulary:
    levels: list[np.ndarray]  # levels[n - 1]: sorted int64 codes of the frequent n-grams
    offsets: np.ndarray = field(init=False)  # global id of each level's first n-gram
    digest: int = field(init=False)  # tells vocabularies apart (ids found with another are not used)
    _indexes: list[CodeIndex] | None = field(init=False, default=None, repr=False, compare=False)
    # code → local id per level, for looking up one query term (a numpy call per character cost ~5 µs each)
    _dicts: list[dict[int, int]] | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.offsets = np.concatenate([[0], np.cumsum([len(lv) for lv in self.levels])]).astype(np.int64)
        self.digest = zlib.crc32(b"".join(level.tobytes() + b"|" for level in self.levels))

    def __reduce__(self) -> tuple[type[Vocabulary], tuple[list[np.ndarray]]]:
        # Sent to a helper process with every batch: the levels alone (the look-up tables are rebuilt there).
        return Vocabulary, (self.levels,)

    def _find(self, n: int, codes: np.ndarray) -> np.ndarray:
        """Local id in level ``n`` of each code, or -1."""
        if self._indexes is None:
            self._indexes = [CodeIndex(level) for level in self.levels]
        return self._indexes[n - 1].find(codes)

    @property
    def size(self) -> int:
        return int(self.offsets[-1])

    def lookup(self, run: str) -> int | None:
        """Global id of a run of ideographs, or None when it is not a frequent n-gram."""
        if not 1 <= len(run) <= len(self.levels):
            return None
        if self._dicts is None:
            self._dicts = [dict(zip(level.tolist(), range(len(level)), strict=True)) for level in self.levels]
        local = -1
        for n, ch in enumerate(run, 1):
            code = ord(ch) if n == 1 else local * 0x10000 + ord(ch)
            if code >= 0x10000 and n == 1:
                return None
            local = self._dicts[n - 1].get(code, -1)
            if local < 0:
                return None
        return int(self.offsets[len(run) - 1] + local)

    def pairs(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(text index, global id) of every frequent n-gram occurrence in the texts (a pair repeats when the
        n-gram occurs again: setting bits does not mind, and deduplicating would cost more than it saves)."""
        if not texts or not self.size:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        chars, owner, ideograph = _chars(texts)
        pos = np.flatnonzero(ideograph)
        codes = chars[pos]
        local = np.empty(0, dtype=np.int64)
        found_owner: list[np.ndarray] = []
        found_id: list[np.ndarray] = []
        for n in range(1, len(self.levels) + 1):
            if n > 1:
                pos, codes = _extend(chars, ideograph, pos, local, n)
            local = self._find(n, codes)
            hit = local >= 0
            pos, local = pos[hit], local[hit]
            if not pos.size:
                break
            found_owner.append(owner[pos])
            found_id.append(local + self.offsets[n - 1])
        if not found_owner:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate(found_owner), np.concatenate(found_id)

    def ids_per_text(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Each text's distinct n-gram ids, ascending (16 bits: small to send, fewer bits for the writer to set)."""
        if len(texts) > IDS_TEXTS:  # bounded memory: ``pairs`` holds an entry per n-gram occurrence
            return [ids for i in range(0, len(texts), IDS_TEXTS) for ids in self.ids_per_text(texts[i : i + IDS_TEXTS])]
        if not texts:
            return []
        which, ids = self.pairs(texts)
        # Flat text × vocabulary flags (a few MB: cheaper than sorting pairs; 1-D: 2.5× faster than 2-D nonzero)
        present = np.zeros(len(texts) * self.size, dtype=bool)
        present[which * self.size + ids] = True
        flat = np.flatnonzero(present)  # by text, then id
        bounds = np.searchsorted(flat, np.arange(1, len(texts)) * self.size)
        dtype = np.uint16 if self.size <= 0x10000 else np.int32  # MAX_VOCAB fits 16 bits: half the bytes to send
        return np.split((flat % max(self.size, 1)).astype(dtype), bounds)

    def to_rows(self) -> list[tuple[int, bytes]]:
        return [(n, level.tobytes()) for n, level in enumerate(self.levels, 1)]

    @classmethod
    def from_rows(cls, rows: list[tuple[int, bytes]]) -> Vocabulary:
        return cls([np.frombuffer(blob, dtype=np.int64) for _, blob in sorted(rows)])


def learn(texts: Sequence[str], min_df: int, max_n: int = MAX_N, max_vocab: int = MAX_VOCAB) -> Vocabulary:
    """The n-grams (1..max_n ideographs) in at least ``min_df`` of ``texts``, levelwise; the threshold rises
    until the vocabulary fits ``max_vocab``."""
    while True:
        vocab = _learn(texts, min_df, max_n)
        if vocab.size <= max_vocab:
            return vocab
        min_df = max(min_df + 1, int(min_df * 1.5))


def _learn(texts: Sequence[str], min_df: int, max_n: int) -> Vocabulary:
    chars, owner, ideograph = _chars(texts)
    pos = np.flatnonzero(ideograph)
    codes = chars[pos]
    levels: list[np.ndarray] = []
    local = np.empty(0, dtype=np.int64)
    for n in range(1, max_n + 1):
        if n > 1:
            pos, codes = _extend(chars, ideograph, pos, local, n)
        # document frequency of each code: each (code, text) pair counted once
        pairs = distinct(codes * len(texts) + owner[pos])
        uniq, df = np.unique(pairs // len(texts), return_counts=True)  # already sorted: a cheap pass
        level = uniq[df >= min_df]
        if not level.size:
            break
        levels.append(level)
        local = CodeIndex(level).find(codes)
        keep = local >= 0
        pos, local = pos[keep], local[keep]
    return Vocabulary(levels)


class ShingleIndex:
    """The shingle tables of one store file: brought up to date by the writer in each write transaction,
    read by searches."""

    def __init__(self, conn: sqlite3.Connection, chunk_rows: int = CHUNK_ROWS, min_df: int | None = None) -> None:
        if chunk_rows < 8 or chunk_rows % 8:
            raise ValueError(f"shingle chunks hold a multiple of 8 rows, not {chunk_rows}")
        create(conn)
        stored = conn.execute("SELECT value FROM meta WHERE key = 'shingle_chunk'").fetchone()
        if stored is None:
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('shingle_chunk', ?)", (str(chunk_rows),))
            stored = (str(chunk_rows),)
        self.chunk_rows = int(stored[0])  # fixed per file
        self.min_df = min_df
        self.vocab: Vocabulary | None = None
        # The writer's state. Bits of the chunks this transaction changed (vocabulary × chunk_rows / 8 bytes
        # each), the rows it brought, and the last chunk as this process last stored it (reused while no
        # other process writes: see ``forget_cached``).
        self._work: dict[int, np.ndarray] = {}
        self._touched: set[int] = set()
        self._last: tuple[int, np.ndarray] | None = None
        self._early: dict[int, str] = {}  # rowid → text of rows written while there was no vocabulary
        self._early_chars = 0
        self._load_vocab(conn)

    def _load_vocab(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute("SELECT n, codes FROM shingle_vocab").fetchall()
        self.vocab = Vocabulary.from_rows(rows) if rows else None

    @staticmethod
    def covered(conn: sqlite3.Connection) -> int:
        """Rowids below this are answered by the bitmaps (0 until there is a vocabulary)."""
        row = conn.execute("SELECT value FROM meta WHERE key = 'shingle_covered'").fetchone()
        return int(row[0]) if row else 0

    # -- writer (inside its write transaction) -----------------------------------------------------

    def forget_cached(self) -> None:
        """Another process wrote: the bits this one kept of the last chunk may be stale (and the texts kept of
        rows written before there was a vocabulary: it may have rewritten them)."""
        self._last = None
        self._forget_early()

    def discard(self) -> None:
        """The write transaction was rolled back."""
        self._work.clear()
        self._touched.clear()
        self._last = None
        self._forget_early()

    def _forget_early(self) -> None:
        self._early.clear()
        self._early_chars = 0

    def _keep_early(self, rows: Sequence[tuple[int, str | None, Ngrams | None]]) -> None:
        """No vocabulary yet: keep the rows' texts (within EARLY_TEXT_CHARS) for when it is learnt."""
        for rowid, text, _ in rows:
            old = self._early.pop(rowid, None)
            self._early_chars -= len(old) if old is not None else 0
            if text and self._early_chars + len(text) <= EARLY_TEXT_CHARS:
                self._early[rowid] = text
                self._early_chars += len(text)

    def _texts(self, conn: sqlite3.Connection, rowids: list[int], texts_of: TextsOf) -> list[str]:
        """Texts of stored rows: kept ones, else read from their documents."""
        unread = [r for r in rowids if r not in self._early]
        read = dict(zip(unread, texts_of(conn, unread), strict=True)) if unread else {}
        return [self._early[r] if r in self._early else read[r] for r in rowids]

    def written(
        self, conn: sqlite3.Connection, rows: Sequence[tuple[int, str | None, Ngrams | None]], texts_of: TextsOf
    ) -> None:
        """Rows just written with their new text (and its n-grams when already found: ``text`` may then be
        empty), or None when deleted."""
        if self.vocab is None:
            self._load_vocab(conn)  # another process may have learnt it
        if self.vocab is None:
            self._keep_early(rows)
        if self.vocab is None or not rows:
            return  # ``update`` finds the n-grams of every row once there is a vocabulary
        digest = self.vocab.digest
        known = [(r, n.ids) for r, t, n in rows if t is not None and n is not None and n.vocabulary == digest]
        todo = [(r, t) for r, t, n in rows if t is not None and (n is None or n.vocabulary != digest)]
        unread = [r for r, t in todo if not t]  # n-grams found with another vocabulary, and no text sent along
        texts = dict(zip(unread, self._texts(conn, unread, texts_of), strict=True)) if unread else {}
        which, found = self.vocab.pairs([t or texts[r] for r, t in todo])
        rowids = np.concatenate(
            [
                np.repeat(np.array([r for r, _ in known], dtype=np.int64), [len(i) for _, i in known]),
                np.array([r for r, _ in todo], dtype=np.int64)[which],
            ]
        )
        ids = np.concatenate([*(i for _, i in known), found]).astype(np.int64)
        changed = np.array([r for r, _, _ in rows], dtype=np.int64)
        for chunk in range(int(changed.min()) // self.chunk_rows, int(changed.max()) // self.chunk_rows + 1):
            lo = chunk * self.chunk_rows
            inside = (changed >= lo) & (changed < lo + self.chunk_rows)
            if not inside.any():
                continue
            bits = self._bits(conn, chunk)
            cleared = np.zeros(self.chunk_rows, dtype=bool)  # old bits of rewritten and deleted rows go
            cleared[changed[inside] - lo] = True
            bits &= ~np.packbits(cleared, bitorder="little")
            sel = (rowids >= lo) & (rowids < lo + self.chunk_rows)
            _set_bits(bits, rowids[sel] - lo, ids[sel])
        self._touched.update(changed.tolist())

    def update(self, conn: sqlite3.Connection, texts_of: TextsOf, find: FindIds | None = None) -> None:
        """Before the writer commits: store the chunks it changed, so the bitmaps cover every row. ``find`` finds
        the n-grams of rows written before there was a vocabulary (the store runs it in its helper processes)."""
        try:
            last = conn.execute("SELECT max(rowid) FROM reports").fetchone()[0] or 0
            if self.vocab is None:
                self._load_vocab(conn)
            if self.vocab is None:
                if last < self.chunk_rows:
                    return  # too few reports to learn a vocabulary from: FTS5 answers every query
                first = [r for (r,) in conn.execute("SELECT rowid FROM reports WHERE rowid < ?", (self.chunk_rows,))]
                self._learn(conn, first, texts_of)
            covered = self.covered(conn)
            # Rows no batch brought here (written before there was a vocabulary): kept texts, else their documents.
            missing = [
                r
                for (r,) in conn.execute("SELECT rowid FROM reports WHERE rowid >= ?", (covered,))
                if r not in self._touched
            ]
            vocab = self.vocab
            for start in range(0, len(missing), 1000):
                part = missing[start : start + 1000]
                texts = self._texts(conn, part, texts_of)
                found = find(texts, vocab) if find is not None else vocab.ids_per_text(texts)
                rows = [(r, "", Ngrams(vocab.digest, ids)) for r, ids in zip(part, found, strict=True)]
                self.written(conn, rows, texts_of)
            self._forget_early()
            for chunk, bits in sorted(self._work.items()):
                self._store(conn, chunk, bits)
            if self._work:
                chunk = max(self._work)
                self._last = (chunk, self._work[chunk])
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('shingle_covered', ?)", (str(max(covered, last + 1)),)
            )
        finally:
            self._work.clear()
            self._touched.clear()

    def _bits(self, conn: sqlite3.Connection, chunk: int) -> np.ndarray:
        """The chunk's bits for this transaction to change: as this process last stored them, or as stored."""
        bits = self._work.get(chunk)
        if bits is None:
            cached = self._last[1] if self._last is not None and self._last[0] == chunk else None
            bits = self._work[chunk] = cached if cached is not None else self._load(conn, chunk)
        return bits

    def _load(self, conn: sqlite3.Connection, chunk: int) -> np.ndarray:
        assert self.vocab is not None
        bits = np.zeros((self.vocab.size, self.chunk_rows >> 3), dtype=np.uint8)
        sets = {
            set_id: np.frombuffer(zlib.decompress(blob), dtype=np.uint8)
            for set_id, blob in conn.execute("SELECT id, bits FROM shingle_sets WHERE chunk = ?", (chunk,))
        }
        for ngram, set_id in conn.execute("SELECT ngram, set_id FROM shingle_map WHERE chunk = ?", (chunk,)):
            bits[ngram] = sets[set_id]
        return bits

    def _store(self, conn: sqlite3.Connection, chunk: int, bits: np.ndarray) -> None:
        conn.execute("DELETE FROM shingle_sets WHERE chunk = ?", (chunk,))
        conn.execute("DELETE FROM shingle_map WHERE chunk = ?", (chunk,))
        set_ids: dict[bytes, int] = {}  # n-grams in the same reports share one stored bitmap
        sets: list[tuple[int, int, bytes]] = []
        mapping: list[tuple[int, int, int]] = []
        for ngram in np.flatnonzero(bits.any(axis=1)).tolist():
            row = bits[ngram].tobytes()
            set_id = set_ids.setdefault(row, len(set_ids))
            if set_id == len(sets):
                sets.append((chunk, set_id, zlib.compress(row, 1)))
            mapping.append((ngram, chunk, set_id))
        conn.executemany("INSERT INTO shingle_sets (chunk, id, bits) VALUES (?, ?, ?)", sets)
        conn.executemany("INSERT INTO shingle_map (ngram, chunk, set_id) VALUES (?, ?, ?)", mapping)

    def _learn(self, conn: sqlite3.Connection, present: list[int], texts_of: TextsOf) -> None:
        step = max(1, len(present) // SAMPLE_REPORTS)
        sample = present[::step][:SAMPLE_REPORTS]
        texts: list[str] = []
        for start in range(0, len(sample), 500):
            texts.extend(self._texts(conn, sample[start : start + 500], texts_of))
        min_df = self.min_df if self.min_df is not None else max(MIN_DF, round(MIN_DF_SHARE * len(texts)))
        self.vocab = learn(texts, min_df)
        conn.execute("DELETE FROM shingle_vocab")
        conn.executemany("INSERT INTO shingle_vocab (n, codes) VALUES (?, ?)", self.vocab.to_rows())

    # -- readers -----------------------------------------------------------------------------------

    def ensure_vocab(self, conn: sqlite3.Connection) -> Vocabulary | None:
        if self.vocab is None and self.covered(conn):
            self._load_vocab(conn)
        return self.vocab

    def lookup(self, conn: sqlite3.Connection, run: str) -> int | None:
        vocab = self.ensure_vocab(conn)
        return vocab.lookup(run) if vocab is not None else None

    def rowids(self, conn: sqlite3.Connection, ngram: int) -> np.ndarray:
        """Rowids (below ``covered``) whose reports contain the n-gram."""
        rows = conn.execute(
            "SELECT m.chunk, s.bits FROM shingle_map m JOIN shingle_sets s ON s.chunk = m.chunk AND s.id = m.set_id"
            " WHERE m.ngram = ? ORDER BY m.chunk",
            (ngram,),
        ).fetchall()
        if not rows:
            return np.empty(0, dtype=np.int64)
        width = self.chunk_rows >> 3
        bits = np.zeros((rows[-1][0] + 1) * width, dtype=np.uint8)  # all chunks side by side: one unpack
        for chunk, blob in rows:
            bits[chunk * width : (chunk + 1) * width] = np.frombuffer(zlib.decompress(blob), dtype=np.uint8)
        return np.flatnonzero(np.unpackbits(bits, bitorder="little")).astype(np.int64, copy=False)


def create(conn: sqlite3.Connection) -> None:
    conn.executescript(
        """
        CREATE TABLE IF NOT EXISTS shingle_vocab (n INTEGER PRIMARY KEY, codes BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS shingle_sets (
            chunk INTEGER NOT NULL, id INTEGER NOT NULL, bits BLOB NOT NULL, PRIMARY KEY (chunk, id)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS shingle_map (
            ngram INTEGER NOT NULL, chunk INTEGER NOT NULL, set_id INTEGER NOT NULL, PRIMARY KEY (ngram, chunk)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS shingle_map_chunk ON shingle_map (chunk);
        """
    )
