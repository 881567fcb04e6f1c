"""Tables 二, 三 and 四 read into catalogue metrics, whatever shape extraction left them in.

Input is the row stream of ``Extracted.rows()``: real tables (HTML, DOCX, XLSX, PDF, tab/pipe text) give rows
of cells; flattened text dumps give one long line where labels and digit runs follow each other with no
delimiters. Two readers, one result:

* cells: each row is (label, value cells). Labels are matched by key words (typos folded first); value rows
  whose label went elsewhere (PDF-to-markdown breakage) take the next row of the template in order.
* flattened: labels are anchors searched in template order; the digits between two anchors are cut into the
  known number of columns, using the row's own identity (six applicants add up to 总计) to choose among the
  possible cuts.

Rows that still read several ways — a dump dropped their blank cells, their digits run together, a conversion
lost a cell — are settled together by the table's identities (``indexer.align``): a cell is read when every
reading of the whole table under which they hold gives it the same value (listed in ``aligned``); the rest
stay None with an ``ambiguous_value`` warning that says why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache

from indexer import catalogue
from indexer.align import MAX_STEPS, Candidate, align, lost_cell, placements
from indexer.numbers import (
    INT,
    Column,
    agreed,
    gap_readings,
    groups_sum,
    normalize,
    parse_cell,
    split_run,
    sums_to_last,
)

Value = float | int | None

# Typos seen in real reports, folded before matching (after NFKC and whitespace removal).
_TYPOS = (
    ("不子公开", "不予公开"),
    ("本年度止件数", "本年废止件数"),
    ("本公开数量", "本年新公开数量"),
    ("行政法复议", "行政复议"),
    ("钩稽", "勾稽"),
)
_WS = re.compile(r"\s+")


def _fold(text: str) -> str:
    s = _WS.sub("", normalize(text))
    for wrong, right in _TYPOS:
        s = s.replace(wrong, right)
    return s


_FOLDED: dict[str, str] = {}  # labels and rows repeat across every report of the template
_FOLD_CACHED = 256  # longer texts (a flattened table) rarely repeat: not kept
_FOLD_ENTRIES = 32_768


def fold(text: str) -> str:
    """NFKC, no whitespace, known typos fixed: the form every label match runs on."""
    folded = _FOLDED.get(text)
    if folded is None:
        folded = _fold(text)
        if len(text) <= _FOLD_CACHED:
            if len(_FOLDED) >= _FOLD_ENTRIES:
                _FOLDED.clear()  # bounded memory over a million reports; refilled from the next report
            _FOLDED[text] = folded
    return folded


def fold_spaced(text: str) -> str:
    """Like ``fold`` but keeps single spaces: in flattened runs a space is a (weak) hint of a cell edge."""
    s = _WS.sub(" ", normalize(text))
    for wrong, right in _TYPOS:
        s = s.replace(wrong, right)
    return s


# -- table 三 rows --------------------------------------------------------------------------------------
# Key words of each row label, most specific first (an item label also names its category).
_APP_LABELS: tuple[tuple[str, str], ...] = (
    ("outcomes.other.no_correction", r"不补正|逾期不补"),
    ("outcomes.other.fee_unpaid", r"缴纳费用|收费通知|未按收费"),
    ("outcomes.withheld.state_secret", r"国家秘密"),
    ("outcomes.withheld.prohibited_by_law", r"禁止公开"),
    ("outcomes.withheld.security_stability", r"三安全一稳定|危及"),
    ("outcomes.withheld.third_party_rights", r"第三方"),
    ("outcomes.withheld.internal_affairs", r"内部事务"),
    ("outcomes.withheld.process_information", r"过程性"),
    ("outcomes.withheld.enforcement_files", r"执法案卷"),
    ("outcomes.withheld.administrative_query", r"行政查询"),
    ("outcomes.unavailable.not_held", r"不掌握"),
    ("outcomes.unavailable.needs_creation", r"另行制作|没有现成"),
    ("outcomes.unavailable.unclear_after_correction", r"仍不明确|补正后"),
    ("outcomes.not_processed.petition_complaint", r"信访|举报投诉"),
    ("outcomes.not_processed.duplicate", r"重复申请"),
    ("outcomes.not_processed.publications", r"出版物"),
    ("outcomes.not_processed.excessive_repeated", r"大量反复"),
    ("outcomes.not_processed.confirm_or_reissue", r"重新出具|确认或"),
    ("applications.new", r"本年新收"),
    ("applications.carried_over", r"上年结转"),
    ("applications.carried_forward", r"结转下年|下年度继续"),
    ("outcomes.partially_disclosed", r"部分公开"),
    ("outcomes.disclosed", r"予以公开"),
    ("outcomes.other.other", r"(?:^|\d[.、])其他$"),
    ("outcomes.other.total", r"其他处理"),
    ("outcomes.total", r"总计"),
)
_APP_RE = {key: re.compile(words) for key, words in _APP_LABELS}
# Flattened text: the anchor of "3.其他" needs its item number (其他 alone is everywhere).
_FLAT_ANCHOR = {**_APP_RE, "outcomes.other.other": re.compile(r"\d[.、]其他(?![法处情结组])")}


def application_rows(template: str) -> list[str]:
    """Row keys of table 三 in order, for the 2021 (其他处理 itemised) or 2019 (one row) template."""
    return list(_application_rows(template))


@cache
def _application_rows(template: str) -> tuple[str, ...]:
    keys: list[str] = []
    for key, _label, derived, row_template in catalogue.application_rows():
        if derived and not (template == "2019" and key == "outcomes.other.total"):
            continue
        if row_template == "2021" and template == "2019":
            continue
        keys.append(key)
    return tuple(keys)


def match_application_label(label: str, allowed: Sequence[str]) -> str | None:
    return _match_label(label, tuple(allowed))


@lru_cache(maxsize=8192)  # a template's few dozen labels, matched in every report
def _match_label(label: str, allowed: tuple[str, ...]) -> str | None:
    folded = fold(label)
    if not folded:
        return None
    for key, _ in _APP_LABELS:
        if key in allowed and _APP_RE[key].search(folded):
            return key
    return None


# -- table 二 rows --------------------------------------------------------------------------------------
_ACTIVE_LABELS: tuple[tuple[str, str], ...] = (
    ("active.normative_documents", r"规范性文件"),
    ("active.rules", r"规章"),
    ("active.other_services", r"其他对外管理服务"),
    ("active.licensing", r"行政许可"),
    ("active.penalty", r"行政处罚"),
    ("active.enforcement", r"行政强制"),
    ("active.fees", r"行政事业性收费"),
    ("active.procurement", r"政府集中采购"),
)
_ACTIVE_RE = {key: re.compile(words) for key, words in _ACTIVE_LABELS}
_SIGNED = Column(signed=True)
_DECIMAL = Column(decimal=True)


def active_columns(template: str) -> dict[str, tuple[tuple[str, Column], ...]]:
    """Columns of each table-二 row: (metric column, what its cells may hold)."""
    return dict(_active_columns(template))


@cache
def _active_columns(template: str) -> dict[str, tuple[tuple[str, Column], ...]]:  # read-only: shared
    if template == "2019":
        change3 = (("prev_items", INT), ("change", _SIGNED), ("decisions", INT))
        return {
            "active.rules": (("new_made", INT), ("new_published", INT), ("total_published", INT)),
            "active.normative_documents": (("new_made", INT), ("new_published", INT), ("total_published", INT)),
            "active.licensing": change3,
            "active.other_services": change3,
            "active.penalty": change3,
            "active.enforcement": change3,
            "active.fees": (("prev_items", INT), ("change", _SIGNED)),
            "active.procurement": (("items", INT), ("amount_wan", _DECIMAL)),
        }
    return {
        "active.rules": (("issued", INT), ("repealed", INT), ("in_force", INT)),
        "active.normative_documents": (("issued", INT), ("repealed", INT), ("in_force", INT)),
        "active.licensing": (("decisions", INT),),
        "active.penalty": (("decisions", INT),),
        "active.enforcement": (("decisions", INT),),
        "active.fees": (("amount_wan", _DECIMAL),),
    }


# -- results --------------------------------------------------------------------------------------------
@dataclass(slots=True)
class TableResult:
    metrics: dict[str, Value] = field(default_factory=dict)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    template: str = "unknown"  # "2021", "2019" or "unknown" (no template table found)
    found: set[str] = field(default_factory=set)  # tables found: "active", "applications", "review"
    read_rows: list[str] = field(default_factory=list)  # rows of table 三 read with values, in reading order
    total_column: bool = True  # table 三 prints a 总计 column (assumed unless its layout shows none)
    computed: list[str] = field(default_factory=list)  # metric keys computed by nianbao, not printed in the report
    blank_zero: list[str] = field(default_factory=list)  # metric keys read as 0 from a blank cell of a filled row
    from_text: list[str] = field(default_factory=list)  # metric keys stated by a sentence, not a table
    dropped_blanks: bool = False  # rows rebuilt from a one-cell-per-line dump, which drops blank cells
    by_position: set[str] = field(default_factory=set)  # table-三 rows read by position, not by label and count
    aligned: list[str] = field(default_factory=list)  # metric keys whose cell the table's identities decided
    # table-三 rows read several ways (cells dropped or run together): their readings, settled by ``_settle_open``
    open_rows: dict[str, tuple[list[Candidate], str]] = field(default_factory=dict)  # key → (readings, how)
    short_rows: dict[str, list[float | int]] = field(default_factory=dict)  # positional rows one cell short

    def warn(self, code: str, message: str) -> None:
        self.warnings.append((code, message))


@dataclass(slots=True)
class Record:
    """One row as read: its label and either value cells or a flattened digit run."""

    label: str
    cells: list[str] | None = None
    run: str | None = None
    offset: int = -1  # grid index of the first value cell; -1 when the row is not on a grid


_COLUMN_NAMES = dict(catalogue.APPLICANT_COLUMNS)
_LABEL_NAMES = {key: label for key, label, *_ in catalogue.application_rows()}
_ACTIVE_NAMES = {
    "active.rules": "规章",
    "active.normative_documents": "行政规范性文件",
    "active.licensing": "行政许可",
    "active.other_services": "其他对外管理服务事项",
    "active.penalty": "行政处罚",
    "active.enforcement": "行政强制",
    "active.fees": "行政事业性收费",
    "active.procurement": "政府集中采购",
}


def _is_value(cell: str) -> bool:
    return parse_cell(cell).numeric


def split_row(cells: Sequence[str]) -> Record:
    """(label, value cells): the value cells are those after the last text cell."""
    last_text = -1
    for i in range(len(cells) - 1, -1, -1):  # from the right: the value cells are usually all there is to skip
        if not parse_cell(cells[i]).numeric:  # a blank cell is a placeholder, never text
            last_text = i
            break
    # the usual row has its label in the first cell alone
    label = cells[0].strip() if last_text == 0 else " ".join(c.strip() for c in cells[: last_text + 1] if c.strip())
    values = [c.strip() for c in cells[last_text + 1 :]]
    if last_text >= 0 and not any(values):
        # "行政许可 97" in one cell (text extraction): the trailing space-separated numbers are values
        m = _TRAILING_NUMBERS.search(normalize(label))
        if m:
            return Record(normalize(label)[: m.start()].strip(), m.group(0).split())
    return Record(label, values, offset=last_text + 1)


# Numbers after the first need a space before them: "(\d…\s*)+" would backtrack exponentially on "1,21,21…".
_TRAILING_NUMBERS = re.compile(r"(?<=[\u4e00-\u9fff）)])\s*-?\d[\d,.]*(?:\s+-?\d[\d,.]*)*\s*$")


def _trim(cells: list[str], n: int) -> list[str]:
    """Drop empty cells right after the label (span fillers) and at the end beyond the column count."""
    cells = list(cells)
    while cells and not cells[0]:
        cells.pop(0)
    while len(cells) > n and not cells[-1]:
        cells.pop()
    return cells


_BLANK = " \t\r\n\xa0\u3000\u200b"


def _is_blank(cell: str) -> bool:
    return not cell.strip(_BLANK)


def _cells_reading(cells: list[str], n: int) -> tuple[list[Value], set[int]] | None:
    """``n`` values and the indexes of blank cells read as 0 (the template's zero, in a row with a printed number).

    A placeholder ("—", "/") stays None: only an empty cell is the template's blank."""
    cells = _trim(cells, n)
    if len(cells) != n:
        return None
    values = [parse_cell(c).value for c in cells]
    if all(v is None for v in values):
        return values, set()  # a row blank throughout gives nothing
    blanks = {i for i, c in enumerate(cells) if not c.strip(_BLANK)}  # _is_blank, inlined
    if not blanks:
        return values, blanks
    return [0 if i in blanks else v for i, v in enumerate(values)], blanks


_RUN_CHARS = re.compile(r"[\d\s.,\-]*")


@dataclass(slots=True)
class RunReading:
    """What a flattened run says: its values, or why not (and the competing readings when ambiguous)."""

    values: list[Value] | None
    why: str | None = None
    readings: list[list[float | int]] = field(default_factory=list)


def _describe(readings: list[list[float | int]]) -> str:
    return "ambiguous: " + " | ".join(",".join(str(v) for v in c) for c in readings[:4])


def _run_values(run: str, columns: Sequence[Column], accept=None) -> RunReading:
    """Values of a flattened run; None with the reason when missing or ambiguous."""
    run = normalize(run).strip().strip(",")
    if not run.replace(" ", "").replace("-", ""):
        return RunReading(None, "missing")
    toks = run.split()
    if len(toks) == len(columns) and all(col.fits(t.replace(",", "")) for t, col in zip(toks, columns, strict=True)):
        return RunReading([parse_cell(t).value for t in toks])
    if accept is not None:
        found = split_run(run, columns, accept)
        if len(found) == 1:
            return RunReading(list(found[0]))
        if len(found) > 1:
            return RunReading(None, _describe(found), found)
    found = split_run(run, columns)
    if len(found) == 1:
        return RunReading(list(found[0]))
    if not found:
        return RunReading(None, f"{len(run.replace(' ', ''))} digits for {len(columns)} cells")
    return RunReading(None, _describe(found), found)


_SENTENCE = re.compile(r"[^。；;！!？?\n]+")


def confirmed_by_text(readings: list[list[float | int]], keyword: str, text: str) -> list[float | int] | None:
    """The one reading whose numbers the report's own prose states ("制发行政规范性文件9件…废止7件…253件").

    Only a reading with at least two different non-zero numbers, each written as "N件/条/项" in a
    sentence naming the row, counts; anything weaker stays ambiguous.
    """
    sentences = [m.group(0) for m in _SENTENCE.finditer(text) if keyword in m.group(0)]
    if not sentences:
        return None

    def stated(n: float | int) -> bool:
        pattern = re.compile(rf"(?<![\d.]){re.escape(str(n))}\s*[件条项个]")
        return any(pattern.search(s) for s in sentences)

    supported = [r for r in readings if len({v for v in r if v}) >= 2 and all(stated(v) for v in r if v)]
    return supported[0] if len(supported) == 1 else None


# -- locating the tables in the row stream ---------------------------------------------------------------
@dataclass(slots=True)
class Stream:
    rows: list[list[str]]
    folded: list[str]  # each row's cells joined and folded

    @classmethod
    def of(cls, rows: list[list[str]]) -> Stream:
        return cls(rows, [fold("".join(r)) for r in rows])

    def find(self, pattern: str, start: int = 0, stop: int | None = None) -> int:
        rx = re.compile(pattern)
        for i in range(start, len(self.rows) if stop is None else min(stop, len(self.rows))):
            if rx.search(self.folded[i]):
                return i
        return -1


_NUMERAL = "[一二三四五六七八九十]+"
_ROW_LABEL_START = re.compile(rf"^\s*(?:{_NUMERAL}\s*[、.．]|[（(]\s*{_NUMERAL}\s*[)）]|\d{{1,2}}\s*[.、．])")
MIN_NUMBER_LINES = 20  # table 三 alone has 25 rows of 6–7 cells: fewer number lines are not a cell-per-line dump


def _is_number_line(line: str) -> bool:
    return len(line) <= MAX_CELL_LINE and bool(line.strip()) and _is_value(line)  # a long line is never one cell


MAX_CELL_LINE = 24


def join_cell_lines(rows: list[list[str]]) -> list[list[str]]:
    """A dump with every cell on its own line (a copied web page, an XPath //text() dump, PDF text without
    layout) back into rows: a label (its lines joined, "商业" + "企业") followed by its value lines. A new label
    starts at a template row number ("一、", "（二）", "3.") or after values; long sentences stand alone.

    Returns ``rows`` itself when the stream is not such a dump. Blank cells leave no line in these dumps, so
    a rebuilt row may hold fewer values than columns (see ``_gap_row``)."""
    if sum(1 for r in rows if len(r) == 1 and len(r[0]) <= MAX_CELL_LINE and _is_number_line(r[0])) < MIN_NUMBER_LINES:
        return rows
    out: list[list[str]] = []
    label: list[str] = []
    values: list[str] = []

    def flush() -> None:
        if label or values:
            out.append(["".join(label), *values])
        label.clear()
        values.clear()

    for row in rows:
        cell = row[0].strip() if len(row) == 1 else ""
        if len(row) != 1 or not cell:
            flush()
            out.append(row)
        elif _is_value(cell):
            values.append(cell)
        elif len(cell) > 60 or "。" in cell:
            flush()
            out.append([cell])
        else:
            if values or _ROW_LABEL_START.match(cell):
                flush()
            label.append(cell)
    flush()
    return out


def read_tables(rows: list[list[str]]) -> TableResult:
    """All metrics of tables 二, 三 and 四 found in the row stream."""
    result = TableResult()
    joined = join_cell_lines(rows)
    result.dropped_blanks = joined is not rows
    stream = Stream.of(joined)
    app_start = stream.find(r"本年新收")
    app_end = stream.find(r"结转下年|下年度继续办理", max(app_start, 0))
    flat = app_start >= 0 and app_start == app_end and len(stream.folded[app_start]) > 300
    if flat:
        _read_flattened(fold_spaced(" ".join(stream.rows[app_start])), result)
    else:
        _read_cells(stream, app_start, app_end, result)
    _compute_totals(result)
    _finish(result)
    return result


def _template_of(active_text: str, app_text: str) -> str:
    if re.search(r"不补正|缴纳费用|收费通知", app_text) or "制发" in active_text or "现行有效" in active_text:
        return "2021"
    if re.search(r"新制作|上一年项目|新公开|第二十条第\(九\)项|其他处理", active_text + app_text):
        return "2019"
    return "unknown"


def _layout(header: str) -> list[str]:
    """Applicant columns named in table 三's header (missing 其他 or 总计 columns happen)."""
    h = re.sub(r"法人或其他组织|其他情形|其他结果", "", fold(header))
    cols = [k for k in catalogue.APPLICANT_COLUMN_KEYS if k not in ("other", "total")]
    if "其他" in h:
        cols.append("other")
    if "总计" in h or "合计" in h:
        cols.append("total")
    return cols if len(cols) == 7 or len(cols) == 6 else list(catalogue.APPLICANT_COLUMN_KEYS)


def _as_columns(values: list[Value] | None, layout: list[str]) -> dict[str, Value] | None:
    """Values in column order → {column: value}; six values follow the table's layout ("?" = unknown)."""
    if values is None:
        return None
    names = catalogue.APPLICANT_COLUMN_KEYS if len(values) == 7 else layout
    return {col: value for col, value in zip(names, values, strict=False) if col != "?"}


def _store_app_row(
    result: TableResult, key: str, values: dict[str, Value] | None, blanks: Sequence[str] | set[str] = ()
) -> None:
    """A row's values; ``blanks``: its columns read as 0 from blank cells. A blank 总计 whose six parts were all
    read is their sum (marked computed, as for a table without a 总计 column), else None."""
    columns = _row_metrics(key)
    metrics = result.metrics
    for marks in (result.blank_zero, result.computed):  # a row stored again (settled later) loses its old marks
        if marks:
            marks[:] = [m for m in marks if not m.startswith(f"{key}.")]
    if values is None:
        for _col, metric in columns:
            metrics[metric] = None
        return
    get = values.get
    for col, metric in columns:
        metrics[metric] = get(col)
    for col in blanks:
        if col == "total":
            parts = [values.get(c) for c in catalogue.APPLICANT_PARTS]
            if any(p is None for p in parts):
                result.metrics[f"{key}.total"] = None
            else:
                result.metrics[f"{key}.total"] = sum(p for p in parts if p is not None)
                result.computed.append(f"{key}.total")
        elif values.get(col) == 0:
            result.blank_zero.append(f"{key}.{col}")
    if key not in result.read_rows:  # its blank cells are reported in _finish, after totals are computed
        result.read_rows.append(key)


@cache
def _row_metrics(key: str) -> tuple[tuple[str, str], ...]:
    """(applicant column, metric key) of each cell of table-三 row ``key``."""
    return tuple((col, f"{key}.{col}") for col in catalogue.APPLICANT_COLUMN_KEYS)


# Applicant column names as header cells print them (split words "商业 企业" are folded together first).
_HEADER_NAMES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, re.compile(rx))
    for key, rx in (
        ("natural_person", r"^自然人$"),
        ("commercial", r"^商业(?:企业)?$"),
        ("research", r"^科研(?:机构)?$"),
        ("social_org", r"^社会公益(?:组织)?$"),
        ("legal_service", r"^法律服务(?:机构)?$"),
        ("other", r"^其他$"),
        ("total", r"^总计$"),
    )
)


