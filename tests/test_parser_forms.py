"""Every text form of the one template parses to the values put in it, and never to a wrong one.

The fixtures in tests/fixtures/forms/ are written in the shapes real reports come in (one cell per line with
any line break, HTML with ``&nbsp;`` cells, …); their numbers are those of ``parser_builders`` (one consistent
report), except table 四 which prints 6, 7, 2, 1 — the totals a reader once lost to table 三's trailing zeros.
"""

from __future__ import annotations

import json
from pathlib import Path

import hand_read as hr
import parser_builders as b
import pytest

from indexer.parse import parse_bytes, parse_file
from indexer.tables import read_tables

FORMS = Path(__file__).parent / "fixtures" / "forms"
REVIEW = [6, 0, 0, 1, 7, 2, 0, 0, 0, 2, 0, 0, 0, 1, 1]
REVIEW_KEYS = [f"{g}.{c}" for g in ("review", "litigation.direct", "litigation.after_review")
               for c in ("upheld", "corrected", "other", "pending", "total")]  # fmt: skip


def expected() -> dict[str, float | int]:
    out = dict(b.expected_metrics())
    out.update(dict(zip(REVIEW_KEYS, REVIEW, strict=True)))
    return out


def wrong_values(doc) -> dict[str, tuple]:
    return {k: (doc.metrics.get(k), v) for k, v in expected().items() if doc.metrics.get(k) not in (None, v)}


@pytest.mark.parametrize("name", ["cells-per-line-lf.txt", "cells-per-line-crlf.txt"])
def test_one_cell_per_line_is_read_whole(name: str) -> None:
    doc = parse_file(FORMS / name)
    assert {k: doc.metrics.get(k) for k in expected()} == expected()
    assert doc.check_status == "ok" and doc.blank_zero == []


def test_one_cell_per_line_with_dropped_blanks_reads_only_what_is_certain() -> None:
    # Bare \r line breaks; every 0 cell left blank, so the dump has no line for it: a row's values are known
    # only up to where the blanks sat. The totals are certain (the blanks are 0s); nothing is guessed.
    doc = parse_file(FORMS / "cells-per-line-cr-blanks.txt")
    assert wrong_values(doc) == {}
    assert [doc.metrics[k] for k in ("review.total", "litigation.direct.total", "litigation.after_review.total")] == [
        7, 2, 1,
    ]  # fmt: skip
    assert doc.metrics["applications.new.total"] == 19 and doc.metrics["outcomes.total.total"] == 20
    assert doc.metrics["applications.new.natural_person"] is None
    assert doc.metrics["outcomes.withheld.state_secret.total"] is None  # a row blank throughout is not given
    assert any(w.code == "ambiguous_value" for w in doc.warnings)


def test_one_cell_per_line_with_some_blanks_dropped_is_placed_by_the_identities() -> None:
    # Most zero cells print 0; five outcome rows leave theirs empty and the dump drops them ("9 3 2 14" under
    # seven columns). Alone each row reads several ways; only one reading of the whole table adds up.
    doc = parse_file(FORMS / "cells-per-line-crlf-mixed-blanks.txt")
    row = {
        r: [doc.metrics[f"{r}.{c}"] for c in hr.COLS] for r in ("outcomes.disclosed", "outcomes.unavailable.not_held")
    }
    assert row == {"outcomes.disclosed": [9, 3, 0, 2, 0, 0, 14], "outcomes.unavailable.not_held": [3, 1, 0, 0, 1, 0, 5]}
    assert doc.metrics["outcomes.not_processed.petition_complaint.social_org"] == 2
    assert {"outcomes.disclosed.social_org", "outcomes.unavailable.not_held.legal_service"} <= set(doc.aligned)
    assert "outcomes.disclosed.research" in doc.blank_zero  # a dropped blank proven 0
    assert "applications.new.research" not in doc.blank_zero and "applications.new.natural_person" not in doc.aligned
    assert "aligned" in doc.flags
    assert not [c.name for c in doc.checks if c.status == "failed"]
    # Table 四: 行政复议 printed whole is read; the 诉讼 groups' "2 2" and "1 1" give their 总计 only.
    assert [doc.metrics[k] for k in REVIEW_KEYS[:5]] == [1, 1, 1, 1, 4]
    assert [doc.metrics[k] for k in ("litigation.direct.total", "litigation.after_review.total")] == [2, 1]
    assert doc.metrics["litigation.direct.upheld"] is None and doc.metrics["litigation.after_review.pending"] is None
    assert any(w.code == "ambiguous_value" and "litigation.direct.upheld" in w.message for w in doc.warnings)


