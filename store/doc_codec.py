"""How the SQLite store compresses the stored documents (``docs.doc``): zstd with a dictionary of the file's own.

A report's JSON is ~14 KB, most of it the same keys and phrases in every report; zlib (level 1) took ~110 µs
a report to bring it to ~3.5 KB. zstd with a dictionary trained on the file's first batch of reports (stored
in ``doc_dicts`` under the dictionary's id, which each compressed document names in its frame header) takes
~20 µs and leaves ~0.8–1.2 KB, and decompresses in ~10 µs instead of ~50. Documents written before there is a
dictionary are plain zstd frames; files written by earlier versions hold zlib streams, which are still read.
"""

from __future__ import annotations

import sqlite3
import threading
import zlib
from collections.abc import Sequence

import zstandard

LEVEL = 3
DICT_BYTES = 32 * 1024
TRAIN_MIN = 200  # documents a dictionary is trained from (the first batch a writer writes without one)
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

_compressors: dict[int, zstandard.ZstdCompressor] = {}  # per process (helpers too), by dictionary id


class DocCodec:
    """Compresses documents with one dictionary (or none); sent to the preparation helpers with each batch."""

    __slots__ = ("dict_id", "raw")

    def __init__(self, raw: bytes | None = None) -> None:
        self.raw = raw
        self.dict_id = zstandard.ZstdCompressionDict(raw).dict_id() if raw else 0

    def __reduce__(self) -> tuple[type[DocCodec], tuple[bytes | None]]:
        return DocCodec, (self.raw,)

    def compress(self, data: bytes) -> bytes:
        compressor = _compressors.get(self.dict_id)
        if compressor is None:
            dictionary = zstandard.ZstdCompressionDict(self.raw) if self.raw else None
            compressor = _compressors[self.dict_id] = zstandard.ZstdCompressor(level=LEVEL, dict_data=dictionary)
        return compressor.compress(data)


def train(samples: Sequence[bytes]) -> DocCodec | None:
    """A codec with a dictionary trained on the samples, or None when there are too few to train one."""
    if len(samples) < TRAIN_MIN:
        return None
    try:
        return DocCodec(zstandard.train_dictionary(DICT_BYTES, list(samples)).as_bytes())
    except zstandard.ZstdError:  # samples too alike or too small: documents stay plain zstd frames
        return None


class DocReader:
    """Decompresses the documents of one file, whatever they were written with; loads dictionaries on first
    use. Safe to share between threads (a zstd decompression context is not: one per thread)."""

    def __init__(self) -> None:
        self._dicts: dict[int, zstandard.ZstdCompressionDict | None] = {0: None}
        self._local = threading.local()

    def decompress(self, conn: sqlite3.Connection, blob: bytes) -> bytes:
        if blob[:4] != _ZSTD_MAGIC:
            return zlib.decompress(blob)  # written before zstd
        dict_id = zstandard.get_frame_parameters(blob).dict_id
        contexts: dict[int, zstandard.ZstdDecompressor] = self._local.__dict__.setdefault("contexts", {})
        context = contexts.get(dict_id)
        if context is None:
            if dict_id not in self._dicts:
                row = conn.execute("SELECT dict FROM doc_dicts WHERE id = ?", (dict_id,)).fetchone()
                if row is None:
                    raise ValueError(f"document compressed with dictionary {dict_id}, which the file does not hold")
                self._dicts[dict_id] = zstandard.ZstdCompressionDict(row[0])
            context = contexts[dict_id] = zstandard.ZstdDecompressor(dict_data=self._dicts[dict_id])
        return context.decompress(blob)


def create(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS doc_dicts (id INTEGER PRIMARY KEY, dict BLOB NOT NULL)")


def stored(conn: sqlite3.Connection) -> DocCodec | None:
    """The file's dictionary (the first one stored: a file has one unless writers raced), if any."""
    row = conn.execute("SELECT dict FROM doc_dicts ORDER BY rowid LIMIT 1").fetchone()
    return DocCodec(row[0]) if row else None


def store(conn: sqlite3.Connection, codec: DocCodec) -> None:
    conn.execute("INSERT OR IGNORE INTO doc_dicts (id, dict) VALUES (?, ?)", (codec.dict_id, codec.raw))
