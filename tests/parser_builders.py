"""Builders of synthetic reports in every format, shared by the parser tests and the benchmark.

The numbers are chosen here (one consistent report: every identity holds) so tests compare the parser's
output with values they put in, never with values the parser computed.
"""

from __future__ import annotations

import io
from pathlib import Path

REPORTS = Path(__file__).parent / "fixtures" / "reports"
TITLE = "河南省三门峡市卢氏县官坡镇人民政府2024年政府信息公开工作年度报告"

# Table 三 rows in template order (2021), label and 7 values; outcome items add up to (七) 总计.
APP_ROWS: list[tuple[str, str, list[int]]] = [
    ("applications.new", "一、本年新收政府信息公开申请数量", [12, 3, 1, 0, 2, 1, 19]),
    ("applications.carried_over", "二、上年结转政府信息公开申请数量", [2, 0, 0, 1, 0, 0, 3]),
    ("outcomes.disclosed", "（一）予以公开", [6, 1, 1, 0, 1, 0, 9]),
    ("outcomes.partially_disclosed", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）", [1, 0, 0, 0, 0, 0, 1]),
    ("outcomes.withheld.state_secret", "1.属于国家秘密", [0, 0, 0, 0, 0, 0, 0]),
    ("outcomes.withheld.prohibited_by_law", "2.其他法律行政法规禁止公开", [0, 0, 0, 0, 0, 0, 0]),
    ("outcomes.withheld.security_stability", "3.危及“三安全一稳定”", [0, 0, 0, 0, 0, 0, 0]),
    ("outcomes.withheld.third_party_rights", "4.保护第三方合法权益", [1, 0, 0, 0, 0, 0, 1]),
    ("outcomes.withheld.internal_affairs", "5.属于三类内部事务信息", [0, 0, 0, 0, 0, 0, 0]),
    ("outcomes.withheld.process_information", "6.属于四类过程性信息", [1, 0, 0, 0, 0, 0, 1]),
    ("outcomes.withheld.enforcement_files", "7.属于行政执法案卷", [0, 0, 0, 0, 0, 0, 0]),
    ("outcomes.withheld.administrative_query", "8.属于行政查询事项", [0, 0, 0, 0, 0, 0, 0]),
    ("outcomes.unavailable.not_held", "1.本机关不掌握相关政府信息", [3, 1, 0, 0, 0, 1, 5]),
    ("outcomes.unavailable.needs_creation", "2.没有现成信息需要另行制作", [0, 0, 0, 0, 0, 0, 0]),
    ("outcomes.unavailable.unclear_after_correction", "3.补正后申请内容仍不明确", [0, 0, 0, 0, 0, 0, 0]),
    ("outcomes.not_processed.petition_complaint", "1.信访举报投诉类申请", [1, 0, 0, 0, 0, 0, 1]),
    ("outcomes.not_processed.duplicate", "2.重复申请", [0, 0, 0, 0, 0, 0, 0]),
    ("outcomes.not_processed.publications", "3.要求提供公开出版物", [0, 0, 0, 0, 0, 0, 0]),
    ("outcomes.not_processed.excessive_repeated", "4.无正当理由大量反复申请", [0, 0, 0, 0, 0, 0, 0]),
    ("outcomes.not_processed.confirm_or_reissue", "5.要求行政机关确认或重新出具已获取信息", [0, 0, 0, 0, 0, 0, 0]),
    (
        "outcomes.other.no_correction",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        [0, 1, 0, 0, 0, 0, 1],
    ),
    (
        "outcomes.other.fee_unpaid",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        [0, 0, 0, 0, 0, 0, 0],
    ),
    ("outcomes.other.other", "3.其他", [0, 0, 0, 0, 1, 0, 1]),
    ("outcomes.total", "（七）总计", [13, 3, 1, 0, 2, 1, 20]),
    ("applications.carried_forward", "四、结转下年度继续办理", [1, 0, 0, 1, 0, 0, 2]),
]
COLS = ["natural_person", "commercial", "research", "social_org", "legal_service", "other", "total"]
REVIEW_VALUES = [2, 1, 0, 1, 4, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1]
ACTIVE_VALUES = {
    "active.rules.issued": 1,
    "active.rules.repealed": 0,
    "active.rules.in_force": 4,
    "active.normative_documents.issued": 12,
    "active.normative_documents.repealed": 3,
    "active.normative_documents.in_force": 57,
    "active.licensing.decisions": 1234,
    "active.penalty.decisions": 56,
    "active.enforcement.decisions": 7,
    "active.fees.amount_wan": 12.5,
}
NARRATIVE = {
    "overview": "2024年，我镇认真贯彻落实政府信息公开条例，统计时限为2024年1月1日至2024年12月31日。",
    "problems": "一是公开内容不够丰富；二是更新不够及时。下一步将加强培训。",
    "other": "本年度未收取信息处理费。",
}


def expected_metrics() -> dict[str, float | int]:
    out: dict[str, float | int] = dict(ACTIVE_VALUES)
    for key, _label, values in APP_ROWS:
        out.update({f"{key}.{c}": v for c, v in zip(COLS, values, strict=True)})
    groups = ("review", "litigation.direct", "litigation.after_review")
    cols = ("upheld", "corrected", "other", "pending", "total")
    out.update({f"{g}.{c}": REVIEW_VALUES[i * 5 + j] for i, g in enumerate(groups) for j, c in enumerate(cols)})
    return out


def active_rows() -> list[list[str]]:
    v = ACTIVE_VALUES
    return [
        ["第二十条第（一）项", "", "", ""],
        ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"],
        ["规章", *(str(v[f"active.rules.{c}"]) for c in ("issued", "repealed", "in_force"))],
        ["行政规范性文件", *(str(v[f"active.normative_documents.{c}"]) for c in ("issued", "repealed", "in_force"))],
        ["第二十条第（五）项", "", "", ""],
        ["信息内容", "本年处理决定数量", "", ""],
        ["行政许可", f"{v['active.licensing.decisions']:,}", "", ""],
        ["第二十条第（六）项", "", "", ""],
        ["信息内容", "本年处理决定数量", "", ""],
        ["行政处罚", str(v["active.penalty.decisions"]), "", ""],
        ["行政强制", str(v["active.enforcement.decisions"]), "", ""],
        ["第二十条第（八）项", "", "", ""],
        ["信息内容", "本年收费金额（单位：万元）", "", ""],
        ["行政事业性收费", str(v["active.fees.amount_wan"]), "", ""],
    ]


def application_rows() -> list[list[str]]:
    rows = [
        ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况", "", "", "", "", "", ""],
        ["", "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"],
    ]
    rows += [[label, *map(str, values)] for _key, label, values in APP_ROWS]
    return rows


def application_rows_without_total() -> list[list[str]]:
    """Table 三 as some reports print it: the six applicant columns and no 总计 column."""
    rows = [
        ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况", "", "", "", "", ""],
        ["", "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"],
    ]
    rows += [[label, *map(str, values[:6])] for _key, label, values in APP_ROWS]
    return rows


def review_rows() -> list[list[str]]:
    head = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    return [
        ["行政复议", "", "", "", "", "行政诉讼未经复议直接起诉", "", "", "", "", "行政诉讼复议后起诉", "", "", "", ""],
        head * 3,
        [str(v) for v in REVIEW_VALUES],
    ]


def text_report(sep: str = "\t", applications: list[list[str]] | None = None) -> str:
    """The report as plain text with delimited tables ("\\t" or markdown pipes); table 三 may be replaced."""

    def table(rows: list[list[str]]) -> str:
        if sep == "|":
            lines = ["| " + " | ".join(r) + " |" for r in rows]
            lines.insert(1, "|" + "---|" * len(rows[0]))
            return "\n".join(lines)
        return "\n".join("\t".join(r) for r in rows)

    return "\n\n".join(
        [
            TITLE,
            "一、总体情况",
            NARRATIVE["overview"],
            "（一）主动公开",
            "主动公开政府信息120条。",
            "二、主动公开政府信息情况",
            table(active_rows()),
            "三、收到和处理政府信息公开申请情况",
            table(applications or application_rows()),
            "四、政府信息公开行政复议、行政诉讼情况",
            table(review_rows()),
            "五、存在的主要问题及改进情况",
            NARRATIVE["problems"],
            "六、其他需要报告的事项",
            NARRATIVE["other"],
        ]
    )


def html_report(encoding: str = "utf-8") -> bytes:
    def table(rows: list[list[str]]) -> str:
        body = "".join("<tr>" + "".join(f"<td><p>{c}</p></td>" for c in r) + "</tr>" for r in rows)
        return f"<table border='1'>{body}</table>"

    html = f"""<!DOCTYPE html><html><head><meta charset="{encoding}"><title>{TITLE}</title>
<meta name="PubDate" content="2025-01-20 10:00"></head><body><div class="nav">首页 &gt; 政府信息公开年报</div>
<div class="TRS_Editor"><p>{TITLE}</p><p>一、总体情况</p><p>{NARRATIVE["overview"]}</p>
<p>二、主动公开政府信息情况</p>{table(active_rows())}<p>三、收到和处理政府信息公开申请情况</p>
{table(application_rows())}<p>四、政府信息公开行政复议、行政诉讼情况</p>{table(review_rows())}
<p>五、存在的主要问题及改进情况</p><p>{NARRATIVE["problems"]}</p><p>六、其他需要报告的事项</p>
<p>{NARRATIVE["other"]}</p></div><script>var x = "一、总体情况 999";</script></body></html>"""
    return html.encode(encoding)


def docx_from_template() -> bytes:
    """The official blank 2021 template (merged cells) filled with this module's numbers."""
    from docx import Document

    doc = Document(str(REPORTS / "template-2021.docx"))
    doc.paragraphs[0].text = TITLE
    texts = iter([NARRATIVE["overview"], NARRATIVE["problems"], NARRATIVE["other"]])
    for para in doc.paragraphs:
        if para.text.startswith("（文字描述"):
            para.text = next(texts, "")
    active, apps, review = doc.tables[:3]
    for r, row in enumerate(active_rows()):
        for c, value in enumerate(row):
            if c > 0 and value and value[0].isdigit():
                active.cell(r, c).text = value
    for i, (_key, _label, values) in enumerate(APP_ROWS):
        for j, value in enumerate(values):
            apps.cell(3 + i, 3 + j).text = str(value)
    for j, value in enumerate(REVIEW_VALUES):
        review.cell(3, j).text = str(value)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def xlsx_report() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append([TITLE])
    ws.append(["一、总体情况"])
    ws.append([NARRATIVE["overview"]])
    ws.append(["二、主动公开政府信息情况"])
    for row in active_rows():
        ws.append([_cell(c) for c in row])
    ws.append(["三、收到和处理政府信息公开申请情况"])
    for row in application_rows():
        ws.append([_cell(c) for c in row])
    ws.merge_cells(
        start_row=ws.max_row - len(APP_ROWS) - 1, start_column=2, end_row=ws.max_row - len(APP_ROWS) - 1, end_column=8
    )
    ws.append(["四、政府信息公开行政复议、行政诉讼情况"])
    for row in review_rows():
        ws.append([_cell(c) for c in row])
    ws.append(["五、存在的主要问题及改进情况"])
    ws.append([NARRATIVE["problems"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell(text: str) -> str | int | float:
    plain = text.replace(",", "")
    if plain.isdigit():
        return int(plain)
    try:
        return float(plain)
    except ValueError:
        return text


def pdf_report(pages_of_padding: int = 0) -> bytes:
    """A PDF drawn with reportlab's built-in CID font STSong-Light, tables ruled with lines."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    style = ParagraphStyle("zh", fontName="STSong-Light", fontSize=10, leading=14, wordWrap="CJK")
    small = ParagraphStyle("zh-small", parent=style, fontSize=6, leading=8)
    grid = TableStyle(
        [("FONTNAME", (0, 0), (-1, -1), "STSong-Light"), ("FONTSIZE", (0, 0), (-1, -1), 6),
         ("GRID", (0, 0), (-1, -1), 0.5, colors.black)]
    )  # fmt: skip

    def table(rows: list[list[str]], label_width: float) -> Table:
        data = [[Paragraph(c, small) if i == 0 else c for i, c in enumerate(r)] for r in rows]
        n = len(rows[0])
        widths = [label_width] + [(480 - label_width) / (n - 1)] * (n - 1)
        t = Table(data, colWidths=widths)
        t.setStyle(grid)
        return t

    story = [Paragraph(TITLE, style), Paragraph("一、总体情况", style), Paragraph(NARRATIVE["overview"], style)]
    for _ in range(pages_of_padding):
        story += [Paragraph(NARRATIVE["overview"] * 20, style), PageBreak()]
    story += [Paragraph("二、主动公开政府信息情况", style), table(active_rows(), 120), Spacer(1, 8)]
    story += [Paragraph("三、收到和处理政府信息公开申请情况", style), table(application_rows(), 200), Spacer(1, 8)]
    review = [[Paragraph(c, small) for c in r] for r in review_rows()]
    t = Table(review, colWidths=[32] * 15)
    t.setStyle(grid)
    story += [Paragraph("四、政府信息公开行政复议、行政诉讼情况", style), t]
    story += [Paragraph("五、存在的主要问题及改进情况", style), Paragraph(NARRATIVE["problems"], style)]
    story += [Paragraph("六、其他需要报告的事项", style), Paragraph(NARRATIVE["other"], style)]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, title=TITLE).build(story)
    return buf.getvalue()
