"""The bundled offline demo government website, built in memory and served on 127.0.0.1.

``build_site(version)`` returns every page (path → bytes, content type, validators); ``DemoSite`` serves
them from a background thread; ``expected_reports`` tells end-to-end tests what the site publishes.

What a crawler meets here, on purpose: paginated list pages (``index.html``, ``index_1.html`` …) with
下一页 and numbered links, per-county sub-columns, report pages with real tables, a GBK page (declared in
``<meta charset>`` and in Content-Type), a report published only as a PDF attachment and one only as
DOCX, the five real seed reports, non-report pages that mention 政府信息公开, a robots.txt-disallowed
report-like draft, ETag/Last-Modified with 304s, and a ``version`` knob: in version 2 one report is
silently edited and another one is gone (404 and no longer listed).

Beyond the TRS column (``column="trs"`` in ``expected_reports``), shapes real sites use (``demo.columns``): a
大汉 JCMS column whose later records come from dataproxy.jsp (``jcms``), reports published only as files behind
a pdf.js viewer, iframe, object/embed, window.open, data-href or download.jsp named by Content-Disposition
(``files``; one file also behind a second route, and a download that is not a report), a directory of
department and township columns (``directory``) and a list filled by JavaScript (``js``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from functools import cache
from html import escape
from typing import Any

from crawler.file_links import disposition_header
from demo import columns, render
from demo.generator import GeneratedReport, SectionText, make_report
from demo.render import PageChrome, page_html
from demo.seeds import SEEDS, Seed, seed_article_html, seed_metrics
from demo.universe import DEMO_COUNTIES, AgencySpec, demo_agencies
from indexer.document import Agency, Region, agency_id

DEMO_SEED = 2024
PAGE_SIZE = 20
SITE_NAME = "豫闽政务公开示范网"
DOMAIN = "www.demo-zwgk.gov.cn"
COLUMN = "/zfxxgk/ndbg/"
NOTICE_PATH = "/zfxxgk/tzgg/202501/t20250106_90011.html"
GUIDE_PATH = "/zfxxgk/zn/index.html"
DIRECTORY = "/zfxxgk/bmnb/"  # a directory of department and township 年报 columns
FILES_COLUMN = "/lsx/ndbg/"  # reports published only as files
JS_COLUMN = "/ajx/ndbg/"  # a list filled by JavaScript from list.json
DOWNLOAD = "/module/download/download.jsp"
JCMS_COLUMN = f"/col/col{columns.JCMS_COL}/index.html"
DECOY_DOWNLOAD = 900_001  # download.jsp?id= of a file that is not a report (the 公开指南)
DISALLOWED = "/zfxxgk/ndbg/ysb/"  # 预审版 drafts: robots.txt forbids crawling them
CST = timezone(timedelta(hours=8))
EDIT_TIME = datetime(2026, 4, 15, 10, 0, tzinfo=CST)  # version 2: after every publication (Jan–Mar 2026)

COUNTY_SLUGS: dict[str, str] = {
    "鲁山县": "lushan",
    "湛河区": "zhanhe",
    "郏县": "jiaxian",
    "叶县": "yexian",
    "宝丰县": "baofeng",
    "卢氏县": "lushi",
    "闽侯县": "minhou",
    "安溪县": "anxi",
}


@dataclass(frozen=True, slots=True)
class Page:
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)  # ETag, Last-Modified
    modified: datetime = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ExpectedReport:
    """The truth about one report on the site, for end-to-end checks."""

    url: str  # the report itself: its page, or its attachment for PDF/DOCX-only reports
    path: str
    page_path: str  # the HTML page that lists/links it (same as path for HTML reports)
    title: str
    agency: Agency
    region: Region
    year: int
    published: str  # ISO date
    template: str
    source_format: str  # "html", "pdf" or "docx"
    encoding: str
    metrics: dict[str, int | float | None]  # None: the report's text does not say (seeds with dropped cells)
    kind: str  # "generated" or "seed"
    edited: bool = False  # differs in version 2 (silent edit)
    column: str = "trs"  # how the site lists it: trs, jcms, files, directory, js (see ``demo.columns``)
    route: str = ""  # files column: how the file is reached (viewer, iframe, object, window.open, …)


@dataclass(slots=True)
class _Entry:
    """One published report and how the site publishes it."""

    report: GeneratedReport | None
    seed: Seed | None
    agency: AgencySpec
    year: int
    title: str
    published: date
    doc_id: int
    fmt: str = "html"  # html, pdf, docx
    encoding: str = "utf-8"
    edited: bool = False
    column: str = "trs"
    route: str = ""  # files column: how the file is reached
    col_slug: str = ""  # directory column: the agency's own column

    @property
    def county(self) -> str:
        return self.agency.county

    @property
    def page_path(self) -> str:
        """The HTML page of the report, or for file-only publications the page that shows or lists the file."""
        d = self.published
        if self.column == "jcms":
            return f"/art/{d.year}/{d.month}/{d.day}/art_{columns.JCMS_COL}_{self.doc_id}.html"
        if self.column == "directory":
            return f"{DIRECTORY}{self.col_slug}/{d:%Y%m}/t{d:%Y%m%d}_{self.doc_id}.html"
        if self.column == "js":
            return f"{JS_COLUMN}art/{d:%Y%m}/{self.doc_id}.html"
        if self.column == "files":
            if self.route in ("iframe", "object"):
                return f"{FILES_COLUMN}{d:%Y%m}/t{d:%Y%m%d}_{self.doc_id}.html"
            return FILES_COLUMN + "index.html"
        return f"{COLUMN}{COUNTY_SLUGS[self.county]}/{d:%Y%m}/t{d:%Y%m%d}_{self.doc_id}.html"

    @property
    def attachment_path(self) -> str:
        d = self.published
        if self.column == "files":
            if self.route.startswith("dl-"):
                return f"{DOWNLOAD}?id={self.doc_id}"
            return f"/uploadfile/{d:%Y%m}/{hashlib.sha1(str(self.doc_id).encode()).hexdigest()[:16]}.{self.fmt}"
        name = f"P0{d:%Y%m%d}{self.doc_id:06d}{self.doc_id % 997:03d}.{self.fmt}"  # TRS attachment naming
        return f"{COLUMN}{COUNTY_SLUGS[self.county]}/{d:%Y%m}/{name}"

    @property
    def report_path(self) -> str:
        return self.page_path if self.fmt == "html" else self.attachment_path


# -- the publication plan ------------------------------------------------------------------------------


def _seed_years() -> set[tuple[str, int]]:
    return {(s.agency.normalized_name, s.year) for s in SEEDS}


@cache
def _plan() -> tuple[tuple[AgencySpec, int], ...]:
    """Which agency publishes which years (deterministic; never an agency-year a seed already covers)."""
    rng = random.Random(f"nianbao/demo-site/{DEMO_SEED}")
    taken = _seed_years()
    plan: list[tuple[AgencySpec, int]] = []
    for agency in demo_agencies():
        if agency.type == "人民政府":
            years = rng.sample(range(2019, 2026), 4)
        elif agency.type == "部门":
            years = rng.sample(range(2019, 2026), rng.randint(2, 3))
        else:
            years = rng.sample(range(2021, 2026), 1)
        plan.extend((agency, y) for y in sorted(years) if (agency.normalized_name, y) not in taken)
    return tuple(plan)


# The columns beyond the TRS one: (column, county, how many, routes); see ``demo.columns``.
FILE_ROUTES: tuple[tuple[str, str], ...] = (
    ("viewer", "pdf"),  # also reachable as download.jsp?id=… (RFC 5987 name): one file, two routes
    ("iframe", "pdf"),
    ("object", "pdf"),
    ("window.open", "docx"),
    ("data-href", "docx"),
    ("dl-gbk", "docx"),
    ("dl-percent", "pdf"),
)
JCMS_COUNTY, FILES_COUNTY, DIRECTORY_COUNTY, JS_COUNTY = "闽侯县", "卢氏县", "鲁山县", "安溪县"
JCMS_REPORTS = 13
JS_REPORTS = 3


@cache
def _extra_plan() -> tuple[tuple[str, AgencySpec, int], ...]:
    """(column, agency, year) of the reports in the non-TRS columns: agency-years nobody else publishes."""
    taken = _seed_years() | {(a.normalized_name, y) for a, y in _plan()}

    def free(county: str, agency_types: tuple[str, ...]) -> list[tuple[AgencySpec, int]]:
        pool = [
            (a, y)
            for y in range(2025, 2018, -1)
            for a in demo_agencies()
            if a.county == county
            and a.type in agency_types
            and (a.normalized_name, y) not in taken
            and (y >= 2021 or a.type != "乡镇街道")
        ]
        return pool

    plan: list[tuple[str, AgencySpec, int]] = []
    jcms = free(JCMS_COUNTY, ("人民政府", "部门", "乡镇街道"))
    assert len(jcms) >= JCMS_REPORTS, "the JCMS county has too few free agency-years"
    plan += [("jcms", a, y) for a, y in jcms[:JCMS_REPORTS]]
    files = free(FILES_COUNTY, ("人民政府", "部门", "乡镇街道"))
    plan += [("files", a, y) for a, y in files[: len(FILE_ROUTES)]]
    plan += [("js", a, y) for a, y in free(JS_COUNTY, ("人民政府", "部门", "乡镇街道"))[:JS_REPORTS]]
    by_agency: dict[str, tuple[AgencySpec, int]] = {}
    for a, y in free(DIRECTORY_COUNTY, ("部门", "乡镇街道")):
        by_agency.setdefault(a.normalized_name, (a, y))  # each department and township: its latest free year
    plan += [("directory", a, y) for a, y in by_agency.values()]
    return tuple(plan)


def _directory_agencies() -> list[AgencySpec]:
    """Every department and township of the directory county: each has a column (some stay empty)."""
    return [a for a in demo_agencies() if a.county == DIRECTORY_COUNTY and a.type in ("部门", "乡镇街道")]


def _extra_entries() -> list[_Entry]:
    out: list[_Entry] = []
    slugs = {a.normalized_name: f"{COUNTY_SLUGS[DIRECTORY_COUNTY]}{k:02d}" for k, a in enumerate(_directory_agencies())}
    n_files = 0
    for k, (column, agency, year) in enumerate(_extra_plan()):
        report = make_report(agency, year, seed=DEMO_SEED, index=1000 + k)
        e = _Entry(report, None, agency, year, report.title, report.published, 200_001 + k, column=column)
        if column == "files":
            e.route, e.fmt = FILE_ROUTES[n_files]
            n_files += 1
        elif column == "directory":
            e.col_slug = slugs[agency.normalized_name]
        out.append(e)
    return out


def _entries(version: int) -> list[_Entry]:
    entries: list[_Entry] = []
    for i, (agency, year) in enumerate(_plan()):
        report = make_report(agency, year, seed=DEMO_SEED, index=i)
        entries.append(_Entry(report, None, agency, year, report.title, report.published, 100_101 + i))
    for j, seed in enumerate(SEEDS):
        entries.append(_Entry(None, seed, seed.agency, seed.year, seed.title, seed.published, 100_001 + j))
    generated = [e for e in entries if e.report is not None and e.year >= 2021]
    entries += _extra_entries()
    # Fixed roles, chosen by position among 2021-template generated reports (deterministic).
    generated[3].encoding = "gbk"
    generated[7].fmt = "pdf"
    generated[11].fmt = "docx"
    edited, removed = generated[15], generated[19]
    if version >= 2:
        assert edited.report is not None
        edited.report = silent_edit(edited.report)
        edited.edited = True
        entries.remove(removed)
    return entries


def _roles() -> dict[str, str]:
    """Path of each special report → its role (for tests and documentation)."""
    v1 = {e.doc_id: e for e in _entries(1)}
    v2 = {e.doc_id: e for e in _entries(2)}
    roles = {e.report_path: "gbk" for e in v1.values() if e.encoding == "gbk"}
    roles |= {e.report_path: e.fmt for e in v1.values() if e.fmt != "html" and e.column == "trs"}
    roles |= {v1[k].report_path: "edited" for k, e in v2.items() if e.edited}
    roles |= {e.report_path: "removed" for k, e in v1.items() if k not in v2}
    return roles


def special_paths() -> dict[str, str]:
    """{role: path} for the GBK page, the PDF and DOCX attachments, the edited and the removed report."""
    return {role: path for path, role in _roles().items()}


def silent_edit(report: GeneratedReport) -> GeneratedReport:
    """Version 2 of a report: one more application (disclosed) and a reworded sentence, nothing announced."""
    m = dict(report.metrics)
    for key in (
        "applications.new.natural_person",
        "applications.new.total",
        "outcomes.disclosed.natural_person",
        "outcomes.disclosed.total",
        "outcomes.total.natural_person",
        "outcomes.total.total",
    ):
        m[key] += 1
    new = int(m["applications.new.total"])
    text = f"{report.year}年，{report.agency.short}共收到政府信息公开申请{new}件，均已在法定期限内答复。"
    sections = tuple(
        SectionText(s.key, s.heading, text) if s.key == "overview.application" else s for s in report.sections
    )
    return dataclasses.replace(report, metrics=m, sections=sections)


# -- pages -----------------------------------------------------------------------------------------------


def _chrome(column_name: str = "政府信息公开年报", column_url: str = COLUMN + "index.html", **kw: Any) -> PageChrome:
    return PageChrome(site_name=SITE_NAME, column_name=column_name, column_url=column_url, domain=DOMAIN, **kw)


def _at(d: date, hour: int = 9, minute: int = 30) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=CST)


def _page(body: bytes, content_type: str, modified: datetime) -> Page:
    etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
    headers = {"ETag": etag, "Last-Modified": format_datetime(modified.astimezone(UTC), usegmt=True)}
    return Page(body, content_type, headers, modified)


def _html_page(html: str, modified: datetime, encoding: str = "utf-8") -> Page:
    charset = "GBK" if encoding == "gbk" else "utf-8"
    return _page(html.encode(encoding, errors="xmlcharrefreplace"), f"text/html; charset={charset}", modified)


def _entry_modified(e: _Entry) -> datetime:
    return EDIT_TIME if e.edited else _at(e.published)


_BLOBS: dict[tuple[int, str], tuple[bytes, str]] = {}


def _file_blob(e: _Entry) -> tuple[bytes, str]:
    """The report as a PDF or DOCX file (rendered once per process: both versions share it)."""
    key = (e.doc_id, e.fmt)
    if key not in _BLOBS or e.edited:
        assert e.report is not None
        if e.fmt == "pdf":
            blob = (render.to_pdf(e.report), "application/pdf")
        else:
            ctype = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            blob = (render.to_docx(e.report), ctype)
        if e.edited:
            return blob
        _BLOBS[key] = blob
    return _BLOBS[key]


def _column_report_pages(e: _Entry) -> dict[str, Page]:
    """The pages and files of a report in one of the non-TRS columns."""
    assert e.report is not None
    modified = _entry_modified(e)
    published = f"{e.published.isoformat()} 09:30"
    if e.column == "jcms":
        html = columns.article_html(e.title, render.article_html(e.report), published, e.agency.name)
        return {e.page_path: _html_page(html, modified)}
    if e.column == "js":
        html = columns.article_html(
            e.title, render.article_html(e.report), published, e.agency.name, JS_COLUMN + "index.html"
        )
        return {e.page_path: _html_page(html, modified)}
    if e.column == "directory":
        crumbs = (
            ("/", "首页"),
            ("/zfxxgk/index.html", "政府信息公开"),
            (DIRECTORY + "index.html", "部门和乡镇政府信息公开年报"),
            (f"{DIRECTORY}{e.col_slug}/index.html", e.agency.name),
        )
        html = page_html(
            e.title,
            render.article_html(e.report),
            chrome=_chrome(),
            source=e.agency.name,
            published=published,
            breadcrumb=crumbs,
        )
        return {e.page_path: _html_page(html, modified)}
    blob, ctype = _file_blob(e)
    out: dict[str, Page] = {}
    file_page = _page(blob, ctype, modified)
    if e.route.startswith("dl-"):
        name = f"{e.title}.{e.fmt}"
        style = e.route.removeprefix("dl-")
        file_page = dataclasses.replace(
            file_page, headers={**file_page.headers, "Content-Disposition": disposition_header(name, style)}
        )
    out[e.attachment_path] = file_page
    if e.route == "viewer":  # the same file behind download.jsp too: one report, two routes
        alias = dataclasses.replace(
            file_page,
            headers={**file_page.headers, "Content-Disposition": disposition_header(f"{e.title}.{e.fmt}", "rfc5987")},
        )
        out[f"{DOWNLOAD}?id={e.doc_id}"] = alias
    if e.route in ("iframe", "object"):
        out[e.page_path] = _html_page(
            columns.file_wrapper_html(e.route, e.title, e.attachment_path, published), modified
        )
    return out


def _report_pages(e: _Entry) -> dict[str, Page]:
    if e.column != "trs":
        return _column_report_pages(e)
    chrome = _chrome(doc_id=f"11410400MB{e.doc_id}/{e.published:%Y}-{e.doc_id % 1000:05d}")
    published = f"{e.published.isoformat()} 09:30"
    modified = _entry_modified(e)
    crumbs = (
        ("/", "首页"),
        ("/zfxxgk/index.html", "政府信息公开"),
        (COLUMN + "index.html", "政府信息公开年报"),
        (f"{COLUMN}{COUNTY_SLUGS[e.county]}/index.html", e.county),
    )
    if e.seed is not None:
        html = page_html(
            e.title, seed_article_html(e.seed.text), chrome=chrome, source=e.agency.name, published=published
        )
        return {e.page_path: _html_page(html, modified)}
    assert e.report is not None
    if e.fmt == "html":
        body = render.article_html(e.report)
        html = page_html(
            e.title,
            body,
            chrome=chrome,
            source=e.agency.name,
            published=published,
            charset=e.encoding,
            breadcrumb=crumbs,
        )
        return {e.page_path: _html_page(html, modified, e.encoding)}
    # Attachment-only publication: a short page that links the file.
    name = e.attachment_path.rsplit("/", 1)[1]
    chrome = dataclasses.replace(chrome, attachments=((f"./{name}", f"{e.title}.{e.fmt}"),))
    body = f'<p style="text-indent: 2em;">{escape(e.title)}详见附件。</p>'
    html = page_html(e.title, body, chrome=chrome, source=e.agency.name, published=published, breadcrumb=crumbs)
    if e.fmt == "pdf":
        blob, ctype = render.to_pdf(e.report), "application/pdf"
    else:
        blob, ctype = (
            render.to_docx(e.report),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        )
    return {e.page_path: _html_page(html, modified), e.attachment_path: _page(blob, ctype, modified)}


def _pagination(n_pages: int, current: int) -> str:
    def href(i: int) -> str:
        return "index.html" if i == 0 else f"index_{i}.html"

    links = [f'<a href="{href(0)}">首页</a>']
    if current > 0:
        links.append(f'<a href="{href(current - 1)}">上一页</a>')
    for i in range(n_pages):
        links.append(f"<span class='current'>{i + 1}</span>" if i == current else f'<a href="{href(i)}">{i + 1}</a>')
    if current < n_pages - 1:
        links.append(f'<a href="{href(current + 1)}">下一页</a>')
    links.append(f'<a href="{href(n_pages - 1)}">尾页</a>')
    script = f'<script>createPageHTML({n_pages}, {current}, "index", "html");</script>'
    return f'<div class="page">{"".join(links)}<span>共{n_pages}页</span></div>{script}'


_SIDEBAR = (
    '<div class="sidebar"><h3>相关链接</h3><ul>'
    '<li><a href="/zfxxgk/zn/index.html">政府信息公开指南</a></li>'
    f'<li><a href="{NOTICE_PATH}">关于做好2024年度政府信息公开工作年度报告编制发布工作的通知</a></li>'
    '<li><a href="/xwzx/index.html">新闻中心</a></li>'
    f'<li><a href="{DIRECTORY}index.html">部门和乡镇政府信息公开年报</a></li></ul>'
    "<h3>分县区</h3><ul>"
    + "".join(f'<li><a href="{COLUMN}{slug}/index.html">{county}</a></li>' for county, slug in COUNTY_SLUGS.items())
    + "</ul></div>"
)


def _listing_modified(entries: list[_Entry], version: int) -> datetime:
    """When a listing last changed: its newest item, or version 2's edit (which may have removed its newest)."""
    newest = max((_entry_modified(e) for e in entries), default=_at(date(2025, 1, 1)))
    return max(newest, EDIT_TIME) if version >= 2 else newest