@lru_cache(maxsize=4096)  # the template's header words, in every report
def _header_name(cell: str) -> str | None:
    """The applicant column a header cell names (the names exclude each other: at most one matches)."""
    text = fold(cell)
    return next((key for key, rx in _HEADER_NAMES if rx.match(text)), None)


def header_grid(rows: list[list[str]]) -> dict[int, str]:
    """{grid column: applicant column} from table 三's header rows, when they sit on the same grid as the data.

    "总计" printed in an upper header row over the column of a lower-row name (其他) has been shifted left by
    a collapsed span: it is the column after the last applicant column. Other clashes make the grid unusable.
    """
    found: dict[str, tuple[int, int]] = {}
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            key = _header_name(cell)
            if key is not None and key not in found:
                found[key] = (r, c)
    if "natural_person" not in found or len(found) < 5:
        return {}
    if "total" in found:
        t_row, t_col = found["total"]
        clash = [k for k, (r, c) in found.items() if k != "total" and c == t_col]
        if clash and all(found[k][0] > t_row for k in clash):
            found["total"] = (t_row, max(c for k, (_r, c) in found.items() if k != "total") + 1)
    columns = [c for _r, c in found.values()]
    if len(set(columns)) != len(columns):
        return {}
    return {c: key for key, (_r, c) in found.items()}


