"""The query model: one description of a search, translated by each store.

``parse_q`` turns the user's query string into a small boolean tree; ``SearchQuery`` and
``AggregationQuery`` carry it with filters, facets, metric conditions, sorting and paging. Stores
translate these (SQLite → FTS5 + SQL, Elasticsearch → DSL); they never see raw user syntax.

Query string grammar (implicit AND binds tighter than OR, as in most search boxes)::

    query   := or_expr
    or_expr := and_expr ("OR" and_expr)*
    and_expr:= unary+
    unary   := "-" atom | atom
    atom    := WORD | "\"" PHRASE "\"" | "(" or_expr ")"

A WORD or PHRASE is matched as a contiguous token sequence (see ``store.analysis``): unquoted
Chinese such as 依申请公开 is already a phrase. A query made only of exclusions is rejected, since
it would mean "everything except", which no journalist intends when typing.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Union

from indexer import catalogue
from indexer.document import SECTION_KEYS, SECTION_NAMES
from store import analysis

MAX_QUERY_LENGTH = 500
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class QueryError(ValueError):
    """A query the user must fix; the message says what and where (maps to HTTP 400)."""

    def __init__(self, message: str, field: str = "q") -> None:
        super().__init__(message)
        self.field = field


# -- the boolean tree ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    text: str  # as typed (phrase content without quotes)
    quoted: bool = False

    @property
    def tokens(self) -> list[str]:
        return analysis.token_texts(self.text)


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


Node = Union[Term, And, Or, Not]  # noqa: UP007


_LEX_RE = re.compile(
    r'\s*(?:(?P<lp>\()|(?P<rp>\))|"(?P<phrase>[^"]*)"|(?P<unterminated>")|(?P<minus>-)(?=\S)|(?P<word>[^\s()"]+))'
)


def _lex(q: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    q = q.rstrip()
    while pos < len(q):
        m = _LEX_RE.match(q, pos)
        if not m or m.end() == pos:
            raise QueryError(f"cannot read the query at position {pos + 1}")
        kind = m.lastgroup or ""
        if kind == "unterminated":
            raise QueryError(f"unterminated quote at position {m.start('unterminated') + 1}")
        value, start = m.group(kind), m.start(kind)
        if kind == "word" and value == "OR":
            kind = "or"
        # A minus inside a word ("covid-19") is part of the word; only a leading minus excludes.
        out.append((kind, value, start + 1))
        pos = m.end()
    return out


MAX_NESTING = 20  # parentheses inside parentheses; deeper is refused before the recursion runs out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek() is not None:
            _, value, pos = self.take()
            raise QueryError(f"unexpected {value!r} at position {pos}")
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.peek() == "or":
            _, _, pos = self.take()
            if self.peek() in (None, "rp", "or"):
                raise QueryError(f"OR at position {pos} needs a term after it")
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items: list[Node] = []
        while self.peek() not in (None, "rp", "or"):
            items.append(self.unary())
        if not items:
            if self.peek() == "or":
                raise QueryError(f"OR at position {self.tokens[self.i][2]} needs a term before it")
            if self.peek() == "rp":
                raise QueryError(f"unexpected ')' at position {self.tokens[self.i][2]}")
            raise QueryError("empty query")
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Node:
        if self.peek() == "minus":
            _, _, pos = self.take()
            if self.peek() in (None, "rp", "or", "minus"):
                raise QueryError(f"'-' at position {pos} must be followed by a term")
            return Not(self.atom())
        return self.atom()

    def atom(self) -> Node:
        kind, value, pos = self.take()
        if kind == "lp":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise QueryError(f"parentheses nested deeper than {MAX_NESTING} levels at position {pos}")
            node = self.or_expr()
            if self.peek() != "rp":
                raise QueryError(f"missing ')' for '(' at position {pos}")
            self.take()
            self.depth -= 1
            return node
        if kind in ("word", "phrase"):
            if not analysis.token_texts(value):
                raise QueryError(f"{value!r} at position {pos} has no searchable characters")
            return Term(value, quoted=kind == "phrase")
        raise QueryError(f"unexpected {value!r} at position {pos}")


def _check_positive(node: Node) -> None:
    """Every AND group needs something to match; pure negations are rejected."""
    if isinstance(node, Not):
        raise QueryError("a query cannot consist only of exclusions ('-term'); add a term to search for")
    if isinstance(node, Or):
        for item in node.items:
            _check_positive(item)
    if isinstance(node, And):
        if all(isinstance(i, Not) for i in node.items):
            raise QueryError("a query cannot consist only of exclusions ('-term'); add a term to search for")
        for item in node.items:
            if not isinstance(item, Not):  # what is excluded may be any shape
                _check_positive(item)


def parse_q(q: str | None) -> Node | None:
    """Parse a query string; None/blank means "match all". Raises QueryError."""
    if q is None or not q.strip():
        return None
    if len(q) > MAX_QUERY_LENGTH:
        raise QueryError(f"query is longer than {MAX_QUERY_LENGTH} characters")
    node = _Parser(_lex(q)).parse()
    _check_positive(node)
    return node


def terms(node: Node | None, *, positive_only: bool = True) -> list[Term]:
    """All terms of a tree (for highlighting: only the ones not under a NOT)."""
    if node is None:
        return []
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return [] if positive_only else terms(node.item, positive_only=False)
    return [t for item in node.items for t in terms(item, positive_only=positive_only)]


def matches(node: Node | None, text: str) -> bool:
    """Reference evaluation of a tree against one text (brute force; the tests' oracle)."""
    if node is None:
        return True
    if isinstance(node, Term):
        return analysis.contains(text, node.text)
    if isinstance(node, Not):
        return not matches(node.item, text)
    if isinstance(node, And):
        return all(matches(i, text) for i in node.items)
    return any(matches(i, text) for i in node.items)


# -- filters, facets, sorting --------------------------------------------------------------------

# Facet / filter name → dotted path in the document.
FACET_FIELDS: dict[str, str] = {
    "province": "region.province",
    "city": "region.city",
    "county": "region.county",
    "agency": "agency.normalized_name",
    "agency_id": "agency.id",
    "agency_type": "agency.type",
    "level": "agency.level",
    "year": "year",
    "check_status": "check_status",
    "template": "template",
    "source_format": "source_format",
    "flags": "flags",
    "removed": "removed",
    "source": "provenance.source_id",
}
# Filters whose values have a fixed shape: another value is the user's mistake (a 400), not "0 hits".
VALUE_PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "year": (re.compile(r"\d{4}"), "a year such as 2024"),
    "removed": (re.compile(r"true|false"), "true or false"),
}
DEFAULT_FACETS: tuple[str, ...] = ("province", "city", "county", "agency_type", "level", "year", "check_status")

