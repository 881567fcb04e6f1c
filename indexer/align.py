"""Rows whose cells came apart, aligned to the template grid with the report's own identities as constraints.

Text dumps lose cell boundaries: a one-cell-per-line dump drops blank cells ("12 3 1 2 1 19" under seven
columns), a flattened run cuts several ways ("156-5997"), a PDF conversion loses a cell of a row. Each such
row has several candidate readings (full rows of the grid); the others are read exactly. The table's identities
(per applicant column 一 + 二 = （七） + 四 and （七） = the sum of the outcome items) tie the rows together: every
combination of candidates under which they all hold is a consistent reading of the whole table.

``align`` searches those combinations depth first, one cell index of the grid at a time (partial sums pruned by
the range the rows still open can add), and returns, per cell, the value *every* consistent reading gives — None
where two readings differ. A search that reaches its step budget (hostile or very loose input) returns
``capped``, and the caller publishes nothing from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Number = float | int
Value = Number | None
Term = tuple[str, int, int]  # (row key, cell index, coefficient): an equation is Σ coefficient × cell = 0
MAX_STEPS = 100_000  # values tried + readings alive per cell set up; a dump of a whole table 三 needs ~30,000
_EPS = 1e-6


@dataclass(slots=True)
class Candidate:
    """One reading of a row: its cells, and the cells that are not printed in it (a dropped blank, a lost cell)."""

    values: tuple[Number, ...]
    unprinted: frozenset[int] = frozenset()


@dataclass(slots=True)
class Alignment:
    values: dict[str, list[Value]] = field(default_factory=dict)  # per open row: agreed cells, None where not
    unprinted: dict[str, set[int]] = field(default_factory=dict)  # cells not printed in some consistent reading
    solutions: int = 0  # consistent readings looked at (0: the identities contradict every reading)
    capped: bool = False  # the step budget ran out: nothing is certain


def align(
    rows: dict[str, list[Candidate]],
    equations: Sequence[Sequence[Term]],
    max_steps: int = MAX_STEPS,
) -> Alignment:
    """The cells every combination of one candidate per row under which all ``equations`` hold agrees on.

    ``rows`` holds every row the equations name (a row read exactly has one candidate), all of one width. One
    consistent reading is found first; then, for each cell it gives that the row alone does not decide, a
    reading with another value there is searched for — found, the cell (and any other it differs in) is not
    certain; proven absent, the cell is. All searches share ``max_steps``."""
    out = Alignment()
    if not rows or not all(rows.values()):
        return out
    given = rows
    fixed = {k: c[0].values for k, c in rows.items() if len(c) == 1}  # rows read exactly: constants
    rows = {k: c for k, c in rows.items() if len(c) > 1}
    width = len(next(iter(fixed.values())) if fixed else next(iter(rows.values()))[0].values)
    at_level: list[list[tuple[list[Term], float]]] = [[] for _ in range(width)]  # checked once their cells are fixed
    for terms in equations:
        const = sum(coef * fixed[k][cell] for k, cell, coef in terms if k in fixed)
        open_terms = [t for t in terms if t[0] not in fixed]
        if not open_terms:
            if abs(const) > _EPS:
                return out  # the rows read exactly contradict each other: nothing to align
            continue
        at_level[max(cell for _k, cell, _c in open_terms)].append((open_terms, const))
    keys = list(rows)
    for key in fixed:  # in the answer as given
        out.values[key], out.unprinted[key] = list(fixed[key]), set(given[key][0].unprinted)
    if not keys:
        out.solutions = 1
        return out
    budget = [max_steps]

    def solve(alive: dict[str, list[Candidate]], c: int = 0) -> dict[str, list[Candidate]] | None:
        """A consistent reading from cell ``c`` on (each row's candidates left share their values), or None."""
        if c == width:
            return alive
        budget[0] -= sum(len(alive[k]) for k in keys)  # setting up a cell: one step per reading still alive
        eqs = at_level[c]
        const = [fixed_part for _terms, fixed_part in eqs]  # plus the open rows' cells before c, fixed by now
        coef_at: dict[str, list[tuple[int, int]]] = {}
        for e, (terms, _fixed_part) in enumerate(eqs):
            for key, cell, coef in terms:
                if cell == c:
                    coef_at.setdefault(key, []).append((e, coef))
                else:
                    const[e] += coef * alive[key][0].values[cell]
        if any(abs(const[e]) > _EPS for e in range(len(eqs)) if not any(t[1] == c for t in eqs[e][0])):
            return None
        choices = {k: sorted({cand.values[c] for cand in alive[k]}) for k in keys}
        order = sorted(keys, key=lambda k: len(choices[k]))
        lo = [[0.0] * len(eqs) for _ in range(len(order) + 1)]  # what rows order[d:] can still add
        hi = [[0.0] * len(eqs) for _ in range(len(order) + 1)]
        for d in range(len(order) - 1, -1, -1):
            lo[d], hi[d] = list(lo[d + 1]), list(hi[d + 1])
            for e, coef in coef_at.get(order[d], ()):
                vals = [coef * v for v in choices[order[d]]]
                lo[d][e] += min(vals)
                hi[d][e] += max(vals)
        picked: dict[str, Number] = {}
        partial = list(const)

        def pick(d: int) -> dict[str, list[Candidate]] | None:
            if d == len(order):
                return solve({k: [x for x in alive[k] if x.values[c] == picked[k]] for k in keys}, c + 1)
            key = order[d]
            terms = coef_at.get(key, ())
            for v in choices[key]:
                budget[0] -= 1
                if budget[0] < 0:
                    out.capped = True
                    return None
                for e, coef in terms:
                    partial[e] += coef * v
                if all(partial[e] + lo[d + 1][e] <= _EPS and partial[e] + hi[d + 1][e] >= -_EPS for e, _c in terms):
                    picked[key] = v
                    found = pick(d + 1)
                    if found is not None or out.capped:
                        for e, coef in terms:
                            partial[e] -= coef * v
                        return found
                for e, coef in terms:
                    partial[e] -= coef * v
            return None

        return pick(0)

    def merge(found: dict[str, list[Candidate]]) -> None:
        out.solutions += 1
        for key, cands in found.items():
            unprinted = set().union(*(x.unprinted for x in cands))
            if key not in out.values:
                out.values[key], out.unprinted[key] = list(cands[0].values), unprinted
                continue
            agreed = out.values[key]
            for i, v in enumerate(cands[0].values):
                if agreed[i] is not None and abs(agreed[i] - v) > _EPS:
                    agreed[i] = None
            out.unprinted[key] |= unprinted

    first = solve(dict(rows))
    if first is not None:
        merge(first)
        for key in (k for k in keys if len(rows[k]) > 1):
            for i in range(width):
                value = out.values[key][i]
                if value is None or all(x.values[i] == value for x in rows[key]):
                    continue  # already uncertain, or the row alone decides it
                other = solve({**rows, key: [x for x in rows[key] if x.values[i] != value]})
                if out.capped:
                    break
                if other is not None:
                    merge(other)
            if out.capped:
                break
    if out.capped or not out.solutions:
        out.values, out.unprinted = {}, {}
    return out


def placements(printed: Sequence[Number], n: int, row_sum: bool) -> list[Candidate]:
    """A row of ``n`` cells of which only ``printed`` survived, in order (a dump dropped its blank cells): every
    placement with 0s in the other cells; ``row_sum``: the last cell is the total of the others."""
    from indexer.numbers import gap_readings

    readings = gap_readings(list(printed), n, (lambda r: abs(sum(r[:-1]) - r[-1]) < _EPS) if row_sum else None)
    return [Candidate(tuple(r), frozenset(b)) for r, b in readings]


def lost_cell(printed: Sequence[Number], n: int) -> list[Candidate]:
    """A row of ``n`` cells that lost one (a PDF conversion): the lost cell at each place, its value the one the
    row's identity (the last cell is the total of the others) gives; only non-negative integers."""
    if len(printed) != n - 1:
        return []
    out: dict[tuple[Number, ...], set[int]] = {}
    for p in range(n):
        cells = [*printed[:p], 0, *printed[p:]]
        value = cells[-1] - sum(cells[:-1]) if p < n - 1 else sum(cells[:-1])
        if value < 0 or value != int(value):
            continue
        cells[p] = int(value)
        out.setdefault(tuple(cells), set()).add(p)
    return [Candidate(values, frozenset(lost)) for values, lost in out.items()]
