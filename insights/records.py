"""The light per-report record the insights stage keeps in memory (never whole documents)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from indexer import catalogue
from indexer.document import Check, ReportDocument
from insights import content_checks
from insights.shingles import narrative, shingle_hashes, signature

# Numbers compared across years (carry-over, jumps, changes): the headline cells and every 总计, not
# all 300 cells, so memory stays small at a million reports.
TRACKED: tuple[str, ...] = tuple(
    m.key
    for m in catalogue.metrics()
    if m.table != catalogue.TABLE_ANALYSIS
    and (not m.derived or m.key in catalogue.YOY_METRICS)
    and (m.column in ("total", "decisions", "amount_wan", "issued", "in_force") or m.key in catalogue.YOY_METRICS)
)


@dataclass(slots=True)
class Record:
    id: str
    title: str
    agency_id: str
    agency_name: str
    region: tuple[str, str, str]
    year: int | None
    published: str
    removed: bool
    metrics: dict[str, float | int]  # TRACKED values the report gives
    own_checks: list[Check]  # checks on this report alone (content_checks)
    shingles: np.ndarray = field(repr=False)
    signature: np.ndarray = field(repr=False)


def record_of(doc: ReportDocument) -> Record:
    hashes = shingle_hashes(narrative(doc))
    return Record(
        id=doc.id,
        title=doc.title,
        agency_id=doc.agency.id,
        agency_name=doc.agency.normalized_name or doc.agency.name,
        region=(doc.region.province, doc.region.city, doc.region.county),
        year=doc.year,
        published=doc.published or "",
        removed=doc.removed,
        metrics={k: v for k in TRACKED if (v := doc.metrics.get(k)) is not None},
        own_checks=content_checks.run(doc),
        shingles=hashes,
        signature=signature(hashes),
    )
