"""Who published a report, where, under which title, in which script; and what is not a report at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import parser_builders as b
import pytest
import zhconv

from indexer import catalogue
from indexer.agency import name_from_title
from indexer.parse import not_a_report, parse_bytes, parse_file


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("卢氏县人民政府关于2024年政府信息公开工作年度报告", "卢氏县人民政府"),
        ("叶县任店镇关于2024年政府信息公开工作年度报告", "叶县任店镇"),
        ("湛河区人民政府关于2025年度政府信息公开工作年度报告", "湛河区人民政府"),
    ],
)
def test_agency_is_not_followed_by_guanyu(title: str, name: str) -> None:
    assert name_from_title(title) == name


def _page(title: str) -> bytes:
    return b.html_report().decode().replace(b.TITLE, title).encode()


def test_ambiguous_township_is_placed_by_the_url_path() -> None:
    title = "薛店镇人民政府2025年政府信息公开工作年度报告"
    blind = parse_bytes(_page(title), url="http://example.gov.cn/ndbg/t1.html", content_type="text/html")
    assert blind.region.province == ""  # several 薛店镇: not guessed
    doc = parse_bytes(_page(title), url="http://example.gov.cn/ndbg/jiaxian/t1.html", content_type="text/html")
    assert (doc.region.province, doc.region.city, doc.region.county) == ("河南省", "平顶山市", "郏县")


def test_source_region_decides_an_ambiguous_title() -> None:
    title = "薛店镇人民政府2025年政府信息公开工作年度报告"
    doc = parse_bytes(_page(title), url="http://x/t1.html", content_type="text/html", region="河南省/平顶山市/郏县")
    assert doc.region.county == "郏县"


def test_breadcrumb_is_not_the_title() -> None:
    text = "首页 > 政务公开 > 政府信息公开年报 > 信息公开年报\n" + b.text_report()
    doc = parse_bytes(text.encode(), url="crumb.txt")
    assert doc.title == b.TITLE


def test_traditional_script_is_read_and_searchable_in_simplified() -> None:
    page = _page("重庆市渝中区人民政府办公室2024年政府信息公开工作年度报告")
    doc = parse_bytes(zhconv.convert(page.decode(), "zh-tw").encode(), url="http://cq/t.html", content_type="text/html")
    assert "traditional_script" in doc.flags
    assert doc.agency.name == "重庆市渝中区人民政府办公室" and doc.region.county == "渝中区"
    assert doc.metrics["applications.new.total"] == 19 and doc.check_status == "ok"
    overview = doc.sections[0]
    assert "政府信息公开条例" in overview.text and "政府信息公開條例" in overview.original


def test_simplified_reports_are_not_converted() -> None:
    doc = parse_bytes(b.text_report().encode(), url="s.txt")
    assert "traditional_script" not in doc.flags and all(not s.original for s in doc.sections)


def test_2019_columns_feed_the_harmonised_key() -> None:
    assert catalogue.HARMONISED["active.normative_documents.new_made"] == "active.normative_documents.issued"
    doc = parse_file(b.REPORTS / "pingtan-jtj-2020.txt")  # 2019 form: 本年新制作数量 3 (hand-read)
    assert doc.template == "2019"
    assert doc.metrics["active.normative_documents.new_made"] == 3
    assert doc.metrics["active.normative_documents.issued"] == 3  # the same series as 2021's 本年制发件数


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"", "empty"), (b"# nianbao\n\nA search service.\n", "no report title"), (bytes(range(256)) * 8, "no report")],
)
def test_not_a_report_says_why(content: bytes, why: str) -> None:
    assert why in not_a_report(parse_bytes(content, url="x.md"))


def test_reports_are_reports() -> None:
    assert not_a_report(parse_bytes(b.text_report().encode(), url="r.txt")) == ""


def test_parse_cli_on_a_non_report(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# A project\n\nNothing to see.\n", encoding="utf-8")
    report = tmp_path / "r.txt"
    report.write_text(b.text_report(), encoding="utf-8")
    cmd = [sys.executable, "-m", "nianbao.cli", "parse"]
    loose = subprocess.run([*cmd, str(readme), str(report)], capture_output=True, text=True, check=False)
    assert loose.returncode == 0 and len(loose.stdout.splitlines()) == 2
    lines = loose.stderr.strip().splitlines()
    assert len(lines) == 1 and "README.md" in lines[0] and "not an annual report" in lines[0]
    strict = subprocess.run([*cmd, "--strict", str(readme)], capture_output=True, text=True, check=False)
    assert strict.returncode == 3
    ok = subprocess.run([*cmd, "--strict", str(report)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and ok.stderr == ""


def test_demo_reports_have_an_agency_and_a_region() -> None:
    """Every demo report's title, resolved as the pipeline does (title, then the URL path): no agency ending in
    关于, no report without a region, and the region the demo site says."""
    from demo.site import expected_reports
    from indexer import regions

    reports = expected_reports(1, base_url="http://127.0.0.1:8001")
    assert len(reports) > 50
    for e in reports:
        name = name_from_title(e.title)
        assert name and not name.endswith("关于"), e.title
        region, _warnings = regions.resolve(name + " " + e.title, None, e.url)
        assert region.province, (e.title, e.url)
        assert (region.province, region.city, region.county) == (e.region.province, e.region.city, e.region.county)
