"""Admin endpoints (bearer token): start a crawl or a reindex in the background, add a source."""

from __future__ import annotations

import hmac
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from flask import current_app, request

from service import state
from service.api import Blueprint
from service.errors import ApiError
from service.schemas import CrawlRequestSchema, ErrorSchema, JobSchema, ReindexRequestSchema, SourceRequestSchema

blp = Blueprint("admin", __name__, description="Operations (require Authorization: Bearer <admin token>)")

SECURITY = [{"bearerAuth": []}]


@blp.before_request
def require_admin_token() -> None:
    configured = current_app.config["ADMIN_TOKEN"]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header or scheme.lower() != "bearer" or not token.strip():
        reason = "admin endpoints need 'Authorization: Bearer <admin token>'"
        raise ApiError(401, reason, **{"WWW-Authenticate": "Bearer"})
    if not configured:
        raise ApiError(403, "admin endpoints are disabled: no admin token is configured")
    if not hmac.compare_digest(token.strip().encode(), configured.encode()):
        raise ApiError(403, "wrong admin token")


def refuse_uncrawlable(field: str, urls: list[str]) -> None:
    """A 400 naming the URL and the reason when the crawler may not go there (crawler.address)."""
    from crawler.address import AddressPolicy

    policy = AddressPolicy.from_settings(state.settings())
    for url in urls:
        refusal = policy.url_refusal(url)
        if refusal:
            message = f"cannot crawl {url[:200]!r}: {refusal}"
            raise ApiError(400, message, {field: [message]})


def _accepted(job: Any):
    return job.as_dict(), 202, {"Location": job.as_dict()["url"]}


@blp.route("/admin/crawl", methods=["POST"])
@blp.arguments(CrawlRequestSchema(), required=False, as_kwargs=False)
@blp.response(202, JobSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.doc(security=SECURITY)
def crawl(args: dict[str, Any]):
    """Crawl every source, one source, or an ad-hoc URL, then index what is new (runs in the background)."""
    settings = state.settings()
    if args.get("url"):
        refuse_uncrawlable("url", [args["url"]])

    def run() -> str:
        from crawler.run import crawl as run_crawl
        from indexer.pipeline import index_archive

        summary = run_crawl(settings, source_id=args.get("source_id"), url=args.get("url"), region=args.get("region"))
        stats = index_archive(settings, rebuild=False)
        return f"{summary.describe()}; {stats.describe()}"

    return _accepted(state.jobs().submit("crawl", run))


@blp.route("/admin/reindex", methods=["POST"])
@blp.arguments(ReindexRequestSchema(), required=False, as_kwargs=False)
@blp.response(202, JobSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.doc(security=SECURITY)
def reindex(args: dict[str, Any]):
    """Rebuild the search index from the archive (swapped in atomically when done)."""
    settings = state.settings()
    rebuild = args.get("rebuild", True)

    def run() -> Any:
        from indexer.pipeline import index_archive

        return index_archive(settings, rebuild=rebuild)

    return _accepted(state.jobs().submit("reindex", run))


@blp.route("/admin/jobs/<string:job_id>")
@blp.response(200, JobSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.doc(security=SECURITY)
def job(job_id: str):
    """Status of a crawl or reindex job."""
    found = state.jobs().get(job_id)
    if found is None:
        raise ApiError(404, f"no job {job_id[:40]!r}")
    return found.as_dict()


def _toml_source(data: dict[str, Any]) -> str:
    # JSON strings and arrays of strings are valid TOML basic strings and arrays.
    lines = ["", "[[source]]"]
    for key in ("id", "name", "region", "start_urls", "schedule"):
        if data.get(key):
            lines.append(f"{key} = {json.dumps(data[key], ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def append_source(path: Path, data: dict[str, Any]) -> None:
    """Append a [[source]] to the sources file, only if the whole file still validates afterwards."""
    from crawler.sources import SourcesError, load_sources

    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = old + ("" if not old or old.endswith("\n") else "\n") + _toml_source(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".sources-", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(new)
        try:
            load_sources(Path(tmp))
        except SourcesError as exc:
            message = str(exc).replace(tmp, str(path))
            raise ApiError(400, message, {"source": [message]}) from exc
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@blp.route("/admin/sources", methods=["POST"])
@blp.arguments(SourceRequestSchema(), as_kwargs=False)
@blp.response(201, SourceRequestSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.doc(security=SECURITY)
def add_source(args: dict[str, Any]):
    """Add a site to the sources file (validated with the crawler's own rules; duplicates are refused)."""
    path = state.settings().sources_file
    if path is None:
        raise ApiError(409, "no sources file is configured (settings: sources_file)")
    refuse_uncrawlable("start_urls", args["start_urls"])
    append_source(Path(path), args)
    return args
