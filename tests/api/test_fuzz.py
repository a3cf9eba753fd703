"""Property-based fuzzing of the OpenAPI schema (schemathesis): no input gives a 5xx, and every
error is problem+json. Bounded: a few dozen examples per operation, as an analyst and as an admin."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.api.conftest import ENGINE, PURPOSE

MAX_EXAMPLES = 20


@pytest.fixture(scope="module")
def fuzz_app(world, tmp_path_factory):
    import shutil

    from api.app import create_app

    db = tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb"
    shutil.copy(world["db"], db)
    app = create_app(db, run_options={"link_engine": ENGINE})
    app.state.tokens = world["tokens"]
    yield app
    app.state.runs.wait(60)
    app.state.audit_queue.close()   # moves the journaled entries in while the store is open
    app.state.store.close()


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_no_input_gives_a_server_error(case, fuzz_app):
    role = "admin" if case.path.startswith(("/runs", "/users")) else "analyst"
    headers = {"Authorization": f"Bearer {fuzz_app.state.tokens[role]}", **PURPOSE}
    response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
    assert response.status_code < 500
    if response.status_code >= 400:
        assert response.headers["content-type"][0].startswith("application/problem+json"), response.headers
        body = response.json()
        assert body["status"] == response.status_code and body["type"].startswith("/problems/")
