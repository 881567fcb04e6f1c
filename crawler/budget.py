"""How much one crawl run may fetch: pages per list (followed through its pager) and URLs per source.

A pager whose numbered links never end (a calendar, a search result, a broken CMS) would otherwise grow the
queue without bound. When a cap is reached the rest is not queued, the run says so (summary, catalog,
``nianbao status``), and the source's listing counts as incomplete, so no report is marked removed for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.sources import Source
from nianbao.settings import Settings


@dataclass(slots=True)
class CapHit:
    source_id: str
    what: str  # "list" | "source"
    url: str  # the list's first page, or the source's first start URL
    limit: int
    refused: int = 0  # URLs not queued because of it

    def describe(self) -> str:
        if self.what == "list":
            setting = "max_list_pages / crawl_max_pages_per_list"
            head = f"list {self.url} of source {self.source_id}: cap of {self.limit} pages per list reached"
        else:
            setting = "max_pages / crawl_max_pages_per_source"
            head = f"source {self.source_id}: cap of {self.limit} URLs per run reached"
        return f"{head}, {self.refused} more not fetched (raise {setting})"


@dataclass
class PageBudget:
    settings: Settings
    _per_source: dict[str, int] = field(default_factory=dict)
    _per_list: dict[tuple[str, str], int] = field(default_factory=dict)
    hits: dict[tuple[str, str], CapHit] = field(default_factory=dict)

    def admit(self, source: Source, list_url: str | None) -> CapHit | None:
        """Count one URL about to be queued for ``source`` (a pager page of ``list_url`` when given). Returns
        the cap it would break instead, with the refusal counted (``refused == 1``: the first)."""
        per_list = source.max_list_pages or self.settings.crawl_max_pages_per_list
        per_source = source.max_pages or self.settings.crawl_max_pages_per_source
        if list_url is not None and self._per_list.get((source.id, list_url), 0) >= per_list:
            return self._refuse(source, "list", list_url, per_list)
        if self._per_source.get(source.id, 0) >= per_source:
            return self._refuse(source, "source", source.start_urls[0], per_source)
        self._per_source[source.id] = self._per_source.get(source.id, 0) + 1
        if list_url is not None:
            self._per_list[(source.id, list_url)] = self._per_list.get((source.id, list_url), 0) + 1
        return None

    def _refuse(self, source: Source, what: str, url: str, limit: int) -> CapHit:
        key = (source.id, url if what == "list" else f"source:{source.id}")
        hit = self.hits.get(key)
        if hit is None:
            hit = self.hits[key] = CapHit(source.id, what, url, limit)
        hit.refused += 1
        return hit

    def describe(self) -> list[str]:
        return [hit.describe() for hit in self.hits.values()]