def _no_total_column(layout: list[str], grid: dict[int, str], rows: list[list[str]]) -> bool:
    """Table 三 has no 总计 column at all: its header names none, or (rows read by position) no row, header
    or data, has a cell, even an empty one, past the 其他 column where 总计 would sit (a 总计 printed above
    其他 with no cells under it). A printed 总计 column whose cells are blank is not this."""
    if "total" not in layout:
        return True
    other = [c for c, key in grid.items() if key == "other"]
    return bool(other) and all(len(row) <= other[0] + 1 for row in rows)


def _starts_under_first_column(rec: Record, grid: dict[int, str]) -> bool:
    """A row whose values begin exactly under 自然人 and all sit under named columns: proof the grids align."""
    cells = [i for i, c in enumerate(rec.cells or []) if c]
    if rec.offset < 0 or not cells:
        return False
    positions = [rec.offset + i for i in cells]
    return positions[0] == min(grid) and all(p in grid for p in positions) and len(positions) >= 5


Columns = tuple[dict[str, Value], set[str]]  # a row's values by applicant column, and its columns read from blanks


def _positional(rec: Record, grid: dict[int, str]) -> Columns | None:
    """Values by grid position under the header; None unless every value cell sits under a named column.
    Blank cells under named columns of a row with a printed number are the template's 0."""
    if rec.offset < 0 or not grid or not rec.cells:
        return None
    out: dict[str, Value] = {}
    for i, cell in enumerate(rec.cells):
        if not cell:
            continue
        key = grid.get(rec.offset + i)
        if key is None:
            return None
        out[key] = parse_cell(cell).value
    if not any(v is not None for v in out.values()):
        return None
    blanks: set[str] = set()
    label_columns = set(range(rec.offset))  # a cell left of the values holds (part of) the label, not a blank
    for col, key in grid.items():
        if key not in out and col not in label_columns and col - rec.offset < len(rec.cells):
            out[key] = 0
            blanks.add(key)
    return out, blanks


