"""The canonical report document: the one shape every stage agrees on.

The parser produces a ``ReportDocument``; both stores index it; the API serialises it through schemas
derived from these dataclasses (``indexer.schema``); the Elasticsearch mapping is generated from the
same fields (``store.es_mapping``). Change the document here and everything follows.

Field metadata used by the derivations:
  ``search``: "keyword" (exact, facetable), "text" (full-text analysed), "date", "none" (stored only).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from indexer import catalogue

# 0.2.0: totals computed where table 三 prints no 总计 column (``computed``)
# 0.3.0: blank cells of filled rows read as 0 (``blank_zero``), table 四 from its own rows only and identity-checked,
#        "未发生行政复议、行政诉讼" (``from_text``), one-cell-per-line text, 2019/2021 column names harmonised
# 0.4.0: table-三 rows that read several ways settled together by the table's identities (``aligned``)
PARSER_VERSION = "0.4.0"

# The six sections of the template, plus the five sub-items of 一、总体情况, as (key, Chinese name).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("overview", "一、总体情况"),
    ("active", "二、主动公开政府信息情况"),
    ("applications", "三、收到和处理政府信息公开申请情况"),
    ("review", "四、政府信息公开行政复议、行政诉讼情况"),
    ("problems", "五、存在的主要问题及改进情况"),
    ("other", "六、其他需要报告的事项"),
)
OVERVIEW_ITEMS: tuple[tuple[str, str], ...] = (
    ("overview.active", "主动公开"),
    ("overview.application", "依申请公开"),
    ("overview.management", "政府信息管理"),
    ("overview.platform", "平台建设"),
    ("overview.supervision", "监督保障"),
)
SECTION_KEYS: tuple[str, ...] = tuple(k for k, _ in SECTIONS + OVERVIEW_ITEMS)
SECTION_NAMES: dict[str, str] = dict(SECTIONS + OVERVIEW_ITEMS)

SOURCE_FORMATS = ("html", "pdf", "docx", "doc", "wps", "xlsx", "xls", "text", "markdown", "image", "unknown")
TEMPLATES = ("2021", "2019", "pre2019", "unknown")
AGENCY_TYPES = ("人民政府", "办公厅", "部门", "乡镇街道", "其他")
LEVELS = ("省", "市", "县", "乡镇", "未知")
CHECK_STATUSES = ("ok", "failed", "incomplete")  # document-level: any failed → failed; none checkable → incomplete


def _kw(**extra: Any) -> dict[str, Any]:
    return {"search": "keyword", **extra}


@dataclass(slots=True)
class Agency:
    name: str = field(default="", metadata=_kw())  # as published, e.g. "鲁山县库区乡人民政府"
    normalized_name: str = field(default="", metadata=_kw())  # e.g. "鲁山县库区乡人民政府" from "鲁山县库区乡"
    type: str = field(default="其他", metadata=_kw(choices=AGENCY_TYPES))
    level: str = field(default="未知", metadata=_kw(choices=LEVELS))
    id: str = field(default="", metadata=_kw())  # stable hash of region + normalized name


@dataclass(slots=True)
class Region:
    province: str = field(default="", metadata=_kw())
    city: str = field(default="", metadata=_kw())
    county: str = field(default="", metadata=_kw())
    township: str = field(default="", metadata=_kw())
    code: str = field(default="", metadata=_kw())  # administrative-division code when known


@dataclass(slots=True)
class Section:
    key: str = field(default="", metadata=_kw(choices=SECTION_KEYS))
    title: str = field(default="", metadata={"search": "none"})  # heading as published
    text: str = field(default="", metadata={"search": "text"})
    original: str = field(default="", metadata={"search": "none"})  # as published, when ``text`` was converted


@dataclass(slots=True)
class Check:
    """One accounting identity evaluated on one report."""

    name: str = field(default="", metadata=_kw())  # e.g. "balance.total", "columns.outcomes.disclosed"
    status: str = field(default="ok", metadata=_kw(choices=("ok", "failed", "skipped")))
    expected: float | None = field(default=None, metadata={"search": "none"})
    actual: float | None = field(default=None, metadata={"search": "none"})
    message: str = field(default="", metadata={"search": "none"})


@dataclass(slots=True)
class Warning:
    code: str = field(default="", metadata=_kw())  # e.g. "missing_value", "needs_ocr", "unsupported_format"
    message: str = field(default="", metadata={"search": "none"})


@dataclass(slots=True)
class Provenance:
    url: str = field(default="", metadata=_kw())
    source_id: str = field(default="", metadata=_kw())
    content_type: str = field(default="", metadata=_kw())
    digest: str = field(default="", metadata=_kw())  # payload digest of the archived original, "sha1:BASE32"
    captured_at: str | None = field(default=None, metadata={"search": "date"})
    warc_file: str = field(default="", metadata={"search": "none"})
    path: str = field(default="", metadata={"search": "none"})  # local file, for `nianbao parse`


@dataclass(slots=True)
class Analysis:
    """Derived across reports by the insights stage (``insights``); empty until it has run."""

    series: str = field(default="", metadata=_kw())  # the same publisher across years (name variants linked)
    series_agencies: list[str] = field(default_factory=list, metadata=_kw())  # agency ids linked in the series
    previous_id: str = field(default="", metadata=_kw())  # the series' report of the previous year
    copied_previous_id: str = field(default="", metadata=_kw())  # report compared for copied.previous_ratio
    copied_previous_title: str = field(default="", metadata={"search": "none"})
    copied_peer_id: str = field(default="", metadata=_kw())  # closest other agency's report of the same year
    copied_peer_title: str = field(default="", metadata={"search": "none"})


@dataclass(slots=True)
class ReportDocument:
    id: str = field(default="", metadata=_kw())
    title: str = field(default="", metadata={"search": "text"})
    agency: Agency = field(default_factory=Agency)
    region: Region = field(default_factory=Region)
    year: int | None = field(default=None, metadata=_kw())  # the reporting year, not the publication year
    published: str | None = field(default=None, metadata={"search": "date"})  # ISO date
    period_start: str | None = field(default=None, metadata={"search": "date"})
    period_end: str | None = field(default=None, metadata={"search": "date"})
    template: str = field(default="unknown", metadata=_kw(choices=TEMPLATES))
    source_format: str = field(default="unknown", metadata=_kw(choices=SOURCE_FORMATS))
    sections: list[Section] = field(default_factory=list)
    # Flat, keyed by catalogue key. None = the report does not give it (with a warning), never a made-up 0.
    metrics: dict[str, float | int | None] = field(default_factory=dict, metadata={"search": "metrics"})
    checks: list[Check] = field(default_factory=list)
    check_status: str = field(default="incomplete", metadata=_kw(choices=CHECK_STATUSES))
    warnings: list[Warning] = field(default_factory=list)
    flags: list[str] = field(default_factory=list, metadata=_kw())  # "pre2019", "needs_ocr", "parse_failed", …
    # Metric keys nianbao computed rather than read: e.g. table 三's row totals when the report prints no 总计
    # column (the sum of the six applicant columns); their columns.<row> checks are skipped, never "ok".
    computed: list[str] = field(default_factory=list, metadata=_kw())
    # Metric keys read as 0 from a blank cell inside a filled row (the template's zero: "blank read as 0", not
    # "printed 0"); and keys the text states rather than a table ("本年度未发生行政复议、行政诉讼" → table 四 zeros).
    blank_zero: list[str] = field(default_factory=list, metadata=_kw())
    from_text: list[str] = field(default_factory=list, metadata=_kw())
    # Metric keys of table 三 whose cell only the report's identities could place: a text dump dropped blank
    # cells or ran digits together, or a conversion lost a cell, so the row alone reads several ways; every
    # reading of the whole table under which 一+二 = （七）+四 and （七） = the sum of the items hold gives this value.
    aligned: list[str] = field(default_factory=list, metadata=_kw())
    provenance: Provenance = field(default_factory=Provenance)
    removed: bool = field(default=False, metadata=_kw())  # gone from its site; the archive keeps it
    last_seen: str | None = field(default=None, metadata={"search": "date"})
    parser_version: str = field(default=PARSER_VERSION, metadata=_kw())
    analysis: Analysis = field(default_factory=Analysis)

    # -- helpers -------------------------------------------------------------------------------
    def section_text(self, key: str) -> str:
        return "\n".join(s.text for s in self.sections if s.key == key)

    def full_text(self) -> str:
        return "\n".join(s.text for s in self.sections)

    def metric(self, key: str) -> float | int | None:
        catalogue.get(key)  # unknown keys are a programming error, not a missing value
        return self.metrics.get(key)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReportDocument:
        return _from_dict(cls, data)


_NESTED = {"agency": Agency, "region": Region, "provenance": Provenance, "analysis": Analysis}
_LISTS = {"sections": Section, "checks": Check, "warnings": Warning}


_SPECIAL = frozenset(_NESTED) | frozenset(_LISTS)


@functools.cache
def _names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    names = _names(cls)  # dataclasses.fields per call was a third of reading a stored document
    if names.issuperset(data) and _SPECIAL.isdisjoint(data):  # a flat record (a section, check, warning)
        return cls(**data)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            continue  # tolerate documents written by a newer version
        if key in _NESTED and isinstance(value, dict):
            value = _from_dict(_NESTED[key], value)
        elif key in _LISTS and isinstance(value, list):
            value = [_from_dict(_LISTS[key], v) if isinstance(v, dict) else v for v in value]
        kwargs[key] = value
    return cls(**kwargs)


def report_id(url: str) -> str:
    """Stable id of a report: derived from its canonical location (URL, or file path for local files).

    Re-crawling or re-parsing the same location updates the same document; different locations never
    collide (64 bits of SHA-256).
    """
    return hashlib.sha256(url.strip().encode("utf-8")).hexdigest()[:16]


def agency_id(region: Region, normalized_name: str) -> str:
    key = "|".join((region.province, region.city, region.county, normalized_name))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
