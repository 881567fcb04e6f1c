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


def _published_number(value: str | None) -> float:
    if not value or len(value) < 10:
        return np.nan
    try:
        return float(int(value[0:4]) * 10000 + int(value[5:7]) * 100 + int(value[8:10]))
    except ValueError:
        return np.nan


def load(conn: sqlite3.Connection, generation: int) -> Columns:
    """Read the facet fields of every report (one pass, memory proportional to the report count)."""
    size = (conn.execute("SELECT max(rowid) FROM reports").fetchone()[0] or 0) + 1
    names = ", ".join(_SELECT.get(f, f) for f in KEYWORD_FIELDS)
    lookups: list[dict[str, int]] = [{} for _ in KEYWORD_FIELDS]
    codes = [array("i") for _ in KEYWORD_FIELDS]
    rowids = array("q")
    years, published = array("d"), array("d")
    flag_rows: dict[str, array] = {}
    sql = f"SELECT rowid, year, published, flags, {names} FROM reports ORDER BY rowid"
    for row in conn.execute(sql):
        rowid = row[0]
        rowids.append(rowid)
        years.append(np.nan if row[1] is None else float(row[1]))
        published.append(_published_number(row[2]))
        if row[3]:
            for flag in row[3].split():
                flag_rows.setdefault(flag, array("q")).append(rowid)
        for i, value in enumerate(row[4:]):
            if value is None or value == "":
                codes[i].append(NONE)
            else:
                lookup = lookups[i]
                code = lookup.get(value)
                if code is None:
                    code = lookup[value] = len(lookup)
                codes[i].append(code)
    ids = np.frombuffer(rowids, dtype=np.int64)
    keywords: dict[str, Keyword] = {}
    for i, name in enumerate(KEYWORD_FIELDS):
        full = np.full(size, NONE, dtype=np.int32)
        full[ids] = np.frombuffer(codes[i], dtype=np.int32)
        keywords[name] = Keyword(full, list(lookups[i]), lookups[i])
    flags: dict[str, np.ndarray] = {}
    for flag, flag_ids in flag_rows.items():
        mask = np.zeros(size, dtype=bool)
        mask[np.frombuffer(flag_ids, dtype=np.int64)] = True
        flags[flag] = mask
    year_arr = np.full(size, np.nan)
    year_arr[ids] = np.frombuffer(years, dtype=np.float64)
    pub_arr = np.full(size, np.nan)
    pub_arr[ids] = np.frombuffer(published, dtype=np.float64)
    return Columns(generation, size, ids.copy(), keywords, flags, year_arr, pub_arr)