# Scopes a query can be restricted to: any section key, its Chinese name, or the title.
SCOPE_TITLE = "title"


def resolve_scope(value: str | None) -> str | None:
    """Accept a section key (``problems``), its Chinese name or a distinctive part of it (依申请公开)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value == SCOPE_TITLE or value in SECTION_KEYS:
        return value
    for key, name in SECTION_NAMES.items():
        if value == name:
            return key
    # Distinctive part of a Chinese name, preferring the most specific (the overview sub-items).
    for key, name in reversed(list(SECTION_NAMES.items())):
        if value in name:
            return key
    raise QueryError(f"unknown section {value!r}; use one of {', '.join(SECTION_KEYS)} or title", field="section")


OPERATORS = (">=", "<=", "!=", ">", "<", "=")
_COND_RE = re.compile(r"^\s*([a-z_.]+)\s*(>=|<=|!=|>|<|=)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True, slots=True)
class MetricCondition:
    key: str
    op: str
    value: float

    def test(self, actual: float | None) -> bool:
        if actual is None:
            return False  # an unknown number satisfies no condition
        return {
            ">=": actual >= self.value,
            "<=": actual <= self.value,
            ">": actual > self.value,
            "<": actual < self.value,
            "=": actual == self.value,
            "!=": actual != self.value,
        }[self.op]


def parse_condition(text: str) -> MetricCondition:
    """Parse ``applications.new.total >= 10``."""
    m = _COND_RE.match(text)
    if not m:
        raise QueryError(
            f"cannot read metric condition {text!r}; write it like 'applications.new.total >= 10'", "metric"
        )
    key, op, value = m.groups()
    if not catalogue.is_metric(key):
        raise QueryError(f"unknown metric {key!r}; see /api/v1/metrics", "metric")
    return MetricCondition(key, op, float(value))


@dataclass(frozen=True, slots=True)
class Bucket:
    label: str
    low: float | None  # inclusive
    high: float | None  # exclusive


DEFAULT_BUCKETS: tuple[Bucket, ...] = (
    Bucket("0", 0, 1),
    Bucket("1–9", 1, 10),
    Bucket("10–99", 10, 100),
    Bucket("100+", 100, None),
)

# Shares between 0 and 1 (e.g. copied.peers_ratio) and signed changes (yoy.*) need their own buckets.
RATIO_BUCKETS: tuple[Bucket, ...] = (
    Bucket("<20%", 0, 0.2),
    Bucket("20–49%", 0.2, 0.5),
    Bucket("50–79%", 0.5, 0.8),
    Bucket("80%+", 0.8, None),
)
CHANGE_BUCKETS: tuple[Bucket, ...] = (  # edges are plain decimals: the web page turns buckets into conditions
    Bucket("≤−50%", None, -0.5),
    Bucket("−50%–0", -0.5, 0),
    Bucket("0–99%", 0, 1),
    Bucket("≥100%", 1, None),
)
SIGNED_BUCKETS: tuple[Bucket, ...] = (
    Bucket("≤−10", None, -9.5),
    Bucket("−9–−1", -9.5, 0),
    Bucket("0–9", 0, 9.5),
    Bucket("≥10", 9.5, None),
)


def buckets_for(key: str) -> tuple[Bucket, ...]:
    """The value buckets of a metric facet: shares, relative changes, signed counts, or counts."""
    m = catalogue.get(key)
    if m.unit == catalogue.RATIO_UNIT:
        return RATIO_BUCKETS
    if m.unit == catalogue.CHANGE_UNIT:
        return CHANGE_BUCKETS
    if m.table == catalogue.TABLE_ANALYSIS and m.signed:
        return SIGNED_BUCKETS
    return DEFAULT_BUCKETS


SORTS = ("relevance", "year", "-year", "published", "-published")


def parse_sort(value: str | None) -> str:
    """``relevance`` (default), ``[-]year``, ``[-]published`` or ``[-]metric:<key>``."""
    if not value:
        return "relevance"
    if value in SORTS:
        return value
    bare = value.lstrip("-")
    if bare.startswith("metric:") and catalogue.is_metric(bare[len("metric:") :]):
        return value
    raise QueryError(f"unknown sort {value!r}; use relevance, year, -year, published or metric:<key>", "sort")


@dataclass(frozen=True)
class SearchQuery:
    q: str = ""
    scope: str | None = None  # section key or "title"; None = title and all sections
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # facet name → any-of values
    year_from: int | None = None
    year_to: int | None = None
    conditions: tuple[MetricCondition, ...] = ()
    facets: tuple[str, ...] = DEFAULT_FACETS
    metric_facets: tuple[str, ...] = ()  # metric keys bucketed with buckets_for(key)
    sort: str = "relevance"
    size: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None
    highlight: bool = True

    @property
    def tree(self) -> Node | None:
        return parse_q(self.q)

    def without_filter(self, name: str) -> SearchQuery:
        """The same query minus one facet's own filter (multi-select facet counts)."""
        if name == "year":
            return replace(
                self, filters={k: v for k, v in self.filters.items() if k != name}, year_from=None, year_to=None
            )
        return replace(self, filters={k: v for k, v in self.filters.items() if k != name})


