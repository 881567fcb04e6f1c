"""One test per quirk seen in real reports: cells, flattened runs, labels, headings, regions, agencies, checks."""

from __future__ import annotations

import pytest

from indexer import regions
from indexer.agency import agency_type, make_agency, name_from_title, normalize_name
from indexer.checks import check_status, run_checks
from indexer.document import Region
from indexer.numbers import INT, Column, groups_sum, parse_cell, split_run, sums_to_last
from indexer.parse import parse_bytes, report_year
from indexer.sections import find_sections
from indexer.tables import read_tables
from tests import parser_builders as b


# -- cells -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,234", 1234),
        ("１２", 12),
        ("0.5", 0.5),
        ("16220.85", 16220.85),
        ("-15", -15),
        (" 7 ", 7),
        ("22（其中修订16件）", 22),
    ],
)
def test_number_cells(text: str, value: float) -> None:
    cell = parse_cell(text)
    assert cell.numeric and cell.value == value and isinstance(cell.value, type(value))


@pytest.mark.parametrize("text", ["—", "/", "无", "", "－", "——"])
def test_placeholders_are_not_zero(text: str) -> None:
    cell = parse_cell(text)
    assert cell.numeric and cell.placeholder and cell.value is None


@pytest.mark.parametrize("text", ["行政许可", "（一）予以公开", "2.重复申请"])
def test_labels_are_not_numbers(text: str) -> None:
    assert not parse_cell(text).numeric


# -- flattened runs ----------------------------------------------------------------------------------------
def test_run_is_cut_by_the_row_identity() -> None:
    assert split_run("320000032", [INT] * 7, sums_to_last) == [[32, 0, 0, 0, 0, 0, 32]]
    assert split_run("120000012", [INT] * 7, sums_to_last) == [[12, 0, 0, 0, 0, 0, 12]]


def test_review_run_is_cut_by_group_identities() -> None:
    got = split_run("000003001410001", [INT] * 15, groups_sum(5))
    assert got == [[0, 0, 0, 0, 0, 3, 0, 0, 1, 4, 1, 0, 0, 0, 1]]


def test_negative_values_run_together() -> None:
    signed = [INT, Column(signed=True)]
    assert split_run("15-15", signed) == [[15, -15]]
    readings = split_run("88-720", [INT, Column(signed=True), INT])
    assert sorted(readings) == [[88, -72, 0], [88, -7, 20]]


def test_no_leading_zeros_in_cells() -> None:
    assert split_run("05", [INT, INT]) == [[0, 5]]
    assert split_run("0000000", [INT] * 7) == [[0] * 7]
    assert split_run("000000", [INT] * 7) == []


def _flat(body: str) -> str:
    return "标题: 某局2024年政府信息公开工作年度报告\n==================== 正文 ====================\n" + body


FLAT_HEADER = (
    "三、收到和处理政府信息公开申请情况（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
    "申请人情况自然人法人或其他组织总计商业企业科研机构社会公益组织法律服务机构其他"
)


def test_flattened_ambiguous_value_is_warned_not_guessed() -> None:
    text = (
        "x" * 300
        + "第二十条第（一）项信息内容本年制发件数本年废止件数现行有效件数规章000行政规范性文件97253"
        + FLAT_HEADER
    )
    text += (
        "一、本年新收政府信息公开申请数量320000032二、上年结转政府信息公开申请数量0000000四、结转下年度继续办理0000000"
    )
    result = read_tables([[text]])
    assert result.metrics["applications.new.natural_person"] == 32
    assert result.metrics["applications.new.total"] == 32
    assert result.metrics["active.normative_documents.issued"] is None
    assert result.metrics["active.rules.in_force"] == 0
    assert any(code == "ambiguous_value" and "9,7,253" in msg for code, msg in result.warnings)


def test_flattened_item_number_is_not_a_value() -> None:
    # "…国家秘密0000000 2.其他法律…": the "2." belongs to the next label.
    text = (
        "x" * 300
        + FLAT_HEADER
        + "一、本年新收政府信息公开申请数量1000001（三）不予公开1.属于国家秘密10000012.其他法律行政法规禁止公开0000000"
    )
    text += "四、结转下年度继续办理0000000"
    result = read_tables([[text]])
    assert result.metrics["outcomes.withheld.state_secret.total"] == 1
    assert result.metrics["outcomes.withheld.prohibited_by_law.total"] == 0


