"""Analysis for journalists (``insights``): an agency's timeline, rankings, missing reports, batch search."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Response, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from insights import batch, missing, rankings, timeline
from service import state
from service.api import Blueprint
from service.errors import ApiError
from service.schemas import YEAR_RANGE, ErrorSchema, _list, _QueryArgs, _str, flatten_errors

blp = Blueprint("insights", __name__, description="Year-over-year timelines, rankings, missing reports, batch search")

REGION_FILTERS = ("province", "city", "county", "agency_type", "level", "source")
CSV_MIMETYPE = "text/csv; charset=utf-8"


def _region_fields() -> dict[str, fields.Field]:
    return {name: _list(f"any of these {name} values (repeatable)") for name in REGION_FILTERS}


def _filters(args: dict[str, Any]) -> dict[str, list[str]]:
    return {name: args[name] for name in REGION_FILTERS if args.get(name)}


# -- schemas ------------------------------------------------------------------------------------------


class _ChangeSchema(Schema):
    abs = fields.Float(allow_none=True, metadata={"description": "this year − previous year"})
    rel = fields.Float(allow_none=True, metadata={"description": "(this − previous) / previous; null if previous is 0"})


class _CopiedSchema(Schema):
    previous_ratio = fields.Float(allow_none=True, metadata={"description": "share of the narrative repeated"})
    previous_id = fields.String()
    peers_ratio = fields.Float(allow_none=True)
    peer_id = fields.String()
    peer_title = fields.String()


class _FailedCheckSchema(Schema):
    name = fields.String(required=True)
    expected = fields.Float(allow_none=True)
    actual = fields.Float(allow_none=True)
    message = fields.String()


class TimelineYearSchema(Schema):
    year = fields.Integer(required=True)
    report_id = fields.String(required=True)
    title = fields.String(required=True)
    agency_id = fields.String(required=True)
    agency_name = fields.String(required=True)
    check_status = fields.String(required=True)
    values = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True), required=True)
    changes = fields.Dict(keys=fields.String(), values=fields.Nested(_ChangeSchema), required=True)
    copied = fields.Nested(_CopiedSchema, required=True)
    failed_checks = fields.List(fields.Nested(_FailedCheckSchema), required=True)


class _SeriesAgencySchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    years = fields.List(fields.Integer(), required=True)


class _MetricRefSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    unit = fields.String(required=True)


class TimelineSchema(Schema):
    agency_id = fields.String(required=True)
    series = fields.String(required=True, metadata={"description": "id of the linked series (name variants)"})
    agency = fields.Dict(required=True)
    region = fields.Dict(required=True)
    agencies = fields.List(fields.Nested(_SeriesAgencySchema), required=True)
    metrics = fields.List(fields.Nested(_MetricRefSchema), required=True)
    years = fields.List(fields.Nested(TimelineYearSchema), required=True)


RankingArgsSchema = type(
    "RankingArgsSchema",
    (_QueryArgs,),
    {
        "metric": _str(
            100,
            required=True,
            metadata={"description": f"a metric key, or a named share: {', '.join(rankings.RATIOS)}"},
        ),
        "per": _str(100, metadata={"description": "divide by this metric (a share), e.g. outcomes.total.total"}),
        "year": fields.Integer(validate=YEAR_RANGE),
        "order": fields.String(validate=validate.OneOf(("desc", "asc")), metadata={"description": "desc (top)"}),
        "limit": fields.Integer(validate=validate.Range(1, rankings.MAX_LIMIT)),
        "min_denominator": fields.Float(
            validate=validate.Range(min=0, min_inclusive=False, max=1e12),
            metadata={"description": "shares only of reports whose denominator is at least this (default 1)"},
        ),
        **_region_fields(),
    },
)


class RankingRowSchema(Schema):
    rank = fields.Integer(required=True)
    report_id = fields.String(required=True)
    title = fields.String(required=True)
    agency = fields.Dict(required=True)
    region = fields.Dict(required=True)
    year = fields.Integer(allow_none=True)
    value = fields.Float(required=True)
    numerator = fields.Float(required=True)
    denominator = fields.Float(allow_none=True)


class RankingSchema(Schema):
    metric = fields.String(required=True)
    numerator = fields.String(required=True)
    denominator = fields.String(allow_none=True)
    label = fields.String(required=True)
    numerator_label = fields.String(required=True)
    denominator_label = fields.String(allow_none=True)
    min_denominator = fields.Float(allow_none=True)
    year = fields.Integer(allow_none=True)
    order = fields.String(required=True)
    total = fields.Integer(required=True, metadata={"description": "reports ranked"})
    rows = fields.List(fields.Nested(RankingRowSchema), required=True)


MissingArgsSchema = type(
    "MissingArgsSchema",
    (_QueryArgs,),
    {
        "year": fields.Integer(required=True, validate=YEAR_RANGE),
        "today": fields.Date(metadata={"description": "the date deadlines are judged at (default: today, UTC)"}),
        **_region_fields(),
    },
)


class _MissingAgencySchema(Schema):
    agency_id = fields.String(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    level = fields.String(required=True)
    years = fields.List(fields.Integer(), required=True, metadata={"description": "years it published"})
    last_year = fields.Integer(allow_none=True)
    last_report_id = fields.String(required=True)
    last_title = fields.String(required=True)
    deadline = fields.String(required=True)


class _MissingGroupSchema(Schema):
    source = fields.String(required=True)
    region = fields.Dict(required=True)
    agencies = fields.List(fields.Nested(_MissingAgencySchema), required=True)


class _DeadLinkSchema(Schema):
    url = fields.String(required=True)
    source = fields.String(required=True)
    region = fields.String(required=True, metadata={"description": "省/市/县 of the source"})
    title = fields.String(required=True, metadata={"description": "the link's text"})
    linked_from = fields.String(allow_none=True)
    status = fields.Integer(allow_none=True, metadata={"description": "last HTTP status; null if none came"})
    error = fields.String(allow_none=True)


class MissingSchema(Schema):
    year = fields.Integer(required=True)
    today = fields.String(required=True)
    missing = fields.Integer(required=True)
    not_yet_due = fields.Integer(required=True)
    groups = fields.List(fields.Nested(_MissingGroupSchema), required=True)
    dead_links = fields.List(
        fields.Nested(_DeadLinkSchema),
        required=True,
        metadata={"description": "report links that never answered (never archived, so not 'removed')"},
    )


BatchArgsSchema = type(
    "BatchArgsSchema",
    (_QueryArgs,),
    {
        "section": _str(100, metadata={"description": "restrict the queries to a section"}),
        "year_from": fields.Integer(validate=YEAR_RANGE),
        "year_to": fields.Integer(validate=YEAR_RANGE),
        **_region_fields(),
    },
)


class BatchJsonSchema(Schema):
    class Meta:
        unknown = RAISE

    queries = fields.List(
        fields.String(validate=validate.Length(max=500)), required=True, validate=validate.Length(max=1000)
    )


# -- views --------------------------------------------------------------------------------------------


@blp.route("/agencies/<string:agency_id>/timeline")
@blp.response(200, TimelineSchema)
@blp.alt_response(404, schema=ErrorSchema)
def agency_timeline(agency_id: str):
    """The agency's series year by year: key metrics, changes from the previous year, copied text, failed
    cross-report checks. Reports under earlier or later names of the same publisher are included."""
    docs = timeline.series_documents(state.store(), agency_id) if len(agency_id) <= 100 else []
    if not docs:
        raise ApiError(404, f"no agency {agency_id[:100]!r}")
    return timeline.timeline(docs, agency_id)


@blp.route("/rankings")
@blp.arguments(RankingArgsSchema(), location="query", as_kwargs=False)
@blp.response(200, RankingSchema)
def ranking(args: dict[str, Any]):
    """Top (order=desc) or bottom (asc) reports by a metric or a share (予以公开 / 本机关不掌握 among all
    outcomes …), within a region and year; a share shows its numerator and denominator."""
    return rankings.rankings(
        state.store(),
        args["metric"],
        per=args.get("per") or None,
        filters=_filters(args),
        year=args.get("year"),
        order=args.get("order", "desc"),
        limit=args.get("limit", 20),
        min_denominator=args.get("min_denominator", 1),
    )


@blp.route("/missing")
@blp.arguments(MissingArgsSchema(), location="query", as_kwargs=False)
@blp.response(200, MissingSchema)
def missing_reports(args: dict[str, Any]):
    """Agencies that published before ``year`` but have no report for it although its deadline has passed
    (31 January of year+1; 31 March for provincial governments), grouped by source and region."""
    today = args.get("today") or datetime.now(UTC).date()
    result = missing.missing_reports(state.store(), args["year"], today, _filters(args))
    return {**result, "dead_links": dead_links(_filters(args))}


def dead_links(filters: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Report links of the crawled sites that never answered, within the region/source filters."""
    try:
        catalog = state.catalog()
    except ApiError:  # nothing crawled yet: no dead links either
        return []
    out = []
    for s in catalog.dead_links():
        parts = dict(zip(("province", "city", "county"), s.region.split("/"), strict=False))
        if any(
            (parts.get(k) if k != "source" else s.source_id) not in v
            for k, v in filters.items()
            if k in ("province", "city", "county", "source")
        ):
            continue
        out.append(
            {
                "url": s.url,
                "source": s.source_id,
                "region": s.region,
                "title": s.title,
                "linked_from": s.parent_url,
                "status": s.last_status,
                "error": s.last_error,
            }
        )
    return out


