"""The Elasticsearch store: the same ``Store`` interface and results as the embedded one, on a cluster.

Searches go through an alias (``settings.elasticsearch_index``) to a versioned physical index
``<alias>-v<timestamp>``. ``rebuild()`` fills a new physical index and swaps the alias in one
``_aliases`` call, so readers never see a half-built index; the old index is deleted afterwards.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import elasticsearch
from elasticsearch import Elasticsearch, helpers

from indexer import catalogue
from indexer.document import ReportDocument
from store import es_mapping, es_query
from store.base import (
    DERIVED_METRICS,
    DERIVED_PREFIX,
    AgencySummary,
    AggregationResult,
    DerivedValues,
    IndexStats,
    SearchResult,
    StoreUnavailable,
    check_state_fields,
    derived_json,
)
from store.query import AggregationQuery, QueryError, SearchQuery

MIN_SERVER_VERSION = (8, 3)  # metrics use "subobjects": false (8.3+)
BULK_CHUNK = 500
BULK_RETRIES = 3  # per chunk, with exponential back-off, when the cluster answers 429 (queue full)
BULK_BACKOFF_S = 2.0  # first back-off; doubles per retry
MAX_ERRORS = 100  # per-item error messages kept in IndexStats
# store.base.with_derived on the stored source: the insights stage's values replaced, nothing else sent.
DERIVED_SCRIPT = """
def src = ctx._source;
if (src.metrics == null) { src.metrics = new HashMap(); }
for (def k : params.drop) { src.metrics.remove(k); }
src.metrics.putAll(params.metrics);
if (src.checks == null) { src.checks = new ArrayList(); }
src.checks.removeIf(c -> c.name != null && c.name.startsWith(params.prefix));
src.checks.addAll(params.checks);
if (src.flags == null) { src.flags = new ArrayList(); }
src.flags.removeIf(f -> f.startsWith(params.prefix));
src.flags.addAll(params.flags);
src.analysis = params.analysis;
src.check_status = params.check_status;
""".strip()
AGENCY_SCAN_LIMIT = 10_000

T = TypeVar("T")


class ElasticStoreError(StoreUnavailable):
    """Elasticsearch cannot be used as configured; the message says why and what to do."""


def physical_index_name(alias: str) -> str:
    return f"{alias}-v{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}"


def parse_version(number: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in number.split("-")[0].split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def check_server(client: Elasticsearch, url: str) -> str:
    """The server's version number; raises ElasticStoreError when unreachable, not Elasticsearch or too old."""
    hint = "start it (docker compose up -d elasticsearch) or unset NIANBAO_ELASTICSEARCH_URL to use the embedded store"
    try:
        info = client.info().body
    except elasticsearch.UnsupportedProductError as exc:
        raise ElasticStoreError(
            f"the server at {url} is not Elasticsearch ({exc}); check NIANBAO_ELASTICSEARCH_URL"
        ) from None
    except elasticsearch.AuthenticationException as exc:
        raise ElasticStoreError(
            f"Elasticsearch at {url} refused the credentials; put user:password in the URL ({exc})"
        ) from None
    except (elasticsearch.ConnectionError, elasticsearch.TransportError) as exc:
        raise ElasticStoreError(f"cannot reach Elasticsearch at {url}: {exc}; {hint}") from None
    except elasticsearch.ApiError as exc:
        raise ElasticStoreError(f"Elasticsearch at {url} answered {exc.meta.status}: {exc}") from None
    number = str(info.get("version", {}).get("number", ""))
    if parse_version(number)[:2] < MIN_SERVER_VERSION:
        need = ".".join(map(str, MIN_SERVER_VERSION))
        raise ElasticStoreError(
            f"Elasticsearch at {url} is version {number or 'unknown'}; nianbao needs {need} or later (8.x)"
        )
    return number