# -- tables with cells -------------------------------------------------------------------------------------
def _table3(rows: list[list[str]], header: list[list[str]] | None = None) -> dict:
    header = header or [
        ["(本列数据的勾稽关系为：…)", "申请人情况"],
        ["", "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"],
    ]
    return read_tables([*header, *rows]).metrics


def test_missing_other_column_maps_six_values_to_total() -> None:
    header = [
        ["(勾稽)", "申请人情况"],
        ["", "自然人", "法人或其他组织", "总计"],
        ["", "商业企业", "科研机构", "社会公益组织", "法律服务机构"],
    ]
    m = _table3(
        [
            ["一、本年新收政府信息公开申请数量", "3", "1", "0", "0", "0", "4"],
            ["四、结转下年度继续办理", "0", "0", "0", "0", "0", "0"],
        ],
        header,
    )
    assert m["applications.new.total"] == 4 and m["applications.new.other"] is None


def test_row_values_detached_from_their_label_follow_template_order() -> None:
    rows = [
        ["一、本年新收政府信息公开申请数量", "5", "0", "0", "0", "0", "0", "5"],
        ["二、上年结转政府信息公开申请数量", "0", "0", "0", "0", "0", "0", "0"],
        ["（一）予以公开", "3", "0", "0", "0", "0", "0", "3"],
        ["（二）部分公开（区分处理的，只"],  # a label broken over lines, its values below
        ["2", "0", "0", "0", "0", "0", "2"],
        ["1"],  # a stray fragment
        ["四、结转下年度继续办理", "0", "0", "0", "0", "0", "0", "0"],
    ]
    m = _table3(rows)
    assert m["outcomes.partially_disclosed.natural_person"] == 2
    assert m["outcomes.disclosed.total"] == 3


def test_typo_labels_are_recognised() -> None:
    rows = [
        ["一、本年新收政府信息公开申请数量", "1", "0", "0", "0", "0", "0", "1"],
        ["（三）不子公开", "1.属于国家秘密", "1", "0", "0", "0", "0", "0", "1"],
        ["四、结转下年度继续办理", "0", "0", "0", "0", "0", "0", "0"],
    ]
    assert _table3(rows)["outcomes.withheld.state_secret.total"] == 1


def test_row_with_missing_cell_is_not_read() -> None:
    rows = [
        ["一、本年新收政府信息公开申请数量", "1", "0", "0", "0", "0", "1"],
        ["四、结转下年度继续办理", "0", "0", "0", "0", "0", "0", "0"],
    ]
    result = read_tables(
        [
            ["勾稽", "申请人情况"],
            ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"],
            *rows,
        ]
    )
    assert result.metrics["applications.new.total"] is None  # 1, or 2 if the lost cell was the 总计
    assert result.metrics["applications.new.natural_person"] is None
    assert any(code == "ambiguous_value" and "6 cells for 7 columns" in msg for code, msg in result.warnings)


def test_2019_template_other_processing_is_one_row() -> None:
    text = b.text_report().replace("本年制发件数", "本年新制作数量").replace("本年废止件数", "本年新公开数量")
    text = text.replace("现行有效件数", "对外公开总数量")
    lines = [ln for ln in text.split("\n") if not ln.startswith(("1.申请人无正当", "2.申请人逾期", "3.其他"))]
    lines.insert(
        next(i for i, ln in enumerate(lines) if ln.startswith("（七）总计")), "（六）其他处理\t0\t1\t0\t0\t1\t0\t2"
    )
    doc = parse_bytes("\n".join(lines).encode(), url="old.txt")
    assert doc.template == "2019"
    assert doc.metrics["outcomes.other.total.total"] == 2
    assert doc.metrics["outcomes.other.no_correction.total"] is None
    assert doc.check_status == "ok"