def build_search(
    q: str | None = None,
    *,
    section: str | None = None,
    filters: dict[str, list[str] | tuple[str, ...] | str] | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
    metric: list[str] | tuple[str, ...] = (),
    facets: list[str] | tuple[str, ...] | None = None,
    metric_facets: list[str] | tuple[str, ...] = (),
    sort: str | None = None,
    size: int | None = None,
    cursor: str | None = None,
    highlight: bool = True,
) -> SearchQuery:
    """Validate raw parameters into a SearchQuery, raising QueryError with the offending field."""
    q = (q or "").strip()
    parse_q(q)  # validate now so the error names the query
    clean: dict[str, tuple[str, ...]] = {}
    for name, values in (filters or {}).items():
        if name not in FACET_FIELDS:
            raise QueryError(f"unknown filter {name!r}; use one of {', '.join(FACET_FIELDS)}", name)
        vals = (values,) if isinstance(values, str) else tuple(values)
        vals = tuple(v for v in (str(x).strip() for x in vals) if v)
        if name in VALUE_PATTERNS:
            for v in vals:
                if not VALUE_PATTERNS[name][0].fullmatch(v):
                    raise QueryError(f"{name} {v[:40]!r} is not {VALUE_PATTERNS[name][1]}", name)
        if vals:
            clean[name] = vals
    for name in facets if facets is not None else DEFAULT_FACETS:
        if name not in FACET_FIELDS:
            raise QueryError(f"unknown facet {name!r}; use one of {', '.join(FACET_FIELDS)}", "facets")
    for key in metric_facets:
        if not catalogue.is_metric(key):
            raise QueryError(f"unknown metric {key!r}", "metric_facets")
    if year_from is not None and year_to is not None and year_from > year_to:
        raise QueryError("year_from is after year_to", "year_from")
    size = DEFAULT_PAGE_SIZE if size is None else size
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise QueryError(f"size must be between 1 and {MAX_PAGE_SIZE}", "size")
    if cursor is not None:
        decode_cursor(cursor)
    return SearchQuery(
        q=q,
        scope=resolve_scope(section),
        filters=clean,
        year_from=year_from,
        year_to=year_to,
        conditions=tuple(parse_condition(c) for c in metric),
        facets=tuple(facets) if facets is not None else DEFAULT_FACETS,
        metric_facets=tuple(metric_facets),
        sort=parse_sort(sort),
        size=size,
        cursor=cursor,
        highlight=highlight,
    )