# -- cells ---------------------------------------------------------------------------------------------
def _read_cells(stream: Stream, app_start: int, app_end: int, result: TableResult) -> None:
    active_start = stream.find(r"第二十条|信息内容")
    header_start = -1
    if app_start >= 0:
        header_start = next(
            (
                i
                for i in range(app_start - 1, max(app_start - 15, -1), -1)
                if re.search(r"勾稽|申请人情况", stream.folded[i])
            ),
            max(app_start - 3, 0),
        )
    active_stop = header_start if header_start > active_start else (app_start if app_start > 0 else len(stream.rows))
    active_text = "".join(stream.folded[max(active_start, 0) : active_stop]) if active_start >= 0 else ""
    app_text = "".join(stream.folded[app_start : app_end + 1]) if app_start >= 0 and app_end >= 0 else ""
    result.template = _template_of(active_text, app_text)
    template = result.template if result.template != "unknown" else "2021"
    if active_start >= 0 and active_start < active_stop:
        result.found.add("active")
        records = [split_row(r) for r in stream.rows[active_start:active_stop]]
        _read_active(records, template, result)
    if app_start < 0 or app_end < 0:
        return
    result.found.add("applications")
    header = "".join(stream.folded[header_start:app_start])
    layout = _layout(header)
    grid = header_grid(stream.rows[header_start:app_start])
    keys = application_rows(template)
    records: list[tuple[str, Record]] = []
    blank_rows: set[str] = set()  # rows printed with every cell blank: not given (a blank row is not a zero row)
    pointer = 0
    seen: set[str] = set()
    for row in stream.rows[app_start : app_end + 1]:
        rec = split_row(row)
        non_blank = [c for c in rec.cells or [] if c]
        if not non_blank:
            blank = match_application_label(rec.label, keys) if rec.label else None
            if (rec.cells or result.dropped_blanks) and blank is not None:
                blank_rows.add(blank)  # a grid row whose cells are all blank (a dump's label with no value lines)
            continue
        key = match_application_label(rec.label, keys) if rec.label else None
        if key is None:
            if len(non_blank) < 3:
                continue  # a stray number between fragments of a broken table
            while pointer < len(keys) and keys[pointer] in seen:
                pointer += 1
            if pointer >= len(keys):
                result.warn("unplaced_row", f"表三: a row of values with no label was left over: {non_blank}")
                continue
            key = keys[pointer]
            result.by_position.add(key)  # placed by template order, not by its label
        if key in seen:
            result.warn("duplicate_row", f"表三 {_LABEL_NAMES.get(key, key)}: given twice; the first is kept")
            continue
        seen.add(key)
        records.append((key, rec))
        pointer = keys.index(key) + 1
    # A table whose rows mostly have six values lacks a column (其他 or 总计), not a cell per row.
    widths = [len(_trim(rec.cells or [], 7)) for _, rec in records]
    if grid and not any(_starts_under_first_column(rec, grid) for _, rec in records):
        grid = {}  # the header is not on the data's grid (its label columns were dropped): positions mean nothing
    by_position = grid if 7 not in widths else {}
    result.total_column = not _no_total_column(layout, by_position, stream.rows[header_start : app_end + 1])
    if grid and 7 not in widths:
        shown = {k for k in grid.values() if k != "total" or result.total_column}  # no cells under 总计: not read
        named = "、".join(_COLUMN_NAMES[k] for k in catalogue.APPLICANT_COLUMN_KEYS if k in shown)
        result.warn("missing_column", f"表三 rows are read by their position under the header ({named})")
    elif len(layout) == 7 and 6 in widths and 7 not in widths and not result.dropped_blanks:
        layout = [*layout[:5], "?"]
        result.warn("missing_column", "表三 has six applicant columns but names seven; 其他 and 总计 are not read")
    elif len(layout) == 6:
        missing = "其他" if "other" not in layout else "总计"
        not_given = "; its values are not given" if missing == "其他" else ""  # totals: see _compute_totals
        result.warn("missing_column", f"表三 has no {missing} column{not_given}")
    assigned = {key: _app_values(rec, layout, grid, key, result) for key, rec in records}
    for key in keys:
        found = assigned.get(key)
        _store_app_row(result, key, found[0] if found else None, found[1] if found else ())
        if key not in assigned:
            why = "every cell blank, not given" if key in blank_rows else "row not found"
            result.warn("missing_value", f"表三 {_LABEL_NAMES.get(key, key)}: {why}")
    _settle_open(result, template, layout, blank_rows - seen)
    _reject_contradicted(result, template)
    _read_review_cells(stream, app_end + 1, result)


def _with_blanks(reading: tuple[list[Value], set[int]], layout: list[str]) -> Columns | None:
    values, blank_idx = reading
    columns = _as_columns(values, layout)
    if columns is None:
        return None
    if not blank_idx:
        return columns, set()
    names = catalogue.APPLICANT_COLUMN_KEYS if len(values) == 7 else layout
    return columns, {names[i] for i in blank_idx if i < len(names) and names[i] != "?"}


def _gap_row(rec: Record, layout: list[str], key: str, result: TableResult) -> Columns | None:
    """A row from a text dump that dropped its blank cells: fewer printed values than columns. The values keep
    their order; the blanks are 0s somewhere. Read only what every placement that keeps the row's identity
    agrees on (usually its 总计); its readings go to ``_settle_open``, which lets the whole table decide."""
    printed = [parse_cell(c).value for c in rec.cells or [] if c.strip()]
    n = len(layout)
    if not printed or len(printed) >= n or any(v is None for v in printed):
        return None
    readings = placements([v for v in printed if v is not None], n, layout[-1] == "total")
    if not readings:
        return None
    result.open_rows[key] = (readings, f"{len(printed)} values for {n} columns (blank cells dropped)")
    return _agreed_columns(readings, layout)


