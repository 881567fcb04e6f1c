"""The metric catalogue and operational probes."""

from __future__ import annotations

from flask import current_app

from indexer import catalogue
from nianbao import __version__
from service import state
from service.api import Blueprint
from service.errors import ApiError
from service.present import metric_dict
from service.schemas import ErrorSchema, HealthSchema, MetricListSchema

blp = Blueprint("meta", __name__, description="Metric catalogue, health and readiness")


@blp.route("/metrics")
@blp.response(200, MetricListSchema)
def metrics():
    """Every metric a report's tables carry: key, Chinese label, table, unit."""
    items = [metric_dict(m) for m in catalogue.metrics()]
    return {"total": len(items), "tables": dict(catalogue.TABLE_LABELS), "metrics": items}


@blp.route("/health")
@blp.response(200, HealthSchema)
def health():
    """The process is up (does not touch the store)."""
    return {"status": "ok", "version": __version__, "engine": state.settings().engine}


@blp.route("/ready")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=ErrorSchema)
def ready():
    """The store answers: ready to serve searches."""
    try:
        count = state.store().count()
    except ApiError:
        raise
    except Exception as exc:  # any store failure means "not ready", reported as 503, not 500
        current_app.logger.warning("store not ready: %s", exc)
        raise ApiError(503, "the search index is not reachable") from exc
    return {"status": "ready", "engine": state.settings().engine, "reports": count, "version": __version__}
