"""Banded LSH over MinHash signatures with capped buckets: candidate pairs without comparing all pairs.

Why not ``datasketch.MinHashLSH`` itself: annual reports are boilerplate-heavy, so in a real corpus whole
years of reports share bands, and an uncapped bucket returns thousands of candidates per query, which is
quadratic. Here each bucket keeps at most ``cap`` members (the first by key, so the result does not depend
on the order the store yields documents); a report in a crowded bucket is compared with some of the many
near-identical members, which is what the ratio needs. A bucket on the whole signature finds exact copies
before anything else. Signatures come from ``datasketch.MinHash`` (``insights.shingles``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from itertools import chain

import numpy as np

BANDS = 32  # of 2 rows each (64 permutations): pairs from Jaccard ≈ 0.2 up usually collide in some band
BUCKET_CAP = 16
MAX_CANDIDATES = 8  # candidates, by estimated Jaccard, whose exact overlap is computed


class CappedLSH:
    def __init__(self, num_perm: int, bands: int = BANDS, cap: int = BUCKET_CAP) -> None:
        if num_perm % bands:
            raise ValueError(f"num_perm {num_perm} is not a multiple of bands {bands}")
        self.rows = num_perm // bands
        self.bands = bands
        self.cap = cap
        self._buckets: dict[tuple[Hashable, int, bytes], list[int]] = {}

    def _keys(self, group: Hashable, sig: np.ndarray) -> Iterator[tuple[Hashable, int, bytes]]:
        yield group, -1, sig.tobytes()  # the whole signature: exact (or near-exact) copies
        for b in range(self.bands):
            yield group, b, sig[b * self.rows : (b + 1) * self.rows].tobytes()

    def insert(self, group: Hashable, item: int, sig: np.ndarray) -> None:
        """Insert ``item`` (an index into the caller's arrays); call in a deterministic order."""
        for key in self._keys(group, sig):
            members = self._buckets.setdefault(key, [])
            if len(members) < self.cap:
                members.append(item)

    def candidates(self, group: Hashable, sig: np.ndarray) -> np.ndarray:
        """Items sharing a bucket with ``sig`` in ``group`` (sorted, unique)."""
        found = [members for key in self._keys(group, sig) if (members := self._buckets.get(key))]
        if not found:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.fromiter(chain.from_iterable(found), dtype=np.int64))


def best_by_estimate(sigs: np.ndarray, item: int, others: np.ndarray, keep: int = MAX_CANDIDATES) -> list[int]:
    """The ``keep`` candidates whose signatures agree most with ``item``'s (estimated Jaccard), ties by index."""
    if len(others) <= keep:
        return [int(i) for i in np.sort(others)]
    agree = (sigs[others] == sigs[item]).sum(axis=1)
    order = np.lexsort((others, -agree))
    return [int(i) for i in others[order[:keep]]]
