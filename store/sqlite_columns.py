"""An in-memory columnar copy of the facet fields (and, on demand, metrics), indexed by rowid.

SQLite finds the matching rowids (FTS5); counting, filtering, sorting and grouping them is then a
few vectorised numpy operations instead of a B-tree lookup per matching row, which is what keeps
facets fast at a million reports. The copy is derived from the ``reports`` and ``metrics`` tables,
tagged with the store's generation and reloaded after any write.
"""

from __future__ import annotations

import sqlite3
from array import array
from dataclasses import dataclass, field

import numpy as np

from indexer import catalogue

# Facet/filter fields held as dictionary-encoded codes (flags are separate: a report has several).
KEYWORD_FIELDS: tuple[str, ...] = (
    "province",
    "city",
    "county",
    "agency",
    "agency_id",
    "agency_type",
    "level",
    "year",
    "check_status",
    "template",
    "source_format",
    "removed",
    "source",
)
NONE = -1  # code of an empty value
# Facet values are strings: the year as "2024", removal as "true"/"false".
_SELECT = {"year": "CAST(year AS TEXT)", "removed": "CASE removed WHEN 1 THEN 'true' ELSE 'false' END"}


@dataclass(slots=True)
class Keyword:
    """One dictionary-encoded field: ``labels[codes[rowid]]`` is the value of a report."""

    codes: np.ndarray  # int32 per rowid, NONE when empty
    labels: list[str]
    lookup: dict[str, int]

    def codes_of(self, values: tuple[str, ...]) -> np.ndarray:
        return np.array([self.lookup[v] for v in values if v in self.lookup], dtype=np.int32)


@dataclass(slots=True)
class Columns:
    generation: int
    size: int  # max rowid + 1
    rowids: np.ndarray  # every present rowid, ascending
    keywords: dict[str, Keyword]
    flags: dict[str, np.ndarray]  # flag → bool per rowid
    year: np.ndarray  # float64 per rowid, NaN when unknown
    published: np.ndarray  # float64 YYYYMMDD per rowid, NaN when unknown
    _metrics: dict[str, np.ndarray] = field(default_factory=dict)
    memo: dict[object, object] = field(default_factory=dict)  # results derived from this snapshot only

    def metric(self, conn: sqlite3.Connection, key: str) -> np.ndarray:
        """float64 per rowid, NaN when the report does not give the number (loaded on first use)."""
        arr = self._metrics.get(key)
        if arr is None:
            col = catalogue.get(key).column_name
            arr = np.full(self.size, np.nan)
            ids, values = array("q"), array("d")
            for rowid, value in conn.execute(f"SELECT rowid, {col} FROM metrics WHERE {col} IS NOT NULL"):
                if rowid < self.size:
                    ids.append(rowid)
                    values.append(value)
            arr[np.frombuffer(ids, dtype=np.int64)] = np.frombuffer(values, dtype=np.float64)
            self._metrics[key] = arr
        return arr


def _published_number(value: str) -> float:
    if len(value) < 10:
        return np.nan
    try:
        return float(int(value[0:4]) * 10000 + int(value[5:7]) * 100 + int(value[8:10]))
    except ValueError:
        return np.nan


_SEP = "\x1f"  # unit separator: never part of a facet value


def _column(conn: sqlite3.Connection, expr: str) -> list[str]:
    """One column of every report in rowid order, as strings ('' for NULL), fetched as a single value."""
    sql = f"SELECT group_concat(v, char(31)) FROM (SELECT coalesce({expr}, '') AS v FROM reports ORDER BY rowid)"
    text = conn.execute(sql).fetchone()[0]
    return [] if text is None else text.split(_SEP)


def _encode(values: list[str], size: int, ids: np.ndarray) -> Keyword:
    lookup: dict[str, int] = {}
    codes = np.array([lookup.setdefault(v, len(lookup)) for v in values], dtype=np.int32)
    empty = lookup.get("")
    if empty is not None:
        codes[codes == empty] = NONE  # "" keeps its label slot but is never counted or matched
    full = np.full(size, NONE, dtype=np.int32)
    full[ids] = codes
    return Keyword(full, list(lookup), {k: v for k, v in lookup.items() if k})


def load(conn: sqlite3.Connection, generation: int) -> Columns:
    """Read the facet fields of every report: one statement per field, no Python loop per row and field."""
    size = (conn.execute("SELECT max(rowid) FROM reports").fetchone()[0] or 0) + 1
    text = conn.execute("SELECT group_concat(rowid) FROM (SELECT rowid FROM reports ORDER BY rowid)").fetchone()[0]
    ids = np.fromstring(text, dtype=np.int64, sep=",") if text else np.empty(0, dtype=np.int64)
    keywords = {name: _encode(_column(conn, _SELECT.get(name, name)), size, ids) for name in KEYWORD_FIELDS}
    year_kw = keywords["year"]
    year_of_code = np.array([float(v) if v else np.nan for v in year_kw.labels] + [np.nan])
    year = year_of_code[year_kw.codes]  # NONE (-1) picks the trailing NaN
    published_kw = _encode(_column(conn, "published"), size, ids)
    pub_of_code = np.array([_published_number(v) for v in published_kw.labels] + [np.nan])
    published = pub_of_code[published_kw.codes]
    flags: dict[str, np.ndarray] = {}
    for rowid, value in zip(ids.tolist(), _column(conn, "flags"), strict=True):
        for flag in value.split():
            mask = flags.get(flag)
            if mask is None:
                mask = flags[flag] = np.zeros(size, dtype=bool)
            mask[rowid] = True
    return Columns(generation, size, ids, keywords, flags, year, published)
