"""Render a generated report the ways government sites publish them: HTML page, text, Markdown, DOCX, PDF.

The HTML follows real CMS output (TRS/UEditor and Word-pasted markup: site chrome, 当前位置 breadcrumb,
the article in ``div.TRS_Editor``, tables with rowspan/colspan, header words split by ``<p>``/``<br>``,
numbers in ``<p><span>``, ``&nbsp;``). It is written after what sites publish, not after what a parser
finds convenient.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from html import escape

from demo.generator import GeneratedReport
from demo.tables import Cell, Grid, report_grids, to_matrix
from indexer.catalogue import TABLE_ACTIVE, TABLE_APPLICATIONS, TABLE_REVIEW

SITE_CSS = """body{margin:0;font-family:"Microsoft YaHei",SimSun,sans-serif;color:#333;background:#f5f5f5}
.header{background:#b5121b;color:#fff;padding:16px 40px}.header a{color:#fff;text-decoration:none;margin-right:24px}
.logo{font-size:26px;font-weight:bold;margin-bottom:10px}.position{padding:10px 40px;font-size:14px}
.main{background:#fff;margin:0 40px;padding:20px 40px;min-height:400px}.article_title{text-align:center;font-size:22px}
.article_info span{margin-right:20px;font-size:13px;color:#888}.TRS_Editor{line-height:2;font-size:16px}
.TRS_Editor table{margin:10px auto;font-size:13px}.TRS_Editor td{padding:2px 4px;text-align:center}
.list_ul li{line-height:2.2;border-bottom:1px dashed #ddd}.list_ul li span{float:right;color:#888}
.page a,.page span{margin:0 4px}.sidebar{float:right;width:240px}.footer{text-align:center;font-size:13px;padding:20px}
"""

_TABLE_AFTER_SECTION = {"active": TABLE_ACTIVE, "applications": TABLE_APPLICATIONS, "review": TABLE_REVIEW}


@dataclass(frozen=True, slots=True)
class PageChrome:
    """What surrounds the article on the publishing site."""

    site_name: str = "平顶山市人民政府"
    column_name: str = "政府信息公开年报"
    column_url: str = "/zfxxgk/ndbg/index.html"
    domain: str = "www.pds.gov.cn"
    attachments: tuple[tuple[str, str], ...] = ()  # (href, label)
    doc_id: str = ""


# -- the article as blocks ----------------------------------------------------------------------------


def _blocks(report: GeneratedReport) -> Iterable[tuple[str, str]]:
    """The report in reading order as (kind, text): "title", "p", "h1" (section), "h2" (sub-item), "table"."""
    yield "p", report.preamble
    for s in report.sections:
        if s.key.startswith("overview."):
            if report.inline_headings:
                yield "p", f"{s.heading}：{s.text}"
            else:
                yield "h2", s.heading
                yield from (("p", line) for line in s.text.split("\n") if line)
            continue
        yield "h1", s.heading
        yield from (("p", line) for line in s.text.split("\n") if line)
        if s.key in _TABLE_AFTER_SECTION:
            yield "table", _TABLE_AFTER_SECTION[s.key]


def _signature(report: GeneratedReport) -> tuple[str, str]:
    d = report.published
    return report.agency.name, f"{d.year}年{d.month}月{d.day}日"


# -- HTML ---------------------------------------------------------------------------------------------

_TD_STYLE = "border-width: 1px; border-style: solid; border-color: rgb(0, 0, 0);"


def _split_header(text: str, style: int) -> str:
    """Header words broken over lines the way Word and UEditor leave them (结果<br/>纠</p><p>正)."""
    t = escape(text)
    if len(text) != 4 or style == 1:
        return f"<p>{t}</p>" if style != 2 else t
    if style == 0:
        return (
            f"<p>{t[:2]}<br/>{t[2]}</p><p>{t[3]}</p>"
            if text.startswith(("结果", "其他", "尚未"))
            else (f"<p>{t[:2]}</p><p>{t[2:]}</p>")
        )
    return f"{t[:2]}<br>{t[2:]}"


def _cell_html(cell: Cell, style: int) -> str:
    attrs = ""
    if cell.rowspan > 1:
        attrs += f' rowspan="{cell.rowspan}"'
    if cell.colspan > 1:
        attrs += f' colspan="{cell.colspan}"'
    if style == 0:
        inner = _split_header(cell.text, 0) if cell.header else f"<p>{escape(cell.text)}</p>"
        return f'<td{attrs} style="{_TD_STYLE}" valign="center">{inner}</td>'
    if style == 1:
        align = ' align="center" style="text-align:center"' if cell.key or cell.header else ""
        text = escape(cell.text) if cell.text else "&nbsp;"
        return (
            f'<td{attrs} valign="middle" style="border:solid windowtext 1.0pt;padding:0 5.4pt">'
            f'<p class="MsoNormal"{align}><span style="font-size:10.5pt;font-family:宋体">{text}</span></p></td>'
        )
    inner = _split_header(cell.text, 2) if cell.header else escape(cell.text)
    return f"<td{attrs}>&nbsp;{inner}</td>" if cell.key else f"<td{attrs}>{inner}</td>"


def grid_html(grid: Grid, style: int = 0) -> str:
    if style == 0:
        opening = '<table style="border-collapse: collapse; width: 600px;" cellspacing="0" align="center" border="1">'
    elif style == 1:
        opening = (
            '<table class="MsoNormalTable" border="1" cellspacing="0" cellpadding="0" width="600" '
            'style="border-collapse:collapse;border:none">'
        )
    else:
        opening = '<table border="1" cellpadding="0" cellspacing="0" width="100%">'
    rows = []
    for i, row in enumerate(grid):
        cls = ' class="firstRow"' if i == 0 and style == 0 else ""
        rows.append(f"<tr{cls}>" + "".join(_cell_html(c, style) for c in row) + "</tr>")
    return opening + "<tbody>" + "".join(rows) + "</tbody></table>"


def _para_html(kind: str, text: str, style: int) -> str:
    t = escape(text)
    if style == 0:
        if kind == "h1":
            return f'<p style="text-indent: 2em;"><strong>{t}</strong></p>'
        return f'<p style="text-indent: 2em;">{t}</p>'
    if style == 1:
        font = "黑体" if kind == "h1" else ("楷体_GB2312" if kind == "h2" else "仿宋_GB2312")
        return (
            f'<p class="MsoNormal" style="text-indent:32.0pt;line-height:28.0pt">'
            f'<span style="font-size:16.0pt;font-family:{font}">{t}</span></p>'
        )
    if kind == "h1":
        return f"<p><b>{t}</b></p>"
    return f"<p>\u3000\u3000{t}</p>"


def article_html(report: GeneratedReport) -> str:
    """The report body as the CMS stores it (the inside of ``div.TRS_Editor``)."""
    grids = report_grids(report.metrics, report.template)
    style = report.style
    parts: list[str] = []
    for kind, text in _blocks(report):
        parts.append(grid_html(grids[text], style) if kind == "table" else _para_html(kind, text, style))
    name, when = _signature(report)
    parts.append(f'<p style="text-align: right;">{escape(name)}</p><p style="text-align: right;">{when}</p>')
    return "".join(parts)


def page_html(
    title: str,
    body: str,
    *,
    chrome: PageChrome,
    source: str = "",
    published: str = "",
    charset: str = "utf-8",
    breadcrumb: tuple[tuple[str, str], ...] | None = None,
) -> str:
    """A full page of the site: head metadata, header, breadcrumb, article and footer."""
    crumbs = breadcrumb or (
        ("/", "首页"),
        ("/zfxxgk/index.html", "政府信息公开"),
        (chrome.column_url, chrome.column_name),
    )
    crumb_html = " &gt; ".join(f'<a href="{escape(href)}">{escape(label)}</a>' for href, label in crumbs)
    attachments = "".join(
        f'<p><a href="{escape(href)}" target="_blank">{escape(label)}</a></p>' for href, label in chrome.attachments
    )
    attach_html = f'<div class="article_attachment"><span>附件：</span>{attachments}</div>' if attachments else ""
    info = ""
    if published or source:
        info = (
            '<div class="xxgk_table"><table><tr>'
            f"<td>发布机构：</td><td>{escape(source)}</td><td>发文日期：</td><td>{escape(published)}</td></tr>"
            f"<tr><td>索引号：</td><td>{escape(chrome.doc_id)}</td><td>主题分类：</td><td>政务公开</td></tr></table></div>"
        )
    return f"""<!DOCTYPE html>
<html>
<head>
<meta charset="{charset}" />
<meta http-equiv="X-UA-Compatible" content="IE=edge,chrome=1" />
<meta name="SiteName" content="{escape(chrome.site_name)}"/>
<meta name="SiteDomain" content="{chrome.domain}"/>
<meta name="ColumnName" content="{escape(chrome.column_name)}"/>
<meta name="ArticleTitle" content="{escape(title)}"/>
<meta name="PubDate" content="{escape(published)}"/>
<meta name="ContentSource" content="{escape(source)}"/>
<title>{escape(title)}_{escape(chrome.column_name)}_{escape(chrome.site_name)}</title>
<link rel="stylesheet" type="text/css" href="/images/common.css">
</head>
<body>
<div class="header">
<div class="logo"><a href="/">{escape(chrome.site_name)}</a></div>
<div class="nav"><a href="/">首页</a><a href="/xwzx/index.html">新闻中心</a>
<a href="/zfxxgk/index.html">政府信息公开</a><a href="/zfxxgk/ndbg/index.html">政府信息公开年报</a>
<a href="/hdjl/index.html">互动交流</a></div></div>
<div class="position">当前位置：{crumb_html}</div>
<div class="main">{info}
<h1 class="article_title">{escape(title)}</h1>
<div class="article_info"><span>发布时间：{escape(published)}</span><span>来源：{escape(source)}</span>
<span>浏览次数：<em id="hits">0</em></span><span class="phone_none" onclick="window.print()">【打印】</span></div>
<div class="article_content"><div class=TRS_Editor>{body}</div></div>
{attach_html}
</div>
<div class="footer"><p>主办：{escape(chrome.site_name)}办公室&nbsp;&nbsp;网站标识码：4104000001</p>
<p>豫ICP备05002154号&nbsp;&nbsp;豫公网安备 41040202000123号</p></div>
<script type="text/javascript">var _hits = 0; function $printDetail(){{ window.print(); }}</script>
</body>
</html>
"""


def _default_chrome(report: GeneratedReport) -> PageChrome:
    """The portal of the agency's own government (county, else city, else province)."""
    a = report.agency
    return PageChrome(site_name=f"{a.county or a.city or a.province}人民政府")


def to_html(report: GeneratedReport, encoding: str = "utf-8", chrome: PageChrome | None = None) -> bytes:
    """The report's detail page, encoded in ``encoding`` and declaring it in ``<meta charset>``."""
    published = report.published.isoformat() + " 09:30"
    html = page_html(
        report.title,
        article_html(report),
        chrome=chrome or _default_chrome(report),
        source=report.agency.name,
        published=published,
        charset=encoding,
    )
    return html.encode(encoding, errors="xmlcharrefreplace")


# -- text and Markdown -------------------------------------------------------------------------------


def grid_rows_text(grid: Grid) -> list[list[str]]:
    """The table as a rectangle of strings: spanned-over positions are empty, like copy-paste from a page."""
    return [[c.text if c else "" for c in row] for row in to_matrix(grid)]


def to_text(report: GeneratedReport) -> str:
    """Plain text like the seeds: headings on their own lines, tables tab-separated."""
    grids = report_grids(report.metrics, report.template)
    lines = ["", "", report.title, ""]
    for kind, text in _blocks(report):
        if kind == "table":
            lines.extend("\t".join(row) for row in grid_rows_text(grids[text]))
        else:
            lines.append(text)
        lines.append("")
    lines.extend(_signature(report))
    return "\n".join(lines) + "\n"


def to_markdown(report: GeneratedReport) -> str:
    """Markdown with pipe tables (the first table row doubles as the header, as converters emit it)."""
    grids = report_grids(report.metrics, report.template)
    lines = [f"# {report.title}", ""]
    for kind, text in _blocks(report):
        if kind == "table":
            rows = grid_rows_text(grids[text])
            lines.append("| " + " | ".join(rows[0]) + " |")
            lines.append("|" + "|".join("---" for _ in rows[0]) + "|")
            lines.extend("| " + " | ".join(r) + " |" for r in rows[1:])
        elif kind == "h1":
            lines.append(f"## {text}")
        elif kind == "h2":
            lines.append(f"### {text}")
        else:
            lines.append(text)
        lines.append("")
    lines.extend(_signature(report))
    return "\n".join(lines) + "\n"


# -- DOCX ---------------------------------------------------------------------------------------------


def _set_east_asian_font(run: object, name: str) -> None:
    from docx.oxml.ns import qn

    r_pr = run._element.get_or_add_rPr()  # type: ignore[attr-defined]
    r_fonts = r_pr.find(qn("w:rFonts"))
    if r_fonts is None:
        r_fonts = r_pr.makeelement(qn("w:rFonts"), {})
        r_pr.append(r_fonts)
    r_fonts.set(qn("w:eastAsia"), name)


def to_docx(report: GeneratedReport) -> bytes:
    """A Word document like the official template: real tables with merged cells (gridSpan/vMerge)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = Document()
    heading = doc.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(report.title)
    run.bold = True
    run.font.size = Pt(18)
    _set_east_asian_font(run, "方正小标宋简体")
    grids = report_grids(report.metrics, report.template)
    for kind, text in _blocks(report):
        if kind == "table":
            _docx_table(doc, grids[text])
            continue
        p = doc.add_paragraph()
        r = p.add_run(text)
        r.bold = kind in ("h1", "h2")
        _set_east_asian_font(r, "黑体" if kind == "h1" else "仿宋_GB2312")
    for line in _signature(report):
        doc.add_paragraph(line).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    published = datetime.combine(report.published, time(9, 0))
    props = doc.core_properties
    props.title, props.author, props.created, props.modified = report.title, report.agency.name, published, published
    buf = io.BytesIO()
    doc.save(buf)
    return _fixed_zip_times(buf.getvalue(), published)


def _fixed_zip_times(data: bytes, when: datetime) -> bytes:
    """Rewrite a zip with every member dated ``when``: zipfile stamps the wall clock, which made the
    same report give different bytes from one second to the next."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            member.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(member, src.read(info.filename))
    return out.getvalue()


def _docx_table(doc: object, grid: Grid) -> None:
    """Write the table XML directly: gridSpan for column spans, vMerge restart/continue for row spans.

    (python-docx's cell().merge() is quadratic and made one report take over a second.)
    """
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    matrix = to_matrix(grid)
    ncols = len(matrix[0])
    owner: dict[tuple[int, int], tuple[int, int, Cell]] = {}
    for r, row in enumerate(matrix):
        for c, cell in enumerate(row):
            if cell is not None:
                for dr in range(cell.rowspan):
                    for dc in range(cell.colspan):
                        owner[(r + dr, c + dc)] = (r, c, cell)
    table = doc.add_table(rows=0, cols=ncols)  # type: ignore[attr-defined]
    table.style = "Table Grid"
    tbl = table._tbl

    def tc(cell: Cell, merge: str | None, text: str) -> object:
        el = OxmlElement("w:tc")
        pr = OxmlElement("w:tcPr")
        if cell.colspan > 1:
            span = OxmlElement("w:gridSpan")
            span.set(qn("w:val"), str(cell.colspan))
            pr.append(span)
        if merge:
            vm = OxmlElement("w:vMerge")
            if merge == "restart":
                vm.set(qn("w:val"), "restart")
            pr.append(vm)
        el.append(pr)
        p = OxmlElement("w:p")
        if text:
            run = OxmlElement("w:r")
            t = OxmlElement("w:t")
            t.text = text
            run.append(t)
            p.append(run)
        el.append(p)
        return el

    for r in range(len(matrix)):
        tr = OxmlElement("w:tr")
        for c in range(ncols):
            r0, c0, cell = owner[(r, c)]
            if c != c0:
                continue  # covered by a column span
            if r == r0:
                tr.append(tc(cell, "restart" if cell.rowspan > 1 else None, cell.text))
            else:
                tr.append(tc(cell, "continue", ""))
        tbl.append(tr)


# -- PDF ----------------------------------------------------------------------------------------------

PDF_FONT = "STSong-Light"


def _pdf_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    return PDF_FONT


def _column_widths(ncols: int, width: float) -> list[float]:
    # Label columns of tables 二 and 三 need room; value columns are narrow.
    if ncols == 10:
        shares = [0.08, 0.1, 0.26] + [0.08] * 7
    elif ncols == 4:
        shares = [0.31, 0.23, 0.23, 0.23]
    else:
        shares = [1 / ncols] * ncols
    return [width * s for s in shares]


def to_pdf(report: GeneratedReport) -> bytes:
    """A PDF with the built-in CJK font and grid-lined tables (text is extractable, no OCR needed)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _pdf_font()
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, firstLineIndent=21, wordWrap="CJK")
    h1 = ParagraphStyle("h1", parent=body, fontSize=12, leading=18, firstLineIndent=0)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=24, alignment=1, firstLineIndent=0)
    cell_style = ParagraphStyle("cell", fontName=font, fontSize=7, leading=9, alignment=1, wordWrap="CJK")
    right = ParagraphStyle("right", parent=body, alignment=2, firstLineIndent=0)

    story: list[object] = [Paragraph(escape(report.title), title), Spacer(1, 4 * mm)]
    grids = report_grids(report.metrics, report.template)
    width = A4[0] - 40 * mm
    for kind, text in _blocks(report):
        if kind == "table":
            matrix = to_matrix(grids[text])
            data = [[Paragraph(escape(c.text), cell_style) if c else "" for c in row] for row in matrix]
            spans = [
                ("SPAN", (c, r), (c + cell.colspan - 1, r + cell.rowspan - 1))
                for r, row in enumerate(matrix)
                for c, cell in enumerate(row)
                if cell and (cell.rowspan > 1 or cell.colspan > 1)
            ]
            ncols = len(matrix[0])
            style = [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("FONTNAME", (0, 0), (-1, -1), font),
                *spans,
            ]
            story.append(Table(data, colWidths=_column_widths(ncols, width), style=TableStyle(style)))
            story.append(Spacer(1, 3 * mm))
        else:
            story.append(Paragraph(escape(text), h1 if kind in ("h1", "h2") else body))
    story.extend(Paragraph(escape(line), right) for line in _signature(report))
    buf = io.BytesIO()
    SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        title=report.title,
        author=report.agency.name,
        invariant=True,  # fixed timestamp and file id: the same report always gives the same bytes
    ).build(story)
    return buf.getvalue()
