"""Store results and documents → plain dicts for the schemas and templates (Chinese labels from the catalogue)."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from indexer import catalogue
from indexer.document import SECTION_NAMES, Check, ReportDocument
from store.base import AgencySummary, Facet, Hit, SearchResult

FACET_LABELS: dict[str, str] = {
    "province": "省份",
    "city": "城市",
    "county": "区县",
    "agency": "机关",
    "agency_id": "机关编号",
    "agency_type": "机关类型",
    "level": "层级",
    "year": "年度",
    "check_status": "核对结果",
    "template": "模板",
    "source_format": "原件格式",
    "flags": "标记",
    "removed": "已下架",
    "source": "来源",
}
CHECK_STATUS_LABELS = {"ok": "核对通过", "failed": "核对未通过", "incomplete": "无法核对", "skipped": "跳过"}
SECTION_LABELS: dict[str, str] = {"title": "标题", **SECTION_NAMES}


def section_name(key: str) -> str:
    return SECTION_LABELS.get(key, key)


def facet_label(name: str) -> str:
    if name in FACET_LABELS:
        return FACET_LABELS[name]
    return catalogue.get(name).label if catalogue.is_metric(name) else name


def hit_dict(hit: Hit) -> dict[str, Any]:
    data = dataclasses.asdict(hit)
    data["fragments"] = [
        {"section": f.section, "section_name": section_name(f.section), "text": f.text} for f in hit.fragments
    ]
    data["url"] = f"/api/v1/reports/{hit.id}"
    return data


def facet_dict(facet: Facet) -> dict[str, Any]:
    return {
        "name": facet.name,
        "label": facet_label(facet.name),
        "values": [{"value": str(v.value), "count": v.count, "selected": v.selected} for v in facet.values],
        "timed_out": facet.timed_out,
    }


def search_dict(result: SearchResult) -> dict[str, Any]:
    return {
        "total": result.total,
        "hits": [hit_dict(h) for h in result.hits],
        "facets": [facet_dict(f) for f in result.facets],
        "next_cursor": result.next_cursor,
        "took_ms": result.took_ms,
    }


_MARK_RE = re.compile(r"(</?mark>)")


def safe_fragment(text: str) -> Markup:
    """Re-escape a highlighted fragment so only <mark> survives, whatever the store produced."""
    parts = _MARK_RE.split(text)
    out = []
    for part in parts:
        if part in ("<mark>", "</mark>"):
            out.append(part)
        else:
            out.append(str(escape(html.unescape(part))))
    return Markup("".join(out))


def metric_dict(m: catalogue.Metric) -> dict[str, Any]:
    data = dataclasses.asdict(m)
    data["table_label"] = catalogue.TABLE_LABELS.get(m.table, m.table)
    return data


# -- the three tables, laid out like the official template ----------------------------------------


@dataclass
class Block:
    columns: list[tuple[str, str]]  # (column key, label)
    rows: list[dict[str, Any]] = field(default_factory=list)
    unit: str = ""


def _split_label(m: catalogue.Metric) -> tuple[str, str]:
    row, _, col = m.label.partition(" · ")
    return row, col or m.label


def _row_metrics() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for m in catalogue.metrics():
        rows.setdefault(m.row, []).append(m.key)
    return rows


def check_metric_keys(name: str) -> set[str]:
    """The cells an accounting check (``indexer.checks`` names) is about, for highlighting."""
    rows = _row_metrics()
    kind, _, rest = name.partition(".")
    columns = catalogue.APPLICANT_COLUMN_KEYS
    if kind == "balance" and rest in columns:  # 一 + 二 = （七）总计 + 四, per applicant column
        sides = ("applications.new", "applications.carried_over", "outcomes.total", "applications.carried_forward")
        return {f"{row}.{rest}" for row in sides}
    if kind == "columns" and rest in rows:  # a row's applicant columns add up to its 总计
        return set(rows[rest])
    if kind == "outcomes" and rest in columns:  # the outcome items of a column add up to （七）总计
        return {
            m.key
            for m in catalogue.metrics_of_table(catalogue.TABLE_APPLICATIONS)
            if m.row.startswith("outcomes.") and m.column == rest and not m.derived
        }
    if kind == "review" and rest in rows:  # a review/litigation group's four results add up to 总计
        return set(rows[rest])
    # Any other name: every dotted run of it that is a metric key, or a row key of two parts or more.
    parts, found = name.split("."), set()
    for i in range(len(parts)):
        for j in range(i + 1, len(parts) + 1):
            candidate = ".".join(parts[i:j])
            if catalogue.is_metric(candidate):
                found.add(candidate)
            elif candidate in rows and j - i > 1:
                found.update(rows[candidate])
    return found


def failed_metric_keys(checks: Iterable[Check]) -> set[str]:
    return {key for check in checks if check.status == "failed" for key in check_metric_keys(check.name)}


def _shown(m: catalogue.Metric, doc: ReportDocument) -> bool:
    """Template-specific metrics only for their template (2021's when the template is unknown)."""
    if doc.metrics.get(m.key) is not None or m.template == "all":
        return True
    return m.template == (doc.template if doc.template in ("2019", "2021") else "2021")


# Rows of the official table 三 preceded by a heading line that carries no numbers.
GROUP_HEADINGS: dict[str, str] = {"outcomes.disclosed": "三、本年度办理结果"}


def metric_tables(doc: ReportDocument) -> list[dict[str, Any]]:
    failed = failed_metric_keys(doc.checks)
    computed = set(doc.computed)
    blank_zero, from_text = set(doc.blank_zero), set(doc.from_text)
    tables = []
    for table, table_label in catalogue.TABLE_LABELS.items():
        # Rows in catalogue order, each with its shown columns; consecutive rows sharing columns share a block.
        row_order: list[str] = []
        row_metrics: dict[str, list[catalogue.Metric]] = {}
        for m in catalogue.metrics_of_table(table):
            if not _shown(m, doc):
                continue
            if m.row not in row_metrics:
                row_order.append(m.row)
                row_metrics[m.row] = []
            row_metrics[m.row].append(m)
        blocks: list[Block] = []
        for row in row_order:
            ms = row_metrics[row]
            columns = [(m.column, _split_label(m)[1]) for m in ms]
            units = {m.unit for m in ms}
            unit = units.pop() if len(units) == 1 else ""
            if not blocks or blocks[-1].columns != columns or blocks[-1].unit != unit:
                blocks.append(Block(columns=columns, unit=unit))
            if row in GROUP_HEADINGS:  # a heading row of the official form, without numbers
                blocks[-1].rows.append({"key": "", "label": GROUP_HEADINGS[row], "cells": []})
            blocks[-1].rows.append(
                {
                    "key": row,
                    "label": _split_label(ms[0])[0],
                    "cells": [
                        {
                            "metric": m.key,
                            "value": doc.metrics.get(m.key),
                            "failed": m.key in failed,
                            "derived": m.derived,
                            "computed": m.key in computed,
                            "blank_zero": m.key in blank_zero,
                            "from_text": m.key in from_text,
                        }
                        for m in ms
                    ],
                }
            )
        tables.append(
            {
                "key": table,
                "label": table_label,
                "metrics": [
                    {"key": m.key, "label": m.label, "unit": m.unit, "value": doc.metrics.get(m.key)}
                    for row in row_order
                    for m in row_metrics[row]
                ],
                "blocks": [
                    {"columns": [{"key": k, "label": label} for k, label in b.columns], "rows": b.rows, "unit": b.unit}
                    for b in blocks
                ],
            }
        )
    return tables


def report_detail(doc: ReportDocument) -> dict[str, Any]:
    data = doc.to_dict()
    data["tables"] = metric_tables(doc)
    data["section_names"] = {s.key: section_name(s.key) for s in doc.sections}
    base = f"/api/v1/reports/{doc.id}"
    data["links"] = {
        "self": base,
        "original": f"{base}/original",
        "captures": f"{base}/captures",
        "page": f"/reports/{doc.id}",
    }
    if doc.agency.id:
        data["links"]["agency"] = f"/api/v1/agencies/{doc.agency.id}"
    return data


# -- agencies --------------------------------------------------------------------------------------

# Headline numbers shown year by year on an agency's page (a journalist's first questions).
HEADLINE_METRICS: tuple[str, ...] = (
    "applications.new.total",
    "outcomes.disclosed.total",
    "outcomes.partially_disclosed.total",
    "outcomes.total.total",
    "review.total",
    "litigation.direct.total",
)


def agency_summary_dict(a: AgencySummary) -> dict[str, Any]:
    return dataclasses.asdict(a)


def agency_detail(docs: list[ReportDocument], metric_keys: Iterable[str] = HEADLINE_METRICS) -> dict[str, Any]:
    """An agency's reports (newest first) and each metric by year. ``docs`` must be non-empty."""
    docs = sorted(docs, key=lambda d: (d.year or 0, d.published or ""), reverse=True)
    latest = docs[0]
    years = sorted({d.year for d in docs if d.year is not None})
    by_year: dict[int, ReportDocument] = {}
    for d in docs:  # newest publication of a year wins (a re-published report replaces the old)
        if d.year is not None and d.year not in by_year and not d.removed:
            by_year[d.year] = d
    for d in docs:
        if d.year is not None and d.year not in by_year:
            by_year[d.year] = d
    series = []
    for key in metric_keys:
        m = catalogue.get(key)
        values = {str(y): by_year[y].metrics.get(key) for y in years}
        series.append({"key": key, "label": m.label, "unit": m.unit, "values": values})
    return {
        "agency": dataclasses.asdict(latest.agency),
        "region": dataclasses.asdict(latest.region),
        "reports": [
            {
                "id": d.id,
                "title": d.title,
                "year": d.year,
                "published": d.published,
                "check_status": d.check_status,
                "removed": d.removed,
            }
            for d in docs
        ],
        "years": years,
        "series": series,
    }


def sparkline(values: dict[str, float | None], width: int = 320, height: int = 80, pad: int = 8) -> dict[str, Any]:
    """Points for a small inline SVG line chart (years on x, value on y); gaps for unknown years."""
    items = sorted(values.items())
    known = [v for _, v in items if v is not None]
    if not items:
        return {"width": width, "height": height, "points": [], "max": None}
    top = max(known) if known else 0
    top = top if top > 0 else 1
    step = (width - 2 * pad) / max(len(items) - 1, 1)
    points = []
    for i, (year, value) in enumerate(items):
        if value is None:
            continue
        x = pad + i * step
        y = height - pad - (value / top) * (height - 2 * pad)
        points.append({"x": round(x, 1), "y": round(y, 1), "year": year, "value": value})
    return {"width": width, "height": height, "points": points, "max": max(known) if known else None}
