"""Property-based run over the OpenAPI document (schemathesis): no 5xx, every response fits its schema.

Driven through Hypothesis directly (``operation.as_strategy()``): schemathesis's lazy pytest fixture
loader does not work with pytest 9.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
)
from test_service_data import build_documents, make_settings, make_store

from service.app import create_app

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    store = make_store(tmp / "index.sqlite3", build_documents())
    # An admin token is configured but never sent: admin operations must answer 401, never start a crawl.
    app = create_app(make_settings(tmp, admin_token="not-sent", rate_limit_per_minute=0), store=store)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # A body over the documented size is refused before it is read (MAX_CONTENT_LENGTH): 413 is a rejection.
    checks = schema.config.checks
    rejection = checks.negative_data_rejection
    checks.negative_data_rejection = type(rejection)(expected_statuses=[*rejection.expected_statuses, "413"])
    yield schema
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_api_conforms_to_its_openapi_document(api_schema, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    failures: dict[str, str] = {}
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        def run(case):
            # Invalid input must also be refused with a 4xx, not accepted.
            extra = [negative_data_rejection] if mode == GenerationMode.NEGATIVE else []
            case.call_and_validate(checks=CHECKS + extra)

        try:
            run()
        except Unsatisfiable:
            continue  # nothing invalid can be sent to this operation (e.g. no parameters)
        except Exception as exc:  # collect every operation's failure, then report them together
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:2000]
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
