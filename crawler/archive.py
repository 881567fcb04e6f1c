"""The WARC archive: the source of truth. Writing (warcio, WARC/1.1, one gzip member per record), reading, and
scanning files for crash recovery.

Every response record also carries our own ``WARC-Nianbao-*`` headers (source, region, kind, parent URL,
link title, crawl run) so the catalog can be rebuilt from the archive alone.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from crawler.encoding import DecodedTooLarge, UndecodableBody, decode_entity
from nianbao import __version__

META_PREFIX = "WARC-Nianbao-"
META_FIELDS = ("source-id", "region", "kind", "parent-url", "title", "run-id")
PROFILE_IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
PROFILE_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
_HOP_BY_HOP = {"transfer-encoding", "connection", "keep-alive"}  # the body we store is already de-chunked
_SCAN_CHUNK = 1 << 20
# A payload read back decodes to at most this (a bomb archived before the crawler capped decoded bytes, or
# under a larger max_body_bytes, is refused as unreadable instead of filling memory).
MAX_PAYLOAD_BYTES = 128 * 1024 * 1024


class ArchiveError(Exception):
    """An archived record cannot be read back."""


class PayloadTooLarge(ArchiveError):
    """An archived payload decodes (Content-Encoding undone) to more than the reader's cap: a compression
    bomb, or a file bigger than anything it should hold. Only the cap (plus one byte) was decoded."""

    def __init__(self, where: str, cap: int) -> None:
        super().__init__(f"{where}: the archived payload decodes to more than {cap:,} bytes; refused")
        self.cap = cap


@dataclass(frozen=True, slots=True)
class RecordRef:
    """Where one record sits: file name (relative to the archive directory), byte offset and length."""

    warc_file: str
    offset: int
    length: int
    record_id: str
    digest: str
    date: str  # WARC-Date, ISO 8601 with microseconds


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    reason: str
    http_version: str  # "HTTP/1.1"
    headers: list[tuple[str, str]]


def payload_digest(body: bytes) -> str:
    """The WARC payload digest warcio writes: ``sha1:`` + base32 of the SHA-1."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def warc_date(moment: datetime) -> str:
    return datetime_to_iso_date(moment.astimezone(UTC).replace(tzinfo=None), use_micros=True)


class ArchiveLock:
    """One writer per archive directory: a second crawl waits (or fails fast) instead of interleaving files."""

    def __init__(self, archive_dir: Path) -> None:
        archive_dir.mkdir(parents=True, exist_ok=True)
        self._fh = open(archive_dir / ".lock", "a+")  # noqa: SIM115 - held for the lock's lifetime

    def acquire(self, *, blocking: bool = True) -> bool:
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()


