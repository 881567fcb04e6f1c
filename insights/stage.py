"""Every report's derived values from the records on disk (``insights.spill``), in bounded memory.

The same steps as ``derive.derive`` over the records in memory, in the order that keeps little of them at
once: series are linked from one agency node per agency; copied text of peers is computed one year at a
time (that year's signatures, LSH arrays, and a ratio and a peer per report); then each publisher's reports
are read back together, derived, and handed out as they are done.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import Any

import numpy as np

from insights.derive import Derived, finish, of_series, peers_of_year
from insights.series import AgencyNode, Series, link
from insights.spill import RecordSpill

GROUP_ROWS = 2000  # records read back from the spill at once (whole publishers)


def _series(spill: RecordSpill) -> dict[str, Series]:
    """Series linked from one node per agency; the years of each as a bit mask while reading, then as a
    frozenset shared by every agency with the same years (a set each would be most of the nodes' memory)."""
    nodes: dict[str, AgencyNode] = {}
    masks: dict[str, int] = {}
    low = min((y for y in spill.years if y), default=0)
    for agency_id, name, region, year in spill.agencies():
        node = nodes.get(agency_id)
        if node is None:
            node = nodes[agency_id] = AgencyNode(agency_id, name, region, frozenset())
            masks[agency_id] = 0
        node.reports += 1
        if year:
            masks[agency_id] |= 1 << (year - low)
    shared: dict[int, frozenset[int]] = {}
    for agency_id, node in nodes.items():
        mask = masks[agency_id]
        years = shared.get(mask)
        if years is None:
            years = shared[mask] = frozenset(low + b for b in range(mask.bit_length()) if mask >> b & 1)
        node.years = years
    del masks
    return link(nodes.values())


def derive_spilled(spill: RecordSpill) -> Iterator[tuple[str, Derived, Any]]:
    """(report id, derived values, the extra it was spilled with) for every record, publisher by publisher."""
    n = len(spill)
    if not n:
        return
    order = spill.ids_in_order()  # rank → position
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64)
    series = _series(spill)
    numbers = {id(s): k for k, s in enumerate({id(s): s for s in series.values()}.values())}
    by_number = {numbers[id(s)]: s for s in series.values()}
    # Publisher per position: its series' number, or a number of its own (-1 - position) without one.
    publisher = -1 - np.arange(n, dtype=np.int64)
    for pos, agency_id in spill.agency_of():
        if (s := series.get(agency_id)) is not None:
            publisher[pos] = numbers[id(s)]
    del series
    peer_ratio, peer_pos = _peers(spill, order, publisher)

    # Publishers one after another (those with none: each report alone), reports in id order within each.
    by_publisher = order[np.lexsort((rank[order], publisher[order]))]
    start = 0
    while start < n:
        end = min(start + GROUP_ROWS, n)
        while end < n and publisher[by_publisher[end]] == publisher[by_publisher[end - 1]]:
            end += 1  # a publisher is never split
        yield from _derive_chunk(spill, by_publisher[start:end].tolist(), publisher, by_number, peer_ratio, peer_pos)
        start = end


def _derive_chunk(
    spill: RecordSpill,
    positions: list[int],
    publisher: np.ndarray,
    by_number: dict[int, Series],
    peer_ratio: np.ndarray,
    peer_pos: np.ndarray,
) -> Iterator[tuple[str, Derived, Any]]:
    loaded = spill.records(positions)
    named = spill.titles(sorted({int(peer_pos[p]) for p in positions if peer_pos[p] >= 0}))
    for code, members in groupby(zip(positions, loaded, strict=True), key=lambda m: int(publisher[m[0]])):
        members = list(members)
        derived = of_series([rec for _, (rec, _) in members], by_number.get(code))
        for pos, (rec, extra) in members:
            ratio = None if np.isnan(peer_ratio[pos]) else float(peer_ratio[pos])
            peer_id, peer_title = named.get(int(peer_pos[pos]), ("", ""))
            yield rec.id, finish(derived[rec.id], ratio, peer_id, peer_title), extra


def _peers(spill: RecordSpill, order: np.ndarray, publisher: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """copied.peers_ratio (NaN: none) and the peer's position (-1: none) of every position, a year at a time."""
    n = len(spill)
    ratio, peer = np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
    years = np.frombuffer(spill.years, dtype=np.int32)
    eligible = order[(spill.has_shingles() & (years != 0))[order]]  # in id order
    for year in np.unique(years[eligible]):
        items = eligible[years[eligible] == year]
        sigs = spill.signatures(items)
        ratios, best = peers_of_year(sigs, publisher[items], lambda k, items=items: spill.shingles(int(items[k])))
        ratio[items] = ratios
        found = best >= 0
        peer[items[found]] = items[best[found]]
    return ratio, peer
