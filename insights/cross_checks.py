"""Checks across two years of one publisher: carry-over continuity and order-of-magnitude jumps."""

from __future__ import annotations

from indexer.document import Check
from insights.content_checks import PREFIX

CARRIED_OVER = "applications.carried_over.total"  # 二、上年结转 this year
CARRIED_FORWARD = "applications.carried_forward.total"  # 四、结转下年度 last year
JUMP_FACTOR = 100
JUMP_MIN_VALUE = 10

Metrics = dict[str, float | int]


def carry_over(this: Metrics, previous: Metrics | None, previous_year: int) -> Check:
    name = f"{PREFIX}carry.{CARRIED_OVER}"
    if previous is None:
        return Check(name=name, status="skipped", message=f"无 {previous_year} 年报告 / no report for {previous_year}")
    expected, actual = previous.get(CARRIED_FORWARD), this.get(CARRIED_OVER)
    if expected is None or actual is None:
        return Check(name=name, status="skipped", message="无法核对（缺少数据） / not checkable, values missing")
    if abs(expected - actual) < 1e-6:
        return Check(
            name=name, status="ok", expected=float(expected), actual=float(actual), message="上年结转=上年结转下年度"
        )
    return Check(
        name=name,
        status="failed",
        expected=float(expected),
        actual=float(actual),
        message=f"上年结转 {actual:g} 件，但 {previous_year} 年报告结转下年度 {expected:g} 件 / carried over "
        f"{actual:g} but the {previous_year} report carried forward {expected:g}",
    )


def is_jump(before: float, after: float) -> bool:
    """×100 or more between two years, in either direction, where the larger value is at least 10."""
    low, high = sorted((abs(before), abs(after)))
    return high >= JUMP_MIN_VALUE and low > 0 and high >= JUMP_FACTOR * low


def jumps(this: Metrics, previous: Metrics | None, previous_year: int) -> list[Check]:
    """One failed check per number that jumped; one ok check when none did."""
    name = f"{PREFIX}jump"
    if previous is None:
        return [Check(name=name, status="skipped", message=f"无 {previous_year} 年报告 / no {previous_year} report")]
    out = []
    for key, value in this.items():
        before = previous.get(key)
        if before is not None and is_jump(before, value):
            out.append(
                Check(
                    name=f"{name}.{key}",
                    status="failed",
                    expected=float(before),
                    actual=float(value),
                    message=f"{key} 由 {previous_year} 年的 {before:g} 变为 {value:g}（相差百倍以上） / "
                    f"changed from {before:g} to {value:g}, a factor of 100 or more",
                )
            )
    return out or [Check(name=name, status="ok", message="无数量级跳变 / no order-of-magnitude jump")]
