"""A report's narrative as a set of character shingles, and its MinHash signature (datasketch).

Copied text is measured on the narrative only: 一、总体情况 (with its five items), 五、存在的主要问题
and 六、其他需要报告的事项. The table sections repeat the template's labels in every report and would
make everything look copied. Digits, punctuation and spaces are dropped before shingling, so a text
copied with only the year and the figures updated still counts as copied.
"""

from __future__ import annotations

import re

import numpy as np
from datasketch import MinHash
from datasketch.minhash import _fmix  # the scheme's pre-mix: signatures computed here equal update_batch's

from indexer.document import ReportDocument

SHINGLE = 5  # characters per shingle: long enough that shared shingles mean shared phrasing in Chinese
NUM_PERM = 64  # MinHash permutations (signature length)
SEED = 20240131
NARRATIVE_SECTIONS = ("overview", "problems", "other")  # plus every "overview.*" item

_DROP = re.compile(r"[^\w]|[\d_]", re.UNICODE)
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int)  # shared permutations; copies are cheap
_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier (golden ratio) for the rolling shingle hash


def narrative(doc: ReportDocument) -> str:
    parts = [s.text for s in doc.sections if s.key in NARRATIVE_SECTIONS or s.key.startswith("overview.")]
    return "\n".join(parts)


def normalize(text: str) -> str:
    return _DROP.sub("", text)


def shingle_hashes(text: str) -> np.ndarray:
    """Sorted unique 32-bit hashes of the normalised text's ``SHINGLE``-character substrings.

    Vectorised polynomial hash over the code points: deterministic across processes (unlike ``hash``).
    """
    chars = normalize(text)
    if len(chars) < SHINGLE:
        return np.empty(0, dtype=np.uint32)
    codes = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(codes) - SHINGLE + 1
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(SHINGLE):
            h = h * _MULT + codes[j : j + n] + np.uint64(1)
        h ^= h >> np.uint64(29)
        h *= _MULT
    h = np.sort((h >> np.uint64(32)).astype(np.uint32))  # sorted unique: sorting is ~5× faster than np.unique here
    return h[np.r_[True, h[1:] != h[:-1]]]


def signature(hashes: np.ndarray) -> np.ndarray:
    """The MinHash signature (``NUM_PERM`` uint32) of a shingle set; all-max for an empty set."""
    if not hashes.size:
        return _TEMPLATE.hashvalues.astype(np.uint32)
    if _TEMPLATE.scheme != "affine32":  # the vectorised form below is that scheme's update_batch
        m = _TEMPLATE.copy()
        m.update_batch(hashes.tolist())
        return m.hashvalues.astype(np.uint32, copy=False)
    a, b = _TEMPLATE.permutations
    with np.errstate(over="ignore"):  # wrapping is the modulo 2**32 of the permutations
        phv = _fmix(np.asarray(hashes, dtype=np.uint32).reshape(-1, 1), 32) * a + b
    return np.minimum(_TEMPLATE.hashvalues, phv.min(axis=0)).astype(np.uint32, copy=False)


def containment(a: np.ndarray, b: np.ndarray) -> float | None:
    """Exact share of ``a``'s shingles that also occur in ``b`` (None when ``a`` is empty)."""
    if a.size == 0:
        return None
    if b.size == 0:
        return 0.0
    return _shared(a, b) / float(a.size)


def _shared(a: np.ndarray, b: np.ndarray) -> int:
    """How many of sorted unique ``a`` occur in sorted unique ``b`` (binary search, no merge sort)."""
    pos = np.searchsorted(b, a)
    pos[pos == b.size] = 0
    return int(np.count_nonzero(b[pos] == a))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if a.size == 0 and b.size == 0:
        return 0.0
    inter = _shared(a, b) if a.size and b.size else 0
    return inter / (a.size + b.size - inter)
