"""Deterministic generator of realistic annual reports with their true metrics.

Every report is a pure function of (seed, index): its own ``random.Random`` is seeded from both, so a
corpus streams in constant memory, any report can be regenerated alone, and no global random state is
touched. The metrics satisfy the report's accounting identities by construction (checked in the tests).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache

from demo import phrases as ph
from demo.universe import AgencySpec, corpus_agency
from indexer import catalogue
from indexer.catalogue import APPLICANT_COLUMN_KEYS, OUTCOME_CATEGORIES, REVIEW_COLUMNS, REVIEW_GROUPS
from indexer.document import (
    SECTIONS,
    Agency,
    Region,
    ReportDocument,
    Section,
    agency_id,
    report_id,
)

YEARS: tuple[int, ...] = tuple(range(2019, 2026))
APPLICANTS: tuple[str, ...] = APPLICANT_COLUMN_KEYS[:-1]  # the six columns that add up to "total"
REVIEW_RESULTS: tuple[str, ...] = tuple(k for k, _ in REVIEW_COLUMNS if k != "total")

# Share of each applicant column among applications (natural persons dominate in real reports).
_APPLICANT_WEIGHTS = (0.78, 0.12, 0.01, 0.02, 0.04, 0.03)

# Share of each outcome row among handled applications, after real reports' typical distribution.
_OUTCOME_WEIGHTS: dict[str, float] = {
    "outcomes.disclosed": 0.42,
    "outcomes.partially_disclosed": 0.07,
    "outcomes.withheld.state_secret": 0.002,
    "outcomes.withheld.prohibited_by_law": 0.004,
    "outcomes.withheld.security_stability": 0.003,
    "outcomes.withheld.third_party_rights": 0.01,
    "outcomes.withheld.internal_affairs": 0.01,
    "outcomes.withheld.process_information": 0.015,
    "outcomes.withheld.enforcement_files": 0.008,
    "outcomes.withheld.administrative_query": 0.01,
    "outcomes.unavailable.not_held": 0.25,
    "outcomes.unavailable.needs_creation": 0.03,
    "outcomes.unavailable.unclear_after_correction": 0.02,
    "outcomes.not_processed.petition_complaint": 0.03,
    "outcomes.not_processed.duplicate": 0.02,
    "outcomes.not_processed.publications": 0.003,
    "outcomes.not_processed.excessive_repeated": 0.005,
    "outcomes.not_processed.confirm_or_reissue": 0.005,
    "outcomes.other.no_correction": 0.04,
    "outcomes.other.fee_unpaid": 0.002,
    "outcomes.other.other": 0.04,
}


def _cumulative(weights: list[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


def _outcome_rows(template: str) -> list[str]:
    """Outcome rows that carry numbers in ``template`` (2019 has one 其他处理 row)."""
    rows = [r for r in _OUTCOME_WEIGHTS if not (template == "2019" and r.startswith("outcomes.other."))]
    return [*rows, "outcomes.other.total"] if template == "2019" else rows


@cache
def _outcome_sampler(template: str) -> tuple[list[str], list[float]]:
    rows = _outcome_rows(template)
    other_weight = sum(w for r, w in _OUTCOME_WEIGHTS.items() if r.startswith("outcomes.other."))
    weights = [_OUTCOME_WEIGHTS.get(r, other_weight) for r in rows]
    return rows, _cumulative(weights)


@cache
def template_keys(template: str) -> tuple[str, ...]:
    """Catalogue keys a report of ``template`` ("2019" or "2021") gives, in table order.

    The 2019 form's fee row has only 上一年项目数量/本年增减, so it gives no fee amount.
    """
    keys = tuple(m.key for m in catalogue.metrics() if m.template in ("all", template))
    return tuple(k for k in keys if not (template == "2019" and k == "active.fees.amount_wan"))


def template_for_year(year: int) -> str:
    return "2019" if year <= 2020 else "2021"


@dataclass(frozen=True, slots=True)
class SectionText:
    key: str  # indexer.document.SECTION_KEYS
    heading: str  # as published, e.g. "（一）主动公开情况"
    text: str


@dataclass(slots=True)
class GeneratedReport:
    """One synthetic report: who, when, its narrative and its true metrics."""

    seed: int
    index: int
    agency: AgencySpec
    year: int
    title: str
    published: date
    template: str  # "2019" (years 2019–2020) or "2021"
    preamble: str
    sections: tuple[SectionText, ...]
    metrics: dict[str, int | float]
    style: int = 0  # rendering variant (markup habits differ between sites and editors)
    inline_headings: bool = False  # "（一）主动公开：…" on one line instead of a heading line

    @property
    def region(self) -> Region:
        a = self.agency
        return Region(province=a.province, city=a.city, county=a.county, township=a.township)

    def section(self, key: str) -> SectionText:
        return next(s for s in self.sections if s.key == key)

    def to_document(self, url: str, source_format: str = "html") -> ReportDocument:
        """The canonical document a perfect parser would produce for this report at ``url``."""
        region = self.region
        a = self.agency
        return ReportDocument(
            id=report_id(url),
            title=self.title,
            agency=Agency(
                name=a.name,
                normalized_name=a.normalized_name,
                type=a.type,
                level=a.level,
                id=agency_id(region, a.normalized_name),
            ),
            region=region,
            year=self.year,
            published=self.published.isoformat(),
            period_start=f"{self.year}-01-01",
            period_end=f"{self.year}-12-31",
            template=self.template,
            source_format=source_format,
            sections=[Section(key=s.key, title=s.heading, text=s.text) for s in self.sections],
            metrics=dict(self.metrics),
            check_status="ok",
        )


# -- metrics ---------------------------------------------------------------------------------------


def _split(rng: random.Random, n: int, cum: list[float], size: int) -> list[int]:
    """Multinomial split of ``n`` items over ``size`` categories with cumulative weights ``cum``."""
    counts = [0] * size
    if n <= 0:
        return counts
    if n == 1:
        counts[_bisect(cum, rng.random() * cum[-1])] += 1
        return counts
    for i in rng.choices(range(size), cum_weights=cum, k=n):
        counts[i] += 1
    return counts


def _bisect(cum: list[float], x: float) -> int:
    for i, c in enumerate(cum):
        if x < c:
            return i
    return len(cum) - 1


_APPLICANT_CUM = _cumulative(list(_APPLICANT_WEIGHTS))
_LEVEL_APPLICATIONS = {"省": 420.0, "市": 90.0, "县": 24.0, "乡镇": 1.2}
_TYPE_FACTOR = {"人民政府": 1.0, "办公厅": 0.5, "部门": 0.35, "乡镇街道": 1.0}


def _new_applications(rng: random.Random, agency: AgencySpec, year: int) -> int:
    if agency.type == "乡镇街道":
        # Most townships receive none; a few receive a handful.
        return 0 if rng.random() < 0.62 else rng.choices((1, 2, 3, 4, 5, 7), (40, 25, 15, 10, 6, 4))[0]
    mean = _LEVEL_APPLICATIONS[agency.level] * _TYPE_FACTOR[agency.type] * agency.activity
    mean *= 1 + 0.07 * (year - 2019)  # applications grew over the years
    if rng.random() < 0.12:
        return 0
    return int(rng.gammavariate(1.3, mean / 1.3))


@cache
def _row_keys(row: str) -> tuple[str, ...]:
    return tuple(f"{row}.{col}" for col in APPLICANT_COLUMN_KEYS)


@cache
def _subtotal_plan(template: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(subtotal row, indexes of its item rows among the outcome rows) for each itemised category."""
    rows, _ = _outcome_sampler(template)
    plan = []
    for cat, _, items in OUTCOME_CATEGORIES:
        if template == "2019" and cat == "other":
            continue  # the single 其他处理 row is itself outcomes.other.total
        plan.append((f"outcomes.{cat}.total", tuple(rows.index(f"outcomes.{cat}.{i}") for i, _ in items)))
    return tuple(plan)


