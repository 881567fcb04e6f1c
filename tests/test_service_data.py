"""Shared test data for the service tests: varied report documents in a real SqliteStore.

Not a test module itself (it holds no tests); the service test files import from it. Expected values in
the tests are computed from these documents in Python, never read back from the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask.testing import FlaskClient

from indexer.document import (
    Agency,
    Check,
    Provenance,
    Region,
    ReportDocument,
    Section,
    Warning,
    agency_id,
    report_id,
)
from nianbao.settings import Settings

# (province, city, county) of the agencies in the data set.
PLACES = (
    ("河南省", "平顶山市", "鲁山县"),
    ("河南省", "平顶山市", "叶县"),
    ("河南省", "平顶山市", "郏县"),
    ("河南省", "洛阳市", "嵩县"),
    ("湖北省", "武汉市", "江岸区"),
)
# (name suffix, type, level)
AGENCY_KINDS = (("人民政府", "人民政府", "县"), ("财政局", "部门", "县"))
YEARS = (2021, 2022, 2023, 2024, 2025)

APPLICATION_SENTENCE = "本年度共收到依申请公开政府信息申请{n}件，均在法定期限内答复。"
NO_APPLICATION_SENTENCE = "本年度未收到政府信息公开申请。"
REVIEW_SENTENCE = "本年度发生政府信息公开行政复议案件{n}件。"


def _metrics(i: int, year: int) -> dict[str, float | int | None]:
    """Deterministic but varied numbers; a few missing values (None = the report does not give it)."""
    new = (i * 7 + year) % 23  # 0..22: some below and some above 10
    disclosed = new // 2
    partial = new // 5
    metrics: dict[str, float | int | None] = {
        "applications.new.total": new,
        "applications.new.natural_person": new - 1 if new else 0,
        "applications.new.commercial": 1 if new else 0,
        "applications.carried_over.total": i % 3,
        "outcomes.disclosed.total": disclosed,
        "outcomes.partially_disclosed.total": partial,
        "outcomes.total.total": disclosed + partial,
        "review.total": i % 4,
        "review.upheld": i % 4,
        "litigation.direct.total": i % 2,
        "active.rules.issued": i % 5,
        "active.normative_documents.issued": (i * 3) % 11,
        "active.fees.amount_wan": round(1.5 * (i % 4), 2),
    }
    if i % 9 == 4:
        metrics["review.total"] = None
    return metrics


def build_documents() -> list[ReportDocument]:
    docs: list[ReportDocument] = []
    i = 0
    for p, (province, city, county) in enumerate(PLACES):
        for k, (suffix, agency_type, level) in enumerate(AGENCY_KINDS):
            region = Region(province=province, city=city, county=county)
            name = f"{county}{suffix}"
            agency = Agency(name=name, normalized_name=name, type=agency_type, level=level)
            agency.id = agency_id(region, name)
            for year in YEARS:
                # Not every agency reports every year: skip a deterministic few.
                if (i + year) % 7 == 0:
                    i += 1
                    continue
                metrics = _metrics(i, year)
                new = metrics["applications.new.total"]
                application_text = APPLICATION_SENTENCE.format(n=new) if new and i % 3 != 1 else NO_APPLICATION_SENTENCE
                url = f"http://127.0.0.1:9/gk/{p}/{k}/{year}.html"  # crawled URLs are ASCII (percent-encoded)
                sections = [
                    Section("overview", "一、总体情况", f"{year}年，{name}认真贯彻落实《政府信息公开条例》。"),
                    Section("overview.application", "（二）依申请公开", application_text),
                    Section("applications", "三、收到和处理政府信息公开申请情况", f"详见下表，新收申请{new}件。"),
                    Section("review", "四、政府信息公开行政复议、行政诉讼情况", REVIEW_SENTENCE.format(n=i % 4)),
                    Section("problems", "五、存在的主要问题及改进情况", "公开内容不够全面，平台建设有待加强。"),
                ]
                failed = i == 5
                checks = [
                    Check(
                        "columns.outcomes.disclosed",
                        "failed" if failed else "ok",
                        expected=metrics["outcomes.disclosed.total"],
                        actual=(metrics["outcomes.disclosed.total"] or 0) + (3 if failed else 0),
                        message="各列之和与总计不符" if failed else "",
                    )
                ]
                warnings = [Warning("missing_value", "复议总计未填写")] if metrics["review.total"] is None else []
                docs.append(
                    ReportDocument(
                        id=report_id(url),
                        title=f"{name}{year}年政府信息公开工作年度报告",
                        agency=Agency(**{f: getattr(agency, f) for f in agency.__slots__}),
                        region=Region(province=province, city=city, county=county),
                        year=year,
                        published=f"{year + 1}-01-{10 + i % 19:02d}",
                        template="2021",
                        source_format="html" if i % 4 else "pdf",
                        sections=sections,
                        metrics=metrics,
                        checks=checks,
                        check_status="failed" if failed else "ok",
                        warnings=warnings,
                        flags=["needs_ocr"] if i % 11 == 3 else [],
                        provenance=Provenance(
                            url=url,
                            source_id=f"src-{county}",
                            content_type="text/html; charset=utf-8",
                            digest="",
                            captured_at=f"{year + 1}-02-01T00:00:00Z",
                        ),
                        removed=i == 8,
                        last_seen=f"{year + 1}-03-01",
                    )
                )
                i += 1
    return docs


def make_store(path: Path, docs: list[ReportDocument]):
    from store.sqlite_store import SqliteStore

    store = SqliteStore(path)
    store.index(docs)
    return store


def make_settings(tmp_path: Path, **changes) -> Settings:
    return Settings(data_dir=tmp_path / "data", **changes)


@contextmanager
def client_over_one_report_without_totals(tmp_path: Path) -> Iterator[tuple[ReportDocument, FlaskClient]]:
    """A report whose table 三 prints no 总计 column (its totals are computed), alone in a store, and a test
    client of the service over it."""
    from indexer.parse import parse_bytes
    from service.app import create_app
    from tests import parser_builders as b

    text = b.text_report(applications=b.application_rows_without_total())
    doc = parse_bytes(text.encode(), url="http://127.0.0.1:9/gk/six.html", region="河南省/三门峡市/卢氏县")
    store = make_store(tmp_path / "index.sqlite3", [doc])
    try:
        yield doc, create_app(make_settings(tmp_path, rate_limit_per_minute=0), store=store).test_client()
    finally:
        store.close()
