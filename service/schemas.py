"""Request and response schemas of the API.

The report document itself is never described here: ``indexer.schema`` derives its schema from the
document dataclasses, and these schemas only wrap or extend it.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load, validate

from indexer.schema import AgencySchema, RegionSchema, ReportSchema
from store.query import FACET_FIELDS, FUNCTIONS, GROUP_BY, MAX_PAGE_SIZE, MAX_QUERY_LENGTH

MAX_PARAM_LENGTH = 200
MAX_LIST_ITEMS = 50
MAX_EXPORT_COLUMNS = 400  # more than the catalogue has
YEAR_RANGE = validate.Range(1990, 2100)

# Parameters that may be given as "a,b" as well as repeated (?facets=a&facets=b).
_COMMA_LISTS = ("facets", "metric_facets", "columns", "metrics", "functions", "group_by")


def _encodable(value: str) -> None:
    """A lone surrogate ("\\ud800" in JSON) is no text: it cannot be stored, written or shown."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError("not valid Unicode text (a lone surrogate)") from exc


def _str(max_length: int = MAX_PARAM_LENGTH, **kwargs: Any) -> fields.String:
    return fields.String(validate=[validate.Length(max=max_length), _encodable], **kwargs)


def _list(description: str, max_length: int = MAX_PARAM_LENGTH) -> fields.List:
    return fields.List(
        _str(max_length), validate=validate.Length(max=MAX_LIST_ITEMS), metadata={"description": description}
    )


class _QueryArgs(Schema):
    """Base of query-string schemas: unknown parameters are an error, not silently ignored."""

    class Meta:
        unknown = RAISE

    @pre_load(pass_collection=False)
    def _split_commas(self, data: Any, **_: Any) -> Any:
        # ?facets=a,b is the same as ?facets=a&facets=b; webargs hands us a multidict proxy.
        if not hasattr(data, "items"):
            return data
        out: dict[str, Any] = {}
        for key in data:
            value = data[key]
            if key in _COMMA_LISTS and isinstance(value, list):
                value = [part.strip() for v in value for part in str(v).split(",") if part.strip()]
            out[key] = value
        return out


def _filter_fields() -> dict[str, fields.Field]:
    return {name: _list(f"any of these values of {path} (repeatable)") for name, path in FACET_FIELDS.items()}


class _FilterArgs(_QueryArgs):
    q = _str(
        MAX_QUERY_LENGTH,
        metadata={"description": 'query: words, "phrases", OR, -exclusion, (groups); empty = every report'},
    )
    section = _str(100, metadata={"description": "restrict q to a section key, its Chinese name, or title"})
    year_from = fields.Integer(validate=YEAR_RANGE)
    year_to = fields.Integer(validate=YEAR_RANGE)
    metric = _list("metric condition, e.g. 'applications.new.total>=10' (repeatable, all must hold)")

    @post_load
    def _collect_filters(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["filters"] = {name: data.pop(name) for name in list(data) if name in FACET_FIELDS}
        return data


FilterArgsSchema = type("FilterArgsSchema", (_FilterArgs,), _filter_fields())


class SearchArgsSchema(FilterArgsSchema):  # type: ignore[misc, valid-type]
    facets = _list("facets to count (default: province, city, county, agency_type, level, year, check_status)")
    metric_facets = _list("metric keys to count in value buckets (0, 1–9, 10–99, 100+; shares and changes: their own)")
    sort = _str(100, metadata={"description": "relevance, year, -year, published, -published, [-]metric:<key>"})
    size = fields.Integer(validate=validate.Range(1, MAX_PAGE_SIZE), metadata={"description": "hits per page"})
    cursor = _str(2000, metadata={"description": "next_cursor of the previous page"})
    format = fields.String(validate=validate.OneOf(("json", "csv")), metadata={"description": "json (default) or csv"})
    columns = fields.List(
        _str(),
        validate=validate.Length(max=MAX_EXPORT_COLUMNS),
        metadata={"description": "metric keys to add as CSV columns / to return with each hit; 'all' for every one"},
    )


class FeedArgsSchema(FilterArgsSchema):  # type: ignore[misc, valid-type]
    size = fields.Integer(validate=validate.Range(1, MAX_PAGE_SIZE))


class StatsArgsSchema(FilterArgsSchema):  # type: ignore[misc, valid-type]
    metrics = _list("metric keys to aggregate (required)")
    functions = fields.List(fields.String(validate=validate.OneOf(FUNCTIONS)), validate=validate.Length(max=5))
    group_by = fields.List(fields.String(validate=validate.OneOf(tuple(GROUP_BY))), validate=validate.Length(max=4))
    format = fields.String(validate=validate.OneOf(("json", "csv")))


class AgencyArgsSchema(_QueryArgs):
    name = _str(100, metadata={"description": "part of the agency's name, e.g. 鲁山县"})
    limit = fields.Integer(validate=validate.Range(1, 200))


class AgencyDetailArgsSchema(_QueryArgs):
    metrics = _list("metric keys to show year by year (default: the headline numbers)")


class OriginalArgsSchema(_QueryArgs):
    capture = fields.String(
        validate=validate.Length(max=100), metadata={"description": "a capture id (default: the indexed one)"}
    )


class DiffArgsSchema(_QueryArgs):
    from_ = fields.String(data_key="from", required=True, validate=validate.Length(min=1, max=100))
    to = fields.String(required=True, validate=validate.Length(min=1, max=100))


# -- responses ------------------------------------------------------------------------------------


class ErrorBodySchema(Schema):
    status = fields.Integer(required=True)
    reason = fields.String(required=True)
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "parameter name → what is wrong with it"},
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class FragmentSchema(Schema):
    section = fields.String(required=True, metadata={"description": "section key, or title"})
    section_name = fields.String(required=True, metadata={"description": "Chinese name of the section"})
    text = fields.String(required=True, metadata={"description": "matches wrapped in <mark>; the rest HTML-escaped"})


class HitSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    agency = fields.Nested(AgencySchema, required=True)
    region = fields.Nested(RegionSchema, required=True)
    year = fields.Integer(allow_none=True)
    published = fields.String(allow_none=True)
    score = fields.Float(allow_none=True)
    check_status = fields.String(required=True)
    removed = fields.Boolean(required=True)
    fragments = fields.List(fields.Nested(FragmentSchema), required=True)
    metrics = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    url = fields.String(required=True, metadata={"description": "this report in the API"})


class FacetValueSchema(Schema):
    value = fields.String(required=True)
    count = fields.Integer(required=True)
    selected = fields.Boolean(required=True)


class FacetSchema(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True, metadata={"description": "Chinese label"})
    values = fields.List(fields.Nested(FacetValueSchema), required=True)
    timed_out = fields.Boolean(required=True)


class SearchResultSchema(Schema):
    total = fields.Integer(required=True)
    hits = fields.List(fields.Nested(HitSchema), required=True)
    facets = fields.List(fields.Nested(FacetSchema), required=True)
    next_cursor = fields.String(allow_none=True)
    took_ms = fields.Float()


class MetricSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    table = fields.String(required=True)
    table_label = fields.String(required=True)
    unit = fields.String(required=True)
    kind = fields.String(required=True)
    row = fields.String()
    column = fields.String()
    derived = fields.Boolean()
    template = fields.String()
    signed = fields.Boolean()


class MetricListSchema(Schema):
    total = fields.Integer(required=True)
    tables = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "table → label"})
    metrics = fields.List(fields.Nested(MetricSchema), required=True)


class CellSchema(Schema):
    metric = fields.String(required=True)
    value = fields.Float(allow_none=True)
    failed = fields.Boolean(required=True, metadata={"description": "part of a failed accounting check"})
    derived = fields.Boolean(metadata={"description": "a subtotal computed from other cells, not in the report"})
    computed = fields.Boolean(
        metadata={"description": "a 总计 the report does not print, computed as the sum of the applicant columns"}
    )
    blank_zero = fields.Boolean(metadata={"description": "0 read from a blank cell of a filled row, not a printed 0"})
    from_text = fields.Boolean(metadata={"description": "stated by the report's text (no table), e.g. 未发生行政复议"})
    aligned = fields.Boolean(
        metadata={"description": "placed by the table's identities (the row alone reads several ways)"}
    )


class TableColumnSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)


class TableRowSchema(Schema):
    key = fields.String(required=True, metadata={"description": "row key; empty for a heading row"})
    label = fields.String(required=True)
    cells = fields.List(fields.Nested(CellSchema), required=True, metadata={"description": "empty for a heading row"})


class TableBlockSchema(Schema):
    columns = fields.List(fields.Nested(TableColumnSchema), required=True)
    rows = fields.List(fields.Nested(TableRowSchema), required=True)
    unit = fields.String(required=True)


class LabelledValueSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    unit = fields.String(required=True)
    value = fields.Float(allow_none=True)


class MetricTableSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    metrics = fields.List(
        fields.Nested(LabelledValueSchema),
        required=True,
        metadata={"description": "the table's metrics in form order, flat, with Chinese labels and units"},
    )
    blocks = fields.List(fields.Nested(TableBlockSchema), required=True)


