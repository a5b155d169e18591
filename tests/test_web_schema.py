"""Schemathesis against the OpenAPI spec of a live server, with every check: no server error (5xx),
every status, content type and body documented, schema-violating requests refused, schema-valid ones
accepted (schemathesis.toml says why a 422 on a valid-looking scenario is accepted).

The server runs with small sample limits so generated valid requests stay quick. ``POST /api/jobs`` is
left out of generation: a generated valid sensitivity job runs SALib for minutes and cannot be stopped
part-way, which the test time budget cannot hold; its validation is the same request model code as the
synchronous endpoints, and tests/test_web_api.py exercises jobs with real runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from flopgrid.web import Settings, create_app
from test_web_api import Live


@pytest.fixture(scope="module")
def server() -> Iterator[Live]:
    live = Live(Settings(record=False, max_sync_samples=20, max_job_samples=20, max_jobs=2))
    yield live
    live.stop()


# The spec is the app's own, read without a server; requests go to the live server.
SCHEMA = schemathesis.openapi.from_dict(create_app(Settings(record=False)).openapi()).exclude(
    method="POST", path="/api/jobs"
)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_the_server_does_what_its_schema_says(server: Live, operation: schemathesis.APIOperation) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=int(os.environ.get("FLOPGRID_FUZZ_EXAMPLES", "8")),
        derandomize=os.environ.get("FLOPGRID_FUZZ_EXAMPLES") is None or bool(os.environ.get("CI")),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=server.url)

    check()
