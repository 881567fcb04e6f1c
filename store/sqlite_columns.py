"""An in-memory columnar copy of the facet fields (and, on demand, metrics), indexed by rowid.

SQLite finds the matching rowids (FTS5); counting, filtering, sorting and grouping them is then a
few vectorised numpy operations instead of a B-tree lookup per matching row, which is what keeps
facets fast at a million reports. The copy is derived from the ``reports`` and ``metrics`` tables,
tagged with the store's generation and reloaded after any write.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
# Metrics read with the facet fields (one scan) and saved with them: the web page's facet and the totals
# journalists filter on first. Any other metric is loaded on first use.
PRELOADED_METRICS: tuple[str, ...] = (
    "applications.new.total",
    "applications.carried_over.total",
    "outcomes.disclosed.total",
    "outcomes.total.total",
    "review.total",
    "litigation.direct.total",
    "litigation.after_review.total",
)
# Facet values are strings: the year as "2024", removal as "true"/"false".
_SELECT = {"year": "CAST(year AS TEXT)", "removed": "CASE removed WHEN 1 THEN 'true' ELSE 'false' END"}


class Keyword:
    """One dictionary-encoded field: ``labels[codes[rowid]]`` is the value of a report."""

    __slots__ = ("_lookup", "codes", "labels")

    def __init__(self, codes: np.ndarray, labels: list[str], lookup: dict[str, int] | None = None) -> None:
        self.codes = codes  # int32 per rowid, NONE when empty
        self.labels = labels
        self._lookup = lookup

    @property
    def lookup(self) -> dict[str, int]:
        """label → code, built on first use: a filter needs it, a restart's first search does not (at a million
        reports the agency labels alone took longer to index than the rest of the copy took to read)."""
        if self._lookup is None:
            self._lookup = {v: i for i, v in enumerate(self.labels) if v}
        return self._lookup

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
            arr = self._metrics[key] = load_metrics(conn, [key], self.size)[key]
        return arr


def load_metrics(conn: sqlite3.Connection, keys: list[str], size: int) -> dict[str, np.ndarray]:
    """Several metric columns in one scan of the (wide) metrics table: float64 per rowid, NaN when unknown."""
    if not keys:
        return {}
    columns = [catalogue.get(key).column_name for key in keys]
    # %.17g: the text form of a double that parses back to the same double (SQLite's own keeps 15 digits)
    outer = ", ".join(f"group_concat(CASE WHEN {c} IS NULL THEN 'nan' ELSE printf('%.17g', {c}) END)" for c in columns)
    row = conn.execute(f"SELECT group_concat(rowid), {outer} FROM metrics").fetchone()
    out = {key: np.full(size, np.nan) for key in keys}
    if row[0] is None:
        return out
    ids = np.fromstring(row[0], dtype=np.int64, sep=",")  # type: ignore[call-overload]
    keep = ids < size  # rows written after this snapshot's reports were read
    for key, text in zip(keys, row[1:], strict=True):
        values = np.fromstring(text, dtype=np.float64, sep=",")  # type: ignore[call-overload]
        out[key][ids[keep]] = values[keep]
    return out


def _published_number(value: str) -> float:
    if len(value) < 10:
        return np.nan
    try:
        return float(int(value[0:4]) * 10000 + int(value[5:7]) * 100 + int(value[8:10]))
    except ValueError:
        return np.nan


_SEP = "\x1f"  # unit separator: never part of a facet value


def _columns(conn: sqlite3.Connection, exprs: list[str]) -> tuple[np.ndarray, list[list[str]]]:
    """Rowids and the given columns of every report in rowid order, as strings ('' for NULL).

    One table scan; each column comes back as a single separator-joined value, so there is no Python
    work per row and field (the per-row alternative is several times slower)."""
    outer = ", ".join(f"group_concat(coalesce({e}, ''), char(31))" for e in exprs)
    row = conn.execute(f"SELECT group_concat(rowid), {outer} FROM reports").fetchone()  # a rowid-order scan
    if row[0] is None:
        return np.empty(0, dtype=np.int64), [[] for _ in exprs]
    ids = np.fromstring(row[0], dtype=np.int64, sep=",")
    columns = [text.split(_SEP) for text in row[1:]]
    if ids.size > 1 and np.any(ids[1:] < ids[:-1]):  # not promised by SQL: put rows in rowid order
        order = np.argsort(ids, kind="stable")
        ids = ids[order]
        columns = [[col[i] for i in order.tolist()] for col in columns]
    return ids, columns


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
    exprs = [_SELECT.get(name, name) for name in KEYWORD_FIELDS]
    ids, values = _columns(conn, [*exprs, "published", "flags"])
    keywords = {name: _encode(values[i], size, ids) for i, name in enumerate(KEYWORD_FIELDS)}
    year_kw = keywords["year"]
    year_of_code = np.array([float(v) if v else np.nan for v in year_kw.labels] + [np.nan])
    year = year_of_code[year_kw.codes]  # NONE (-1) picks the trailing NaN
    published_kw = _encode(values[-2], size, ids)
    pub_of_code = np.array([_published_number(v) for v in published_kw.labels] + [np.nan])
    published = pub_of_code[published_kw.codes]
    flags: dict[str, np.ndarray] = {}
    for rowid, value in zip(ids.tolist(), values[-1], strict=True):
        for flag in value.split():
            mask = flags.get(flag)
            if mask is None:
                mask = flags[flag] = np.zeros(size, dtype=bool)
            mask[rowid] = True
    metrics = load_metrics(conn, list(PRELOADED_METRICS), size)
    return Columns(generation, size, ids, keywords, flags, year, published, metrics)


def _row_value(name: str, row: dict[str, Any]) -> str:
    value = row[name]
    if name == "removed":
        return "true" if value else "false"
    return "" if value is None else str(value)


def patched(
    cols: Columns,
    generation: int,
    rows: list[tuple[int, dict[str, Any], dict[str, float]]],
    removed: list[int],
) -> Columns:
    """A new copy with reports written (rowid, ``reports`` values, metric column values) or removed.

    Copy-on-write, so searches running on the old copy are not disturbed; costs a few array copies,
    far less than reloading a million reports.
    """
    size = max([cols.size, *(r + 1 for r, _, _ in rows), *(r + 1 for r in removed)])

    def grow(arr: np.ndarray, fill: Any) -> np.ndarray:
        out = np.full(size, fill, dtype=arr.dtype)
        out[: len(arr)] = arr
        return out

    touched = np.array([r for r, _, _ in rows] + removed, dtype=np.int64)
    keywords: dict[str, Keyword] = {}
    for name, old in cols.keywords.items():
        codes, labels, lookup = grow(old.codes, NONE), list(old.labels), dict(old.lookup)
        codes[touched] = NONE
        for rowid, row, _ in rows:
            value = _row_value(name, row)
            if value:
                code = lookup.get(value)
                if code is None:
                    code = lookup[value] = len(labels)
                    labels.append(value)
                codes[rowid] = code
        keywords[name] = Keyword(codes, labels, lookup)
    year, published = grow(cols.year, np.nan), grow(cols.published, np.nan)
    year[touched] = np.nan
    published[touched] = np.nan
    flags = {flag: grow(mask, False) for flag, mask in cols.flags.items()}
    for mask in flags.values():
        mask[touched] = False
    for rowid, row, _ in rows:
        year[rowid] = np.nan if row["year"] is None else float(row["year"])
        published[rowid] = _published_number(row["published"] or "")
        for flag in (row["flags"] or "").split():
            flags.setdefault(flag, np.zeros(size, dtype=bool))[rowid] = True
    rowids = np.union1d(np.setdiff1d(cols.rowids, np.array(removed, dtype=np.int64)), touched[: len(rows)])
    metrics: dict[str, np.ndarray] = {}
    for key, old_values in cols._metrics.items():
        column = catalogue.get(key).column_name
        values = grow(old_values, np.nan)
        values[touched] = np.nan
        for rowid, _, row_metrics in rows:
            values[rowid] = row_metrics.get(column, np.nan)
        metrics[key] = values
    return Columns(generation, size, rowids, keywords, flags, year, published, metrics)


# -- a saved copy next to the index, so a restarted service does not re-read a million rows ------------


_MAGIC = b"nianbao-columns-1\n"
_ALIGN = 64


def save(cols: Columns, path: Path, build: str) -> None:
    """Write the copy (with the metrics loaded so far) atomically; a failure only costs the next start a load.

    One file: the magic line, an 8-byte header length, a JSON header (labels, and each array's name, dtype,
    shape and offset), then the arrays' raw bytes, aligned, so ``load_saved`` maps them instead of reading
    and checking a zip (1.2–1.6 s for a million reports as ``.npz``, most of a restart's first search).
    """
    arrays: dict[str, np.ndarray] = {"rowids": cols.rowids, "year": cols.year, "published": cols.published}
    for key, values in cols._metrics.items():
        arrays[f"metric:{key}"] = values
    for name, keyword in cols.keywords.items():
        arrays[f"codes:{name}"] = keyword.codes
    for flag, mask in cols.flags.items():
        arrays[f"flag:{flag}"] = np.packbits(mask)
    layout, offset = [], 0
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        arrays[name] = arr
        layout.append({"name": name, "dtype": arr.dtype.str, "shape": list(arr.shape), "offset": offset})
        offset += -(-arr.nbytes // _ALIGN) * _ALIGN
    header = json.dumps(
        {
            "build": build,
            "generation": cols.generation,
            "size": cols.size,
            "labels": {name: keyword.labels for name, keyword in cols.keywords.items()},
            "arrays": layout,
        },
        ensure_ascii=False,
    ).encode("utf-8")
    start = -(-(len(_MAGIC) + 8 + len(header)) // _ALIGN) * _ALIGN
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(_MAGIC + len(header).to_bytes(8, "little") + header)
            for entry, arr in zip(layout, arrays.values(), strict=True):
                fh.seek(start + entry["offset"])
                fh.write(memoryview(arr).cast("B"))
            fh.truncate(start + offset)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def load_saved(path: Path, build: str, generation: int) -> Columns | None:
    """The saved copy if it belongs to this index file at this generation, else None. The arrays are mapped
    read-only (the copy is never written in place: ``patch`` makes new arrays), so this reads the header
    and the labels; the pages come from the file cache as searches touch them."""
    try:
        with open(path, "rb") as fh:
            if fh.read(len(_MAGIC)) != _MAGIC:
                return None
            length = int.from_bytes(fh.read(8), "little")
            meta = json.loads(fh.read(length))
        if meta["build"] != build or meta["generation"] != generation:
            return None
        start = -(-(len(_MAGIC) + 8 + length) // _ALIGN) * _ALIGN
        whole = np.memmap(path, dtype=np.uint8, mode="r")
        arrays = {}
        for entry in meta["arrays"]:
            dtype = np.dtype(entry["dtype"])
            count = int(np.prod(entry["shape"], dtype=np.int64))
            begin = start + entry["offset"]
            arrays[entry["name"]] = whole[begin : begin + count * dtype.itemsize].view(dtype).reshape(entry["shape"])
        size = int(meta["size"])
        keywords = {name: Keyword(arrays[f"codes:{name}"], meta["labels"][name]) for name in KEYWORD_FIELDS}
        flags = {
            name[len("flag:") :]: np.unpackbits(arr, count=size).astype(bool)
            for name, arr in arrays.items()
            if name.startswith("flag:")
        }
        metrics = {name[len("metric:") :]: arr for name, arr in arrays.items() if name.startswith("metric:")}
        return Columns(
            generation, size, arrays["rowids"], keywords, flags, arrays["year"], arrays["published"], metrics
        )
    except (OSError, KeyError, ValueError, TypeError):
        return None