class ElasticStore:
    """``Store`` on Elasticsearch. ``index`` is the alias searches use (settings.elasticsearch_index)."""

    def __init__(
        self,
        url: str,
        index: str,
        analyzer: str = "cjk",
        *,
        client: Elasticsearch | None = None,
        timeout: float = 30.0,
        _target: str | None = None,
    ) -> None:
        if analyzer not in es_mapping.ANALYZERS:
            raise ElasticStoreError(f"unknown analyzer {analyzer!r}; use one of {', '.join(es_mapping.ANALYZERS)}")
        self.url, self.alias, self.analyzer = url, index, analyzer
        self._owns_client = client is None
        self.client = client or Elasticsearch(url, request_timeout=timeout, max_retries=2, retry_on_timeout=True)
        if _target is not None:  # a rebuild's view of its new physical index (server already checked)
            self.target = _target
            return
        try:
            self.server_version = check_server(self.client, url)
            self.target = index  # reads and writes go through the alias
            self._ensure_index()
        except BaseException:
            self.close()
            raise

    # -- index lifecycle -----------------------------------------------------------------------------

    def _create_index(self, name: str, aliases: dict[str, Any] | None = None) -> None:
        definition = es_mapping.index_definition(self.analyzer)
        try:
            self.client.indices.create(index=name, aliases=aliases or None, **definition)
        except elasticsearch.BadRequestError as exc:
            if "analyzer" in str(exc) and self.analyzer != "cjk":
                raise ElasticStoreError(
                    f"analyzer {self.analyzer!r} needs its Elasticsearch plugin "
                    f"(analysis-{self.analyzer} / IK) installed on every node; "
                    "or set NIANBAO_ELASTICSEARCH_ANALYZER=cjk for built-in analysis"
                ) from None
            raise ElasticStoreError(f"cannot create index {name!r}: {exc}") from None

    def _ensure_index(self) -> None:
        if self.client.indices.exists_alias(name=self.alias).meta.status == 200:
            return
        if self.client.indices.exists(index=self.alias).meta.status == 200:
            return  # a plain index of that name (made by hand): usable; the next rebuild replaces it
        self._create_index(physical_index_name(self.alias), aliases={self.alias: {}})

    def physical_indices(self) -> list[str]:
        """The physical indices the alias points to (the alias name itself when it is a plain index)."""
        try:
            return sorted(self.client.indices.get_alias(name=self.alias).body)
        except elasticsearch.NotFoundError:
            return [self.alias] if self.client.indices.exists(index=self.alias).meta.status == 200 else []

    @contextmanager
    def rebuild(self) -> Iterator[ElasticStore]:
        """A store on a fresh physical index; on success the alias moves to it atomically and the old goes."""
        new = physical_index_name(self.alias)
        self._create_index(new)
        fresh = ElasticStore(self.url, self.alias, self.analyzer, client=self.client, _target=new)
        try:
            yield fresh
            self.client.indices.refresh(index=new)
        except BaseException:
            self.client.indices.delete(index=new, ignore_unavailable=True)
            raise
        old = self.physical_indices()
        actions: list[dict[str, Any]] = []
        for name in old:
            if name == self.alias:  # a plain index squatting on the alias name is removed in the same call
                actions.append({"remove_index": {"index": name}})
            else:
                actions.append({"remove": {"index": name, "alias": self.alias}})
        actions.append({"add": {"index": new, "alias": self.alias}})
        try:
            self.client.indices.update_aliases(actions=actions)  # one call: atomic for readers
        except elasticsearch.ApiError as exc:
            self.client.indices.delete(index=new, ignore_unavailable=True)
            raise ElasticStoreError(f"could not switch {self.alias!r} to the rebuilt index: {exc}") from None
        stale = [name for name in old if name != self.alias]
        if stale:
            self.client.indices.delete(index=",".join(stale), ignore_unavailable=True)

    # -- writing -------------------------------------------------------------------------------------

    def index(self, docs: Iterable[ReportDocument]) -> IndexStats:
        """Insert or replace by id with ``streaming_bulk`` (back-pressure, retries); failures are counted."""
        stats = IndexStats()

        def actions() -> Iterator[dict[str, Any]]:
            for doc in docs:
                try:
                    source = _checked_source(doc, stats.errors)
                except (ValueError, TypeError) as exc:
                    _fail(stats, f"{getattr(doc, 'id', '?') or '?'}: {exc}")
                    continue
                yield {"_op_type": "index", "_index": self.target, "_id": doc.id, "_source": source}

        for ok, item in helpers.streaming_bulk(
            self.client,
            actions(),
            chunk_size=BULK_CHUNK,
            max_retries=BULK_RETRIES,
            initial_backoff=BULK_BACKOFF_S,
            raise_on_error=False,
            raise_on_exception=False,
        ):
            info = next(iter(item.values()))
            if ok:
                stats.indexed += 1
            else:
                _fail(stats, f"{info.get('_id')}: {_reason(info)}")
        self._refresh()
        return stats

    def update_state(self, states: dict[str, dict[str, Any]]) -> int:
        """Crawl-state fields changed in place with partial ``update`` actions (no re-parse, no re-send of the
        document); ids not in the index (404) are skipped."""
        check_state_fields(states)
        actions = (
            {"_op_type": "update", "_index": self.target, "_id": report_id, "doc": fields}
            for report_id, fields in states.items()
        )
        changed = 0
        for ok, item in helpers.streaming_bulk(
            self.client, actions, chunk_size=BULK_CHUNK, raise_on_error=False, raise_on_exception=False
        ):
            info = item["update"]
            if ok:
                changed += info.get("result") == "updated"
            elif info.get("status") != 404:
                raise ElasticStoreError(f"state update of {info.get('_id')} failed: {_reason(info)}")
        self._refresh()
        return changed

    def update_derived(self, values: dict[str, DerivedValues]) -> IndexStats:
        """The insights stage's values replaced with scripted partial ``update`` actions in bulk (the document
        and its text are not sent again); ids not in the index (404) are skipped."""
        stats = IndexStats()
        for ok, item in helpers.streaming_bulk(
            self.client,
            derived_actions(self.target, values),
            chunk_size=BULK_CHUNK,
            max_retries=BULK_RETRIES,
            initial_backoff=BULK_BACKOFF_S,
            raise_on_error=False,
            raise_on_exception=False,
        ):
            info = item["update"]
            if ok:
                stats.indexed += info.get("result") != "noop"
                stats.unchanged += info.get("result") == "noop"
            elif info.get("status") != 404:
                _fail(stats, f"{info.get('_id')}: {_reason(info)}")
        self._refresh()
        return stats

    def delete(self, ids: Iterable[str]) -> int:
        actions = ({"_op_type": "delete", "_index": self.target, "_id": i} for i in ids)
        deleted = 0
        for ok, item in helpers.streaming_bulk(
            self.client, actions, chunk_size=BULK_CHUNK, raise_on_error=False, raise_on_exception=False
        ):
            deleted += ok and item["delete"].get("result") == "deleted"
        self._refresh()
        return deleted

    def _refresh(self) -> None:
        self._call(lambda: self.client.indices.refresh(index=self.target))

    # -- reading -------------------------------------------------------------------------------------

    def get(self, report_id: str) -> ReportDocument | None:
        try:
            resp = self._call(lambda: self.client.get(index=self.target, id=report_id))
        except elasticsearch.NotFoundError:
            return None
        return es_mapping.document_of(resp["_source"])

    def iter_documents(self) -> Iterator[ReportDocument]:
        for hit in helpers.scan(self.client, index=self.target, query={"query": {"match_all": {}}}, size=500):
            yield es_mapping.document_of(hit["_source"])

    def outdated(self) -> str | None:
        return None  # no version of ours is kept with the index: a changed mapping is applied by `nianbao reindex`

    def count(self) -> int:
        return int(self._call(lambda: self.client.count(index=self.target))["count"])

    def search(self, query: SearchQuery) -> SearchResult:
        body = es_query.search_body(query)
        started = time.perf_counter()
        resp = self._call(lambda: self.client.search(index=self.target, body=copy.deepcopy(body)))
        result = es_query.parse_search(query, resp.body)
        result.took_ms = (time.perf_counter() - started) * 1000
        return result

    def aggregate(self, query: AggregationQuery) -> AggregationResult:
        started = time.perf_counter()
        collector = es_query.AggregationCollector(query)
        after: dict[str, Any] | None = None
        while True:
            body = es_query.aggregation_body(query, after)
            resp = self._call(lambda body=body: self.client.search(index=self.target, body=body))
            after = collector.add_page(resp.body)
            if after is None:
                break
        return AggregationResult(collector.rows(), took_ms=(time.perf_counter() - started) * 1000)

    def agencies(self, name: str = "", limit: int = 50) -> list[AgencySummary]:
        limit = max(1, min(int(limit), 1000))
        body = es_query.agencies_body(name, limit)
        resp = self._call(lambda: self.client.search(index=self.target, body=body))
        return es_query.parse_agencies(resp.body, limit)

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    # -- errors --------------------------------------------------------------------------------------

    def _call(self, fn: Callable[[], T]) -> T:
        """Run a request, turning transport failures into ElasticStoreError and bad queries into QueryError."""
        try:
            return fn()
        except elasticsearch.NotFoundError as exc:
            if _reason_type(exc) == "index_not_found_exception":
                raise ElasticStoreError(
                    f"index {self.target!r} does not exist on {self.url}; run `nianbao reindex`"
                ) from None
            raise
        except elasticsearch.BadRequestError as exc:
            raise QueryError(f"the search engine rejected this query: {_reason_text(exc)}") from None
        except (elasticsearch.ConnectionError, elasticsearch.ConnectionTimeout) as exc:
            raise ElasticStoreError(f"lost Elasticsearch at {self.url}: {exc}") from None


