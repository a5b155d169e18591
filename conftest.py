"""Doctests of src/flopgrid run for real: each in a temporary working folder (examples that write
``runs.duckdb`` or ``reference.html`` write there), with a small simulated run and its scenario at hand
as ``results`` and ``scenario`` for the examples that record one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def _doctest_run() -> tuple[Any, Any]:
    import flopgrid

    scenario = flopgrid.load_scenario("reference")
    return flopgrid.simulate(scenario), scenario


@pytest.fixture(autouse=True)
def _doctest_folder(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    doctest_namespace: dict[str, Any],
) -> None:
    if not isinstance(request.node, pytest.DoctestItem):
        return
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLOPGRID_STORE", str(tmp_path / "flopgrid.duckdb"))
    results, scenario = request.getfixturevalue("_doctest_run")
    doctest_namespace.update(results=results, scenario=scenario)