# -- cursors: opaque, carry the last sort key so deep pages stay cheap (search_after style) -------


def encode_cursor(sort_values: list[Any]) -> str:
    raw = json.dumps(sort_values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, RecursionError) as exc:  # RecursionError: "[[[[…" nested deeply
        raise QueryError("invalid cursor; use the next_cursor value of a previous page", "cursor") from exc
    if not isinstance(values, list):
        raise QueryError("invalid cursor; use the next_cursor value of a previous page", "cursor")
    return values


# -- aggregations -----------------------------------------------------------------------------------

GROUP_BY: dict[str, str] = {
    "year": "year",
    "province": "region.province",
    "city": "region.city",
    "county": "region.county",
    "agency": "agency.normalized_name",
    "agency_type": "agency.type",
    "level": "agency.level",
}
FUNCTIONS = ("sum", "avg", "min", "max", "count")


@dataclass(frozen=True)
class AggregationQuery:
    search: SearchQuery  # q + filters select the reports; paging and facets are ignored
    metrics: tuple[str, ...]
    functions: tuple[str, ...] = ("sum",)
    group_by: tuple[str, ...] = ("year",)


def build_aggregation(
    search: SearchQuery,
    metrics: list[str] | tuple[str, ...],
    functions: list[str] | tuple[str, ...] = ("sum",),
    group_by: list[str] | tuple[str, ...] = ("year",),
) -> AggregationQuery:
    if not metrics:
        raise QueryError("name at least one metric to aggregate", "metrics")
    for key in metrics:
        if not catalogue.is_metric(key):
            raise QueryError(f"unknown metric {key!r}; see /api/v1/metrics", "metrics")
    for fn in functions:
        if fn not in FUNCTIONS:
            raise QueryError(f"unknown function {fn!r}; use one of {', '.join(FUNCTIONS)}", "functions")
    for g in group_by:
        if g not in GROUP_BY:
            raise QueryError(f"cannot group by {g!r}; use one of {', '.join(GROUP_BY)}", "group_by")
    return AggregationQuery(search, tuple(metrics), tuple(functions) or ("sum",), tuple(group_by))
