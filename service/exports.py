"""Downloads: CSV that Excel opens with Chinese intact (UTF-8 with BOM), and an Atom feed."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from indexer import catalogue
from indexer.document import ReportDocument
from nianbao.spreadsheet import safe_text
from store.base import AggregationRow

BOM = "\ufeff"
ATOM_NS = "http://www.w3.org/2005/Atom"

# Columns of a search export before the chosen metrics: (header, how to read it from a document).
REPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("编号", "id"),
    ("标题", "title"),
    ("机关", "agency.name"),
    ("省份", "region.province"),
    ("城市", "region.city"),
    ("区县", "region.county"),
    ("年度", "year"),
    ("发布日期", "published"),
    ("核对结果", "check_status"),
    ("已下架", "removed"),
    ("原文地址", "provenance.url"),
)
REPORT_PATHS = [path for _, path in REPORT_COLUMNS]


def _get(doc: ReportDocument, path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        value = getattr(value, part)
    return value


CHECK_STATUS_LABELS = {"ok": "核对通过", "failed": "核对未通过", "incomplete": "无法核对"}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)  # a number (negative ones too) stays a number
    return safe_text(str(value))


def metric_header(key: str) -> str:
    """ "label（unit）[key]"; shares and relative changes in percent, like the pages."""
    from service.present import label_with_unit

    return f"{label_with_unit(key)} [{key}]"


def metric_value(key: str, value: Any) -> Any:
    """A metric's CSV value: shares and relative changes as percentages (42.9 for 0.429), like the pages."""
    from service.present import is_percent_metric

    if value is None or not is_percent_metric(key):
        return value
    return round(value * 100, 1)


def _lines(rows: Iterable[Sequence[Any]], per_chunk: int = 200) -> Iterator[str]:
    """CSV text in chunks of rows, the BOM first: a big export streams instead of being built in memory."""
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv.writer(buf, lineterminator="\r\n")
    for i, row in enumerate(rows, 1):
        writer.writerow([_cell(v) for v in row])
        if i % per_chunk == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _write(rows: Iterable[Sequence[Any]]) -> str:
    return "".join(_lines(rows))


# Last column of a search export: which of its metric values nianbao computed (e.g. a 总计 the report does not
# print, summed from the applicant columns), so a story does not quote them as the report's own figures.
COMPUTED_HEADER = "非报告原文、由 nianbao 计算的数值 [computed]"


def reports_csv(docs: Iterable[ReportDocument], metric_keys: Sequence[str]) -> Iterator[str]:
    """One row per report: identity columns, one column per chosen metric (empty = not given), and the
    chosen metrics whose values were computed rather than read. Streamed: chunks of CSV text."""
    header = [h for h, _ in REPORT_COLUMNS] + [metric_header(k) for k in metric_keys] + [COMPUTED_HEADER]

    def rows() -> Iterable[list[Any]]:
        yield header
        for doc in docs:
            row = [_get(doc, path) for _, path in REPORT_COLUMNS]
            row[REPORT_PATHS.index("check_status")] = CHECK_STATUS_LABELS.get(doc.check_status, doc.check_status)
            computed = " ".join(k for k in metric_keys if k in doc.computed)
            yield row + [metric_value(k, doc.metrics.get(k)) for k in metric_keys] + [computed]

    return _lines(rows())


def stats_value(value_key: str, value: float | None) -> float | int | None:
    """Counts as integers (22, not 22.0); sums, minima and maxima of whole-number metrics too; averages stay."""
    if value is None:
        return None
    fn, _, key = value_key.partition(":")
    whole = fn == "count" or (
        fn in ("sum", "min", "max") and catalogue.is_metric(key) and catalogue.get(key).kind == "int"
    )
    return int(value) if whole and float(value).is_integer() else value


def stats_values(values: dict[str, float | None]) -> dict[str, float | int | None]:
    return {k: stats_value(k, v) for k, v in values.items()}


def value_label(value_key: str) -> str:
    """ "sum:applications.new.total" → "合计 · 本年新收… · 总计" for a stats column header."""
    fn, _, key = value_key.partition(":")
    names = {"sum": "合计", "avg": "平均", "min": "最小", "max": "最大", "count": "有值报告数"}
    label = catalogue.get(key).label if catalogue.is_metric(key) else key
    if catalogue.is_metric(key) and catalogue.get(key).unit in (catalogue.RATIO_UNIT, catalogue.CHANGE_UNIT):
        label += "（比例：0.5 即 50%）" if fn != "count" else ""  # the API's numbers stay ratios; pages show %
    return f"{names.get(fn, fn)} · {label}"


def stats_csv(rows: Sequence[AggregationRow], group_by: Sequence[str], value_keys: Sequence[str]) -> str:
    from service.present import facet_label

    header = [facet_label(g) for g in group_by] + ["报告数"] + [f"{value_label(k)} [{k}]" for k in value_keys]
    body = (
        [r.group.get(g) for g in group_by] + [r.count] + [stats_value(k, r.values.get(k)) for k in value_keys]
        for r in rows
    )
    return _write([header, *body])


def _iso(value: str | None) -> str:
    """Atom wants RFC 3339 date-times; reports carry ISO dates."""
    if not value:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value if "T" in value else f"{value}T00:00:00Z"


def atom_feed(docs: Sequence[ReportDocument], *, title: str, self_url: str, base_url: str) -> bytes:
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", self_url)
    sub(feed, "title", title)
    sub(feed, "updated", max((_iso(d.published or d.last_seen) for d in docs), default=_iso(None)))
    sub(feed, "link", rel="self", href=self_url)
    sub(sub(feed, "author"), "name", "nianbao 年报")
    for doc in docs:
        entry = sub(feed, "entry")
        page = f"{base_url}/reports/{doc.id}"
        sub(entry, "id", page)
        sub(entry, "title", doc.title or doc.id)
        sub(entry, "updated", _iso(doc.published or doc.last_seen))
        sub(entry, "link", rel="alternate", href=page)
        if doc.provenance.url:
            sub(entry, "link", rel="via", href=doc.provenance.url)
        summary = " ".join(p for p in (doc.agency.name, str(doc.year or ""), doc.region.county) if p)
        sub(entry, "summary", summary)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """Any table as CSV text (UTF-8 BOM first, so Excel reads the Chinese)."""
    return _write(rows)