def _list_pages(
    base: str, name: str, entries: list[_Entry], crumbs: tuple[tuple[str, str], ...], version: int
) -> dict[str, Page]:
    """A column's list pages, newest first, ``PAGE_SIZE`` a page."""
    ordered = sorted(entries, key=lambda e: (e.published, e.doc_id), reverse=True)
    chunks = [ordered[i : i + PAGE_SIZE] for i in range(0, len(ordered), PAGE_SIZE)] or [[]]
    pages: dict[str, Page] = {}
    for i, chunk in enumerate(chunks):
        items = "".join(
            f'<li><a href=".{e.page_path.removeprefix(base.rstrip("/"))}" target="_blank" title="{escape(e.title)}">'
            f"{escape(e.title)}</a><span>{e.published.isoformat()}</span></li>"
            for e in chunk
        )
        pager = _pagination(len(chunks), i)
        body = f'<div class="list"><h2>{escape(name)}</h2><ul class="list_ul">{items}</ul>{pager}</div>'
        html = page_html(name, body + _SIDEBAR, chrome=_chrome(name, base + "index.html"), breadcrumb=crumbs)
        modified = _listing_modified(entries, version)
        pages[base + ("index.html" if i == 0 else f"index_{i}.html")] = _html_page(html, modified)
    return pages


