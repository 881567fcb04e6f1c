"""The insights stage on real parts: generated reports indexed into a real SqliteStore, refreshed, searched.

Expected answers are computed here from the generator's truth and plain Python (sets of substrings,
dictionaries by agency and year), never by the insights modules themselves.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from demo.generator import generate_corpus, make_report
from demo.universe import department, general_office, government
from indexer.document import ReportDocument, Section
from insights import refresh
from insights.series import AgencyNode, link, name_root
from store.query import RATIO_BUCKETS, build_search
from store.sqlite_store import SqliteStore

N_AGENCIES = 30
YEARS = range(2019, 2026)


def _docs() -> list[ReportDocument]:
    docs = [r.to_document(f"https://gov.example/{i}.html") for i, r in enumerate(generate_corpus(7 * N_AGENCIES))]
    # The generator keeps 上年结转 = last year's 结转下年度; break it in some reports, as real agencies do.
    for d in docs[3::5]:
        d.metrics["applications.carried_over.natural_person"] += 1
        d.metrics["applications.carried_over.total"] += 1
    return docs


@pytest.fixture(scope="module")
def corpus() -> list[ReportDocument]:
    return _docs()


@pytest.fixture(scope="module")
def refreshed(corpus: list[ReportDocument], tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path_factory.mktemp("ins") / "index.sqlite3")
    store.index(corpus)
    stats = refresh(store)
    assert stats.reports == len(corpus) and stats.failed == 0
    yield store
    store.close()


def _all(store: SqliteStore, **kwargs) -> list:
    query = build_search(facets=(), size=100, **kwargs)
    hits = []
    while True:
        result = store.search(query)
        hits.extend(result.hits)
        if not result.next_cursor:
            return hits
        query = dataclasses.replace(query, cursor=result.next_cursor)


# -- linking ----------------------------------------------------------------------------------------


def test_name_variants_of_one_government_share_a_root_but_departments_do_not():
    assert (
        name_root("鲁山县政府") == name_root("鲁山县人民政府") == name_root("鲁山县人民政府办公室") == "鲁山县人民政府"
    )
    assert name_root("鲁山县财政局") == "鲁山县财政局"
    assert name_root("河南省人民政府办公厅") == "河南省人民政府"


GOV, OFFICE = "鲁山县人民政府", "鲁山县人民政府办公室"
EARLY, LATE, ALL = range(2019, 2022), range(2022, 2026), range(2019, 2026)


def _node(agency_id: str, name: str, years: range, county: str = "鲁山县") -> AgencyNode:
    return AgencyNode(agency_id, name, ("河南省", "平顶山市", county), set(years), len(years))


def test_renamed_publisher_is_linked_but_two_publishers_of_one_year_stay_apart():
    renamed = link(
        [_node("a", "鲁山县人民政府", range(2019, 2022)), _node("b", "鲁山县人民政府办公室", range(2022, 2026))]
    )
    assert renamed["a"] is renamed["b"] and renamed["a"].agencies == ["a", "b"]
    both = link(
        [_node("a", "鲁山县人民政府", range(2019, 2026)), _node("b", "鲁山县人民政府办公室", range(2019, 2026))]
    )
    assert both["a"] is not both["b"]
    other = link([_node("a", GOV, EARLY), _node("c", "鲁山县财政局", LATE)])
    assert other["a"] is not other["c"]
    elsewhere = link(
        [_node("a", "鲁山县人民政府", range(2019, 2022)), _node("d", "郏县人民政府", range(2022, 2026), "郏县")]
    )
    assert elsewhere["a"] is not elsewhere["d"]


def test_a_self_locating_name_links_across_region_readings_but_a_common_town_name_does_not():
    full, bare = ("河南省", "平顶山市", "鲁山县"), ("河南省", "", "")
    name = "鲁山县财政局"
    finance = link([AgencyNode("a", name, full, set(EARLY), 3), AgencyNode("b", name, bare, set(LATE), 4)])
    assert finance["a"] is finance["b"]
    towns = link(
        [
            AgencyNode("c", "城关镇人民政府", ("河南省", "三门峡市", "卢氏县"), set(EARLY), 3),
            AgencyNode("d", "城关镇人民政府", ("河南省", "平顶山市", "鲁山县"), set(LATE), 4),
        ]
    )
    assert towns["c"] is not towns["d"]


def test_renamed_agency_gets_changes_across_the_rename(tmp_path: Path):
    gov, office = government("河南省", "平顶山市", "鲁山县"), general_office("河南省", "平顶山市", "鲁山县")
    finance = department("河南省", "平顶山市", "鲁山县", "财政局", 1.0)
    reports = [make_report(gov, y) for y in (2021, 2022)] + [make_report(office, 2023)]
    reports += [make_report(finance, y) for y in (2022, 2023)]
    docs = [r.to_document(f"https://gov.example/r{i}") for i, r in enumerate(reports)]
    with closing(SqliteStore(tmp_path / "index.sqlite3")) as store:
        store.index(docs)
        refresh(store)
        office_2023, gov_2022 = store.get(docs[2].id), store.get(docs[1].id)
        assert office_2023.analysis.previous_id == gov_2022.id
        want = reports[2].metrics["applications.new.total"] - reports[1].metrics["applications.new.total"]
        assert office_2023.metrics["yoy.applications.new.total.abs"] == want
        assert office_2023.analysis.series == gov_2022.analysis.series
        finance_2023 = store.get(docs[4].id)
        assert finance_2023.analysis.previous_id == docs[3].id  # its own 2022 report, not the government's
        assert finance_2023.analysis.series != office_2023.analysis.series


# -- year over year ---------------------------------------------------------------------------------


def _truth_by_agency_year(docs: list[ReportDocument]) -> dict[tuple[str, int], ReportDocument]:
    return {(d.agency.id, d.year): d for d in docs}


def test_largest_rise_in_applications_is_the_search_sort(refreshed: SqliteStore, corpus: list[ReportDocument]):
    truth = _truth_by_agency_year(corpus)
    key = "applications.new.total"
    rises = {}
    for (agency, year), d in truth.items():
        prev = truth.get((agency, year - 1))
        if year == 2024 and prev is not None:
            rises[d.id] = d.metrics[key] - prev.metrics[key]
    hits = _all(refreshed, filters={"year": ["2024"]}, sort=f"-metric:yoy.{key}.abs")
    got = [(h.id, h.metrics[f"yoy.{key}.abs"]) for h in hits]
    assert len(got) == len(rises)
    assert [v for _, v in got] == sorted(rises.values(), reverse=True)
    assert all(rises[i] == v for i, v in got)
    # ... and filtering by the change works like any metric condition.
    up = _all(refreshed, filters={"year": ["2024"]}, metric=[f"yoy.{key}.abs>=1"])
    assert {h.id for h in up} == {i for i, v in rises.items() if v >= 1}


def test_relative_changes_and_first_years(refreshed: SqliteStore, corpus: list[ReportDocument]):
    truth = _truth_by_agency_year(corpus)
    for d in corpus:
        got = refreshed.get(d.id)
        prev = truth.get((d.agency.id, d.year - 1))
        for key in ("outcomes.disclosed.total", "review.total", "outcomes.unavailable.not_held.total"):
            if prev is None:
                assert f"yoy.{key}.abs" not in got.metrics
                continue
            now, before = d.metrics[key], prev.metrics[key]
            assert got.metrics[f"yoy.{key}.abs"] == now - before
            if before:
                assert got.metrics[f"yoy.{key}.rel"] == pytest.approx((now - before) / before, abs=1e-6)
            else:
                assert f"yoy.{key}.rel" not in got.metrics


# -- checks -----------------------------------------------------------------------------------------


def _check(doc: ReportDocument, name: str):
    return next(c for c in doc.checks if c.name == name)


def test_carry_over_check_against_last_years_carried_forward(refreshed, corpus):
    truth = _truth_by_agency_year(corpus)
    failed = 0
    for d in corpus:
        prev = truth.get((d.agency.id, d.year - 1))
        check = _check(refreshed.get(d.id), "cross.carry.applications.carried_over.total")
        if prev is None:
            assert check.status == "skipped"
            continue
        expected, actual = (
            prev.metrics["applications.carried_forward.total"],
            d.metrics["applications.carried_over.total"],
        )
        assert check.status == ("ok" if expected == actual else "failed"), d.id
        assert (check.expected, check.actual) == (expected, actual)
        failed += check.status == "failed"
    assert failed  # the hand-made breaks (see _docs) really fire
    flagged = {h.id for h in _all(refreshed, filters={"flags": ["cross.carry"]})}
    carry = "cross.carry.applications.carried_over.total"
    assert flagged == {d.id for d in corpus if _check(refreshed.get(d.id), carry).status == "failed"}
    statuses = {h.id for h in _all(refreshed, filters={"check_status": ["failed"]})}
    assert statuses == {d.id for d in corpus if any(c.status == "failed" for c in refreshed.get(d.id).checks)}


def _content_docs() -> list[ReportDocument]:
    """One publisher over three years, edited by hand to break each content check once."""
    agency = department("河南省", "平顶山市", "鲁山县", "财政局", 1.0)
    docs = [make_report(agency, y).to_document(f"https://gov.example/c{y}") for y in (2022, 2023, 2024)]
    d22, d23, d24 = docs
    d22.metrics["applications.new.total"] = 12
    d23.metrics["applications.new.total"] = 1500  # ×125: an order-of-magnitude jump
    d24.metrics["applications.new.total"] = 1400  # ×0.93: not a jump
    d23.metrics["active.fees.amount_wan"] = 2.5
    d23.sections = [s for s in d23.sections if s.key != "other"] + [Section("other", "六", "本年度无其他事项。")]
    d24.metrics["active.fees.amount_wan"] = 2.5
    d24.sections = [s for s in d24.sections if s.key != "problems"] + [Section("problems", "五", "  ")]
    d24.metrics["review.upheld"] = None
    d24.metrics["outcomes.disclosed.commercial"] = None
    return docs


def test_content_checks_fire_on_hand_broken_reports(tmp_path: Path):
    docs = _content_docs()
    with closing(SqliteStore(tmp_path / "index.sqlite3")) as store:
        store.index(docs)
        refresh(store)
        d22, d23, d24 = (store.get(d.id) for d in docs)
    jump = _check(d23, "cross.jump.applications.new.total")
    assert (jump.status, jump.expected, jump.actual) == ("failed", 12, 1500)
    assert _check(d24, "cross.jump").status == "ok"
    assert _check(d22, "cross.jump").status == "skipped"
    assert _check(d23, "cross.fees_explained.active.fees.amount_wan").status == "failed"
    assert _check(d24, "cross.fees_explained.active.fees.amount_wan").status in ("ok", "failed")
    assert _check(d23, "cross.problems_section").status == "ok"
    assert _check(d24, "cross.problems_section").status == "failed"
    blank = _check(d24, "cross.blank_cells")
    assert (blank.status, blank.actual) == ("failed", 2)
    assert "review.upheld" in blank.message and "outcomes.disclosed.commercial" in blank.message
    assert _check(d22, "cross.blank_cells").status == "ok"
    assert d23.check_status == d24.check_status == "failed"
    assert {"cross.jump", "cross.fees_explained"} <= set(d23.flags)
    assert {"cross.problems_section", "cross.blank_cells"} <= set(d24.flags) and "cross.jump" not in d24.flags


# -- copied text ------------------------------------------------------------------------------------

BASE = (
    "本机关坚持以人民为中心的发展思想，认真贯彻落实政府信息公开条例，全面推进决策、执行、管理、服务、结果公开。"
    "严格落实政府信息公开属性源头认定机制，加强公开内容审核，持续提升政务公开质量和实效。"
    "进一步规范依申请公开办理流程，严格按照法定时限答复申请人，切实保障人民群众的知情权、参与权和监督权。"
)
EDITED = BASE.replace("持续提升政务公开质量和实效", "不断增强政府公信力和执行力")
UNRELATED = (
    "今年汛期降雨偏多，乡里组织干部群众加固河堤，转移安置受灾群众，及时发放救灾物资。"
    "秋收以后开展农田水利建设，新修机耕道路，改造中低产田，发展特色种植和乡村旅游。"
)
FILLER = "本报告由本机关编制，内容真实准确。"


def _shingles(text: str) -> set[str]:
    chars = re.sub(r"[^\u4e00-\u9fffA-Za-z]", "", text)  # Chinese characters and Latin letters only
    return {chars[i : i + 5] for i in range(len(chars) - 4)}


def _containment(a: str, b: str) -> float:
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa)


def _narrative_doc(doc_id: str, agency: str, year: int, text: str, county: str = "鲁山县") -> ReportDocument:
    d = make_report(department("河南省", "平顶山市", county, agency, 1.0), year).to_document(doc_id)
    d.id = doc_id
    d.sections = [Section("overview", "一、总体情况", text), Section("problems", "五", FILLER)]
    return d


def test_copied_ratios_on_pairs_built_by_hand(tmp_path: Path):
    docs = [
        _narrative_doc("prev", "财政局", 2023, BASE),
        _narrative_doc("same", "财政局", 2024, BASE),  # identical to its own previous report
        _narrative_doc("edit", "教育局", 2024, EDITED),  # lightly edited copy of another agency's
        _narrative_doc("alone", "公安局", 2024, UNRELATED),  # shares nothing with anyone
    ]
    with closing(SqliteStore(tmp_path / "index.sqlite3")) as store:
        store.index(docs)
        refresh(store)
        same, edit, alone = (store.get(i) for i in ("same", "edit", "alone"))
    assert same.metrics["copied.previous_ratio"] == 1.0
    assert same.analysis.copied_previous_id == "prev"
    whole = lambda t: t + FILLER  # noqa: E731  (the narrative is section 一 plus section 五)
    assert edit.metrics["copied.peers_ratio"] == pytest.approx(_containment(whole(EDITED), whole(BASE)), abs=1e-3)
    assert 0.5 < edit.metrics["copied.peers_ratio"] < 1.0
    assert edit.analysis.copied_peer_id == "same"  # same and prev are BASE, prev is another year
    assert same.metrics["copied.peers_ratio"] == pytest.approx(_containment(whole(BASE), whole(EDITED)), abs=1e-3)
    assert alone.metrics["copied.peers_ratio"] < 0.2
    assert "copied.previous_ratio" not in alone.metrics  # no previous report
    assert edit.analysis.copied_peer_title == same.title


def test_boilerplate_filter_and_ratio_facet_match_brute_force(refreshed: SqliteStore, corpus):
    docs = {d.id: refreshed.get(d.id) for d in corpus}
    result = refreshed.search(build_search(facets=(), metric_facets=["copied.peers_ratio"], size=1))
    counts = {v.value: v.count for v in result.facets[0].values}
    assert list(counts) == [b.label for b in RATIO_BUCKETS]
    for b in RATIO_BUCKETS:
        want = sum(
            1
            for d in docs.values()
            if (v := d.metrics.get("copied.peers_ratio")) is not None and v >= b.low and (b.high is None or v < b.high)
        )
        assert counts[b.label] == want
    high = _all(refreshed, metric=["copied.peers_ratio>=0.8"], sort="-metric:copied.peers_ratio")
    assert {h.id for h in high} == {i for i, d in docs.items() if (d.metrics.get("copied.peers_ratio") or 0) >= 0.8}


def test_peer_ratio_is_the_exact_overlap_with_the_named_report(refreshed: SqliteStore, corpus):
    from insights.shingles import narrative

    for d in corpus[:60]:
        got = refreshed.get(d.id)
        peer = got.analysis.copied_peer_id
        if not peer:
            continue
        other = refreshed.get(peer)
        assert other.year == d.year and other.analysis.series != got.analysis.series
        want = _containment(narrative(got), narrative(other))
        assert got.metrics["copied.peers_ratio"] == pytest.approx(want, abs=2e-3)


# -- the stage itself ---------------------------------------------------------------------------------


def test_refresh_is_idempotent_and_independent_of_store_order(refreshed: SqliteStore, corpus, tmp_path: Path):
    assert refresh(refreshed).updated == 0
    with closing(SqliteStore(tmp_path / "reversed.sqlite3")) as other:
        other.index(list(reversed(corpus)))
        refresh(other)
        for d in corpus:
            assert other.get(d.id).to_dict() == refreshed.get(d.id).to_dict()


def test_a_new_report_updates_its_successor(tmp_path: Path):
    docs = _docs()[:14]  # two agencies, seven years each
    missing = next(d for d in docs if d.year == 2022)
    with closing(SqliteStore(tmp_path / "index.sqlite3")) as store:
        store.index([d for d in docs if d.id != missing.id])
        refresh(store)
        successor = next(d for d in docs if d.agency.id == missing.agency.id and d.year == 2023)
        assert "yoy.applications.new.total.abs" not in store.get(successor.id).metrics
        store.index([missing])
        stats = refresh(store)
        assert stats.updated >= 2  # the new report and the one after it
        assert store.get(successor.id).analysis.previous_id == missing.id


def test_cli_recomputes_the_analysis_without_reparsing(tmp_path: Path):
    from click.testing import CliRunner

    from nianbao.cli import main
    from nianbao.settings import load_settings

    data = tmp_path / "data"
    docs = _docs()[:14]
    with closing(SqliteStore(load_settings(env={}, data_dir=data).index_path)) as store:
        store.index(docs)
    result = CliRunner().invoke(main, ["--data-dir", str(data), "insights"])
    assert result.exit_code == 0, result.output
    assert "14 report(s) analysed, 14 updated" in result.output
    with closing(SqliteStore(load_settings(env={}, data_dir=data).index_path)) as store:
        assert store.get(docs[1].id).analysis.previous_id == docs[0].id


def test_spilled_records_read_back_unchanged(corpus):
    import numpy as np

    from insights.records import record_of
    from insights.spill import RecordSpill

    docs = corpus[:20]
    docs[3] = dataclasses.replace(docs[3], sections=[])  # no narrative: an empty set must survive too
    kept = [record_of(d) for d in docs]
    with RecordSpill() as spill:
        for i, d in enumerate(docs):
            spill.put(record_of(d), {"extra": i})
        spill.seal()
        back = spill.records(list(range(len(docs)))[::-1])[::-1]
        for i, (a, (b, extra)) in enumerate(zip(kept, back, strict=True)):
            assert extra == {"extra": i}
            assert a.shingles.tolist() == b.shingles.tolist()
            assert a.signature.tolist() == spill.signatures(np.array([i]))[0].tolist()
            assert (a.id, a.title, a.agency_id, a.region, a.year, a.metrics, a.own_checks) == (
                b.id, b.title, b.agency_id, b.region, b.year, b.metrics, b.own_checks
            )  # fmt: skip
        assert back[3][0].shingles.size == 0
        assert [spill.records([k])[0][0].id for k in spill.ids_in_order()] == sorted(d.id for d in docs)


def test_derived_from_disk_equals_derived_in_memory(monkeypatch):
    """The stage's bounded-memory path (records spilled, publisher by publisher, a year of peers at a time)
    gives exactly what deriving from all records in memory gives, on reports with odd corners."""
    from insights import derive as derive_mod
    from insights import spill, stage
    from insights.derive import derive
    from insights.records import record_of
    from insights.spill import RecordSpill
    from insights.stage import derive_spilled

    # Small reads and chunks, so that every boundary (a publisher at a chunk's end, …) is crossed.
    monkeypatch.setattr(stage, "GROUP_ROWS", 37)
    monkeypatch.setattr(spill, "SIGNATURE_ROWS", 50)
    monkeypatch.setattr(spill, "READ_ROWS", 11)
    monkeypatch.setattr(derive_mod, "QUERY_CHUNK", 13)

    docs = [r.to_document(f"https://gov.example/{i}") for i, r in enumerate(generate_corpus(7 * 60))]
    docs[5] = dataclasses.replace(docs[5], agency=dataclasses.replace(docs[5].agency, id=""))  # no publisher
    docs[9] = dataclasses.replace(docs[9], year=None)
    docs[11] = dataclasses.replace(docs[11], sections=[])
    docs[12] = dataclasses.replace(docs[12], sections=docs[40].sections)  # a copy of another publisher's text
    expected = derive([record_of(d) for d in docs])
    with RecordSpill() as spill:
        for d in reversed(docs):  # not the id order: the result must not depend on it
            spill.put(record_of(d), d.id)
        spill.seal()
        got = {}
        for report_id, derived, extra in derive_spilled(spill):
            assert extra == report_id
            got[report_id] = derived
    assert got.keys() == expected.keys()
    for report_id, d in expected.items():
        assert got[report_id] == d, report_id
    assert expected[docs[12].id].metrics["copied.peers_ratio"] == 1.0


def test_signature_equals_datasketch_minhash():
    import numpy as np
    from datasketch import MinHash

    from insights.shingles import NUM_PERM, SEED, signature

    rng = np.random.default_rng(3)
    for size in (0, 1, 7, 2000):
        hashes = np.unique(rng.integers(0, 2**32, size=size, dtype=np.uint64).astype(np.uint32))
        m = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int)
        m.update_batch(hashes.tolist())
        assert signature(hashes).tolist() == m.hashvalues.astype(np.uint32).tolist()


def test_benchmark_runs_at_a_tiny_size(tmp_path: Path, monkeypatch, capsys):
    import benchmarks
    from benchmarks import insights_bench

    monkeypatch.setattr(benchmarks, "RESULTS_DIR", tmp_path)  # where save_results writes
    assert insights_bench.main(["--sizes", "70", "--store-max", "70"]) == 0
    (result,) = tmp_path.glob("insights-*.json")
    assert '"reports": 70' in result.read_text() and "70" in capsys.readouterr().out
    assert insights_bench.main(["--scale", "40"]) == 0
    (scaled,) = tmp_path.glob("insights-scale-*.json")
    assert '"agencies": 40' in scaled.read_text() and "280 reports" in capsys.readouterr().out


def test_lsh_finds_the_closest_peer_almost_as_well_as_all_pairs():
    """Brute force over every other publisher's report of the year vs the capped LSH candidates."""
    from insights.derive import derive
    from insights.records import record_of

    docs = [r.to_document(f"https://gov.example/{i}") for i, r in enumerate(generate_corpus(7 * 200))]
    records = [record_of(d) for d in docs]
    derived = derive(records)
    texts = {
        d.id: _shingles(
            " ".join(s.text for s in d.sections if s.key.split(".")[0] in ("overview", "problems", "other"))
        )
        for d in docs
    }
    shortfalls = []
    for d in docs[:120]:
        own = texts[d.id]
        best = max(len(own & texts[o.id]) / len(own) for o in docs if o.year == d.year and o.agency.id != d.agency.id)
        shortfalls.append(best - derived[d.id].metrics["copied.peers_ratio"])
    assert min(shortfalls) > -1e-3  # never better than the truth: the ratio is exact for the report named
    assert sum(shortfalls) / len(shortfalls) < 0.03
    assert sum(1 for s in shortfalls if s < 1e-3) >= 0.6 * len(shortfalls)
