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
from store.query import DEFAULT_BUCKETS, SearchQuery
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


@dataclass(frozen=True, slots=True)
class KeywordFacet:
    name: str

    def values(self, cols: Columns, ids: np.ndarray, selected: tuple[str, ...]) -> list[FacetValue]:
        keyword = cols.keywords[self.name]
        codes = keyword.codes[ids]
        counts = np.bincount(codes[codes != NONE], minlength=len(keyword.labels))
        nonzero = np.flatnonzero(counts)
        return _ordered({keyword.labels[i]: int(counts[i]) for i in nonzero}, selected)


@dataclass(frozen=True, slots=True)
class FlagsFacet:
    name: str = "flags"

    def values(self, cols: Columns, ids: np.ndarray, selected: tuple[str, ...]) -> list[FacetValue]:
        return _ordered({flag: int(np.count_nonzero(mask[ids])) for flag, mask in cols.flags.items()}, selected)


@dataclass(frozen=True, slots=True)
class MetricBucketFacet:
    """Counts of a metric in DEFAULT_BUCKETS, in bucket order (reports without the number are left out)."""

    name: str  # the metric key

    def values(self, cols: Columns, conn: sqlite3.Connection, ids: np.ndarray) -> list[FacetValue]:
        values = cols.metric(conn, self.name)[ids]
        out = []
        with np.errstate(invalid="ignore"):
            for bucket in DEFAULT_BUCKETS:
                mask = ~np.isnan(values)
                if bucket.low is not None:
                    mask &= values >= bucket.low
                if bucket.high is not None:
                    mask &= values < bucket.high
                out.append(FacetValue(bucket.label, int(np.count_nonzero(mask))))
        return out


def compute_facets(
    query: SearchQuery,
    cols: Columns,
    conn: sqlite3.Connection,
    ids: np.ndarray,
    masks: dict[str, np.ndarray],
    budget_s: float,
) -> list[Facet]:
    """The requested facets on the result set; a facet started after the budget is spent reports timed_out."""
    deadline = time.perf_counter() + budget_s
    out: list[Facet] = []
    for name in query.facets:
        if time.perf_counter() > deadline:
            out.append(Facet(name, [], timed_out=True))
            continue
        subset = ids[combine(masks, len(ids), without=name)]
        facet = FlagsFacet() if name == "flags" else KeywordFacet(name)
        out.append(Facet(name, facet.values(cols, subset, query.filters.get(name, ()))))
    if query.metric_facets:
        subset = ids[combine(masks, len(ids))]
        for key in query.metric_facets:
            if time.perf_counter() > deadline:
                out.append(Facet(key, [], timed_out=True))
                continue
            out.append(Facet(key, MetricBucketFacet(key).values(cols, conn, subset)))
    return out