# -- sections --------------------------------------------------------------------------------------------
def test_repeated_and_markdown_headings() -> None:
    text = (
        "## 一、总体情况\n### 一、总体情况\n正文。\n（一）主动公开：内容\n一完善工作机制。\n"
        "#### 二、主动公开政府信息情况\n表\n五、存在的主要问题及明年工作计划\n问题。"
    )
    sections = {s.key: s for s in find_sections(text)}
    assert set(sections) >= {"overview", "active", "problems", "overview.active"}
    assert sections["problems"].text == "问题。"


def test_headings_inside_flattened_text() -> None:
    text = (
        "引言。一、总体情况一是加强领导。二、主动公开政府信息情况2024年公开100条。"
        "四、政府信息公开行政法复议、行政诉讼情况000五、存在的主要问题及改进情况问题多。六、其他需要报告的事项无。"
    )
    keys = [s.key for s in find_sections(text)]
    assert keys[:5] == ["overview", "active", "review", "problems", "other"]


def test_page_footers_are_dropped() -> None:
    doc = parse_bytes((b.text_report() + "\n— 4 —\n第 3 页\n").encode(), url="x.txt")
    assert "— 4 —" not in doc.full_text() and "第 3 页" not in doc.full_text()


# -- year, pre-2019 --------------------------------------------------------------------------------------
def test_year_comes_from_the_title_not_the_intro() -> None:
    assert report_year("旅游局2022年度政府信息公开工作年度报告", "本报告为2023年度…") == 2022
    assert report_year("", "统计期限自2019年1月1日起至2019年12月31日") == 2019


def test_pre2019_report_is_recognised() -> None:
    old = (
        "某县人民政府2015年政府信息公开工作年度报告\n一、概述\n2015年我县…\n"
        "二、主动公开政府信息的情况\n共公开信息300条。"
    )
    doc = parse_bytes(old.encode(), url="old.txt")
    assert doc.template == "pre2019" and "pre2019" in doc.flags
    assert all(v is None for v in doc.metrics.values())


# -- region and agency -----------------------------------------------------------------------------------
def test_township_resolves_to_its_county_without_naming_it() -> None:
    region, warnings = regions.resolve("官坡镇人民政府")
    assert (region.province, region.city, region.county, region.township) == ("河南省", "三门峡市", "卢氏县", "官坡镇")
    assert region.code == "411224105" and not warnings


def test_ambiguous_township_needs_a_hint() -> None:
    region, warnings = regions.resolve("城关镇人民政府")
    assert region.township == "" and warnings and warnings[0][0] == "ambiguous_region"
    hinted, warnings = regions.resolve("城关镇人民政府", "河南省/三门峡市/卢氏县")
    assert (hinted.county, hinted.township) == ("卢氏县", "城关镇") and not warnings
    as_region, _ = regions.resolve("城关镇人民政府", Region(province="河南省", city="三门峡市", county="卢氏县"))
    assert as_region == hinted


def test_short_township_name_within_its_county() -> None:
    region, _ = regions.resolve("鲁山县库区乡")
    assert region.county == "鲁山县" and region.township.endswith("库区乡")


@pytest.mark.parametrize(
    ("name", "normalized", "kind"),
    [
        ("鲁山县库区乡", "鲁山县库区乡人民政府", "乡镇街道"),
        ("官坡镇人民政府", "官坡镇人民政府", "乡镇街道"),
        ("上海市人民政府办公厅", "上海市人民政府办公厅", "办公厅"),
        ("卢氏县", "卢氏县人民政府", "人民政府"),
        ("平潭综合实验区公安局", "平潭综合实验区公安局", "部门"),
        ("东华街道", "东华街道办事处", "乡镇街道"),
    ],
)
def test_agency_names(name: str, normalized: str, kind: str) -> None:
    assert normalize_name(name) == normalized
    assert agency_type(normalized) == kind


