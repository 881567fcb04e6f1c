"""What a response body says: its Content-Encoding undone under a cap on DECODED bytes, its charset found.

The archive keeps the body as sent; the crawler only needs the decoded entity to read links. A compressed
body is decoded while it streams in, and refused as soon as the decoded size passes the body limit: a 1 MB
gzip of zeros must not become 1 GiB in memory.
"""

from __future__ import annotations

import codecs
import re
import zlib
from dataclasses import dataclass
from typing import Protocol

import brotlicffi  # the brotlipy API, as warcio reads archived br records with it
from charset_normalizer import from_bytes

_GB_FAMILY = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936", "gb18030"}
# Labels any byte sequence decodes under (web servers' default), so a clean decode proves nothing.
_WEAK_LABELS = frozenset({"latin-1", "iso8859-1", "cp1252", "ascii"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)


class DecodedTooLarge(Exception):
    """The body decodes to more bytes than the limit."""


class UndecodableBody(Exception):
    """The body is not valid data of its Content-Encoding."""


class _Stage(Protocol):
    def feed(self, data: bytes) -> bytes: ...
    def finish(self) -> bytes: ...


class _Zlib:
    """gzip (multi-member too) or deflate, zlib-wrapped or raw; never more than ``room`` bytes at a time."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self.limit = limit
        self.out = 0
        self.obj = zlib.decompressobj(self.wbits)
        self.started = False

    def feed(self, data: bytes) -> bytes:
        parts: list[bytes] = []
        while data:
            try:
                chunk = self.obj.decompress(data, self.limit + 1 - self.out)
            except zlib.error as exc:
                if not self.started and self.wbits == zlib.MAX_WBITS:
                    self.wbits, self.obj = -zlib.MAX_WBITS, zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate
                    continue
                kind = "gzip" if self.wbits > zlib.MAX_WBITS else "deflate"
                raise UndecodableBody(f"bad {kind} data: {exc}") from exc
            self.started = True
            self.out += len(chunk)
            if self.out > self.limit:
                raise DecodedTooLarge
            parts.append(chunk)
            if self.obj.unconsumed_tail:
                data = self.obj.unconsumed_tail  # output was cut at the room left: go on from there
            elif self.obj.eof and self.obj.unused_data and self.wbits > zlib.MAX_WBITS:
                data, self.obj = self.obj.unused_data, zlib.decompressobj(self.wbits)  # next gzip member
            else:
                data = b""
        return b"".join(parts)

    def finish(self) -> bytes:
        if self.started and not self.obj.eof:
            raise UndecodableBody("compressed data ends early")
        return b""


class _Brotli:
    def __init__(self, limit: int) -> None:
        self.obj = brotlicffi.Decompressor()
        self.limit = limit
        self.out = 0

    def feed(self, data: bytes) -> bytes:
        parts: list[bytes] = []
        try:
            while True:
                chunk = self.obj.decompress(data, output_buffer_limit=self.limit + 1 - self.out)
                data = b""  # what did not fit stays inside the decoder until asked with empty input
                self.out += len(chunk)
                if self.out > self.limit:
                    raise DecodedTooLarge
                parts.append(chunk)
                if self.obj.can_accept_more_data():
                    return b"".join(parts)
        except brotlicffi.error as exc:
            raise UndecodableBody(f"bad br data: {exc}") from exc

    def finish(self) -> bytes:
        if not self.obj.is_finished():
            raise UndecodableBody("compressed data ends early")
        return b""


class BodyDecoder:
    """Undoes a Content-Encoding chain ("gzip", "br", "deflate", "gzip, br") chunk by chunk. Each stage's
    output is capped at ``limit`` bytes: past it ``DecodedTooLarge`` is raised, before more is produced."""

    SUPPORTED = ("gzip", "x-gzip", "deflate", "br")

    def __init__(self, encodings: list[str], limit: int) -> None:
        self.encodings = encodings
        self.limit = limit
        self.stages: list[_Stage] = [
            _Brotli(limit) if e == "br" else _Zlib(e, limit) for e in reversed(encodings)
        ]  # the last encoding applied is undone first
        self.size = 0
        self.parts: list[bytes] = []

    @classmethod
    def for_header(cls, content_encoding: str, limit: int) -> BodyDecoder | None:
        """A decoder, or None when the body is not encoded. Raises UndecodableBody for an unknown coding."""
        encodings = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
        encodings = [e for e in encodings if e != "identity"]
        if not encodings:
            return None
        unknown = [e for e in encodings if e not in cls.SUPPORTED]
        if unknown:
            raise UndecodableBody(f"unsupported Content-Encoding {', '.join(unknown)}")
        return cls(encodings, limit)

    def feed(self, data: bytes) -> None:
        for stage in self.stages:
            if not data:
                return
            data = stage.feed(data)
        self._keep(data)

    def finish(self) -> bytes:
        for i, stage in enumerate(self.stages):
            data = stage.finish()
            for later in self.stages[i + 1 :]:
                data = later.feed(data) if data else b""
            self._keep(data)
        return b"".join(self.parts)

    def _keep(self, data: bytes) -> None:
        if data:
            self.size += len(data)
            self.parts.append(data)


def decode_entity(body: bytes, content_encoding: str, limit: int) -> bytes:
    """A whole body decoded (as ``BodyDecoder``, in one go); raises DecodedTooLarge / UndecodableBody."""
    decoder = BodyDecoder.for_header(content_encoding, limit)
    if decoder is None:
        return body
    decoder.feed(body)
    return decoder.finish()


# -- charsets ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecodedText:
    text: str
    charset: str  # the codec that was used
    declared: str | None  # what the HTTP header or <meta> said, if anything
    replaced: bool = False  # no charset read the bytes cleanly: undecodable bytes were replaced

    @property
    def mislabelled(self) -> bool:
        return self.declared is not None and self.declared != self.charset and not self.replaced

    def note(self) -> str | None:
        """Why this page may read wrong, for the crawl's warnings; None when nothing is worth saying."""
        if self.replaced:
            said = f"declared {self.declared}" if self.declared else "no charset declared"
            return f"undecodable text: {said}, no charset reads it cleanly; read as {self.charset} with replacements"
        if self.mislabelled:
            return f"charset mislabelled: declared {self.declared}, read as {self.charset}"
        return None


def decode_page(body: bytes, content_type: str = "") -> DecodedText:
    """Text of an HTML/text page. UTF-8 when the bytes are valid UTF-8 (whatever the label: GBK text almost
    never is), else the declared charset (HTTP header, then <meta>) if it decodes cleanly, else
    charset-normalizer's guess; only when nothing reads cleanly are bad bytes replaced (and said so)."""
    declared = [c for c in (_header_charset(content_type), _meta_charset(body)) if c]
    first = declared[0] if declared else None
    if body.startswith(codecs.BOM_UTF8):
        return DecodedText(body[3:].decode("utf-8", errors="replace"), "utf-8", first)
    if body.isascii():
        return DecodedText(body.decode("ascii"), first or "ascii", first)
    strong = [c for c in declared if c not in _WEAK_LABELS]
    weak = [c for c in declared if c in _WEAK_LABELS]  # servers' default label: any byte "decodes" under it
    for charset in ("utf-8", *strong, "detect", *weak, "gb18030"):
        if charset == "detect":
            best = from_bytes(body[:200_000]).best()
            charset = _normalise_charset(best.encoding) if best is not None else None
        if charset:
            try:
                return DecodedText(body.decode(charset), charset, first)
            except (LookupError, UnicodeDecodeError):
                continue
    return DecodedText(body.decode("gb18030", errors="replace"), "gb18030", first, replaced=True)


def decode_text(body: bytes, content_type: str = "") -> str:
    """Text for link extraction (see ``decode_page``)."""
    return decode_page(body, content_type).text


def _header_charset(content_type: str) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_:.-]+)", content_type or "", re.I)
    return _normalise_charset(match.group(1)) if match else None


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:4096])
    return _normalise_charset(match.group(1).decode("ascii", "ignore")) if match else None


def _normalise_charset(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().lower()
    if name in _GB_FAMILY:
        return "gb18030"  # a superset: pages labelled gb2312 often use GBK characters
    try:
        return codecs.lookup(name).name  # "utf8", "UTF-8" → "utf-8"
    except LookupError:
        return name
