"""ElasticStore against a stand-in HTTP server (no Elasticsearch can run here): start-up checks, the
index lifecycle (alias swap in one ``_aliases`` call) and bulk error handling, as seen on the wire.

The stand-in speaks just enough of the REST API for these calls and records every request; the real
engine is exercised by tests/test_es_integration.py when ELASTICSEARCH_URL is set.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from indexer.document import ReportDocument
from store import es_mapping, es_query, es_store
from store.base import Store
from store.es_store import ElasticStore, ElasticStoreError
from store.query import QueryError, build_search


class FakeCluster:
    """Indices, aliases and documents in memory; ``fail_ids`` answer 400, ``busy`` 429s answer first."""

    def __init__(self, version: str = "8.19.3") -> None:
        self.version = version
        self.indices: dict[str, dict[str, Any]] = {}  # name → {"aliases": set, "docs": dict, "body": dict}
        self.requests: list[tuple[str, str, Any]] = []
        self.fail_ids: set[str] = set()
        self.busy = 0  # bulk items to refuse with 429 before accepting
        self.search_response: tuple[int, Any] = (200, {"took": 1, "hits": {"total": {"value": 0}, "hits": []}})

    def aliases_of(self, alias: str) -> list[str]:
        return sorted(n for n, i in self.indices.items() if alias in i["aliases"])

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        parsed: Any = None
        if body:
            text = body.decode("utf-8")
            parsed = [json.loads(line) for line in text.splitlines() if line] if path.endswith("_bulk") else None
            parsed = parsed if parsed is not None else json.loads(text)
        self.requests.append((method, path, parsed))
        parts = [p for p in path.split("?")[0].split("/") if p]
        if not parts:
            return 200, {"version": {"number": self.version}, "tagline": "You Know, for Search"}
        if parts[0] == "_alias" and len(parts) == 2:
            found = {n: {"aliases": {parts[1]: {}}} for n in self.aliases_of(parts[1])}
            return (200, found) if found else (404, {"error": "alias missing", "status": 404})
        if parts[0] == "_aliases":
            for action in parsed["actions"]:
                ((kind, spec),) = action.items()
                if kind == "add":
                    self.indices[spec["index"]]["aliases"].add(spec["alias"])
                elif kind == "remove":
                    self.indices[spec["index"]]["aliases"].discard(spec["alias"])
                elif kind == "remove_index":
                    del self.indices[spec["index"]]
            return 200, {"acknowledged": True}
        if parts[0] == "_bulk":
            return 200, self.bulk(parsed)
        name = parts[0]
        if len(parts) == 1:
            if method == "HEAD":
                return (200 if name in self.indices else 404), None
            if method == "PUT":
                self.indices[name] = {"aliases": set(parsed.get("aliases", {})), "docs": {}, "body": parsed}
                return 200, {"acknowledged": True, "index": name}
            if method == "DELETE":
                for n in name.split(","):
                    self.indices.pop(n, None)
                return 200, {"acknowledged": True}
        if parts[1] == "_search":
            return self.search_response
        if parts[1] == "_refresh":
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if parts[1] == "_count":
            return 200, {"count": sum(len(self.indices[n]["docs"]) for n in self._resolve(name))}
        return 400, {"error": {"type": "unsupported", "reason": f"{method} {path}"}, "status": 400}

    def _resolve(self, name: str) -> list[str]:
        return self.aliases_of(name) or ([name] if name in self.indices else [])

    def bulk(self, lines: list[dict[str, Any]]) -> dict[str, Any]:
        items = []
        i = 0
        while i < len(lines):
            ((op, meta),) = lines[i].items()
            source = lines[i + 1] if op in ("index", "update") else None
            i += 2 if op in ("index", "update") else 1
            (target,) = self._resolve(meta["_index"])
            if self.busy:
                self.busy -= 1
                items.append({op: {"_id": meta["_id"], "status": 429, "error": {"type": "es_rejected_execution"}}})
            elif meta["_id"] in self.fail_ids:
                error = {"type": "document_parsing_exception", "reason": "failed to parse field [year]"}
                items.append({op: {"_id": meta["_id"], "status": 400, "error": error}})
            elif op == "index":
                self.indices[target]["docs"][meta["_id"]] = source
                items.append({op: {"_id": meta["_id"], "status": 201, "result": "created"}})
            elif op == "update":  # a partial update: merged into the stored source; 404 for a missing id
                doc = self.indices[target]["docs"].get(meta["_id"])
                if doc is None:
                    items.append({op: {"_id": meta["_id"], "status": 404, "error": {"type": "document_missing"}}})
                else:
                    before = dict(doc)
                    doc.update(source["doc"])
                    result = "noop" if doc == before else "updated"
                    items.append({op: {"_id": meta["_id"], "status": 200, "result": result}})
            else:
                found = self.indices[target]["docs"].pop(meta["_id"], None) is not None
                items.append({op: {"_id": meta["_id"], "status": 200 if found else 404, "result": "deleted"}})
        return {"took": 1, "errors": any(next(iter(x.values()))["status"] >= 300 for x in items), "items": items}


def _serve(cluster: FakeCluster) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, payload = cluster.handle(self.command, self.path, body)
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _reply

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def cluster() -> Iterator[tuple[FakeCluster, str]]:
    fake = FakeCluster()
    server, url = _serve(fake)
    yield fake, url
    server.shutdown()
    server.server_close()


def _docs(n: int) -> list[ReportDocument]:
    return [ReportDocument(id=f"r{i}", title=f"报告{i}", year=2020 + i % 3) for i in range(n)]


def test_crawl_state_is_a_partial_update_of_only_the_state_fields(cluster):
    fake, url = cluster
    store = ElasticStore(url, "reports")
    store.index(_docs(2))
    fake.requests.clear()
    changed = store.update_state(
        {"r0": {"removed": True, "last_seen": "2026-05-01T03:00:00+00:00"}, "gone": {"removed": True}}
    )
    assert changed == 1  # "gone" is not indexed: skipped, not an error
    (bulk,) = [body for method, path, body in fake.requests if path.split("?")[0].endswith("_bulk")]
    assert bulk == [
        {"update": {"_index": "reports", "_id": "r0"}},  # through the alias
        {"doc": {"removed": True, "last_seen": "2026-05-01T03:00:00+00:00"}},
        {"update": {"_index": "reports", "_id": "gone"}},
        {"doc": {"removed": True}},
    ]
    stored = fake.indices[fake.aliases_of("reports")[0]]["docs"]["r0"]
    assert stored["removed"] is True and stored["title"] == "报告0"  # the rest of the document untouched
    assert store.update_state({"r0": {"removed": True, "last_seen": "2026-05-01T03:00:00+00:00"}}) == 0  # noop
    with pytest.raises(ValueError, match="not crawl-state"):
        store.update_state({"r0": {"title": "改"}})


def test_first_start_creates_a_versioned_index_behind_the_alias(cluster):
    fake, url = cluster
    store = ElasticStore(url, "reports")
    assert isinstance(store, Store)
    (physical,) = fake.indices
    assert physical.startswith("reports-v")
    assert fake.aliases_of("reports") == [physical]
    assert fake.indices[physical]["body"]["mappings"] == es_mapping.mappings()
    store.close()
    ElasticStore(url, "reports").close()  # a second start reuses it
    assert list(fake.indices) == [physical]


def test_rebuild_swaps_the_alias_in_one_call_then_drops_the_old_index(cluster):
    fake, url = cluster
    store = ElasticStore(url, "reports")
    (old,) = fake.indices
    store.index(_docs(3))
    with store.rebuild() as fresh:
        fresh.index(_docs(5))
        new = fresh.target
        assert fake.aliases_of("reports") == [old]  # readers still see the complete old index
        swaps_before = [r for r in fake.requests if r[1].startswith("/_aliases")]
    swaps = [r for r in fake.requests if r[1].startswith("/_aliases")]
    assert swaps_before == [] and len(swaps) == 1
    assert swaps[0][2]["actions"] == [
        {"remove": {"index": old, "alias": "reports"}},
        {"add": {"index": new, "alias": "reports"}},
    ]
    swap_at = fake.requests.index(swaps[0])
    deletes = [i for i, r in enumerate(fake.requests) if r[0] == "DELETE"]
    assert deletes and all(i > swap_at for i in deletes)  # the old index goes only after the swap
    assert list(fake.indices) == [new]
    assert store.count() == 5
    store.close()


def test_failed_rebuild_keeps_the_old_index_and_drops_the_new(cluster):
    fake, url = cluster
    store = ElasticStore(url, "reports")
    (old,) = fake.indices
    with pytest.raises(RuntimeError, match="parser exploded"), store.rebuild() as fresh:
        fresh.index(_docs(2))
        raise RuntimeError("parser exploded")
    assert list(fake.indices) == [old]
    assert fake.aliases_of("reports") == [old]
    store.close()


def test_rebuild_replaces_a_plain_index_squatting_on_the_alias_name(cluster):
    fake, url = cluster
    fake.indices["reports"] = {"aliases": set(), "docs": {}, "body": {}}
    store = ElasticStore(url, "reports")
    assert list(fake.indices) == ["reports"]  # usable as it is
    with store.rebuild() as fresh:
        new = fresh.target
    swap = next(r for r in fake.requests if r[1].startswith("/_aliases"))
    assert swap[2]["actions"] == [{"remove_index": {"index": "reports"}}, {"add": {"index": new, "alias": "reports"}}]
    assert fake.aliases_of("reports") == [new]
    store.close()


def test_bulk_collects_per_item_errors_and_retries_rejections(cluster, monkeypatch):
    fake, url = cluster
    monkeypatch.setattr(es_store, "BULK_BACKOFF_S", 0.01)
    store = ElasticStore(url, "reports")
    fake.fail_ids = {"r1"}
    fake.busy = 2  # the first two items are refused once (queue full) and retried
    bad = ReportDocument(id="r9", metrics={"applications.new.total": "many"})  # type: ignore[dict-item]
    unknown = ReportDocument(id="r8", metrics={"no.such.metric": 1, "applications.new.total": 2})
    stats = store.index([*_docs(4), bad, ReportDocument(id=""), unknown])
    assert (stats.indexed, stats.failed) == (4, 3)  # r0 r2 r3 r8 in; r1 (server), r9, no id (refused here)
    assert any(e.startswith("r1: document_parsing_exception") for e in stats.errors)
    assert any("r9" in e and "not a number" in e for e in stats.errors)
    assert any("no id" in e for e in stats.errors)
    assert any("no.such.metric" in e for e in stats.errors)
    (physical,) = fake.indices
    assert sorted(fake.indices[physical]["docs"]) == ["r0", "r2", "r3", "r8"]
    assert fake.indices[physical]["docs"]["r8"]["metrics"] == {"applications.new.total": 2}
    assert store.delete(["r0", "missing"]) == 1
    store.close()


def test_too_old_server_is_refused_with_a_clear_message():
    fake = FakeCluster(version="7.17.0")
    server, url = _serve(fake)
    try:
        with pytest.raises(ElasticStoreError, match=r"version 7\.17\.0; nianbao needs 8\.3 or later"):
            ElasticStore(url, "reports")
    finally:
        server.shutdown()
        server.server_close()


def test_unreachable_server_is_a_clear_error():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ElasticStoreError, match=rf"cannot reach Elasticsearch at http://127.0.0.1:{port}.*embedded"):
        ElasticStore(f"http://127.0.0.1:{port}", "reports", timeout=2)


def test_unknown_analyzer_is_refused_before_connecting():
    with pytest.raises(ElasticStoreError, match="unknown analyzer"):
        ElasticStore("http://127.0.0.1:1", "reports", analyzer="jieba")


@pytest.mark.parametrize(("number", "expected"), [("8.19.3", (8, 19, 3)), ("8.4.0-SNAPSHOT", (8, 4, 0)), ("", ())])
def test_parse_version(number, expected):
    assert es_store.parse_version(number) == expected


def test_search_sends_the_translated_dsl_to_the_alias_and_parses_the_answer(cluster):
    fake, url = cluster
    store = ElasticStore(url, "reports")
    query = build_search("复议", filters={"year": ["2023"]}, size=1)
    source = {"id": "r1", "title": "行政复议", "year": 2023, "sections": []}
    hits = [{"_id": "r1", "_score": 2.0, "_source": source, "sort": [2.0, "r1"]}]
    aggs = {f"facet:{name}": {"values": {"buckets": []}} for name in query.facets}
    aggs["facet:year"] = {"values": {"buckets": [{"key": 2023, "doc_count": 1}]}, "selected": {"buckets": {}}}
    fake.search_response = (200, {"took": 2, "hits": {"total": {"value": 1}, "hits": hits}, "aggregations": aggs})
    result = store.search(query)
    method, path, body = fake.requests[-1]
    assert method == "POST"
    assert path.startswith("/reports/_search")
    assert body == es_query.search_body(query)
    assert [h.id for h in result.hits] == ["r1"] and result.total == 1
    assert [(v.value, v.count, v.selected) for f in result.facets if f.name == "year" for v in f.values] == [
        ("2023", 1, True)
    ]
    store.close()


def test_a_query_the_engine_rejects_is_a_query_error_not_a_traceback(cluster):
    fake, url = cluster
    store = ElasticStore(url, "reports")
    error = {"type": "search_phase_execution_exception", "root_cause": [{"reason": "too many clauses"}]}
    fake.search_response = (400, {"error": error, "status": 400})
    with pytest.raises(QueryError, match="too many clauses"):
        store.search(build_search("复议"))
    fake.search_response = (404, {"error": {"type": "index_not_found_exception"}, "status": 404})
    with pytest.raises(ElasticStoreError, match="nianbao reindex"):
        store.search(build_search("复议"))
    store.close()
