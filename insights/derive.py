"""From the records of every report to each report's derived values: series, changes, checks, copying.

Pure computation (no store): ``derive(records)`` is what the benchmark times. Linear apart from sorting:
series are linked per (region, name root), changes look up one previous report, and copied text is
compared with one previous report and a bounded number of LSH candidates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from indexer.document import Analysis, Check
from insights import cross_checks, yoy
from insights.lsh import CappedLSH, best_by_estimate
from insights.records import Record
from insights.series import AgencyNode, Series, link
from insights.shingles import NUM_PERM, containment

RATIO_DIGITS = 4


@dataclass(slots=True)
class Derived:
    """Everything the insights stage sets on one report."""

    metrics: dict[str, float | int | None] = field(default_factory=dict)  # catalogue TABLE_ANALYSIS keys
    checks: list[Check] = field(default_factory=list)  # cross.* checks
    analysis: Analysis = field(default_factory=Analysis)

    @property
    def flags(self) -> list[str]:
        """``cross.<kind>`` for each kind of failed check (carry, jump, …): a facet and filter of the search."""
        kinds = {".".join(c.name.split(".")[:2]) for c in self.checks if c.status == "failed"}
        return sorted(kinds)


def _representative(records: list[Record]) -> Record:
    """The report that stands for a publisher's year: not removed, latest published, then id."""
    return min(records, key=lambda r: (r.removed, not r.published, _neg(r.published), r.id))


def _neg(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, RATIO_DIGITS)


def link_series(records: list[Record]) -> dict[str, Series]:
    nodes: dict[str, AgencyNode] = {}
    for r in records:
        if not r.agency_id:
            continue
        node = nodes.get(r.agency_id)
        if node is None:
            node = nodes[r.agency_id] = AgencyNode(r.agency_id, r.agency_name, r.region)
        node.reports += 1
        if r.year is not None:
            node.years.add(r.year)
    return link(nodes.values())


def derive(records: Iterable[Record]) -> dict[str, Derived]:
    recs = sorted(records, key=lambda r: r.id)  # the result must not depend on the store's order
    series = link_series(recs)
    by_year: dict[tuple[str, int], list[Record]] = defaultdict(list)
    for r in recs:
        if r.agency_id and r.year is not None:
            by_year[(series[r.agency_id].id, r.year)].append(r)
    reps = {key: _representative(group) for key, group in by_year.items()}
    out: dict[str, Derived] = {}
    for r in recs:
        d = out[r.id] = Derived()
        d.checks.extend(r.own_checks)
        s = series.get(r.agency_id)
        previous = reps.get((s.id, r.year - 1)) if s is not None and r.year is not None else None
        if s is not None:
            d.analysis.series, d.analysis.series_agencies = s.id, list(s.agencies)
        if previous is not None:
            d.analysis.previous_id = previous.id
        d.metrics.update(yoy.changes(r.metrics, previous.metrics if previous else None))
        if r.year is not None and s is not None:
            prev_metrics = previous.metrics if previous else None
            d.checks.append(cross_checks.carry_over(r.metrics, prev_metrics, r.year - 1))
            d.checks.extend(cross_checks.jumps(r.metrics, prev_metrics, r.year - 1))
        ratio = containment(r.shingles, previous.shingles) if previous is not None else None
        d.metrics["copied.previous_ratio"] = _ratio(ratio)
        if ratio is not None and previous is not None:
            d.analysis.copied_previous_id, d.analysis.copied_previous_title = previous.id, previous.title
    _peers(recs, series, out)
    for d in out.values():  # None means "not given": not stored, so not kept either
        d.metrics = {k: v for k, v in d.metrics.items() if v is not None}
    return out


def _peers(recs: list[Record], series: dict[str, Series], out: dict[str, Derived]) -> None:
    """copied.peers_ratio: the closest other publisher's report of the same year, via LSH candidates."""
    sigs = np.stack([r.signature for r in recs]) if recs else np.empty((0, NUM_PERM), dtype=np.uint32)
    lsh = CappedLSH(NUM_PERM)
    for i, r in enumerate(recs):
        if r.shingles.size and r.year is not None:
            lsh.insert(r.year, i, sigs[i])

    # Publisher of each record as a number, so candidates of the same publisher are dropped in one step.
    codes: dict[str, int] = {}
    publisher = np.fromiter(
        (codes.setdefault(s.id if (s := series.get(r.agency_id)) else r.id, len(codes)) for r in recs),
        dtype=np.int64,
        count=len(recs),
    )
    for i, r in enumerate(recs):
        d = out[r.id]
        d.metrics["copied.peers_ratio"] = None
        if not r.shingles.size or r.year is None:
            continue
        found = lsh.candidates(r.year, sigs[i])
        others = found[publisher[found] != publisher[i]]
        best_j, best_ratio = -1, -1.0
        for j in best_by_estimate(sigs, i, others):
            ratio = containment(r.shingles, recs[j].shingles) or 0.0
            if ratio > best_ratio or (ratio == best_ratio and j < best_j):  # ties: the smaller id
                best_j, best_ratio = j, ratio
        if best_j < 0:
            # No report of the year shares a band (estimated Jaccard well under 0.2): nothing copied to name.
            d.metrics["copied.peers_ratio"] = 0.0
            continue
        j = best_j
        d.metrics["copied.peers_ratio"] = _ratio(best_ratio)
        d.analysis.copied_peer_id, d.analysis.copied_peer_title = recs[j].id, recs[j].title
