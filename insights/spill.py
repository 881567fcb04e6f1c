"""Shingle hashes kept in a temporary file (memory-mapped) instead of the heap during a refresh.

They are half of a record's memory (≈ 2 KB per report); mapped from disk, the operating system keeps
what fits in its page cache and the process stays small at a million reports.
"""

from __future__ import annotations

import tempfile
from types import TracebackType

import numpy as np

from insights.records import Record

_EMPTY = np.empty(0, dtype=np.uint32)


class ShingleSpill:
    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="nianbao-shingles-")  # noqa: SIM115 (closed by close())
        self._slots: list[tuple[Record, int, int]] = []
        self._offset = 0  # in items
        self._map: np.memmap | None = None

    def put(self, record: Record) -> None:
        """Move the record's shingles to the file (the record holds an empty array until ``attach``)."""
        arr = np.ascontiguousarray(record.shingles, dtype=np.uint32)
        self._file.write(arr.tobytes())
        self._slots.append((record, self._offset, arr.size))
        self._offset += arr.size
        record.shingles = _EMPTY

    def attach(self) -> None:
        """Give every record a read-only view of its shingles in the mapped file."""
        self._file.flush()
        if self._offset:
            self._map = np.memmap(self._file, dtype=np.uint32, mode="r", shape=(self._offset,))
        for record, start, size in self._slots:
            record.shingles = self._map[start : start + size] if self._map is not None and size else _EMPTY
        self._slots.clear()

    def close(self) -> None:
        self._map = None
        self._file.close()

    def __enter__(self) -> ShingleSpill:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