def _agreed_columns(readings: list[Candidate], layout: list[str]) -> Columns | None:
    """What every reading of a row agrees on, and its cells that may have been blank (the 0s)."""
    values = agreed([r.values for r in readings])
    if all(v is None for v in values):
        return None
    blanks = {layout[i] for r in readings for i in r.unprinted if values[i] == 0} - {"total"}
    return {col: v for col, v in zip(layout, values, strict=True)}, blanks


def _equations(template: str, known) -> list[list[tuple[str, int, int]]]:
    """Table 三's identities per applicant column (一+二 = （七）+四; （七） = Σ outcome items) as equations
    Σ coefficient × cell = 0, only those whose every cell ``known(row, column index)`` is."""
    from indexer.checks import outcome_item_keys  # checks reads metrics; tables only borrows its row list

    items = outcome_item_keys(template)
    out: list[list[tuple[str, int, int]]] = []
    for i in range(len(catalogue.APPLICANT_COLUMN_KEYS)):
        balance = [("applications.new", i, 1), ("applications.carried_over", i, 1),
                   ("outcomes.total", i, -1), ("applications.carried_forward", i, -1)]  # fmt: skip
        outcome = [*((row, i, 1) for row in items), ("outcomes.total", i, -1)]
        out.extend(eq for eq in (balance, outcome) if all(known(row, j) for row, j, _c in eq))
    return out


def _settle_open(result: TableResult, template: str, layout: list[str], blank_rows: set[str]) -> None:
    """Rows read several ways (``open_rows``), settled together by the table's identities: a cell is read when
    every combination of readings under which the identities hold gives it the same value; the rest stay None
    with a warning saying why. No combination holding (the report's own sums fail) keeps each row's own
    agreement; a search past its budget publishes nothing more."""
    open_rows, result.open_rows = result.open_rows, {}
    if not open_rows:
        return
    cols = catalogue.APPLICANT_COLUMN_KEYS
    outcome: str = ""
    if list(layout) == list(cols):
        rows: dict[str, list[Candidate]] = {k: r for k, (r, _how) in open_rows.items()}

        def known(row: str, i: int) -> bool:
            return row in rows or row in blank_rows or result.metrics.get(f"{row}.{cols[i]}") is not None

        equations = _equations(template, known)
        for row in {row for eq in equations for row, _i, _c in eq} - set(rows):
            if row in blank_rows:  # printed blank throughout: its cells are the template's 0s (still not given)
                rows[row] = [Candidate((0,) * len(cols))]
            else:  # read exactly (a cell no equation uses may be None: any number stands in for it)
                rows[row] = [Candidate(tuple(result.metrics.get(f"{row}.{c}") or 0 for c in cols))]
        found = align(rows, equations, MAX_STEPS)
        if found.capped:
            outcome = f"the search for readings under which the table adds up stopped after {MAX_STEPS} steps"
            result.warn("alignment_capped", f"表三: {outcome}; only what each row alone says is read")
        elif not found.solutions:
            outcome = "no reading makes the table's identities hold"
        else:
            outcome = f"{found.solutions} readings under which the table adds up differ there"
            for key in open_rows:
                _store_aligned(result, key, found.values[key], found.unprinted[key], open_rows[key][0])
    for key, (_readings, how) in open_rows.items():
        unread = [_COLUMN_NAMES[c] for c in cols if result.metrics.get(f"{key}.{c}") is None]
        if unread:
            why = outcome or "the table's identities cannot place them (its layout is not the template's)"
            result.warn(
                "ambiguous_value",
                f"表三 {_LABEL_NAMES.get(key, key)}: {how}; {'、'.join(unread)} not read: {why}",
            )


def _store_aligned(
    result: TableResult, key: str, values: list[Value], unprinted: set[int], readings: list[Candidate]
) -> None:
    """An open row as the identities settled it: cells not printed and proven 0 are ``blank_zero``; a lost cell
    proven non-zero is ``computed``; cells the row alone could not place but the table did are ``aligned``."""
    cols = catalogue.APPLICANT_COLUMN_KEYS
    if all(v is None for v in values):
        return
    alone = agreed([r.values for r in readings])
    _store_app_row(result, key, dict(zip(cols, values, strict=True)))
    for i, col in enumerate(cols):
        metric = f"{key}.{col}"
        if values[i] is None:
            continue
        if i in unprinted:  # a dropped blank or a lost cell in some consistent reading
            (result.blank_zero if values[i] == 0 else result.computed).append(metric)
        if alone[i] is None:
            result.aligned.append(metric)
    settled = [_COLUMN_NAMES[c] for i, c in enumerate(cols) if alone[i] is None and values[i] is not None]
    if settled:
        result.warn(
            "resolved_by_identities",
            f"表三 {_LABEL_NAMES.get(key, key)}: {'、'.join(settled)} placed by the table's identities (every reading "
            "under which 一+二 = （七）+四 and （七） = the sum of the items hold gives "
            f"{','.join('' if v is None else f'{v:g}' for v in values)}); listed in aligned",
        )


@cache
def _identity_keys(template: str) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...], str], ...]:
    """Per applicant column: (column, 一 and 二 keys, （七） and 四 keys, outcome item keys, （七） key)."""
    from indexer.checks import outcome_item_keys  # checks reads metrics; tables only borrows its row list

    items = outcome_item_keys(template)
    return tuple(
        (
            col,
            (f"applications.new.{col}", f"applications.carried_over.{col}"),
            (f"outcomes.total.{col}", f"applications.carried_forward.{col}"),
            tuple(f"{row}.{col}" for row in items),
            f"outcomes.total.{col}",
        )
        for col in catalogue.APPLICANT_COLUMN_KEYS
    )


def _failing_columns(metrics: dict[str, Value], template: str) -> set[str]:
    """Applicant columns where 一+二 = （七）+四 or （七） = the sum of the outcome items fails (checks.py's
    balance.* and outcomes.* identities, computed directly: this runs on every table read by position)."""
    get = metrics.get
    failed: set[str] = set()
    for col, left_keys, right_keys, item_keys, total_key in _identity_keys(template):
        left = [get(k) for k in left_keys]
        right = [get(k) for k in right_keys]
        if None not in left and None not in right and abs(sum(left) - sum(right)) > 1e-6:  # type: ignore[arg-type]
            failed.add(col)
        parts = [get(k) for k in item_keys]
        total = get(total_key)
        if total is not None and None not in parts and abs(sum(parts) - total) > 1e-6:  # type: ignore[arg-type]
            failed.add(col)
    return failed


def _reject_contradicted(result: TableResult, template: str) -> None:
    """Rows read by position stand only if the table's identities do not contradict them: in each column where
    一+二 = （七）+四 or （七） = the sum of the items fails, the positional rows with a value there are unread."""
    if not result.by_position:
        return
    failed = _failing_columns(result.metrics, template)
    if not failed:
        return
    if result.short_rows:  # a conversion lost one cell of these rows: which one, the identities may tell
        for key, printed in result.short_rows.items():
            result.open_rows[key] = (lost_cell(printed, 7), "read by position one cell short, the identities fail")
        _settle_open(result, template, list(catalogue.APPLICANT_COLUMN_KEYS), set())
        failed = _failing_columns(result.metrics, template)
        if not failed:
            return
    involved = [
        k for k in sorted(result.by_position) if any(result.metrics.get(f"{k}.{c}") is not None for c in failed)
    ]
    # Rows short of a cell are the likelier culprits: when there are such rows, only they go.
    short = [k for k in involved if any(result.metrics.get(f"{k}.{c}") is None for c in catalogue.APPLICANT_PARTS)]
    for key in short or involved:
        cols = [c for c in failed if result.metrics.get(f"{key}.{c}") is not None]
        _store_app_row(result, key, None)
        if key in result.read_rows:
            result.read_rows.remove(key)
        result.warn(
            "position_contradicted",
            f"表三 {_LABEL_NAMES.get(key, key)}: read by position, but the table's identities fail in "
            f"{'、'.join(_COLUMN_NAMES[c] for c in sorted(cols))}; not read",
        )


