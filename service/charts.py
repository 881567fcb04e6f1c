"""Server-rendered SVG line charts (no JavaScript, no CDN): years on x, a value on y with a labelled scale.

Every year of the range gets its place on the x axis, so a year without a report is a gap in the line
(the line breaks), never two neighbours drawn as if consecutive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from service.present import number_text

# Colours told apart in print and by most colour-blind readers (Okabe–Ito), then a few more.
COLOURS = ("#a61b1b", "#0072b2", "#009e73", "#e69f00", "#cc79a7", "#56b4e9", "#d55e00", "#000000", "#7f7f7f")


def nice_ticks(low: float, high: float, count: int = 4, *, whole: bool = False) -> list[float]:
    """Round tick values from ``low`` (0 unless the data is negative) to at least ``high``; ``whole``: the
    values are counts, so the scale has no fractions (no half applications)."""
    low = min(low, 0.0)
    span = high - low
    if span <= 0:
        span = 1.0
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in steps if m * magnitude >= raw)
    if whole:
        step = max(step, 1.0)
    start = math.floor(low / step) * step
    ticks = [start]
    while ticks[-1] < high - 1e-9:
        ticks.append(ticks[-1] + step)
    if len(ticks) == 1:
        ticks.append(start + step)
    return [round(t, 10) for t in ticks]


def line_chart(
    series: Sequence[Mapping[str, Any]],
    years: Sequence[int],
    *,
    width: int = 360,
    height: int = 200,
    left: int = 52,
    right: int = 18,
    top: int = 24,
    bottom: int = 26,
    tick_text: Any = number_text,
) -> dict[str, Any]:
    """Geometry for one chart: ``series`` items have ``label`` and ``values`` {year (int or str): value or None}.

    Returns the axis ticks, the year labels and, per series, its segments (runs of consecutive known years)
    and points, in SVG user units.
    """
    all_years = list(range(min(years), max(years) + 1)) if years else []
    known = [float(v) for s in series for v in s["values"].values() if v is not None]
    whole = all(v == int(v) for v in known)
    ticks = nice_ticks(min(known, default=0.0), max(known, default=0.0), whole=whole)
    low, high = ticks[0], ticks[-1]
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(all_years) - 1, 1)

    def x_of(year: int) -> float:
        if len(all_years) == 1:
            return round(left + plot_w / 2, 1)
        return round(left + (year - all_years[0]) * step, 1)

    def y_of(value: float) -> float:
        return round(top + plot_h - (value - low) / (high - low) * plot_h, 1)

    lines = []
    for i, s in enumerate(series):
        values = {int(k): v for k, v in s["values"].items()}
        points, segments, run = [], [], []
        for year in all_years:
            value = values.get(year)
            if value is None:
                if run:
                    segments.append(run)
                run = []
                continue
            point = {"x": x_of(year), "y": y_of(float(value)), "year": year, "value": value}
            points.append(point)
            run.append(point)
        if run:
            segments.append(run)
        lines.append(
            {
                "label": s["label"],
                "colour": COLOURS[i % len(COLOURS)],
                "points": points,
                "segments": [" ".join(f"{p['x']},{p['y']}" for p in seg) for seg in segments if len(seg) > 1],
                "missing": [y for y in all_years if values.get(y) is None],
            }
        )
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": top + plot_h,
        "ticks": [{"y": y_of(t), "label": tick_text(t)} for t in ticks],
        "years": [{"x": x_of(y), "label": str(y)} for y in all_years],
        "lines": lines,
    }