_NEWS: tuple[tuple[str, str, str], ...] = (
    (
        "/xwzx/gzdt/202501/t20250110_90001.html",
        "鲁山县召开2025年政务公开工作推进会",
        "1月10日，鲁山县召开2025年政务公开工作推进会，总结2024年政府信息公开工作，部署全年重点任务。会议要求各乡镇、"
        "各部门严格落实《中华人民共和国政府信息公开条例》，按时编制并公开政府信息公开工作年度报告。",
    ),
    (
        "/xwzx/gzdt/202412/t20241220_90002.html",
        "卢氏县开展政务服务“12345热线”业务培训",
        "12月20日，卢氏县组织开展12345热线业务培训，围绕依申请公开办理、答复文书规范等内容进行讲解，全县60余名业务骨干参加。",
    ),
    (
        "/xwzx/gzdt/202411/t20241105_90003.html",
        "郏县冢头镇：“小喇叭”打通政策宣传最后一公里",
        "冢头镇利用村村通广播每天定时播报惠民政策、安全生产和防汛知识，群众在家门口就能了解政府信息。",
    ),
)
_GUIDE = (
    "为了更好地提供政府信息公开服务，根据《中华人民共和国政府信息公开条例》，编制本指南。需要获得政府信息公开服务的公民、法人"
    "或者其他组织，建议阅读本指南。",
    "一、主动公开。公开范围：机构职能、行政规范性文件、规划计划、财政预决算、重大建设项目等。公开方式：政府门户网站、政务新媒体、"
    "政务公开栏等。公开时限：自政府信息形成或者变更之日起20个工作日内予以公开。",
    "二、依申请公开。申请人可通过在线申请、信函申请、当面申请等方式提出政府信息公开申请。行政机关收到申请能够当场答复的，应当"
    "当场予以答复；不能当场答复的，自收到申请之日起20个工作日内予以答复。",
    "三、收费。行政机关依申请提供政府信息，不收取费用；申请人申请公开政府信息的数量、频次明显超过合理范围的，可以按照《政府信息"
    "公开信息处理费管理办法》收取信息处理费。",
    "四、监督和救济。公民、法人或者其他组织认为行政机关在政府信息公开工作中侵犯其合法权益的，可以依法申请行政复议或者提起行政诉讼。",
)
_NOTICE = (
    "各县（区）人民政府，市人民政府各部门：",
    "根据《中华人民共和国政府信息公开条例》和国办公开办函〔2021〕30号文件要求，现就做好2024年度政府信息公开工作年度报告编制"
    "发布工作通知如下：一、各单位应于2025年1月31日前向社会公布本机关2024年度政府信息公开工作年度报告；二、年度报告应严格按照"
    "统一格式编制，确保数据准确、勾稽关系正确；三、年度报告发布后报市政务公开办备案。",
    "联系电话：0375-2662121。",
)


