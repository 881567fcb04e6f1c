"""The five real seed reports bundled in ``demo/data``: their text, what they are, and their HTML rendering.

The seeds are real published reports converted to text (tab tables, one with pipe tables, one with
Markdown headings). The site shows them as report pages keeping their content and quirks: typos, a
missing row label, a misaligned header, a title with stray spaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from html import escape
from pathlib import Path

from demo.universe import AgencySpec, department, township


@dataclass(frozen=True, slots=True)
class Seed:
    file: str
    agency: AgencySpec
    year: int
    published: date  # not in the text: a plausible January date for the site listing

    @property
    def text(self) -> str:
        return seed_text(self.file)

    @property
    def title(self) -> str:
        """The first non-empty line, as published (Markdown '#' marks removed)."""
        line = next(line for line in self.text.splitlines() if line.strip())
        return line.lstrip("#").strip()


def _seed_agency(spec: AgencySpec, published_name: str) -> AgencySpec:
    return AgencySpec(
        published_name,
        spec.normalized_name,
        spec.type,
        spec.level,
        spec.province,
        spec.city,
        spec.county,
        spec.township,
        spec.short,
        spec.activity,
    )


SEEDS: tuple[Seed, ...] = (
    Seed(
        "000_317d48e128c930b9.txt",
        _seed_agency(township("河南省", "平顶山市", "鲁山县", "库区乡"), "鲁山县库区乡"),
        2024,
        date(2025, 1, 16),
    ),
    Seed(
        "001_0103fbd60982af31.txt",
        department("河南省", "三门峡市", "卢氏县", "行政审批和政务信息管理局", 0.5),
        2024,
        date(2025, 1, 21),
    ),
    Seed(
        "002_33fc5f9459d725bb.txt",
        _seed_agency(township("河南省", "平顶山市", "湛河区", "曹镇乡"), "湛河区曹镇乡人民政府"),
        2023,
        date(2024, 1, 19),
    ),
    Seed(
        "003_19df153a773c7689.txt",
        _seed_agency(township("河南省", "三门峡市", "卢氏县", "官坡镇"), "官坡镇人民政府"),
        2024,
        date(2025, 1, 24),
    ),
    Seed(
        "004_353904a6d8ce62e4.txt",
        _seed_agency(township("河南省", "平顶山市", "鲁山县", "背孜乡"), "鲁山县背孜乡"),
        2025,
        date(2026, 1, 13),
    ),
)


DATA_DIR = Path(__file__).parent / "data"


@cache
def seed_text(file: str) -> str:
    # A plain path, not importlib.resources: an editable install may expose demo as a namespace package.
    return (DATA_DIR / file).read_text(encoding="utf-8")


def _table_html(rows: list[list[str]]) -> str:
    body = "".join("<tr>" + "".join(f"<td><p>{escape(c.strip())}</p></td>" for c in r) + "</tr>" for r in rows)
    opening = '<table border="1" cellspacing="0" cellpadding="0" style="border-collapse:collapse">'
    return f"{opening}<tbody>{body}</tbody></table>"


def _pipe_cells(line: str) -> list[str]:
    return line.strip().strip("|").split("|")


def _is_pipe_rule(line: str) -> bool:
    return set(line.replace("|", "").strip()) <= set("-: ") and "-" in line


def seed_article_html(text: str) -> str:
    """The seed's body (title line excluded) as CMS-style HTML: paragraphs, and tables for tab/pipe rows."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip()) + 1  # the title is shown by the page itself
    parts: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if table:
            parts.append(_table_html(table))
            table.clear()

    for line in lines[start:]:
        if "\t" in line:
            table.append(line.split("\t"))
            continue
        if line.lstrip().startswith("|"):
            if not _is_pipe_rule(line):
                table.append(_pipe_cells(line))
            continue
        flush()
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            parts.append(f'<p style="text-indent: 2em;"><strong>{escape(stripped.lstrip("#").strip())}</strong></p>')
        else:
            parts.append(f'<p style="text-indent: 2em;">{escape(stripped.removeprefix("- "))}</p>')
    flush()
    return "".join(parts)


def seed_table_numbers(text: str) -> list[str]:
    """Every numeric cell of the seed's tables (tab or pipe rows), as written."""
    out: list[str] = []
    for line in text.splitlines():
        if "\t" in line:
            cells = line.split("\t")
        elif line.lstrip().startswith("|") and not _is_pipe_rule(line):
            cells = _pipe_cells(line)
        else:
            continue
        out.extend(c.strip() for c in cells if c.strip().replace(".", "", 1).isdigit())
    return out


def _cells(line: str) -> list[str]:
    return _pipe_cells(line) if line.lstrip().startswith("|") else line.split("\t")


def seed_metrics(text: str) -> dict[str, int | None]:
    """What a seed's tables say, keyed by catalogue key (2021 form); None where the text is ambiguous.

    Every figure in the seeds is 0. Three seeds drop cells in table 三 (a row gives 5 or 6 numbers for 7
    columns, and which column is missing cannot be told from the text), so those rows are None: not a
    value anyone may check a parser against.
    """
    from demo.generator import template_keys
    from indexer.catalogue import APPLICANT_COLUMN_KEYS, OUTCOME_CATEGORIES, application_rows

    truth: dict[str, int | None] = dict.fromkeys(template_keys("2021"), 0)
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if "本年新收" in line)
    last = next(i for i, line in enumerate(lines) if "结转下年度" in line)
    given = [sum(c.strip().isdigit() for c in _cells(line)) for line in lines[first : last + 1] if line.strip()]
    rows = [row for row, _, derived, template in application_rows() if not derived and template in ("all", "2021")]
    if len(given) != len(rows):
        raise ValueError(f"seed table 三 has {len(given)} rows, the 2021 form {len(rows)}")
    unknown = {row for row, count in zip(rows, given, strict=True) if count < len(APPLICANT_COLUMN_KEYS)}
    for cat, _, items in OUTCOME_CATEGORIES:
        if any(f"outcomes.{cat}.{item}" in unknown for item, _ in items):
            unknown.add(f"outcomes.{cat}.total")
    for row in unknown:
        truth.update(dict.fromkeys((f"{row}.{col}" for col in APPLICANT_COLUMN_KEYS), None))
    return truth
