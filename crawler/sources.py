"""The sources file: which government sites to crawl, where to start, how politely, and when.

A TOML file with one ``[[source]]`` table per site; see ``sources.example.toml`` at the repository top.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.address import AddressPolicy
from crawler.cron import cron_trigger

RENDER_MODES = ("never", "auto", "always")
DEFAULT_SCHEDULE = "0 3 * * *"  # daily at 03:00, off-peak for government sites
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HOST_RE = re.compile(r"^[a-z0-9_.-]+(?::\d{1,5})?$")


class SourcesError(ValueError):
    """The sources file cannot be used; the message names the file, the source and the field."""


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    name: str
    start_urls: tuple[str, ...]
    region: str = ""  # "省/市/县", e.g. "河南省/平顶山市/鲁山县"
    allowed_hosts: tuple[str, ...] = ()  # empty → the hosts of the start URLs
    link_patterns: tuple[str, ...] = ()  # regexes; when given, only matching links are followed (besides paging)
    schedule: str = DEFAULT_SCHEDULE  # crontab: minute hour day month day_of_week
    delay: float | None = None  # seconds between requests to one host; None → settings.crawl_delay
    concurrency: int = 1  # simultaneous requests to one host
    max_depth: int | None = None  # None → settings.crawl_max_depth
    render: str = "auto"  # never | auto (list pages whose static HTML has no report links) | always
    max_pages: int | None = None  # URLs fetched per run; None → settings.crawl_max_pages_per_source
    max_list_pages: int | None = None  # pages per list's pager; None → settings.crawl_max_pages_per_list
    compiled_patterns: tuple[re.Pattern[str], ...] = field(default=(), repr=False, compare=False)
    _hosts: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A host named without a port (in allowed_hosts, or a start URL on the default port) allows ports 80
        # and 443: sites move between http and https, not to other ports.
        if self.allowed_hosts:
            hosts = frozenset(p for h in self.allowed_hosts for p in _entry_ports(h))
        else:
            hosts = frozenset(p for u in self.start_urls for p in _url_ports(u))
        object.__setattr__(self, "_hosts", hosts)

    def hosts(self) -> frozenset[str]:
        """Allowed "host:port" pairs."""
        return self._hosts

    def allows(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            return False
        if parts.scheme not in _DEFAULT_PORTS or "@" in parts.netloc:
            return False
        return f"{(parts.hostname or '').lower()}:{port}" in self._hosts


_DEFAULT_PORTS = {"http": 80, "https": 443}
# Refused whatever the settings: metadata and link-local addresses, credentials in the URL. Loopback and
# private ranges depend on the settings and are checked when the crawl starts (crawler.address).
_ALWAYS = AddressPolicy(allow_loopback=True, allow_private=True)


def _host_ports(host: str, port: int | None) -> list[str]:
    host = host.lower()
    if port is not None and port not in _DEFAULT_PORTS.values():
        return [f"{host}:{port}"]
    return [f"{host}:80", f"{host}:443"]


def _entry_ports(entry: str) -> list[str]:
    host, _, port = entry.partition(":")
    return _host_ports(host, int(port) if port else None)


def _url_ports(url: str) -> list[str]:
    parts = urlsplit(url)
    return _host_ports(parts.hostname or "", parts.port)


def check_url(url: str) -> str | None:
    """Why a start URL can never be crawled (not http(s), credentials, metadata or link-local), or None."""
    return _ALWAYS.url_refusal(url)


def adhoc_source(url: str, region: str | None = None, render: str = "auto") -> Source:
    """A one-off source for ``nianbao crawl URL``: start at ``url`` and stay on its host and port."""
    refusal = check_url(url)
    if refusal:
        raise SourcesError(f"cannot crawl {url[:200]!r}: {refusal}")
    if render not in RENDER_MODES:
        raise SourcesError(f"render must be one of {', '.join(RENDER_MODES)} (got {render!r})")
    host = urlsplit(url).hostname or ""
    return Source(id=f"adhoc:{host}", name=host, start_urls=(url,), region=region or "", render=render)


def load_sources(path: Path) -> list[Source]:
    """Read and validate a sources file; raises SourcesError with a message meant for the user."""
    sources, problems = load_sources_leniently(path)
    if problems:
        raise SourcesError(problems[0])
    return sources


def load_sources_leniently(path: Path) -> tuple[list[Source], list[str]]:
    """The valid sources of a file and what is wrong with the others (the scheduler runs the valid ones);
    raises SourcesError when the file itself cannot be read."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SourcesError(f"sources file not found: {path}") from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SourcesError(f"cannot read sources file {path}: {exc}") from exc
    raw = data.get("source", [])
    if not isinstance(raw, list):
        raise SourcesError(f"{path}: 'source' must be an array of tables ([[source]])")
    sources: list[Source] = []
    problems: list[str] = []
    for i, entry in enumerate(raw):
        try:
            src = parse_source(entry, f"{path}: source #{i + 1}")
        except SourcesError as exc:
            problems.append(str(exc))
            continue
        if any(s.id == src.id for s in sources):
            problems.append(f"{path}: duplicate source id {src.id!r}")
            continue
        sources.append(src)
    return sources, problems


