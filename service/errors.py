"""Every error becomes a clear response: JSON ``{"error": {...}}`` under /api, a short page elsewhere.

No exception escapes as a traceback: unexpected ones are logged and answered with a generic message.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from service.schemas import flatten_errors
from store.base import StoreUnavailable
from store.query import QueryError

log = logging.getLogger(__name__)

API_PREFIX = "/api/"

# Plain-language reasons for the statuses we return (werkzeug's descriptions are long and English-only).
REASONS: dict[int, str] = {
    400: "invalid request",
    401: "authentication required: send 'Authorization: Bearer <admin token>'",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    409: "conflict",
    413: "request body too large",
    429: "too many requests; slow down",
    500: "internal error; it has been logged",
    503: "service unavailable",
}


class ApiError(Exception):
    """Raised by views for an expected failure the client should see."""

    def __init__(self, status: int, reason: str, fields: dict[str, list[str]] | None = None, **headers: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.fields = fields or {}
        self.headers = headers


def error_response(
    status: int, reason: str | None = None, fields: dict[str, list[str]] | None = None, headers: dict | None = None
) -> Response:
    reason = reason or REASONS.get(status, "error")
    if request.path.startswith(API_PREFIX) or request.accept_mimetypes.best == "application/json":
        body: dict[str, Any] = {"status": status, "reason": reason}
        if fields:
            body["fields"] = fields
        resp = jsonify({"error": body})
    else:
        resp = Response(
            render_template("error.html", status=status, reason=reason, fields=fields or {}),
            mimetype="text/html",
        )
    resp.status_code = status
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    if status == 401 and "WWW-Authenticate" not in resp.headers:
        resp.headers["WWW-Authenticate"] = "Bearer"  # RFC 9110: a 401 names the scheme to use
    return resp


def handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    if isinstance(exc, InternalServerError) and exc.original_exception is not None:
        return handle_unexpected(exc.original_exception)
    data = getattr(exc, "data", None) or {}
    fields = flatten_errors(data["messages"]) if "messages" in data else None
    reason = REASONS.get(status) if fields is None else "invalid parameters"
    if status == 405:
        allowed = exc.valid_methods if hasattr(exc, "valid_methods") and exc.valid_methods else []
        reason = f"method {request.method} not allowed; use {', '.join(allowed)}" if allowed else REASONS[405]
    headers = dict(data.get("headers") or {})
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    return error_response(status, reason, fields, headers)


def handle_query_error(exc: QueryError) -> Response:
    return error_response(400, str(exc), {exc.field: [str(exc)]})


def handle_api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.reason, exc.fields, exc.headers)


def handle_store_unavailable(exc: StoreUnavailable) -> Response:
    log.error("store unavailable: %s", exc)
    return error_response(503, f"search store unavailable: {exc}")


def handle_unexpected(exc: BaseException) -> Response:
    if isinstance(exc, RecursionError):  # the known inputs are capped; this catches any we missed
        log.warning("input nested too deeply on %s %s", request.method, request.path)
        return error_response(400, "input nested too deeply")
    log.exception("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(500)


def register(app: Flask) -> None:
    app.register_error_handler(QueryError, handle_query_error)
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(StoreUnavailable, handle_store_unavailable)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
