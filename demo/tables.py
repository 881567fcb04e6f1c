"""The three statistical tables of a report as a grid of cells with row/column spans.

One layout, after the official 2019 and 2021 forms, shared by every renderer (HTML, DOCX, PDF, text,
Markdown) so the formats cannot drift apart. Value cells carry their catalogue key.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.catalogue import (
    APPLICANT_COLUMNS,
    OUTCOME_CATEGORIES,
    REVIEW_COLUMNS,
    REVIEW_GROUPS,
    TABLE_ACTIVE,
    TABLE_APPLICATIONS,
    TABLE_REVIEW,
)


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    rowspan: int = 1
    colspan: int = 1
    key: str = ""  # catalogue key of a value cell; "" for labels
    header: bool = False


Row = list[Cell]
Grid = list[Row]


def format_value(value: int | float | None) -> str:
    """A number as reports print it: integers plain, 万元 amounts with their decimals, never "1e-05"."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value == int(value):
            return str(int(value))
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value)


def _v(metrics: dict[str, int | float], key: str, colspan: int = 1) -> Cell:
    return Cell(format_value(metrics.get(key)), colspan=colspan, key=key)


def _h(text: str, rowspan: int = 1, colspan: int = 1) -> Cell:
    return Cell(text, rowspan, colspan, header=True)


def active_grid(metrics: dict[str, int | float], template: str) -> Grid:
    """Table 二 (4 columns)."""
    g: Grid = [[_h("第二十条第（一）项", colspan=4)]]
    if template == "2019":
        g.append([_h("信息内容"), _h("本年新制作数量"), _h("本年新公开数量"), _h("对外公开总数量")])
        for row, label in (("active.rules", "规章"), ("active.normative_documents", "规范性文件")):
            g.append(
                [Cell(label)] + [_v(metrics, f"{row}.{c}") for c in ("new_made", "new_published", "total_published")]
            )
        for item, rows in (
            ("（五）", (("active.licensing", "行政许可"), ("active.other_services", "其他对外管理服务事项"))),
            ("（六）", (("active.penalty", "行政处罚"), ("active.enforcement", "行政强制"))),
        ):
            g.append([_h(f"第二十条第{item}项", colspan=4)])
            g.append([_h("信息内容"), _h("上一年项目数量"), _h("本年增/减"), _h("处理决定数量")])
            for row, label in rows:
                g.append([Cell(label)] + [_v(metrics, f"{row}.{c}") for c in ("prev_items", "change", "decisions")])
        g.append([_h("第二十条第（八）项", colspan=4)])
        g.append([_h("信息内容"), _h("上一年项目数量"), _h("本年增/减", colspan=2)])
        g.append([Cell("行政事业性收费"), _v(metrics, "active.fees.prev_items"), _v(metrics, "active.fees.change", 2)])
        g.append([_h("第二十条第（九）项", colspan=4)])
        g.append([_h("信息内容"), _h("采购项目数量"), _h("采购总金额（万元）", colspan=2)])
        g.append(
            [
                Cell("政府集中采购"),
                _v(metrics, "active.procurement.items"),
                _v(metrics, "active.procurement.amount_wan", 2),
            ]
        )
        return g
    g.append([_h("信息内容"), _h("本年制发件数"), _h("本年废止件数"), _h("现行有效件数")])
    for row, label in (("active.rules", "规章"), ("active.normative_documents", "行政规范性文件")):
        g.append([Cell(label)] + [_v(metrics, f"{row}.{c}") for c in ("issued", "repealed", "in_force")])
    for item, rows in (
        ("（五）", (("active.licensing", "行政许可"),)),
        ("（六）", (("active.penalty", "行政处罚"), ("active.enforcement", "行政强制"))),
    ):
        g.append([_h(f"第二十条第{item}项", colspan=4)])
        g.append([_h("信息内容"), _h("本年处理决定数量", colspan=3)])
        g.extend([Cell(label), _v(metrics, f"{row}.decisions", 3)] for row, label in rows)
    g.append([_h("第二十条第（八）项", colspan=4)])
    g.append([_h("信息内容"), _h("本年收费金额（单位：万元）", colspan=3)])
    g.append([Cell("行政事业性收费"), _v(metrics, "active.fees.amount_wan", 3)])
    return g


