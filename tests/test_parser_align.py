"""The aligner (indexer/align.py): rows that read several ways, settled by the table's identities or left None.

Small grids of three cells (two parts and their total) whose column identity is written out by hand, so a
wrong search, a guess or a missing cap shows here before it shows in a report.
"""

from __future__ import annotations

from indexer.align import Candidate, align, lost_cell, placements

# Three rows A + B = C in each of three cells (two parts, then their total).
EQUATIONS = [[("A", i, 1), ("B", i, 1), ("C", i, -1)] for i in range(3)]


def test_placements_keep_order_and_row_identity() -> None:
    readings = {c.values: c.unprinted for c in placements([2, 2], 3, row_sum=True)}
    assert readings == {(2, 0, 2): frozenset({1}), (0, 2, 2): frozenset({0})}
    assert {c.values for c in placements([1, 2], 3, row_sum=True)} == set()  # 1 ≠ 2: no placement adds up


def test_lost_cell_takes_the_value_the_row_identity_gives() -> None:
    values = {c.values for c in lost_cell([1, 0, 1], 4)}
    # lost before the 1 (0 then), among the parts (0), or the total itself (the sum, 2)
    assert values == {(0, 1, 0, 1), (1, 0, 0, 1), (1, 0, 1, 2)}
    assert all(v >= 0 for c in lost_cell([5, 1, 2], 4) for v in c.values)  # never a negative cell


def test_identities_decide_a_row_that_alone_reads_two_ways() -> None:
    rows = {
        "A": placements([2, 2], 3, row_sum=True),  # (2,0,2) or (0,2,2)
        "B": [Candidate((1, 0, 1))],
        "C": [Candidate((3, 0, 3))],  # read exactly: only (2,0,2) adds up
    }
    found = align(rows, EQUATIONS)
    assert found.values["A"] == [2, 0, 2] and found.solutions == 1 and not found.capped
    assert found.unprinted["A"] == {1}


def test_undecidable_cells_stay_none() -> None:
    # A and C each read two ways, and both combinations add up: only the totals (and B) are certain.
    rows = {
        "A": placements([2, 2], 3, row_sum=True),
        "B": [Candidate((0, 0, 0))],
        "C": placements([2, 2], 3, row_sum=True),
    }
    found = align(rows, EQUATIONS)
    assert found.solutions >= 2
    assert found.values["A"] == [None, None, 2] and found.values["C"] == [None, None, 2]


def test_contradiction_gives_no_reading() -> None:
    rows = {"A": placements([2, 2], 3, row_sum=True), "B": [Candidate((1, 0, 1))], "C": [Candidate((5, 0, 5))]}
    found = align(rows, EQUATIONS)
    assert found.solutions == 0 and found.values == {}


def test_hostile_input_stops_at_the_cap_and_says_so() -> None:
    # Twenty loose rows of many readings each, tied by one equation per cell: far more combinations than the
    # budget. The search gives up within it and publishes nothing.
    rows = {f"r{i}": placements([1, 1, 1, 3], 7, row_sum=True) for i in range(20)}
    rows["sum"] = [Candidate((3, 3, 3, 3, 3, 3, 18))]
    equations = [[*((f"r{i}", c, 1) for i in range(20)), ("sum", c, -1)] for c in range(7)]
    found = align(rows, equations, max_steps=5_000)
    assert found.capped and found.values == {}


def test_hostile_flattened_table_is_bounded_and_guesses_nothing() -> None:
    # Every row of table 三 a run of twelve 1s: each cuts hundreds of ways, the table far more. The search stops
    # at its budget with a warning; no applicant cell is published.
    from parser_builders import APP_ROWS
    from test_parser_quirks import FLAT_HEADER

    from indexer.tables import read_tables

    text = "x" * 300 + FLAT_HEADER + "".join(label + "111111111111" for _key, label, _v in APP_ROWS)
    result = read_tables([[text]])
    assert any(code == "alignment_capped" for code, _ in result.warnings)
    assert all(result.metrics[f"applications.new.{c}"] is None for c in ("natural_person", "commercial", "total"))
    assert not result.aligned
