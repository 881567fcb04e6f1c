"""The Elasticsearch index definition follows the document and the catalogue, and the committed copy is current."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import pytest

from indexer import catalogue
from indexer.document import SECTION_KEYS, ReportDocument, Section
from store import es_mapping
from store.query import FACET_FIELDS, GROUP_BY

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = es_mapping.mappings()
PROPS = MAPPINGS["properties"]


def _at(path: str) -> dict:
    """The mapping of a dotted document path (objects descend through ``properties``)."""
    node = {"properties": PROPS}
    for part in path.split("."):
        node = node["properties"][part]
    return node


def _leaf_paths(cls: type, prefix: str = "") -> list[tuple[str, typing.Any, dict]]:
    """Every scalar field of the document dataclasses as (dotted path, type hint, metadata)."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        inner = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
        inner_tp = inner[0] if len(inner) == 1 else tp
        if typing.get_origin(inner_tp) is list:
            (inner_tp,) = typing.get_args(inner_tp)
        if dataclasses.is_dataclass(inner_tp):
            if inner_tp is not Section:
                out.extend(_leaf_paths(inner_tp, f"{prefix}{f.name}."))
            continue
        out.append((prefix + f.name, inner_tp, dict(f.metadata)))
    return out


def test_dynamic_strict():
    assert MAPPINGS["dynamic"] == "strict"


def test_committed_mapping_is_what_the_generator_makes():
    committed = json.loads((ROOT / "mappings" / "reports.json").read_text(encoding="utf-8"))
    assert committed == json.loads(es_mapping.render()), "run: python -m store.es_mapping > mappings/reports.json"


@pytest.mark.parametrize(("path", "hint", "meta"), _leaf_paths(ReportDocument))
def test_every_document_field_is_mapped_by_its_search_kind(path, hint, meta):
    search = meta.get("search", "none")
    mapping = _at(path)
    if search == "metrics":
        assert mapping["subobjects"] is False
    elif search == "keyword":
        expected = {str: "keyword", int: "integer", bool: "boolean"}[hint]
        assert mapping["type"] == expected
        assert mapping.get("index", True) is not False
    elif search == "text":
        assert mapping["type"] == "text"
        assert mapping["analyzer"] == es_mapping.TEXT_ANALYZER
        assert mapping["fields"]["chars"]["analyzer"] == es_mapping.CHARS_ANALYZER
    elif search == "date":
        assert mapping["type"] == "date"
        assert mapping["ignore_malformed"] is True  # a bad date must not lose the report
    else:
        assert mapping["index"] is False and mapping["doc_values"] is False


def test_every_catalogue_metric_is_a_numeric_field():
    metrics = PROPS["metrics"]["properties"]
    assert set(metrics) == {m.key for m in catalogue.metrics()}
    for m in catalogue.metrics():
        assert metrics[m.key]["type"] == ("double" if m.kind == "float" else "long"), m.key
    assert any(m.kind == "float" for m in catalogue.metrics())  # the fees really are exercised


def test_each_section_is_its_own_text_field_and_the_list_stays_in_source():
    assert PROPS["sections"] == {"type": "object", "enabled": False}
    sections = PROPS["sections_text"]["properties"]
    assert len(sections) == len(SECTION_KEYS)
    for key in SECTION_KEYS:
        field = es_mapping.section_field(key)
        assert "." not in field.removeprefix("sections_text.")
        assert _at(field)["type"] == "text"


def test_facet_and_group_fields_are_exact_keyword_or_numeric():
    for path in list(FACET_FIELDS.values()) + list(GROUP_BY.values()):
        assert _at(path)["type"] in ("keyword", "integer", "boolean"), path


def test_analysis_uses_builtin_components_only_by_default():
    analysis = es_mapping.analysis_settings()
    text = analysis["analyzer"][es_mapping.TEXT_ANALYZER]
    assert text["tokenizer"] == "standard"
    assert text["filter"] == ["cjk_width", "lowercase", "nianbao_bigram"]
    assert analysis["filter"]["nianbao_bigram"]["type"] == "cjk_bigram"


@pytest.mark.parametrize(("analyzer", "expected"), [("smartcn", "smartcn"), ("ik", "ik_max_word")])
def test_plugin_analyzers_are_selectable(analyzer, expected):
    title = es_mapping.mappings(analyzer)["properties"]["title"]
    assert title["analyzer"] == expected
    assert title["fields"]["chars"]["analyzer"] == es_mapping.CHARS_ANALYZER  # 1-char queries still work


def test_unknown_analyzer_is_refused():
    with pytest.raises(ValueError, match="unknown analyzer"):
        es_mapping.mappings("jieba")


def test_source_adds_section_texts_and_round_trips():
    doc = ReportDocument(
        id="r1",
        title="2023年度报告",
        sections=[Section("overview.active", "主动公开", "甲"), Section("overview.active", "", "乙"), Section("other")],
        metrics={"applications.new.total": 3},
    )
    source = es_mapping.source_of(doc)
    assert source["sections_text"] == {"overview__active": "甲\n乙"}
    assert es_mapping.document_of(source) == doc


def test_main_prints_the_definition(capsys):
    assert es_mapping.main([]) == 0
    assert json.loads(capsys.readouterr().out) == es_mapping.index_definition()
    assert es_mapping.main(["nope"]) == 2