@cache
def _zero_applications(template: str) -> dict[str, int]:
    rows, _ = _outcome_sampler(template)
    every = ["applications.new", "applications.carried_over", *rows, "outcomes.total", "applications.carried_forward"]
    every += [row for row, _ in _subtotal_plan(template)]
    return {k: 0 for row in every for k in _row_keys(row)}


def _carry(agency: AgencySpec, into_year: int, seed: int) -> list[int]:
    """Applications per applicant column carried from ``into_year - 1`` into ``into_year``.

    Drawn once per (agency, year) from its own generator, so a year's 结转下年度 is exactly the next year's
    上年结转, as in real reports (and as the cross-report check expects), while each report stays a pure
    function of its arguments.
    """
    rng = random.Random(f"nianbao/{seed}/carry/{agency.normalized_name}/{into_year}")
    if agency.type == "乡镇街道" or rng.random() < 0.5:
        return [0] * 6
    mean = _LEVEL_APPLICATIONS[agency.level] * _TYPE_FACTOR[agency.type] * agency.activity * 0.05
    return _split(rng, int(rng.gammavariate(1.0, mean)), _APPLICANT_CUM, 6)


def _applications_table(
    rng: random.Random, agency: AgencySpec, year: int, template: str, seed: int = 0
) -> dict[str, int]:
    """Table 三: rows × applicant columns, consistent by construction and with the neighbouring years."""
    new = _split(rng, _new_applications(rng, agency, year), _APPLICANT_CUM, 6)
    carried = _carry(agency, year, seed)
    forward = _carry(agency, year + 1, seed)
    # What is carried forward must have been received this year or carried in.
    new = [max(n, f - c) for n, c, f in zip(new, carried, forward, strict=True)]
    if not any(new) and not any(carried):
        return dict(_zero_applications(template))  # most small agencies: nothing received, nothing carried
    rows, cum = _outcome_sampler(template)
    # per_col[c][i]: applications of applicant column c that ended in outcome row i.
    per_col = [_split(rng, new[c] + carried[c] - forward[c], cum, len(rows)) for c in range(6)]
    m: dict[str, int] = {}

    def put(row: str, values: list[int]) -> None:
        keys = _row_keys(row)
        m.update(zip(keys[:6], values, strict=True))  # the six applicant columns
        m[keys[6]] = sum(values)  # 总计

    put("applications.new", new)
    put("applications.carried_over", carried)
    for i, r in enumerate(rows):
        put(r, [per_col[c][i] for c in range(6)])
    for row, idx in _subtotal_plan(template):
        put(row, [sum(per_col[c][i] for i in idx) for c in range(6)])
    put("outcomes.total", [sum(per_col[c]) for c in range(6)])
    put("applications.carried_forward", forward)
    return m


