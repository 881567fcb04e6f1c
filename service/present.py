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
from store.base import AgencySummary, Facet, Fragment, Hit, SearchResult

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


def _bare(text: str) -> str:
    return text.strip("…")


def merge_fragments(frags: Iterable[Fragment], min_overlap: int = 8) -> list[Fragment]:
    """Fragments without repeats: a fragment inside another (a sub-section's paragraph shown again under its
    parent section) is dropped, and two that overlap (one's end is the other's start) become one."""
    out: list[Fragment] = []
    for frag in frags:
        text = _bare(frag.text)
        merged = False
        for i, kept in enumerate(out):
            have = _bare(kept.text)
            if text in have:
                merged = True
            elif have in text:
                out[i] = Fragment(kept.section, frag.text)
                merged = True
            else:
                joined = _join(have, text, min_overlap) or _join(text, have, min_overlap)
                if joined:
                    head = "…" if (kept.text if joined.startswith(have) else frag.text).startswith("…") else ""
                    tail = "…" if (frag.text if joined.startswith(have) else kept.text).endswith("…") else ""
                    out[i] = Fragment(kept.section, head + joined + tail)
                    merged = True
            if merged:
                break
        if not merged:
            out.append(frag)
    return out


def _join(first: str, second: str, min_overlap: int) -> str | None:
    """``first`` + ``second`` when the end of ``first`` is the start of ``second`` (at least min_overlap chars,
    less than either whole), the longest such overlap."""
    limit = min(len(first), len(second)) - 1
    if limit < min_overlap:
        return None
    head = second[:min_overlap]
    # Only where ``second``'s first characters occur can an overlap start: find them instead of trying every
    # length (that was quadratic in the fragment's length, and ran for every pair of fragments of every hit).
    at = first.find(head, len(first) - limit)
    while at != -1:
        if second.startswith(first[at:]):
            return first + second[len(first) - at :]
        at = first.find(head, at + 1)
    return None


_HIT_FIELDS = tuple(f.name for f in dataclasses.fields(Hit))