def _checked_source(doc: ReportDocument, errors: list[str]) -> dict[str, Any]:
    """The indexed source, refusing what the strict mapping would reject only after a round trip."""
    if not isinstance(doc, ReportDocument):
        raise ValueError(f"not a ReportDocument: {type(doc).__name__}")
    if not doc.id or not isinstance(doc.id, str):
        raise ValueError("document has no id")
    source = es_mapping.source_of(doc)
    metrics: dict[str, float | int | None] = {}
    for key, value in doc.metrics.items():
        if not catalogue.is_metric(key):
            if len(errors) < MAX_ERRORS:
                errors.append(f"{doc.id}: unknown metric {key!r} not indexed")
            continue
        if value is not None and not _is_number(value):
            raise ValueError(f"metric {key!r} is not a number: {value!r}")
        metrics[key] = value  # None stays: "the report does not give it", as the document says
    source[es_mapping.METRICS_FIELD] = metrics
    return source


def derived_actions(target: str, values: dict[str, DerivedValues]) -> Iterator[dict[str, Any]]:
    """Bulk ``update`` actions running ``DERIVED_SCRIPT`` (same result as ``store.base.with_derived``)."""
    drop = sorted(DERIVED_METRICS)
    for report_id, v in values.items():
        checks, analysis = derived_json(v)
        params = {
            "prefix": DERIVED_PREFIX,
            "drop": drop,
            "metrics": dict(v.metrics),
            "checks": checks,
            "flags": list(v.flags),
            "analysis": analysis,
            "check_status": v.check_status,
        }
        script = {"source": DERIVED_SCRIPT, "lang": "painless", "params": params}
        yield {"_op_type": "update", "_index": target, "_id": report_id, "script": script}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fail(stats: IndexStats, message: str) -> None:
    stats.failed += 1
    if len(stats.errors) < MAX_ERRORS:
        stats.errors.append(message)


def _reason(info: dict[str, Any]) -> str:
    error = info.get("error")
    if isinstance(error, dict):
        return f"{error.get('type', 'error')}: {error.get('reason', '')}"
    return str(error or info.get("status", "failed"))


def _reason_type(exc: elasticsearch.ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    return str(body.get("error", {}).get("type", "")) if isinstance(body.get("error"), dict) else ""


def _reason_text(exc: elasticsearch.ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    if isinstance(error, dict):
        causes = error.get("root_cause") or [error]
        return "; ".join(str(c.get("reason", c.get("type", ""))) for c in causes)
    return str(exc.message)
