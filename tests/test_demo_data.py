"""The demo data as `make demo` builds it (crawled over HTTP, archived, parsed, indexed): who published each
report and where, as journalists filter and group by them."""

from __future__ import annotations

from store import open_store


def test_every_crawled_demo_report_has_its_agency_and_region(demo_data):
    with open_store(demo_data) as store:
        docs = list(store.iter_documents())
    assert len(docs) > 100
    for doc in docs:
        assert doc.agency.name and not doc.agency.name.endswith("关于"), (doc.id, doc.title, doc.agency.name)
        assert doc.region.province, (doc.id, doc.title, doc.region)  # a province-level agency has no city
