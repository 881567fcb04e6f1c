"""The deterministic report generator: determinism, accounting identities, realism, documents, streaming."""

from __future__ import annotations

import inspect
import statistics
import tracemalloc
from itertools import islice

import pytest

from demo.generator import GeneratedReport, generate_corpus, make_report
from demo.universe import corpus_agency, demo_agencies
from indexer import catalogue
from indexer.document import SECTION_KEYS, agency_id, report_id
from indexer.schema import ReportSchema

COLS6 = ("natural_person", "commercial", "research", "social_org", "legal_service", "other")
COLS7 = (*COLS6, "total")
WITHHELD = (
    "state_secret",
    "prohibited_by_law",
    "security_stability",
    "third_party_rights",
    "internal_affairs",
    "process_information",
    "enforcement_files",
    "administrative_query",
)
UNAVAILABLE = ("not_held", "needs_creation", "unclear_after_correction")
NOT_PROCESSED = ("petition_complaint", "duplicate", "publications", "excessive_repeated", "confirm_or_reissue")
OTHER = ("no_correction", "fee_unpaid", "other")


@pytest.fixture(scope="module")
def corpus() -> list[GeneratedReport]:
    return list(generate_corpus(1400, seed=11))


def identity_violations(r: GeneratedReport) -> list[str]:
    """Every accounting identity of the form, written out from the form itself (not from the generator)."""
    m, bad = r.metrics, []
    cats = {"withheld": WITHHELD, "unavailable": UNAVAILABLE, "not_processed": NOT_PROCESSED}
    if r.template == "2021":
        cats["other"] = OTHER
    rows = ["applications.new", "applications.carried_over", "outcomes.disclosed", "outcomes.partially_disclosed"]
    rows += [f"outcomes.{c}.{i}" for c, items in cats.items() for i in items]
    rows += [f"outcomes.{c}.total" for c in (*cats, "other")]
    rows += ["outcomes.total", "applications.carried_forward"]
    for row in rows:
        if sum(m[f"{row}.{c}"] for c in COLS6) != m[f"{row}.total"]:
            bad.append(f"{row}: six columns do not add up to 总计")
    for c in COLS7:
        if m[f"applications.new.{c}"] + m[f"applications.carried_over.{c}"] != (
            m[f"outcomes.total.{c}"] + m[f"applications.carried_forward.{c}"]
        ):
            bad.append(f"balance {c}: 一+二 != 七+四")
        for cat, items in cats.items():
            if sum(m[f"outcomes.{cat}.{i}.{c}"] for i in items) != m[f"outcomes.{cat}.total.{c}"]:
                bad.append(f"subtotal {cat}.{c}")
        outcome_sum = m[f"outcomes.disclosed.{c}"] + m[f"outcomes.partially_disclosed.{c}"]
        outcome_sum += sum(
            m[f"outcomes.{cat}.total.{c}"] for cat in ("withheld", "unavailable", "not_processed", "other")
        )
        if outcome_sum != m[f"outcomes.total.{c}"]:
            bad.append(f"(七)总计 {c} != sum of outcomes")
    for group in ("review", "litigation.direct", "litigation.after_review"):
        parts = sum(m[f"{group}.{k}"] for k in ("upheld", "corrected", "other", "pending"))
        if parts != m[f"{group}.total"]:
            bad.append(f"{group}: results do not add up to 总计")
    for key, value in m.items():
        metric = catalogue.get(key)
        if value < 0 and not metric.signed:
            bad.append(f"{key} negative")
        if metric.kind == "int" and not isinstance(value, int):
            bad.append(f"{key} not an integer")
    return bad


def test_same_seed_same_reports_and_different_seeds_differ() -> None:
    a = list(generate_corpus(40, seed=7))
    b = list(generate_corpus(40, seed=7))
    assert [(r.title, r.metrics, r.sections, r.preamble, r.published) for r in a] == [
        (r.title, r.metrics, r.sections, r.preamble, r.published) for r in b
    ]
    c = list(generate_corpus(40, seed=8))
    assert sum(x.metrics != y.metrics or x.title != y.title for x, y in zip(a, c, strict=True)) > 20
    # One report regenerates alone, without the ones before it.
    assert make_report(a[23].agency, a[23].year, seed=7, index=23).metrics == a[23].metrics


def test_every_report_satisfies_the_identities(corpus: list[GeneratedReport]) -> None:
    demo = [make_report(a, y, seed=3, index=i) for i, a in enumerate(demo_agencies()) for y in (2019, 2024)]
    failures = {r.title: v for r in corpus + demo if (v := identity_violations(r))}
    assert failures == {}


def test_identity_check_catches_a_broken_report(corpus: list[GeneratedReport]) -> None:
    broken = next(r for r in corpus if r.metrics["applications.new.total"] > 0)
    broken.metrics = dict(broken.metrics, **{"outcomes.disclosed.natural_person": 10_000})
    assert identity_violations(broken)


def test_keys_follow_the_template(corpus: list[GeneratedReport]) -> None:
    for r in corpus[:60]:
        assert r.template == ("2019" if r.year <= 2020 else "2021")
        templates = {catalogue.get(k).template for k in r.metrics}
        assert templates <= {"all", r.template}
        # Every non-derived metric of the template's tables is given (2019 has no fee amount cell).
        wanted = {
            m.key
            for m in catalogue.metrics()
            if m.template in ("all", r.template) and not (r.template == "2019" and m.key == "active.fees.amount_wan")
        }
        assert set(r.metrics) == wanted


