"""Server-rendered pages for journalists: search with facets, a report, its archived versions and readable
original, an agency over the years, rankings, missing reports, and agencies compared side by side.

Every page works without JavaScript and without anything from another origin; the JSON stays under /api/v1.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, send_from_directory, url_for
from marshmallow import ValidationError
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict

from indexer import catalogue
from indexer.document import OVERVIEW_ITEMS, SECTION_NAMES, SECTIONS, ReportDocument
from insights import missing as missing_mod
from insights import rankings as rankings_mod
from insights.timeline import series_documents, timeline
from service import archive, charts, compare, exports, reading, state
from service.api.insights import dead_links
from service.api.reports import agency_documents, capture_diff, read_payload
from service.errors import ApiError
from service.page_text import zh_field, zh_message, zh_reason
from service.present import (
    CHECK_STATUS_LABELS,
    HEADLINE_METRICS,
    agency_detail,
    change_text,
    checks_summary,
    facet_label,
    label_with_unit,
    local_time,
    metric_change_text,
    metric_tables,
    metric_text,
    narrative_sections,
    number_text,
    percent_text,
    safe_fragment,
    search_dict,
    section_name,
    unit_text,
)
from service.queries import search_query
from service.schemas import SearchArgsSchema, flatten_errors
from store.query import FACET_FIELDS, QueryError, buckets_for, build_search

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

PAGE_SIZE = 20
PAGE_METRIC_FACETS = ("applications.new.total",)  # "how many applications" is the first question
SORT_CHOICES = (
    ("relevance", "相关度"),
    ("-year", "年度（新→旧）"),
    ("year", "年度（旧→新）"),
    ("-published", "发布日期"),
    ("-metric:applications.new.total", "新收申请（多→少）"),
    ("-metric:yoy.applications.new.total.abs", "新收申请增加最多"),
)
SECTION_CHOICES = (
    ("", "全部内容"),
    ("title", "标题"),
    *SECTIONS,
    *((key, f"{SECTIONS[0][1]} · {name}") for key, name in OVERVIEW_ITEMS),
)
# Parameters the page keeps in its links; the same names as the API's, so the CSV link is the same query.
PAGE_PARAMS = tuple(SearchArgsSchema().fields)
REGION_PARAMS = ("province", "city", "county")

# Metrics offered on the rankings and comparison pages: the named shares, the headline numbers, the changes.
RANKING_CHOICES: tuple[tuple[str, str], ...] = (
    *((key, label) for key, (_, _, label) in rankings_mod.RATIOS.items()),
    *((key, catalogue.get(key).label) for key in HEADLINE_METRICS),
    *(
        (f"yoy.{key}.{part}", catalogue.get(f"yoy.{key}.{part}").label)
        for key in ("applications.new.total", "outcomes.disclosed.total")
        for part in ("abs", "rel")
    ),
    ("copied.peers_ratio", catalogue.get("copied.peers_ratio").label),
    ("copied.previous_ratio", catalogue.get("copied.previous_ratio").label),
)


# -- template helpers ---------------------------------------------------------------------------------


@bp.app_template_filter("fragment")
def fragment_filter(text: str) -> Any:
    return safe_fragment(text)


@bp.app_template_filter("num")
def number_filter(value: Any) -> str:
    return number_text(value)


@bp.app_template_filter("local_time")
def local_time_filter(value: Any) -> str:
    return local_time(value)


@bp.app_context_processor
def labels() -> dict[str, Any]:
    return {
        "facet_label": facet_label,
        "section_name": section_name,
        "check_label": lambda s: CHECK_STATUS_LABELS.get(s, s),
        "metric_text": metric_text,
        "unit_text": unit_text,
        "label_with_unit": label_with_unit,
        "change_text": change_text,
        "metric_change_text": metric_change_text,
        "percent_text": percent_text,
        "zh_reason": zh_reason,
        "zh_message": zh_message,
        "zh_field": zh_field,
    }


@bp.route("/favicon.ico")
def favicon() -> Response:
    return send_from_directory(bp.static_folder or "", "favicon.svg", mimetype="image/svg+xml", max_age=86400)


# -- search -------------------------------------------------------------------------------------------


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


def _validation_text(fields: dict[str, list[str]]) -> str:
    return "；".join(f"{zh_field(k)}：{'，'.join(zh_message(m) for m in v)}" for k, v in fields.items())


def _sort_metric(params: MultiDict) -> str | None:
    sort = params.get("sort", "").lstrip("-")
    key = sort.removeprefix("metric:")
    return key if sort.startswith("metric:") and catalogue.is_metric(key) else None


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
        error = _validation_text(fields)
    except QueryError as exc:
        error, fields = f"{zh_field(exc.field)}：{zh_message(str(exc))}", {exc.field: [str(exc)]}
    csv_params = MultiDict(params)
    csv_params.setlist("cursor", [])
    csv_params.setlist("format", ["csv"])
    csv_params.setlist("columns", list(HEADLINE_METRICS))
    sort_metric = _sort_metric(params)
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
        rankings_url=url_for("web.rankings", **_carry(params), **({"metric": sort_metric} if sort_metric else {})),
        missing_url=url_for("web.missing", **_region(params), **_single_year(params)),
        compare_url=url_for("web.compare_page", **_pick(params), metric=sort_metric or compare.DEFAULT_METRIC),
        feed_url=url_for("search.feed", **{k: v for k, v in params.to_dict(flat=False).items() if k in _FEED_KEYS}),
        sections=SECTION_CHOICES,
        sorts=SORT_CHOICES,
        sort_metric=sort_metric,
    )
    return html, 400 if error else 200


_FEED_KEYS = set(PAGE_PARAMS) - {"facets", "metric_facets", "sort", "size", "cursor", "format", "columns"}
_CARRIED = ("q", "section", "metric", *FACET_FIELDS)  # what 排行 takes over from the search


def _carry(params: MultiDict) -> dict[str, list[str]]:
    return {k: params.getlist(k) for k in _CARRIED if params.getlist(k)}


def _region(params: MultiDict) -> dict[str, list[str]]:
    return {k: params.getlist(k) for k in REGION_PARAMS if params.getlist(k)}


def _pick(params: MultiDict) -> dict[str, list[str]]:
    return {k: params.getlist(k) for k in compare.PICK_FILTERS if params.getlist(k)}


def _single_year(params: MultiDict) -> dict[str, str]:
    years = params.getlist("year")
    return {"year": years[0]} if len(years) == 1 and years[0].isdigit() else {}


# -- one report -----------------------------------------------------------------------------------------


@bp.route("/reports/<string:report_id>")
def report(report_id: str) -> str:
    doc = state.get_report(report_id)
    captures = _captures(doc)
    return render_template(
        "report.html",
        doc=doc,
        tables=metric_tables(doc),
        checks=checks_summary(doc.checks),
        narrative=narrative_sections(doc),
        section_names=SECTION_NAMES,
        captures=captures,
        current=next((c for c in captures or [] if c["current"]), None),
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


@bp.route("/reports/<string:report_id>/captures")
def report_captures(report_id: str) -> str:
    doc = state.get_report(report_id)
    return render_template("captures.html", doc=doc, captures=_captures(doc))


@bp.route("/reports/<string:report_id>/read")
def report_read(report_id: str) -> Response | str:
    """The archived original made readable: with its archived CSS when the archive holds it, else a clean view."""
    doc = state.get_report(report_id)
    catalog = state.catalog()
    capture_id = request.args.get("capture", "").strip()[:100]
    capture = archive.find_capture(catalog, doc, capture_id) if capture_id else archive.original_capture(catalog, doc)
    if capture is None:
        raise ApiError(404, "这份报告没有存档原件")
    payload = read_payload(catalog, capture)
    content_type = capture.content_type or doc.provenance.content_type or ""
    raw_url = url_for("reports.original", report_id=doc.id, **({"capture": capture_id} if capture_id else {}))
    if "html" in content_type and request.args.get("view") != "clean":
        html = _decode(payload)
        css = reading.archived_css(catalog, read_payload, html, capture.url)
        if css:
            banner = render_template("_read_banner.html", doc=doc, capture=capture, raw_url=raw_url)
            return Response(
                reading.styled_page(html, css, banner),
                mimetype="text/html",
                headers={"Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'"},
            )
    text = archive.extracted_text(payload, content_type, capture.url)
    return render_template(
        "read.html",
        doc=doc,
        capture=capture,
        raw_url=raw_url,
        filename=reading.original_filename(capture.url, content_type, doc.title),
        blocks=reading.text_blocks(text),
    )


def _decode(payload: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(payload).best()
    return str(best) if best is not None else payload.decode("utf-8", errors="replace")


@bp.route("/reports/<string:report_id>/diff")
def report_diff(report_id: str) -> tuple[str, int] | str:
    doc = state.get_report(report_id)
    from_id, to_id = request.args.get("from", "").strip(), request.args.get("to", "").strip()
    if not from_id or not to_id or len(from_id) > 100 or len(to_id) > 100:
        raise ApiError(400, "比较需要两个存档版本 (from, to)", {"from": ["required"], "to": ["required"]})
    result = capture_diff(doc, from_id, to_id)
    return render_template("diff.html", doc=doc, result=result, lines=result["diff"].splitlines())


# -- an agency ----------------------------------------------------------------------------------------


@bp.route("/agencies/<string:agency_id>")
def agency(agency_id: str) -> str:
    docs = agency_documents(agency_id) if len(agency_id) <= 100 else []
    if not docs:
        raise ApiError(404, "没有这个机关的报告")
    detail = agency_detail(docs)
    chart_list = [
        {**s, "chart": charts.line_chart([{"label": s["label"], "values": s["values"]}], detail["years"])}
        for s in detail["series"]
    ]
    changes = timeline(series_documents(state.store(), agency_id), agency_id)  # includes renamed years
    compare_url = url_for("web.compare_page", agency_id=agency_id, metric=compare.DEFAULT_METRIC)
    return render_template("agency.html", detail=detail, charts=chart_list, timeline=changes, compare_url=compare_url)


# -- rankings, missing reports, comparison --------------------------------------------------------------


def _latest_year(filters: dict[str, list[str]], q: str = "") -> int:
    """The newest year the selected reports cover (the year a ranking is about unless one is chosen)."""
    result = state.store().search(build_search(q or None, filters=filters, facets=("year",), size=1, highlight=False))
    years = [int(v.value) for f in result.facets if f.name == "year" for v in f.values if str(v.value).isdigit()]
    return max(years, default=datetime.now(UTC).year - 1)


def _int_arg(name: str, low: int, high: int) -> int | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise ApiError(400, f"{zh_field(name)}应为 {low}–{high} 之间的整数", {name: ["invalid"]})
    return int(value)


def _filters_from_args(names: tuple[str, ...]) -> dict[str, list[str]]:
    out = {}
    for name in names:
        values = [v.strip()[:200] for v in request.args.getlist(name) if v.strip()][:50]
        if values:
            out[name] = values
    return out


@bp.route("/rankings")
def rankings() -> str:
    """Top or bottom reports by a metric or a share, for the search's query and filters."""
    q = request.args.get("q", "").strip()[:500]
    section = request.args.get("section", "").strip()[:100] or None
    conditions = [c[:200] for c in request.args.getlist("metric") if c.strip() and not _is_choice(c)][:20]
    rank = request.args.get("rank", "").strip()
    choice = rank if _is_choice(rank) else next((c for c in request.args.getlist("metric") if _is_choice(c)), "")
    metric = choice or "applications.new.total"
    filters = _filters_from_args(tuple(k for k in FACET_FIELDS if k != "year"))
    year = _int_arg("year", 1990, 2100) or _latest_year(filters, q)
    order = "asc" if request.args.get("order") == "asc" else "desc"
    data = rankings_mod.rankings(
        state.store(),
        metric,
        filters=filters,
        year=year,
        order=order,
        limit=50,
        q=q,
        section=section,
        conditions=conditions,
    )
    carried = MultiDict([(k, v) for k, vs in filters.items() for v in vs])
    for key, value in (("q", q), ("section", section)):
        if value:
            carried.add(key, value)
    for c in conditions:
        carried.add("metric", c)
    return render_template(
        "rankings.html",
        data=data,
        metric=metric,
        year=year,
        order=order,
        choices=RANKING_CHOICES,
        carried=carried,
        search_url=url_for("web.search", **carried.to_dict(flat=False)),
        is_share=metric in rankings_mod.RATIOS,
        filters=filters,
    )