class WarcArchive:
    """Appends records to WARC files under ``archive_dir``, rotating at ``max_bytes``.

    Each process starts a fresh file, so a torn tail left by a killed crawler is never appended to.
    Callers ``sync()`` before committing catalog rows that point at the records.
    """

    def __init__(self, archive_dir: Path, max_bytes: int, *, prefix: str = "nianbao") -> None:
        self.archive_dir = archive_dir
        self.max_bytes = max_bytes
        self.prefix = prefix
        self._seq = 0
        self._fh: io.BufferedWriter | None = None
        self._name = ""
        self._writer: WARCWriter | None = None
        archive_dir.mkdir(parents=True, exist_ok=True)

    # -- writing -------------------------------------------------------------------------------------------

    def write_response(
        self,
        request: HttpRequest,
        response: HttpResponse,
        body: bytes,
        meta: dict[str, str],
        when: datetime,
    ) -> RecordRef:
        writer = self._current()
        date = warc_date(when)
        http_headers = _status_and_headers(response)
        record = writer.create_warc_record(
            request.url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=http_headers,
            warc_headers_dict={"WARC-Date": date, **_meta_headers(meta)},
        )
        ref = self._write(record, date)
        self._write_request(request, ref.record_id, date)
        return ref

    def write_revisit(
        self,
        request: HttpRequest,
        response: HttpResponse,
        *,
        digest: str,
        refers_to: RecordRef | None,
        refers_to_uri: str,
        not_modified: bool,
        meta: dict[str, str],
        when: datetime,
    ) -> RecordRef:
        """A revisit: the payload equals an earlier capture (same digest, or the server said 304)."""
        writer = self._current()
        date = warc_date(when)
        http_headers = _status_and_headers(response)
        extra = {"WARC-Date": date, **_meta_headers(meta)}
        if refers_to is not None:
            extra["WARC-Refers-To"] = refers_to.record_id
        record = writer.create_revisit_record(
            request.url,
            digest,
            refers_to_uri,
            refers_to.date if refers_to else date,
            http_headers=http_headers,
            warc_headers_dict=extra,
        )
        if not_modified:
            record.rec_headers.replace_header("WARC-Profile", PROFILE_NOT_MODIFIED)
        ref = self._write(record, date, digest=digest)
        self._write_request(request, ref.record_id, date)
        return ref

    def write_conversion(
        self, url: str, body: bytes, content_type: str, *, refers_to: RecordRef, meta: dict[str, str], when: datetime
    ) -> RecordRef:
        """What a browser made of an archived response (its rendered DOM): a ``conversion`` record tied to the
        response by WARC-Refers-To, so the archive keeps what was seen beside what was sent."""
        writer = self._current()
        date = warc_date(when)
        record = writer.create_warc_record(
            url,
            "conversion",
            payload=io.BytesIO(body),
            length=len(body),
            warc_content_type=content_type,
            warc_headers_dict={
                "WARC-Date": date,
                "WARC-Refers-To": refers_to.record_id,
                "WARC-Refers-To-Target-URI": url,
                "WARC-Refers-To-Date": refers_to.date,
                **_meta_headers(meta),
            },
        )
        return self._write(record, date)

    def sync(self) -> None:
        """Flush and fsync the current file: records are durable before the catalog refers to them."""
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self.sync()
            self._fh.close()
            self._fh = None
            self._writer = None

    def __enter__(self) -> WarcArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write_request(self, request: HttpRequest, concurrent_to: str, date: str) -> None:
        parts = request.url.split("/", 3)
        target = "/" + (parts[3] if len(parts) > 3 else "")
        headers = StatusAndHeaders(f"{request.method} {target}", request.headers, protocol="HTTP/1.1")
        record = self._current().create_warc_record(
            request.url,
            "request",
            http_headers=headers,
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": concurrent_to},
        )
        self._write(record, date)

    def _write(self, record: ArcWarcRecord, date: str, digest: str | None = None) -> RecordRef:
        assert self._fh is not None and self._writer is not None
        offset = self._fh.tell()
        self._writer.write_record(record)
        length = self._fh.tell() - offset
        return RecordRef(
            warc_file=self._name,
            offset=offset,
            length=length,
            record_id=record.rec_headers.get_header("WARC-Record-ID"),
            digest=digest or record.rec_headers.get_header("WARC-Payload-Digest") or "",
            date=date,
        )

    def _current(self) -> WARCWriter:
        if self._fh is not None and self._fh.tell() >= self.max_bytes:
            self.close()
        if self._fh is None:
            self._open_new()
        assert self._writer is not None
        return self._writer

    def _open_new(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        while True:
            self._seq += 1
            name = f"{self.prefix}-{stamp}-{os.getpid()}-{self._seq:05d}.warc.gz"
            path = self.archive_dir / name
            if not path.exists():
                break
        self._fh = open(path, "xb")  # noqa: SIM115 - closed in close()
        self._name = name
        self._writer = WARCWriter(self._fh, gzip=True, warc_version="1.1")
        info = self._writer.create_warcinfo_record(
            name, {"software": f"nianbao/{__version__} (warcio)", "format": "WARC File Format 1.1"}
        )
        self._writer.write_record(info)


# -- reading ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredRecord:
    rec_type: str
    url: str
    record_id: str
    date: str
    digest: str
    status: int
    content_type: str
    headers: dict[str, str]  # the WARC headers
    http_headers: list[tuple[str, str]]
    meta: dict[str, str]  # our WARC-Nianbao-* headers, decoded
    payload: bytes  # the entity body (de-chunked, Content-Encoding undone, capped); b"" for revisits
    offset: int
    length: int


def read_record(path: Path, offset: int, length: int | None = None, max_payload: int | None = None) -> StoredRecord:
    """Read the one record at ``offset`` in a WARC file; raises ArchiveError if it is not there or damaged,
    PayloadTooLarge when its payload decodes to more than ``max_payload`` bytes (decoding stops there)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(length) if length else None
            stream = io.BytesIO(data) if data is not None else fh
            for record in ArchiveIterator(stream):
                return _stored(record, offset, length or 0, max_payload)
    except PayloadTooLarge as exc:
        raise PayloadTooLarge(f"{path.name}:{offset}", exc.cap) from None
    except (OSError, ValueError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"cannot read record at {path.name}:{offset}: {exc}") from exc
    except Exception as exc:  # warcio raises ArchiveLoadFailed and a few others for damaged data
        raise ArchiveError(f"cannot read record at {path.name}:{offset}: {exc}") from exc
    raise ArchiveError(f"no record at {path.name}:{offset}")


def read_payload(
    path: Path, offset: int, length: int | None = None, max_payload: int | None = None
) -> tuple[str, bytes]:
    """(payload digest, entity body) of the record at ``offset``: ``read_record``'s ``digest`` and ``payload``.

    The indexer reads every archived report this way, so the common record — a response to an http(s) URL,
    one gzip member (or plain, in a ``.warc``) whose catalogued ``length`` is known — is read directly: the
    member inflated with zlib, the WARC and HTTP header blocks split by hand (~10× cheaper than warcio's
    generic reader, which was most of reading the archive). Anything else (another record type, folded
    header lines, an unknown length, a short member) goes through warcio, as do errors, with its messages."""
    if length:
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                data = fh.read(length)
        except OSError as exc:
            raise ArchiveError(f"cannot read record at {path.name}:{offset}: {exc}") from exc
        found = _plain_response(data)
        if found is not None:
            digest, body, encoding = found
            cap = MAX_PAYLOAD_BYTES if max_payload is None else min(max_payload, MAX_PAYLOAD_BYTES)
            try:
                return digest, _entity(body, encoding, offset, cap)
            except PayloadTooLarge as exc:
                raise PayloadTooLarge(f"{path.name}:{offset}", exc.cap) from None
    record = read_record(path, offset, length, max_payload)
    return record.digest, record.payload


def _plain_response(data: bytes) -> tuple[str, bytes, str] | None:
    """(payload digest, stored body, Content-Encoding) of one complete response record (gzip member or plain)
    to an http(s) URL with simple headers; None when it is anything else (``read_record`` decides then)."""
    if data[:2] == b"\x1f\x8b":
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflate.decompress(data)
        except zlib.error:
            return None
        if not inflate.eof:
            return None
    if not data.startswith(b"WARC/1."):
        return None
    end = data.find(b"\r\n\r\n")
    warc = _header_fields(data[:end], b"WARC/1.")
    if end < 0 or warc is None or warc.get("warc-type") != "response":
        return None
    uri, size = warc.get("warc-target-uri", ""), warc.get("content-length", "")
    if not uri.startswith(("http:", "https:")) or not size.isdigit() or int(size) == 0:
        return None
    start = end + 4
    block = data[start : start + int(size)]
    if len(block) != int(size):
        return None
    end = block.find(b"\r\n\r\n")
    http = _header_fields(block[:end], b"HTTP/")
    if end < 0 or http is None:
        return None
    return warc.get("warc-payload-digest", ""), block[end + 4 :], http.get("content-encoding", "")


def _header_fields(head: bytes, first: bytes) -> dict[str, str] | None:
    """Lower-cased name → value (the first of a name wins, as warcio's ``get_header``) of a header block whose
    first line starts with ``first``; None for a block warcio reads differently (folded or bare lines)."""
    if not head.startswith(first):
        return None
    try:
        lines = head.decode("utf-8").split("\r\n")
    except UnicodeDecodeError:
        return None
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name[0] in " \t" or "\n" in line:
            return None
        fields.setdefault(name.rstrip(" \t").lower(), value.strip())
    return fields


def _entity(body: bytes, content_encoding: str, offset: int, cap: int) -> bytes:
    """The stored body with its Content-Encoding undone under a cap (warcio would decode without one); a body
    that is not valid data of its coding is returned as stored, as the crawler read it."""
    try:
        decoded = decode_entity(body, content_encoding, cap)
    except DecodedTooLarge as exc:
        raise PayloadTooLarge(f"record at offset {offset} ({content_encoding})", cap) from exc
    except UndecodableBody:
        decoded = body
    if len(decoded) > cap:
        raise PayloadTooLarge(f"record at offset {offset}", cap)
    return decoded


def _stored(record: ArcWarcRecord, offset: int, length: int, max_payload: int | None = None) -> StoredRecord:
    headers = dict(record.rec_headers.headers)
    http = record.http_headers
    status = 0
    http_headers: list[tuple[str, str]] = []
    if http is not None and record.rec_type in ("response", "revisit"):
        try:
            status = int(http.get_statuscode() or 0)
        except ValueError:
            status = 0
        http_headers = list(http.headers)
    payload = b""
    if record.rec_type in ("response", "conversion", "resource"):
        encoding = http.get_header("Content-Encoding", "") if http is not None else ""
        cap = MAX_PAYLOAD_BYTES if max_payload is None else min(max_payload, MAX_PAYLOAD_BYTES)
        payload = _entity(record.raw_stream.read(), encoding or "", offset, cap)
    content_type = http.get_header("Content-Type", "") if http is not None else headers.get("Content-Type", "")
    return StoredRecord(
        rec_type=record.rec_type,
        url=headers.get("WARC-Target-URI", ""),
        record_id=headers.get("WARC-Record-ID", ""),
        date=headers.get("WARC-Date", ""),
        digest=headers.get("WARC-Payload-Digest", ""),
        status=status,
        content_type=content_type or "",
        headers=headers,
        http_headers=http_headers,
        meta=_read_meta(headers),
        payload=payload,
        offset=offset,
        length=length,
    )


@dataclass(frozen=True, slots=True)
class Member:
    offset: int
    length: int
    data: bytes  # decompressed


def scan_members(path: Path, start: int = 0) -> tuple[list[Member], int]:
    """Complete gzip members from ``start``, and the offset where the complete ones end.

    Anything after that offset is a torn tail (a record the crawler was killed while writing). The gzip
    trailer (CRC-32 and size) is what proves a member complete.
    """
    members: list[Member] = []
    good_end = start
    with open(path, "rb") as fh:
        fh.seek(start)
        buf = b""
        pos = start  # file offset of buf[0]
        while True:
            chunk = fh.read(_SCAN_CHUNK)
            buf += chunk
            while buf:
                dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
                try:
                    out = dec.decompress(buf)
                except zlib.error:
                    return members, good_end  # garbage: stop here, the rest is torn
                if not dec.eof:
                    break  # need more bytes (or the file ends mid-member)
                used = len(buf) - len(dec.unused_data)
                members.append(Member(pos, used, out))
                pos += used
                good_end = pos
                buf = dec.unused_data
            if not chunk:
                return members, good_end


def iter_records(path: Path, start: int = 0) -> Iterator[StoredRecord]:
    """Every complete record in a WARC file from ``start`` (a torn tail is skipped)."""
    members, _ = scan_members(path, start)
    for member in members:
        for record in ArchiveIterator(io.BytesIO(member.data)):
            yield _stored(record, member.offset, member.length)
            break


def truncate_tail(path: Path, good_end: int) -> int:
    """Cut a torn tail off a WARC file; returns the bytes removed."""
    size = path.stat().st_size
    if size <= good_end:
        return 0
    with open(path, "r+b") as fh:
        fh.truncate(good_end)
        fh.flush()
        os.fsync(fh.fileno())
    return size - good_end


def warc_files(archive_dir: Path) -> list[Path]:
    """The archive's WARC files, oldest first (names start with a UTC timestamp)."""
    if not archive_dir.is_dir():
        return []
    return sorted(p for p in archive_dir.iterdir() if p.name.endswith((".warc.gz", ".warc")))


def _status_and_headers(response: HttpResponse) -> StatusAndHeaders:
    """The archived HTTP status line and headers of a response."""
    return StatusAndHeaders(
        f"{response.status} {response.reason}".strip(), _storable(response.headers), protocol=response.http_version
    )


def _storable(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # The body is stored de-chunked, so Transfer-Encoding would make readers mis-parse it; keep it renamed.
    return [(f"X-Archive-Orig-{k}" if k.lower() in _HOP_BY_HOP else k, v) for k, v in headers]


def _meta_headers(meta: dict[str, str]) -> dict[str, str]:
    return {META_PREFIX + k: quote(v, safe="/:?=&#;,+@!$'()*~") for k, v in meta.items() if k in META_FIELDS and v}


def _read_meta(headers: dict[str, str]) -> dict[str, str]:
    out = {}
    for key, value in headers.items():
        if key.lower().startswith(META_PREFIX.lower()):
            out[key[len(META_PREFIX) :].lower()] = unquote(value)
    return out