def test_agency_level_from_the_division_it_names() -> None:
    assert make_agency("河南省人民政府办公厅", Region(province="河南省")).level == "省"
    assert make_agency("三门峡市财政局", Region(province="河南省", city="三门峡市")).level == "市"
    assert make_agency("卢氏县财政局", Region(county="卢氏县")).level == "县"


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("鲁山县库区乡 2024 年政府信息公开工作年度报告", "鲁山县库区乡"),
        ("2024 年上海市科委政府信息公开工作年度报告", "上海市科委"),
        ("平潭综合实验区财政金融局2025年度政府信息公开工作年度报告", "平潭综合实验区财政金融局"),
        ("政府信息公开工作年度报告格式模板", ""),
    ],
)
def test_agency_from_title(title: str, name: str) -> None:
    assert name_from_title(title) == name


# -- checks ----------------------------------------------------------------------------------------------
def test_failed_identity_keeps_expected_and_actual() -> None:
    metrics = dict(b.expected_metrics())
    metrics["applications.new.total"] = 20  # one more than its columns and than the balance allows
    checks = {c.name: c for c in run_checks(metrics, "2021")}
    assert checks["columns.applications.new"].status == "failed"
    assert (checks["columns.applications.new"].expected, checks["columns.applications.new"].actual) == (20, 19)
    rows = {key: values[-1] for key, _label, values in b.APP_ROWS}
    left = 20 + rows["applications.carried_over"]
    right = rows["outcomes.total"] + rows["applications.carried_forward"]
    assert checks["balance.total"].status == "failed"
    assert (checks["balance.total"].expected, checks["balance.total"].actual) == (left, right)
    assert "不成立" in checks["balance.total"].message and "does not hold" in checks["balance.total"].message
    assert check_status(list(checks.values())) == "failed"


def test_missing_inputs_skip_checks() -> None:
    metrics = dict(b.expected_metrics())
    metrics["applications.carried_forward.total"] = None
    checks = {c.name: c for c in run_checks(metrics, "2021")}
    assert checks["balance.total"].status == "skipped"
    assert check_status(list(checks.values())) == "incomplete"
    assert check_status(run_checks(b.expected_metrics(), "2021")) == "ok"


def test_review_identity() -> None:
    metrics = dict(b.expected_metrics())
    metrics["litigation.direct.total"] = 9
    checks = {c.name: c for c in run_checks(metrics, "2021")}
    assert checks["review.litigation.direct"].status == "failed"
    assert checks["review.review"].status == "ok"


def test_ambiguous_run_settled_only_by_the_reports_own_words() -> None:
    from indexer.tables import confirmed_by_text

    readings = split_run("97253", [INT] * 3)
    text = "2025年，制发行政规范性文件9件，按程序确认失效或废止文件7件，现行有效行政规范性文件共253件。"
    assert confirmed_by_text(readings, "规范性文件", text) == [9, 7, 253]
    assert confirmed_by_text(readings, "规范性文件", "规范性文件9件。") is None  # one number is not enough
    assert confirmed_by_text(split_run("121212", [INT] * 3), "规范性文件", "政策规范性文件类信息12条") is None


def test_ambiguous_rows_settled_by_the_tables_identities() -> None:
    # "110000011" reads 11,0,0,0,0,0,11 or 1,10,0,0,0,0,11; only the first makes 一+二 = 七+四 and
    # 七 = sum of items hold, given the spaced (unambiguous) 予以公开 row.
    runs = {"applications.new": "110000011", "outcomes.disclosed": "11 0 0 0 0 0 11", "outcomes.total": "110000011"}
    text = "x" * 300 + FLAT_HEADER + "".join(label + runs.get(key, "0000000") for key, label, _ in b.APP_ROWS)
    result = read_tables([[text]])
    assert result.metrics["applications.new.natural_person"] == 11
    assert result.metrics["applications.new.commercial"] == 0
    assert result.metrics["outcomes.total.natural_person"] == 11
    assert [c for c, _ in result.warnings].count("resolved_by_identities") == 2
    assert "applications.new.natural_person" in result.aligned
    # Without the anchor row both readings balance: only what both give (the 总计, the trailing 0s) is read.
    text = text.replace("11 0 0 0 0 0 11", "110000011")
    result = read_tables([[text]])
    assert result.metrics["applications.new.total"] == 11 and result.metrics["applications.new.research"] == 0
    assert result.metrics["applications.new.natural_person"] is None
    assert result.metrics["applications.new.commercial"] is None
    assert [c for c, _ in result.warnings].count("ambiguous_value") == 3
    assert not result.aligned