def parse_source(entry: Any, where: str) -> Source:
    if not isinstance(entry, dict):
        raise SourcesError(f"{where}: must be a table")
    known = {
        "id",
        "name",
        "region",
        "start_urls",
        "allowed_hosts",
        "link_patterns",
        "schedule",
        "delay",
        "concurrency",
        "max_depth",
        "render",
        "max_pages",
        "max_list_pages",
    }
    unknown = set(entry) - known
    if unknown:
        raise SourcesError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    sid = entry.get("id")
    if not isinstance(sid, str) or not _ID_RE.match(sid):
        raise SourcesError(f"{where}: 'id' must be letters, digits, '.', '_' or '-' (got {sid!r})")
    where = f"{where} ({sid})"
    starts = entry.get("start_urls")
    if isinstance(starts, str):
        starts = [starts]
    if not starts or not all(isinstance(u, str) for u in starts):
        raise SourcesError(f"{where}: 'start_urls' must be a non-empty list of URLs")
    for url in starts:
        refusal = check_url(url)
        if refusal:
            raise SourcesError(f"{where}: cannot crawl {url[:200]!r}: {refusal}")
    patterns = tuple(_str_list(entry, "link_patterns", where))
    try:
        compiled = tuple(re.compile(p) for p in patterns)
    except re.error as exc:
        raise SourcesError(f"{where}: bad link pattern: {exc}") from exc
    schedule = entry.get("schedule", DEFAULT_SCHEDULE)
    if not isinstance(schedule, str):
        raise SourcesError(f"{where}: 'schedule' must be a 5-field crontab such as '0 3 * * *' (got {schedule!r})")
    try:
        cron_trigger(schedule)  # the scheduler's own parser: accepted here means it runs there
    except ValueError as exc:
        raise SourcesError(f"{where}: 'schedule' {schedule!r} is not a crontab the scheduler can run: {exc}") from exc
    delay = entry.get("delay")
    if delay is not None and (not isinstance(delay, int | float) or delay < 0):
        raise SourcesError(f"{where}: 'delay' must be a non-negative number of seconds")
    concurrency = entry.get("concurrency", 1)
    if not isinstance(concurrency, int) or not 1 <= concurrency <= 16:
        raise SourcesError(f"{where}: 'concurrency' must be an integer from 1 to 16")
    max_depth = entry.get("max_depth")
    if max_depth is not None and (not isinstance(max_depth, int) or max_depth < 0):
        raise SourcesError(f"{where}: 'max_depth' must be a non-negative integer")
    render = entry.get("render", "auto")
    if render not in RENDER_MODES:
        raise SourcesError(f"{where}: 'render' must be one of {', '.join(RENDER_MODES)} (got {render!r})")
    limits = {}
    for key in ("max_pages", "max_list_pages"):
        value = entry.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise SourcesError(f"{where}: '{key}' must be a positive integer")
        limits[key] = value
    hosts = [h.lower() for h in _str_list(entry, "allowed_hosts", where)]
    for host in hosts:
        if not _HOST_RE.match(host):
            raise SourcesError(f"{where}: allowed host must be 'name' or 'name:port' (got {host!r})")
    region = entry.get("region", "")
    if not isinstance(region, str):
        raise SourcesError(f"{where}: 'region' must be a string like '河南省/平顶山市/鲁山县'")
    return Source(
        id=sid,
        name=str(entry.get("name") or sid),
        start_urls=tuple(starts),
        region=region.strip("/"),
        allowed_hosts=tuple(hosts),
        link_patterns=patterns,
        schedule=schedule,
        delay=float(delay) if delay is not None else None,
        concurrency=concurrency,
        max_depth=max_depth,
        render=render,
        max_pages=limits["max_pages"],
        max_list_pages=limits["max_list_pages"],
        compiled_patterns=compiled,
    )


def _str_list(entry: dict[str, Any], key: str, where: str) -> list[str]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SourcesError(f"{where}: '{key}' must be a list of strings")
    return value
