"""DOCX with python-docx: paragraphs and tables in body order, merged cells kept on their grid.

A horizontally merged cell (gridSpan) gives its text once then empty cells; a vertically merged one (vMerge
continuation) is empty. Numbers are therefore never duplicated across a merge.
"""

from __future__ import annotations

import io
import zipfile

from docx import Document
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.table import Table as DocxTable
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from indexer.extract import Extracted, ExtractError, Table


def _rows(table: DocxTable) -> list[list[str]]:
    rows: list[list[str]] = []
    for tr in table._tbl.tr_lst:
        row: list[str] = []
        for tc in tr.tc_lst:
            span = tc.grid_span or 1
            continued = tc.vMerge == "continue"
            text = "" if continued else " ".join(_Cell(tc, table).text.split())
            row.append(text)
            row.extend([""] * (span - 1))
        rows.append(row)
    return rows


def extract_docx(data: bytes) -> Extracted:
    try:
        document = Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ExtractError("parse_failed", f"DOCX 无法读取 / unreadable DOCX: {exc}") from exc
    out = Extracted()
    out.title = (document.core_properties.title or "").strip()
    body = document.element.body
    for child in body.iterchildren():
        if child.tag == qn("w:p"):
            text = Paragraph(child, document).text.strip()
            if text:
                out.blocks.append(text)
        elif child.tag == qn("w:tbl"):
            out.blocks.append(Table(_rows(DocxTable(child, document))))
    return out
