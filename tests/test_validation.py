"""The validation table: built from a scenario whose outputs are known by hand, the pass rules, the
calibration bookkeeping read from the library, and the command line."""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
import pytest
from typer.testing import CliRunner

import flopgrid
from flopgrid.cli import app
from flopgrid.errors import FlopgridError
from flopgrid.library import load_library
from flopgrid.validation import (
    POINT_TOLERANCE,
    Figure,
    NonAiLoad,
    calibrated_on,
    compare,
    electricity_figures,
    record_rows,
    validation_table,
)

runner = CliRunner()

#: One million H100 in service in the US from 2023 (bought and installed that year, so the year's
#: average fleet is half), every parameter that sets their energy fixed in the scenario.
CHIPS, IT_POWER, UTILISATION, PUE = 1_000_000, 1454.0, 0.5, 1.25
KNOWN = {
    "name": "known",
    "existing_industry": False,
    "horizon": {"start": 2023, "end": 2030},
    "parameters": {
        "datacentres": {
            "pue": PUE,
            "utilisation": UTILISATION,
            "lead_time": "0 year",
            "accelerator_lifetime": "10 year",
        },
        "accelerators": {"H100": {"it_power": f"{IT_POWER} W"}},
    },
    "builds": {
        "datacentres": [{"region": "US", "it_power": "2 GW", "start": 2023, "accelerator": "H100"}],
        "purchases": [{"accelerator": "H100", "region": "US", "quantity": CHIPS, "year": 2023}],
    },
}
YEAR_TWH = CHIPS * IT_POWER * UTILISATION * PUE * 8760 / 1e12  # 7.96 TWh a year at full fleet


def _figure(kind: Literal["point", "range"], value: float, low: float, high: float) -> Figure:
    return Figure("x", "x", 2024, "TWh", value, low, high, "test", kind, None)


def test_compare_points_and_ranges() -> None:
    point = _figure("point", 100.0, 100.0, 100.0)
    (_, mid, _), error, tolerance, passed = compare(point, np.full(10, 115.0))
    assert (mid, error, tolerance, passed) == (115.0, pytest.approx(0.15), POINT_TOLERANCE, True)
    assert compare(point, np.full(10, 121.0))[3] is False
    span = _figure("range", 450.0, 325.0, 580.0)
    assert compare(span, np.full(10, 560.0))[1:] == (0.0, 0.0, True)
    _, error, _, passed = compare(span, np.full(10, 638.0))
    assert error == pytest.approx(0.1) and not passed
    assert compare(span, np.full(10, 292.5))[1] == pytest.approx(-0.1)


def test_the_table_from_a_scenario_with_known_outputs() -> None:
    results = flopgrid.simulate(KNOWN, samples=3, seed=0)
    library = load_library()
    # Known non-AI load: 10 GW rated in the US drawing 40%, growing 10% a year from 2024.
    nonai = NonAiLoad(["US"], np.full((3, 1), 10e9), np.full(3, 0.4), np.full(3, 0.10), 2024)
    rows = {row.figure.id: row for row in record_rows(results, nonai, library)}
    non_ai = {y: 10e9 * 0.4 * 1.1 ** (y - 2024) * 8760 / 1e12 for y in (2023, 2024, 2028, 2030)}
    expected = {
        "datacentres_US-2023": YEAR_TWH / 2 + non_ai[2023],
        "datacentres_world-2024": YEAR_TWH + non_ai[2024],
        "datacentres_US-2028": YEAR_TWH + non_ai[2028],
        "datacentres_world-2030": YEAR_TWH + non_ai[2030],
    }
    figures = {f.id: f for f in electricity_figures(library)}
    for key, ours in expected.items():
        row = rows[key]
        assert row.ours == pytest.approx((ours, ours, ours), rel=1e-9)
        figure = figures[key]
        if figure.kind == "point":
            assert row.error == pytest.approx(ours / figure.value - 1)
            assert row.passed == (abs(ours / figure.value - 1) <= POINT_TOLERANCE)
        else:
            assert (row.error == 0.0) == (figure.low <= ours <= figure.high)
    # 3.98 + 33.6 TWh is far below LBNL's 176: a failed validation, not a tuned pass.
    assert not rows["datacentres_US-2023"].passed
    assert rows["datacentres_US-2023"].role == "validation"


def test_calibration_figures_are_read_from_the_library_and_never_counted() -> None:
    library = load_library()
    figures = {f.id: f for f in electricity_figures(library)}
    iea_2024 = " ".join(calibrated_on(figures["datacentres_world-2024"], library))
    assert "regions.existing_dc_capacity" in iea_2024 and "CN" in iea_2024
    assert "regions.existing_dc_capacity (US" not in iea_2024  # the US capacity is SemiAnalysis's
    assert "max_new_power" in " ".join(calibrated_on(figures["datacentres_world-2030"], library))
    assert calibrated_on(figures["datacentres_US-2023"], library) == []
    table = validation_table(samples=20, seed=0, include_epoch=False)
    roles = {row.figure.id: row.role for row in table.rows}
    assert roles["datacentres_world-2024"] == "calibration"
    assert roles["datacentres_US-2023"] == "validation"
    passed, counted = table.score()
    assert counted == sum(role != "calibration" for role in roles.values())
    assert passed == sum(r.passed for r in table.rows if r.role != "calibration")
    dies = next(r for r in table.rows if r.figure.id == "epoch-v6-dies")
    assert 20 <= dies.ours[1] <= 40  # Epoch's P10–P90 of good H100 dies per wafer


def test_validation_needs_results_covering_the_figures() -> None:
    results = flopgrid.simulate(
        {"existing_industry": False, "horizon": {"start": 2025, "end": 2026}}, samples=2
    )
    nonai = NonAiLoad(["US"], np.zeros((2, 1)), np.zeros(2), np.zeros(2), 2024)
    with pytest.raises(FlopgridError, match="outside the results' years"):
        record_rows(results, nonai, load_library())


def test_the_cli_table_and_json() -> None:
    result = runner.invoke(app, ["validate", "--json", "-n", "20"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = {row["id"]: row for row in data["rows"]}
    assert rows["datacentres_world-2024"]["counted"] is False
    assert rows["datacentres_world-2024"]["calibrated_inputs"]
    assert data["counted"] == sum(row["counted"] for row in data["rows"])
    assert {"ours", "theirs", "error", "tolerance", "passed"} <= set(rows["datacentres_US-2023"])
    shown = runner.invoke(app, ["validate", "-n", "20"])
    assert shown.exit_code == 0
    assert "calibration: not counted" in shown.stdout


def test_unknown_case_exits_2() -> None:
    result = runner.invoke(app, ["validate", "epoch2031"])
    assert result.exit_code == 2
    assert "Did you mean 'epoch2030'?" in result.stderr
