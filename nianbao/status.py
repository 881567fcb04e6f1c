"""`nianbao status`: what is archived, indexed and flagged."""

from __future__ import annotations

from typing import Any

from nianbao.settings import Settings


def is_robots_refusal(reason: str) -> bool:
    return "robots.txt" in reason


def collect_status(settings: Settings) -> dict[str, Any]:
    from crawler.catalog import Catalog
    from crawler.run import is_crawl_warning
    from store import open_store
    from store.query import build_search

    status: dict[str, Any] = {"data_dir": settings.data_dir.resolve(), "engine": settings.engine}
    if settings.catalog_path.exists():
        with Catalog(settings.catalog_path) as catalog:
            stats = catalog.stats()
            # The last crawl's failures as the crawl itself reported them: robots.txt refusals are not failures.
            failures = catalog.last_run_failures()
            blocked = sum(1 for _, reason in failures if is_robots_refusal(reason))
            warned = sum(1 for _, reason in failures if is_crawl_warning(reason))  # archived, read with doubt
            stats.pop("last_run_failures", None)
            stats["last_run_failed"] = len(failures) - blocked - warned
            stats["last_run_blocked_by_robots"] = blocked
            status.update({f"archive.{k}": v for k, v in stats.items()})
            last_run = catalog.last_run_summary()
            if last_run:  # what the last crawl left out (caps reached, hosts given up) and its warnings
                status["crawl.last_run.limits"] = "; ".join(last_run.get("limits", [])) or "none reached"
                status["crawl.last_run.warnings"] = last_run.get("warnings", 0)
            # Reports read by another parser version are parsed again by the next `nianbao index`.
            for version, n in sorted(catalog.parsers_indexed().items()):
                status[f"archive.parsed_by.{version or 'unversioned'}"] = n
    else:
        status["archive"] = "empty (run `nianbao crawl`)"
    with open_store(settings) as store:
        status["index.reports"] = store.count()
        result = store.search(build_search("", facets=["check_status", "flags", "removed"], size=1))
        for facet in result.facets:
            for value in facet.values:
                status[f"index.{facet.name}.{value.value}"] = value.count
    return status
