"""Where each of many int64 codes stands in a small set of distinct codes: a vectorised hash lookup.

The n-gram vocabulary (``store.sqlite_shingles``) is matched against every ideograph position of every
report it indexes — hundreds of thousands of look-ups per batch. A binary search (``np.searchsorted``)
costs ~40 ns a look-up there (a dozen dependent, cache-missing steps); an open-addressing table with
Fibonacci hashing and linear probing at a load of at most 1/4 answers most look-ups in one gather, and
numpy runs each probing round over all unresolved codes at once.
"""

from __future__ import annotations

import numpy as np

_EMPTY = np.int64(-1)  # codes are non-negative
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / φ: spreads consecutive codes over the table
DENSE_LIMIT = 1 << 16  # keys all below this: a direct table (512 KB) instead of a hash


class CodeIndex:
    """Position of each code in ``keys`` (distinct, non-negative int64), or -1 for codes not in it."""

    __slots__ = ("_bits", "_dense", "_keys", "_values")

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        if keys.size and int(keys.min()) < 0:
            raise ValueError("codes must be non-negative")
        # Small codes (single characters: code points of the BMP) are looked up directly.
        self._dense: np.ndarray | None = None
        if not keys.size or int(keys.max()) < DENSE_LIMIT:
            self._dense = np.full(DENSE_LIMIT, -1, dtype=np.int64)
            self._dense[keys] = np.arange(keys.size)
            return
        self._bits = max(4, int(keys.size * 4 - 1).bit_length())  # at least 4 slots a key
        size = 1 << self._bits
        self._keys = np.full(size, _EMPTY, dtype=np.int64)
        self._values = np.full(size, -1, dtype=np.int64)
        pending = np.arange(keys.size, dtype=np.int64)
        slots = self._slots(keys)
        mask = size - 1
        while pending.size:
            at = slots[pending]
            free = self._keys[at] == _EMPTY
            # One key per free slot this round (the first); the rest probe on: the slot is taken now.
            taken, first = np.unique(at[free], return_index=True)
            winners = pending[free][first]
            self._keys[taken] = keys[winners]
            self._values[taken] = winners
            placed = np.zeros(keys.size, dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slots[pending] = (slots[pending] + 1) & mask

    def _slots(self, codes: np.ndarray) -> np.ndarray:
        hashed = codes.view(np.uint64) * _GOLDEN  # wraps modulo 2**64, as intended
        return (hashed >> np.uint64(64 - self._bits)).view(np.int64)

    def find(self, codes: np.ndarray) -> np.ndarray:
        """Position in ``keys`` of each code, -1 where absent (same answer as a search of sorted keys)."""
        codes = np.asarray(codes, dtype=np.int64)
        if self._dense is not None:
            inside = (codes >= 0) & (codes < DENSE_LIMIT)
            return np.where(inside, self._dense[np.where(inside, codes, 0)], -1)
        slots = self._slots(codes)
        found = self._keys[slots]
        # First round over whole arrays (most codes end here: at their slot, or at an empty one).
        result = np.where(found == codes, self._values[slots], -1)
        pending = np.flatnonzero((result < 0) & (found != _EMPTY))
        mask = (1 << self._bits) - 1
        slots = slots[pending]
        while pending.size:  # codes whose slot holds another code: probe the next slots
            slots = (slots + 1) & mask
            found = self._keys[slots]
            hit = found == codes[pending]
            result[pending[hit]] = self._values[slots[hit]]
            more = ~hit & (found != _EMPTY)
            pending, slots = pending[more], slots[more]
        return result
