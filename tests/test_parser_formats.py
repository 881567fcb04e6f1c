"""One synthetic report in every input format parses to the numbers put into it."""

from __future__ import annotations

import shutil
import zipfile
from io import BytesIO
from pathlib import Path

import pdfplumber
import pytest

from indexer.extract import detect_format
from indexer.parse import parse_bytes
from tests import parser_builders as b

FORMATS = {
    "text": (lambda: b.text_report().encode("utf-8"), "report.txt", None),
    "markdown": (lambda: b.text_report("|").encode("utf-8"), "report.md", None),
    "html": (b.html_report, "report.html", "text/html; charset=utf-8"),
    "docx": (b.docx_from_template, "report.docx", None),
    "xlsx": (b.xlsx_report, "report.xlsx", None),
    "pdf": (b.pdf_report, "report.pdf", "application/pdf"),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_gives_the_numbers_put_in(fmt: str) -> None:
    build, filename, ctype = FORMATS[fmt]
    doc = parse_bytes(build(), url=f"http://127.0.0.1/{filename}", filename=filename, content_type=ctype)
    want = b.expected_metrics()
    wrong = {k: (doc.metrics.get(k), v) for k, v in want.items() if doc.metrics.get(k) != pytest.approx(v)}
    assert not wrong
    assert doc.source_format == fmt
    assert doc.template == "2021" and doc.year == 2024 and doc.check_status == "ok"
    assert all(c.status == "ok" for c in doc.checks)
    assert [doc.region.county, doc.region.township] == ["卢氏县", "官坡镇"]
    assert doc.agency.type == "乡镇街道" and doc.agency.level == "乡镇"
    assert b.NARRATIVE["problems"][:10] in doc.section_text("problems")
    assert doc.flags == []


def test_derived_subtotals_are_sums_of_items() -> None:
    doc = parse_bytes(b.text_report().encode(), url="x.txt")
    rows = {key: values for key, _label, values in b.APP_ROWS}
    for cat, n_items in (("withheld", 8), ("unavailable", 3), ("not_processed", 5), ("other", 3)):
        items = [k for k in rows if k.startswith(f"outcomes.{cat}.")]
        assert len(items) == n_items
        for i, col in enumerate(b.COLS):
            assert doc.metrics[f"outcomes.{cat}.total.{col}"] == sum(rows[k][i] for k in items)


def test_pdf_text_layer_is_chinese() -> None:
    with pdfplumber.open(BytesIO(b.pdf_report())) as pdf:
        text = "".join(page.extract_text() or "" for page in pdf.pages)
        tables = [t for page in pdf.pages for t in page.find_tables()]
    assert "收到和处理政府信息公开申请情况" in text
    assert len(tables) >= 3  # ruled tables are found as tables, not text


def test_pdf_page_footers_are_dropped() -> None:
    doc = parse_bytes(b.pdf_report(pages_of_padding=2), url="x.pdf")
    assert doc.check_status == "ok"
    assert "— 2 —" not in doc.full_text()


def test_docx_template_has_merged_cells() -> None:
    data = b.docx_from_template()
    xml = zipfile.ZipFile(BytesIO(data)).read("word/document.xml").decode()
    assert xml.count("w:gridSpan") >= 20 and xml.count("w:vMerge") >= 50
    doc = parse_bytes(data, url="t.docx")
    assert doc.metrics["applications.new.total"] == 19  # not duplicated across a merge


def test_blank_template_gives_no_numbers() -> None:
    doc = parse_bytes((b.REPORTS / "template-2021.docx").read_bytes(), url="blank.docx")
    values = [v for v in doc.metrics.values() if v is not None]
    assert values == []
    assert doc.check_status == "incomplete"
    assert any(w.code == "missing_value" for w in doc.warnings)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8"])
def test_html_encodings(encoding: str) -> None:
    data = b.html_report(encoding)
    doc = parse_bytes(data, url="x.html", content_type="text/html")
    assert doc.title == b.TITLE
    assert doc.metrics["applications.new.total"] == 19
    # Without any declaration, charset-normalizer recognises GBK.
    bare = data.replace(f'<meta charset="{encoding}">'.encode(), b"")
    assert parse_bytes(bare, url="x.html", content_type="text/html").title == b.TITLE


def test_http_charset_wins_over_guessing() -> None:
    data = b.text_report().encode("gb18030")
    doc = parse_bytes(data, url="x.txt", content_type="text/plain; charset=GBK")
    assert doc.metrics["active.licensing.decisions"] == 1234


def test_html_chrome_and_scripts_are_not_text() -> None:
    doc = parse_bytes(b.html_report(), url="x.html")
    assert "999" not in doc.full_text() and "首页" not in doc.full_text()


def test_doc_without_converter_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("indexer.extract.doc.shutil.which", lambda name: None)
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600
    doc = parse_bytes(ole, url="old.doc", filename="old.doc")
    assert doc.flags == ["unsupported_format"] and doc.source_format == "doc"
    assert doc.id and doc.provenance.url == "old.doc"


def _scanned_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buf = BytesIO()
    c = canvas.Canvas(buf)
    c.rect(50, 50, 200, 200, fill=1)  # an image-like page with no text layer
    c.showPage()
    c.save()
    return buf.getvalue()


def test_scans_without_ocr_are_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("indexer.extract.ocr.available", lambda: False)
    assert parse_bytes(_scanned_pdf(), url="scan.pdf").flags == ["needs_ocr"]
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    doc = parse_bytes(png, url="scan.png")
    assert doc.flags == ["needs_ocr"] and doc.source_format == "image"


CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def _scan_png() -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    lines = [b.TITLE, "一、总体情况", "二、主动公开政府信息情况", "六、其他需要报告的事项"]
    image = Image.new("L", (1800, 90 * len(lines) + 60), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(CJK_FONT), 44)
    for i, line in enumerate(lines):
        draw.text((40, 40 + 90 * i), line, font=font, fill=0)
    buf = BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _image_pdf(png: bytes) -> bytes:
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = BytesIO()
    c = canvas.Canvas(buf)
    c.drawImage(ImageReader(BytesIO(png)), 20, 500, width=560, height=150)
    c.showPage()
    c.save()
    return buf.getvalue()


needs_ocr_tools = pytest.mark.skipif(
    not (shutil.which("tesseract") and shutil.which("pdftoppm") and CJK_FONT.exists()),
    reason="needs tesseract (chi_sim), poppler and Noto CJK",
)


@pytest.mark.slow
@needs_ocr_tools
@pytest.mark.parametrize("kind", ["png", "pdf"])
def test_scans_are_read_by_ocr(kind: str) -> None:
    from indexer.extract.ocr import available

    if not available():
        pytest.skip("tesseract has no chi_sim")
    png = _scan_png()
    data = png if kind == "png" else _image_pdf(png)
    doc = parse_bytes(data, url=f"scan.{kind}")
    assert "ocr" in doc.flags and "needs_ocr" not in doc.flags
    assert doc.source_format == ("image" if kind == "png" else "pdf")
    assert doc.year == 2024
    assert {"overview", "active"} <= {s.key for s in doc.sections}  # OCR may misread a numeral (六 → 入)
    assert any(w.code == "ocr" for w in doc.warnings)


@pytest.mark.parametrize(
    ("head", "name", "ctype", "fmt"),
    [
        (b"%PDF-1.7", None, None, "pdf"),
        (b"<!DOCTYPE html><html>", None, None, "html"),
        (b"plain", "a.md", None, "markdown"),
        (b"plain", None, "text/html", "html"),
        (b"\xd0\xcf\x11\xe0rest", "a.xls", None, "xls"),
        (b"\xd0\xcf\x11\xe0rest", "a.wps", None, "wps"),
        (b"plain", None, None, "text"),
    ],
)
def test_detect_format(head: bytes, name: str | None, ctype: str | None, fmt: str) -> None:
    assert detect_format(head, ctype, name) == fmt


def test_provenance_and_ids() -> None:
    from indexer.document import agency_id, report_id

    url = "http://127.0.0.1:8001/zwgk/2024/report.html"
    doc = parse_bytes(
        b.html_report(),
        url=url,
        content_type="text/html",
        source_id="demo-county",
        digest="sha1:ABC",
        captured_at="2025-02-01T00:00:00Z",
        region="河南省/三门峡市/卢氏县",
    )
    assert doc.id == report_id(url)
    assert (doc.provenance.url, doc.provenance.source_id, doc.provenance.digest) == (url, "demo-county", "sha1:ABC")
    assert doc.provenance.captured_at == "2025-02-01T00:00:00Z" and doc.provenance.content_type == "text/html"
    assert doc.agency.id == agency_id(doc.region, doc.agency.normalized_name)
    assert doc.published == "2025-01-20"
    assert (doc.period_start, doc.period_end) == ("2024-01-01", "2024-12-31")


def test_title_hint_is_used_when_the_document_has_none() -> None:
    body = b.text_report().replace(b.TITLE, "")
    doc = parse_bytes(body.encode(), url="x.txt", title_hint="卢氏县人民政府2023年政府信息公开工作年度报告")
    assert doc.year == 2023 and doc.agency.normalized_name == "卢氏县人民政府"
    assert doc.agency.type == "人民政府" and doc.agency.level == "县"


def test_empty_and_huge_inputs_are_flagged() -> None:
    assert parse_bytes(b"", url="empty").flags == ["parse_failed"]
    assert parse_bytes(b"   \n", url="blank").flags == ["parse_failed"]
