"""The publishing agency: its name as published, a normalised name, its type and its administrative level.

Titles name the agency before the year ("鲁山县库区乡 2024 年政府信息公开工作年度报告") or after it
("2024 年上海市科委政府信息公开工作年度报告"); a 乡/镇 named bare is its 人民政府.
"""

from __future__ import annotations

import re

from indexer.document import Agency, Region
from indexer.regions import fold_misreadings, gazetteer, mentions

_YEAR = r"(?:19|20)\d{2}\s*年(?:度)?"
_REPORT = r"(?:政府信息公开|政务公开|信息公开)"
_TITLE = re.compile(rf"^\s*(?:{_YEAR})?\s*(?P<name>.+?)\s*(?:[（(]?{_YEAR}[)）]?)?\s*{_REPORT}")
_LINKING_TAIL = re.compile(r"(?:关于|关於|印发|发布|公布)+(?:的)?$")
_DEPARTMENT_ENDINGS = ("局", "委", "委员会", "厅", "办", "中心", "院", "署", "所", "队", "处", "站", "会", "部", "科委")


def name_from_title(title: str) -> str:
    """The agency part of a report title, "" when the title does not follow the usual pattern."""
    t = re.sub(r"\s+", "", title)
    m = _TITLE.match(t)
    if not m:
        return ""
    name = re.sub(rf"{_YEAR}$", "", m.group("name")).strip("《》“”\"' ：:")
    name = _LINKING_TAIL.sub("", name)  # "卢氏县人民政府关于2024年…" names 卢氏县人民政府
    if name in ("政府", "人民政府") or not 2 <= len(name) <= 40:
        return ""
    return name


def normalize_name(name: str) -> str:
    """ "鲁山县库区乡" → "鲁山县库区乡人民政府"; "XX街道" → "XX街道办事处"; a bare county → its 人民政府."""
    name = fold_misreadings(re.sub(r"\s+", "", name))
    if not name:
        return ""
    if name.endswith(("乡", "镇")) or (name.endswith(("县", "市", "区", "省", "旗")) and _is_division(name)):
        return name + "人民政府"
    if name.endswith("街道"):
        return name + "办事处"
    if name.endswith("政府") and not name.endswith("人民政府"):
        return name[: -len("政府")] + "人民政府"
    return name


def _is_division(name: str) -> bool:
    found = mentions(name)
    return bool(found) and found[-1].start + len(found[-1].text) == len(name)


def agency_type(normalized: str) -> str:
    if re.search(r"(?:乡|镇)人民政府$|街道办事处$|街道$", normalized):
        return "乡镇街道"
    if re.search(r"人民政府办公[厅室]$|政府办公[厅室]$|管委会办公室$|管理委员会办公室$", normalized):
        return "办公厅"
    if normalized.endswith("人民政府"):
        return "人民政府"
    if normalized.endswith(_DEPARTMENT_ENDINGS):
        return "部门"
    return "其他"


def agency_level(normalized: str, kind: str, region: Region) -> str:
    """The level of government the agency belongs to: 乡镇 for townships, else the division it names."""
    if kind == "乡镇街道":
        return "乡镇"
    found = [m for m in mentions(normalized) if m.codes]
    if found:
        g = gazetteer()
        levels = [g.by_code[c].level for c in found[-1].codes if c in g.by_code]
        if levels:
            level = max(levels) if len(set(levels)) == 1 else min(levels)
            return {1: "省", 2: "市", 3: "县", 4: "乡镇"}[level]
    if region.county:
        return "县"
    if region.city and region.city != region.province:
        return "市"
    if region.province:
        return "省"
    return "未知"


def make_agency(name: str, region: Region) -> Agency:
    """An Agency without its id (the id needs the final region: ``indexer.document.agency_id``)."""
    normalized = normalize_name(name)
    kind = agency_type(normalized)
    return Agency(name=name, normalized_name=normalized, type=kind, level=agency_level(normalized, kind, region))
