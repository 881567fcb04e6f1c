"""HTML extraction details the fast paths must keep: spans expanded into the grid (first writer wins), rows past
the table's end widening it, bad span values, header and body rows, text nodes under a cell."""

from __future__ import annotations

from lxml import etree

from indexer.extract import Table
from indexer.extract.html import _PARSER, extract_html, table_rows


def _table(markup: str) -> etree._Element:
    doc = etree.fromstring(f"<html><body>{markup}</body></html>", _PARSER)
    return doc.xpath("//table")[0]


def test_spans_fill_the_grid_with_the_text_in_the_first_cell() -> None:
    table = _table(
        "<table><thead><tr><th rowspan='2'>项目</th><th colspan='2'>申请人</th></tr></thead>"
        "<tbody><tr><td>自然人</td><td>法人</td></tr>"
        "<tr><td>一、<b>本年</b>新收</td><td>3</td><td> 4 </td></tr></tbody></table>"
    )
    assert table_rows(table) == [["项目", "申请人", ""], ["", "自然人", "法人"], ["一、本年新收", "3", "4"]]


def test_overlapping_spans_keep_the_first_writer_and_rows_past_the_end_widen_the_table() -> None:
    table = _table(
        "<table><tr><td rowspan='3'>a</td><td>b</td></tr>"
        "<tr><td colspan='2'>c</td></tr>"  # placed after a's column
        "<tr><td rowspan='5' colspan='4'>d</td></tr></table>"  # reaches past the last row and widens it
    )
    assert table_rows(table) == [["a", "b", "", "", ""], ["", "c", "", "", ""], ["", "d", "", "", ""]]


def test_bad_and_huge_span_values_read_as_one_and_two_hundred() -> None:
    table = _table("<table><tr><td colspan='x'>a</td><td colspan=' 2 '>b</td><td rowspan='0'>c</td></tr></table>")
    assert table_rows(table) == [["a", "b", "", "c"]]
    wide = _table("<table><tr><td colspan='9999'>a</td></tr><tr><td>b</td></tr></table>")
    assert [len(row) for row in table_rows(wide)] == [200, 200]


def test_a_table_without_cells_has_no_rows() -> None:
    assert table_rows(_table("<table><tr></tr></table>")) == []


def test_page_text_keeps_tables_in_place_and_drops_chrome() -> None:
    page = (
        "<html><head><meta name='ArticleTitle' content=' '><meta name='title' content='某县2024年年报'>"
        "<meta name='PubDate' content='2025-01-20'></head><body><div class='nav'>首页</div>"
        "<div id='zoom'>2024年<p>前言&nbsp;&nbsp;一段</p><script>var x = 1;</script>尾巴"
        "<table><tr><td>收到申请</td><td>5</td></tr></table><p>结语</p></div></body></html>"
    ).encode()
    out = extract_html(page)
    assert out.title == "某县2024年年报" and out.meta == {"published": "2025-01-20"}
    assert out.blocks[:3] == ["2024年", "前言 一段", "尾巴"]
    assert isinstance(out.blocks[3], Table) and out.blocks[3].rows == [["收到申请", "5"]]
    assert out.blocks[4:] == ["结语"]
