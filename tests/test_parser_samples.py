"""Every seed and sample report parses to the figures read from it by hand (tests/fixtures/reports/expected.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer import catalogue
from indexer.parse import parse_file
from indexer.schema import ReportSchema

REPORTS = Path(__file__).parent / "fixtures" / "reports"
EXPECTED: dict[str, dict] = {
    k: v for k, v in json.loads((REPORTS / "expected.json").read_text("utf-8")).items() if not k.startswith("_")
}
COLS = ["natural_person", "commercial", "research", "social_org", "legal_service", "other", "total"]

# Table 二 metrics of each template generation, written out rather than taken from the parser.
ACTIVE = {
    "2021": [f"active.{r}.{c}" for r in ("rules", "normative_documents") for c in ("issued", "repealed", "in_force")]
    + [
        "active.licensing.decisions",
        "active.penalty.decisions",
        "active.enforcement.decisions",
        "active.fees.amount_wan",
    ],
    "2019": [
        f"active.{r}.{c}"
        for r in ("rules", "normative_documents")
        for c in ("new_made", "new_published", "total_published")
    ]
    + [
        f"active.{r}.{c}"
        for r in ("licensing", "other_services", "penalty", "enforcement")
        for c in ("prev_items", "change", "decisions")
    ]
    + ["active.fees.prev_items", "active.fees.change", "active.procurement.items", "active.procurement.amount_wan"],
}
ITEMS = {
    "withheld": ["state_secret", "prohibited_by_law", "security_stability", "third_party_rights", "internal_affairs",
                 "process_information", "enforcement_files", "administrative_query"],
    "unavailable": ["not_held", "needs_creation", "unclear_after_correction"],
    "not_processed": ["petition_complaint", "duplicate", "publications", "excessive_repeated", "confirm_or_reissue"],
    "other": ["no_correction", "fee_unpaid", "other"],
}  # fmt: skip
REVIEW = [f"{g}.{c}" for g in ("review", "litigation.direct", "litigation.after_review")
          for c in ("upheld", "corrected", "other", "pending", "total")]  # fmt: skip


def expected_metrics(exp: dict) -> dict[str, float | int | None]:
    template = exp["template"]
    rows = ["applications.new", "applications.carried_over", "outcomes.disclosed", "outcomes.partially_disclosed"]
    for cat, items in ITEMS.items():
        if cat == "other" and template == "2019":
            rows.append("outcomes.other.total")
        else:
            rows.extend(f"outcomes.{cat}.{i}" for i in items)
    rows += ["outcomes.total", "applications.carried_forward"]
    out: dict[str, float | int | None] = {}
    for row in rows:
        values = exp["table3"].get(row) or ([None] * 7 if row in exp["table3_none"] else [0] * 7)
        out.update({f"{row}.{c}": v for c, v in zip(COLS, values, strict=True)})
    for cat, items in ITEMS.items():
        if cat == "other" and template == "2019":
            continue
        for c in COLS:
            parts = [out[f"outcomes.{cat}.{i}.{c}"] for i in items]
            out[f"outcomes.{cat}.total.{c}"] = None if None in parts else sum(parts)
    for key in ACTIVE[template]:
        out[key] = None if key in exp["active_none"] else exp["active"].get(key, 0)
    out.update(dict(zip(REVIEW, exp["review"], strict=True)))
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
