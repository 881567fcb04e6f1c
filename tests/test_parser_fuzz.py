"""parse_bytes never raises: random bytes, truncated files and broken tables in every format."""

from __future__ import annotations

from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer import catalogue
from indexer.document import ReportDocument
from indexer.parse import parse_bytes
from tests import parser_builders as b

SUFFIXES = [
    "report.txt",
    "report.md",
    "report.html",
    "report.pdf",
    "report.docx",
    "report.xlsx",
    "report.xls",
    "report.doc",
    None,
]
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def originals() -> dict[str, bytes]:
    return {
        "report.txt": b.text_report().encode("gb18030"),
        "report.md": b.text_report("|").encode(),
        "report.html": b.html_report("gbk"),
        "report.pdf": b.pdf_report(),
        "report.docx": b.docx_from_template(),
        "report.xlsx": b.xlsx_report(),
    }


def assert_sane(doc: ReportDocument) -> None:
    assert isinstance(doc, ReportDocument) and doc.id
    assert set(doc.metrics) <= set(catalogue.metric_index())
    assert doc.check_status in ("ok", "failed", "incomplete")
    assert all(isinstance(w.code, str) and w.code for w in doc.warnings)
    doc.to_dict()  # serialisable


@FUZZ
@given(
    data=st.binary(max_size=4096),
    name=st.sampled_from(SUFFIXES),
    ctype=st.sampled_from([None, "text/html", "application/pdf"]),
)
def test_random_bytes(data: bytes, name: str | None, ctype: str | None) -> None:
    assert_sane(parse_bytes(data, url="fuzz", filename=name, content_type=ctype))


@FUZZ
@given(name=st.sampled_from(sorted(originals())), cut=st.floats(min_value=0.0, max_value=0.999))
def test_truncated_files(name: str, cut: float) -> None:
    data = originals()[name]
    doc = parse_bytes(data[: int(len(data) * cut)], url="fuzz", filename=name)
    assert_sane(doc)


@FUZZ
@given(
    name=st.sampled_from(sorted(originals())),
    pos=st.floats(min_value=0.0, max_value=0.999),
    junk=st.binary(min_size=1, max_size=64),
)
def test_corrupted_files(name: str, pos: float, junk: bytes) -> None:
    data = originals()[name]
    at = int(len(data) * pos)
    assert_sane(parse_bytes(data[:at] + junk + data[at + len(junk) :], url="fuzz", filename=name))


cells = st.one_of(
    st.sampled_from(
        ["", "—", "/", "无", "0", "1,234", "１２", "-3", "0.5", "总计", "其他", "（七）总计", "3.其他", "本年新收"]
    ),
    st.text(max_size=12),
    st.integers(min_value=-99999, max_value=10**12).map(str),
)


@FUZZ
@given(rows=st.lists(st.lists(cells, max_size=18), max_size=40), sep=st.sampled_from(["\t", "|"]))
def test_broken_tables(rows: list[list[str]], sep: str) -> None:
    body = "\n".join(sep.join(r) if sep == "\t" else "| " + " | ".join(r) + " |" for r in rows)
    text = b.text_report().replace("三、收到和处理政府信息公开申请情况", "三、收到和处理政府信息公开申请情况\n" + body)
    assert_sane(parse_bytes(text.encode(), url="fuzz", filename="r.txt"))


@FUZZ
@given(run=st.text(alphabet="0123456789 -.", max_size=60))
def test_flattened_runs(run: str) -> None:
    text = (
        "x" * 300
        + "三、收到和处理政府信息公开申请情况勾稽申请人情况自然人其他总计一、本年新收政府信息公开申请数量"
        + run
    )
    text += "（七）总计" + run + "四、结转下年度继续办理" + run + "四、政府信息公开行政复议、行政诉讼情况总计" + run
    assert_sane(parse_bytes(text.encode(), url="fuzz", filename="r.txt"))
