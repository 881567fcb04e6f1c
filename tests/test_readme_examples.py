"""Every example of the README returns something on the demo data (what `make demo` serves).

The examples are read from README.md itself (tests/readme_examples.py), so an example edited into one
that shows nothing fails here. ``<id>`` stands for a report id (an agency id in /agencies/<id>/…).
"""

from __future__ import annotations

import csv
import io
import shlex

import pytest
from click.testing import CliRunner
from readme_examples import examples

from nianbao.cli import main
from service.app import create_app
from store import open_store

EXAMPLES = examples()


@pytest.fixture(scope="module")
def client(demo_data):
    app = create_app(demo_data)
    yield app.test_client()


@pytest.fixture(scope="module")
def ids(demo_data) -> dict[str, str]:
    with open_store(demo_data) as store:
        doc = next(d for d in store.iter_documents() if d.agency.id and d.year and not d.removed)
    return {"report": doc.id, "agency": doc.agency.id}


def test_the_readme_has_examples_of_each_kind():
    kinds = {(e.kind, e.path.split("/")[3] if e.kind == "curl" else e.argv[0]) for e in EXAMPLES}
    for expected in ("search", "stats", "reports", "rankings", "missing", "agencies", "batch-search", "feed.atom"):
        assert ("curl", expected) in kinds, expected
    assert ("nianbao", "search") in kinds


def _shows_something(resp) -> str | None:
    """None when the answer holds results; else what is empty."""
    if resp.mimetype == "application/json":
        body = resp.get_json()
        for key in ("total", "missing"):
            if key in body and not body[key]:
                return f"{key} is {body[key]}"
        for key in ("rows", "years", "metrics", "hits"):
            if key in body and not body[key]:
                return f"{key} is empty"
        return None
    text = resp.get_data(as_text=True)
    if resp.mimetype == "text/csv":
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        return None if len(rows) > 1 else "CSV has a header only"
    if resp.mimetype == "application/atom+xml":
        return None if "<entry>" in text else "feed has no entry"
    return None if resp.data else "empty body"


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "curl"], ids=lambda e: e.line[:70])
def test_curl_example_returns_something(example, client, ids):
    kind = "agency" if example.path.startswith("/api/v1/agencies/") else "report"
    path = example.path.replace("<id>", ids[kind])
    if example.method == "POST":
        resp = client.post(path, query_string=example.query, data=example.body.encode(), headers=example.headers)
    else:
        resp = client.get(path, query_string=example.query, headers=example.headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert _shows_something(resp) is None, f"{example.line}: {_shows_something(resp)}"
    if path.endswith("/original"):  # `curl -OJ` saves it under its own name
        assert "filename=" in resp.headers["Content-Disposition"]


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "nianbao"], ids=lambda e: e.line[:70])
def test_command_line_example_finds_reports(example, demo_data):
    result = CliRunner().invoke(main, ["--data-dir", str(demo_data.data_dir), *example.argv])
    assert result.exit_code == 0, result.output
    total = int(result.output.split(" reports", 1)[0])
    assert total > 0, f"{shlex.join(example.argv)}: {result.output[:200]}"
    assert "\n  [" in result.output  # highlighted fragments, indented under their hit