class ReportDetailSchema(ReportSchema):  # type: ignore[misc, valid-type]
    """The canonical document (every field of ``ReportDocument``) plus its metrics laid out as tables."""

    tables = fields.List(fields.Nested(MetricTableSchema), required=True)
    section_names = fields.Dict(keys=fields.String(), values=fields.String())
    links = fields.Dict(keys=fields.String(), values=fields.String())


class CaptureSchema(Schema):
    id = fields.String(required=True)
    url = fields.String(required=True)
    captured_at = fields.String(allow_none=True)
    status = fields.Integer(allow_none=True)
    content_type = fields.String(allow_none=True)
    digest = fields.String(allow_none=True)
    warc_file = fields.String(allow_none=True)
    offset = fields.Integer(allow_none=True)
    length = fields.Integer(allow_none=True)
    source_id = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    parent_url = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    revisit_of = fields.String(allow_none=True)
    current = fields.Boolean(metadata={"description": "the capture the indexed document was parsed from"})


class CaptureListSchema(Schema):
    report_id = fields.String(required=True)
    url = fields.String(required=True)
    captures = fields.List(fields.Nested(CaptureSchema), required=True)


class DiffSchema(Schema):
    report_id = fields.String(required=True)
    from_ = fields.String(data_key="from", required=True)
    to = fields.String(required=True)
    changed = fields.Boolean(required=True)
    diff = fields.String(required=True, metadata={"description": "unified diff of the extracted text"})


class AggregationRowSchema(Schema):
    group = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True)
    count = fields.Integer(required=True)
    values = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(allow_none=True),
        required=True,
        metadata={
            "description": "function:metric → number; counts, and sums/min/max of whole-number metrics, are integers"
        },
    )


class StatsResultSchema(Schema):
    rows = fields.List(fields.Nested(AggregationRowSchema), required=True)
    labels = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "value key → label"})
    took_ms = fields.Float()


class AgencySummarySchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    level = fields.String(required=True)
    region = fields.Nested(RegionSchema, required=True)
    reports = fields.Integer(required=True)
    years = fields.List(fields.Integer(), required=True)


class AgencyListSchema(Schema):
    agencies = fields.List(fields.Nested(AgencySummarySchema), required=True)


class AgencyReportSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    year = fields.Integer(allow_none=True)
    published = fields.String(allow_none=True)
    check_status = fields.String(required=True)
    removed = fields.Boolean(required=True)


class MetricSeriesSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    unit = fields.String(required=True)
    values = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True), metadata={"description": "year →"})


class AgencyDetailSchema(Schema):
    agency = fields.Nested(AgencySchema, required=True)
    region = fields.Nested(RegionSchema, required=True)
    reports = fields.List(fields.Nested(AgencyReportSchema), required=True)
    years = fields.List(fields.Integer(), required=True)
    series = fields.List(fields.Nested(MetricSeriesSchema), required=True)


class HealthSchema(Schema):
    status = fields.String(required=True)
    engine = fields.String()
    reports = fields.Integer()
    version = fields.String()


# -- admin ----------------------------------------------------------------------------------------


class CrawlRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    source_id = _str(100, metadata={"description": "crawl one source of the sources file"})
    url = fields.Url(schemes=("http", "https"), validate=validate.Length(max=2000))
    region = _str(100, metadata={"description": "region of an ad-hoc URL, e.g. 河南省/平顶山市/鲁山县"})


class ReindexRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    rebuild = fields.Boolean(load_default=True)


class SourceRequestSchema(Schema):
    """A site to crawl; passed on to ``crawler.sources``."""

    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,63}$"))
    name = _str(200, required=True)
    start_urls = fields.List(
        fields.Url(schemes=("http", "https"), validate=validate.Length(max=2000)),
        required=True,
        validate=validate.Length(min=1, max=20),
    )
    region = _str(100, load_default="")
    schedule = _str(100, load_default="")


class JobSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("queued", "running", "done", "failed")))
    created = fields.String(required=True)
    finished = fields.String(allow_none=True)
    result = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    url = fields.String(required=True)


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs nests messages by location and list index; the API reports parameter → messages."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if not prefix and key in ("query", "json", "form", "headers", "view_args") and isinstance(value, dict):
                name = ""
            elif isinstance(key, int):
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            for k, v in flatten_errors(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(messages, list | tuple):
        for item in messages:
            if isinstance(item, dict | list):
                for k, v in flatten_errors(item, prefix).items():
                    out.setdefault(k, []).extend(v)
            else:
                out.setdefault(prefix or "request", []).append(str(item))
    else:
        out.setdefault(prefix or "request", []).append(str(messages))
    return out


__all__ = [name for name in dir() if name.endswith("Schema")] + ["ValidationError", "flatten_errors"]
