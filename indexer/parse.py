"""Entry points: bytes or a file in, one canonical ``ReportDocument`` out — never an exception.

Stages, each on the output of the one before (``indexer.extract`` → ``sections`` → ``tables`` → ``checks``,
with ``regions`` and ``agency`` from the title). Any stage that fails leaves a flag and a warning on a
document that keeps whatever the earlier stages read.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from indexer import agency as agency_mod
from indexer import regions, script
from indexer.checks import check_status, run_checks
from indexer.document import (
    PARSER_VERSION,
    SECTIONS,
    SOURCE_FORMATS,
    Provenance,
    Region,
    ReportDocument,
    Warning,
    agency_id,
    report_id,
)
from indexer.extract import Extracted, ExtractError, detect_format, extract
from indexer.numbers import normalize
from indexer.sections import find_sections
from indexer.tables import read_tables

log = logging.getLogger(__name__)

MAX_BYTES = 64 * 1024 * 1024  # larger payloads are not annual reports; refuse rather than exhaust memory
_YEAR_IN_TITLE = re.compile(r"((?:19|20)\d{2})\s*年(?:度)?")
_PERIOD = re.compile(
    r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*(?:起)?\s*(?:至|到|—|-|～|~)\s*"
    r"(?:((?:19|20)\d{2})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*日"
)
_DATE = re.compile(r"((?:19|20)\d{2})\s*[-/年.]\s*(\d{1,2})\s*[-/月.]\s*(\d{1,2})")


def parse_file(path: Path, region: Region | str | None = None) -> ReportDocument:
    """Read ``path`` (OSError if unreadable), detect its format by content and suffix, and parse it."""
    path = Path(path)
    data = path.read_bytes()
    doc = parse_bytes(data, url=str(path), filename=path.name, region=region)
    doc.provenance.path = str(path)
    return doc


def parse_bytes(
    data: bytes,
    *,
    url: str,
    content_type: str | None = None,
    filename: str | None = None,
    region: Region | str | None = None,
    source_id: str = "",
    digest: str = "",
    captured_at: str | None = None,
    title_hint: str | None = None,
) -> ReportDocument:
    """Never raises: any failure becomes flags ("parse_failed", "unsupported_format", "needs_ocr", ...)
    and warnings on a document that keeps whatever could be read. region may be "河南省/平顶山市/鲁山县"."""
    doc = ReportDocument(
        id=report_id(url),
        provenance=Provenance(
            url=url, source_id=source_id, content_type=content_type or "", digest=digest, captured_at=captured_at
        ),
        parser_version=PARSER_VERSION,
    )
    try:
        _parse_into(doc, data, content_type, filename, region, title_hint)
    except Exception as exc:  # the contract: a document with flags, never a traceback
        log.warning("parse failed for %s: %s: %s", url, type(exc).__name__, exc)
        log.debug("parse failure detail", exc_info=True)
        _flag(doc, "parse_failed", f"解析失败 / parse failed: {type(exc).__name__}: {exc}")
        doc.check_status = "incomplete"
    _dedupe(doc)
    return doc


_REPORT_TITLE = re.compile(r"报告|年报|報告|年報")
_TOP_SECTIONS = {key for key, _name in SECTIONS}


def not_a_report(doc: ReportDocument) -> str:
    """Why ``doc`` is not an annual report ("" when it reads as one): unreadable, or none of a report title,
    the template's section headings (at least two) and its tables. One predicate for `nianbao parse` and the
    pipeline."""
    for flag in ("parse_failed", "unsupported_format", "needs_ocr"):
        if flag in doc.flags:
            reason = next((w.message for w in doc.warnings if w.code == flag), flag)
            return reason
    sections = {s.key for s in doc.sections} & _TOP_SECTIONS
    if doc.template in ("2019", "2021") or len(sections) >= 2:
        return ""
    if _REPORT_TITLE.search(doc.title) and doc.year is not None:
        return ""
    return (
        "没有年报标题、模板章节或统计表 / no report title, template section headings or tables found "
        f"(title {doc.title[:40]!r}, {len(sections)} section heading(s))"
    )


def _flag(doc: ReportDocument, flag: str, message: str) -> None:
    if flag not in doc.flags:
        doc.flags.append(flag)
    doc.warnings.append(Warning(flag, message))


def _dedupe(doc: ReportDocument) -> None:
    seen: set[tuple[str, str]] = set()
    unique: list[Warning] = []
    for w in doc.warnings:
        if (w.code, w.message) not in seen:
            seen.add((w.code, w.message))
            unique.append(w)
    doc.warnings = unique


def _parse_into(
    doc: ReportDocument,
    data: bytes,
    content_type: str | None,
    filename: str | None,
    region: Region | str | None,
    title_hint: str | None,
) -> None:
    if len(data) > MAX_BYTES:
        _flag(doc, "parse_failed", f"文件过大 / payload too large ({len(data)} bytes)")
        return
    if not data.strip():
        _flag(doc, "parse_failed", "空文件 / empty payload")
        return
    fmt = detect_format(data, content_type, filename)
    doc.source_format = fmt if fmt in SOURCE_FORMATS else "unknown"
    try:
        extracted = extract(data, fmt, content_type)
    except ExtractError as exc:
        _flag(doc, exc.code, str(exc))
        return
    for flag in extracted.flags:
        if flag not in doc.flags:
            doc.flags.append(flag)
    doc.warnings.extend(Warning(code, message) for code, message in extracted.warnings)
    _fill(doc, extracted, region, title_hint)


def _fill(doc: ReportDocument, extracted: Extracted, region: Region | str | None, title_hint: str | None) -> None:
    text = extracted.text()
    if not text.strip():
        if not doc.flags:
            _flag(doc, "parse_failed", "没有可读文本 / no readable text")
        return
    original = ""
    if script.is_traditional(text):
        original = text
        extracted = script.simplified(extracted)
        text = extracted.text()
        doc.flags.append("traditional_script")
        doc.warnings.append(
            Warning(
                "traditional_script",
                "繁体字报告：已转为简体以便检索，原文保留 / traditional script, read and "
                "indexed in simplified script; the original text is kept in each section's original",
            )
        )
    doc.title = find_title(extracted, title_hint)
    doc.year = report_year(doc.title, text)
    if not doc.title and doc.year and extracted.meta.get("publisher"):  # no title line at all: agency + year
        doc.title = f"{extracted.meta['publisher']}{doc.year}年政府信息公开工作年度报告"
    if doc.year is None:
        doc.warnings.append(Warning("missing_year", "未能确定报告年度 / reporting year not found"))
    doc.published = iso_date(extracted.meta.get("published", ""))
    doc.period_start, doc.period_end = report_period(text)
    doc.sections = find_sections(text)
    if original:
        _keep_original(doc, text, original)
    _fill_agency_region(doc, extracted, region)
    result = read_tables(extracted.rows())
    doc.metrics = result.metrics
    doc.computed = result.computed
    doc.blank_zero = result.blank_zero
    doc.from_text = result.from_text
    doc.aligned = result.aligned
    doc.warnings.extend(Warning(code, message) for code, message in result.warnings)
    if not result.found:
        if doc.year is not None and doc.year < 2019:
            doc.template = "pre2019"
            doc.flags.append("pre2019")
        else:
            doc.template = "unknown"
            doc.warnings.append(Warning("no_tables", "未找到统计表 / the template tables were not found"))
        # An old or free-form report: drop the per-row noise, keep one warning.
        doc.warnings = [w for w in doc.warnings if w.code not in ("missing_value", "cell_count")]
    else:
        doc.template = (
            result.template if result.template != "unknown" else ("2021" if (doc.year or 0) >= 2021 else "2019")
        )
    if doc.blank_zero:
        doc.flags.append("blank_zero")
    if doc.from_text:
        doc.flags.append("from_text")
    if doc.aligned:
        doc.flags.append("aligned")
    if doc.computed:  # filterable and facetable (flags=computed_totals), e.g. to leave such reports out
        doc.flags.append("computed_totals")
    doc.checks = run_checks(doc.metrics, doc.template, set(doc.computed))
    doc.check_status = check_status(doc.checks)
    if doc.check_status == "failed":
        doc.flags.append("checks_failed")


def _keep_original(doc: ReportDocument, converted: str, original: str) -> None:
    """Each section's text as published: the same span of the original (conversion keeps lengths), else the
    whole original text on the first section."""
    if len(converted) == len(original):
        pos = 0
        for section in doc.sections:
            at = converted.find(section.text, pos)
            if at < 0:
                break
            section.original = original[at : at + len(section.text)]
            pos = at + len(section.text)
        else:
            return
    if doc.sections:
        doc.sections[0].original = original


def _fill_agency_region(doc: ReportDocument, extracted: Extracted, hint: Region | str | None) -> None:
    name = agency_mod.name_from_title(doc.title) or extracted.meta.get("publisher", "")
    if not name:
        doc.warnings.append(Warning("missing_agency", "未能从标题确定发布机关 / agency name not found in the title"))
    clue = " ".join(x for x in (name, doc.title, extracted.meta.get("publisher", "")) if x)
    url = doc.provenance.url
    region, warnings = regions.resolve(clue, hint, url)
    if not region.province and not warnings:
        region, warnings = regions.resolve(extracted.text()[:300], hint, url)
    doc.region = region
    doc.warnings.extend(Warning(code, message) for code, message in warnings)
    doc.agency = agency_mod.make_agency(name, region)
    doc.agency.id = agency_id(region, doc.agency.normalized_name) if doc.agency.normalized_name else ""


def find_title(extracted: Extracted, hint: str | None = None) -> str:
    """Metadata title, else the first lines that read like one (joined when broken over lines)."""
    if extracted.title and "报告" in extracted.title:
        return _clean(extracted.title)
    lines = [b for b in extracted.blocks[:12] if isinstance(b, str) and not _BREADCRUMB.search(b)]
    for i, line in enumerate(lines):
        squeezed = re.sub(r"\s+", "", line)
        if "年" not in squeezed or len(line) > 80 or not re.search(r"政府信息公开|政务公开|信息公开", squeezed):
            continue
        if re.search(r"[，。；]", squeezed.split("报告")[0]):
            continue  # a sentence of the body, not a title
        title = line
        if not re.search(r"报告|年报", squeezed):
            following = lines[i + 1] if i + 1 < len(lines) else ""
            if len(following) > 20 or not re.search(r"报告$", following):
                continue
            title += following
        return _clean(title)
    return _clean(hint or extracted.title or "")


_BREADCRUMB = re.compile(
    r"^\s*(?:首页|当前位置|您现在的位置|位置)|\s[>＞»›]\s|[>＞»›]{1,2}\s*(?:政务公开|信息公开|政府信息)"
)


def _clean(title: str) -> str:
    title = re.sub(r"^#+\s*", "", normalize(title)).strip()
    title = re.split(r"\s+(?=根据《)", title)[0]  # flattened text runs the title into the intro
    return re.sub(r"\s+", " ", title)[:200]


def report_year(title: str, text: str) -> int | None:
    """The reporting year: from the title (not the publication date), else the statistics period."""
    m = _YEAR_IN_TITLE.search(title)
    if m:
        return int(m.group(1))
    start, _end = report_period(text)
    if start:
        return int(start[:4])
    m = _YEAR_IN_TITLE.search(text[:300])
    return int(m.group(1)) if m else None


def report_period(text: str) -> tuple[str | None, str | None]:
    m = _PERIOD.search(text[:20000])
    if not m:
        return None, None
    y1, m1, d1, y2, m2, d2 = m.groups()
    try:
        return f"{int(y1):04d}-{int(m1):02d}-{int(d1):02d}", f"{int(y2 or y1):04d}-{int(m2):02d}-{int(d2):02d}"
    except ValueError:
        return None, None


def iso_date(value: str) -> str | None:
    m = _DATE.search(value or "")
    if not m:
        return None
    y, mo, d = (int(g) for g in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"
