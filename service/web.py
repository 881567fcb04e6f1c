"""Server-rendered pages for journalists: search with facets, a report's tables, an agency over the years."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from marshmallow import ValidationError
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict

from indexer.document import OVERVIEW_ITEMS, SECTION_NAMES, SECTIONS, ReportDocument
from insights.timeline import series_documents, timeline
from service import archive, state
from service.api.reports import agency_documents, capture_diff
from service.errors import ApiError
from service.present import (
    CHECK_STATUS_LABELS,
    HEADLINE_METRICS,
    agency_detail,
    facet_label,
    metric_tables,
    safe_fragment,
    search_dict,
    section_name,
    sparkline,
)
from service.queries import search_query
from service.schemas import SearchArgsSchema, flatten_errors
from store.query import QueryError, buckets_for

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

PAGE_SIZE = 20
PAGE_METRIC_FACETS = ("applications.new.total",)  # "how many applications" is the first question
SORT_CHOICES = (
    ("relevance", "相关度"),
    ("-year", "年度（新→旧）"),
    ("year", "年度（旧→新）"),
    ("-published", "发布日期"),
)
SECTION_CHOICES = (
    ("", "全部内容"),
    ("title", "标题"),
    *SECTIONS,
    *((key, f"{SECTIONS[0][1]} · {name}") for key, name in OVERVIEW_ITEMS),
)
# Parameters the page keeps in its links; the same names as the API's, so the CSV link is the same query.
PAGE_PARAMS = tuple(SearchArgsSchema().fields)


@bp.app_template_filter("fragment")
def fragment_filter(text: str) -> Any:
    return safe_fragment(text)


@bp.app_template_filter("num")
def number_filter(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return f"{value:,}" if isinstance(value, int | float) else str(value)


@bp.app_context_processor
def labels() -> dict[str, Any]:
    return {
        "facet_label": facet_label,
        "section_name": section_name,
        "check_label": lambda s: CHECK_STATUS_LABELS.get(s, s),
    }


def _current_params() -> MultiDict:
    """The page's query parameters with empty values dropped (an empty year box means "any year")."""
    out: MultiDict = MultiDict()
    for key, value in request.args.items(multi=True):
        if key in PAGE_PARAMS and value.strip():
            out.add(key, value.strip())
    return out


def _url(params: MultiDict, **changes: Any) -> str:
    merged = MultiDict(params)
    for key, value in changes.items():
        merged.setlist(key, [] if value is None else [value])
    return url_for("web.search", **merged.to_dict(flat=False))


def _toggle(params: MultiDict, name: str, value: str) -> str:
    """The same search with one facet value switched on or off (values of one facet combine with OR)."""
    merged = MultiDict(params)
    values = merged.getlist(name)
    merged.setlist(name, [v for v in values if v != value] if value in values else [*values, value])
    merged.setlist("cursor", [])
    return url_for("web.search", **merged.to_dict(flat=False))


def _bucket_conditions(key: str, label: str) -> list[str]:
    bucket = next((b for b in buckets_for(key) if b.label == label), None)
    if bucket is None:
        return []
    low = [f"{key}>={bucket.low:g}"] if bucket.low is not None else []
    return low + ([f"{key}<{bucket.high:g}"] if bucket.high is not None else [])


def _bucket_selected(params: MultiDict, key: str, label: str) -> bool:
    conditions = _bucket_conditions(key, label)
    return bool(conditions) and all(c in params.getlist("metric") for c in conditions)


def _bucket_toggle(params: MultiDict, key: str, label: str) -> str:
    """A metric bucket (e.g. 10–99 applications) as metric conditions; one bucket per metric at a time."""
    merged = MultiDict(params)
    own = {c for b in buckets_for(key) for c in _bucket_conditions(key, b.label)}
    conditions = [c for c in merged.getlist("metric") if c not in own]
    if not _bucket_selected(params, key, label):
        conditions += _bucket_conditions(key, label)
    merged.setlist("metric", conditions)
    merged.setlist("cursor", [])
    return url_for("web.search", **merged.to_dict(flat=False))


