"""Which reports a query tree matches, as ascending rowids.

Each unscoped term made only of ideographs that is a frequent n-gram is read from the shingle bitmaps
(``sqlite_shingles``), which cover every committed row once there is a vocabulary (FTS5 would answer rows
beyond them). Every other term goes to FTS5; the terms of one AND or OR that all need
FTS5 go in one MATCH, so FTS5 can skip through its doclists as before. Sets are combined with
vectorised operations. Call inside one read transaction so the bitmaps and FTS5 agree.
"""

from __future__ import annotations

import sqlite3
from functools import cached_property, lru_cache
from itertools import pairwise

import numpy as np

from store import analysis
from store.query import Node, Not, Or, QueryError, Term
from store.sqlite_shingles import ShingleIndex
from store.sqlite_translate import fts_expression, simplify

_EMPTY = np.empty(0, dtype=np.int64)


@lru_cache(maxsize=4096)
def ideograph_run(text: str) -> str | None:
    """The normalised run when a term is one run of joined ideographs (what a bitmap can answer)."""
    tokens = analysis.tokenize(text)
    if not tokens or not all(t.cjk for t in tokens) or not all(t.joined for t in tokens[1:]):
        return None
    return "".join(t.text for t in tokens)


def _parse(ids_text: str | None) -> np.ndarray:
    return np.fromstring(ids_text, dtype=np.int64, sep=",") if ids_text else _EMPTY  # type: ignore[call-overload]


def intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if not a.size or not b.size:
        return _EMPTY
    return a[np.isin(a, b, kind="table")]


def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if not a.size or not b.size:
        return a
    return a[~np.isin(a, b, kind="table")]


def union(parts: list[np.ndarray]) -> np.ndarray:
    parts = [p for p in parts if p.size]
    if not parts:
        return _EMPTY
    if len(parts) == 1:
        return parts[0]
    parts.sort(key=lambda p: int(p[0]))
    if all(int(a[-1]) < int(b[0]) for a, b in pairwise(parts)):
        return np.concatenate(parts)  # disjoint ranges (the covered rows, then the rest): already in order
    mask = np.zeros(max(int(p[-1]) for p in parts) + 1, dtype=bool)
    for p in parts:
        mask[p] = True
    return np.flatnonzero(mask).astype(np.int64)


class Matcher:
    def __init__(self, conn: sqlite3.Connection, shingles: ShingleIndex | None, scope: str | None) -> None:
        self.conn = conn
        self.scope = scope
        self.shingles = shingles if scope is None else None  # bitmaps cover whole reports, not one section

    # Read on first need: a query of rare terms (FTS5 only) does not pay for these statements.
    @cached_property
    def covered(self) -> int:
        return self.shingles.covered(self.conn) if self.shingles is not None else 0

    @cached_property
    def beyond(self) -> bool:
        """Rows the bitmaps do not cover: none once there is a vocabulary (the writer stores them before it
        commits), but a query must not miss them whatever happens."""
        sql = "SELECT EXISTS (SELECT 1 FROM reports WHERE rowid >= ?)"
        return bool(self.covered) and bool(self.conn.execute(sql, (self.covered,)).fetchone()[0])

    def ids(self, tree: Node) -> np.ndarray:
        tree = simplify(tree)
        fts_expression(tree, self.scope)  # the same validation (and errors) as a single MATCH
        return self._eval(tree)

    def fts(self, node: Node, where: str = "", args: tuple[int, ...] = ()) -> np.ndarray:
        expr = fts_expression(node, self.scope)
        try:
            row = self.conn.execute(f"SELECT group_concat(rowid) FROM fts WHERE fts MATCH ?{where}", (expr, *args))
            ids = _parse(row.fetchone()[0])
        except sqlite3.OperationalError as exc:
            raise QueryError(f"cannot search for this query ({exc})") from exc
        if ids.size > 1 and np.any(ids[1:] < ids[:-1]):  # FTS5 yields rowid order; rely on it only after checking
            ids = np.sort(ids)
        return ids

    def _eval(self, node: Node) -> np.ndarray:
        if isinstance(node, Term):
            ngram = self._ngram(node)
            return self.fts(node) if ngram is None else self._from_bitmap(node, ngram)
        if isinstance(node, Not):  # only below AND (fts_expression rejects the rest)
            raise QueryError("a query cannot consist only of exclusions ('-term'); add a term to search for")
        items = node.items
        negatives = [i.item for i in items if isinstance(i, Not)]
        positives = [i for i in items if not isinstance(i, Not)]
        slow = [i for i in positives if isinstance(i, Term) and self._ngram(i) is None]
        parts = [self._eval(i) for i in positives if not any(i is s for s in slow)]
        if slow:
            parts.append(self.fts(slow[0] if len(slow) == 1 else type(node)(tuple(slow))))
        if isinstance(node, Or):
            return union(parts)
        parts.sort(key=len)
        result = parts[0]
        for part in parts[1:]:
            result = intersect(result, part)
        for neg in negatives:
            if result.size:
                result = difference(result, self._eval(neg))
        return result

    def _ngram(self, term: Term) -> int | None:
        if self.shingles is None:
            return None
        run = ideograph_run(term.text)
        ngram = self.shingles.lookup(self.conn, run) if run is not None else None
        return ngram if ngram is not None and self.covered else None

    def _from_bitmap(self, term: Term, ngram: int) -> np.ndarray:
        assert self.shingles is not None
        covered = self.shingles.rowids(self.conn, ngram)
        if not self.beyond:
            return covered
        return union([covered, self.fts(term, " AND rowid >= ?", (self.covered,))])