def hit_dict(hit: Hit) -> dict[str, Any]:
    # Shallow: a hit's dicts are built for this result alone, and asdict's deep copy was a third of a search.
    data = {name: getattr(hit, name) for name in _HIT_FIELDS}
    data["fragments"] = [
        {"section": f.section, "section_name": section_name(f.section), "text": f.text}
        for f in merge_fragments(hit.fragments)
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
    blank_zero, from_text, aligned = set(doc.blank_zero), set(doc.from_text), set(doc.aligned)
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
                            "aligned": m.key in aligned,
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
                    {
                        "columns": [{"key": k, "label": label} for k, label in b.columns],
                        "rows": b.rows,
                        "unit": "%" if b.unit in (catalogue.RATIO_UNIT, catalogue.CHANGE_UNIT) else b.unit,
                    }
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


# -- numbers, changes and times as a reader sees them ------------------------------------------------

LOCAL_TZ = "Asia/Shanghai"  # the reports' and their readers' time zone


def number_text(value: Any) -> str:
    """1234 → "1,234", 1.5 → "1.5", None → "—" (not given: never shown as 0)."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:,}"


def percent_text(ratio: float | None, *, signed: bool = False) -> str:
    """0.429 → "42.9%" (signed: "+42.9%"); whole percentages without decimals; a real minus sign."""
    if ratio is None:
        return "—"
    pct = round(ratio * 100, 1)
    body = f"{abs(pct):,.1f}".removesuffix(".0") + "%"
    if not signed or pct == 0:
        return ("−" if pct < 0 else "") + body
    return ("+" if pct > 0 else "−") + body


def change_text(abs_: float | None, rel: float | None, unit: str = "") -> str:
    """The one growth format: absolute change and percentage, "+3 件（+42.9%）"; "上年为 0" when no percentage
    can be given; "—" when the change is unknown."""
    if abs_ is None:
        return "—"
    sign = "+" if abs_ > 0 else ("−" if abs_ < 0 else "±")
    amount = f"{sign}{number_text(abs(abs_))}{(' ' + unit) if unit else ''}"
    if rel is None:
        return f"{amount}（上年为 0）" if abs_ else amount
    return f"{amount}（{percent_text(rel, signed=True)}）"


def is_percent_metric(key: str) -> bool:
    """Metrics stored as a ratio (a share, a relative change), shown as percentages."""
    return catalogue.is_metric(key) and catalogue.get(key).unit in (catalogue.RATIO_UNIT, catalogue.CHANGE_UNIT)


def metric_text(key: str, value: Any) -> str:
    """A metric's value for a page: percentages for shares and changes, signs for changes, else the number."""
    if value is None or not catalogue.is_metric(key):
        return number_text(value)
    m = catalogue.get(key)
    if m.unit in (catalogue.RATIO_UNIT, catalogue.CHANGE_UNIT):
        return percent_text(value, signed=m.signed)
    if m.signed and value:
        return ("+" if value > 0 else "−") + number_text(abs(value))
    return number_text(value)


def unit_text(key: str) -> str:
    """The unit as a reader reads it: "%" for shares and relative changes."""
    if not catalogue.is_metric(key):
        return ""
    return "%" if is_percent_metric(key) else catalogue.get(key).unit


def local_time(value: Any, *, with_time: bool = True) -> str:
    """An ISO time (UTC or with offset) as Beijing time, "2026-12-03 22:50"; a bare date stays as it is."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if value in (None, ""):
        return "—"
    text = str(value)
    if "T" not in text and " " not in text.strip():
        return text
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo(LOCAL_TZ))
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


# -- accounting checks in Chinese ----------------------------------------------------------------------

_KEY_RE = re.compile(r"[a-z_]+(?:\.[a-z_]+)+")


def _row_label(row: str) -> str | None:
    keys = _row_metrics().get(row)
    return _split_label(catalogue.get(keys[0]))[0] if keys else None


def _zh_key(match: re.Match[str]) -> str:
    key = match.group(0)
    if catalogue.is_metric(key):
        return catalogue.get(key).label.replace(" · ", "")
    return _row_label(key) or key


def _identity_text(name: str) -> str | None:
    """The identity an accounting check (``indexer.checks``) tests, in the words of the official form."""
    kind, _, rest = name.partition(".")
    columns, groups = dict(catalogue.APPLICANT_COLUMNS), dict(catalogue.REVIEW_GROUPS)
    if kind == "balance" and rest in columns:
        return f"{columns[rest]}：一、本年新收 + 二、上年结转 = （七）总计 + 四、结转下年度"
    if kind == "columns" and _row_label(rest):
        return f"{_row_label(rest)}：各申请人之和 = 总计"
    if kind == "outcomes" and rest in columns:
        return f"{columns[rest]}：（七）总计 = 各项办理结果之和"
    if kind == "review" and rest in groups:
        return f"{groups[rest]}：总计 = 四项结果之和"
    return None


def check_text(check: Check) -> str:
    """A check's description in Chinese only: the identity it tests (and whether it holds), else the Chinese
    half of its message with any metric keys replaced by their labels."""
    identity = _identity_text(check.name)
    if identity is not None:
        if check.status == "failed":
            return f"{identity}，不成立"
        if check.status == "ok":
            return identity
        return f"{identity}（{_not_run_reason(check)}）"
    zh = check.message.split(" / ", 1)[0].strip() or check.name
    return _KEY_RE.sub(_zh_key, zh)


def _not_run_reason(check: Check) -> str:
    return "报告未列总计，未核对" if "未列总计" in check.message else "缺少数据，未核对"


def checks_summary(checks: Iterable[Check]) -> dict[str, Any]:
    """Checks grouped for the report page: failed first, then passed, then the ones that could not run."""
    items = [
        {
            "name": c.name,
            "status": c.status,
            "text": check_text(c),
            "expected": c.expected,
            "actual": c.actual,
            "cells": sorted(check_metric_keys(c.name)),
        }
        for c in checks
    ]
    failed = [i for i in items if i["status"] == "failed"]
    passed = [i for i in items if i["status"] == "ok"]
    other = [i for i in items if i["status"] not in ("failed", "ok")]
    total = len(items)
    if not total:
        headline = "本报告没有可核对的数据"
    elif failed:
        headline = f"{total} 项核对中 {len(failed)} 项未通过"
    elif other:
        headline = f"{total} 项核对：{len(passed)} 项通过，{len(other)} 项因缺少数据未核对"
    else:
        headline = f"{total} 项核对全部通过"
    return {"total": total, "failed": failed, "passed": passed, "other": other, "headline": headline}


# -- the narrative, once --------------------------------------------------------------------------------

# Sections whose text carries one of the tables: on the page the table is shown laid out, not as text.
TABLE_SECTIONS = {
    "active": catalogue.TABLE_ACTIVE,
    "applications": catalogue.TABLE_APPLICATIONS,
    "review": catalogue.TABLE_REVIEW,
}
_TABLE_LINE = re.compile(r"^[\s\d.,，%％—\-－/（）()]*$")


def _prose(text: str) -> list[str]:
    """A section's paragraphs without its table: tab-separated lines and lines of bare numbers are table rows."""
    return [
        line.strip() for line in text.split("\n") if line.strip() and "\t" not in line and not _TABLE_LINE.match(line)
    ]


def narrative_sections(doc: ReportDocument) -> list[dict[str, Any]]:
    """The report's text as it reads: each part once (a sub-section （一）–（五） is inside its part 一 and is
    shown on its own only when part 一 was not found), tables left to the laid-out tables above."""
    keys = {s.key for s in doc.sections}
    out = []
    for s in doc.sections:
        parent = s.key.split(".", 1)[0]
        if "." in s.key and parent in keys:
            continue
        paragraphs = _prose(s.text)
        out.append(
            {
                "key": s.key,
                "title": s.title or section_name(s.key),
                "paragraphs": paragraphs,
                "table": TABLE_SECTIONS.get(s.key),
            }
        )
    return out


def label_with_unit(key: str) -> str:
    """A metric's label with its unit once: "收费金额（万元）" stays, "新收申请 · 总计" gets "（件）"."""
    if not catalogue.is_metric(key):
        return key
    m = catalogue.get(key)
    unit = unit_text(key)
    return m.label if not unit or f"（{m.unit}）" in m.label or f"（{unit}）" in m.label else f"{m.label}（{unit}）"


def metric_change_text(key: str, abs_: float | None, rel: float | None) -> str:
    """A metric's change from last year: "+3（+42.9%）" for counts, "+5.2 个百分点" for shares."""
    if abs_ is not None and is_percent_metric(key):
        return percent_text(abs_, signed=True).replace("%", " 个百分点")
    return change_text(abs_, rel)
