"""Linking one publisher's reports across years into a series, robust to small name changes.

An agency is first its ``agency.id`` (region + normalised name, from the parser). Ids whose names differ
only as 县政府 / 县人民政府 / 县人民政府办公室 (the same publisher: the government's report is often issued
by its general office) in the same region are candidates for one series. They are merged only when they
never published in the same year: a county whose government and general office both publish every year
has two publishers, and they stay apart. Different roots (县人民政府 vs 县财政局) are never merged. A name that
names its county (鲁山县财政局) is matched across reports whose region was read with or without the county.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from indexer.regions import gazetteer, mentions

_OFFICE = re.compile(r"(?:人民)?政府办公[室厅]$")
_GOVERNMENT = re.compile(r"(?:人民)?政府$")


def name_root(name: str) -> str:
    """县人民政府办公室 / 县政府办公室 / 县政府 / 县人民政府 → 县人民政府; any other name stays itself."""
    name = re.sub(r"\s+", "", name)
    if _OFFICE.search(name):
        return _OFFICE.sub("人民政府", name)
    if _GOVERNMENT.search(name):
        return _GOVERNMENT.sub("人民政府", name)
    return name


@dataclass(slots=True)
class AgencyNode:
    """One agency id with what linking needs: where, what name, which years."""

    id: str
    name: str
    region: tuple[str, str, str]  # province, city, county
    years: set[int] | frozenset[int] = field(default_factory=set)
    reports: int = 0


@dataclass(slots=True)
class Series:
    id: str  # the agency id of its largest member
    agencies: list[str]
    years: frozenset[int]  # shared between series with the same years (most have the same): bytes, not a set each


def place(root: str, region: tuple[str, str, str]) -> tuple[str, ...]:
    """Where a name root belongs. A name that starts with an unambiguous county/city/province (鲁山县财政局)
    locates itself, so reports whose region was read differently (with or without the county) still meet;
    any other name (城关镇人民政府: dozens of them) is only compared within the same region."""
    found = mentions(root)
    if found and found[0].start == 0 and len(found[0].codes) == 1:
        division = gazetteer().by_code.get(found[0].codes[0])
        if division is not None and division.level <= 3:
            return ("division", division.code)
    return ("region", *region)


def link(nodes: Iterable[AgencyNode]) -> dict[str, Series]:
    """agency id → its series. Deterministic: larger agencies claim a series first, ties by id."""
    groups: dict[tuple[tuple[str, ...], str], list[AgencyNode]] = defaultdict(list)
    for node in nodes:
        root = name_root(node.name)
        groups[(place(root, node.region), root)].append(node)
    out: dict[str, Series] = {}
    shared: dict[frozenset[int], frozenset[int]] = {}
    for members in groups.values():
        series: list[Series] = []
        for node in sorted(members, key=lambda n: (-n.reports, n.id)):
            home = next((s for s in series if not (s.years & node.years)), None)
            if home is None:
                home = Series(node.id, [], frozenset())
                series.append(home)
            home.agencies.append(node.id)
            years = home.years | node.years
            home.years = shared.setdefault(years, years)
            out[node.id] = home
    for s in {id(s): s for s in out.values()}.values():
        s.agencies.sort()
    return out
