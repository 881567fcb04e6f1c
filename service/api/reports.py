"""One report (document, tables, archived original, captures, diffs) and agencies over the years."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response

from crawler.archive import ArchiveError, PayloadTooLarge
from indexer.document import ReportDocument
from service import archive, reading, state
from service.api import Blueprint
from service.errors import ApiError
from service.present import HEADLINE_METRICS, agency_detail, agency_summary_dict, report_detail
from service.queries import check_metric_keys
from service.schemas import (
    AgencyArgsSchema,
    AgencyDetailArgsSchema,
    AgencyDetailSchema,
    AgencyListSchema,
    CaptureListSchema,
    DiffArgsSchema,
    DiffSchema,
    ErrorSchema,
    OriginalArgsSchema,
    ReportDetailSchema,
)
from store.query import MAX_PAGE_SIZE, build_search

blp = Blueprint("reports", __name__, description="Reports, their archived originals, and agencies")

MAX_AGENCY_REPORTS = 500
log = logging.getLogger(__name__)


@blp.route("/reports/<string:report_id>")
@blp.response(200, ReportDetailSchema)
@blp.alt_response(404, schema=ErrorSchema)
def report(report_id: str):
    """The canonical document with metrics laid out as the template's tables (Chinese labels, units)."""
    return report_detail(state.get_report(report_id))


def read_payload(catalog: Any, capture: Any) -> bytes:
    """The capture's decoded payload, decoding at most ``max_body_bytes`` (a compression bomb is refused)."""
    settings = state.settings()
    try:
        return catalog.read_payload(capture, settings.archive_dir, max_bytes=settings.max_body_bytes)
    except PayloadTooLarge as exc:
        raise ApiError(
            422,
            f"the archived capture {capture.id} decodes to more than {settings.max_body_bytes:,} bytes "
            "(max_body_bytes); it is kept in the archive but not served",
        ) from exc
    except (OSError, ValueError, ArchiveError) as exc:  # a damaged or missing WARC file is ours, not the client's
        log.error("cannot read capture %s: %s", capture.id, exc)
        raise ApiError(503, f"the archived capture {capture.id} cannot be read right now") from exc


@blp.route("/reports/<string:report_id>/original")
@blp.arguments(OriginalArgsSchema(), location="query", as_kwargs=False)
@blp.response(200, description="The archived original, byte for byte, with its content type")
@blp.alt_response(404, schema=ErrorSchema)
def original(args: dict[str, Any], report_id: str):
    """The archived original the report was parsed from, or an earlier ``capture`` (from the WARC archive)."""
    doc = state.get_report(report_id)
    catalog = state.catalog()
    if args.get("capture"):
        capture = archive.find_capture(catalog, doc, args["capture"])
        if capture is None:
            raise ApiError(
                404, f"report {report_id!r} has no capture {args['capture']!r}", {"capture": ["no such capture"]}
            )
    else:
        capture = archive.original_capture(catalog, doc)
        if capture is None:
            raise ApiError(404, f"report {report_id!r} has no archived original")
    payload = read_payload(catalog, capture)
    content_type = capture.content_type or doc.provenance.content_type or "application/octet-stream"
    filename = reading.original_filename(capture.url, content_type, doc.title)
    return Response(
        payload,
        headers={
            "Content-Type": archive.header_safe(content_type) or "application/octet-stream",
            # `curl -OJ` and browsers save it under its own name (RFC 6266; RFC 5987 for a Chinese name).
            "Content-Disposition": reading.content_disposition(filename),
            "X-Archive-Capture": str(capture.id),
            "X-Archive-Captured-At": archive.header_safe(str(capture.captured_at or "")),
            "X-Original-Url": archive.header_safe(capture.url),
            # An archived page must not run scripts or load resources in our origin.
            "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'",
        },
    )


@blp.route("/reports/<string:report_id>/captures")
@blp.response(200, CaptureListSchema)
@blp.alt_response(404, schema=ErrorSchema)
def captures(report_id: str):
    """Every archived capture of the report's URL, oldest first."""
    doc = state.get_report(report_id)
    caps = sorted(archive.captures(state.catalog(), doc), key=lambda c: str(c.captured_at or ""))
    return {
        "report_id": doc.id,
        "url": doc.provenance.url,
        "captures": [archive.capture_dict(c, doc.provenance.digest) for c in caps],
    }


@blp.route("/reports/<string:report_id>/diff")
@blp.arguments(DiffArgsSchema(), location="query", as_kwargs=False)
@blp.response(200, DiffSchema)
@blp.alt_response(404, schema=ErrorSchema)
def diff(args: dict[str, Any], report_id: str):
    """What changed in the extracted text between two captures of the report (unified diff)."""
    return capture_diff(state.get_report(report_id), args["from_"], args["to"])


def capture_diff(doc: ReportDocument, from_id: str, to_id: str) -> dict[str, Any]:
    catalog = state.catalog()
    texts = []
    for field, capture_id in (("from", from_id), ("to", to_id)):
        capture = archive.find_capture(catalog, doc, capture_id)
        if capture is None:
            raise ApiError(404, f"report {doc.id!r} has no capture {capture_id!r}", {field: ["no such capture"]})
        payload = read_payload(catalog, capture)
        texts.append(archive.extracted_text(payload, capture.content_type or "", capture.url))
    text = archive.text_diff(texts[0], texts[1], f"capture {from_id}", f"capture {to_id}")
    return {"report_id": doc.id, "from_": from_id, "to": to_id, "changed": texts[0] != texts[1], "diff": text}


@blp.route("/agencies")
@blp.arguments(AgencyArgsSchema(), location="query", as_kwargs=False)
@blp.response(200, AgencyListSchema)
def agencies(args: dict[str, Any]):
    """Agencies whose name contains ``name``, with how many reports and which years."""
    found = state.store().agencies(args.get("name", ""), limit=args.get("limit", 50))
    return {"agencies": [agency_summary_dict(a) for a in found]}


def agency_documents(agency_id: str) -> list[ReportDocument]:
    st = state.store()
    query = build_search(filters={"agency_id": [agency_id]}, facets=(), size=MAX_PAGE_SIZE, sort="-year")
    docs = []
    while len(docs) < MAX_AGENCY_REPORTS:
        result = st.search(query)
        docs.extend(d for d in (st.get(h.id) for h in result.hits) if d is not None)
        if not result.next_cursor or not result.hits:
            break
        query = build_search(
            filters={"agency_id": [agency_id]}, facets=(), size=MAX_PAGE_SIZE, sort="-year", cursor=result.next_cursor
        )
    return docs


@blp.route("/agencies/<string:agency_id>")
@blp.arguments(AgencyDetailArgsSchema(), location="query", as_kwargs=False)
@blp.response(200, AgencyDetailSchema)
@blp.alt_response(404, schema=ErrorSchema)
def agency(args: dict[str, Any], agency_id: str):
    """An agency's reports and its metrics year by year (headline numbers unless ``metrics`` are named)."""
    metrics = check_metric_keys(args.get("metrics", []), "metrics") or HEADLINE_METRICS
    docs = agency_documents(agency_id) if len(agency_id) <= 100 else []
    if not docs:
        raise ApiError(404, f"no agency {agency_id[:100]!r}")
    return agency_detail(docs, metrics)