def _text_page(title: str, paragraphs: Iterable[str], crumbs: tuple[tuple[str, str], ...], when: date) -> Page:
    body = "".join(f'<p style="text-indent: 2em;">{escape(p)}</p>' for p in paragraphs)
    html = page_html(
        title, body, chrome=_chrome(crumbs[-1][1], crumbs[-1][0]), published=when.isoformat(), breadcrumb=crumbs
    )
    return _html_page(html, _at(when))


def _static_pages(entries: list[_Entry], version: int) -> dict[str, Page]:
    home = (("/", "首页"),)
    pages: dict[str, Page] = {}
    for path, title, text in _NEWS:
        d = datetime.strptime(path.rsplit("/t", 1)[1][:8], "%Y%m%d").date()
        pages[path] = _text_page(title, [text], (*home, ("/xwzx/index.html", "新闻中心")), d)
    news_items = "".join(f'<li><a href="..{p}">{escape(t)}</a></li>' for p, t, _ in _NEWS)
    pages["/xwzx/index.html"] = _html_page(
        page_html("新闻中心", f'<ul class="list_ul">{news_items}</ul>', chrome=_chrome("新闻中心", "/xwzx/index.html")),
        _at(date(2025, 1, 10)),
    )
    xxgk = (*home, ("/zfxxgk/index.html", "政府信息公开"))
    pages[GUIDE_PATH] = _text_page(
        "政府信息公开指南", _GUIDE, (*xxgk, (GUIDE_PATH, "政府信息公开指南")), date(2024, 3, 1)
    )
    notice_title = "关于做好2024年度政府信息公开工作年度报告编制发布工作的通知"
    pages["/zfxxgk/tzgg/index.html"] = _html_page(
        page_html(
            "通知公告",
            f'<ul class="list_ul"><li><a href="./202501/t20250106_90011.html">{notice_title}</a></li></ul>',
            chrome=_chrome("通知公告", "/zfxxgk/tzgg/index.html"),
        ),
        _at(date(2025, 1, 6)),
    )
    pages[NOTICE_PATH] = _text_page(
        notice_title,
        _NOTICE,
        (*xxgk, ("/zfxxgk/tzgg/index.html", "通知公告")),
        date(2025, 1, 6),
    )
    portal = (
        '<ul class="xxgk_nav"><li><a href="zn/index.html">政府信息公开指南</a></li>'
        '<li><a href="ndbg/index.html">政府信息公开年报</a></li>'
        '<li><a href="tzgg/index.html">通知公告</a></li>'
        '<li><a href="javascript:void(0)" onclick="alert(\'建设中\')">政府信息公开制度</a></li></ul>'
    )
    pages["/zfxxgk/index.html"] = _html_page(
        page_html("政府信息公开", portal, chrome=_chrome("政府信息公开", "/zfxxgk/index.html")), _at(date(2024, 3, 1))
    )
    latest = sorted(entries, key=lambda e: (e.published, e.doc_id), reverse=True)[:8]
    report_items = "".join(f'<li><a href="{e.page_path}">{escape(e.title)}</a></li>' for e in latest)
    home_news = news_items.replace('href="..', 'href="')
    home_body = (
        f'<div class="news"><h2><a href="/xwzx/index.html">新闻中心</a></h2><ul>{home_news}</ul></div>'
        f'<div class="ndbg"><h2><a href="{COLUMN}index.html">政府信息公开年报</a></h2><ul>{report_items}</ul></div>'
        '<div class="links"><a href="/zfxxgk/index.html">政府信息公开</a> '
        f'<a href="{GUIDE_PATH}">政府信息公开指南</a> <a href="{NOTICE_PATH}">通知公告</a> '
        f'<a href="{DISALLOWED}t20250101_99999.html">年报预审（内部）</a></div>'
    )
    modified = _listing_modified(entries, version)
    pages["/index.html"] = _html_page(page_html(SITE_NAME, home_body, chrome=_chrome("首页", "/")), modified)
    pages["/"] = pages["/index.html"]
    return pages


