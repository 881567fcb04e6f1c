"""Finding a site's 年报 columns, and turning them (or a CSV of sites) into ``[[source]]`` entries.

``nianbao sources discover URL`` starts at a site's home page (or its 政府信息公开 page), follows the links
that lead to information-disclosure pages, and keeps every link that names a 年报 column ("政府信息公开年报",
"财政局政府信息公开年度报告" …). A column page that itself lists other 年报 columns is a directory (a county
portal's department and township columns): each of its columns becomes a source. Regions come from the
names (the gazetteer in ``indexer.regions``) when they are unambiguous, else from ``--region``.
``nianbao sources import FILE.csv`` reads ``id,name,region,URL`` rows. Both write TOML that
``crawler.sources.load_sources`` reads back (checked before anything is written).
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from crawler.discover import Page, analyse, canonical_url, is_html_type
from crawler.fetch import Fetcher, decode_text
from crawler.sources import SourcesError, parse_source

# Links worth opening on the way to the 年报 columns (the 政府信息公开 portal, its 法定主动公开内容 …).
_PORTAL_TEXT = re.compile(r"信息公开|政务公开|公开目录|法定主动公开|部门信息|乡镇信息|部门和乡镇")
MAX_PAGES = 40  # pages fetched by one discovery: a home page, its portals, the columns and directories
_ID_CLEAN = re.compile(r"[^A-Za-z0-9_.-]+")


class DiscoveryError(ValueError):
    """The site or file cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class FoundSource:
    id: str
    name: str
    region: str  # "省/市/县", "" when unknown
    url: str

    def toml(self) -> str:
        lines = ["[[source]]", f"id = {_q(self.id)}", f"name = {_q(self.name)}"]
        if self.region:
            lines.append(f"region = {_q(self.region)}")
        lines.append(f"start_urls = [{_q(self.url)}]")
        return "\n".join(lines) + "\n"


def discover(url: str, *, fetcher: Fetcher, region: str = "", max_pages: int = MAX_PAGES) -> list[FoundSource]:
    # A directory page (many 年报 column links, no report link) is not a source itself: its columns are.
    """The 年报 columns reachable from ``url`` (within its host), one source each."""
    start = canonical_url(url)
    host = urlsplit(start).hostname
    if urlsplit(start).scheme not in ("http", "https") or not host:
        raise DiscoveryError(f"not an http(s) URL: {url!r}")
    fetched: dict[str, Page | None] = {}

    def page(u: str) -> Page | None:
        if u not in fetched and len(fetched) < max_pages:
            fetched[u] = _fetch(fetcher, u)
        return fetched.get(u)

    home = page(start)
    if home is None:
        raise DiscoveryError(f"{start} did not answer with an HTML page")
    columns: dict[str, str] = {}  # column URL → its name
    portals = [start] + [link.url for link in home.links if _PORTAL_TEXT.search(link.text) and not link.is_column]
    for portal_url in portals:
        portal = page(portal_url)
        if portal is None:
            continue
        for link in portal.links:
            if link.is_column and urlsplit(link.url).hostname == host:
                columns.setdefault(link.url, link.text)
    found: dict[str, FoundSource] = {}
    site_name = home.title
    queue = list(columns.items())
    seen = set(columns)
    while queue:
        column_url, name = queue.pop(0)
        column = page(column_url)
        if column is None:
            continue  # not answering, not HTML, or disallowed by robots.txt: not a column we can crawl
        inner = [link for link in column.links if link.is_column and urlsplit(link.url).hostname == host]
        if any(link.looks_like_report for link in column.links) or len(inner) < 2:
            found.setdefault(column_url, _source(column_url, name, region, site_name))
        for link in inner:  # a directory of department/township columns, or columns linked from a column
            if link.url not in seen:
                seen.add(link.url)
                queue.append((link.url, link.text))
    return _unique_ids(list(found.values()))


def read_csv(path: Path) -> list[FoundSource]:
    """``id,name,region,URL`` rows (a header row is allowed). Raises DiscoveryError naming every bad row."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DiscoveryError(f"cannot read {path}: {exc}") from exc
    rows = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
    if rows and [c.strip().lower() for c in rows[0][:4]] == ["id", "name", "region", "url"]:
        rows = rows[1:]
    out: list[FoundSource] = []
    errors: list[str] = []
    for n, row in enumerate(rows, start=1):
        if len(row) != 4:
            errors.append(f"row {n}: expected 4 columns id,name,region,URL, got {len(row)}")
            continue
        sid, name, reg, url = (c.strip() for c in row)
        entry = FoundSource(sid, name or sid, reg.strip("/"), url)
        try:
            parse_source(tomllib.loads(entry.toml())["source"][0], f"row {n}")
        except SourcesError as exc:
            errors.append(str(exc))
            continue
        out.append(entry)
    if errors:
        raise DiscoveryError(f"{path}: nothing imported, {len(errors)} bad row(s):\n  " + "\n  ".join(errors))
    if not out:
        raise DiscoveryError(f"{path}: no rows")
    return out


def append(entries: list[FoundSource], sources_file: Path) -> tuple[list[FoundSource], list[FoundSource]]:
    """Append entries whose id and start URL the file does not hold yet; returns (added, skipped).

    The result is read back with the sources loader before the file is replaced: a bad file is never written."""
    from crawler.sources import load_sources

    existing = load_sources(sources_file) if sources_file.exists() else []
    ids = {s.id for s in existing}
    urls = {canonical_url(u) for s in existing for u in s.start_urls}
    added, skipped = [], []
    for e in entries:
        if e.id in ids or canonical_url(e.url) in urls:
            skipped.append(e)
            continue
        ids.add(e.id)
        urls.add(canonical_url(e.url))
        added.append(e)
    if not added:
        return added, skipped
    old = sources_file.read_text(encoding="utf-8") if sources_file.exists() else ""
    new = old + ("\n" if old and not old.endswith("\n\n") else "") + "\n".join(e.toml() for e in added)
    tmp = sources_file.with_name(sources_file.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    try:
        load_sources(tmp)
    except SourcesError:
        tmp.unlink()
        raise
    tmp.replace(sources_file)
    return added, skipped


def _fetch(fetcher: Fetcher, url: str) -> Page | None:
    result = fetcher.fetch(url)
    if result.error or result.status != 200 or not is_html_type(result.content_type):
        return None
    return analyse(url, decode_text(result.entity(), result.content_type))


def _source(url: str, name: str, region: str, site_name: str) -> FoundSource:
    from indexer.regions import resolve

    resolved, warnings = resolve(f"{name} {site_name}", hint=region or None, url=url)
    path = "/".join(p for p in (resolved.province, resolved.city, resolved.county) if p)
    return FoundSource(_id_for(url), name, path if path and not warnings else region, url)


def _id_for(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "site").removeprefix("www.")
    path = parts.path.rsplit("/", 1)[0] if parts.path.endswith((".html", ".htm", ".shtml", ".jsp")) else parts.path
    slug = _ID_CLEAN.sub("-", f"{host}{path}").strip("-.")
    return slug[:80] or "site"


def _unique_ids(entries: list[FoundSource]) -> list[FoundSource]:
    seen: dict[str, int] = {}
    out = []
    for e in entries:
        n = seen.get(e.id, 0)
        seen[e.id] = n + 1
        out.append(e if n == 0 else FoundSource(f"{e.id}-{n + 1}", e.name, e.region, e.url))
    return out


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
