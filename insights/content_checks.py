"""Checks of one report's content that its tables alone cannot express (named ``cross.*`` with the
cross-report checks: everything the insights stage adds, so it can replace its own checks on each run)."""

from __future__ import annotations

from functools import cache

from indexer import catalogue
from indexer.document import Check, ReportDocument
from store.base import DERIVED_PREFIX

PREFIX = DERIVED_PREFIX
FEE_WORDS = ("收费", "信息处理费")
BLANK_LIST_LIMIT = 20


@cache
def required_keys(template: str) -> tuple[str, ...]:
    """Cells the report's template asks for (derived subtotals are computed, not asked for)."""
    if template not in ("2019", "2021"):
        return ()
    return tuple(m.key for m in catalogue.metrics() if not m.derived and m.template in ("all", template))


def fees_explained(doc: ReportDocument) -> Check:
    name = PREFIX + "fees_explained.active.fees.amount_wan"
    fee = doc.metrics.get("active.fees.amount_wan")
    if fee is None:
        return Check(name=name, status="skipped", message="无收费金额 / no fee amount given")
    if fee <= 0:
        return Check(name=name, status="ok", expected=0.0, actual=float(fee), message="未收费 / no fees charged")
    text = doc.section_text("other")
    if any(w in text for w in FEE_WORDS):
        return Check(name=name, status="ok", expected=1.0, actual=1.0, message="六、其他需要报告的事项 说明了收费")
    return Check(
        name=name,
        status="failed",
        expected=1.0,
        actual=0.0,
        message=f"收费 {fee:g} 万元，但第六部分未说明收费（无“收费”“信息处理费”） / "
        f"fees of {fee:g} (10k yuan) charged but section 6 does not explain them",
    )


def problems_section(doc: ReportDocument) -> Check:
    name = PREFIX + "problems_section"
    if not doc.sections:
        return Check(name=name, status="skipped", message="无正文 / no sections read")
    length = len(doc.section_text("problems").strip())
    if length:
        return Check(name=name, status="ok", expected=1.0, actual=float(length), message="第五部分有内容")
    return Check(
        name=name,
        status="failed",
        expected=1.0,
        actual=0.0,
        message="第五部分（存在的主要问题及改进情况）为空 / section 5 (problems and improvements) is empty",
    )


def blank_cells(doc: ReportDocument) -> Check:
    name = PREFIX + "blank_cells"
    keys = required_keys(doc.template)
    if not keys or not any(doc.metrics.get(k) is not None for k in keys):
        return Check(name=name, status="skipped", message="无表格数据 / no table values read")
    blank = [k for k in keys if doc.metrics.get(k) is None]
    if not blank:
        return Check(name=name, status="ok", expected=0.0, actual=0.0, message="模板要求的数字均已填写")
    shown = ", ".join(blank[:BLANK_LIST_LIMIT]) + (" …" if len(blank) > BLANK_LIST_LIMIT else "")
    return Check(
        name=name,
        status="failed",
        expected=0.0,
        actual=float(len(blank)),
        message=f"模板要求的 {len(blank)} 个数字为空 / {len(blank)} cell(s) the template requires are blank: {shown}",
    )


def run(doc: ReportDocument) -> list[Check]:
    return [fees_explained(doc), problems_section(doc), blank_cells(doc)]
