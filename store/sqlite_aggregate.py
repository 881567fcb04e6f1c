"""Aggregations of the embedded store: sum/avg/min/max/count of metrics per group, vectorised."""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np

from store.base import AggregationRow
from store.query import AggregationQuery
from store.sqlite_columns import NONE, Columns


def aggregate_rows(
    cols: Columns, conn: sqlite3.Connection, ids: np.ndarray, query: AggregationQuery
) -> list[AggregationRow]:
    """One row per group of ``query.group_by`` among ``ids``; nulls are ignored, count is reports per group."""
    if ids.size == 0:
        return []
    codes = np.stack([cols.keywords[g].codes[ids] for g in query.group_by], axis=1) if query.group_by else None
    if codes is None:
        groups, inverse = np.zeros((1, 0), dtype=np.int32), np.zeros(len(ids), dtype=np.int64)
    else:
        groups, inverse = np.unique(codes, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
    n_groups = len(groups)
    counts = np.bincount(inverse, minlength=n_groups)
    values: dict[str, np.ndarray] = {}
    for key in query.metrics:
        data = cols.metric(conn, key)[ids]
        valid = ~np.isnan(data)
        inv, vals = inverse[valid], data[valid]
        present = np.bincount(inv, minlength=n_groups)
        total = np.bincount(inv, weights=vals, minlength=n_groups)
        for fn in query.functions:
            if fn == "count":
                out = present.astype(np.float64)
            elif fn == "sum":
                out = np.where(present > 0, total, np.nan)
            elif fn == "avg":
                with np.errstate(invalid="ignore", divide="ignore"):
                    out = np.where(present > 0, total / np.maximum(present, 1), np.nan)
            else:
                out = np.full(n_groups, np.inf if fn == "min" else -np.inf)
                (np.minimum if fn == "min" else np.maximum).at(out, inv, vals)
                out[present == 0] = np.nan
            values[f"{fn}:{key}"] = out
    rows = []
    for gi, group_codes in enumerate(groups):
        group: dict[str, Any] = {}
        for name, code in zip(query.group_by, group_codes, strict=True):
            label = None if code == NONE else cols.keywords[name].labels[code]
            group[name] = int(label) if name == "year" and label is not None else label
        rows.append(
            AggregationRow(
                group=group,
                count=int(counts[gi]),
                values={k: (None if np.isnan(v[gi]) else float(v[gi])) for k, v in values.items()},
            )
        )
    rows.sort(key=lambda r: tuple((v is None, v if v is not None else 0) for v in r.group.values()))
    return rows
