"""The application factory: settings read once into ``app.config``, one blueprint per area."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, request

from nianbao.settings import Settings, load_settings
from service import errors
from service.jobs import JobRunner
from service.ratelimit import RateLimiter
from service.state import EXT
from service.statedb import FILE_NAME, StateDB

log = logging.getLogger(__name__)

MAX_REQUEST_BODY = 64 * 1024  # admin bodies are a few hundred bytes; anything large is a mistake


def create_app(settings: Settings | None = None, *, store: Any = None, catalog: Any = None) -> Flask:
    """The Flask app: JSON API under /api/v1, the search pages under /.

    ``store``/``catalog`` are given by tests and embedders; otherwise they come from the settings
    (the store is opened now, the crawl catalogue on first use).
    """
    settings = settings or load_settings()
    app = Flask(__name__, static_folder=None)  # the web blueprint serves service/static
    app.config.update(
        NIANBAO_SETTINGS=settings,
        ADMIN_TOKEN=settings.admin_token,
        RATE_LIMIT_PER_MINUTE=settings.rate_limit_per_minute,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BODY,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese stays readable in responses
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if store is None:
        from store import create_store

        store = create_store(settings)
    shared = StateDB(settings.data_dir / FILE_NAME)  # rate limiter and job status, common to all workers
    app.extensions[EXT] = {"store": store, "catalog": catalog, "jobs": JobRunner(shared)}

    from service.api import init_api
    from service.web import bp as web_bp

    init_api(app)
    app.register_blueprint(web_bp)
    errors.register(app)  # after flask-smorest, so ours answer every HTTP error
    _install_rate_limit(app, RateLimiter(app.config["RATE_LIMIT_PER_MINUTE"], shared))
    _install_security_headers(app)
    return app


def _install_rate_limit(app: Flask, limiter: RateLimiter) -> None:
    @app.before_request
    def limit() -> Response | None:
        if request.path.startswith("/static/"):
            return None
        allowed, retry_after = limiter.allow(request.remote_addr or "unknown")
        if allowed:
            return None
        return errors.error_response(
            429,
            f"more than {limiter.per_minute} requests a minute from your address; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


def _install_security_headers(app: Flask) -> None:
    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if resp.mimetype == "text/html":
            resp.headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
        return resp
