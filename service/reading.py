"""A readable view of an archived original, beside its raw bytes.

* An HTML page whose stylesheets were archived too is shown as it looked: scripts, frames and forms
  removed, the archived CSS inlined, served under a sandbox CSP (nothing runs, nothing loads).
* Otherwise (and for PDF, Word, Excel) a clean reading view: the text the indexer extracted, its tables
  (tab-separated lines) laid out as tables, in our own page — everything escaped by the template.
"""

from __future__ import annotations

import logging
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from bs4 import BeautifulSoup

log = logging.getLogger(__name__)

# Elements that run code, load things or submit data: never part of a reading view.
_DROP_TAGS = ("script", "noscript", "iframe", "frame", "frameset", "object", "embed", "form", "base", "meta", "link")
MAX_CSS_BYTES = 512 * 1024


@dataclass
class Block:
    kind: str  # "p" or "table"
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)


def text_blocks(text: str) -> list[Block]:
    """Paragraphs, and runs of tab-separated lines as table rows (how the extractors write tables)."""
    blocks: list[Block] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if "\t" in line:
            cells = [c.strip() for c in line.split("\t")]
            if blocks and blocks[-1].kind == "table":
                blocks[-1].rows.append(cells)
            else:
                blocks.append(Block("table", rows=[cells]))
        else:
            blocks.append(Block("p", text=line.strip()))
    for b in blocks:  # rows of one table padded to the same width
        if b.kind == "table":
            width = max(len(r) for r in b.rows)
            b.rows = [r + [""] * (width - len(r)) for r in b.rows]
    return blocks


def stylesheet_urls(html: str, page_url: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    urls = []
    for link in soup.find_all("link", href=True):
        rel = " ".join(link.get("rel") or []).lower()
        if "stylesheet" in rel:
            urls.append(urljoin(page_url, str(link["href"])))
    return urls


def archived_css(catalog: Any, read_payload: Any, html: str, page_url: str) -> list[str]:
    """The page's stylesheets that the archive holds (a successful capture of each linked URL)."""
    out = []
    for url in stylesheet_urls(html, page_url):
        try:
            caps = [c for c in catalog.captures_of(url) if c.status == 200 and c.revisit_of is None]
        except Exception:  # a catalogue without that URL, or one that cannot be read: no CSS, a clean view
            log.debug("no archived stylesheet %s", url, exc_info=True)
            continue
        if not caps:
            continue
        payload = read_payload(catalog, max(caps, key=lambda c: str(c.captured_at or "")))
        if len(payload) <= MAX_CSS_BYTES:
            out.append(payload.decode("utf-8", errors="replace"))
    return out


_CSS_DANGER = re.compile(
    r"@import[^;]*;?|url\s*\([^)]*\)|expression\s*\([^)]*\)|behavior\s*:[^;}]*|-moz-binding\s*:[^;}]*", re.I
)


def styled_page(html: str, css: list[str], banner: str) -> str:
    """The archived HTML without anything active, its archived CSS inlined (imports and external URLs
    removed: the sandbox would block them anyway), and our banner on top."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(True):
        for attr in list(tag.attrs):
            if (
                attr.lower().startswith("on")
                or attr.lower() in ("src", "srcset", "action", "formaction")
                or (
                    attr.lower() == "href" and str(tag.attrs[attr]).strip().lower().startswith(("javascript:", "data:"))
                )
            ):
                del tag.attrs[attr]
    head = soup.head or soup.new_tag("head")
    if soup.head is None:
        (soup.html or soup).insert(0, head)
    for text in css:
        style = soup.new_tag("style")
        style.string = _CSS_DANGER.sub("/* removed */", text).replace("</", "<\\/")
        head.append(style)
    body = soup.body or soup
    body.insert(0, BeautifulSoup(banner, "html.parser"))
    return str(soup)


def original_filename(url: str, content_type: str, title: str = "") -> str:
    """The file name the original had on its site (last URL path segment, decoded), else the title with the
    extension its content type implies."""
    name = unquote(posixpath.basename(urlsplit(url).path)) if url else ""
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", name).strip(". ")
    ext = _EXTENSIONS.get((content_type or "").split(";")[0].strip().lower(), "")
    if name and "." in name:
        return name
    stem = name or re.sub(r'[\\/:*?"<>|\x00-\x1f\s]+', "_", title).strip("._") or "original"
    return stem[:120] + ext


_EXTENSIONS = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "text/plain": ".txt",
}


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """RFC 6266 with an RFC 5987 ``filename*`` for non-ASCII names (and an ASCII fallback for old clients)."""
    from urllib.parse import quote

    ascii_name = filename.encode("ascii", "ignore").decode().strip() or "original"
    if ascii_name.startswith(".") or ascii_name.rsplit(".", 1)[0] in ("", "_"):
        ascii_name = "original" + (posixpath.splitext(filename)[1] if filename.isascii() else _ext_of(filename))
    ascii_name = ascii_name.replace("\\", "_").replace('"', "_")
    header = f'{disposition}; filename="{ascii_name}"'
    if not filename.isascii() or ascii_name != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


def _ext_of(filename: str) -> str:
    ext = posixpath.splitext(filename)[1]
    return ext if ext.isascii() else ""