def test_undecidable_dump_gives_none_and_says_why() -> None:
    # Every zero cell empty: the column identities hold under many placements (a value moved to another column
    # in every row at once still adds up), so no applicant column is published, only the row totals.
    doc = parse_file(FORMS / "cells-per-line-cr-blanks.txt")
    assert all(doc.metrics[f"applications.new.{c}"] is None for c in hr.COLS[:-1])
    assert doc.metrics["applications.new.total"] == 19 and not doc.aligned
    assert any(
        w.code == "ambiguous_value"
        and "本年新收" in w.message
        and "readings under which the table adds up differ" in w.message
        for w in doc.warnings
    )


def test_review_is_never_filled_from_table_three() -> None:
    # Before: table 三's last row (seven 0s, one per line) was taken as table 四's first seven values.
    doc = parse_file(FORMS / "cells-per-line-lf.txt")
    assert [doc.metrics[k] for k in REVIEW_KEYS] == REVIEW


def test_html_nbsp_cells_are_marked_zeros() -> None:
    doc = parse_file(FORMS / "html-nbsp-blanks.html")
    assert wrong_values(doc) == {}
    assert [doc.metrics[k] for k in REVIEW_KEYS] == REVIEW  # table 四 with blank cells
    assert {"review.upheld", "review.pending"}.isdisjoint(doc.blank_zero)  # printed, not blank
    assert {"review.corrected", "litigation.direct.corrected"} <= set(doc.blank_zero)
    assert "applications.new.social_org" in doc.blank_zero and doc.metrics["applications.new.social_org"] == 0
    assert "applications.new.natural_person" not in doc.blank_zero
    assert "active.rules.repealed" in doc.blank_zero
    # A 总计 left blank while its parts are printed: their sum, marked computed (not blank_zero).
    assert doc.metrics["outcomes.disclosed.total"] == 9 and "outcomes.disclosed.total" in doc.computed
    assert "outcomes.disclosed.total" not in doc.blank_zero
    # A row blank throughout stays None, with a warning that says so.
    assert doc.metrics["outcomes.withheld.state_secret.natural_person"] is None
    assert any("every cell blank" in w.message for w in doc.warnings)
    assert "blank_zero" in doc.flags


def test_placeholder_dash_is_not_a_blank_zero() -> None:
    rows = b.application_rows()
    rows[2] = [rows[2][0], "12", "—", "1", "", "2", "1", "19"]  # 商业企业 "—": not given; 社会公益组织 blank: 0
    doc = parse_bytes(b.text_report(applications=rows).encode(), url="dash.txt")
    assert doc.metrics["applications.new.commercial"] is None
    assert doc.metrics["applications.new.social_org"] == 0 and "applications.new.social_org" in doc.blank_zero


def test_blank_row_in_a_grid_stays_none() -> None:
    rows = b.application_rows()
    rows[2] = [rows[2][0], "", "", "", "", "", "", ""]
    result = read_tables(rows)
    assert result.metrics["applications.new.natural_person"] is None
    assert result.metrics["applications.new.total"] is None
    assert not [k for k in result.blank_zero if k.startswith("applications.new.")]


@pytest.mark.parametrize(
    "sentence",
    ["本年度未发生行政复议、行政诉讼。", "本机关没有发生因政府信息公开引起的行政复议和行政诉讼情况。"],
)
def test_review_replaced_by_a_sentence_reads_zeros_from_the_text(sentence: str) -> None:
    text = b.text_report().replace("\n".join("\t".join(r) for r in b.review_rows()), sentence)
    doc = parse_bytes(text.encode(), url="sentence.txt")
    assert [doc.metrics[k] for k in REVIEW_KEYS] == [0] * 15
    assert doc.from_text == REVIEW_KEYS and "from_text" in doc.flags
    assert any(w.code == "from_text" for w in doc.warnings)


