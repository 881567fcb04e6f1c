"""Plain text and markdown: tab-separated and pipe tables, "key: value" metadata headers, encodings.

Also the decoder used for every byte stream that is text (HTML included): BOM, then the declared charset
(HTTP header or <meta>), then charset-normalizer's guess. GBK/GB18030 are common on government sites.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from indexer.extract import Extracted, Table, is_page_chrome

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.I)
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "x-gbk", "cp936"}


def _codec(name: str) -> str | None:
    name = name.strip().lower()
    if name in _GB_FAMILY:
        return "gb18030"  # superset: GB2312/GBK pages often carry characters outside their declared set
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, content_type: str | None = None, *, sniff_meta: bool = False) -> tuple[str, str]:
    """Decode text bytes; returns (text, encoding used). Never raises: the last resort replaces bad bytes."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data.decode(enc, errors="replace"), enc
    declared: list[str] = []
    if content_type:
        m = _CHARSET.search(content_type.encode("latin-1", "replace"))
        if m:
            declared.append(m.group(1).decode("ascii"))
    if sniff_meta:
        m = _CHARSET.search(data[:4096])
        if m:
            declared.append(m.group(1).decode("ascii", "replace"))
    for name in declared:
        enc = _codec(name)
        if enc:
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                continue
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[:200_000]).best()
    enc = _codec(best.encoding) if best is not None else None
    enc = enc or "gb18030"
    return data.decode(enc, errors="replace"), enc


_META_LINE = re.compile(r"^(标题|发布时间|发文日期|成文日期|发布机构|文号|索引号)\s*[:：]\s*(.*)$")
_BODY_MARK = re.compile(r"^=+\s*正文\s*=+$")
_MD_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*")
_MD_LIST = re.compile(r"^\s*[-*+]\s+")
_META_KEYS = {
    "标题": "title",
    "发布时间": "published",
    "发文日期": "published",
    "发布机构": "publisher",
    "文号": "doc_number",
}


def _pipe_cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return [c.strip() for c in inner.split("|")]


def extract_text(data: bytes, content_type: str | None = None, *, markdown: bool = False) -> Extracted:
    text, _ = decode_bytes(data, content_type)
    return extract_text_str(text, markdown=markdown)


def extract_text_str(text: str, *, markdown: bool = False) -> Extracted:
    """Lines become text blocks; runs of tab-separated or pipe lines become tables."""
    out = Extracted()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # An archive text dump starts with "key: value" metadata, then a "=== 正文 ===" marker.
    for i, line in enumerate(lines[:15]):
        if _BODY_MARK.match(line.strip()):
            for meta_line in lines[:i]:
                m = _META_LINE.match(meta_line.strip())
                if m and m.group(1) in _META_KEYS and m.group(2).strip():
                    key = _META_KEYS[m.group(1)]
                    if key == "title":
                        out.title = m.group(2).strip()
                    else:
                        out.meta[key] = m.group(2).strip()
            lines = lines[i + 1 :]
            break
    table: Table | None = None
    for raw in lines:
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or is_page_chrome(stripped):
            continue
        if stripped.startswith("|") and stripped.count("|") >= 2:
            if _MD_RULE.match(stripped):
                continue
            table = table or Table()
            table.rows.append(_pipe_cells(stripped))
            continue
        if "\t" in line:
            table = table or Table()
            table.rows.append([c.strip() for c in line.split("\t")])
            continue
        if table is not None:
            out.blocks.append(table)
            table = None
        if markdown or stripped.startswith("#"):
            stripped = _MD_HEADING.sub("", stripped)
            stripped = _MD_LIST.sub("", stripped)
        out.blocks.append(stripped)
    if table is not None:
        out.blocks.append(table)
    return out
