"""Filters and facets over the columnar copy: each filter a mask, each facet kind one small class.

Filters are parsed in one place (``parse_filters``) into named boolean masks over the candidate
rowids; a multi-select facet counts under every mask except its own.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

import numpy as np

from store.base import Facet, FacetValue
from store.query import SearchQuery, buckets_for
from store.sqlite_columns import NONE, Columns

FACET_VALUE_LIMIT = 100  # values per facet (selected values are always included)
CONDITIONS = "__conditions"  # mask name of the metric conditions: no facet lifts it


def parse_filters(
    query: SearchQuery, cols: Columns, conn: sqlite3.Connection, ids: np.ndarray
) -> dict[str, np.ndarray]:
    """Facet name → mask over ``ids`` for each active filter (year range folded into "year")."""
    masks: dict[str, np.ndarray] = {}
    for name, values in query.filters.items():
        if name == "flags":
            mask = np.zeros(len(ids), dtype=bool)
            for flag in values:
                if flag in cols.flags:
                    mask |= cols.flags[flag][ids]
        else:
            keyword = cols.keywords[name]
            mask = np.isin(keyword.codes[ids], keyword.codes_of(values))
        masks[name] = mask
    if query.year_from is not None or query.year_to is not None:
        years = cols.year[ids]
        rng = ~np.isnan(years)
        if query.year_from is not None:
            rng &= years >= query.year_from
        if query.year_to is not None:
            rng &= years <= query.year_to
        masks["year"] = masks["year"] & rng if "year" in masks else rng
    if query.conditions:
        mask = np.ones(len(ids), dtype=bool)
        for cond in query.conditions:
            values = cols.metric(conn, cond.key)[ids]
            with np.errstate(invalid="ignore"):
                mask &= _compare(values, cond.op, cond.value)  # NaN compares false: unknown satisfies nothing
        masks[CONDITIONS] = mask
    return masks


def _compare(values: np.ndarray, op: str, value: float) -> np.ndarray:
    if op == "!=":
        return ~np.isnan(values) & (values != value)
    return {
        ">=": np.greater_equal,
        "<=": np.less_equal,
        ">": np.greater,
        "<": np.less,
        "=": np.equal,
    }[op](values, value)


def combine(masks: dict[str, np.ndarray], n: int, without: str | None = None) -> np.ndarray:
    mask = np.ones(n, dtype=bool)
    for name, m in masks.items():
        if name != without:
            mask &= m
    return mask


def _ordered(counts: dict[str, int], selected: tuple[str, ...]) -> list[FacetValue]:
    chosen = set(selected)
    values = sorted(((v, c) for v, c in counts.items() if c > 0), key=lambda vc: (-vc[1], vc[0]))
    out = [FacetValue(v, c, v in chosen) for v, c in values[:FACET_VALUE_LIMIT]]
    shown = {fv.value for fv in out}
    out.extend(FacetValue(v, counts.get(v, 0), True) for v in selected if v not in shown)
    return out


def _counted(labels: list[str], counts: np.ndarray, selected: tuple[str, ...]) -> list[FacetValue]:
    """``_ordered`` for a counts array: only values that can make the top list reach Python."""
    nonzero = np.flatnonzero(counts)
    if nonzero.size > FACET_VALUE_LIMIT:
        # Everything counted at least as often as the FACET_VALUE_LIMIT-th value (ties decided by label).
        kth = np.partition(counts[nonzero], nonzero.size - FACET_VALUE_LIMIT)[nonzero.size - FACET_VALUE_LIMIT]
        nonzero = nonzero[counts[nonzero] >= kth]
    top = {labels[i]: int(counts[i]) for i in nonzero}
    for value in selected:
        if value not in top:
            code = labels.index(value) if value in labels else -1
            top[value] = int(counts[code]) if code >= 0 else 0
    return _ordered(top, selected)


@dataclass(frozen=True, slots=True)
class KeywordFacet:
    name: str

    def values(self, cols: Columns, ids: np.ndarray, selected: tuple[str, ...]) -> list[FacetValue]:
        keyword = cols.keywords[self.name]
        codes = keyword.codes[ids]
        counts = np.bincount(codes[codes != NONE], minlength=len(keyword.labels))
        return _counted(keyword.labels, counts, selected)


@dataclass(frozen=True, slots=True)
class FlagsFacet:
    name: str = "flags"

    def values(self, cols: Columns, ids: np.ndarray, selected: tuple[str, ...]) -> list[FacetValue]:
        return _ordered({flag: int(np.count_nonzero(mask[ids])) for flag, mask in cols.flags.items()}, selected)


@dataclass(frozen=True, slots=True)
class MetricBucketFacet:
    """Counts of a metric in its ``buckets_for`` buckets, in order (reports without the number are left out)."""

    name: str  # the metric key

    def values(
        self, cols: Columns, conn: sqlite3.Connection, ids: np.ndarray, complement: np.ndarray | None = None
    ) -> list[FacetValue]:
        """Bucket counts over ``ids``; given the complement of ``ids``, counted as all reports minus it."""
        if complement is None:
            counts = self._counts(cols.metric(conn, self.name)[ids])
        else:
            key = ("buckets", self.name)
            every = cols.memo.get(key)
            if every is None:
                every = cols.memo[key] = self._counts(cols.metric(conn, self.name)[cols.rowids])
            counts = every - self._counts(cols.metric(conn, self.name)[complement])  # type: ignore[operator]
        return [FacetValue(b.label, int(c)) for b, c in zip(buckets_for(self.name), counts, strict=True)]

    def _counts(self, values: np.ndarray) -> np.ndarray:
        out = []
        with np.errstate(invalid="ignore"):
            for bucket in buckets_for(self.name):
                mask = ~np.isnan(values)
                if bucket.low is not None:
                    mask &= values >= bucket.low
                if bucket.high is not None:
                    mask &= values < bucket.high
                out.append(np.count_nonzero(mask))
        return np.array(out, dtype=np.int64)


MAX_COMBINED_BINS = 1 << 16  # facets counted together in one pass while their value grid stays this small


def _combined(cols: Columns, names: tuple[str, ...]) -> np.ndarray:
    """One int32 per report encoding several keyword fields (mixed radix, empty = digit 0); memoised."""
    key = ("combined", names)
    codes = cols.memo.get(key)
    if codes is None:
        codes = np.zeros(cols.size, dtype=np.int32)
        for name in names:
            keyword = cols.keywords[name]
            codes = codes * (len(keyword.labels) + 1) + (keyword.codes + 1)
        cols.memo[key] = codes
    return codes  # type: ignore[return-value]


def _groups(cols: Columns, names: list[str]) -> list[tuple[str, ...]]:
    """Pack facets into groups whose combined value grid fits MAX_COMBINED_BINS (small ones together)."""
    groups: list[list[str]] = []
    bins: list[int] = []
    for name in sorted(names, key=lambda n: len(cols.keywords[n].labels)):
        width = len(cols.keywords[name].labels) + 1
        if groups and bins[-1] * width <= MAX_COMBINED_BINS:
            groups[-1].append(name)
            bins[-1] *= width
        else:
            groups.append([name])
            bins.append(width)
    return [tuple(g) for g in groups]


def _complement(cols: Columns, subset: np.ndarray) -> np.ndarray | None:
    """The reports not in ``subset`` when that is the smaller side (counting it and subtracting from the
    counts of all reports is then cheaper: a phrase in 90% of a million reports leaves 100k to count)."""
    if subset.size <= cols.rowids.size // 2:
        return None
    mask = np.zeros(cols.size, dtype=bool)
    mask[cols.rowids] = True
    mask[subset] = False
    return np.flatnonzero(mask)


def _shared_counts(
    cols: Columns, subset: np.ndarray, names: tuple[str, ...], complement: np.ndarray | None = None
) -> dict[str, list[FacetValue]]:
    """Counts of several facets over the same reports with a single gather and bincount."""
    widths = [len(cols.keywords[n].labels) + 1 for n in names]
    bins = int(np.prod(widths))
    combined = _combined(cols, names)
    if complement is None:
        grid = np.bincount(combined[subset], minlength=bins).reshape(widths)
    else:
        key = ("grid", names)
        every = cols.memo.get(key)
        if every is None:
            every = cols.memo[key] = np.bincount(combined[cols.rowids], minlength=bins).reshape(widths)
        grid = every - np.bincount(combined[complement], minlength=bins).reshape(widths)  # type: ignore[operator]
    out: dict[str, list[FacetValue]] = {}
    for axis, name in enumerate(names):
        counts = grid.sum(axis=tuple(a for a in range(len(names)) if a != axis)) if len(names) > 1 else grid
        out[name] = _counted(cols.keywords[name].labels, counts[1:], ())
    return out


def compute_facets(
    query: SearchQuery,
    cols: Columns,
    conn: sqlite3.Connection,
    ids: np.ndarray,
    masks: dict[str, np.ndarray],
    budget_s: float,
) -> list[Facet]:
    """The requested facets on the result set; a facet started after the budget is spent reports timed_out.

    A facet with its own filter counts under the other filters only (multi-select); the facets
    without one all count the same result set, so they are counted together.
    """
    deadline = time.perf_counter() + budget_s
    results: dict[str, Facet] = {}
    final = ids[combine(masks, len(ids))] if masks else ids
    shared = [n for n in query.facets if n not in masks and n != "flags" and n in cols.keywords]
    complement = _complement(cols, final) if shared or query.metric_facets else None
    for group in _groups(cols, shared):
        if time.perf_counter() > deadline:
            results.update({n: Facet(n, [], timed_out=True) for n in group})
            continue
        counted = _shared_counts(cols, final, group, complement)
        results.update({n: Facet(n, values) for n, values in counted.items()})
    for name in query.facets:
        if name in results:
            continue
        if time.perf_counter() > deadline:
            results[name] = Facet(name, [], timed_out=True)
            continue
        subset = ids[combine(masks, len(ids), without=name)] if name in masks else final
        facet = FlagsFacet() if name == "flags" else KeywordFacet(name)
        results[name] = Facet(name, facet.values(cols, subset, query.filters.get(name, ())))
    out = [results[name] for name in query.facets]
    for key in query.metric_facets:
        if time.perf_counter() > deadline:
            out.append(Facet(key, [], timed_out=True))
            continue
        out.append(Facet(key, MetricBucketFacet(key).values(cols, conn, final, complement)))
    return out