def _app_values(rec: Record, layout: list[str], grid: dict[int, str], key: str, result: TableResult) -> Columns | None:
    """A row's values: all seven, else by position under the header, else by the table's six-column layout."""
    seven = _cells_reading(rec.cells or [], 7)
    if seven is not None:
        return _with_blanks(seven, layout)
    if result.dropped_blanks:  # cell counts say nothing about columns: only the identities place the values
        return _gap_row(rec, layout, key, result)
    by_position = _positional(rec, grid)
    if by_position is not None:
        result.by_position.add(key)
        printed = [parse_cell(c).value for c in _trim(rec.cells or [], 7)]
        if len(layout) == 7 and len(printed) == 6 and None not in printed:  # a row one cell short, none blank
            result.short_rows[key] = [v for v in printed if v is not None]
        return by_position
    if len(layout) == 6 and (six := _cells_reading(rec.cells or [], 6)) is not None:
        result.by_position.add(key)
        return _with_blanks(six, layout)
    if rec.offset < 0 and (gaps := _gap_row(rec, layout, key, result)) is not None:
        return gaps
    printed = [parse_cell(c).value for c in _trim(rec.cells or [], 7)]
    if layout == list(catalogue.APPLICANT_COLUMN_KEYS) and len(printed) == 6 and None not in printed:
        # one cell short in a seven-column table, no header grid to place it: which cell the conversion lost,
        # and so where each value sits, only the table's identities can tell (``_settle_open``)
        readings = lost_cell([v for v in printed if v is not None], 7)
        if readings:
            result.open_rows[key] = (readings, "6 cells for 7 columns (a cell lost in conversion)")
            return _agreed_columns(readings, layout)
    result.warn(
        "cell_count",
        f"表三 {_LABEL_NAMES.get(key, key)}: {len(_trim(rec.cells or [], 7))} cells for "
        f"{len(layout)} columns; which column is missing is unknown, values not read",
    )
    return None


def _read_active(records: list[Record], template: str, result: TableResult) -> None:
    columns = _active_columns(template)
    for rec in records:
        key = _active_key(rec.label, template)
        if key is None or f"{key}._seen" in result.metrics:
            continue
        cols = columns[key]
        non_blank = [c for c in rec.cells or [] if c]
        reading = _cells_reading(rec.cells or [], len(cols))
        values, blanks = reading if reading is not None else (None, set())
        if values is None and non_blank and len(non_blank) == len(cols):
            values = [parse_cell(c).value for c in non_blank]
        result.blank_zero.extend(f"{key}.{cols[i][0]}" for i in sorted(blanks))
        if values is None:
            result.warn(
                "cell_count",
                f"表二 {_ACTIVE_NAMES[key]}: {len(non_blank)} values for {len(cols)} columns; not read",
            )
        for i, (col, _kind) in enumerate(cols):
            result.metrics[f"{key}.{col}"] = values[i] if values is not None else None
        result.metrics[f"{key}._seen"] = 1


@lru_cache(maxsize=8192)  # the template's row labels, matched in every report
def _active_key(label: str, template: str) -> str | None:
    """The table-二 row a label names, among the template's rows."""
    columns = _active_columns(template)
    folded = fold(label)
    return next((k for k, _ in _ACTIVE_LABELS if k in columns and _ACTIVE_RE[k].search(folded)), None)


_REVIEW_KEYS = [f"{g}.{c}" for g, _ in catalogue.REVIEW_GROUPS for c, _ in catalogue.REVIEW_COLUMNS]
_CJK = re.compile(r"[\u4e00-\u9fff]")
# "本年度未发生行政复议、行政诉讼", "没有发生因政府信息公开引起的行政复议和行政诉讼": the text states zeros.
_NONE_HAPPENED = r"(?:未|没有|无)(?!经|审)(?:发生|收到|出现|产生|涉及)?[^。；;，,]{0,14}?"
_NO_REVIEW_NOR_LITIGATION = re.compile(_NONE_HAPPENED + r"行政复议[^。；;]{0,6}?行政诉讼")
_NO_REVIEW = re.compile(_NONE_HAPPENED + r"行政复议")
_NO_LITIGATION = re.compile(_NONE_HAPPENED + r"行政诉讼")


def _read_review_cells(stream: Stream, start: int, result: TableResult) -> None:
    """Table 四 after table 三: its own rows only (from its 行政复议 header on, never table 三's last values).

    One row of 15 cells is the grid (blank cells are its 0s). Values gathered from several rows, or fewer than
    15 (a dump dropped the blank cells), are accepted only as far as the groups' identities (four results add
    up to 总计) pin them down; the rest None with a warning."""
    head = stream.find(r"行政复议", start)
    if head < 0:
        _store_review(result, None, "table not found")
        return
    stop = stream.find(r"存在的主要问题|其他需要报告|^五[、.]|^\(一\)", head + 1)
    stop = stop if stop >= 0 else min(len(stream.rows), head + 40)
    printed: list[str] = []
    rows_used = 0
    for row in stream.rows[head:stop]:
        rec = split_row(row)
        cells = rec.cells or []
        values = [c for c in cells if c.strip()]
        if rec.label and _CJK.search(rec.label) and len(values) < 5:
            continue  # a header row
        if not values:
            continue
        grid = cells if not rec.label and len(cells) == 15 else _trim(cells, 15)
        if not printed and len(grid) == 15:
            reading = _cells_reading(grid, 15)
            if reading is not None:
                _store_review(result, reading[0], "")
                result.blank_zero.extend(_REVIEW_KEYS[i] for i in sorted(reading[1]))
                return
        if len(printed) + len(values) > 15:
            break
        printed.extend(values)
        rows_used += 1
        if len(printed) == 15:
            break
    if printed:
        _review_from_values([parse_cell(c).value for c in printed], rows_used, result)
        return
    sentences = [f for r, f in zip(stream.rows[head:stop], stream.folded[head:stop], strict=True) if len(r) == 1]
    if _review_from_text(" ".join(f for f in sentences if "结果维持" not in f), result):
        return
    _store_review(result, None, "table not found")


def _review_from_values(values: list[Value], rows_used: int, result: TableResult) -> None:
    check = groups_sum(5)
    if len(values) == 15 and all(v is not None for v in values):
        numbers = [v for v in values if v is not None]
        if rows_used == 1 or check(numbers):
            _store_review(result, values, "")
        else:
            _store_review(result, None, f"15 values from {rows_used} rows do not add up per group: {numbers}")
        return
    if len(values) == 15 or any(v is None for v in values):
        _store_review(result, values if len(values) == 15 else None, "placeholders among fewer than 15 values")
        return
    numbers = [v for v in values if v is not None]
    readings = gap_readings(numbers, 15, check)
    agreed_values = agreed([r for r, _b in readings])
    if not agreed_values or all(v is None for v in agreed_values):
        _store_review(result, None, f"{len(values)} values for 15 cells, no single placement adds up: {numbers}")
        return
    result.found.add("review")
    blanks = {i for _r, b in readings for i in b if agreed_values[i] == 0}
    for i, key in enumerate(_REVIEW_KEYS):
        result.metrics[key] = agreed_values[i]
        if i in blanks:
            result.blank_zero.append(key)
    unread = [key for key, v in zip(_REVIEW_KEYS, agreed_values, strict=True) if v is None]
    if unread:
        result.warn(
            "ambiguous_value",
            f"表四: {len(values)} values for 15 cells (blank cells dropped); not read: {', '.join(unread)}",
        )


