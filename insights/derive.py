"""From the records of every report to each report's derived values: series, changes, checks, copying.

Pure computation (no store), in steps both drivers share: ``of_series`` (one publisher's reports),
``peers_of_year`` (one year's copied text of peers) and ``finish``. ``derive(records)`` runs them over records
in memory; the stage runs them over records on disk (``insights.stage``). Linear apart from sorting:
series are linked per (region, name root), changes look up one previous report, and copied text is
compared with one previous report and a bounded number of LSH candidates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from indexer.document import Analysis, Check
from insights import cross_checks, yoy
from insights.lsh import QUERY_CHUNK, ArrayLSH, best_candidates
from insights.records import Record
from insights.series import AgencyNode, Series, link
from insights.shingles import containment

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
    """Every report's derived values, all records in memory (the stage itself streams them from disk with
    the same steps: ``insights.stage``)."""
    recs = sorted(records, key=lambda r: r.id)  # the result must not depend on the store's order
    series = link_series(recs)
    groups: dict[str, list[Record]] = defaultdict(list)
    out: dict[str, Derived] = {}
    for r in recs:
        if (s := series.get(r.agency_id)) is not None:
            groups[s.id].append(r)
        else:
            out.update(of_series([r], None))
    for group in groups.values():
        out.update(of_series(group, series[group[0].agency_id]))
    codes: dict[str, int] = {}  # publisher of each record as a number
    publisher = np.fromiter(
        (codes.setdefault(s.id if (s := series.get(r.agency_id)) else r.id, len(codes)) for r in recs),
        dtype=np.int64,
        count=len(recs),
    )
    by_year: dict[int, list[int]] = defaultdict(list)
    for i, r in enumerate(recs):
        if r.shingles.size and r.year is not None:
            by_year[r.year].append(i)
    peer: dict[str, tuple[float, Record | None]] = {}
    for items in by_year.values():
        idx = np.asarray(items, dtype=np.int64)
        sigs = np.stack([recs[i].signature for i in items])
        ratios, best = peers_of_year(sigs, publisher[idx], lambda k, items=items: recs[items[k]].shingles)
        for k, i in enumerate(items):
            peer[recs[i].id] = float(ratios[k]), recs[items[best[k]]] if best[k] >= 0 else None
    for r in recs:
        ratio, other = peer.get(r.id, (None, None))
        finish(out[r.id], ratio, other.id if other else "", other.title if other else "")
    return out


def of_series(recs: list[Record], s: Series | None) -> dict[str, Derived]:
    """The derived values that depend on one publisher's reports (all of them, sorted by id; or one report
    of no publisher): links, year-over-year changes, cross-year checks, text copied from the previous year.
    ``finish`` adds the copied text of peers."""
    by_year: dict[int, list[Record]] = defaultdict(list)
    if s is not None:
        for r in recs:
            if r.year is not None:
                by_year[r.year].append(r)
    reps = {year: _representative(group) for year, group in by_year.items()}
    out: dict[str, Derived] = {}
    for r in recs:
        d = out[r.id] = Derived()
        d.checks.extend(r.own_checks)
        previous = reps.get(r.year - 1) if s is not None and r.year is not None else None
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
    return out


def finish(d: Derived, peers_ratio: float | None, peer_id: str, peer_title: str) -> Derived:
    """Add copied.peers_ratio (and the peer it names); drop the values that are not given."""
    d.metrics["copied.peers_ratio"] = _ratio(peers_ratio)
    if peer_id:
        d.analysis.copied_peer_id, d.analysis.copied_peer_title = peer_id, peer_title
    d.metrics = {k: v for k, v in d.metrics.items() if v is not None}  # None means "not given": not stored
    return d


def peers_of_year(
    sigs: np.ndarray, publisher: np.ndarray, shingles_of: Callable[[int], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """copied.peers_ratio of one year's reports with a narrative (numbered in id order): the exact overlap
    with the closest other publisher's report among the LSH candidates. Returns (ratio, that report's number
    or -1); a report sharing no band with another publisher's (estimated Jaccard well under 0.2) has 0.0."""
    m = len(sigs)
    ratios, best = np.zeros(m, dtype=np.float64), np.full(m, -1, dtype=np.int64)
    lsh = ArrayLSH(sigs)
    for start in range(0, m, QUERY_CHUNK):
        q, c = lsh.candidate_pairs(np.arange(start, min(start + QUERY_CHUNK, m), dtype=np.int64))
        others = publisher[q] != publisher[c]
        q, c = best_candidates(sigs, q[others], c[others])
        for i, j in zip(q.tolist(), c.tolist(), strict=True):
            ratio = containment(shingles_of(i), shingles_of(j)) or 0.0
            if best[i] < 0 or ratio > ratios[i] or (ratio == ratios[i] and j < best[i]):  # ties: the smaller id
                best[i], ratios[i] = j, ratio
    return ratios, best