_REVIEW_CUM = _cumulative([0.62, 0.1, 0.16, 0.12])


def _review_table(rng: random.Random, applications: int) -> dict[str, int]:
    """Table 四: each group's four results and their total."""
    m: dict[str, int] = {}
    for group, share in zip((g for g, _ in REVIEW_GROUPS), (0.05, 0.02, 0.012), strict=True):
        n = sum(1 for _ in range(min(applications, 400)) if rng.random() < share) if applications else 0
        if applications > 400:
            n = int(n * applications / 400)
        results = _split(rng, n, _REVIEW_CUM, 4)
        for col, v in zip(REVIEW_RESULTS, results, strict=True):
            m[f"{group}.{col}"] = v
        m[f"{group}.total"] = n
    return m


# (licensing, penalty, enforcement) decision scales by department name fragment.
_DECISION_SCALES: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("市场监督", (1500, 260, 25)),
    ("行政审批", (2600, 0, 0)),
    ("公安", (300, 2500, 180)),
    ("自然资源", (260, 60, 8)),
    ("住房", (320, 40, 5)),
    ("交通", (240, 180, 20)),
    ("卫生", (420, 60, 4)),
    ("生态环境", (90, 45, 6)),
    ("城市管理", (120, 260, 30)),
    ("应急", (60, 35, 3)),
    ("农业", (120, 25, 2)),
    ("水利", (80, 10, 1)),
    ("林业", (70, 30, 2)),
)
_LEVEL_DECISIONS = {"省": 4.0, "市": 2.0, "县": 1.0, "乡镇": 0.05}


def _decision_scale(agency: AgencySpec) -> tuple[int, int, int]:
    if agency.type == "乡镇街道":
        return (8, 6, 1)
    if agency.type != "部门":
        return (0, 0, 0)
    return next((s for frag, s in _DECISION_SCALES if frag in agency.name), (12, 3, 0))


