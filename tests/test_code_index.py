"""CodeIndex (store.code_index) answers exactly what a binary search of the sorted keys answers."""

from __future__ import annotations

import numpy as np
import pytest

from store.code_index import DENSE_LIMIT, CodeIndex


def _by_search(keys: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Reference: position of each code in the sorted keys, -1 when absent."""
    idx = np.searchsorted(keys, codes).clip(0, max(keys.size - 1, 0))
    return np.where(keys.size and (keys[idx] == codes), idx, -1) if keys.size else np.full(codes.size, -1)


@pytest.mark.parametrize(
    ("n", "high"),
    [(1, 2**40), (7, 2**40), (476, DENSE_LIMIT), (1_500, 1_500 * DENSE_LIMIT), (40_000, 2**62), (3_000, 10_000)],
)
def test_matches_binary_search(n: int, high: int) -> None:
    rng = np.random.default_rng(n)
    keys = np.unique(rng.integers(0, high, n * 2))[:n]
    codes = np.concatenate([rng.choice(keys, 5_000), rng.integers(0, high, 5_000), [0, high - 1]])
    assert np.array_equal(CodeIndex(keys).find(codes), _by_search(keys, codes))


def test_clustered_keys_probe_past_collisions() -> None:
    # Consecutive multiples of a power of two: many share a hash slot's neighbourhood.
    keys = np.arange(0, 4096 * 2**20, 2**20, dtype=np.int64)
    codes = np.concatenate([keys, keys + 1, keys[::-1]])
    assert np.array_equal(CodeIndex(keys).find(codes), _by_search(keys, codes))


def test_empty_and_out_of_range() -> None:
    assert CodeIndex(np.empty(0, dtype=np.int64)).find(np.array([0, 5, 2**40])).tolist() == [-1, -1, -1]
    dense = CodeIndex(np.array([3, 65_535]))
    assert dense.find(np.array([3, 65_535, 65_536, 2**40, 4])).tolist() == [0, 1, -1, -1, -1]
    with pytest.raises(ValueError):
        CodeIndex(np.array([-1, 4]))
