"""Banded LSH over MinHash signatures with capped buckets, as sorted arrays: candidate pairs of one year's
reports without comparing all pairs and without a Python object per bucket.

Why not ``datasketch.MinHashLSH`` itself: annual reports are boilerplate-heavy, so in a real corpus whole
years of reports share bands, and an uncapped bucket returns thousands of candidates per query, which is
quadratic. Here each bucket keeps at most ``cap`` members (the first by index, that is by report id, so
the result does not depend on the order the store yields documents); a report in a crowded bucket is
compared with some of the many near-identical members, which is what the ratio needs. A bucket on the
whole signature finds exact copies before anything else. Signatures come from ``insights.shingles``.

A bucket is a run of equal keys in one sorted ``uint64`` array per band (a band of two 32-bit rows is its
own key; the whole signature is hashed to 64 bits, so two different signatures share that bucket only by a
one-in-2⁶⁴ accident, which can add one candidate and nothing else): 12 bytes per kept member, and the
candidates of many reports are gathered in a few vectorised steps.
"""

from __future__ import annotations

import sys

import numpy as np

BANDS = 32  # of 2 rows each (64 permutations): pairs from Jaccard ≈ 0.2 up usually collide in some band
BUCKET_CAP = 16
MAX_CANDIDATES = 8  # candidates, by estimated Jaccard, whose exact overlap is computed
QUERY_CHUNK = 256  # reports whose candidates are gathered at once (≤ 33 × 16 candidate rows each)

_MULT = np.uint64(0x9E3779B97F4A7C15)


def _band_keys(sigs: np.ndarray, bands: int) -> list[np.ndarray]:
    """One uint64 key per signature for each band (index 0: the whole signature)."""
    rows = sigs.shape[1] // bands
    if rows != 2:
        raise ValueError(f"{sigs.shape[1]} permutations in {bands} bands: bands of 2 rows are expected")
    whole = np.zeros(len(sigs), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in range(sigs.shape[1]):  # column by column: no 64-bit copy of all signatures
            whole = (whole ^ sigs[:, c].astype(np.uint64)) * _MULT
            whole ^= whole >> np.uint64(31)
    pairs = sigs.view(np.uint64) if sys.byteorder == "little" and sigs.flags.c_contiguous else None
    out = [whole]
    for b in range(bands):
        if pairs is not None:  # rows 2b, 2b+1 as one little-endian word: swap the halves to (2b << 32) | 2b+1
            word = pairs[:, b]
            out.append((word << np.uint64(32)) | (word >> np.uint64(32)))
        else:
            out.append((sigs[:, 2 * b].astype(np.uint64) << np.uint64(32)) | sigs[:, 2 * b + 1])
    return out


class ArrayLSH:
    """Capped LSH buckets of one group (a year) of signatures, items numbered 0…n-1 in insertion order."""

    def __init__(self, sigs: np.ndarray, bands: int = BANDS, cap: int = BUCKET_CAP) -> None:
        self.sigs = sigs
        self._keys: list[np.ndarray] = []  # per band: the kept members' keys, sorted
        self._items: list[np.ndarray] = []  # per band: the kept members, in key order then item order
        items = np.arange(len(sigs), dtype=np.int64)
        for keys in _band_keys(sigs, bands):
            order = np.lexsort((items, keys))
            sorted_keys = keys[order]
            starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]) if len(keys) else items
            run_start = np.repeat(starts, np.diff(np.r_[starts, len(keys)]))
            keep = (items - run_start) < cap
            self._keys.append(sorted_keys[keep])
            self._items.append(order[keep].astype(np.int32))

    def candidate_pairs(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query, candidate) pairs: every item sharing a bucket with each query, unique, sorted by both."""
        qs, cs = [], []
        query_keys = _band_keys(self.sigs[queries], len(self._keys) - 1)
        for keys, items, qkeys in zip(self._keys, self._items, query_keys, strict=True):
            lo = np.searchsorted(keys, qkeys, "left")
            counts = np.searchsorted(keys, qkeys, "right") - lo
            total = int(counts.sum())
            if not total:
                continue
            offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
            qs.append(np.repeat(queries, counts))
            cs.append(items[np.repeat(lo, counts) + offsets].astype(np.int64))
        if not qs:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        n = np.int64(len(self.sigs))
        code = np.sort(np.concatenate(qs) * n + np.concatenate(cs))  # sorting beats np.unique's hashing here
        code = code[np.r_[True, code[1:] != code[:-1]]]
        return code // n, code % n


def best_candidates(
    sigs: np.ndarray, q: np.ndarray, c: np.ndarray, keep: int = MAX_CANDIDATES
) -> tuple[np.ndarray, np.ndarray]:
    """Of each query's candidates, the ``keep`` whose signatures agree most with its own (estimated Jaccard),
    ties by index; (query, candidate) pairs sorted by query."""
    if not len(q):
        return q, c
    agree = (sigs[q] == sigs[c]).sum(axis=1)
    order = np.lexsort((c, -agree, q))
    q, c = q[order], c[order]
    starts = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
    rank = np.arange(len(q)) - np.repeat(starts, np.diff(np.r_[starts, len(q)]))
    chosen = rank < keep
    return q[chosen], c[chosen]
