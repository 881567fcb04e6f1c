"""Every report's light record on disk while the insights stage runs, so its memory does not grow with the
corpus: the fields in a temporary SQLite file, shingle hashes and MinHash signatures in flat files read back
with ``pread`` (the operating system keeps what fits in its page cache; mapped, the pages read would count
in the process's resident size: gigabytes of shingles at a million reports).

What stays in the heap is a few arrays of fixed width per report (position, shingle offset and length,
year, publisher: ≈ 40 bytes) and one node per agency; the stage reads records back in the order it needs
(a publisher's reports together, one year's signatures together) from the file.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import tempfile
from array import array
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from insights.records import Record
from insights.shingles import NUM_PERM

_EMPTY = np.empty(0, dtype=np.uint32)
_WRITE_ROWS = 1000  # records per INSERT batch
READ_ROWS = 500  # records per SELECT … IN (…)
SIGNATURE_ROWS = 16384  # signatures per read (4 MiB)


class RecordSpill:
    """Append records with ``put``, then ``seal`` once; read them back by position (insertion order)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="nianbao-insights-")
        root = Path(self._dir.name)
        self._db = sqlite3.connect(root / "records.sqlite3", isolation_level=None)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -16000", "temp_store = FILE"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute(
            "CREATE TABLE rec (pos INTEGER PRIMARY KEY, id TEXT NOT NULL, agency_id TEXT NOT NULL, "
            "agency_name TEXT NOT NULL, province TEXT, city TEXT, county TEXT, title TEXT NOT NULL, data BLOB)"
        )
        self._shingle_file = open(root / "shingles.u32", "wb")  # noqa: SIM115 (closed by seal/close)
        self._sig_file = open(root / "signatures.u32", "wb")  # noqa: SIM115
        self._shingle_paths = root / "shingles.u32", root / "signatures.u32"
        self._rows: list[tuple[Any, ...]] = []
        self._offsets = array("q", [0])  # shingles of record k: items offsets[k] … offsets[k + 1]
        self.years = array("i")  # 0: no year
        self._shingle_fd = self._sig_fd = -1

    def __len__(self) -> int:
        return len(self.years)

    def put(self, record: Record, extra: Any = None) -> None:
        """Append one record (and what the caller wants back with it)."""
        shingles = np.ascontiguousarray(record.shingles, dtype=np.uint32)
        self._shingle_file.write(shingles.tobytes())
        self._sig_file.write(np.ascontiguousarray(record.signature, dtype=np.uint32).tobytes())
        self._offsets.append(self._offsets[-1] + shingles.size)
        self.years.append(record.year if record.year is not None else 0)
        data = (record.year, record.published, record.removed, record.metrics, record.own_checks, extra)
        self._rows.append(
            (len(self) - 1, record.id, record.agency_id, record.agency_name, *record.region,
             record.title, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
        )  # fmt: skip
        if len(self._rows) >= _WRITE_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO rec VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self._rows)
            self._db.execute("COMMIT")
            self._rows.clear()

    def seal(self) -> None:
        """Done appending: open the shingle and signature files for reading."""
        self._flush()
        self._shingle_file.close()
        self._sig_file.close()
        shingle_path, sig_path = self._shingle_paths
        self._shingle_fd = os.open(shingle_path, os.O_RDONLY)
        self._sig_fd = os.open(sig_path, os.O_RDONLY)

    def shingles(self, pos: int) -> np.ndarray:
        start, end = self._offsets[pos], self._offsets[pos + 1]
        if end == start:
            return _EMPTY
        return np.frombuffer(os.pread(self._shingle_fd, (end - start) * 4, start * 4), dtype=np.uint32)

    def signatures(self, positions: np.ndarray) -> np.ndarray:
        """The signatures at these positions (in this order), read in sequential slices of the file."""
        out = np.empty((len(positions), NUM_PERM), dtype=np.uint32)
        order = np.argsort(positions, kind="stable")
        wanted = positions[order]
        row = NUM_PERM * 4
        for lo in range(0, len(self), SIGNATURE_ROWS):
            hi = min(lo + SIGNATURE_ROWS, len(self))
            a, b = np.searchsorted(wanted, [lo, hi])
            if a == b:
                continue
            block = np.frombuffer(os.pread(self._sig_fd, (hi - lo) * row, lo * row), dtype=np.uint32)
            out[order[a:b]] = block.reshape(-1, NUM_PERM)[wanted[a:b] - lo]
        return out

    def has_shingles(self) -> np.ndarray:
        return np.diff(np.frombuffer(self._offsets, dtype=np.int64)) > 0

    def ids_in_order(self) -> np.ndarray:
        """Positions sorted by report id (the order every result is defined in, whatever the store's)."""
        out = np.empty(len(self), dtype=np.int64)
        for k, (pos,) in enumerate(self._db.execute("SELECT pos FROM rec ORDER BY id")):
            out[k] = pos
        return out

    def agencies(self) -> Iterator[tuple[str, str, tuple[str, str, str], int]]:
        """(agency id, name, region, year or 0) of every record with an agency, in report-id order."""
        rows = self._db.execute(
            "SELECT agency_id, agency_name, province, city, county, pos FROM rec WHERE agency_id != '' ORDER BY id"
        )
        for agency_id, name, province, city, county, pos in rows:
            yield agency_id, name, (province, city, county), self.years[pos]

    def agency_of(self) -> Iterator[tuple[int, str]]:
        yield from self._db.execute("SELECT pos, agency_id FROM rec")

    def titles(self, positions: list[int]) -> dict[int, tuple[str, str]]:
        """position → (id, title)."""
        positions = [int(p) for p in positions]
        out: dict[int, tuple[str, str]] = {}
        for start in range(0, len(positions), READ_ROWS):
            chunk = positions[start : start + READ_ROWS]
            sql = f"SELECT pos, id, title FROM rec WHERE pos IN ({', '.join('?' * len(chunk))})"
            out.update((pos, (i, t)) for pos, i, t in self._db.execute(sql, chunk))
        return out

    def records(self, positions: list[int]) -> list[tuple[Record, Any]]:
        """The records at these positions (in this order) with their extras; shingles mapped, no signature."""
        positions = [int(p) for p in positions]  # sqlite3 does not bind numpy integers
        rows: dict[int, tuple[Any, ...]] = {}
        for start in range(0, len(positions), READ_ROWS):
            chunk = positions[start : start + READ_ROWS]
            sql = f"SELECT * FROM rec WHERE pos IN ({', '.join('?' * len(chunk))})"
            rows.update((row[0], row) for row in self._db.execute(sql, chunk))
        out = []
        for pos in positions:
            _, report_id, agency_id, agency_name, province, city, county, title, blob = rows[pos]
            year, published, removed, metrics, own_checks, extra = pickle.loads(blob)
            record = Record(
                report_id, title, agency_id, agency_name, (province, city, county), year, published, removed,
                metrics, own_checks, self.shingles(pos), _EMPTY,
            )  # fmt: skip
            out.append((record, extra))
        return out

    def close(self) -> None:
        for fd in (self._shingle_fd, self._sig_fd):
            if fd >= 0:
                os.close(fd)
        self._shingle_fd = self._sig_fd = -1
        if not self._shingle_file.closed:
            self._shingle_file.close()
        if not self._sig_file.closed:
            self._sig_file.close()
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> RecordSpill:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