def _jcms_pages(entries: list[_Entry], version: int) -> dict[str, Page]:
    mine = sorted((e for e in entries if e.column == "jcms"), key=lambda e: (e.published, e.doc_id), reverse=True)
    records = [columns.jcms_record(e.page_path, e.title, e.published.isoformat()) for e in mine]
    group = columns.JCMS_PER_PAGE * columns.JCMS_GROUP
    modified = _listing_modified(mine, version)
    name = f"{JCMS_COUNTY}政府信息公开年报"
    pages = {JCMS_COLUMN: _html_page(columns.jcms_column_html(name, records[:group], len(records)), modified)}
    for start in range(group, len(records), group):
        xml = '<?xml version="1.0" encoding="UTF-8"?>' + columns.jcms_datastore(
            records[start : start + group], len(records)
        )
        key = _jcms_proxy_key(start + 1)
        pages[key] = _page(xml.encode("utf-8"), "text/xml; charset=UTF-8", modified)
    return pages


def _jcms_proxy_key(start: int) -> str:
    """A group is found by its first record; an ``endrecord`` past the last record is clamped, as JCMS does."""
    return f"{columns.JCMS_PROXY}?startrecord={start}"


def _files_pages(entries: list[_Entry], version: int) -> dict[str, Page]:
    mine = sorted((e for e in entries if e.column == "files"), key=lambda e: (e.published, e.doc_id), reverse=True)
    items = []
    for e in mine:
        target = e.page_path if e.route in ("iframe", "object") else e.attachment_path
        also = f"{DOWNLOAD}?id={e.doc_id}" if e.route == "viewer" else ""
        items.append(columns.file_item(e.route, e.title, e.published.isoformat(), target, also))
    # Not a report: a file the same column offers for download.
    items.append(f'<li>政府信息公开指南（<a href="{DOWNLOAD}?id={DECOY_DOWNLOAD}">附件下载</a>）</li>')
    modified = _listing_modified(mine, version)
    name = f"{FILES_COUNTY}政府信息公开年报"
    pages = {FILES_COLUMN + "index.html": _html_page(columns.simple_list_html(name, items), modified)}
    guide = "\n".join(_GUIDE).encode("utf-8")
    decoy = _page(guide, "application/msword", _at(date(2024, 3, 1)))
    pages[f"{DOWNLOAD}?id={DECOY_DOWNLOAD}"] = dataclasses.replace(
        decoy, headers={**decoy.headers, "Content-Disposition": disposition_header("政府信息公开指南.doc", "gbk")}
    )
    return pages