def _review_from_text(text: str, result: TableResult) -> bool:
    """Table 四 replaced by a sentence saying nothing happened: its zeros, marked as read from the text."""
    if _NO_REVIEW_NOR_LITIGATION.search(text):
        keys = _REVIEW_KEYS
    elif _NO_REVIEW.search(text):
        keys = _REVIEW_KEYS[:5]
    elif _NO_LITIGATION.search(text):
        keys = _REVIEW_KEYS[5:]
    else:
        return False
    result.found.add("review")
    for key in _REVIEW_KEYS:
        result.metrics[key] = 0 if key in keys else None
    result.from_text.extend(keys)
    result.warn(
        "from_text",
        "表四未列数字，报告文字说明未发生行政复议/行政诉讼，相应数值记为 0 / table 四 gives no numbers; the text "
        f"says none happened, so {len(keys)} value(s) are 0 as stated in the text",
    )
    if len(keys) < 15:
        result.warn("missing_value", "表四: the text speaks of only one of 行政复议 / 行政诉讼; the other is not given")
    return True


def _store_review(result: TableResult, values: list[Value] | None, why: str) -> None:
    if values is not None:
        result.found.add("review")
    else:
        result.warn("missing_value", f"表四: 15 numbers not read ({why or 'incomplete'})")
    for i, key in enumerate(_REVIEW_KEYS):
        result.metrics[key] = values[i] if values is not None else None


# -- flattened -------------------------------------------------------------------------------------------
def _leading_run(segment: str) -> str:
    """The digits of a row in flattened text: skip the label's tail, stop at the next text, and drop
    the next item's number ("00000002." → "0000000")."""
    m = re.search(r"\d", segment)
    if m is None:
        return ""
    head = segment[: m.start()]
    start = m.start() - 1 if head and head[-1] == "-" else m.start()
    run = _RUN_CHARS.match(segment, start).group(0)  # type: ignore[union-attr]
    after = segment[start + len(run) :]
    if run.endswith(".") or run.endswith("、"):
        run = re.sub(r"\d[.、]$", "", run)
    elif after[:1] == "、":
        run = run[:-1]
    return run.strip()


def _read_flattened(text: str, result: TableResult) -> None:
    app_at = text.find("本年新收")
    header_at = max(text.rfind("勾稽", 0, app_at), text.rfind("申请人情况", 0, app_at))
    active_at = text.find("第二十条")
    end_at = text.find("结转下年", app_at)
    active_text = text[active_at : header_at if header_at > active_at else app_at] if 0 <= active_at < app_at else ""
    result.template = _template_of(active_text, text[app_at:end_at])
    template = result.template if result.template != "unknown" else "2021"
    if active_text:
        result.found.add("active")
        _read_active_flat(active_text, template, result, text.replace(active_text, ""))
    result.found.add("applications")
    header = text[header_at:app_at] if header_at >= 0 else ""
    layout = _layout(header)
    result.total_column = "total" in layout
    columns = [INT] * len(layout)
    accept = sums_to_last if layout[-1] == "total" else None
    keys = application_rows(template)
    anchors: list[tuple[str, int, int]] = []
    pos = app_at
    for key in keys:
        m = _FLAT_ANCHOR[key].search(text, pos)
        if m is None:
            continue
        anchors.append((key, m.start(), m.end()))
        pos = m.end()
    review_at = text.find("行政复议", anchors[-1][2] if anchors else app_at)
    for i, (key, _start, end) in enumerate(anchors):
        stop = anchors[i + 1][1] if i + 1 < len(anchors) else (review_at if review_at > 0 else len(text))
        segment = text[end:stop]
        if i + 1 < len(anchors) and anchors[i + 1][0] == "outcomes.other.other":
            segment += text[stop : stop + 2]  # its "3." anchor swallowed the item number
        run = _leading_run(segment)
        reading = _run_values(run, columns, accept)
        values, why = reading.values, reading.why
        if values is None and not reading.readings and (gap := _gap_run(run, len(layout), accept)) is not None:
            result.open_rows[key] = (gap, f"digits {run!r} are fewer than the cells (blank cells dropped)")
            found = _agreed_columns(gap, layout)
            _store_app_row(result, key, found[0] if found else None, found[1] if found else ())
            continue
        if values is None and reading.readings:
            result.open_rows[key] = ([Candidate(tuple(r)) for r in reading.readings], f"digits {run!r} run together")
        elif values is None:
            result.warn("missing_value", f"表三 {_LABEL_NAMES.get(key, key)}: {why or 'no values'} ({run!r})")
        _store_app_row(result, key, _as_columns(values, layout))
    for key in keys:
        if key not in {a[0] for a in anchors}:
            _store_app_row(result, key, None)
            result.warn("missing_value", f"表三 {_LABEL_NAMES.get(key, key)}: row not found")
    _settle_open(result, template, layout, set())
    if review_at < 0:
        _store_review(result, None, "table not found")
        return
    section_end = re.compile(r"存在的主要问题|其他需要报告|五[、.]\s*(?:政府信息公开工作)?存在")
    end = section_end.search(text, review_at)
    review_text = text[review_at : end.start() if end else len(text)]  # never a 总计 of the prose after it
    m = re.search(r"总计\s*(?=[\d\-])", review_text)
    if m is None:
        if not _review_from_text(fold(review_text), result):
            _store_review(result, None, "no numbers after the header")
        return
    run = _leading_run(review_text[m.end() :])
    reading = _run_values(run, [INT] * 15, groups_sum(5))
    values, why = reading.values, reading.why
    if values is None and not reading.readings and (gap := _gap_run(run, 15, groups_sum(5))) is not None:
        values = agreed([r.values for r in gap])
        blanks = sorted({i for r in gap for i in r.unprinted if values[i] == 0})
        result.blank_zero.extend(_REVIEW_KEYS[i] for i in blanks)
        unread = [key for key, v in zip(_REVIEW_KEYS, values, strict=True) if v is None]
        if unread:
            result.warn(
                "ambiguous_value",
                f"表四: digits {run!r} are fewer than the cells (blank cells dropped); not read: {', '.join(unread)}: "
                f"{len(gap)} placements keep each group's results adding up to its 总计 and differ there",
            )
        result.found.add("review")
        for i, key in enumerate(_REVIEW_KEYS):
            result.metrics[key] = values[i]
        return
    if values is None:
        code = "ambiguous_value" if why and why.startswith("ambiguous") else "missing_value"
        result.warn(code, f"表四: {why} ({run!r})")
    _store_review(result, values, why or "")


MAX_GAP_READINGS = 50_000


def _gap_run(run: str, n: int, accept) -> list[Candidate] | None:
    """A flattened run with fewer digits than cells ("…数量11" under seven columns): the dump dropped blank
    cells. Every cut of the digits into fewer numbers, placed in order with 0s between, that keeps the row's
    identity. None when nothing fits (or too many ways to try)."""
    digits = normalize(run).replace(" ", "").replace(",", "")
    if not digits or not digits.isdigit() or len(digits) >= n * 2:
        return None
    readings: dict[tuple[float | int, ...], set[int]] = {}
    # Table 四's fifteen cells: only one-digit cells (its usual counts), or the cuts multiply past any budget.
    lengths = range(1, min(len(digits), n - 1) + 1) if n <= 7 else [len(digits)] if len(digits) < n else []
    for k in lengths:
        for cut in split_run(digits, [INT] * k):
            for row, blanks in gap_readings(cut, n, accept):
                readings.setdefault(tuple(row), set()).update(blanks)
            if len(readings) > MAX_GAP_READINGS:
                return None
    return [Candidate(row, frozenset(b)) for row, b in readings.items()] or None


