"""Reading a payload back (``crawler.archive.read_payload``, what the indexer reads every report with) gives
exactly what warcio's generic reader gives (``read_record``) for every record the crawler writes — gzip members
and an uncompressed copy of the file, bodies with and without Content-Encoding, de-chunked ones, revisits,
conversions, requests, folded or non-UTF-8 headers, caps and damaged members."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive import (
    ArchiveError,
    HttpRequest,
    HttpResponse,
    WarcArchive,
    payload_digest,
    read_payload,
    read_record,
    scan_members,
)

WHEN = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
BODY = "<html><body>二、主动公开政府信息情况 依申请公开 12 件</body></html>".encode() * 40


def _request(url: str) -> HttpRequest:
    return HttpRequest("GET", url, [("Accept-Encoding", "gzip")])


def _response(*headers: tuple[str, str]) -> HttpResponse:
    return HttpResponse(200, "OK", "HTTP/1.1", [("Content-Type", "text/html; charset=utf-8"), *headers])


def _archive(tmp_path: Path) -> Path:
    meta = {"source-id": "s", "region": "河南省/平顶山市/鲁山县", "kind": "report", "title": "年报 2025"}
    with WarcArchive(tmp_path / "archive", 10**8) as archive:
        plain = archive.write_response(_request("http://a.example/1.html"), _response(), BODY, meta, WHEN)
        archive.write_response(
            _request("https://a.example/2.html"),
            _response(("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")),  # stored de-chunked
            gzip.compress(BODY),
            meta,
            WHEN,
        )
        archive.write_response(
            _request("http://a.example/3.txt"), _response(("Content-Encoding", "br")), b"x", {}, WHEN
        )
        archive.write_response(_request("http://a.example/empty"), _response(), b"", {}, WHEN)
        archive.write_revisit(
            _request("http://a.example/1.html"),
            _response(),
            digest=payload_digest(BODY),
            refers_to=plain,
            refers_to_uri="http://a.example/1.html",
            not_modified=False,
            meta=meta,
            when=WHEN,
        )
        archive.write_conversion("http://a.example/1.html", BODY, "text/html", refers_to=plain, meta=meta, when=WHEN)
        archive.sync()
    (path,) = (tmp_path / "archive").iterdir()
    return path


def _raw_record(head: bytes, http: bytes, body: bytes) -> bytes:
    block = http + body
    warc = b"WARC/1.1\r\nWARC-Type: response\r\n" + head + b"Content-Length: %d\r\n\r\n" % len(block)
    return warc + block + b"\r\n\r\n"


def _outcome(read, *args):
    try:
        return read(*args)
    except ArchiveError as exc:
        return type(exc).__name__


def _same(path: Path, offset: int, length: int, cap: int | None = None) -> tuple[str, bytes] | str:
    fast = _outcome(read_payload, path, offset, length, cap)
    slow = _outcome(lambda *a: (lambda r: (r.digest, r.payload))(read_record(*a)), path, offset, length, cap)
    assert fast == slow, (path.name, offset)
    return fast


def test_every_record_reads_as_warcio_reads_it_gzip_and_plain(tmp_path: Path) -> None:
    path = _archive(tmp_path)
    members, _ = scan_members(path)
    assert len(members) == 12  # warcinfo, 4 responses and a revisit with their requests, a conversion
    payloads = [_same(path, m.offset, m.length) for m in members]
    assert payloads[1] == (payload_digest(BODY), BODY) and payloads[3][1] == BODY  # gzip Content-Encoding undone
    assert payloads[5][1] == b"x" and payloads[7][1] == b"" and payloads[11][1] == BODY
    assert _same(path, members[1].offset, members[1].length, len(BODY) - 1) == "PayloadTooLarge"
    assert _same(path, members[3].offset, members[3].length, 100) == "PayloadTooLarge"

    plain = tmp_path / "copy.warc"  # the same records uncompressed (a .warc file)
    plain.write_bytes(b"".join(m.data for m in members))
    with open(plain, "rb") as fh:
        it = ArchiveIterator(fh)
        places = [(it.get_record_offset(), it.get_record_length()) for r in it if r.raw_stream.read() is not None]
    assert [_same(plain, off, n) for off, n in places] == payloads

    damaged = tmp_path / "damaged.warc.gz"
    data = path.read_bytes()
    first = members[1]
    damaged.write_bytes(data[: first.offset + first.length // 2])  # the file ends in the first response
    assert _same(damaged, first.offset, first.length) == "ArchiveError"
    flipped = bytearray(data)  # a byte of the compressed body changed: whatever warcio makes of it
    flipped[first.offset + first.length // 2] ^= 0xFF
    damaged.write_bytes(bytes(flipped))
    _same(damaged, first.offset, first.length)


@pytest.mark.parametrize(
    ("record", "body"),
    [
        (
            _raw_record(b"WARC-Target-URI: http://a/x\r\n", b"HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\n\r\n", b"folded"),
            b"folded",
        ),
        (
            _raw_record(b"WARC-Target-URI: http://a/x\r\n", b"HTTP/1.1 200 OK\nContent-Type: text/plain\n\n", b"bare"),
            b"bare",
        ),
        (
            _raw_record("WARC-Target-URI: http://a/é\r\n".encode("latin-1"), b"HTTP/1.1 200 OK\r\n\r\n", b"latin"),
            b"latin",
        ),
        (
            _raw_record(b"WARC-Target-URI: ftp://a/x\r\n", b"HTTP/1.1 200 OK\r\n\r\n", b"ftp"),
            b"HTTP/1.1 200 OK\r\n\r\nftp",
        ),
        (
            _raw_record(b"WARC-Target-URI: http://a/x\r\ncontent-encoding: gzip\r\n", b"HTTP/1.0 200\r\n\r\n", b"p"),
            b"p",
        ),
    ],
)
def test_unusual_records_read_as_warcio_reads_them(tmp_path: Path, record: bytes, body: bytes) -> None:
    for name, data in (("r.warc", record), ("r.warc.gz", gzip.compress(record))):
        path = tmp_path / name
        path.write_bytes(data)
        assert _same(path, 0, len(data)) == ("", body)