@pytest.mark.timeout(20)
def test_long_number_like_runs_do_not_backtrack() -> None:
    # A label followed by "1,21,21,…" once made a trailing-numbers regex backtrack exponentially.
    text = b.text_report().replace("行政许可\t1,234", "行政许可 " + "1,2" * 40 + "项")
    doc = parse_bytes(text.encode(), url="x.txt")
    assert doc.metrics["active.licensing.decisions"] is None
    assert doc.metrics["applications.new.total"] == 19


# -- table 三 without a 总计 column ------------------------------------------------------------------------
# The 总计 column the builder writes by hand (then leaves out of the table): what the sums must come to.
PRINTED_TOTALS = {key: values[-1] for key, _label, values in b.APP_ROWS}
SUBTOTALS = {"withheld": 2, "unavailable": 5, "not_processed": 1, "other": 2}  # by hand from the builder's rows


def _without_total(blank: tuple[str, int] | None = None) -> bytes:
    """The builder's report with table 三 printed without 总计; ``blank`` = (row, column index) left empty."""
    rows = b.application_rows_without_total()
    if blank is not None:
        label = next(lbl for key, lbl, _values in b.APP_ROWS if key == blank[0])
        row = next(r for r in rows if r[0] == label)
        row[1 + blank[1]] = "—"
    return b.text_report(applications=rows).encode()


@pytest.mark.parametrize("sep", ["\t", "|"])
def test_totals_without_a_total_column_are_computed_and_said_so(sep: str) -> None:
    doc = parse_bytes(b.text_report(sep, b.application_rows_without_total()).encode(), url="six.txt")
    for row, total in PRINTED_TOTALS.items():
        assert doc.metrics[f"{row}.total"] == total, row
    assert (doc.metrics["applications.new.total"], doc.metrics["outcomes.total.total"]) == (19, 20)
    assert doc.metrics["applications.new.natural_person"] == 12 and doc.metrics["applications.new.other"] == 1
    for cat, total in SUBTOTALS.items():
        assert doc.metrics[f"outcomes.{cat}.total.total"] == total, cat
    rows = [key for key, _label, _values in b.APP_ROWS]
    subtotals = [f"outcomes.{cat}.total.total" for cat in SUBTOTALS]
    assert sorted(doc.computed) == sorted([f"{row}.total" for row in rows] + subtotals)
    assert not [k for k in doc.computed if not k.endswith(".total")]
    checks = {c.name: c for c in doc.checks}
    for row in rows:  # trivially true, so not claimed as checked
        assert checks[f"columns.{row}"].status == "skipped", row
        assert "报告未列总计" in checks[f"columns.{row}"].message
    # The other identities hold on the computed totals, and are checked.
    assert checks["balance.total"].status == "ok" and checks["balance.total"].expected == 22
    assert checks["outcomes.total"].status == "ok" and checks["outcomes.natural_person"].status == "ok"
    assert doc.check_status == "incomplete"  # columns.applications.new is a main check: skipped, never "ok"
    assert [w.code for w in doc.warnings].count("computed_total") == 1
    assert not any(w.code == "missing_value" and "总计" in w.message for w in doc.warnings)
    assert "computed_totals" in doc.flags  # so a search can leave such reports out, or facet on them


def test_total_not_computed_for_a_row_with_a_blank_applicant_cell() -> None:
    doc = parse_bytes(_without_total(("outcomes.unavailable.not_held", 1)), url="six.txt")
    assert doc.metrics["outcomes.unavailable.not_held.commercial"] is None
    assert doc.metrics["outcomes.unavailable.not_held.total"] is None
    assert doc.metrics["outcomes.unavailable.total.total"] is None  # the subtotal follows its items
    assert doc.metrics["outcomes.withheld.total.total"] == 2
    assert "outcomes.unavailable.not_held.total" not in doc.computed
    assert "outcomes.unavailable.total.total" not in doc.computed
    assert {"applications.new.total", "outcomes.withheld.total.total"} <= set(doc.computed)
    checks = {c.name: c for c in doc.checks}
    assert checks["columns.outcomes.unavailable.not_held"].status == "skipped"
    assert "缺少数据" in checks["columns.outcomes.unavailable.not_held"].message
    assert checks["outcomes.total"].status == "skipped"


