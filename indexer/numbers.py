"""Cell values: turning what a report prints in a table cell into a number, or saying it gives none.

Real cells carry "1,234", full-width "１２", "—", "/", "无", "" and, in flattened text extractions, digit
runs with no delimiters at all ("3000003"). A placeholder is *not* a zero: the report did not give the number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from math import comb

# Placeholders printed where a table gives no number.
PLACEHOLDERS = frozenset({"", "—", "－", "-", "–", "/", "／", "无", "空", "——", "\\", "×", "n/a", "N/A", "/ "})
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:,\d{3})*|\d*)(?:\.\d+)?$")
_NOTE = re.compile(r"[（(][^）)]*[）)]")  # "22（其中修订16件）" → 22
_UNITS = re.compile(r"(?:万元|元|件|项|条|个|次)$")


@dataclass(frozen=True, slots=True)
class Cell:
    """A parsed value cell: ``value`` is None for placeholders; ``numeric`` tells a value cell from a label."""

    value: float | int | None
    numeric: bool  # a number or a placeholder (it occupies a value column)
    placeholder: bool = False


def normalize(text: str) -> str:
    """NFKC folds full-width digits and punctuation ("１２" → "12", "，" → ","); also drop zero-width spaces."""
    global _LAST_LONG
    if text.isascii():  # most cells ("0", "12"): NFKC leaves ASCII as it is, and it holds neither space
        return text
    if len(text) < _LONG:
        return unicodedata.normalize("NFKC", text).replace("\u200b", "").replace("\xa0", " ")
    last = _LAST_LONG  # one read: another thread may replace it
    if last[0] == text:
        return last[1]
    out = unicodedata.normalize("NFKC", text).replace("\u200b", "").replace("\xa0", " ")
    _LAST_LONG = (text, out)
    return out


# NFKC costs ~0.1-0.2 µs a character, and a flattened report's table line (thousands of characters) is
# normalised twice in a row (folded with and without its spaces): the last long text's result is kept.
_LONG = 1000
_LAST_LONG = ("", "")


def to_number(text: str) -> float | int | None:
    """A number from a cell's text, or None when it is not one (placeholders included)."""
    cell = parse_cell(text)
    return cell.value if cell.numeric else None


@lru_cache(maxsize=8192)  # tables repeat the same few cells ("0") thousands of times
def parse_cell(text: str | None) -> Cell:
    """Classify a table cell: number, placeholder, or (``numeric=False``) text such as a row label."""
    if text is None:
        return Cell(None, True, True)
    if text.isdigit() and text.isascii() and len(text) <= 15:  # "0", "12": what the steps below give (a float
        return Cell(int(text), True)  # holds every integer of 15 digits exactly)
    s = normalize(text).strip()
    if s in PLACEHOLDERS or s.replace(" ", "") in PLACEHOLDERS:
        return Cell(None, True, True)
    s = _NOTE.sub("", s).strip()
    s = _UNITS.sub("", s).strip().replace(" ", "")
    if not s or not _NUMBER.match(s) or s in {"+", "-", "."}:
        return Cell(None, False)
    value = float(s.replace(",", ""))
    return Cell(int(value) if value.is_integer() and "." not in s else value, True)


# -- flattened digit runs -------------------------------------------------------------------------------
_PART_INT = re.compile(r"^(?:0|[1-9]\d*)$")
_PART_SIGNED = re.compile(r"^-?(?:0|[1-9]\d*)$")
_PART_FLOAT = re.compile(r"^(?:0|[1-9]\d*)(?:\.\d+)?$")
MAX_CANDIDATES = 2000
MAX_CELL_CHARS = 14  # "4166.214619"; no cell of an annual report is longer
MAX_STEPS = 20_000


@dataclass(frozen=True, slots=True)
class Column:
    """What a column of a flattened run may hold."""

    signed: bool = False
    decimal: bool = False

    def fits(self, part: str) -> bool:
        return bool(self.pattern().match(part))

    def pattern(self) -> re.Pattern[str]:
        if self.decimal:
            return _PART_FLOAT
        return _PART_SIGNED if self.signed else _PART_INT


INT = Column()


