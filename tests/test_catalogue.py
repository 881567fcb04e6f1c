"""The metric catalogue and the document definition derived from it."""

from indexer import catalogue
from indexer.document import ReportDocument, Section
from indexer.schema import ReportSchema


def test_required_keys_are_present_with_labels_and_units():
    required = [
        "active.rules.issued",
        "active.normative_documents.in_force",
        "active.licensing.decisions",
        "active.penalty.decisions",
        "active.enforcement.decisions",
        "active.fees.amount_wan",
        "applications.new.total",
        "outcomes.withheld.process_information.natural_person",
        "outcomes.unavailable.not_held.total",
        "outcomes.not_processed.confirm_or_reissue.other",
        "outcomes.other.fee_unpaid.total",
        "outcomes.total.total",
        "applications.carried_forward.total",
        "review.total",
        "litigation.direct.pending",
        "litigation.after_review.upheld",
    ]
    for key in required:
        m = catalogue.get(key)
        assert m.label and m.unit and m.table in catalogue.TABLE_LABELS
    assert catalogue.get("active.fees.amount_wan").kind == "float"
    assert catalogue.get("outcomes.withheld.total.total").derived


def test_keys_are_unique_and_column_names_too():
    keys = [m.key for m in catalogue.metrics()]
    assert len(keys) == len(set(keys))
    assert len({m.column_name for m in catalogue.metrics()}) == len(keys)


def test_every_application_row_has_all_seven_columns():
    rows = {}
    for m in catalogue.metrics_of_table(catalogue.TABLE_APPLICATIONS):
        rows.setdefault(m.row, set()).add(m.column)
    assert all(cols == set(catalogue.APPLICANT_COLUMN_KEYS) for cols in rows.values())
    assert len(rows) == 25 + 4  # 25 template rows + 4 derived category subtotals


def test_schema_round_trips_a_document_and_rejects_unknown_metrics():
    doc = ReportDocument(
        id="abc",
        title="t",
        year=2024,
        sections=[Section("overview", "一、总体情况", "正文")],
        metrics={"applications.new.total": 3, "active.fees.amount_wan": 0.5},
    )
    dumped = ReportSchema().dump(doc)
    assert ReportSchema().validate(dumped) == {}
    assert ReportDocument.from_dict(doc.to_dict()) == doc
    bad = dict(dumped, metrics={"applications.bogus": 1})
    assert "metrics" in ReportSchema().validate(bad)