def test_review_sentence_about_litigation_only() -> None:
    text = b.text_report().replace("\n".join("\t".join(r) for r in b.review_rows()), "本年度无行政诉讼。")
    doc = parse_bytes(text.encode(), url="sentence.txt")
    assert [doc.metrics[k] for k in REVIEW_KEYS[5:]] == [0] * 10
    assert all(doc.metrics[k] is None for k in REVIEW_KEYS[:5])


def test_review_values_that_do_not_add_up_across_rows_are_not_taken() -> None:
    rows = [*b.review_rows()[:2], ["2", "1", "0", "1", "4", "1", "0"], ["0", "0", "1", "0", "0", "1", "0", "9"]]
    table = "\n".join("\t".join(r) for r in rows)
    text = b.text_report().replace("\n".join("\t".join(r) for r in b.review_rows()), table)
    doc = parse_bytes(text.encode(), url="split.txt")
    assert all(doc.metrics[k] is None for k in REVIEW_KEYS)
    assert any("do not add up" in w.message for w in doc.warnings)


def test_every_form_fixture_has_no_wrong_value() -> None:
    from benchmarks.accuracy_bench import FORMS as BENCH_FORMS
    from benchmarks.accuracy_bench import form_truth, score

    hand_read = {k: v for k, v in json.loads((BENCH_FORMS / "expected.json").read_text("utf-8")).items() if k[0] != "_"}
    assert len(hand_read) >= 6
    for name, exp in hand_read.items():
        exact, _missing, wrong, wrong_keys = score(parse_file(FORMS / name).metrics, form_truth(exp))
        assert wrong == 0, (name, wrong_keys)
        assert exact >= 20, name


def test_flattened_run_with_dropped_blanks_reads_its_total() -> None:
    doc = parse_file(FORMS / "flattened-2021-quirks.txt")  # "…申请数量11": 1 (自然人) and 1 (总计)
    assert doc.metrics["applications.new.total"] == 1 and doc.metrics["outcomes.total.total"] == 1
    assert doc.metrics["applications.new.natural_person"] is None  # which column the 1 sits in is not printed
    assert doc.metrics["active.normative_documents.issued"] == 3  # "3512" settled by the text's 3件、5件、12件
    assert doc.from_text == REVIEW_KEYS and [doc.metrics[k] for k in REVIEW_KEYS] == [0] * 15
    assert doc.agency.name == "河北省交通运输厅" and doc.title.startswith("河北省交通运输厅")


def test_flattened_negative_glued_and_review_blanks_dropped() -> None:
    doc = parse_file(FORMS / "flattened-2019-negative.txt")
    assert doc.metrics["active.licensing.prev_items"] == 156  # "156-5997": the cut after it is not certain
    assert doc.metrics["active.licensing.change"] is None and doc.metrics["active.licensing.decisions"] is None
    assert doc.metrics["active.fees.change"] == -3
    assert [doc.metrics[k] for k in ("review.total", "litigation.direct.total", "litigation.after_review.total")] == [
        7, 2, 1,
    ]  # fmt: skip
    assert doc.metrics["review.upheld"] is None
    assert (doc.region.county, doc.metrics["applications.new.total"]) == ("沭阳县", 6)


def test_markdown_pdf_conversion() -> None:
    doc = parse_file(FORMS / "markdown-pdf-conversion.md")
    assert (doc.agency.name, doc.agency.normalized_name) == ("沐阳县人民政府办公室", "沭阳县人民政府办公室")
    assert doc.region.county == "沭阳县"  # the OCR misreading 沐阳 folded for matching
    assert doc.metrics["outcomes.partially_disclosed.total"] == 2  # its label on a row of its own
    assert doc.metrics["outcomes.total.total"] == 38 and doc.metrics["active.licensing.decisions"] == 3406
    assert doc.metrics["active.normative_documents.issued"] == 22  # "22（其中修订16件）"
    # One cell short ("1 0 0 0 0 1"): by position under the header 商业企业 would get 1, which the identities
    # contradict; of the places the lost cell may have had, only 1,0,0,0,0,0,1 lets the table add up.
    third = [doc.metrics[f"outcomes.withheld.third_party_rights.{c}"] for c in hr.COLS]
    assert third == [1, 0, 0, 0, 0, 0, 1]
    assert "outcomes.withheld.third_party_rights.commercial" in doc.blank_zero  # may be the lost cell
    assert "outcomes.withheld.third_party_rights.natural_person" in doc.aligned
    assert any(w.code == "resolved_by_identities" and "保护第三方" in w.message for w in doc.warnings)
    assert not any(w.code == "position_contradicted" for w in doc.warnings)
    assert doc.metrics["applications.carried_over.commercial"] == 0
    assert "applications.carried_over.commercial" in doc.blank_zero
    assert [doc.metrics[k] for k in REVIEW_KEYS[:6]] == [1, 0, 0, 1, 2, 1]
    assert not [c.name for c in doc.checks if c.status == "failed"]


