"""Year-over-year changes of the key metrics (``catalogue.YOY_METRICS``) against the previous report."""

from __future__ import annotations

from indexer import catalogue

Metrics = dict[str, float | int]


def abs_key(key: str) -> str:
    return f"yoy.{key}.abs"


def rel_key(key: str) -> str:
    return f"yoy.{key}.rel"


def changes(this: Metrics, previous: Metrics | None) -> dict[str, float | int | None]:
    """``yoy.<key>.abs`` = this − previous; ``.rel`` = (this − previous) / previous (None when previous is 0)."""
    out: dict[str, float | int | None] = {}
    for key in catalogue.YOY_METRICS:
        now = this.get(key)
        before = previous.get(key) if previous is not None else None
        if now is None or before is None:
            out[abs_key(key)] = out[rel_key(key)] = None
            continue
        diff = now - before
        if catalogue.get(key).kind == "int" and float(diff).is_integer():
            diff = int(diff)
        out[abs_key(key)] = round(diff, 6) if isinstance(diff, float) else diff
        out[rel_key(key)] = round(diff / before, 6) if before else None
    return out
