"""The report's own accounting identities, evaluated on its metrics.

* balance.<col>:  一 本年新收 + 二 上年结转 = (七) 总计 + 四 结转下年度   (the table's own 勾稽关系 note)
* columns.<row>:  in every row of table 三, the six applicant columns add up to 总计 (skipped when nianbao
                  computed that 总计 from them: the report did not print it)
* outcomes.<col>: (七) 总计 = the sum of every outcome item
* review.<group>: each 总计 of table 四 = its four results

A failed identity is kept with expected and actual values; the report is flagged, never dropped.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from functools import cache

from indexer import catalogue
from indexer.document import Check

Metrics = dict[str, float | int | None]
_COLUMN_NAMES = dict(catalogue.APPLICANT_COLUMNS)
_GROUP_NAMES = dict(catalogue.REVIEW_GROUPS)


def _sum(values: Iterable[float | int | None]) -> float | int | None:
    total: float | int = 0
    for v in values:
        if v is None:
            return None
        total += v
    return total


def _check(name: str, expected: float | int | None, actual: float | int | None, zh: str, en: str) -> Check:
    if expected is None or actual is None:
        return Check(
            name=name, status="skipped", message=f"无法核对（缺少数据）：{zh} / not checkable, values missing: {en}"
        )
    if abs(expected - actual) < 1e-6:
        return Check(name=name, status="ok", expected=float(expected), actual=float(actual), message=f"{zh} / {en}")
    return Check(
        name=name,
        status="failed",
        expected=float(expected),
        actual=float(actual),
        message=(
            f"{zh}不成立：应为 {expected:g}，实为 {actual:g} / "
            f"{en} does not hold: expected {expected:g}, got {actual:g}"
        ),
    )


def outcome_item_keys(template: str) -> list[str]:
    """Row keys summed into (七) 总计: every outcome item (2019: 其他处理 is a single row)."""
    keys = ["outcomes.disclosed", "outcomes.partially_disclosed"]
    for cat, _label, items in catalogue.OUTCOME_CATEGORIES:
        if cat == "other" and template == "2019":
            keys.append("outcomes.other.total")
        else:
            keys.extend(f"outcomes.{cat}.{item}" for item, _ in items)
    return keys


def _not_printed(name: str, zh: str, en: str) -> Check:
    return Check(
        name=name,
        status="skipped",
        message=(
            f"未核对（报告未列总计，总计由各申请人列相加得出）：{zh} / "
            f"not checked, 总计 not printed but computed from the applicant columns: {en}"
        ),
    )


# (kind, check name, expected keys, actual keys, zh, en, 总计 key nianbao may have computed): the identities of
# a template, spelled out once — a report checks every one of them.
_Identity = tuple[str, str, tuple[str, ...], tuple[str, ...], str, str, str]


@cache
def _identities(template: str) -> tuple[_Identity, ...]:
    out: list[_Identity] = []
    for col in catalogue.APPLICANT_COLUMN_KEYS:
        name = _COLUMN_NAMES[col]
        out.append(
            (
                "sum",
                f"balance.{col}",
                (f"applications.new.{col}", f"applications.carried_over.{col}"),
                (f"outcomes.total.{col}", f"applications.carried_forward.{col}"),
                f"{name}：一+二=（七）总计+四",
                f"{col}: new + carried over = total handled + carried forward",
                "",
            )
        )
    items = outcome_item_keys(template)
    rows = ["applications.new", "applications.carried_over", *items, "outcomes.total", "applications.carried_forward"]
    for row in rows:
        zh, en = f"{row} 各申请人之和=总计", f"{row}: applicant columns add up to 总计"
        parts = tuple(f"{row}.{col}" for col in catalogue.APPLICANT_PARTS)
        out.append(("one", f"columns.{row}", (f"{row}.total",), parts, zh, en, f"{row}.total"))
    for col in catalogue.APPLICANT_COLUMN_KEYS:
        name = _COLUMN_NAMES[col]
        out.append(
            (
                "one",
                f"outcomes.{col}",
                (f"outcomes.total.{col}",),
                tuple(f"{row}.{col}" for row in items),
                f"{name}：（七）总计=各办理结果之和",
                f"{col}: outcome items add up to (7) total",
                "",
            )
        )
    for group, _label in catalogue.REVIEW_GROUPS:
        out.append(
            (
                "one",
                f"review.{group}",
                (f"{group}.total",),
                tuple(f"{group}.{c}" for c in ("upheld", "corrected", "other", "pending")),
                f"{_GROUP_NAMES[group]}：总计=四项结果之和",
                f"{group}: total = sum of four results",
                "",
            )
        )
    return tuple(out)


def run_checks(metrics: Metrics, template: str, computed: Collection[str] = ()) -> list[Check]:
    """Every identity on ``metrics``; ``computed``: metric keys nianbao computed (not printed in the report)."""
    checks: list[Check] = []
    m = metrics.get
    for kind, name, expected_keys, actual_keys, zh, en, total in _identities(template):
        if total and total in computed:  # true by construction: "ok" would claim a check that never happened
            checks.append(_not_printed(name, zh, en))
            continue
        expected = _sum([m(k) for k in expected_keys]) if kind == "sum" else m(expected_keys[0])
        checks.append(_check(name, expected, _sum([m(k) for k in actual_keys]), zh, en))
    return checks


# The identities without which a report's figures cannot be trusted at all.
MAIN_CHECKS = ("balance.total", "outcomes.total", "columns.applications.new")


def check_status(checks: list[Check]) -> str:
    """ "failed" if any failed; "ok" if the main identities were checkable; else "incomplete"."""
    if any(c.status == "failed" for c in checks):
        return "failed"
    by_name = {c.name: c for c in checks}
    if all(name in by_name and by_name[name].status == "ok" for name in MAIN_CHECKS):
        return "ok"
    return "incomplete"