@bp.route("/")
def search() -> tuple[str, int]:
    params = _current_params()
    params.setlist("format", [])
    params.setlist("columns", [])
    error, fields, result = None, {}, None
    try:
        schema = SearchArgsSchema()
        args = schema.load(MultiDictProxy(params, schema))
        args.setdefault("size", PAGE_SIZE)
        args.setdefault("metric_facets", list(PAGE_METRIC_FACETS))
        result = search_dict(state.store().search(search_query(args)))
        for facet in result["facets"]:
            if facet["name"] == "year":  # years read best in order, not by count
                facet["values"].sort(key=lambda v: v["value"], reverse=True)
    except ValidationError as exc:
        fields = flatten_errors(exc.messages)
        error = "；".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
    except QueryError as exc:
        error, fields = str(exc), {exc.field: [str(exc)]}
    csv_params = MultiDict(params)
    csv_params.setlist("cursor", [])
    csv_params.setlist("format", ["csv"])
    csv_params.setlist("columns", list(HEADLINE_METRICS))
    html = render_template(
        "search.html",
        params=params,
        result=result,
        error=error,
        fields=fields,
        toggle=lambda name, value: _toggle(params, name, value),
        bucket_toggle=lambda key, label: _bucket_toggle(params, key, label),
        bucket_selected=lambda key, label: _bucket_selected(params, key, label),
        metric_facet_names=set(params.getlist("metric_facets") or PAGE_METRIC_FACETS),
        next_url=_url(params, cursor=result["next_cursor"]) if result and result["next_cursor"] else None,
        csv_url=url_for("search.search", **csv_params.to_dict(flat=False)),
        **_insight_urls(params),
        feed_url=url_for("search.feed", **{k: v for k, v in params.to_dict(flat=False).items() if k in _FEED_KEYS}),
        sections=SECTION_CHOICES,
        sorts=SORT_CHOICES,
    )
    return html, 400 if error else 200


def _insight_urls(params: MultiDict) -> dict[str, str]:
    """Rankings and missing reports for the page's region and year (the latest complete year by default)."""
    region = {k: params.getlist(k) for k in ("province", "city", "county") if params.getlist(k)}
    years = params.getlist("year")
    year = years[0] if len(years) == 1 and years[0].isdigit() else str(datetime.now(UTC).year - 1)
    return {
        "rankings_url": url_for("insights.ranking", metric="applications.new.total", year=year, **region),
        "missing_url": url_for("insights.missing_reports", year=year, **region),
    }


_FEED_KEYS = set(PAGE_PARAMS) - {"facets", "metric_facets", "sort", "size", "cursor", "format", "columns"}


@bp.route("/reports/<string:report_id>")
def report(report_id: str) -> str:
    doc = state.get_report(report_id)
    return render_template(
        "report.html",
        doc=doc,
        tables=metric_tables(doc),
        section_names=SECTION_NAMES,
        captures=_captures(doc),
    )


def _captures(doc: ReportDocument) -> list[dict[str, Any]] | None:
    """The report's captures, oldest first, each knowing the previous different version; None = no archive."""
    try:
        caps = archive.captures(state.catalog(), doc)
    except ApiError:
        return None
    out: list[dict[str, Any]] = []
    previous = None
    for cap in sorted(caps, key=lambda c: str(c.captured_at or "")):
        item = archive.capture_dict(cap, doc.provenance.digest)
        item["previous"] = str(previous.id) if previous is not None and previous.digest != cap.digest else None
        if cap.status == 200 and cap.revisit_of is None:
            previous = cap
        out.append(item)
    return out


@bp.route("/reports/<string:report_id>/diff")
def report_diff(report_id: str) -> tuple[str, int] | str:
    doc = state.get_report(report_id)
    from_id, to_id = request.args.get("from", "").strip(), request.args.get("to", "").strip()
    if not from_id or not to_id or len(from_id) > 100 or len(to_id) > 100:
        raise ApiError(400, "比较需要两个存档版本 (from, to)", {"from": ["required"], "to": ["required"]})
    result = capture_diff(doc, from_id, to_id)
    return render_template("diff.html", doc=doc, result=result, lines=result["diff"].splitlines())


@bp.route("/agencies/<string:agency_id>")
def agency(agency_id: str) -> str:
    docs = agency_documents(agency_id) if len(agency_id) <= 100 else []
    if not docs:
        raise ApiError(404, "没有这个机关的报告 (no such agency)")
    detail = agency_detail(docs)
    charts = [{**s, "chart": sparkline(s["values"])} for s in detail["series"]]
    changes = timeline(series_documents(state.store(), agency_id), agency_id)  # includes renamed years
    return render_template("agency.html", detail=detail, charts=charts, timeline=changes)


@bp.route("/feed.atom")
def feed() -> Any:
    return redirect(url_for("search.feed", **request.args.to_dict(flat=False)))


@bp.route("/api/docs")
def api_docs() -> str:
    """A small offline reader for the OpenAPI document (no CDN assets)."""
    return render_template("docs.html", spec_url=url_for("api-docs.openapi_json"))
