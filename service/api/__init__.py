"""The JSON API under /api/v1, built with flask-smorest: schemas validate requests and generate OpenAPI 3."""

from __future__ import annotations

from typing import ClassVar

from flask import Flask
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser

from service import errors
from service.schemas import ErrorSchema

PREFIX = "/api/v1"


class Parser(FlaskParser):
    """Invalid parameters are a 400 (the client's mistake), and unknown ones are reported, not ignored."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION: ClassVar[dict[str, str | None]] = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": RAISE,
        "json": RAISE,
    }


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = Parser()


class NianbaoApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):  # type: ignore[override]
        return errors.handle_http_exception(error)


def init_api(app: Flask) -> Api:
    app.config.setdefault("API_TITLE", "nianbao 年报 API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {
                "description": "Search and statistics over Chinese government information-disclosure annual "
                "reports (政府信息公开工作年度报告). Errors are JSON: "
                '{"error": {"status": 400, "reason": "...", "fields": {"param": ["message"]}}}.'
            },
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            },
        },
    )
    api = NianbaoApi(app)
    from service.api import admin, insights, meta, reports, search

    for module in (search, reports, insights, meta, admin):
        api.register_blueprint(module.blp, url_prefix=PREFIX)
    return api