def _js_pages(entries: list[_Entry], version: int) -> dict[str, Page]:
    mine = sorted((e for e in entries if e.column == "js"), key=lambda e: (e.published, e.doc_id), reverse=True)
    modified = _listing_modified(mine, version)
    name = f"{JS_COUNTY}政府信息公开年报"
    listing = columns.js_column_json([(e.page_path, e.title, e.published.isoformat()) for e in mine])
    return {
        JS_COLUMN + "index.html": _html_page(columns.js_column_html(name, JS_COLUMN + "list.json"), modified),
        JS_COLUMN + "list.json": _page(listing.encode("utf-8"), "application/json; charset=utf-8", modified),
    }


def _directory_pages(entries: list[_Entry], version: int) -> dict[str, Page]:
    """The directory of department/township columns (plus the county columns built differently), and each column."""
    mine = [e for e in entries if e.column == "directory"]
    pages: dict[str, Page] = {}
    dir_items = []
    for k, agency in enumerate(_directory_agencies()):
        slug = f"{COUNTY_SLUGS[DIRECTORY_COUNTY]}{k:02d}"
        name = f"{agency.name}政府信息公开年报"
        dir_items.append(f'<li><a href="./{slug}/index.html">{escape(name)}</a></li>')
        listed = [e for e in mine if e.col_slug == slug]
        items = [
            f'<li><a href="./{e.page_path.removeprefix(DIRECTORY + slug + "/")}" title="{escape(e.title)}">'
            f"{escape(e.title)}</a><span>{e.published.isoformat()}</span></li>"
            for e in sorted(listed, key=lambda e: e.published, reverse=True)
        ]
        crumbs = f'<a href="/">首页</a> &gt; <a href="{DIRECTORY}index.html">部门和乡镇政府信息公开年报</a>'
        pages[f"{DIRECTORY}{slug}/index.html"] = _html_page(
            columns.simple_list_html(name, items, crumbs), _listing_modified(listed, version)
        )
    dir_items.append(f'<li><a href="{JCMS_COLUMN}">{JCMS_COUNTY}政府信息公开年报</a></li>')
    dir_items.append(f'<li><a href="{FILES_COLUMN}index.html">{FILES_COUNTY}政府信息公开年报</a></li>')
    dir_items.append(f'<li><a href="{JS_COLUMN}index.html">{JS_COUNTY}政府信息公开年报</a></li>')
    pages[DIRECTORY + "index.html"] = _html_page(
        columns.simple_list_html("部门和乡镇政府信息公开年报", dir_items), _listing_modified(mine, version)
    )
    return pages


