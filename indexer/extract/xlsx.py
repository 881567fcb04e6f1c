"""Spreadsheets: XLSX with openpyxl, legacy XLS with xlrd. Each sheet becomes one table.

Merged ranges keep their value in the top-left cell only (both libraries do this), so numbers are never
duplicated across a merge.
"""

from __future__ import annotations

import io
import zipfile

from indexer.extract import Extracted, ExtractError, Table

MAX_ROWS = 2000


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def extract_sheet(data: bytes, fmt: str) -> Extracted:
    out = Extracted()
    try:
        sheets = _xlsx(data) if fmt == "xlsx" else _xls(data)
    except ExtractError:
        raise
    except Exception as exc:  # both libraries raise a wide variety on corrupt files
        raise ExtractError(
            "parse_failed", f"表格文件无法读取 / unreadable spreadsheet: {type(exc).__name__}: {exc}"
        ) from exc
    for rows in sheets:
        rows = [r for r in rows if any(c.strip() for c in r)]
        if not rows:
            continue
        # Lines with one cell are prose (title, headings); keep them as text so sections can be found.
        table = Table()
        for row in rows:
            cells = [c for c in row]
            while cells and not cells[-1]:
                cells.pop()
            if len([c for c in cells if c]) == 1 and len(cells[0]) > 8:
                if table.rows:
                    out.blocks.append(table)
                    table = Table()
                out.blocks.append(next(c for c in cells if c))
            else:
                table.rows.append(cells)
        if table.rows:
            out.blocks.append(table)
    return out


def _xlsx(data: bytes) -> list[list[list[str]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except zipfile.BadZipFile as exc:
        raise ExtractError("parse_failed", f"XLSX 无法读取 / unreadable XLSX: {exc}") from exc
    try:
        return [
            [[_text(v) for v in row] for row in ws.iter_rows(max_row=MAX_ROWS, values_only=True)]
            for ws in wb.worksheets
        ]
    finally:
        wb.close()


def _xls(data: bytes) -> list[list[list[str]]]:
    import xlrd

    book = xlrd.open_workbook(file_contents=data)
    return [
        [[_text(sheet.cell_value(r, c)) for c in range(sheet.ncols)] for r in range(min(sheet.nrows, MAX_ROWS))]
        for sheet in book.sheets()
    ]
