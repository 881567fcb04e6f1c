"""Renderers: the published formats carry the report's true numbers in the right cells."""

from __future__ import annotations

import io
import re
import zipfile

import docx
import pdfplumber
import pytest
from bs4 import BeautifulSoup

from demo import render
from demo.generator import GeneratedReport, generate_corpus

COLS7 = ("natural_person", "commercial", "research", "social_org", "legal_service", "other", "total")
REVIEW_KEYS = [
    f"{group}.{col}"
    for group in ("review", "litigation.direct", "litigation.after_review")
    for col in ("upheld", "corrected", "other", "pending", "total")
]


@pytest.fixture(scope="module")
def reports() -> list[GeneratedReport]:
    """Reports covering both templates, all three markup styles and non-zero applications."""
    pool = list(generate_corpus(400, seed=21))
    chosen: list[GeneratedReport] = []
    for template in ("2019", "2021"):
        for style in range(3):
            busy = [r for r in pool if r.template == template and r.style == style]
            chosen.append(max(busy, key=lambda r: r.metrics["applications.new.total"]))
    assert all(r.metrics["applications.new.total"] > 0 for r in chosen)
    return chosen


def expand(table) -> list[list[str]]:
    """Expand an HTML table's rowspan/colspan into a full grid of cell texts (whitespace removed)."""
    grid: dict[tuple[int, int], str] = {}
    for r, tr in enumerate(table.find_all("tr")):
        c = 0
        for td in tr.find_all(["td", "th"]):
            while (r, c) in grid:
                c += 1
            text = re.sub(r"\s+", "", td.get_text("").replace("\xa0", " "))
            rs, cs = int(td.get("rowspan", 1)), int(td.get("colspan", 1))
            for dr in range(rs):
                for dc in range(cs):
                    grid[(r + dr, c + dc)] = text
            c += cs
    rows = 1 + max(r for r, _ in grid)
    cols = 1 + max(c for _, c in grid)
    return [[grid.get((r, c), "") for c in range(cols)] for r in range(rows)]


def number(text: str) -> float:
    return float(text) if text else float("nan")


def row_values(grid: list[list[str]], label: str, n: int) -> list[float]:
    row = next(r for r in grid if any(label in cell for cell in r[:-n]))
    return [number(v) for v in row[-n:]]


def test_html_tables_hold_the_metrics_in_the_right_cells(reports: list[GeneratedReport]) -> None:
    for r in reports:
        html = render.to_html(r).decode("utf-8")
        soup = BeautifulSoup(html, "lxml")
        editor = soup.select_one("div.TRS_Editor")
        assert editor is not None and "当前位置" in soup.get_text()
        tables = editor.find_all("table")
        assert len(tables) == 3
        active, applications, review = (expand(t) for t in tables)
        m = r.metrics
        assert len(applications[0]) == 10 and len(review[0]) == 15
        assert row_values(applications, "本年新收", 7) == [m[f"applications.new.{c}"] for c in COLS7]
        assert row_values(applications, "本机关不掌握", 7) == [m[f"outcomes.unavailable.not_held.{c}"] for c in COLS7]
        assert row_values(applications, "（七）总计", 7) == [m[f"outcomes.total.{c}"] for c in COLS7]
        assert row_values(applications, "结转下年度", 7) == [m[f"applications.carried_forward.{c}"] for c in COLS7]
        assert [number(v) for v in review[-1]] == [m[k] for k in REVIEW_KEYS]
        assert "结果维持" in review[1] and "商业企业" in applications[2]  # split header words join back
        licensing = next(row for row in active if row[0] == "行政许可")
        assert number(licensing[-1]) == m["active.licensing.decisions"]
        if r.template == "2021":
            fee = next(row for row in active if row[0] == "行政事业性收费")
            assert number(fee[1]) == pytest.approx(m["active.fees.amount_wan"])
        else:
            change = next(row for row in active if row[0] == "其他对外管理服务事项")
            assert number(change[2]) == m["active.other_services.change"]
            assert any("（六）其他处理" in row[1] for row in applications)


def test_html_markup_looks_like_real_cms_output(reports: list[GeneratedReport]) -> None:
    htmls = [render.to_html(r).decode("utf-8") for r in reports]
    joined = "".join(htmls)
    assert 'rowspan="3" colspan="3"' in joined or 'colspan="3" rowspan="3"' in joined
    assert "&nbsp;" in joined and "<br" in joined
    assert re.search(r"<p[^>]*><span[^>]*>\d+</span></p>", joined)  # numbers inside <p><span>
    for html, r in zip(htmls, reports, strict=True):
        assert f"<title>{r.title}" in html and r.agency.name in html


def test_gbk_page_declares_and_uses_gbk(reports: list[GeneratedReport]) -> None:
    r = reports[3]
    raw = render.to_html(r, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gbk")
    assert '<meta charset="gbk"' in text and r.title in text


def test_text_and_markdown_carry_the_numbers(reports: list[GeneratedReport]) -> None:
    for r in reports[:4]:
        m = r.metrics
        text = render.to_text(r)
        assert r.title in text and "\t" in text
        line = next(line for line in text.splitlines() if line.startswith("一、本年新收"))
        assert [float(v) for v in line.split("\t")[-7:]] == [m[f"applications.new.{c}"] for c in COLS7]
        md = render.to_markdown(r)
        assert md.startswith(f"# {r.title}")
        row = next(line for line in md.splitlines() if line.startswith("| 一、本年新收"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert [float(v) for v in cells[-7:]] == [m[f"applications.new.{c}"] for c in COLS7]


def test_docx_opens_with_merged_cells_and_values(reports: list[GeneratedReport]) -> None:
    r = reports[4]
    blob = render.to_docx(r)
    assert render.to_docx(r) == blob  # byte-for-byte reproducible: members dated by publication, not the clock
    stamps = {i.date_time[:3] for i in zipfile.ZipFile(io.BytesIO(blob)).infolist()}
    assert stamps == {(r.published.year, r.published.month, r.published.day)}
    d = docx.Document(io.BytesIO(blob))
    assert d.core_properties.author == r.agency.name
    assert d.paragraphs[0].text == r.title
    assert len(d.tables) == 3
    table = d.tables[1]
    assert len(table.columns) == 10
    grid = [[c.text for c in row.cells] for row in table.rows]
    assert grid[0][0] == grid[2][2] and "勾稽" in grid[0][0]  # the 3x3 merged corner
    assert row_values(grid, "本年新收", 7) == [r.metrics[f"applications.new.{c}"] for c in COLS7]
    xml = table._tbl.xml
    assert "w:gridSpan" in xml and 'w:vMerge w:val="restart"' in xml


def test_pdf_text_extracts_back(reports: list[GeneratedReport]) -> None:
    r = reports[5]
    pdf = render.to_pdf(r)
    assert pdf.startswith(b"%PDF")
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        text = "".join(page.extract_text() or "" for page in doc.pages)
    flat = re.sub(r"\s+", "", text)
    assert r.title in flat
    for phrase in ("一、总体情况", "本机关不掌握相关政府信息", "行政复议", r.agency.name):
        assert phrase in flat, phrase
