"""``Store.update_derived``: the insights stage's values replaced without re-indexing the text, with the same
result as a full re-index of the amended document (SqliteStore on a real file; the ES bulk request built
without a server)."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

from demo.generator import generate_corpus
from indexer.document import Analysis, Check
from store.base import DERIVED_METRICS, DerivedValues, with_derived
from store.es_store import DERIVED_SCRIPT, derived_actions
from store.query import build_search
from store.sqlite_store import SqliteStore


def _docs(n: int = 20):
    return [r.to_document(f"https://gov.example/{i}") for i, r in enumerate(generate_corpus(n))]


def _values(k: int) -> DerivedValues:
    failed = Check(name="cross.carry.applications.carried_over.total", status="failed", expected=1.0, actual=2.0)
    return DerivedValues(
        metrics={"yoy.applications.new.total.abs": k, "copied.peers_ratio": 0.5 + k / 100},
        checks=[failed] if k % 2 else [Check(name="cross.problems_section", status="ok")],
        flags=["cross.carry"] if k % 2 else [],
        analysis=Analysis(series=f"s{k}", previous_id=f"p{k}"),
        check_status="failed" if k % 2 else "ok",
    )


def _ids(store: SqliteStore, **kwargs) -> list[str]:
    return sorted(h.id for h in store.search(build_search(facets=(), size=100, **kwargs)).hits)


def test_sqlite_update_derived_equals_a_full_reindex(tmp_path: Path):
    docs = _docs()
    values = {d.id: _values(k) for k, d in enumerate(docs[:12])}
    with closing(SqliteStore(tmp_path / "a.sqlite3")) as a, closing(SqliteStore(tmp_path / "b.sqlite3")) as b:
        a.index(docs)
        b.index(docs)
        assert _ids(a, metric=["copied.peers_ratio>=0.5"]) == []  # the columnar copy is loaded before the update
        stats = a.update_derived({**values, "not-stored": _values(1)})
        assert (stats.indexed, stats.failed) == (12, 0)
        b.index(with_derived(d, values[d.id]) for d in docs[:12])
        for d in docs:
            assert a.get(d.id).to_dict() == b.get(d.id).to_dict()
        expected = sorted(d.id for d in docs[:12])
        assert _ids(a, metric=["copied.peers_ratio>=0.5"]) == _ids(b, metric=["copied.peers_ratio>=0.5"]) == expected
        assert _ids(a, filters={"flags": ["cross.carry"]}) == sorted(d.id for d in docs[1:12:2])
        assert _ids(a, q=docs[3].title) == _ids(b, q=docs[3].title)  # the text index is untouched and still right
        assert docs[3].id in _ids(a, q=docs[3].title)
        assert a.update_derived(values).indexed == 0  # the same values again: nothing written
        # The stored bytes are what a full re-index writes: indexing the amended documents changes nothing.
        assert a.index(with_derived(d, values[d.id]) for d in docs[:12]).unchanged == 12
    with closing(SqliteStore(tmp_path / "a.sqlite3")) as reopened:  # and it is all on disk
        assert _ids(reopened, metric=["copied.peers_ratio>=0.5"]) == expected
        assert reopened.get(docs[1].id).check_status == "failed"


def test_with_derived_replaces_only_the_stages_values():
    doc = _docs(1)[0]
    doc.metrics["yoy.applications.new.total.rel"] = 0.25  # from an earlier run: gone when no longer given
    doc.checks.append(Check(name="cross.jump", status="ok"))
    doc.flags.append("cross.jump")
    new = with_derived(doc, _values(1))
    assert "yoy.applications.new.total.rel" not in new.metrics
    assert {k: v for k, v in new.metrics.items() if k not in DERIVED_METRICS} == {
        k: v for k, v in doc.metrics.items() if k not in DERIVED_METRICS
    }
    ours = [c.name for c in new.checks if c.name.startswith("cross.")]
    assert ours == ["cross.carry.applications.carried_over.total"]
    assert [c for c in new.checks if not c.name.startswith("cross.")] == [
        c for c in doc.checks if not c.name.startswith("cross.")
    ]
    assert new.flags == [f for f in doc.flags if not f.startswith("cross.")] + ["cross.carry"]
    assert (new.analysis.series, new.check_status, new.sections) == ("s1", "failed", doc.sections)


def test_es_update_derived_is_one_scripted_partial_update_per_report():
    values = {"r1": _values(1), "r2": _values(2)}
    actions = list(derived_actions("reports-v1", values))
    assert [(a["_op_type"], a["_index"], a["_id"]) for a in actions] == [
        ("update", "reports-v1", "r1"),
        ("update", "reports-v1", "r2"),
    ]
    params = actions[0]["script"]["params"]
    assert actions[0]["script"]["source"] == DERIVED_SCRIPT and "doc" not in actions[0]  # no document re-sent
    assert params["prefix"] == "cross." and set(params["drop"]) == DERIVED_METRICS
    assert params["metrics"] == values["r1"].metrics and params["flags"] == ["cross.carry"]
    assert params["checks"][0]["name"] == "cross.carry.applications.carried_over.total"
    assert params["checks"][0]["status"] == "failed" and params["check_status"] == "failed"
    assert params["analysis"]["series"] == "s1" and params["analysis"]["previous_id"] == "p1"
    json.dumps(actions)  # what the client sends: plain JSON
    for field in ("metrics", "checks", "flags", "analysis", "check_status"):  # everything with_derived sets
        assert f"src.{field}" in DERIVED_SCRIPT
