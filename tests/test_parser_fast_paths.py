"""The parser's fast paths read exactly what the plain definitions they replace read.

Each shortcut taken for speed (split_run's pruned search, the folding cache, the control-character check
from the bytes, a childless cell's text read directly) is checked against the straightforward definition on
generated inputs; benchmarks/parse_same.py compares whole documents between two builds.
"""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from indexer import tables
from indexer.extract import html
from indexer.numbers import INT, Column, groups_sum, normalize, split_run, sums_to_last

MAX = settings(max_examples=150, deadline=None)


def split_run_reference(run, columns, accept=None):
    """split_run as first written: every cut of every length tried, each checked by ``Column.fits``."""
    from indexer.numbers import MAX_CANDIDATES, MAX_CELL_CHARS, MAX_STEPS

    s = normalize(run).replace(" ", "").replace(",", "")
    n = len(columns)
    out: list[list[float | int]] = []
    if not n or not s or len(s) > n * MAX_CELL_CHARS:
        return out
    budget = [MAX_STEPS]

    def walk(pos, col, acc):
        budget[0] -= 1
        if len(out) >= MAX_CANDIDATES or budget[0] < 0:
            return
        if col == n:
            if pos == len(s) and (accept is None or accept(acc)):
                out.append(list(acc))
            return
        for end in range(pos + 1, min(len(s) - (n - col - 1), pos + MAX_CELL_CHARS) + 1):
            part = s[pos:end]
            if columns[col].fits(part):
                acc.append(float(part) if "." in part else int(part))
                walk(end, col + 1, acc)
                acc.pop()

    walk(0, 0, [])
    return out


_KINDS = st.sampled_from([INT, Column(signed=True), Column(decimal=True)])
_RUNS = st.text(alphabet="0000011123456789-.,\n ", min_size=1, max_size=18)


@MAX
@given(_RUNS, st.lists(_KINDS, min_size=1, max_size=7), st.sampled_from([None, sums_to_last]))
def test_split_run_same_as_reference(run: str, columns: list[Column], accept) -> None:
    assert split_run(run, columns, accept) == split_run_reference(run, columns, accept)


@MAX
@given(st.text(alphabet="0000011123456789", min_size=1, max_size=22))
def test_split_run_table_rows_same_as_reference(run: str) -> None:
    assert split_run(run, [INT] * 7, sums_to_last) == split_run_reference(run, [INT] * 7, sums_to_last)
    check = groups_sum(5)
    assert split_run(run, [INT] * 15, check) == split_run_reference(run, [INT] * 15, check)


@MAX
@given(st.text(alphabet="予以公开不子 \u3000\xa0\u200b\t（一）１２abc钩稽", max_size=30))
def test_fold_cached_same_as_fresh(text: str) -> None:
    first, again = tables.fold(text), tables.fold(text)
    assert first == again == tables._fold(text)
    assert normalize(text) == unicodedata.normalize("NFKC", text).replace("\u200b", "").replace("\xa0", " ")


@MAX
@given(st.binary(max_size=60), st.sampled_from(["utf-8", "gb18030", "ascii", "utf-16", "cp1252"]))
def test_control_check_never_misses(data: bytes, encoding: str) -> None:
    text = data.decode(encoding, errors="replace")
    if html._CONTROL.search(text):
        assert html._may_hold_control(data, text, encoding)


@MAX
@given(
    st.lists(
        st.sampled_from(
            ["0", " 12 ", "予以\u3000公开", "<p>1</p>", "<p><span>2</span>3</p>", "<!--x-->4", "&nbsp;5", ""]
        ),
        min_size=1,
        max_size=6,
    )
)
def test_cell_text_same_as_serialised(cells: list[str]) -> None:
    page = "<html><body><table><tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr></table></body></html>"
    row = etree.fromstring(page, html._PARSER).find(".//tr")
    for cell in row:
        serialised = etree.tostring(cell, method="text", encoding=str, with_tail=False)
        expected = serialised if serialised.isalnum() else html._SPACES.sub(" ", serialised).strip()
        assert html._cell_text(cell) == expected


@MAX
@given(
    st.lists(
        st.sampled_from(["", " ", "\u3000", "\u200b", "0", "12", "—", "予以公开", " 其他 ", "1件", "(一)"]), max_size=6
    )
)
def test_split_row_same_as_plain_definition(cells: list[str]) -> None:
    from indexer.numbers import parse_cell

    last = max((i for i, c in enumerate(cells) if c.strip() and not parse_cell(c).numeric), default=-1)
    rec = tables.split_row(cells)
    values = [c.strip() for c in cells[last + 1 :]]
    if last < 0 or any(values):
        assert rec.label == " ".join(c.strip() for c in cells[: last + 1] if c.strip())
        assert (rec.cells, rec.offset) == (values, last + 1)


def test_long_texts_normalised_as_fresh() -> None:
    first, second = "（一）１２，" * 300, "予以公开２，" * 300
    for text in (first, first, second, first, second + "Ａ"):
        assert normalize(text) == unicodedata.normalize("NFKC", text).replace("\u200b", "").replace("\xa0", " ")


def test_split_run_kept_readings_are_fresh_lists() -> None:
    got = split_run("1000001", [INT] * 7, sums_to_last)
    got[0].append(99)
    assert split_run("1000001", [INT] * 7, sums_to_last) == split_run_reference("1000001", [INT] * 7, sums_to_last)


_PIECES = st.sampled_from(
    ["<p>", "</p>", "<td>", "<br>", "&nbsp;", "&amp;", "&#20013;", "予以公开", "\r\n", "\r", " ", "<!--注-->",
     "<b>1</b>", '<meta charset="gbk">', "<script>var a='<p>';</script>", "\u3000", "𠀀",
     "<table><tr><td>0</td></tr></table>"]
)  # fmt: skip


@MAX
@given(st.lists(_PIECES, max_size=12))
def test_utf8_bytes_parse_as_their_text(pieces: list[str]) -> None:
    page = "<html><head><title>t</title></head><body>" + "".join(pieces) + "</body></html>"
    from_text = etree.fromstring(page, html._PARSER)
    from_bytes = etree.fromstring(page.encode("utf-8"), html._PARSER_UTF8)
    assert etree.tostring(from_bytes, encoding=str) == etree.tostring(from_text, encoding=str)


def test_header_names_exclude_each_other() -> None:
    """header_grid takes a cell's first matching name: sound only while no word matches two names."""
    words = ["自然人", "商业", "商业企业", "科研", "科研机构", "社会公益", "社会公益组织"]
    words += ["法律服务", "法律服务机构", "其他", "总计"]
    for word in words:
        assert sum(bool(rx.match(word)) for _key, rx in tables._HEADER_NAMES) == 1, word
    assert tables._header_name(" 商业\n企业 ") == "commercial" and tables._header_name("合计") is None


@MAX
@given(st.text(alphabet="0123456789", min_size=1, max_size=17))
def test_digit_cells_read_as_the_long_way(text: str) -> None:
    from indexer.numbers import parse_cell

    cell = parse_cell(text)
    value = float(text)  # the long way: a float, an int when integral (no "." in the cell)
    assert cell.numeric and cell.value == (int(value) if len(text) > 15 else int(text))
    assert type(cell.value) is int