def _count(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    return 0 if rng.random() < 0.25 else int(rng.gammavariate(1.5, mean / 1.5))


def _fee(rng: random.Random, agency: AgencySpec) -> float:
    if agency.type != "部门" or rng.random() < 0.78:
        return 0.0
    return round(rng.uniform(0.3, 2500.0) * _LEVEL_DECISIONS[agency.level], rng.choice((2, 2, 2, 4, 6)))


def _normative(rng: random.Random, agency: AgencySpec) -> tuple[int, int, int]:
    """(issued, repealed, in force) normative documents."""
    if agency.type == "乡镇街道":
        return (0, 0, 0)
    if agency.type == "部门":
        issued = 0 if rng.random() < 0.7 else rng.randint(1, 3)
        return issued, rng.choice((0, 0, 0, 1, 2)), issued + rng.randint(0, 14)
    scale = {"省": 6, "市": 3, "县": 1}[agency.level] * (1 if agency.type == "人民政府" else 0.5)
    issued = int(rng.randint(0, 12) * scale)
    return issued, int(rng.randint(0, 6) * scale), issued + int(rng.randint(8, 80) * scale)


def _rules(rng: random.Random, agency: AgencySpec) -> tuple[int, int, int]:
    # Only provincial and city governments may make 规章.
    if agency.type != "人民政府" or agency.level not in ("省", "市"):
        return (0, 0, 0)
    issued = rng.randint(0, 6 if agency.level == "省" else 3)
    return issued, rng.randint(0, 3), issued + rng.randint(20 if agency.level == "省" else 5, 180)


def _active_table(rng: random.Random, agency: AgencySpec, template: str) -> dict[str, int | float]:
    m: dict[str, int | float] = {}
    lic, pen, enf = _decision_scale(agency)
    level = _LEVEL_DECISIONS[agency.level]
    decisions = {
        "active.licensing": _count(rng, lic * level),
        "active.penalty": _count(rng, pen * level),
        "active.enforcement": _count(rng, enf * level),
    }
    for row, v in decisions.items():
        m[f"{row}.decisions"] = v
    rules, normative = _rules(rng, agency), _normative(rng, agency)
    if template == "2021":
        for row, (issued, repealed, in_force) in (("active.rules", rules), ("active.normative_documents", normative)):
            m[f"{row}.issued"], m[f"{row}.repealed"], m[f"{row}.in_force"] = issued, repealed, in_force
        m["active.fees.amount_wan"] = _fee(rng, agency)
        return m
    # 2019 form: made / published / total published, item counts with their yearly change, procurement.
    for row, (issued, _, in_force) in (("active.rules", rules), ("active.normative_documents", normative)):
        m[f"{row}.new_made"], m[f"{row}.new_published"], m[f"{row}.total_published"] = issued, issued, in_force
    m["active.other_services.decisions"] = _count(rng, (lic * level) / 4)
    for row in ("active.licensing", "active.other_services", "active.penalty", "active.enforcement", "active.fees"):
        busy = row == "active.fees" or m.get(f"{row}.decisions", 0)
        prev = rng.randint(0, 120) if busy and agency.type == "部门" else 0
        m[f"{row}.prev_items"] = prev
        m[f"{row}.change"] = rng.randint(-min(prev, 20), 8) if prev else 0
    government = agency.type in ("人民政府", "办公厅")
    items = rng.randint(0, 30) if agency.type != "乡镇街道" and (government or rng.random() < 0.5) else 0
    m["active.procurement.items"] = items
    m["active.procurement.amount_wan"] = round(items * rng.uniform(3, 180), 4) if items else 0.0
    return m


def generate_metrics(
    rng: random.Random, agency: AgencySpec, year: int, template: str, seed: int = 0
) -> dict[str, int | float]:
    """The true metrics of one report, keyed by catalogue keys, in catalogue order."""
    m: dict[str, int | float] = {}
    m.update(_active_table(rng, agency, template))
    m.update(_applications_table(rng, agency, year, template, seed))
    m.update(_review_table(rng, int(m["applications.new.total"])))
    return {k: m[k] for k in template_keys(template)}


# -- narrative -------------------------------------------------------------------------------------


def _unit_word(agency: AgencySpec) -> str:
    if agency.type == "乡镇街道":
        return agency.short.removeprefix("我")
    return {"省": "省", "市": "市", "县": "县"}.get(agency.level, "")


def _place(agency: AgencySpec) -> str:
    return agency.county or agency.city or agency.province


def _ri(rng: random.Random, a: int, b: int) -> int:
    """randint(a, b) at a third of its cost: narrative counts need no exact uniformity."""
    return a + int(rng.random() * (b - a + 1))


def _figures(rng: random.Random, agency: AgencySpec, year: int, m: dict[str, int | float]) -> dict[str, object]:
    """Values the phrase banks refer to: metrics plus plausible narrative-only counts."""
    scale = {"省": 40, "市": 12, "县": 4, "乡镇": 1}[agency.level]
    n_policy = int(m.get("active.normative_documents.issued", m.get("active.normative_documents.new_made", 0)))
    nd_in_force = m.get("active.normative_documents.in_force", m.get("active.normative_documents.total_published", 0))
    new = int(m["applications.new.total"])
    rest = int(m["outcomes.total.total"]) - sum(
        int(m[k])
        for k in (
            "outcomes.disclosed.total",
            "outcomes.partially_disclosed.total",
            "outcomes.unavailable.not_held.total",
        )
    )
    review = int(m["review.total"])
    litigation = int(m["litigation.direct.total"]) + int(m["litigation.after_review.total"])
    return {
        "year": year,
        "next_year": year + 1,
        "agency": agency.name,
        "short": agency.short,
        "unit": _unit_word(agency),
        "place": _place(agency),
        "phone": f"0{_ri(rng, 370, 399)}-{_ri(rng, 2000000, 8999999)}",
        "address": f"{_place(agency)}{rng.choice(ph.STREETS)}{_ri(rng, 1, 300)}号",
        "postcode": f"{_ri(rng, 35, 47)}{_ri(rng, 0, 9999):04d}",
        "wechat": f"{(agency.township or _place(agency)).removesuffix('人民政府')}{rng.choice(ph.WECHAT_SUFFIXES)}",
        "n_active": _ri(rng, 20, 400) * scale,
        "n_policy": n_policy,
        "n_interp": _ri(rng, 0, 12) * scale // 2,
        "n_news": _ri(rng, 10, 200) * scale,
        "n_notice": _ri(rng, 2, 60) * scale,
        "n_wechat": _ri(rng, 10, 300),
        "n_media": _ri(rng, 1, 30),
        "n_leaflet": rng.choice((200, 500, 800, 1000, 3000)),
        "new": new,
        "carried": int(m["applications.carried_over.total"]),
        "handled": int(m["outcomes.total.total"]),
        "disclosed": int(m["outcomes.disclosed.total"]),
        "partial": int(m["outcomes.partially_disclosed.total"]),
        "not_held": int(m["outcomes.unavailable.not_held.total"]),
        "rest": rest,
        "forward": int(m["applications.carried_forward.total"]),
        "natural": int(m["applications.new.natural_person"]),
        "legal_entities": new - int(m["applications.new.natural_person"]),
        "nd_issued": n_policy,
        "nd_repealed": int(m.get("active.normative_documents.repealed", 0)),
        "nd_in_force": int(nd_in_force),
        "n_docs": _ri(rng, 30, 600) * scale,
        "n_docs_public": _ri(rng, 10, 200) * scale,
        "visits": _ri(rng, 2, 300) * scale,
        "n_accounts": _ri(rng, 1, 6) * (scale if scale > 1 else 1),
        "n_visitors": _ri(rng, 20, 2000),
        "n_consult": _ri(rng, 5, 900),
        "pct": rng.choice((2, 3, 4, 5, 6)),
        "n_train": _ri(rng, 1, 8),
        "n_people": _ri(rng, 20, 400),
        "n_checks": _ri(rng, 2, 12),
        "n_fixed": _ri(rng, 0, 20),
        "review": review,
        "litigation": litigation,
        "upheld": int(m["review.upheld"])
        + int(m["litigation.direct.upheld"])
        + int(m["litigation.after_review.upheld"]),
        "corrected": int(m["review.corrected"])
        + int(m["litigation.direct.corrected"])
        + int(m["litigation.after_review.corrected"]),
        "fee_notices": _ri(rng, 1, 3),
        "fee_yuan": rng.choice((100, 200, 300, 500)),
        "n_jy": _ri(rng, 0, 40),
        "n_ta": _ri(rng, 0, 50),
    }


def _pick(rng: random.Random, bank: tuple[str, ...], fig: dict[str, object], k: int = 1) -> str:
    chosen = rng.sample(bank, k) if k > 1 else [rng.choice(bank)]
    return "".join(s.format(**fig) for s in chosen)


def _problems_text(rng: random.Random) -> tuple[str, str]:
    """(problems, improvements) as 一是…；二是… enumerations."""
    probs = rng.sample(ph.PROBLEMS, rng.randint(2, 3))
    fixes = rng.sample(ph.IMPROVEMENTS, rng.randint(2, 4))

    def enum(items: list[str]) -> str:
        return "；".join(f"{ph.ORDINALS[i]}是{s}" for i, s in enumerate(items)) + "。"

    return enum(probs), enum(fixes)


def _sections(
    rng: random.Random, agency: AgencySpec, year: int, m: dict[str, int | float]
) -> tuple[tuple[SectionText, ...], str]:
    fig = _figures(rng, agency, year, m)
    some = fig["new"] or fig["carried"]
    application_bank = ph.OVERVIEW_APPLICATION_SOME if some else ph.OVERVIEW_APPLICATION_NONE
    items = {
        "overview.active": _pick(rng, ph.OVERVIEW_ACTIVE, fig, rng.randint(1, 2)),
        "overview.application": _pick(rng, application_bank, fig),
        "overview.management": _pick(rng, ph.OVERVIEW_MANAGEMENT, fig, rng.randint(1, 2)),
        "overview.platform": _pick(rng, ph.OVERVIEW_PLATFORM, fig, rng.randint(1, 2)),
        "overview.supervision": _pick(rng, ph.OVERVIEW_SUPERVISION, fig, rng.randint(1, 2)),
    }
    heading_style = rng.randrange(4)
    prob_text, fix_text = _problems_text(rng)
    prob_head, fix_head = rng.choice(ph.PROBLEM_HEADS)
    fee = m.get("active.fees.amount_wan", 0) and rng.random() < 0.2
    other = _pick(rng, ph.FEE_SOME if fee else ph.FEE_NONE, fig)
    extra = _pick(rng, ph.OTHER_EXTRAS, fig)
    review_bank = ph.REVIEW_SOME if fig["review"] or fig["litigation"] else ph.REVIEW_NONE
    texts = {
        "overview": _pick(rng, ph.OVERVIEW_INTROS, fig),
        "active": _pick(rng, ph.ACTIVE_LEADS, fig),
        "applications": _pick(rng, ph.APPLICATION_LEADS_SOME if some else ph.APPLICATION_LEADS_NONE, fig),
        "review": _pick(rng, review_bank, fig),
        "problems": f"{prob_head}\n{prob_text}\n{fix_head}\n{fix_text}",
        "other": f"{other}\n{extra}".strip(),
    }
    out: list[SectionText] = []
    for key, heading in SECTIONS:
        out.append(SectionText(key, heading, texts[key]))
        if key == "overview":
            for item_key, text in items.items():
                out.append(SectionText(item_key, ph.OVERVIEW_ITEM_HEADINGS[item_key][heading_style], text))
    preamble_bank = ph.PREAMBLES_2019 if template_for_year(year) == "2019" else ph.PREAMBLES_2021
    return tuple(out), _pick(rng, preamble_bank, fig)


def _title(rng: random.Random, agency: AgencySpec, year: int) -> str:
    r = rng.random()
    if r < 0.8:
        return f"{agency.name}{year}年政府信息公开工作年度报告"
    if r < 0.95:
        return f"{agency.name}{year}年度政府信息公开工作年度报告"
    return f"{agency.name}关于{year}年政府信息公开工作年度报告"


def _published(rng: random.Random, year: int) -> date:
    month = rng.choices((1, 2, 3), (60, 25, 15))[0]
    return date(year + 1, month, rng.randint(5 if month == 1 else 1, 28 if month == 2 else 31))


def make_report(agency: AgencySpec, year: int, seed: int = 0, index: int = 0) -> GeneratedReport:
    """The report ``agency`` publishes for ``year``; a pure function of its arguments."""
    rng = random.Random(f"nianbao/{seed}/{index}/{agency.normalized_name}/{year}")
    template = template_for_year(year)
    metrics = generate_metrics(rng, agency, year, template, seed)
    sections, preamble = _sections(rng, agency, year, metrics)
    return GeneratedReport(
        seed=seed,
        index=index,
        agency=agency,
        year=year,
        title=_title(rng, agency, year),
        published=_published(rng, year),
        template=template,
        preamble=preamble,
        sections=sections,
        metrics=metrics,
        style=rng.randrange(3),
        inline_headings=rng.random() < 0.35,
    )


def generate_corpus(n: int, seed: int = 0, start: int = 0) -> Iterator[GeneratedReport]:
    """Stream ``n`` reports (numbers ``start`` … ``start + n - 1``): agency ``i // 7``, years 2019–2025 in turn.

    Constant memory: each report depends only on (seed, i) and the universe is computed per index, so
    workers can generate disjoint slices of one corpus in parallel with ``start``.
    """
    if n < 0 or start < 0:
        raise ValueError(f"n and start must be >= 0, got n={n}, start={start}")
    # A seed-dependent offset makes different seeds visit different parts of the universe too.
    offset = random.Random(f"nianbao/offset/{seed}").randrange(0, 10_000) if seed else 0
    for i in range(start, start + n):
        k, y = divmod(i, len(YEARS))
        yield make_report(corpus_agency(k + offset), YEARS[y], seed=seed, index=i)
