"""The insights stage on real parts: generated reports indexed into a real SqliteStore, refreshed, searched.

Expected answers are computed here from the generator's truth and plain Python (sets of substrings,
dictionaries by agency and year), never by the insights modules themselves.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterator
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
    return [r.to_document(f"https://gov.example/{i}.html") for i, r in enumerate(generate_corpus(7 * N_AGENCIES))]


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
    assert name_root("鲁山县政府") == name_root("鲁山县人民政府") == name_root("鲁山县人民政府办公室") == "鲁山县人民政府"
    assert name_root("鲁山县财政局") == "鲁山县财政局"
    assert name_root("河南省人民政府办公厅") == "河南省人民政府"


def _node(agency_id: str, name: str, years: range, county: str = "鲁山县") -> AgencyNode:
    return AgencyNode(agency_id, name, ("河南省", "平顶山市", county), set(years), len(years))


def test_renamed_publisher_is_linked_but_two_publishers_of_one_year_stay_apart():
    renamed = link([_node("a", "鲁山县人民政府", range(2019, 2022)), _node("b", "鲁山县人民政府办公室", range(2022, 2026))])
    assert renamed["a"] is renamed["b"] and renamed["a"].agencies == ["a", "b"]
    both = link([_node("a", "鲁山县人民政府", range(2019, 2026)), _node("b", "鲁山县人民政府办公室", range(2019, 2026))])
    assert both["a"] is not both["b"]
    other = link([_node("a", "鲁山县人民政府", range(2019, 2022)), _node("c", "鲁山县财政局", range(2022, 2026))])
    assert other["a"] is not other["c"]
    elsewhere = link([_node("a", "鲁山县人民政府", range(2019, 2022)), _node("d", "郏县人民政府", range(2022, 2026), "郏县")])
    assert elsewhere["a"] is not elsewhere["d"]


def test_renamed_agency_gets_changes_across_the_rename(tmp_path: Path):
    gov, office = government("河南省", "平顶山市", "鲁山县"), general_office("河南省", "平顶山市", "鲁山县")
    finance = department("河南省", "平顶山市", "鲁山县", "财政局", 1.0)
    reports = [make_report(gov, y) for y in (2021, 2022)] + [make_report(office, 2023)]
    reports += [make_report(finance, y) for y in (2022, 2023)]
    docs = [r.to_document(f"https://gov.example/r{i}") for i, r in enumerate(reports)]
    with SqliteStore(tmp_path / "i.sqlite3") as_store if False else _store(tmp_path) as store:
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