def _values(metrics: dict[str, int | float], row: str) -> list[Cell]:
    return [_v(metrics, f"{row}.{col}") for col, _ in APPLICANT_COLUMNS]


def applications_grid(metrics: dict[str, int | float], template: str) -> Grid:
    """Table 三 (3 label columns + 7 applicant columns)."""
    g: Grid = [
        [_h("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", 3, 3), _h("申请人情况", colspan=7)],
        [_h("自然人", rowspan=2), _h("法人或其他组织", colspan=5), _h("总计", rowspan=2)],
        [_h(label) for key, label in APPLICANT_COLUMNS if key not in ("natural_person", "total")],
        [Cell("一、本年新收政府信息公开申请数量", colspan=3), *_values(metrics, "applications.new")],
        [Cell("二、上年结转政府信息公开申请数量", colspan=3), *_values(metrics, "applications.carried_over")],
    ]
    outcome_rows: Grid = [
        [Cell("（一）予以公开", colspan=2), *_values(metrics, "outcomes.disclosed")],
        [
            Cell("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", colspan=2),
            *_values(metrics, "outcomes.partially_disclosed"),
        ],
    ]
    for cat, cat_label, items in OUTCOME_CATEGORIES:
        if template == "2019" and cat == "other":
            outcome_rows.append([Cell(cat_label, colspan=2), *_values(metrics, "outcomes.other.total")])
            continue
        for i, (item, item_label) in enumerate(items):
            label_cells = [Cell(cat_label, rowspan=len(items))] if i == 0 else []
            outcome_rows.append(
                [*label_cells, Cell(f"{i + 1}.{item_label}"), *_values(metrics, f"outcomes.{cat}.{item}")]
            )
    outcome_rows.append([Cell("（七）总计", colspan=2), *_values(metrics, "outcomes.total")])
    outcome_rows[0].insert(0, Cell("三、本年度办理结果", rowspan=len(outcome_rows)))
    g.extend(outcome_rows)
    g.append([Cell("四、结转下年度继续办理", colspan=3), *_values(metrics, "applications.carried_forward")])
    return g


def review_grid(metrics: dict[str, int | float]) -> Grid:
    """Table 四 (15 columns)."""
    results = [label for key, label in REVIEW_COLUMNS]
    return [
        [_h("行政复议", colspan=5), _h("行政诉讼", colspan=10)],
        [*(_h(r, rowspan=2) for r in results), _h("未经复议直接起诉", colspan=5), _h("复议后起诉", colspan=5)],
        [_h(r) for _ in range(2) for r in results],
        [_v(metrics, f"{group}.{col}") for group, _ in REVIEW_GROUPS for col, _ in REVIEW_COLUMNS],
    ]


def report_grids(metrics: dict[str, int | float], template: str) -> dict[str, Grid]:
    return {
        TABLE_ACTIVE: active_grid(metrics, template),
        TABLE_APPLICATIONS: applications_grid(metrics, template),
        TABLE_REVIEW: review_grid(metrics),
    }


def to_matrix(grid: Grid) -> list[list[Cell | None]]:
    """Place spanning cells on a rectangular matrix; positions a span covers hold None."""
    width = sum(c.colspan for c in grid[0])
    out: list[list[Cell | None]] = [[None] * width for _ in grid]
    taken = [[False] * width for _ in grid]
    for r, row in enumerate(grid):
        c = 0
        for cell in row:
            while c < width and taken[r][c]:
                c += 1
            if c >= width:
                raise ValueError(f"row {r} of the table is wider than {width} columns")
            out[r][c] = cell
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    taken[r + dr][c + dc] = True
            c += cell.colspan
    return out