_BODY_DOC = {
    "description": "The queries: one per line (text/plain), the first column of a CSV (text/csv, or a "
    "multipart upload in field 'file'), or JSON {'queries': [...]}.",
    "required": True,
    "content": {
        "text/plain": {"schema": {"type": "string", "maxLength": 60000}},
        "text/csv": {"schema": {"type": "string", "maxLength": 60000}},
        "application/json": {"schema": BatchJsonSchema},
    },
}


@blp.route("/batch-search", methods=["POST"])
@blp.arguments(BatchArgsSchema(), location="query", as_kwargs=False)
@blp.doc(requestBody=_BODY_DOC)
@blp.response(200, {"type": "string"}, content_type="text/csv", description="query, province, city, county, year, hits")
@blp.alt_response(400, schema=ErrorSchema)
def batch_search(args: dict[str, Any]):
    """Hit counts of many queries by county and year, as one CSV (UTF-8 with BOM, opens in Excel)."""
    text, is_csv = _body()
    queries = batch.parse_queries(text, is_csv=is_csv)
    search: dict[str, Any] = {
        "filters": _filters(args),
        "section": args.get("section"),
        "year_from": args.get("year_from"),
        "year_to": args.get("year_to"),
    }
    body = batch.batch_csv(state.store(), queries, **search)
    return Response(
        body.encode("utf-8"),
        headers={"Content-Type": CSV_MIMETYPE, "Content-Disposition": 'attachment; filename="nianbao-batch.csv"'},
    )