def test_distributions_are_realistic(corpus: list[GeneratedReport]) -> None:
    def apps(kind: str, level: str) -> list[int]:
        return [
            r.metrics["applications.new.total"] for r in corpus if r.agency.type == kind and r.agency.level == level
        ]

    towns, depts, counties = apps("乡镇街道", "乡镇"), apps("部门", "县"), apps("人民政府", "县")
    assert len(towns) > 100 and len(depts) > 300 and len(counties) > 20
    assert sum(v <= 5 for v in towns) / len(towns) > 0.9 and statistics.median(towns) <= 1
    assert statistics.mean(counties) > 10 > statistics.mean(towns)
    assert statistics.mean(counties) > statistics.mean(depts) > statistics.mean(towns)
    fees = [r.metrics["active.fees.amount_wan"] for r in corpus if r.template == "2021"]
    assert sum(f == 0 for f in fees) / len(fees) > 0.6
    assert any(f != int(f) for f in fees)  # decimals in 万元
    assert any(r.metrics["review.total"] for r in corpus)
    assert any(r.metrics["outcomes.unavailable.not_held.total"] for r in corpus)


def test_agencies_keep_their_name_across_years() -> None:
    reports = list(generate_corpus(21, seed=1))
    for block in (reports[0:7], reports[7:14], reports[14:21]):
        assert len({(r.agency.name, r.agency.normalized_name) for r in block}) == 1
        assert [r.year for r in block] == list(range(2019, 2026))
    names = {corpus_agency(k).normalized_name + corpus_agency(k).city for k in range(5000)}
    assert len(names) == 5000


def test_titles_dates_and_narrative(corpus: list[GeneratedReport]) -> None:
    for r in corpus[:200]:
        assert r.agency.name in r.title and str(r.year) in r.title and r.title.endswith("年度报告")
        assert r.published.year == r.year + 1 and r.published.month in (1, 2, 3)
        assert [s.key for s in r.sections] == [
            "overview",
            "overview.active",
            "overview.application",
            "overview.management",
            "overview.platform",
            "overview.supervision",
            "active",
            "applications",
            "review",
            "problems",
            "other",
        ]
    text = "\n".join(s.text for r in corpus[:300] for s in r.sections)
    for phrase in ("依申请公开", "本机关不掌握相关政府信息", "行政复议", "收费", "诉讼", "ISO9001", "12345热线"):
        assert phrase in text, phrase
    # The narrative quotes the report's own figures.
    r = next(r for r in corpus if r.metrics["applications.new.total"] > 3 and "件" in r.section("applications").text)
    assert str(r.metrics["applications.new.total"]) in r.section("applications").text + r.section(
        "overview.application"
    ).text + str(r.metrics["applications.new.natural_person"])


def test_demo_universe_uses_real_places() -> None:
    agencies = demo_agencies()
    towns = {(a.county, a.township) for a in agencies if a.township}
    assert {
        ("鲁山县", "库区乡"),
        ("鲁山县", "背孜乡"),
        ("鲁山县", "瓦屋镇"),
        ("湛河区", "曹镇乡"),
        ("卢氏县", "官坡镇"),
    } <= towns
    assert {a.county for a in agencies} >= {"鲁山县", "湛河区", "郏县", "叶县", "宝丰县", "卢氏县"}
    assert {a.province for a in agencies} == {"河南省", "福建省"}
    assert 30 <= len(agencies) <= 80


def test_to_document_is_the_canonical_document(corpus: list[GeneratedReport]) -> None:
    r = corpus[12]
    url = "http://127.0.0.1:8001/zfxxgk/ndbg/t1.html"
    doc = r.to_document(url)
    assert doc.id == report_id(url)
    assert doc.agency.id == agency_id(doc.region, r.agency.normalized_name)
    assert doc.region.county == r.agency.county and doc.year == r.year and doc.title == r.title
    assert doc.check_status == "ok" and doc.template == r.template
    assert {s.key for s in doc.sections} == set(SECTION_KEYS)
    assert doc.metrics == r.metrics and doc.metrics is not r.metrics
    assert doc.published == r.published.isoformat()
    assert ReportSchema().validate(ReportSchema().dump(doc)) == {}


def test_generate_corpus_streams_in_flat_memory() -> None:
    stream = generate_corpus(10**6, seed=2)
    assert inspect.isgenerator(stream)
    tracemalloc.start()
    try:
        for _ in islice(stream, 100):
            pass
        _, first_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in islice(stream, 1000):
            pass
        _, later_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Ten times as many reports must not need noticeably more memory than the first 100.
    assert later_peak < first_peak * 1.5 + 256 * 1024, (first_peak, later_peak)


def test_negative_size_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        list(generate_corpus(-1))


def test_slices_of_a_corpus_match_the_whole() -> None:
    whole = list(generate_corpus(24, seed=4))
    parts = list(generate_corpus(10, seed=4)) + list(generate_corpus(14, seed=4, start=10))
    assert [(r.title, r.metrics) for r in parts] == [(r.title, r.metrics) for r in whole]


def test_carry_over_continues_from_one_year_to_the_next():
    """This year's 上年结转 is last year's 结转下年度 for the same agency (the cross-report check relies on it)."""
    from demo.generator import generate_corpus

    by_year = {(r.agency.normalized_name, r.year): r.metrics for r in generate_corpus(7 * 60, seed=11)}
    pairs = [(by_year[(a, y - 1)], m) for (a, y), m in by_year.items() if (a, y - 1) in by_year]
    assert len(pairs) == 6 * 60
    for before, after in pairs:
        for col in ("natural_person", "commercial", "research", "social_org", "legal_service", "other", "total"):
            assert before[f"applications.carried_forward.{col}"] == after[f"applications.carried_over.{col}"]
    assert any(m["applications.carried_over.total"] for _, m in pairs), "some agencies should carry work over"
