"""HTML pages: the article body of a government site page, its tables with rowspan/colspan expanded.

lxml's HTML parser directly: BeautifulSoup over lxml was 5-10x slower on 120 KB government pages.

Text split over <p>/<br> inside a table cell ("结果<br/>纠</p><p>正") is joined without separators; block
elements outside tables become lines. Site chrome (navigation, scripts) is dropped by preferring the
article container when one is recognisable.
"""

from __future__ import annotations

import re
from itertools import repeat

from lxml import etree

from indexer.extract import Extracted, ExtractError, Table, is_page_chrome
from indexer.extract.text import decode_bytes

# Article containers used by the common Chinese government CMSs (TRS, Hanweb, ...), most specific first.
_ARTICLE_XPATHS = tuple(
    etree.XPath(xpath)  # compiled once (doc.xpath(str) compiles on every call)
    for xpath in (
        # contains(@class, …) first: cheap, and true of every div the exact test keeps (the name has no space)
        "//div[contains(@class, 'TRS_Editor')][contains(concat(' ', normalize-space(@class), ' '), ' TRS_Editor ')]",
        "//div[contains(@class, 'trs_editor_view')]"
        "[contains(concat(' ', normalize-space(@class), ' '), ' trs_editor_view ')]",
        "//*[@id='zoom']",
        "//div[contains(@class, 'article-content')]"
        "[contains(concat(' ', normalize-space(@class), ' '), ' article-content ')]",
        "//article",
        "//*[@id='content']",
        "//body",
    )
)
_INNERMOST = etree.XPath(".//table[not(.//table)]")
_ROWS = etree.XPath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")
_BLOCK_TAGS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "section", "article", "tr", "blockquote")
_DROP_TAGS = ("script", "style", "noscript", "iframe", "nav", "header", "footer", "form", "select", "button")
_SPACES = re.compile(r"[ \t\u3000\xa0]+")
_MARK = "\ue000T{}\ue000"  # private-use characters: cannot occur in a report
_MARK_RE = re.compile("\ue000T(\\d+)\ue000")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ue000]")
_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in b"\t\n\r")
# Decoders that turn a byte below 0x20 into that character only, and no other bytes into one.
_ASCII_SAFE = frozenset({"utf-8", "utf-8-sig", "gb18030", "ascii"})


def _may_hold_control(data: bytes, text: str, encoding: str) -> bool:
    """Whether ``_CONTROL`` may find anything in ``text``, told from the bytes where that is cheap (deleting
    bytes in C is ~10x faster than the regex search over a page, which finds nothing in almost every page)."""
    if "\ue000" in text or encoding not in _ASCII_SAFE:
        return True
    return len(data.translate(None, _CONTROL_BYTES)) != len(data)


# lxml.html's parser with its options, without its element classes: those are looked up by a Python call for
# every element touched (a fifth of the table reading), and only drop_tree is used from them (``_drop``).
_PARSER = etree.HTMLParser()
_PARSER_UTF8 = etree.HTMLParser(encoding="utf-8")  # for bytes already known to be UTF-8 (a <meta> may say else)


def _text(el: etree._Element) -> str:
    """Every text node under ``el``, not its tail: ``text_content()``, serialised in C (4-5x faster)."""
    return etree.tostring(el, method="text", encoding=str, with_tail=False)


def _cell_text(cell: etree._Element) -> str:
    # _text without a call; a cell with no child at all (a comment counts as one) is its text nodes alone
    text = etree.tostring(cell, method="text", encoding=str, with_tail=False) if len(cell) else cell.text or ""
    if text.isalnum():  # most cells ("0", "予以公开"): no space to fold or strip
        return text
    return _SPACES.sub(" ", text).strip()


def _span(cell: etree._Element, attr: str) -> int:
    value = cell.get(attr)
    if value is None:  # the common case: no span
        return 1
    try:
        return max(1, min(int(str(value).strip() or 1), 200))
    except ValueError:
        return 1