def _body() -> tuple[str, bool]:
    """The uploaded text and whether it is CSV; a clear 400 for anything unreadable."""
    mimetype = request.mimetype or ""
    try:
        if mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is not None:
                name = (upload.filename or "").lower()
                return upload.read().decode("utf-8-sig"), name.endswith(".csv") or upload.mimetype == "text/csv"
            if "queries" in request.form:
                return request.form["queries"], False
            raise ApiError(400, "upload the queries as field 'file' (or 'queries')", {"file": ["required"]})
        if mimetype == "application/x-www-form-urlencoded":
            if "queries" not in request.form:
                raise ApiError(400, "send the queries in field 'queries'", {"queries": ["required"]})
            return request.form["queries"], False
        raw = request.get_data(cache=False).decode("utf-8-sig")
        if mimetype == "application/json":
            try:
                loaded = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ApiError(400, f"invalid JSON: {exc}", {"queries": [str(exc)]}) from exc
            except RecursionError as exc:
                raise ApiError(400, "invalid JSON: nested too deeply", {"queries": ["nested too deeply"]}) from exc
            data = BatchJsonSchema().load(loaded if isinstance(loaded, dict) else {"queries": loaded})
            return "\n".join(q.replace("\n", " ") for q in data["queries"]), False
        return raw, mimetype == "text/csv"
    except UnicodeDecodeError as exc:
        raise ApiError(400, "the queries must be UTF-8 text", {"queries": ["not UTF-8"]}) from exc
    except ValidationError as exc:
        fields_ = flatten_errors(exc.messages)
        raise ApiError(400, "invalid parameters", fields_) from exc
