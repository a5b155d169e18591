"""Shared fixtures: small scenarios written to temporary files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str], Path]:
    """Write YAML text to a scenario file and return its path."""

    def write(text: str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(autouse=True)
def _run_store_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands record runs in ./flopgrid.duckdb by default; tests keep theirs out of the checkout."""
    monkeypatch.setenv("FLOPGRID_STORE", str(tmp_path_factory.mktemp("store") / "runs.duckdb"))
