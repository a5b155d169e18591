"""The backtest (2023–2025 on supply-chain inputs) and the campus cost check: rows, roles, discipline."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from flopgrid import simulate
from flopgrid.cli import app
from flopgrid.library import load_library
from flopgrid.library.atlas import load_atlas
from flopgrid.scenario import Scenario
from flopgrid.validation import (
    CAMPUS_TOLERANCE,
    ValidationTable,
    backtest_scenario,
    backtest_table,
    campus_rows,
    campus_scenario,
)
from flopgrid.validation.backtest import FIGURES, MIX_2023_2024

runner = CliRunner()


@pytest.fixture(scope="module")
def table() -> ValidationTable:
    return backtest_table(samples=20, seed=3)


def test_backtest_runs_from_2023_with_the_mix_of_those_years() -> None:
    scenario = backtest_scenario()
    assert scenario.years == [2023, 2024, 2025]
    assert scenario.chips.steps("mix", 2023)[2023] == MIX_2023_2024[2023]
    # Model 2.0's history switch, when the schema has it, is off: the model, not the record, runs on.
    if "history" in Scenario.model_fields:
        assert scenario.model_dump()["history"] is False


def test_every_figure_has_a_row_with_ours_theirs_error_tolerance_and_role(table: ValidationTable) -> None:
    rows = {r.figure.id: r for r in table.rows}
    assert set(rows) == {f.id for f in FIGURES}
    for r in table.rows:
        d = r.as_dict()
        assert d["role"] in ("validation", "calibration") and d["counted"] == (d["role"] == "validation")
        assert np.isfinite(d["ours"]) and d["ours_low"] <= d["ours"] <= d["ours_high"]
    # CoWoS and HBM output are library inputs today: calibration, naming the inputs derived from them.
    assert rows["cowos-2024"].role == "calibration"
    assert "packaging.existing_capacity (cowos)" in rows["cowos-2024"].calibrated
    assert rows["hbm-2024"].role == "calibration"
    # Vendor revenue sets no input: validation, counted.
    assert rows["nvidia-dc-fy2025"].role == "validation" and not rows["nvidia-dc-fy2025"].calibrated
    passed, counted = table.score()
    assert counted == sum(r.role == "validation" for r in table.rows) and 0 <= passed <= counted


def test_nvidia_revenue_is_chips_times_price_times_network() -> None:
    # One sample runs at the library's values: H100s made in 2023 (the only NVIDIA part of 2023's mix)
    # × the library's 2023 H100 price × (1 + the network capex share).
    results = simulate(backtest_scenario())
    library = load_library()
    made = float(results["accelerators_produced"].sel(year=2023, accelerator="H100").values[0])
    price = library.series("accelerators", "price", ["H100"], np.array([2023.0]))[0][0, 0]
    network = library.series("datacentres", "network_capex_share", ["ai_campus"], np.array([2025.0]))[0][0, 0]
    rows = {r.figure.id: r for r in backtest_table(samples=1, seed=0).rows}
    assert rows["nvidia-dc-fy2024"].ours[1] == pytest.approx(made * price * (1 + network) / 1e9, rel=1e-9)
    theirs = rows["nvidia-dc-fy2024"].figure.value
    assert rows["nvidia-dc-fy2024"].error == pytest.approx(made * price * (1 + network) / 1e9 / theirs - 1)


def test_cli_validate_backtest_json(table: ValidationTable) -> None:
    result = runner.invoke(app, ["validate", "backtest", "--json", "-n", "8"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["case"] == "backtest" and {r["id"] for r in data["rows"]} == {f.id for f in FIGURES}
    assert all(r["role"] in ("validation", "calibration") for r in data["rows"])
    assert data["counted"] == sum(r["counted"] for r in data["rows"])


def test_campus_cost_rows_cover_every_campus_with_a_capex() -> None:
    rows = campus_rows(samples=8, seed=0)
    with_capex = [
        a.id for a in load_atlas().select(kind="campus") if np.isfinite(a.capex) and a.status != "cancelled"
    ]
    assert sorted(r.figure.id.removeprefix("campus-capex-") for r in rows) == sorted(with_capex)
    for r in rows:
        assert r.role == "validation" and r.tolerance == CAMPUS_TOLERANCE
        assert r.passed == (abs(r.error) <= CAMPUS_TOLERANCE + 1e-12)


def test_campus_model_capex_by_hand_for_a_facility_quote() -> None:
    # Abilene's quote covers the facility: ours = IT power × library capex per W × US cost factor.
    library = load_library()
    asset = load_atlas().get("stargate-abilene")
    scenario = campus_scenario(asset, library)
    assert scenario.builds.datacentres[0].capex is None  # the model's cost, not the quote
    results = simulate(scenario)
    ours = float(results["capex"].sel(asset="datacentre").sum().values)
    start = np.array([float(scenario.builds.datacentres[0].start)])
    per_w = library.series("datacentres", "capex", ["ai_campus"], start)[0][0, 0]
    factor = library.series("regions", "construction_cost_factor", ["US"], start)[0][0, 0]
    assert ours == pytest.approx(scenario.builds.datacentres[0].it_power * per_w * factor, rel=1e-9)
