"""What a request needs from the application: settings, the store, the crawl catalogue, the job runner."""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import current_app

from indexer.document import ReportDocument
from nianbao.settings import Settings
from service.errors import ApiError
from store.base import Store

log = logging.getLogger(__name__)

EXT = "nianbao"
_catalog_lock = threading.Lock()


def settings() -> Settings:
    return current_app.config["NIANBAO_SETTINGS"]


def store() -> Store:
    st = current_app.extensions[EXT]["store"]
    if st is None:
        raise ApiError(503, "the search index is not available")
    return st


def catalog() -> Any:
    """The crawl catalogue, opened on first use (the archive may not exist yet on a fresh install)."""
    ext = current_app.extensions[EXT]
    if ext["catalog"] is None:
        with _catalog_lock:
            if ext["catalog"] is None:
                try:
                    from crawler.catalog import Catalog

                    path = settings().catalog_path
                    if not path.exists():
                        raise ApiError(404, "no archive yet: nothing has been crawled")
                    ext["catalog"] = Catalog(path)
                except ImportError as exc:
                    log.warning("archive catalogue unavailable: %s", exc)
                    raise ApiError(503, "the archive is not available") from exc
    return ext["catalog"]


def jobs() -> Any:
    return current_app.extensions[EXT]["jobs"]


def get_report(report_id: str) -> ReportDocument:
    if len(report_id) > 100:
        raise ApiError(404, f"no report {report_id[:100]!r}…")
    doc = store().get(report_id)
    if doc is None:
        raise ApiError(404, f"no report {report_id!r}")
    return doc


def close(app: Any) -> None:
    """Release what the app opened (store, catalogue, job threads); for shutdown and tests."""
    ext = app.extensions[EXT]
    ext["jobs"].shutdown()
    for key in ("catalog", "store"):
        if ext[key] is not None:
            ext[key].close()
            ext[key] = None
