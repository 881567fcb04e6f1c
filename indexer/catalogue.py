"""The metric catalogue: every number a report's tables carry, with its key, Chinese label, table and unit.

This module is the one definition of metrics. The parser fills them, both stores index them (one
column / one numeric field per key), the API lists them and the Elasticsearch mapping is generated
from them. Keys are dotted paths, e.g. ``applications.new.total`` or
``outcomes.withheld.process_information.natural_person``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

# Table 三 applicant columns, in template order. The six before ``total`` add up to it.
APPLICANT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("natural_person", "自然人"),
    ("commercial", "商业企业"),
    ("research", "科研机构"),
    ("social_org", "社会公益组织"),
    ("legal_service", "法律服务机构"),
    ("other", "其他"),
    ("total", "总计"),
)
APPLICANT_COLUMN_KEYS: tuple[str, ...] = tuple(key for key, _ in APPLICANT_COLUMNS)
APPLICANT_PARTS: tuple[str, ...] = tuple(key for key in APPLICANT_COLUMN_KEYS if key != "total")  # sum to 总计

# Outcome categories of table 三 (三、本年度办理结果) whose items are summed into derived subtotals.
OUTCOME_CATEGORIES: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "withheld",
        "（三）不予公开",
        (
            ("state_secret", "属于国家秘密"),
            ("prohibited_by_law", "其他法律行政法规禁止公开"),
            ("security_stability", "危及“三安全一稳定”"),
            ("third_party_rights", "保护第三方合法权益"),
            ("internal_affairs", "属于三类内部事务信息"),
            ("process_information", "属于四类过程性信息"),
            ("enforcement_files", "属于行政执法案卷"),
            ("administrative_query", "属于行政查询事项"),
        ),
    ),
    (
        "unavailable",
        "（四）无法提供",
        (
            ("not_held", "本机关不掌握相关政府信息"),
            ("needs_creation", "没有现成信息需要另行制作"),
            ("unclear_after_correction", "补正后申请内容仍不明确"),
        ),
    ),
    (
        "not_processed",
        "（五）不予处理",
        (
            ("petition_complaint", "信访举报投诉类申请"),
            ("duplicate", "重复申请"),
            ("publications", "要求提供公开出版物"),
            ("excessive_repeated", "无正当理由大量反复申请"),
            ("confirm_or_reissue", "要求行政机关确认或重新出具已获取信息"),
        ),
    ),
    (
        "other",
        "（六）其他处理",
        (
            ("no_correction", "申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
            ("fee_unpaid", "申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
            ("other", "其他"),
        ),
    ),
)

# Table 三 rows that are not inside an outcome category, as (key, label).
APPLICATION_ROWS_BEFORE: tuple[tuple[str, str], ...] = (
    ("applications.new", "一、本年新收政府信息公开申请数量"),
    ("applications.carried_over", "二、上年结转政府信息公开申请数量"),
    ("outcomes.disclosed", "（一）予以公开"),
    ("outcomes.partially_disclosed", "（二）部分公开"),
)
APPLICATION_ROWS_AFTER: tuple[tuple[str, str], ...] = (
    ("outcomes.total", "（七）总计"),
    ("applications.carried_forward", "四、结转下年度继续办理"),
)

# Table 四 result columns; the first four add up to ``total``.
REVIEW_COLUMNS: tuple[tuple[str, str], ...] = (
    ("upheld", "结果维持"),
    ("corrected", "结果纠正"),
    ("other", "其他结果"),
    ("pending", "尚未审结"),
    ("total", "总计"),
)
REVIEW_GROUPS: tuple[tuple[str, str], ...] = (
    ("review", "行政复议"),
    ("litigation.direct", "行政诉讼 未经复议直接起诉"),
    ("litigation.after_review", "行政诉讼 复议后起诉"),
)

TABLE_ACTIVE = "active"  # 二、主动公开政府信息情况
TABLE_APPLICATIONS = "applications"  # 三、收到和处理政府信息公开申请情况
TABLE_REVIEW = "review"  # 四、政府信息公开行政复议、行政诉讼情况
TABLE_ANALYSIS = "analysis"  # computed across reports by the insights stage (insights/), not read from one

TABLE_LABELS: dict[str, str] = {
    TABLE_ACTIVE: "二、主动公开政府信息情况",
    TABLE_APPLICATIONS: "三、收到和处理政府信息公开申请情况",
    TABLE_REVIEW: "四、政府信息公开行政复议、行政诉讼情况",
    TABLE_ANALYSIS: "分析：同比变化与文本重复（自动计算）",
}

# Metrics compared with the same agency's previous year (insights.yoy): ``yoy.<key>.abs`` / ``.rel``.
YOY_METRICS: tuple[str, ...] = (
    "applications.new.total",
    "outcomes.disclosed.total",
    "outcomes.partially_disclosed.total",
    "outcomes.total.total",
    "outcomes.unavailable.not_held.total",
    "review.total",
    "litigation.direct.total",
    "active.fees.amount_wan",
)
# One key across template generations, so 2019–2025 compare in one series. The 2019 form's 本年新制作数量 and
# the 2021 form's 本年制发件数 both count the documents an agency issued that year: the 2019 column is read
# into its own key (kept) and also into the harmonised one. 处理决定数量 (2019) and 本年处理决定数量 (2021)
# are one key already (``active.<row>.decisions``).
HARMONISED: dict[str, str] = {
    "active.rules.new_made": "active.rules.issued",
    "active.normative_documents.new_made": "active.normative_documents.issued",
}
RATIO_UNIT = "比例"  # a share between 0 and 1 (buckets in store.query.buckets_for)
CHANGE_UNIT = "变化率"  # a relative change, (this year − last year) / last year
ANALYSIS_TEMPLATE = "analysis"  # not a cell of any report template


@dataclass(frozen=True, slots=True)
class Metric:
    """One number of a report."""

    key: str
    label: str  # Chinese label as a journalist reads it, e.g. "本年新收申请 · 自然人"
    table: str  # TABLE_ACTIVE / TABLE_APPLICATIONS / TABLE_REVIEW
    unit: str  # "件", "项", "万元"
    kind: str = "int"  # "int" or "float" (fees in 万元 are decimals)
    row: str = ""  # row key within the table, e.g. "outcomes.withheld.state_secret"
    column: str = ""  # column key, e.g. "natural_person"; "" for single-valued rows
    derived: bool = False  # computed from other metrics, not read from the report
    template: str = "all"  # "all", "2019" (only in the 2019 template) or "2021"
    signed: bool = False  # may be negative (2019 template "本年增/减")

    @property
    def column_name(self) -> str:
        """A SQL/ES-safe name for the key (dots become double underscores)."""
        return "m__" + self.key.replace(".", "__")


def _active_metrics() -> list[Metric]:
    m: list[Metric] = []
    t, piece = TABLE_ACTIVE, "件"
    # 2021 template (and since): 本年制发件数 / 本年废止件数 / 现行有效件数.
    for row, label in (("active.rules", "规章"), ("active.normative_documents", "行政规范性文件")):
        for col, col_label in (("issued", "本年制发件数"), ("repealed", "本年废止件数"), ("in_force", "现行有效件数")):
            m.append(Metric(f"{row}.{col}", f"{label} · {col_label}", t, piece, row=row, column=col, template="2021"))
        # 2019 template: 本年新制作数量 / 本年新公开数量 / 对外公开总数量.
        for col, col_label in (
            ("new_made", "本年新制作数量"),
            ("new_published", "本年新公开数量"),
            ("total_published", "对外公开总数量"),
        ):
            m.append(Metric(f"{row}.{col}", f"{label} · {col_label}", t, piece, row=row, column=col, template="2019"))
    for row, label in (
        ("active.licensing", "行政许可"),
        ("active.penalty", "行政处罚"),
        ("active.enforcement", "行政强制"),
    ):
        m.append(Metric(f"{row}.decisions", f"{label} · 本年处理决定数量", t, piece, row=row, column="decisions"))
    m.append(
        Metric(
            "active.fees.amount_wan",
            "行政事业性收费 · 本年收费金额（万元）",
            t,
            "万元",
            "float",
            row="active.fees",
            column="amount_wan",
            template="2021",  # the 2019 form's fee row has only 上一年项目数量 and 本年增/减
        )
    )
    # 2019 template only: 上一年项目数量 / 本年增/减 for licensing, other services, penalty, enforcement, fees;
    # 其他对外管理服务事项 decisions; 政府集中采购.
    for row, label in (
        ("active.licensing", "行政许可"),
        ("active.other_services", "其他对外管理服务事项"),
        ("active.penalty", "行政处罚"),
        ("active.enforcement", "行政强制"),
        ("active.fees", "行政事业性收费"),
    ):
        m.append(
            Metric(
                f"{row}.prev_items", f"{label} · 上一年项目数量", t, "项", row=row, column="prev_items", template="2019"
            )
        )
        m.append(
            Metric(
                f"{row}.change", f"{label} · 本年增/减", t, "项", row=row, column="change", template="2019", signed=True
            )
        )
    m.append(
        Metric(
            "active.other_services.decisions",
            "其他对外管理服务事项 · 处理决定数量",
            t,
            piece,
            row="active.other_services",
            column="decisions",
            template="2019",
        )
    )
    m.append(
        Metric(
            "active.procurement.items",
            "政府集中采购 · 采购项目数量",
            t,
            "项",
            row="active.procurement",
            column="items",
            template="2019",
        )
    )
    m.append(
        Metric(
            "active.procurement.amount_wan",
            "政府集中采购 · 采购总金额（万元）",
            t,
            "万元",
            "float",
            row="active.procurement",
            column="amount_wan",
            template="2019",
        )
    )
    return m


def application_rows() -> list[tuple[str, str, bool, str]]:
    """Every row of table 三 in template order: (row key, label, derived, template)."""
    rows: list[tuple[str, str, bool, str]] = [(k, label, False, "all") for k, label in APPLICATION_ROWS_BEFORE]
    for cat, cat_label, items in OUTCOME_CATEGORIES:
        for item, item_label in items:
            # The 2019 template had a single 其他处理 row (mapped to outcomes.other.total).
            template = "2021" if cat == "other" else "all"
            rows.append((f"outcomes.{cat}.{item}", f"{cat_label} {item_label}", False, template))
        # 其他处理 has no subtotal row in 2021 but is the row itself in 2019: derived only when itemised.
        rows.append((f"outcomes.{cat}.total", f"{cat_label} 小计", True, "all"))
    rows.extend((k, label, False, "all") for k, label in APPLICATION_ROWS_AFTER)
    return rows


def _application_metrics() -> list[Metric]:
    m: list[Metric] = []
    for row, label, derived, template in application_rows():
        for col, col_label in APPLICANT_COLUMNS:
            m.append(
                Metric(
                    f"{row}.{col}",
                    f"{label} · {col_label}",
                    TABLE_APPLICATIONS,
                    "件",
                    row=row,
                    column=col,
                    derived=derived,
                    template=template,
                )
            )
    return m


def _review_metrics() -> list[Metric]:
    return [
        Metric(f"{group}.{col}", f"{group_label} · {col_label}", TABLE_REVIEW, "件", row=group, column=col)
        for group, group_label in REVIEW_GROUPS
        for col, col_label in REVIEW_COLUMNS
    ]


def _analysis_metrics(base: list[Metric]) -> list[Metric]:
    """Derived by the insights stage: year-over-year changes and the share of copied narrative."""
    by_key = {m.key: m for m in base}
    m: list[Metric] = []
    for key in YOY_METRICS:
        src = by_key[key]
        row_label, _, col_label = src.label.partition(" · ")
        col_label = col_label.replace(f"（{src.unit}）", "")
        name = f"同比 {row_label}（{col_label}）" if col_label else f"同比 {row_label}"
        common = {"table": TABLE_ANALYSIS, "row": f"yoy.{key}", "derived": True, "template": ANALYSIS_TEMPLATE}
        m.append(
            Metric(
                f"yoy.{key}.abs", f"{name} · 增减", unit=src.unit, kind=src.kind, column="abs", signed=True, **common
            )
        )
        m.append(
            Metric(
                f"yoy.{key}.rel", f"{name} · 增幅", unit=CHANGE_UNIT, kind="float", column="rel", signed=True, **common
            )
        )
    common = {"table": TABLE_ANALYSIS, "row": "copied", "derived": True, "template": ANALYSIS_TEMPLATE}
    m.append(
        Metric(
            "copied.previous_ratio",
            "文本重复 · 与本机关上年报告重复比例",
            unit=RATIO_UNIT,
            kind="float",
            column="previous_ratio",
            **common,
        )
    )
    m.append(
        Metric(
            "copied.peers_ratio",
            "文本重复 · 与同年其他机关报告重复比例",
            unit=RATIO_UNIT,
            kind="float",
            column="peers_ratio",
            **common,
        )
    )
    return m


@cache
def metrics() -> tuple[Metric, ...]:
    """All metrics in table order."""
    base = _active_metrics() + _application_metrics() + _review_metrics()
    return tuple(base + _analysis_metrics(base))


@cache
def metric_index() -> dict[str, Metric]:
    return {m.key: m for m in metrics()}


def get(key: str) -> Metric:
    """The metric for ``key``; raises KeyError with the key name when unknown."""
    try:
        return metric_index()[key]
    except KeyError:
        raise KeyError(f"unknown metric {key!r}") from None


def is_metric(key: str) -> bool:
    return key in metric_index()


def metrics_of_table(table: str) -> tuple[Metric, ...]:
    return tuple(m for m in metrics() if m.table == table)
