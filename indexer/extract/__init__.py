"""Format readers: each turns one input format into the common intermediate form, ``Extracted``.

``Extracted`` is reading-ordered blocks: text lines and tables (lists of rows of cell strings, merged cells
expanded so each row keeps its grid positions, the span's text in its first cell). Everything after this
point (sections, tables, region, agency) works on that form only, whatever the original format was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FORMATS = ("html", "pdf", "docx", "doc", "wps", "xlsx", "xls", "text", "markdown", "image")


class ExtractError(Exception):
    """The input could not be read as its format; ``code`` becomes a document flag."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class Table:
    rows: list[list[str]] = field(default_factory=list)


Block = str | Table


@dataclass(slots=True)
class Extracted:
    blocks: list[Block] = field(default_factory=list)
    title: str = ""  # from metadata (HTML <title>/ArticleTitle, DOCX core properties, 标题: lines)
    meta: dict[str, str] = field(default_factory=dict)  # "published", "publisher", "doc_number"
    warnings: list[tuple[str, str]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    def rows(self) -> list[list[str]]:
        """The blocks as one stream of rows: a text line is a one-cell row."""
        out: list[list[str]] = []
        for block in self.blocks:
            if isinstance(block, Table):
                out.extend(block.rows)
            else:
                out.extend([line] for line in block.split("\n") if line.strip())
        return out

    def text(self) -> str:
        """Plain text of every block, table rows tab-separated."""
        parts: list[str] = []
        for block in self.blocks:
            if isinstance(block, Table):
                parts.extend("\t".join(row) for row in block.rows)
            else:
                parts.append(block)
        return "\n".join(parts)


_FOOTER = re.compile(r"^\s*[—–\-－]+\s*\d{1,3}\s*[—–\-－]+\s*$|^\s*第\s*\d+\s*页(?:\s*[,，/共]\s*\d+\s*页)?\s*$")


def is_page_chrome(line: str) -> bool:
    """Page footers ("— 4 —", "第 3 页") interleaved with body text by PDF extraction."""
    return bool(_FOOTER.match(line))


def detect_format(data: bytes, content_type: str | None = None, filename: str | None = None) -> str:
    """The input format from magic bytes first, then content type, then file suffix."""
    head = data[:8]
    name = (filename or "").lower()
    ctype = (content_type or "").lower()
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        if b"word/" in data[:4096] or name.endswith(".docx"):
            return "docx"
        if b"xl/" in data[:4096] or name.endswith(".xlsx"):
            return "xlsx"
        if name.endswith(".xlsx") or "spreadsheet" in ctype:
            return "xlsx"
        return "docx" if "word" in ctype or name.endswith(".docx") else "unknown"
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: .doc, .xls, .wps
        if name.endswith(".xls") or "excel" in ctype:
            return "xls"
        return "wps" if name.endswith(".wps") else "doc"
    if head[:3] == b"\xff\xd8\xff" or head.startswith(b"\x89PNG") or head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image"
    for suffix, fmt in ((".pdf", "pdf"), (".docx", "docx"), (".xlsx", "xlsx"), (".xls", "xls"), (".doc", "doc")):
        if name.endswith(suffix):
            return fmt
    if name.endswith((".md", ".markdown")) or "markdown" in ctype:
        return "markdown"
    if "html" in ctype or name.endswith((".html", ".htm", ".shtml")):
        return "html"
    sniff = data[:2048].lower()
    if b"<html" in sniff or b"<!doctype html" in sniff or b"<body" in sniff or b"<table" in sniff:
        return "html"
    if "pdf" in ctype:
        return "pdf"
    return "text"


def extract(data: bytes, fmt: str, content_type: str | None = None) -> Extracted:
    """Dispatch to the reader for ``fmt``. Raises ExtractError when the bytes are not that format."""
    if fmt == "html":
        from indexer.extract.html import extract_html

        return extract_html(data, content_type)
    if fmt == "pdf":
        from indexer.extract.pdf import extract_pdf

        return extract_pdf(data)
    if fmt == "docx":
        from indexer.extract.docx import extract_docx

        return extract_docx(data)
    if fmt in ("xlsx", "xls"):
        from indexer.extract.xlsx import extract_sheet

        return extract_sheet(data, fmt)
    if fmt in ("doc", "wps"):
        from indexer.extract.doc import extract_doc

        return extract_doc(data)
    if fmt == "image":
        from indexer.extract.ocr import extract_image

        return extract_image(data)
    from indexer.extract.text import extract_text

    return extract_text(data, content_type, markdown=fmt == "markdown")
