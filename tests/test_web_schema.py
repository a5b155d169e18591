"""Schemathesis against the OpenAPI spec of a live server: no input gives a server error (5xx).

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
from schemathesis.checks import not_a_server_error

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
def test_no_input_gives_a_server_error(server: Live, operation: schemathesis.APIOperation) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=int(os.environ.get("FLOPGRID_FUZZ_EXAMPLES", "8")),
        derandomize=os.environ.get("FLOPGRID_FUZZ_EXAMPLES") is None,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=server.url, checks=[not_a_server_error])

    check()