def _draft_page() -> Page:
    """A report-like draft under the robots.txt-disallowed path: a polite crawler never fetches it."""
    agency = demo_agencies()[0]
    draft = make_report(agency, 2024, seed=DEMO_SEED, index=99_999)
    draft = dataclasses.replace(draft, title=draft.title + "（预审稿）")
    return _page(render.to_html(draft, chrome=_chrome()), "text/html; charset=utf-8", _at(date(2025, 1, 1)))


ROBOTS_TXT = f"User-agent: *\nDisallow: {DISALLOWED}\n"


@cache
def _build(version: int) -> dict[str, Page]:
    everything = _entries(version)
    entries = [e for e in everything if e.column == "trs"]
    pages: dict[str, Page] = {}
    for e in everything:
        pages.update(_report_pages(e))
    root = (("/", "首页"), ("/zfxxgk/index.html", "政府信息公开"), (COLUMN + "index.html", "政府信息公开年报"))
    pages.update(_list_pages(COLUMN, "政府信息公开年报", entries, root, version))
    for county, slug in COUNTY_SLUGS.items():
        mine = [e for e in entries if e.county == county]
        base = f"{COLUMN}{slug}/"
        crumbs = (*root, (base + "index.html", county))
        pages.update(_list_pages(base, f"{county}政府信息公开年报", mine, crumbs, version))
    pages.update(_static_pages(entries, version))
    pages.update(_jcms_pages(everything, version))
    pages.update(_files_pages(everything, version))
    pages.update(_directory_pages(everything, version))
    pages.update(_js_pages(everything, version))
    pages[f"{DISALLOWED}t20250101_99999.html"] = _draft_page()
    pages["/images/common.css"] = _page(render.SITE_CSS.encode(), "text/css; charset=utf-8", _at(date(2024, 1, 1)))
    pages["/hdjl/index.html"] = _text_page(
        "互动交流",
        ["如需咨询政务服务事项，请拨打12345政务服务便民热线，或通过“我为群众办实事”留言板留言。"],
        (("/", "首页"), ("/hdjl/index.html", "互动交流")),
        date(2024, 1, 1),
    )
    pages["/robots.txt"] = _page(ROBOTS_TXT.encode("ascii"), "text/plain; charset=utf-8", _at(date(2024, 1, 1)))
    return pages


def build_site(version: int = 1) -> dict[str, Page]:
    """Every page of the site in ``version`` (1 or 2): path → Page. Deterministic."""
    if version not in (1, 2):
        raise ValueError(f"the demo site has versions 1 and 2, not {version!r}")
    return dict(_build(version))


def _expected(e: _Entry, base_url: str) -> ExpectedReport:
    region = Region(province=e.agency.province, city=e.agency.city, county=e.agency.county, township=e.agency.township)
    agency = Agency(
        name=e.agency.name,
        normalized_name=e.agency.normalized_name,
        type=e.agency.type,
        level=e.agency.level,
        id=agency_id(region, e.agency.normalized_name),
    )
    if e.report is not None:
        metrics, template = dict(e.report.metrics), e.report.template
    else:
        metrics, template = seed_metrics(e.seed.text), "2021"
    return ExpectedReport(
        url=base_url.rstrip("/") + e.report_path,
        path=e.report_path,
        page_path=e.page_path,
        title=e.title,
        agency=agency,
        region=region,
        year=e.year,
        published=e.published.isoformat(),
        template=template,
        source_format=e.fmt,
        encoding=e.encoding,
        metrics=metrics,
        kind="seed" if e.seed else "generated",
        edited=e.edited,
        column=e.column,
        route=e.route,
    )