def test_flattened_table_without_a_total_column() -> None:
    header = FLAT_HEADER.replace("总计", "")
    runs = {key: " ".join(map(str, values[:6])) for key, _label, values in b.APP_ROWS}
    text = "x" * 300 + header + "".join(label + runs[key] for key, label, _ in b.APP_ROWS)
    result = read_tables([[text]])
    assert result.metrics["applications.new.total"] == 19
    assert result.metrics["outcomes.total.total"] == 20
    assert "applications.new.total" in result.computed
    assert any(code == "computed_total" for code, _ in result.warnings)


@pytest.mark.parametrize("blank", ["", "—", "/"])
def test_printed_total_column_with_a_blank_cell_is_not_computed(blank: str) -> None:
    rows = b.application_rows()
    rows[2] = [*rows[2][:-1], blank]  # 一、本年新收: the 总计 cell left blank
    doc = parse_bytes(b.text_report(applications=rows).encode(), url="blank.txt")
    assert doc.metrics["applications.new.natural_person"] == 12
    assert doc.metrics["applications.new.total"] is None
    assert doc.metrics["applications.carried_over.total"] == 3  # printed, read as ever
    assert doc.computed == []
    assert not any(w.code == "computed_total" for w in doc.warnings)
    assert "computed_totals" not in doc.flags
    checks = {c.name: c for c in doc.checks}
    assert checks["columns.applications.new"].status == "skipped"
    assert "缺少数据" in checks["columns.applications.new"].message


def test_computed_totals_skip_only_their_row_identity() -> None:
    metrics = dict(b.expected_metrics())
    checks = {c.name: c for c in run_checks(metrics, "2021", {"applications.new.total"})}
    assert checks["columns.applications.new"].status == "skipped"
    assert checks["columns.applications.carried_over"].status == "ok"
    assert checks["balance.total"].status == "ok"
    assert check_status(list(checks.values())) == "incomplete"
    assert check_status(run_checks(metrics, "2021")) == "ok"  # the default: nothing computed


@pytest.mark.parametrize("blank", ["", "—"])
def test_printed_total_column_left_blank_throughout_is_not_computed(blank: str) -> None:
    # The header gives 总计 a column of its own; a text dump drops empty trailing cells, "—" keeps them.
    rows = b.application_rows()
    rows[2:] = [[*row[:-1], blank] for row in rows[2:]]
    doc = parse_bytes(b.text_report(applications=rows).encode(), url="blank.txt")
    assert doc.metrics["applications.new.other"] == 1
    assert doc.metrics["applications.new.total"] is None and doc.metrics["outcomes.total.total"] is None
    assert doc.computed == []


def test_total_printed_above_other_with_no_cells_under_it_is_computed() -> None:
    # Seed 004's header on a synthetic table: 总计 in the upper row over 其他's column, six values per row.
    rows = b.application_rows_without_total()
    rows[1:2] = [
        ["", "自然人", "法人或其他组织", "", "", "", "总计"],
        ["", "", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"],
    ]
    doc = parse_bytes(b.text_report(applications=rows).encode(), url="shifted.txt")
    assert doc.metrics["applications.new.other"] == 1
    assert doc.metrics["applications.new.total"] == 19 and doc.metrics["outcomes.disclosed.total"] == 9
    assert "outcomes.disclosed.total" in doc.computed


def test_rows_with_seven_values_under_a_six_column_header_keep_their_printed_totals() -> None:
    rows = b.application_rows_without_total()[:2] + b.application_rows()[2:]  # the header lost 总计, not the rows
    doc = parse_bytes(b.text_report(applications=rows).encode(), url="header.txt")
    assert doc.metrics["applications.new.total"] == 19
    assert doc.computed == []
    assert {c.name: c.status for c in doc.checks}["columns.applications.new"] == "ok"