def _read_active_flat(text: str, template: str, result: TableResult, narrative: str = "") -> None:
    columns = active_columns(template)
    anchors: list[tuple[str, int, int]] = []
    for key, _ in _ACTIVE_LABELS:
        if key not in columns:
            continue
        m = _ACTIVE_RE[key].search(text)
        if m:
            anchors.append((key, m.start(), m.end()))
    anchors.sort(key=lambda a: a[1])
    for key in columns:
        if key not in {a[0] for a in anchors} and key != "active.other_services":
            result.warn("missing_value", f"表二 {_ACTIVE_NAMES[key]}: row not found")
    for i, (key, _start, end) in enumerate(anchors):
        stop = anchors[i + 1][1] if i + 1 < len(anchors) else len(text)
        segment = text[end:stop]
        m = re.match(r"[^\d\-]{0,12}?(-?\d[\d.,\-\s]*)", segment)
        run = m.group(1).strip().rstrip(".,") if m else ""
        cols = columns[key]
        reading = _run_values(run, [c for _, c in cols])
        values, why = reading.values, reading.why
        if values is None and reading.readings and narrative:
            values = confirmed_by_text(reading.readings, _ACTIVE_NAMES[key].removeprefix("行政"), narrative)
            if values is not None:
                result.warn(
                    "resolved_from_text",
                    f"表二 {_ACTIVE_NAMES[key]}: digits {run!r} run together; the reading "
                    f"{','.join(str(v) for v in values)} is the one the report's text states",
                )
        if values is None:
            code = "ambiguous_value" if why and why.startswith("ambiguous") else "missing_value"
            result.warn(code, f"表二 {_ACTIVE_NAMES[key]}: {why} ({run!r})")
            if reading.readings:  # what every reading agrees on ("156-5997": 上一年项目数量 is 156 whatever the cut)
                values = agreed(reading.readings)
        for j, (col, _kind) in enumerate(cols):
            result.metrics[f"{key}.{col}"] = values[j] if values is not None else None
        result.metrics[f"{key}._seen"] = 1


# -- completion ----------------------------------------------------------------------------------------
def _compute_totals(result: TableResult) -> None:
    """Table 三 printed without a 总计 column: a row's total is the sum of its six applicant columns, when all
    six were read. Listed in ``computed`` and warned, so it is never taken for a printed (and checked) total."""
    if result.total_column or "applications" not in result.found:
        return
    rows = application_rows(result.template if result.template != "unknown" else "2021")
    if any(result.metrics.get(f"{row}.total") is not None for row in rows):
        return  # a row gave a 总计 after all: the layout was misread, so nothing is computed
    done: list[str] = []
    for row in rows:
        parts = [result.metrics.get(f"{row}.{col}") for col in catalogue.APPLICANT_PARTS]
        if any(p is None for p in parts):
            continue
        result.metrics[f"{row}.total"] = sum(p for p in parts if p is not None)
        result.computed.append(f"{row}.total")
        done.append(_LABEL_NAMES.get(row, row))
    if done:
        result.warn(
            "computed_total",
            f"表三未列总计栏，以下 {len(done)} 行的总计由 nianbao 按六个申请人列相加得出，非报告原文 / "
            f"table 三 has no 总计 column: the totals of {len(done)} row(s) are computed as the sum of the six "
            f"applicant columns, not printed in the report: {'; '.join(done)}",
        )


def _finish(result: TableResult) -> None:
    """Drop bookkeeping keys, add every catalogue metric (None when not given) and the derived subtotals."""
    _warn_blanks(result)
    for key in [k for k in result.metrics if k.endswith("._seen")]:
        del result.metrics[key]
    template = result.template
    metrics = result.metrics
    for key in _BASE_KEYS:
        if key not in metrics:
            metrics[key] = None
    for source, target in catalogue.HARMONISED.items():
        if result.metrics.get(target) is None and result.metrics.get(source) is not None:
            result.metrics[target] = result.metrics[source]
            if source in result.blank_zero:
                result.blank_zero.append(target)
    if "active" in result.found:
        expected = {
            f"{row}.{col}"
            for row, cols in active_columns(template if template != "unknown" else "2021").items()
            for col, _ in cols
        }
        missing = [k for k in sorted(expected) if result.metrics.get(k) is None]
        if missing and not any(w[1].startswith("表二") for w in result.warnings):
            result.warn("missing_value", f"表二: not given: {', '.join(missing)}")
    get = metrics.get
    for cat, totals in _CATEGORY_TOTALS:
        if cat == "other" and template == "2019":
            continue  # the 2019 template's 其他处理 is one row, read as outcomes.other.total
        for total_key, item_keys in totals:
            parts = [get(k) for k in item_keys]
            total = None if None in parts else sum(parts)  # type: ignore[arg-type]
            metrics[total_key] = total
            if total is not None and result.computed and any(k in result.computed for k in item_keys):
                result.computed.append(total_key)  # a sum of computed totals is computed too
    for key in [k for k in metrics if k not in _METRIC_ORDER]:
        del metrics[key]
    result.computed = _in_catalogue_order(set(result.computed))
    result.aligned = _in_catalogue_order({k for k in result.aligned if get(k) is not None})  # unread later: gone
    for marks in (result.blank_zero, result.from_text):  # catalogue order, only keys that hold a 0
        if marks:
            marks[:] = _in_catalogue_order({k for k in marks if get(k) == 0})
    if result.blank_zero:
        result.warn(
            "blank_zero",
            f"{len(result.blank_zero)} 个空白单元格按模板读作 0 / {len(result.blank_zero)} blank cell(s) of filled "
            "rows read as 0 (the template's zero), listed in blank_zero",
        )


_METRIC_ORDER = {m.key: i for i, m in enumerate(catalogue.metrics())}
_BASE_KEYS = tuple(m.key for m in catalogue.metrics() if not m.derived)
# Per outcome category, per applicant column: (its total's key, its items' keys).
_CATEGORY_TOTALS = tuple(
    (
        cat,
        tuple(
            (f"outcomes.{cat}.total.{col}", tuple(f"outcomes.{cat}.{item}.{col}" for item, _ in items))
            for col in catalogue.APPLICANT_COLUMN_KEYS
        ),
    )
    for cat, _label, items in catalogue.OUTCOME_CATEGORIES
)


def _in_catalogue_order(keys: set[str]) -> list[str]:
    """The catalogue's metric keys among ``keys``, in catalogue order."""
    return sorted((k for k in keys if k in _METRIC_ORDER), key=_METRIC_ORDER.__getitem__)


def _warn_blanks(result: TableResult) -> None:
    """One warning per set of table-三 columns left blank, naming the rows (computed totals are not blank)."""
    blanks: dict[str, list[str]] = {}
    get = result.metrics.get
    for key in result.read_rows:
        if None not in (values := [get(metric) for _col, metric in _row_metrics(key)]):
            continue  # the usual row: every cell read
        blank = [name for (_col, name), v in zip(catalogue.APPLICANT_COLUMNS, values, strict=True) if v is None]
        if blank:
            blanks.setdefault("、".join(blank), []).append(_LABEL_NAMES.get(key, key))
    for columns, rows in blanks.items():
        result.warn("missing_value", f"表三 {columns} not given in {len(rows)} row(s): {'; '.join(rows)}")