def expected_reports(version: int = 1, base_url: str = "") -> list[ExpectedReport]:
    """Every report the site publishes in ``version``, with its true metadata and metrics."""
    if version not in (1, 2):
        raise ValueError(f"the demo site has versions 1 and 2, not {version!r}")
    return [_expected(e, base_url) for e in _entries(version)]


def county_columns(base_url: str = "") -> list[tuple[str, str]]:
    """(URL of each county's sub-column, its region path "省/市/县"): handy as crawl sources with a region."""
    return [
        (f"{base_url.rstrip('/')}{COLUMN}{COUNTY_SLUGS[county]}/index.html", f"{province}/{city}/{county}")
        for province, city, county, _, _ in DEMO_COUNTIES
    ]


# -- serving --------------------------------------------------------------------------------------------


def _not_modified(page: Page, environ: dict[str, Any]) -> bool:
    inm = environ.get("HTTP_IF_NONE_MATCH")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or page.headers["ETag"] in tags
    ims = environ.get("HTTP_IF_MODIFIED_SINCE")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False  # an unparsable date is ignored, as RFC 9110 says
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return page.modified.replace(microsecond=0) <= since
    return False


_NOT_FOUND = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>页面不存在</title></head>'
    '<body><h1>404</h1><p>您访问的页面不存在或已被删除。</p><p><a href="/">返回首页</a></p></body></html>'
).encode()


def _route(path: str, query: str) -> str:
    """The page key of a request: the path, or for the two query-driven endpoints path + the query that matters."""
    from urllib.parse import parse_qs

    if path == DOWNLOAD:
        ids = parse_qs(query).get("id", [""])
        return f"{DOWNLOAD}?id={ids[0]}"
    if path == columns.JCMS_PROXY:
        q = {k: v[0] for k, v in parse_qs(query).items()}
        wanted = dict(columns.JCMS_PARAMS)
        if (q.get("columnid"), q.get("unitid"), q.get("perpage")) != (
            wanted["columnid"],
            wanted["unitid"],
            str(columns.JCMS_PER_PAGE),
        ):
            return ""
        start = q.get("startrecord", "")
        return _jcms_proxy_key(int(start)) if start.isdigit() else ""
    return path


def make_app(pages: Callable[[], dict[str, Page]]) -> Callable[..., Iterable[bytes]]:
    """A WSGI app serving ``pages()`` (called per request, so the version can change at runtime)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO") or "/"
        if path.endswith("/") and path != "/":
            path += "index.html"
        query = environ.get("QUERY_STRING", "")
        if method == "POST" and path == columns.JCMS_PROXY:  # the jpage script POSTs; we crawl with GET
            size = int(environ.get("CONTENT_LENGTH") or 0)
            query = "&".join(q for q in (query, environ["wsgi.input"].read(size).decode("utf-8", "replace")) if q)
        elif method not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Length", "0")])
            return [b""]
        page = pages().get(_route(path, query))
        if page is None:
            start_response(
                "404 Not Found",
                [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(_NOT_FOUND)))],
            )
            return [b""] if method == "HEAD" else [_NOT_FOUND]
        headers = list(page.headers.items())
        if _not_modified(page, environ):
            start_response("304 Not Modified", headers)
            return [b""]
        headers += [("Content-Type", page.content_type), ("Content-Length", str(len(page.body)))]
        start_response("200 OK", headers)
        return [b""] if method == "HEAD" else [page.body]

    return app


def _make_server(host: str, port: int, pages: Callable[[], dict[str, Page]]) -> Any:
    """A threaded WSGI server (werkzeug's) for ``pages``, without per-request access logs."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class _Quiet(WSGIRequestHandler):
        def log(self, type: str, message: str, *args: Any) -> None:
            pass  # tests and the demo run would drown in access logs

    return make_server(host, port, make_app(pages), threaded=True, request_handler=_Quiet)


class DemoSite:
    """The demo site served from a background thread: ``with DemoSite() as site: requests.get(site.url)``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, version: int = 1) -> None:
        self._pages = build_site(version)
        self.version = version
        self._server = _make_server(host, port, lambda: self._pages)
        self.host = host
        self.port = self._server.server_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-site", daemon=True)
        self._thread.start()
        self._pid = os.getpid()

    def set_version(self, version: int) -> None:
        """Switch what is served (1: original; 2: one report silently edited, one removed)."""
        self._pages = build_site(version)
        self.version = version

    def expected_reports(self) -> list[ExpectedReport]:
        return expected_reports(self.version, self.url)

    def stop(self) -> None:
        if os.getpid() != self._pid:
            return  # a forked copy (a `nianbao demo` server worker leaving): the thread serving is not here
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> DemoSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(host: str = "127.0.0.1", port: int = 8001, version: int = 1) -> None:
    """Serve the demo site in the foreground until Ctrl-C (``nianbao demo-site``)."""
    pages = build_site(version)
    # werkzeug reports a busy port itself ("Address already in use … start the server with a different port")
    # and exits with status 1, without a traceback.
    server = _make_server(host, port, lambda: pages)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
