"""The hand-read values of tests/fixtures/reports/expected.json as metric key → value (None: not printed).

Written out here rather than taken from the parser or the catalogue, so a parser bug cannot move the expectation
with it. Shared by the sample tests (tests/test_parser_samples.py) and the accuracy benchmark.
"""

from __future__ import annotations

COLS = ["natural_person", "commercial", "research", "social_org", "legal_service", "other", "total"]

# Table 二 metrics of each template generation.
ACTIVE = {
    "2021": [f"active.{r}.{c}" for r in ("rules", "normative_documents") for c in ("issued", "repealed", "in_force")]
    + [
        "active.licensing.decisions",
        "active.penalty.decisions",
        "active.enforcement.decisions",
        "active.fees.amount_wan",
    ],
    "2019": [
        f"active.{r}.{c}"
        for r in ("rules", "normative_documents")
        for c in ("new_made", "new_published", "total_published")
    ]
    + [
        f"active.{r}.{c}"
        for r in ("licensing", "other_services", "penalty", "enforcement")
        for c in ("prev_items", "change", "decisions")
    ]
    + ["active.fees.prev_items", "active.fees.change", "active.procurement.items", "active.procurement.amount_wan"],
}
ITEMS = {
    "withheld": ["state_secret", "prohibited_by_law", "security_stability", "third_party_rights", "internal_affairs",
                 "process_information", "enforcement_files", "administrative_query"],
    "unavailable": ["not_held", "needs_creation", "unclear_after_correction"],
    "not_processed": ["petition_complaint", "duplicate", "publications", "excessive_repeated", "confirm_or_reissue"],
    "other": ["no_correction", "fee_unpaid", "other"],
}  # fmt: skip
REVIEW = [f"{g}.{c}" for g in ("review", "litigation.direct", "litigation.after_review")
          for c in ("upheld", "corrected", "other", "pending", "total")]  # fmt: skip


def table3_rows(template: str) -> list[str]:
    """The printed rows of table 三 (2019's （六）其他处理 is one row)."""
    rows = ["applications.new", "applications.carried_over", "outcomes.disclosed", "outcomes.partially_disclosed"]
    for cat, items in ITEMS.items():
        if cat == "other" and template == "2019":
            rows.append("outcomes.other.total")
        else:
            rows.extend(f"outcomes.{cat}.{i}" for i in items)
    return [*rows, "outcomes.total", "applications.carried_forward"]


def printed_metrics(exp: dict) -> dict[str, float | int | None]:
    """Every printed cell of tables 二, 三 and 四 of one expected.json entry (a row not listed there is all 0)."""
    template = exp["template"]
    out: dict[str, float | int | None] = {}
    for row in table3_rows(template):
        values = exp["table3"].get(row) or ([None] * 7 if row in exp["table3_none"] else [0] * 7)
        out.update({f"{row}.{c}": v for c, v in zip(COLS, values, strict=True)})
    for key in ACTIVE[template]:
        out[key] = None if key in exp["active_none"] else exp["active"].get(key, 0)
    out.update(dict(zip(REVIEW, exp["review"], strict=True)))
    return out
