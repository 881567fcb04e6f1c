"""An in-memory columnar copy of the facet fields (and, on demand, metrics), indexed by rowid.

SQLite finds the matching rowids (FTS5); counting, filtering, sorting and grouping them is then a
few vectorised numpy operations instead of a B-tree lookup per matching row, which is what keeps
facets fast at a million reports. The copy is derived from the ``reports`` and ``metrics`` tables,
tagged with the store's generation and reloaded after any write.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

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
    labels = json.dumps({name: keyword.labels for name, keyword in cols.keywords.items()}, ensure_ascii=False)
    shapes = {name: (arr.dtype, arr.shape) for name, arr in arrays.items()}
    _write_saved(path, build, cols.generation, cols.size, labels.encode("utf-8"), shapes, arrays.__getitem__)


def _write_saved(
    path: Path,
    build: str,
    generation: int,
    size: int,
    labels: bytes,
    shapes: dict[str, tuple[np.dtype, tuple[int, ...]]],
    produce: Callable[[str], np.ndarray],
) -> None:
    """The saved file's layout (see ``save``), each array asked of ``produce`` only when it is written, so a
    caller can build them one at a time. ``labels``: the JSON object field name → label list."""
    layout, offset = [], 0
    for name, (dtype, shape) in shapes.items():
        dtype = np.dtype(dtype)
        layout.append({"name": name, "dtype": dtype.str, "shape": list(shape), "offset": offset})
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        offset += -(-nbytes // _ALIGN) * _ALIGN
    header = json.dumps({"build": build, "generation": generation, "size": size, "arrays": layout}).encode("utf-8")
    header = header[:-1] + b', "labels": ' + labels + b"}"
    start = -(-(len(_MAGIC) + 8 + len(header)) // _ALIGN) * _ALIGN
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(_MAGIC + len(header).to_bytes(8, "little") + header)
            for entry in layout:
                arr = np.ascontiguousarray(produce(entry["name"]), dtype=np.dtype(entry["dtype"]))
                if list(arr.shape) != entry["shape"]:
                    raise ValueError(f"{entry['name']}: shape {arr.shape}, expected {entry['shape']}")
                fh.seek(start + entry["offset"])
                fh.write(memoryview(arr).cast("B"))
            fh.truncate(start + offset)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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


# -- the writer's copy, kept on disk: the copy it started from plus the rows it wrote since ------------------

SPILL_INFIX = ".columns-spill-"  # <index>.columns-spill-<pid>-<random>: a writer's log, removed when it closes
_FLAG_BITS = 64  # flags of a report, as bits of one integer in the log


class _LabelCodes:
    """A field's label → code look-up for the log, bounded: 64-bit hashes of the labels (sorted, with their
    codes: 12 B a label) instead of a dict of strings; the new labels themselves go to the labels file."""

    def __init__(self, labels: list[str]) -> None:
        known = [(hash(v), i) for i, v in enumerate(labels) if v]
        self.hashes = np.array([h for h, _ in known], dtype=np.int64)
        self.codes = np.array([c for _, c in known], dtype=np.int32)
        order = np.argsort(self.hashes, kind="stable")
        self.hashes, self.codes = self.hashes[order], self.codes[order]
        self.count = len(labels)  # the next code

    def encode(self, values: list[str], new: list[str]) -> np.ndarray:
        """Codes of ``values`` (NONE for ""), giving the next codes to unseen labels, which are added to ``new``.
        Two labels with the same 64-bit hash would share a code (odds ~1e-8 at a million distinct labels)."""
        distinct = list(dict.fromkeys(values))
        hashes = np.fromiter((hash(v) for v in distinct), dtype=np.int64, count=len(distinct))
        at = np.searchsorted(self.hashes, hashes)
        inside = at < self.hashes.size
        found = inside & (self.hashes[np.where(inside, at, 0)] == hashes) if self.hashes.size else inside
        codes = np.where(found, self.codes[np.where(found, at, 0)] if self.codes.size else 0, NONE)
        unseen = [i for i in np.flatnonzero(~found).tolist() if distinct[i]]
        if unseen:
            fresh = np.arange(self.count, self.count + len(unseen), dtype=np.int32)
            codes[unseen] = fresh
            self.count += len(unseen)
            new.extend(distinct[i] for i in unseen)
            hashes_all = np.concatenate([self.hashes, hashes[unseen]])
            order = np.argsort(hashes_all, kind="stable")
            self.hashes, self.codes = hashes_all[order], np.concatenate([self.codes, fresh])[order]
        by_value = dict(zip(distinct, codes.tolist(), strict=True))
        return np.array([by_value[v] for v in values], dtype=np.int32)


class ColumnLog:
    """What a writer needs to save the columnar copy when it closes, on disk instead of in its memory.

    The copy it started from (an empty index's, or the saved one, mapped) and one fixed-width record per report
    written or removed since, appended to a spill file next to the index as each transaction commits; labels
    not in the base go to a second file. ``save`` assembles the saved copy one array at a time. Holding the copy
    and patching it instead took the writer ~330 B a report (~300 MiB more at a million reports).
    """

    def __init__(self, base: Columns, index_path: Path, report_columns: tuple[str, ...]) -> None:
        self.base = base
        self.generation = base.generation
        self.size = base.size
        self.metric_keys = list(base._metrics)
        self.metric_columns = [catalogue.get(key).column_name for key in self.metric_keys]
        self._at = {name: report_columns.index(name) for name in (*KEYWORD_FIELDS, "published", "flags")}
        self._labels = [_LabelCodes(base.keywords[name].labels) for name in KEYWORD_FIELDS]
        self.flag_names = list(base.flags)
        self._flag_codes = {name: i for i, name in enumerate(self.flag_names)}
        self.dtype = np.dtype(
            [
                ("rowid", "<i8"),
                ("flags", "<u8"),
                ("year", "<f8"),
                ("published", "<f8"),
                ("metrics", "<f8", (len(self.metric_keys),)),
                ("codes", "<i4", (len(KEYWORD_FIELDS),)),
                ("present", "u1"),
            ]
        )
        prefix = f"{index_path.name}{SPILL_INFIX}{os.getpid()}-"
        fd, name = tempfile.mkstemp(prefix=prefix, dir=index_path.parent)
        self.path = Path(name)
        self._rows: IO[bytes] = os.fdopen(fd, "wb")
        self._new_labels: IO[bytes] = open(f"{name}.labels", "wb")  # noqa: SIM115 (closed by discard)
        self.records = 0

    def append(
        self, generation: int, written: list[tuple[int, tuple[Any, ...], dict[str, float]]], removed: list[int]
    ) -> bool:
        """Record one committed transaction (reports written: rowid, ``reports`` row without id and digest, metric
        column values; rowids removed). False if it does not follow the last one (another process wrote in
        between) or a report has more distinct flags than the log holds: the log is then of no use."""
        if generation != self.generation + 1:
            return False
        n = len(written)
        rec = np.zeros(n + len(removed), dtype=self.dtype)
        rec["rowid"] = [rowid for rowid, _, _ in written] + removed
        rec["present"][:n] = 1
        rec["year"][n:] = rec["published"][n:] = np.nan
        rec["metrics"][n:] = np.nan
        rec["codes"][n:] = NONE
        rows = [row for _, row, _ in written]
        new: list[str] = []
        for i, name in enumerate(KEYWORD_FIELDS):
            at = self._at[name]
            if name == "removed":
                values = ["true" if row[at] else "false" for row in rows]
            else:
                values = ["" if row[at] is None else str(row[at]) for row in rows]
            rec["codes"][:n, i] = self._labels[i].encode(values, new)
            if new:
                self._new_labels.write("".join(f"{i}\t{json.dumps(v, ensure_ascii=False)}\n" for v in new).encode())
                new.clear()
        at_year, at_published, at_flags = self._at["year"], self._at["published"], self._at["flags"]
        rec["year"][:n] = [np.nan if row[at_year] is None else float(row[at_year]) for row in rows]
        rec["published"][:n] = [_published_number(row[at_published] or "") for row in rows]
        for j, column in enumerate(self.metric_columns):
            rec["metrics"][:n, j] = [metrics.get(column, np.nan) for _, _, metrics in written]
        bits = []
        for row in rows:
            mask = 0
            for flag in (row[at_flags] or "").split():
                code = self._flag_codes.get(flag)
                if code is None:
                    if len(self.flag_names) >= _FLAG_BITS:
                        return False
                    code = self._flag_codes[flag] = len(self.flag_names)
                    self.flag_names.append(flag)
                mask |= 1 << code
            bits.append(mask)
        rec["flags"][:n] = bits
        self._rows.write(rec.tobytes())
        self.records += rec.size
        if rec.size:
            self.size = max(self.size, int(rec["rowid"].max()) + 1)
        self.generation = generation
        return True

    def save(self, path: Path, build: str) -> None:
        """Write the saved copy at the log's generation: the base with the recorded reports applied (the last
        record of a report wins), one array at a time; the records are read from the spill file, mapped."""
        self._rows.flush()
        self._new_labels.flush()
        base, size = self.base, self.size
        last: slice | np.ndarray = slice(None)  # the last record of each rowid
        if self.records:
            log = np.memmap(self.path, dtype=self.dtype, mode="r", shape=(self.records,))
            rowid = log["rowid"]
            if not np.all(rowid[1:] > rowid[:-1]):  # a report written twice or removed (else: a build, in order)
                last = self.records - 1 - np.unique(rowid[::-1], return_index=True)[1]
        else:
            log = np.zeros(0, dtype=self.dtype)
        at = log["rowid"][last]
        present = np.zeros(size, dtype=bool)
        present[base.rowids] = True
        present[at] = log["present"][last].astype(bool)
        rowids = np.flatnonzero(present).astype(np.int64)
        del present

        def grown(old: np.ndarray, fill: Any, new: np.ndarray) -> np.ndarray:
            out = np.full(size, fill, dtype=old.dtype)
            out[: len(old)] = old
            out[at] = new
            return out

        producers: dict[str, Callable[[], np.ndarray]] = {
            "rowids": lambda: rowids,
            "year": lambda: grown(base.year, np.nan, log["year"][last]),
            "published": lambda: grown(base.published, np.nan, log["published"][last]),
        }
        for j, key in enumerate(self.metric_keys):
            producers[f"metric:{key}"] = lambda j=j, key=key: grown(base._metrics[key], np.nan, log["metrics"][last, j])
        for i, name in enumerate(KEYWORD_FIELDS):
            producers[f"codes:{name}"] = lambda i=i, name=name: grown(
                base.keywords[name].codes, NONE, log["codes"][last, i]
            )
        empty = np.zeros(0, dtype=bool)
        for code, flag in enumerate(self.flag_names):
            producers[f"flag:{flag}"] = lambda code=code, flag=flag: np.packbits(
                grown(base.flags.get(flag, empty), False, (log["flags"][last] >> np.uint64(code)) & np.uint64(1))
            )
        shapes: dict[str, tuple[np.dtype, tuple[int, ...]]] = {
            "rowids": (np.dtype(np.int64), rowids.shape),
            "year": (np.dtype(np.float64), (size,)),
            "published": (np.dtype(np.float64), (size,)),
        }
        shapes.update({f"metric:{key}": (np.dtype(np.float64), (size,)) for key in self.metric_keys})
        shapes.update({f"codes:{name}": (np.dtype(np.int32), (size,)) for name in KEYWORD_FIELDS})
        shapes.update({f"flag:{flag}": (np.dtype(np.uint8), ((size + 7) // 8,)) for flag in self.flag_names})
        _write_saved(path, build, self.generation, size, self._labels_json(), shapes, lambda name: producers[name]())

    def _labels_json(self) -> bytes:
        """The JSON object field → labels: the base's, then the new ones as the labels file holds them (each line
        already a JSON string), without a Python object per label kept beyond this call."""
        new: list[list[bytes]] = [[] for _ in KEYWORD_FIELDS]
        with open(f"{self.path}.labels", "rb") as fh:
            for line in fh:
                field_index, _, text = line.rstrip(b"\n").partition(b"\t")
                new[int(field_index)].append(text)
        parts = []
        for i, name in enumerate(KEYWORD_FIELDS):
            base = json.dumps(self.base.keywords[name].labels, ensure_ascii=False).encode("utf-8")[1:-1]
            items = b",".join(([base] if base else []) + new[i])
            parts.append(json.dumps(name).encode("utf-8") + b": [" + items + b"]")
        return b"{" + b", ".join(parts) + b"}"

    def discard(self) -> None:
        """Close and delete the spill files."""
        for fh in (self._rows, self._new_labels):
            with contextlib.suppress(OSError):  # a full disk: what could not be written is thrown away anyway
                fh.close()
        for name in (self.path, Path(f"{self.path}.labels")):
            name.unlink(missing_ok=True)


def remove_abandoned_spills(index_path: Path) -> None:
    """Delete the spill files of writers whose process is gone (a killed writer leaves them behind; the index
    it wrote is whole, and its first search loads the copy from the tables)."""
    prefix = f"{index_path.name}{SPILL_INFIX}"
    for leftover in index_path.parent.glob(f"{glob.escape(prefix)}*"):
        pid_text = re.match(r"\d+", leftover.name[len(prefix) :])
        if pid_text is None or _alive(int(pid_text.group())):
            continue
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
