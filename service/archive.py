"""A report's archived originals: its captures in the crawl catalogue, their payloads and text diffs."""

from __future__ import annotations

import dataclasses
import difflib
import logging
from typing import Any
from urllib.parse import quote

from bs4 import BeautifulSoup
from charset_normalizer import from_bytes

from indexer.document import ReportDocument

log = logging.getLogger(__name__)

MAX_DIFF_LINES = 5000
# Lines of each side compared: difflib is quadratic in the worst case, and a report is a few hundred lines.
# Beyond this the diff covers the first lines and says so (bounded time whatever the captures hold).
MAX_COMPARED_LINES = 4000
MAX_LINE_CHARS = 2000
_PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def header_safe(value: str) -> str:
    """HTTP header values are Latin-1: percent-encode anything else (a URL) rather than fail."""
    return (
        quote(value, safe="".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")) if not value.isascii() else value
    )


def capture_dict(capture: Any, current_digest: str = "") -> dict[str, Any]:
    data = dataclasses.asdict(capture) if dataclasses.is_dataclass(capture) else dict(vars(capture))
    for key in ("id", "revisit_of", "captured_at"):
        if data.get(key) is not None:
            data[key] = str(data[key])
    data["current"] = bool(current_digest) and data.get("digest") == current_digest
    return data


def captures(catalog: Any, doc: ReportDocument) -> list[Any]:
    if not doc.provenance.url:
        return []
    return list(catalog.captures_of(doc.provenance.url))


def original_capture(catalog: Any, doc: ReportDocument) -> Any | None:
    """The capture the document was parsed from (same digest), else the newest successful one."""
    caps = captures(catalog, doc)
    same = [c for c in caps if doc.provenance.digest and c.digest == doc.provenance.digest]
    ok = [c for c in caps if (c.status or 0) < 400]
    pool = same or ok
    return max(pool, key=lambda c: str(c.captured_at or "")) if pool else None


def find_capture(catalog: Any, doc: ReportDocument, capture_id: str) -> Any | None:
    """One of the report's own captures by id (a capture of another URL is not this report's)."""
    for c in captures(catalog, doc):
        if str(c.id) == capture_id:
            return c
    return None


def extracted_text(payload: bytes, content_type: str, url: str) -> str:
    """The text a reader sees, tables included: the indexer's extractors read every format they can."""
    try:
        from indexer.extract import detect_format, extract

        fmt = detect_format(payload, content_type, filename=url.rsplit("/", 1)[-1])
        return _tidy(extract(payload, fmt, content_type).text())
    except ImportError:
        pass
    except Exception:  # an unreadable capture must not stop the diff: fall back to plain decoding
        log.warning("extractors could not read %s for a diff; using plain text", url, exc_info=True)
    best = from_bytes(payload).best()
    text = str(best) if best is not None else payload.decode("utf-8", errors="replace")
    if "html" in (content_type or "") or text.lstrip().startswith("<"):
        text = BeautifulSoup(text, "html.parser").get_text("\n")
    return _tidy(text)


def _tidy(text: str) -> str:
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _compared(text: str) -> tuple[list[str], bool]:
    lines = text.splitlines()
    cut = len(lines) > MAX_COMPARED_LINES or any(len(line) > MAX_LINE_CHARS for line in lines)
    return [line[:MAX_LINE_CHARS] for line in lines[:MAX_COMPARED_LINES]], cut


def text_diff(old: str, new: str, old_name: str, new_name: str) -> str:
    (old_lines, old_cut), (new_lines, new_cut) = _compared(old), _compared(new)
    lines = difflib.unified_diff(old_lines, new_lines, old_name, new_name, lineterm="")
    out = []
    if old_cut or new_cut:
        out.append(f"… (compared the first {MAX_COMPARED_LINES} lines, each cut at {MAX_LINE_CHARS} characters)")
    for i, line in enumerate(lines):
        if i >= MAX_DIFF_LINES:
            out.append(f"… (diff cut at {MAX_DIFF_LINES} lines)")
            break
        out.append(line)
    return "\n".join(out)