def test_flattened_runs_settled_by_the_identities() -> None:
    # "…数量12113" dropped its blanks (12 and 1 could sit in any two columns); （一） and （七） are whole but run
    # together and cut two ways each. Only 12,1,0,0,0,0,13 / 10,1,0,0,0,0,11 / 12,1,0,0,0,0,13 add up.
    doc = parse_file(FORMS / "flattened-2019-runs-settled.txt")
    rows = ("applications.new", "outcomes.disclosed", "outcomes.total")
    assert [[doc.metrics[f"{r}.{c}"] for c in hr.COLS] for r in rows] == [
        [12, 1, 0, 0, 0, 0, 13], [10, 1, 0, 0, 0, 0, 11], [12, 1, 0, 0, 0, 0, 13],
    ]  # fmt: skip
    assert {"applications.new.natural_person", "outcomes.disclosed.commercial"} <= set(doc.aligned)
    assert "applications.new.social_org" in doc.blank_zero  # a dropped blank proven 0
    assert "outcomes.disclosed.social_org" not in doc.blank_zero  # printed 0, only its cut was in doubt
    assert [doc.metrics[f"active.licensing.{c}"] for c in ("prev_items", "change", "decisions")] == [4, -1, 3]
    assert [doc.metrics[f"active.penalty.{c}"] for c in ("prev_items", "change", "decisions")] == [8, -2, 8]
    assert doc.check_status == "ok"


def test_markdown_row_short_by_one_with_its_note_apart() -> None:
    doc = parse_file(FORMS / "markdown-short-row-note.md")
    # "6 1 0 1 0 8" under seven columns: by position 其他 would be 8; the identities place the lost 0.
    assert [doc.metrics[f"outcomes.unavailable.not_held.{c}"] for c in hr.COLS] == [6, 1, 0, 0, 1, 0, 8]
    assert "outcomes.unavailable.not_held.other" in doc.aligned
    assert doc.metrics["outcomes.total.total"] == 38 and doc.check_status == "ok"


def test_row_one_cell_short_without_a_header_grid_is_placed_by_the_identities() -> None:
    rows = b.application_rows()
    rows[1] = rows[1][1:]  # the header lost its label column: its names are off the data's grid
    not_held = next(i for i, r in enumerate(rows) if r[0].startswith("1.本机关不掌握"))
    printed = [int(v) for v in rows[not_held][1:]]
    lost = next(i for i, v in enumerate(printed[:-1]) if v == 0 and any(printed[:i]))  # a 0 after a number
    rows[not_held] = [rows[not_held][0], *rows[not_held][1:][:lost], *rows[not_held][1:][lost + 1 :]]
    doc = parse_bytes(b.text_report(applications=rows).encode(), url="short.txt")
    assert [doc.metrics[f"outcomes.unavailable.not_held.{c}"] for c in hr.COLS] == printed
    assert f"outcomes.unavailable.not_held.{hr.COLS[lost]}" in doc.blank_zero  # the lost cell, proven 0
    built = b.expected_metrics()
    assert {k: doc.metrics[k] for k in built if doc.metrics[k] != built[k]} == {} and doc.check_status == "ok"
    # The same row in a table whose identities do not hold (another row misprinted): nothing is placed.
    rows[2] = [rows[2][0], *(str(int(v) + 1) for v in rows[2][1:-1]), str(int(rows[2][-1]) + 6)]
    doc = parse_bytes(b.text_report(applications=rows).encode(), url="short-bad.txt")
    assert doc.metrics["outcomes.unavailable.not_held.natural_person"] is None
    assert any(w.code == "ambiguous_value" and "本机关不掌握" in w.message for w in doc.warnings)