def split_run(
    run: str,
    columns: Sequence[Column],
    accept: Callable[[list[float | int]], bool] | None = None,
) -> list[list[float | int]]:
    """Every way to cut a delimiter-less run ("320000032") into ``len(columns)`` numbers.

    Numbers never have leading zeros ("05" is not a cell), so most runs have few readings; ``accept``
    (an accounting identity) narrows them further. Returns all surviving readings, at most MAX_CANDIDATES.
    """
    s = normalize(run).replace(" ", "").replace(",", "")
    n = len(columns)
    if not n or not s or len(s) > n * MAX_CELL_CHARS:
        return []
    key = (s, tuple(columns), accept) if accept is None or accept is sums_to_last else None
    if key is not None and (known := _SPLITS.get(key)) is not None:
        return [list(r) for r in known]
    out = _split(s, columns, accept)
    if key is not None and len(out) <= _SPLITS_KEPT:
        if len(_SPLITS) >= _SPLITS_ENTRIES:
            _SPLITS.clear()
        _SPLITS[key] = tuple(tuple(r) for r in out)
    return out


# Table rows repeat their runs from report to report ("0000000" above all): the readings of a run with few,
# for the module's own identities (a closure such as groups_sum's is new every call), are kept.
_SPLITS: dict[tuple[str, tuple[Column, ...], Callable[[list[float | int]], bool] | None], tuple] = {}
_SPLITS_KEPT = 8
_SPLITS_ENTRIES = 16_384


def _split(
    s: str, columns: Sequence[Column], accept: Callable[[list[float | int]], bool] | None
) -> list[list[float | int]]:
    n = len(columns)
    out: list[list[float | int]] = []
    budget = [MAX_STEPS]  # the search is exponential in the worst case; a run that needs more is ambiguous
    size = len(s)
    matches = [column.pattern().match for column in columns]  # Column.fits without two calls a cut
    # An unsigned integer that does not fit ("05", "1a") fits no longer either: stop trying longer cuts.
    final = [column.pattern() is _PART_INT for column in columns]

    def walk(pos: int, col: int, acc: list[float | int]) -> None:
        budget[0] -= 1
        if len(out) >= MAX_CANDIDATES or budget[0] < 0:
            return
        if col == n:
            if pos == size and (accept is None or accept(acc)):
                out.append(list(acc))
            return
        match, stop_at_misfit = matches[col], final[col]
        for end in range(pos + 1, min(size - (n - col - 1), pos + MAX_CELL_CHARS) + 1):
            part = s[pos:end]
            if match(part):
                acc.append(float(part) if "." in part else int(part))  # a cell's value
                walk(end, col + 1, acc)
                acc.pop()
            elif stop_at_misfit:
                break

    walk(0, 0, [])
    return out


def tokens(run: str) -> list[str]:
    """Whitespace-separated tokens of a run, after width folding."""
    return normalize(run).split()


def sums_to_last(values: Sequence[float | int]) -> bool:
    """The identity of a table-三 row: the six applicant columns add up to the 总计 column."""
    return abs(sum(values[:-1]) - values[-1]) < 1e-9


def groups_sum(size: int) -> Callable[[list[float | int]], bool]:
    """Identity for consecutive groups of ``size`` cells whose last is the total of the others (table 四)."""

    def check(values: list[float | int]) -> bool:
        return all(sums_to_last(values[i : i + size]) for i in range(0, len(values), size))

    return check


# -- cells that vanished ---------------------------------------------------------------------------------
MAX_PLACEMENTS = 20_000


def gap_readings(
    values: Sequence[float | int],
    n: int,
    accept: Callable[[list[float | int]], bool] | None = None,
) -> list[tuple[list[float | int], frozenset[int]]]:
    """Every distinct row of ``n`` cells holding ``values`` in order, the other cells blank (the template's 0).

    Text dumps drop blank cells ("…数量11" under seven columns is 1 and 1), so the printed values are kept in
    order and the blanks may sit anywhere; ``accept`` (the row's identity) narrows the placements. Each reading
    comes with the cells that may have been blank in it. [] when there are too many placements to try.
    """
    k = len(values)
    if k > n or comb(n, k) > MAX_PLACEMENTS:
        return []
    found: dict[tuple[float | int, ...], set[int]] = {}
    for positions in combinations(range(n), k):
        row: list[float | int] = [0] * n
        for p, v in zip(positions, values, strict=True):
            row[p] = v
        if accept is None or accept(row):
            found.setdefault(tuple(row), set()).update(set(range(n)) - set(positions))
    return [(list(row), frozenset(blanks)) for row, blanks in found.items()]


def agreed(readings: Sequence[Sequence[float | int]]) -> list[float | int | None]:
    """Per cell, the value every reading gives, else None: what is certain whichever reading is the true one."""
    if not readings:
        return []
    first = readings[0]
    return [v if all(r[i] == v for r in readings) else None for i, v in enumerate(first)]
