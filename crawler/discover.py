"""Discovery: what a fetched page is (report, listing, other) and which of its links to follow.

Pure functions over (URL, decoded HTML); no I/O, so they are cheap to test on real page shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from posixpath import splitext
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree
from requests.utils import requote_uri

from crawler import jcms
from crawler.file_links import is_download_endpoint, url_in_script, viewer_target

ATTACHMENT_EXTS = frozenset({".pdf", ".doc", ".docx", ".xls", ".xlsx", ".wps", ".et", ".ofd"})
SKIP_EXTS = frozenset(
    {
        ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".svg", ".ico", ".css", ".js", ".json", ".xml",
        ".zip", ".rar", ".7z", ".gz", ".mp3", ".mp4", ".avi", ".flv", ".wmv", ".swf", ".apk", ".exe", ".txt",
        ".ppt", ".pptx",
    }
)  # fmt: skip
# Not "首页": on these sites it is far more often the "home" link of the navigation bar than page 1.
PAGER_TEXTS = frozenset({"下一页", "下页", "尾页", "末页", "上一页", "上页", ">", ">>", "»", "›", "next"})
# Template headings that only a report's own body carries (listings carry at most its title).
REPORT_MARKERS = (
    "总体情况",
    "主动公开政府信息情况",
    "收到和处理政府信息公开申请情况",
    "政府信息公开行政复议",
    "存在的主要问题及改进情况",
    "其他需要报告的事项",
)
# A report's title names its year ("2024年", "2024年度", "二〇二四年"); a column ("政府信息公开年报") does not.
_YEAR = re.compile(r"(?:19|20)\d{2}\s*年|[〇○零一二][〇○零一二三四五六七八九]{3}年")
_REPORT_TITLE = re.compile(r"信息公开.{0,12}(?:年度报告|年报|工作报告)|(?:年度报告|年报).{0,6}政府信息公开")
# Notices about reports ("关于做好2024年度政府信息公开工作年度报告编制发布工作的通知") are not reports.
_DIRECTIVE_TITLE = re.compile(r"^关于.*(?:通知|意见|办法|方案|函)$")
_PAGER_URL = re.compile(r"(?:^|/)index_\d+\.s?html?$|[?&](?:page|pageno|pageindex|pn|p|curpage)=\d+", re.I)
_CREATE_PAGE = re.compile(r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"]([\w-]+)['\"]"
                          r"\s*,\s*['\"](\w+)['\"]")  # fmt: skip
_WS = re.compile(r"\s+")
# A column of reports ("政府信息公开年报", "财政局信息公开年度报告"): names the kind, not a year.
_COLUMN_TEXT = re.compile(r"年报|年度报告|信息公开工作报告")
MAX_GENERATED_PAGES = 500  # pages a createPageHTML() pager may announce; more is a trap or a typo


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    text: str  # anchor text, whitespace-collapsed
    pager: bool = False  # pagination of a list: followed without spending depth
    embedded: bool = False  # a file the page shows (iframe/embed/object/viewer), not a link a reader clicks

    @property
    def is_attachment(self) -> bool:
        # download.jsp?id=… links are common; their anchor text usually ends with the file's extension
        return is_attachment_url(self.url) or splitext(self.text.lower())[1] in ATTACHMENT_EXTS

    @property
    def is_download(self) -> bool:
        """A ``download.jsp?id=…`` endpoint: a file whose name only the response tells."""
        return is_download_endpoint(self.url)

    @property
    def is_column(self) -> bool:
        """A link to a column of reports (a department's or township's 年报 column), not to one report."""
        text = _WS.sub("", self.text)
        return (
            bool(_COLUMN_TEXT.search(text))
            and not _YEAR.search(text)
            and not self.pager
            and not self.is_attachment
            and not _DIRECTIVE_TITLE.search(text)
            and len(text) <= 40
        )

    @property
    def looks_like_report(self) -> bool:
        return looks_like_report_title(self.text) or looks_like_report_title(_file_name(self.url))


@dataclass(slots=True)
class Page:
    url: str
    title: str
    is_report: bool
    links: list[Link] = field(default_factory=list)

    @property
    def is_listing(self) -> bool:
        return not self.is_report and any(link.pager or link.looks_like_report for link in self.links)

    @property
    def kind(self) -> str:
        return "report" if self.is_report else "listing" if self.is_listing else "other"

    def attachments(self) -> list[Link]:
        return [link for link in self.links if link.is_attachment]


def looks_like_report_title(text: str) -> bool:
    """'2024年政府信息公开工作年度报告', '…2024年度政府信息公开工作报告', '二〇二四年…信息公开年报'…"""
    text = _WS.sub("", text or "")
    return bool(_REPORT_TITLE.search(text) and _YEAR.search(text)) and not _DIRECTIVE_TITLE.search(text)


def is_attachment_url(url: str) -> bool:
    return splitext(urlsplit(url).path.lower())[1] in ATTACHMENT_EXTS


def is_html_type(content_type: str) -> bool:
    ct = (content_type or "").split(";")[0].strip().lower()
    return ct in ("", "text/html", "application/xhtml+xml", "text/plain")


def canonical_url(url: str) -> str:
    """Drop the fragment, lower-case scheme and host, default path '/', percent-encode non-ASCII (as browsers
    do; the archive's request lines must be ASCII); keep the query (it often is the page)."""
    parts = urlsplit(requote_uri(url.strip()))
    netloc = (parts.hostname or "").lower()
    if parts.port and not (
        (parts.scheme == "http" and parts.port == 80) or (parts.scheme == "https" and parts.port == 443)
    ):
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def analyse(url: str, html: str) -> Page:
    """Parse one HTML page: its title, whether it is a report, and its links (pagination marked).

    A 大汉 JCMS dataproxy answer (``<datastore>`` XML) is read as a listing of its records."""
    if html.lstrip()[:60].lower().startswith(("<?xml", "<datastore")) and jcms.is_datastore(html):
        return Page(url=url, title="", is_report=False, links=_dedupe(_record_links(html, url)))
    try:
        doc = lxml.html.document_fromstring(html or "<html></html>")
    except (etree.ParserError, ValueError):
        return Page(url=url, title="", is_report=False)
    base = url
    for el in doc.iter("base"):
        if el.get("href"):
            base = urljoin(url, el.get("href"))
            break
    generated = _generated_pages(doc, base) + _record_links(html, base) + _jpage_links(html, base)
    for bad in doc.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    title = _title(doc)
    links = _links(doc, base, bool(_SCRIPTED_HINT.search(html))) + generated
    if looks_like_report_title(title):  # a report page showing its file in a viewer or a frame
        links = [Link(lk.url, title, lk.pager, True) if lk.embedded and not lk.text else lk for lk in links]
    text = _WS.sub("", doc.text_content())
    markers = sum(1 for m in REPORT_MARKERS if m in text)
    report_anchors = sum(1 for link in links if link.looks_like_report and not link.is_attachment)
    title_says = looks_like_report_title(title)
    # A listing of reports also mentions 年度报告 everywhere; what it lacks is the template's headings
    # in its own body, and it links many report-like pages. A report may link a few (上一篇/相关链接).
    is_report = (title_says and markers >= 2) or ((title_says or markers >= 3) and report_anchors <= 3)
    if is_report and not title_says:
        is_report = "年度报告" in text or "年报" in text
    return Page(url=url, title=title, is_report=is_report, links=_dedupe(links))


def _title(doc: lxml.html.HtmlElement) -> str:
    # TRS-based government sites put the article title in <meta name="ArticleTitle">; otherwise h1, then <title>.
    for meta in doc.iter("meta"):
        if (meta.get("name") or "").lower() in ("articletitle", "title") and meta.get("content"):
            return _WS.sub(" ", meta.get("content")).strip()
    for tag in ("h1", "h2"):
        for el in doc.iter(tag):
            text = _WS.sub(" ", el.text_content()).strip()
            if text:
                return text
    for el in doc.iter("title"):
        return _WS.sub(" ", el.text_content()).strip()
    return ""


_LINK_TAGS = ("a", "area", "iframe", "frame", "embed", "object")
# Elements a script makes clickable; only looked for when the raw HTML has such a handler (an XPath over
# every element costs ~100x the tag walk).
_SCRIPTED = etree.XPath("//*[@onclick or @data-href or @data-url][not(self::a or self::area)]")
_SCRIPTED_HINT = re.compile(r"""onclick\s*=\s*["'][^"']*(?:open|location|href)|data-(?:href|url)\s*=""", re.I)


def _links(doc: lxml.html.HtmlElement, base: str, scripted: bool = True) -> list[Link]:
    out: list[Link] = []
    elements = list(doc.iter(*_LINK_TAGS))
    if scripted:
        elements += _SCRIPTED(doc)
    for el in elements:
        href, embedded = _target(el)
        if not href:
            continue
        absolute = _absolute(base, href)
        if absolute is None:
            continue
        inner = viewer_target(absolute)  # pdf.js viewer.html?file=… → the file itself
        if inner is not None:
            absolute = _absolute(absolute, inner)
            if absolute is None:
                continue
        text = _WS.sub(" ", el.text_content() if el.tag in ("a", "area", "li", "span", "div", "button") else "")
        text = text.strip()
        hover = _WS.sub(" ", el.get("title") or "").strip()
        # List pages cut long titles ("…工作年…") and keep the whole one in title="…".
        if hover and (not text or (looks_like_report_title(hover) and not looks_like_report_title(text))):
            text = hover
        pager = text.lower() in PAGER_TEXTS or (text.isdigit() and len(text) <= 4) or bool(_PAGER_URL.search(absolute))
        out.append(Link(absolute, text, pager and not embedded, embedded))
    return out


def _target(el: lxml.html.HtmlElement) -> tuple[str, bool]:
    """(the URL an element leads to, whether it is shown embedded): href/src/data, then data-href/data-url,
    then the URL a ``javascript:`` href or an ``onclick`` handler opens."""
    tag = el.tag
    if tag in ("iframe", "frame", "embed"):
        return (el.get("src") or "").strip(), True
    if tag == "object":
        return (el.get("data") or "").strip(), True
    for attr in ("data-href", "data-url"):
        if el.get(attr):
            return el.get(attr).strip(), False
    href = (el.get("href") or "").strip() if tag in ("a", "area") else ""
    if href.lower().startswith("javascript:"):
        return url_in_script(href) or url_in_script(el.get("onclick") or "") or "", False
    if href and not href.startswith("#"):
        return href, False
    onclick = el.get("onclick") or ""
    if onclick and ("open" in onclick or "location" in onclick or "href" in onclick):
        return url_in_script(onclick) or "", False
    return "", False


def _absolute(base: str, href: str) -> str | None:
    if href.startswith(("javascript:", "mailto:", "tel:", "#", "data:")):
        return None
    try:
        absolute = canonical_url(urljoin(base, href))
    except ValueError:
        return None
    if urlsplit(absolute).scheme not in ("http", "https"):
        return None
    if splitext(urlsplit(absolute).path.lower())[1] in SKIP_EXTS:
        return None
    return absolute


def _record_links(html: str, base: str) -> list[Link]:
    """Links inside 大汉 JCMS ``<record><![CDATA[…]]></record>`` items (invisible to an HTML parser)."""
    records = jcms.record_html(html)
    if not records:
        return []
    try:
        fragment = lxml.html.fragment_fromstring(records, create_parent="div")
    except (etree.ParserError, ValueError):
        return []
    return _links(fragment, base)


def _jpage_links(html: str, base: str) -> list[Link]:
    """The dataproxy.jsp groups a JCMS ``.jpage({...})`` pager announces, as pager links."""
    paging = jcms.jpage(html)
    if paging is None:
        return []
    return [Link(canonical_url(u), "", pager=True) for u in paging.group_urls(base)]


def _generated_pages(doc: lxml.html.HtmlElement, base: str) -> list[Link]:
    """Pages of a TRS ``createPageHTML(count, current, "index", "html")`` pager, which has no <a> links."""
    out: list[Link] = []
    for script in doc.iter("script"):
        for match in _CREATE_PAGE.finditer(script.text or ""):
            count = min(int(match.group(1)), MAX_GENERATED_PAGES)
            stem, ext = match.group(3), match.group(4)
            out.append(Link(canonical_url(urljoin(base, f"{stem}.{ext}")), "1", pager=True))
            out += [Link(canonical_url(urljoin(base, f"{stem}_{n}.{ext}")), str(n + 1), True) for n in range(1, count)]
    return out


def _dedupe(links: list[Link]) -> list[Link]:
    # Keep the first occurrence, but prefer a descriptive anchor over "下载"/"点击查看" for the same URL.
    best: dict[str, Link] = {}
    for link in links:
        prev = best.get(link.url)
        if prev is None or (not prev.looks_like_report and link.looks_like_report):
            best[link.url] = Link(
                link.url,
                link.text or (prev.text if prev else ""),
                link.pager or bool(prev and prev.pager),
                link.embedded and bool(prev is None or prev.embedded),
            )
    return list(best.values())


def _file_name(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])
