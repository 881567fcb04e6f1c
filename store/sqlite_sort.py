"""Result order of the embedded store: sort keys, the opaque keyset cursor, and picking one page."""

from __future__ import annotations

import sqlite3

import numpy as np

from store.query import QueryError, decode_cursor, encode_cursor
from store.sqlite_columns import Columns


def sort_keys(
    sort: str, cols: Columns, conn: sqlite3.Connection, ids: np.ndarray, ranks: np.ndarray | None
) -> np.ndarray:
    """Ascending float keys; unknown values (NaN) become +inf so they come last either way."""
    if sort == "relevance":
        return ranks if ranks is not None else np.zeros(len(ids))
    bare = sort.lstrip("-")
    if bare == "year":
        values = cols.year[ids]
    elif bare == "published":
        values = cols.published[ids]
    else:
        values = cols.metric(conn, bare[len("metric:") :])[ids]
    values = -values if sort.startswith("-") else values.copy()
    values[np.isnan(values)] = np.inf
    return values


def cursor_of(sort: str, key: float, rowid: int) -> str:
    """The cursor after a result: its sort, key and rowid (ties are broken by rowid)."""
    return encode_cursor([sort, float(key), int(rowid)])


def cursor_after(cursor: str | None, sort: str) -> tuple[float, int] | None:
    if cursor is None:
        return None
    values = decode_cursor(cursor)
    if (
        len(values) != 3
        or values[0] != sort
        or not isinstance(values[1], int | float)
        or not isinstance(values[2], int)
        or isinstance(values[2], bool)
    ):
        raise QueryError("this cursor belongs to a different query or sort; start again without it", "cursor")
    return float(values[1]), int(values[2])


def page(keys: np.ndarray, ids: np.ndarray, size: int, after: tuple[float, int] | None) -> tuple[np.ndarray, bool]:
    """Positions of the next ``size`` results in (key, rowid) order after the cursor, and whether more follow."""
    candidates = np.arange(len(ids))
    if after is not None:
        key, rowid = after
        candidates = np.flatnonzero((keys > key) | ((keys == key) & (ids > rowid)))
    if candidates.size > 4 * (size + 1):
        # Only the smallest keys can be on the page: cut to them before the full sort.
        kth = np.partition(keys[candidates], size)[size]
        candidates = candidates[keys[candidates] <= kth]
    order = np.lexsort((ids[candidates], keys[candidates]))
    chosen = candidates[order]
    return chosen[:size], chosen.size > size


# Result sets at least this big are paged by walking a precomputed order of all reports instead of
# sorting the result set: the first page of 900k newest-first results reads a few thousand rowids.
ORDER_SCAN_MIN = 20_000


def global_order(sort: str, cols: Columns, conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
    """Every report's rowid in (key, rowid) order, and the keys in that order; memoised per snapshot."""
    memo_key = ("order", sort)
    memo = cols.memo.get(memo_key)
    if memo is None:
        keys = sort_keys(sort, cols, conn, cols.rowids, None)
        order = np.lexsort((cols.rowids, keys))
        memo = cols.memo[memo_key] = (cols.rowids[order], keys[order])
    return memo  # type: ignore[return-value]


def page_in_order(
    sort: str, cols: Columns, conn: sqlite3.Connection, ids: np.ndarray, size: int, after: tuple[float, int] | None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """``page`` for big result sets: the next ``size`` rowids of ``ids`` (and their keys) after the cursor,
    found by walking ``global_order`` in growing blocks; and whether more follow."""
    rowids, keys = global_order(sort, cols, conn)
    start = 0
    if after is not None:
        key, rowid = after
        lo, hi = np.searchsorted(keys, key, "left"), np.searchsorted(keys, key, "right")
        start = int(lo + np.searchsorted(rowids[lo:hi], rowid, "right"))
    member = np.zeros(cols.size, dtype=bool)
    member[ids] = True
    found: list[np.ndarray] = []
    count, block = 0, 4096
    while start < rowids.size and count <= size:
        hits = np.flatnonzero(member[rowids[start : start + block]]) + start
        found.append(hits)
        count += hits.size
        start += block
        block *= 2
    positions = np.concatenate(found)[: size + 1] if found else np.empty(0, dtype=np.int64)
    return rowids[positions[:size]], keys[positions[:size]], positions.size > size
