"""PDF: text lines and ruled tables with pdfplumber, in reading order, page footers dropped.

A PDF with pages but no text layer is a scan: it is handed to ``ocr`` (flag "needs_ocr" when no OCR engine
is installed).
"""

from __future__ import annotations

import io
import logging

import pdfplumber
from pdfminer.pdfparser import PDFSyntaxError

from indexer.extract import Extracted, ExtractError, Table, is_page_chrome

MAX_PAGES = 200  # annual reports are 5–40 pages; a longer PDF is read up to here, with a warning
logging.getLogger("pdfminer").setLevel(logging.ERROR)


def _cell(value: object) -> str:
    return "" if value is None else " ".join(str(value).split())


def extract_pdf(data: bytes) -> Extracted:
    out = Extracted()
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except (PDFSyntaxError, ValueError, TypeError, KeyError, AssertionError) as exc:
        raise ExtractError("parse_failed", f"PDF 无法读取 / unreadable PDF: {exc}") from exc
    with pdf:
        pages = pdf.pages
        if len(pages) > MAX_PAGES:
            out.warnings.append(("truncated", f"PDF has {len(pages)} pages; read the first {MAX_PAGES}"))
        chars = 0
        for page in pages[:MAX_PAGES]:
            chars += _read_page(page, out)
            page.flush_cache()
        meta_title = str((pdf.metadata or {}).get("Title", "") or "")
    if "报告" in meta_title:
        out.title = meta_title
    if chars == 0 and len(pages) > 0:
        from indexer.extract.ocr import ocr_pdf

        return ocr_pdf(data, out)
    return out


def _read_page(page: pdfplumber.page.Page, out: Extracted) -> int:
    """Append the page's lines and tables in vertical order; returns the number of text characters."""
    tables = page.find_tables()
    items: list[tuple[float, str | Table]] = []
    rest = page
    for table in tables:
        rows = [[_cell(c) for c in row] for row in table.extract()]
        if rows:
            items.append((table.bbox[1], Table(rows)))
        rest = rest.outside_bbox(table.bbox)
    for line in rest.extract_text_lines(keep_blank_chars=False):
        text = line["text"].strip()
        if text and not is_page_chrome(text):
            items.append((line["top"], text))
    items.sort(key=lambda item: item[0])
    merged: list[str | Table] = []
    for _, block in items:
        if isinstance(block, Table) and merged and isinstance(merged[-1], Table):
            merged[-1].rows.extend(block.rows)  # a table continued on the same page after a gap
        else:
            merged.append(block)
    out.blocks.extend(merged)
    return len(page.chars)
