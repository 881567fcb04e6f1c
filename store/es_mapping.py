"""The Elasticsearch index definition, generated from the one document definition.

Fields come from walking ``indexer.document`` dataclasses and their ``search`` metadata, metric fields
from ``indexer.catalogue``; nothing here lists a document field by hand. The analysis chain implements
``store.analysis`` with built-in Elasticsearch components:

* ``nianbao_text`` (title and every section): a ``pattern_replace`` char filter deletes whitespace between
  two ideographs, the ``standard`` tokenizer emits one token per ideograph and UAX#29 words, then
  ``cjk_width`` (full-width → ASCII, our stand-in for NFKC), ``lowercase`` and ``cjk_bigram``, which joins
  only ideographs whose offsets touch, so 复议 never matches 复、议.
* ``.chars`` sub-field (``nianbao_chars``): one token per ideograph, for one-character queries. A second
  char filter puts a marker word between two adjacent ideographs that a stop filter removes, leaving a
  position gap: joined ideographs sit two positions apart, separated ones one. A phrase query over this
  field therefore enforces joinedness exactly, which the bigram field cannot do for a lone ideograph at
  either end of a mixed-script term (``12件`` inside ``12件申请``).

Regenerate the committed copy with ``python -m store.es_mapping > mappings/reports.json``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from functools import cache
from typing import Any

from indexer import catalogue
from indexer.document import SECTION_KEYS, ReportDocument, Section
from store import analysis
from store.query import SCOPE_TITLE

ANALYZERS = ("cjk", "smartcn", "ik")
TEXT_ANALYZER = "nianbao_text"
CHARS_ANALYZER = "nianbao_chars"
CHARS_SUBFIELD = "chars"
JOIN_MARKER = "xnbjoinx"  # a word no report contains; removed by a stop filter, leaving a position gap
SECTIONS_FIELD = "sections_text"
METRICS_FIELD = "metrics"
KEYWORD_IGNORE_ABOVE = 8191  # longer values stay in _source but are not indexed (Lucene's term limit)
DATE_FORMAT = "strict_date_optional_time||yyyy-MM||yyyy||epoch_millis"


# -- field names ------------------------------------------------------------------------------------


def section_field(key: str) -> str:
    """``overview.active`` → ``sections_text.overview__active`` (a dot would make it a sub-object)."""
    return f"{SECTIONS_FIELD}.{key.replace('.', '__')}"


def scope_field(scope: str) -> str:
    """The text field of a scope: a section key or ``title``."""
    return SCOPE_TITLE if scope == SCOPE_TITLE else section_field(scope)


def metric_field(key: str) -> str:
    return f"{METRICS_FIELD}.{key}"


def text_fields() -> tuple[str, ...]:
    """Every searchable text field: the title, then the sections in template order."""
    return (SCOPE_TITLE, *(section_field(k) for k in SECTION_KEYS))


def field_scopes() -> dict[str, str]:
    """Text field (or its ``.chars`` sub-field) → scope name, to map highlights back to section keys."""
    out: dict[str, str] = {}
    for scope in (SCOPE_TITLE, *SECTION_KEYS):
        out[scope_field(scope)] = scope
        out[f"{scope_field(scope)}.{CHARS_SUBFIELD}"] = scope
    return out


# -- analysis ---------------------------------------------------------------------------------------


def _ranges(predicate: typing.Callable[[str], bool]) -> str:
    """A Java/Python regex character class body for the BMP characters satisfying ``predicate``."""
    parts: list[str] = []
    start: int | None = None
    for cp in range(0x10000 + 1):
        inside = cp < 0x10000 and not 0xD800 <= cp <= 0xDFFF and predicate(chr(cp))
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            end = cp - 1
            parts.append(f"\\u{start:04x}" if start == end else f"\\u{start:04x}-\\u{end:04x}")
            start = None
    return "".join(parts)


@cache
def cjk_class() -> str:
    """The ideographs of ``store.analysis`` (derived from it, so the two cannot drift)."""
    return "[" + _ranges(analysis.is_cjk) + "]"


@cache
def space_class() -> str:
    """Whitespace as Python's ``\\s`` sees it (Java's ``\\s`` is ASCII-only): includes U+3000."""
    return "[" + _ranges(str.isspace) + "]"


def cjk_space_pattern() -> str:
    return f"(?<={cjk_class()}){space_class()}+(?={cjk_class()})"


def cjk_join_pattern() -> str:
    return f"(?<={cjk_class()})(?={cjk_class()})"


def analysis_settings() -> dict[str, Any]:
    """Built-in components only, so a stock Elasticsearch works."""
    return {
        "char_filter": {
            "nianbao_cjk_space": {"type": "pattern_replace", "pattern": cjk_space_pattern(), "replacement": ""},
            "nianbao_cjk_join": {
                "type": "pattern_replace",
                "pattern": cjk_join_pattern(),
                "replacement": f" {JOIN_MARKER} ",
            },
        },
        "filter": {
            # Kana and Hangul stay words, as in store.analysis; only Han ideographs are bigrammed.
            "nianbao_bigram": {"type": "cjk_bigram", "ignored_scripts": ["hiragana", "katakana", "hangul"]},
            "nianbao_join_gap": {"type": "stop", "stopwords": [JOIN_MARKER]},
        },
        "analyzer": {
            TEXT_ANALYZER: {
                "type": "custom",
                "char_filter": ["nianbao_cjk_space"],
                "tokenizer": "standard",
                "filter": ["cjk_width", "lowercase", "nianbao_bigram"],
            },
            CHARS_ANALYZER: {
                "type": "custom",
                "char_filter": ["nianbao_cjk_space", "nianbao_cjk_join"],
                "tokenizer": "standard",
                "filter": ["cjk_width", "lowercase", "nianbao_join_gap"],
            },
        },
    }


def _main_analyzers(analyzer: str) -> dict[str, str]:
    """Index/search analyzers of the main text fields; plugins segment words instead of bigrams."""
    if analyzer == "cjk":
        return {"analyzer": TEXT_ANALYZER}
    if analyzer == "smartcn":
        return {"analyzer": "smartcn"}
    if analyzer == "ik":
        return {"analyzer": "ik_max_word", "search_analyzer": "ik_smart"}
    raise ValueError(f"unknown analyzer {analyzer!r}; use one of {', '.join(ANALYZERS)}")


# -- mappings ---------------------------------------------------------------------------------------


def _text(analyzer: str) -> dict[str, Any]:
    return {
        "type": "text",
        **_main_analyzers(analyzer),
        "index_options": "offsets",  # the unified highlighter reads offsets from postings
        "fields": {CHARS_SUBFIELD: {"type": "text", "analyzer": CHARS_ANALYZER, "index_options": "offsets"}},
    }


def _metric(metric: catalogue.Metric) -> dict[str, Any]:
    return {"type": "double"} if metric.kind == "float" else {"type": "long"}


def _unwrap(tp: Any) -> Any:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]  # noqa: UP007
    return tp


_SCALAR_TYPES = {str: "keyword", int: "long", float: "double", bool: "boolean"}


def _scalar(tp: Any, search: str) -> dict[str, Any]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):  # float | int
        tp = float
    es_type = _SCALAR_TYPES[tp]
    if search == "none":  # kept in _source only
        return {"type": es_type, "index": False, "doc_values": False}
    if search == "date":
        return {"type": "date", "format": DATE_FORMAT, "ignore_malformed": True}
    if search == "text":
        raise AssertionError("text fields are built by _text")
    if es_type == "keyword":
        return {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE}
    if es_type in ("long", "double"):
        return {"type": "integer" if es_type == "long" else es_type, "ignore_malformed": True}
    return {"type": es_type}


def _property(tp: Any, meta: dict[str, Any], analyzer: str) -> dict[str, Any]:
    inner = _unwrap(tp)
    search = meta.get("search")
    if search == "metrics":
        return {
            "type": "object",
            "subobjects": False,  # keys are dotted paths; keep them as leaf names
            "properties": {m.key: _metric(m) for m in catalogue.metrics()},
        }
    if search == "text":
        return _text(analyzer)
    if typing.get_origin(inner) is list:
        (item,) = typing.get_args(inner)
        if item is Section:  # indexed per key as sections_text.*; the list itself lives in _source
            return {"type": "object", "enabled": False}
        return _property(item, meta, analyzer)
    if dataclasses.is_dataclass(inner):
        return {"properties": _properties(inner, analyzer)}
    return _scalar(inner, search or "none")


def _properties(cls: type, analyzer: str) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: _property(hints[f.name], dict(f.metadata), analyzer) for f in dataclasses.fields(cls)}


def mappings(analyzer: str = "cjk") -> dict[str, Any]:
    properties = _properties(ReportDocument, analyzer)
    properties[SECTIONS_FIELD] = {
        "properties": {key.replace(".", "__"): _text(analyzer) for key in SECTION_KEYS},
    }
    return {"dynamic": "strict", "properties": properties}


def index_definition(analyzer: str = "cjk", *, shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """The body of ``PUT /<index>``: settings (analysis) and mappings."""
    return {
        "settings": {
            "number_of_shards": shards,
            "number_of_replicas": replicas,
            "analysis": analysis_settings(),
        },
        "mappings": mappings(analyzer),
    }


def source_of(doc: ReportDocument) -> dict[str, Any]:
    """The indexed document: the full canonical document plus one text field per section."""
    source = doc.to_dict()
    source[SECTIONS_FIELD] = {key.replace(".", "__"): text for key in SECTION_KEYS if (text := doc.section_text(key))}
    return source


def document_of(source: dict[str, Any]) -> ReportDocument:
    return ReportDocument.from_dict({k: v for k, v in source.items() if k != SECTIONS_FIELD})


def render(analyzer: str = "cjk") -> str:
    return json.dumps(index_definition(analyzer), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    analyzer = args[0] if args else "cjk"
    if analyzer not in ANALYZERS:
        print(f"usage: python -m store.es_mapping [{'|'.join(ANALYZERS)}]", file=sys.stderr)
        return 2
    sys.stdout.write(render(analyzer))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
