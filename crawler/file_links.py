"""Reports published only as files: where a page hides the file's URL, and what the server calls the file.

Government sites rarely link a report's PDF plainly. The URL sits in a pdf.js viewer address
(``/pdfjs/web/viewer.html?file=/upload/x.pdf``), in ``<iframe>``/``<embed>``/``<object>``, in
``onclick="window.open('…')"`` or a ``javascript:`` link, or in ``data-href``/``data-url``; and
``download.jsp?id=…`` endpoints name the file only in ``Content-Disposition``. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from posixpath import splitext
from urllib.parse import parse_qs, unquote_to_bytes, urlsplit

# A quoted string in a script that looks like a URL or a path (absolute, relative, or a file name with a query).
_QUOTED_URL = re.compile(
    r"""['"]((?:https?://|/|\.\.?/)[^'"\s<>]+|[\w./-]+\.(?:pdf|docx?|xlsx?|wps|ofd|s?html?|jsp|do|aspx?)"""
    r"""(?:\?[^'"\s<>]*)?)['"]""",
    re.I,
)
_VIEWER = re.compile(r"(?:^|/)(?:viewer|pdfviewer|pdfjs[\w-]*)\.(?:html?|jsp|aspx?)$", re.I)
_DOWNLOAD = re.compile(r"(?:down(?:load)?|attach|getfile|file(?:down|get)|fjxz)[\w-]*\.(?:jsp|do|aspx?|php)$", re.I)
_FILENAME_STAR = re.compile(r"filename\*\s*=\s*([\w-]+)'[\w-]*'([^;]+)", re.I)
_FILENAME = re.compile(r"""filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))""", re.I)


def url_in_script(script: str) -> str | None:
    """The URL a ``javascript:`` link or an ``onclick`` handler opens: its first quoted URL-like string."""
    match = _QUOTED_URL.search(script or "")
    return match.group(1) if match else None


def viewer_target(url: str) -> str | None:
    """The file a pdf.js-style viewer URL shows (``…/viewer.html?file=/upload/x.pdf`` → ``/upload/x.pdf``),
    still relative to the viewer's URL; None when ``url`` is not a viewer with a ``file`` parameter."""
    parts = urlsplit(url)
    if not _VIEWER.search(parts.path):
        return None
    values = parse_qs(parts.query).get("file") or parse_qs(parts.fragment).get("file")
    return values[0] if values and values[0].strip() else None


def is_download_endpoint(url: str) -> bool:
    """``download.jsp?id=…``-style URLs: the file's name and type are only known from the response."""
    parts = urlsplit(url)
    return bool(_DOWNLOAD.search(parts.path)) and bool(parts.query)


def disposition_filename(value: str) -> str | None:
    """The file name a ``Content-Disposition`` header gives, decoded as the servers that send it mean it.

    RFC 5987 ``filename*=UTF-8''%E2…`` wins; a plain ``filename=`` may be percent-encoded UTF-8 (or GBK), or
    raw GBK/UTF-8 bytes, which HTTP libraries hand over as Latin-1 text. None when there is no name.
    """
    if not value:
        return None
    star = _FILENAME_STAR.search(value)
    if star:
        charset, encoded = star.group(1), star.group(2).strip().strip('"')
        name = _decode_bytes(unquote_to_bytes(encoded), charset)
        if name:
            return _basename(name)
    plain = _FILENAME.search(value)
    if not plain:
        return None
    raw = plain.group(1) if plain.group(1) is not None else plain.group(2).strip()
    raw = re.sub(r"\\(.)", r"\1", raw)
    if "%" in raw and re.search(r"%[0-9A-Fa-f]{2}", raw):
        name = _decode_bytes(unquote_to_bytes(raw), "utf-8")
    else:
        try:
            name = _decode_bytes(raw.encode("latin-1"), "utf-8")
        except UnicodeEncodeError:  # already real text (a client that decoded it as UTF-8)
            name = raw
    return _basename(name) if name else None


def title_from_filename(name: str) -> str:
    """'2024年…年度报告.pdf' → '2024年…年度报告' (the extension is not part of the title)."""
    stem, ext = splitext(name)
    return stem if ext and len(ext) <= 5 else name


def disposition_header(filename: str, style: str) -> str:
    """A Content-Disposition value as real servers write it (for the demo site): ``gbk`` raw bytes (as a
    Latin-1 string, which is how WSGI carries header bytes), ``rfc5987`` or ``percent`` (percent-encoded UTF-8)."""
    if style == "gbk":
        return 'attachment; filename="' + filename.encode("gbk").decode("latin-1") + '"'
    quoted = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else _pct(ch) for ch in filename)
    if style == "rfc5987":
        return f"attachment; filename=\"report.pdf\"; filename*=UTF-8''{quoted}"
    if style == "percent":
        return f'attachment; filename="{quoted}"'
    raise ValueError(f"unknown Content-Disposition style {style!r}")


def _pct(ch: str) -> str:
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8"))


def _decode_bytes(data: bytes, charset: str) -> str:
    for enc in (charset or "utf-8", "utf-8", "gb18030"):
        try:
            return data.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def _basename(name: str) -> str:
    return re.split(r"[/\\]", name.strip())[-1].strip()


__all__ = [
    "disposition_filename",
    "disposition_header",
    "is_download_endpoint",
    "title_from_filename",
    "url_in_script",
    "viewer_target",
]
