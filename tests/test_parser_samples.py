"""Every seed and sample report parses to the figures read from it by hand (tests/fixtures/reports/expected.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer import catalogue
from indexer.parse import parse_file
from indexer.schema import ReportSchema
from tests.hand_read import ACTIVE, COLS, ITEMS, printed_metrics

REPORTS = Path(__file__).parent / "fixtures" / "reports"
EXPECTED: dict[str, dict] = {
    k: v for k, v in json.loads((REPORTS / "expected.json").read_text("utf-8")).items() if not k.startswith("_")
}


def expected_metrics(exp: dict) -> dict[str, float | int | None]:
    """The printed cells, plus the subtotals of table 三's outcome groups (the parser's sums of printed items)."""
    out = printed_metrics(exp)
    for cat, items in ITEMS.items():
        if cat == "other" and exp["template"] == "2019":
            continue
        for c in COLS:
            parts = [out[f"outcomes.{cat}.{i}.{c}"] for i in items]
            out[f"outcomes.{cat}.total.{c}"] = None if None in parts else sum(parts)
    return out


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def parsed(request):
    return request.param, parse_file(REPORTS / request.param)


def test_metrics_match_the_report(parsed) -> None:
    name, doc = parsed
    want = expected_metrics(EXPECTED[name])
    wrong = {k: (doc.metrics.get(k), v) for k, v in want.items() if doc.metrics.get(k) != pytest.approx(v)}
    assert not wrong, f"{name}: (got, expected) {wrong}"
    # Metrics of the other template generation are never invented.
    other = "2019" if EXPECTED[name]["template"] == "2021" else "2021"
    harmonised = {target: source for source, target in catalogue.HARMONISED.items()}
    invented = [k for k in ACTIVE[other] if k not in want and k not in harmonised and doc.metrics.get(k) is not None]
    assert not invented
    for target, source in harmonised.items():  # 本年新制作数量 (2019) and 本年制发件数 (2021) are one series
        if EXPECTED[name]["template"] == "2019":
            assert doc.metrics.get(target) == want.get(source), target
    assert set(doc.metrics) <= set(catalogue.metric_index())


def test_document_fields(parsed) -> None:
    name, doc = parsed
    exp = EXPECTED[name]
    assert doc.year == exp["year"]
    assert doc.template == exp["template"]
    assert doc.check_status == exp["check_status"], [c for c in doc.checks if c.status == "failed"]
    assert [doc.agency.name, doc.agency.normalized_name, doc.agency.type, doc.agency.level] == exp["agency"]
    assert [doc.region.province, doc.region.city, doc.region.county, doc.region.township] == exp["region"]
    assert doc.agency.id and doc.id and doc.parser_version
    if "published" in exp:
        assert doc.published == exp["published"]
    assert ReportSchema().validate(doc.to_dict()) == {}
    failed = sorted(c.name for c in doc.checks if c.status == "failed")
    assert failed == sorted(exp.get("failed_checks", []))
    # Totals nianbao computed (no 总计 column printed) are listed, and their row identity is not claimed as checked.
    assert doc.computed == exp.get("computed", [])
    checks = {c.name: c.status for c in doc.checks}
    rows = [key.removesuffix(".total") for key in doc.computed if not catalogue.get(key).derived]
    assert all(checks[f"columns.{row}"] == "skipped" for row in rows)


def test_missing_numbers_are_warned(parsed) -> None:
    name, doc = parsed
    none_metrics = [k for k, v in expected_metrics(EXPECTED[name]).items() if v is None]
    if none_metrics:
        assert any(w.code in ("missing_value", "cell_count", "ambiguous_value", "missing_column") for w in doc.warnings)


def test_sections_found(parsed) -> None:
    name, doc = parsed
    keys = {s.key for s in doc.sections}
    assert {"overview", "active", "applications", "review"} <= keys, (name, keys)
    assert all(s.text or s.key.startswith("overview.") or s.key == "other" for s in doc.sections)