def table_rows(table: etree._Element) -> list[list[str]]:
    """Rows of cells with spans expanded: the text sits in the span's first cell, the others are ""."""
    rows = _ROWS(table)
    grid: list[dict[int, str]] = [{} for _ in rows]  # row → column → text; a span's first writer wins
    last_col = -1
    tostring, spaces = etree.tostring, _SPACES.sub
    # One loop, inlined (``_cell_text`` too): a report's tables hold ~300 cells, and this was a third of parsing
    # an HTML page.
    for r, tr in enumerate(rows):
        line = grid[r]
        c = 0
        for cell in tr.iterchildren("td", "th"):
            while c in line:  # covered by a span from a row above
                c += 1
            text = tostring(cell, method="text", encoding=str, with_tail=False) if len(cell) else cell.text or ""
            if not text.isalnum():  # most cells ("0", "予以公开"): no space to fold or strip
                text = spaces(" ", text).strip()
            get = cell.get
            if get("rowspan") is None and get("colspan") is None:
                line[c] = text
                c += 1
                continue
            rowspan, colspan = _span(cell, "rowspan"), _span(cell, "colspan")
            for dr in range(min(rowspan, len(rows) - r)):  # rows past the table's last only widen it
                below = grid[r + dr]
                for dc in range(colspan):
                    below.setdefault(c + dc, text if dr == 0 and dc == 0 else "")
            last_col = max(last_col, c + colspan - 1)
            c += colspan
        last_col = max(last_col, c - 1)
    if last_col < 0:
        return []
    columns = range(last_col + 1)
    return [list(map(line.get, columns, repeat(""))) for line in grid]  # line.get(c, ""), called from C


def _drop(el: etree._Element) -> None:
    """Remove ``el`` and what it holds, keeping the text that follows it (lxml.html's ``drop_tree``)."""
    parent = el.getparent()
    assert parent is not None
    if el.tail:
        previous = el.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + el.tail
        else:
            previous.tail = (previous.tail or "") + el.tail
    parent.remove(el)


def _article(doc: etree._Element) -> etree._Element:
    for xpath in _ARTICLE_XPATHS:
        for found in xpath(doc):
            if "年" in _text(found):
                return found
    return doc


def _metas(doc: etree._Element) -> dict[str, list[str]]:
    """Each <meta name> → its contents in document order (one pass instead of an XPath search per name)."""
    metas: dict[str, list[str]] = {}
    for meta in doc.iter("meta"):
        name, content = meta.get("name"), meta.get("content")
        if name is not None and content is not None:
            metas.setdefault(name, []).append(content)
    return metas


def _meta(metas: dict[str, list[str]], *names: str) -> str:
    for name in names:
        for content in metas.get(name, ()):
            if content.strip():
                return content.strip()
    return ""


def extract_html(data: bytes, content_type: str | None = None) -> Extracted:
    text, encoding = decode_bytes(data, content_type, sniff_meta=True)
    if "<" not in text:
        raise ExtractError("parse_failed", "no HTML markup found")
    source: str | bytes = text
    if _may_hold_control(data, text, encoding):
        source = _CONTROL.sub("", text)
    elif encoding == "utf-8" and "\ufffd" not in text:  # decoded as they are (no byte replaced): libxml2 reads
        source = data  # the bytes without lxml's own conversion of the text (~15 % of libxml2's parse)
    try:
        doc = etree.fromstring(source, _PARSER_UTF8 if source is data else _PARSER)
        if doc is None:  # what lxml.html.document_fromstring says of it
            raise etree.ParserError("Document is empty")
    except (etree.ParserError, ValueError) as exc:
        raise ExtractError("parse_failed", f"HTML 无法解析 / unparsable HTML: {exc}") from exc
    out = Extracted()
    metas = _metas(doc)
    out.title = _meta(metas, "ArticleTitle", "title") or " ".join((doc.findtext(".//title") or "").split())
    if published := _meta(metas, "PubDate", "pubdate", "firstpublishedtime"):
        out.meta["published"] = published
    if publisher := _meta(metas, "ContentSource", "author"):
        out.meta["publisher"] = publisher
    root = _article(doc)
    for el in list(root.iter(*_DROP_TAGS)):
        _drop(el)
    tables: list[Table] = []
    for table in _INNERMOST(root):  # an outer layout table keeps flowing as text
        rows = table_rows(table)
        if len(rows) == 1 and len(rows[0]) == 1:
            continue  # a layout cell around a paragraph
        tables.append(Table(rows))
        # The table becomes a <p> holding its marker: emptied in place, cheaper than a new element put in its
        # place (which lxml first builds in a document of its own, then moves over).
        table.clear(keep_tail=True)
        table.tag = "p"
        table.text = "\n" + _MARK.format(len(tables) - 1) + "\n"
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    for el in root.iter(*_BLOCK_TAGS):
        el.text = "\n" + (el.text or "")
        el.tail = "\n" + (el.tail or "")
    for raw in _text(root).split("\n"):
        if not raw or raw.isspace():  # most lines: the breaks added around block elements
            continue
        line = _SPACES.sub(" ", raw).strip()
        if is_page_chrome(line):
            continue
        if "\ue000" not in line:  # no table in it
            out.blocks.append(line)
            continue
        for i, piece in enumerate(_MARK_RE.split(line)):
            if i % 2:
                out.blocks.append(tables[int(piece)])
            elif piece.strip():
                out.blocks.append(piece.strip())
    return out
