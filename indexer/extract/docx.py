"""DOCX with python-docx: paragraphs and tables in body order, merged cells kept on their grid.

A horizontally merged cell (gridSpan) gives its text once then empty cells; a vertically merged one (vMerge
continuation) is empty. Numbers are therefore never duplicated across a merge.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from docx import Document
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.table import Table as DocxTable
from docx.table import _Cell

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


# A report is a few hundred paragraphs and well under a megabyte of XML. Far beyond that is a bomb (a 199 KB
# file of two million empty paragraphs): refused before python-docx builds its tree.
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
MAX_PARAGRAPHS = 200_000
_TEXT, _TAB, _BREAKS = qn("w:t"), qn("w:tab"), (qn("w:br"), qn("w:cr"))


def _check_size(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            unzipped = sum(info.file_size for info in z.infolist())
            if unzipped > MAX_UNZIPPED_BYTES:
                raise ExtractError("parse_failed", f"DOCX 解压后过大 / DOCX unzips to {unzipped:,} bytes")
            xml = z.read("word/document.xml") if "word/document.xml" in z.namelist() else b""
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        return  # python-docx says what is wrong with it
    paragraphs = xml.count(b"<w:p>") + xml.count(b"<w:p ") + xml.count(b"<w:p/>")
    if paragraphs > MAX_PARAGRAPHS:
        raise ExtractError(
            "parse_failed", f"DOCX 段落过多 / DOCX has {paragraphs:,} paragraphs (cap {MAX_PARAGRAPHS:,})"
        )


def _paragraph_text(p: Any) -> str:
    """What python-docx's Paragraph.text gives (runs, hyperlinks, tabs, breaks), by one pass of lxml's
    iterator instead of an XPath query per paragraph (most of the time on a long document)."""
    parts: list[str] = []
    for el in p.iter(_TEXT, _TAB, *_BREAKS):
        if el.tag == _TEXT:
            parts.append(el.text or "")
        elif el.tag == _TAB:
            parts.append("\t")
        else:
            parts.append("\n")
    return "".join(parts)


def extract_docx(data: bytes) -> Extracted:
    _check_size(data)
    try:
        document = Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ExtractError("parse_failed", f"DOCX 无法读取 / unreadable DOCX: {exc}") from exc
    out = Extracted()
    out.title = (document.core_properties.title or "").strip()
    body = document.element.body
    for child in body.iterchildren():
        if child.tag == qn("w:p"):
            text = _paragraph_text(child).strip()
            if text:
                out.blocks.append(text)
        elif child.tag == qn("w:tbl"):
            out.blocks.append(Table(_rows(DocxTable(child, document))))
    return out