def _is_choice(value: str) -> bool:
    """A metric to rank by (a key or a named share), as opposed to a search's metric condition."""
    return value in rankings_mod.RATIOS or catalogue.is_metric(value)


@bp.route("/missing")
def missing() -> str:
    """Agencies that published before but have no report for the year, although its deadline has passed."""
    today = datetime.now(UTC).date()
    year = _int_arg("year", 1990, 2100) or today.year - 1
    filters = _filters_from_args(("province", "city", "county", "agency_type", "level", "source"))
    data = missing_mod.missing_reports(state.store(), year, today, filters)
    return render_template(
        "missing.html",
        data=data,
        dead_links=dead_links(filters),
        year=year,
        years=list(range(today.year - 1, today.year - 8, -1)),
        filters=filters,
        deadline=missing_mod.deadline(year, "县", "人民政府"),
        today=today,
        past=lambda d: date.fromisoformat(d) < today,
    )


@bp.route("/compare")
def compare_page() -> Response | str:
    """Several agencies (picked, or all that a region filter selects) and one metric, year by year."""
    metric = request.args.get("metric", "").strip() or compare.DEFAULT_METRIC
    if not catalogue.is_metric(metric):
        raise ApiError(400, f"没有这个指标：{metric[:100]}", {"metric": ["unknown metric"]})
    filters = _filters_from_args(compare.PICK_FILTERS)
    year_from, year_to = _int_arg("year_from", 1990, 2100), _int_arg("year_to", 1990, 2100)
    data = compare.comparison(state.store(), metric, filters, year_from=year_from, year_to=year_to)
    if request.args.get("format") == "csv":
        from service.api.search import csv_response

        return csv_response(exports.csv_text(compare.comparison_rows(data)), "nianbao-compare.csv")
    chart = (
        charts.line_chart(
            [{"label": r.name, "values": r.values} for r in data["rows"][: len(charts.COLOURS)]],
            data["years"],
            width=560,
            height=280,
            tick_text=lambda v: metric_text(metric, v) if unit_text(metric) == "%" else number_text(v),
        )
        if data["rows"] and data["years"]
        else None
    )
    here = MultiDict([(k, v) for k, vs in filters.items() for v in vs])
    here.add("metric", metric)
    for key, value in (("year_from", year_from), ("year_to", year_to)):
        if value:
            here.add(key, str(value))
    name = request.args.get("name", "").strip()[:50]
    found = state.store().agencies(name, limit=20) if name else []
    cities = state.store().search(build_search(facets=("city",), size=1, highlight=False)).facets
    return render_template(
        "compare.html",
        data=data,
        chart=chart,
        metric=metric,
        metrics=_metric_groups(),
        here=here,
        csv_url=url_for("web.compare_page", **here.to_dict(flat=False), format="csv"),
        self_url=url_for("web.compare_page", **here.to_dict(flat=False)),
        name=name,
        found=found,
        with_agency=lambda aid: url_for("web.compare_page", **_with(here, "agency_id", aid)),
        without=lambda key, value: url_for("web.compare_page", **_without(here, key, value)),
        cities=[v.value for f in cities for v in f.values],
        city_url=lambda city: url_for("web.compare_page", city=city, agency_type="人民政府", level="县", metric=metric),
    )


def _with(params: MultiDict, key: str, value: str) -> dict[str, list[str]]:
    merged = MultiDict(params)
    if value not in merged.getlist(key):
        merged.add(key, value)
    return merged.to_dict(flat=False)


def _without(params: MultiDict, key: str, value: str) -> dict[str, list[str]]:
    merged = MultiDict(params)
    merged.setlist(key, [v for v in merged.getlist(key) if v != value])
    return merged.to_dict(flat=False)


def _metric_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for m in catalogue.metrics():
        groups.setdefault(catalogue.TABLE_LABELS.get(m.table, m.table), []).append((m.key, m.label))
    return list(groups.items())


@bp.route("/feed.atom")
def feed() -> Any:
    return redirect(url_for("search.feed", **request.args.to_dict(flat=False)))


@bp.route("/api/docs")
def api_docs() -> str:
    """A small offline reader for the OpenAPI document (no CDN assets)."""
    return render_template("docs.html", spec_url=url_for("api-docs.openapi_json"))
