"""The planner: hand-solved LPs and duals, infeasible targets, the round trip through ``simulate``,
modes, and the property that relaxing a constraint never makes the plan dearer."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import flopgrid
from flopgrid.cli import app
from flopgrid.errors import ScenarioError
from flopgrid.plan import build, inputs, results, shortfall_report, solve, to_scenario

# ------------------------------------------------------------------------------------ hand-solved LPs
#
# One year, one region (US), one chip type (H100). The supply chain, energy and power plants are
# switched off in the data, so the LP is: buy chips at $10,000, house each chip's 1,000 W in data
# centres at $10/W, and connect 1,000 W of grid per chip at $1/W, to reach a target of 1M H100e.

CHIP_PRICE, CHIP_W, DC_PER_W, GRID_PER_W, TARGET = 1e4, 1e3, 10.0, 1.0, 1e6
PENALTY = 1e6  # USD per H100e short, the schema's default


@pytest.fixture(scope="module")
def hand() -> xr.Dataset:
    return _hand_data()


@pytest.fixture(scope="module")
def hand_results(hand: xr.Dataset) -> xr.Dataset:
    return _solve(hand)


def _hand_data() -> xr.Dataset:
    scenario = {
        "name": "hand",
        "existing_industry": False,
        "horizon": {"start": 2025, "end": 2025},
        "chips": {"mix": {"H100": 1.0}},
        "planner": {"target": {2025: f"{TARGET} H100e"}, "regions": ["US"], "sources": ["gas_ccgt"]},
    }
    data = inputs(scenario)
    for name in ("chip_wafers", "chip_interposers", "chip_hbm", "utilisation", "network_share"):
        data[name] = xr.zeros_like(data[name])
    data["chip_power"] = xr.full_like(data["chip_power"], CHIP_W)
    data["chip_h100e"] = xr.ones_like(data["chip_h100e"])
    data["chip_price"] = xr.full_like(data["chip_price"], CHIP_PRICE)
    data["pue"] = xr.ones_like(data["pue"])
    data["dc_ramp"] = xr.ones_like(data["dc_ramp"])  # online the year it starts
    data["dc_spend"] = xr.ones_like(data["dc_spend"])
    data["dc_capex"] = xr.full_like(data["dc_capex"], DC_PER_W)
    data["dc_opex"] = xr.zeros_like(data["dc_opex"])
    data["grid_capex"] = xr.full_like(data["grid_capex"], GRID_PER_W)
    data["plant_ramp"] = xr.zeros_like(data["plant_ramp"])  # plants never come online in time
    data["max_grid"] = xr.full_like(data["max_grid"], np.inf)
    return data


def _solve(data: xr.Dataset) -> xr.Dataset:
    built = build(data)
    solve(built)
    return results(data, built)


def _price(planned: xr.Dataset, constraint: str, location: str = "US") -> float:
    dual = planned["shadow_price_" + constraint.replace("-", "_")].isel(sample=0)
    if location != "global":
        dual = dual.sel(region=location)
    return float(dual.isel(year=0) if "year" in dual.dims else dual)


def test_hand_solved_optimum_and_duals(hand_results: xr.Dataset) -> None:
    results = hand_results
    per_chip = CHIP_PRICE + CHIP_W * (DC_PER_W + GRID_PER_W)  # $21,000
    assert results.attrs["discounted_cost"] == pytest.approx(TARGET * per_chip, rel=1e-9)
    assert float(results["h100e"].sum()) == pytest.approx(TARGET, rel=1e-9)
    assert float(results["datacentre_build"].sum()) == pytest.approx(TARGET * CHIP_W, rel=1e-9)
    # One H100e less to reach saves a whole chip's cost; a free watt of data centre saves its capex;
    # a free watt of firm power saves a watt of grid connection.
    assert _price(results, "compute-target-lower", "global") == pytest.approx(per_chip, rel=1e-6)
    assert _price(results, "datacentres-capacity-upper") == pytest.approx(DC_PER_W, rel=1e-6)
    assert _price(results, "power-firm-upper") == pytest.approx(GRID_PER_W, rel=1e-6)
    assert float(results["shortfall"].sum()) == 0.0


def test_infeasible_target_is_slack_with_a_report(hand: xr.Dataset) -> None:
    data = hand.copy()
    limit = 0.6e9  # W of data centres that may start in the year: room for 600k chips
    data["dc_limit"] = xr.full_like(data["dc_limit"], limit)
    results = _solve(data)
    chips = limit / CHIP_W
    missing = TARGET - chips
    assert float(results["shortfall"].sum()) == pytest.approx(missing, rel=1e-9)
    per_chip = CHIP_PRICE + CHIP_W * (DC_PER_W + GRID_PER_W)
    assert results.attrs["discounted_cost"] == pytest.approx(chips * per_chip, rel=1e-9)
    # A watt more of construction would house 1/1000 of a chip, avoiding its penalty but costing it.
    assert _price(results, "datacentres-build-upper") == pytest.approx(
        (PENALTY - per_chip) / CHIP_W, rel=1e-6
    )
    assert _price(results, "compute-target-lower", "global") == pytest.approx(PENALTY, rel=1e-6)
    lines = shortfall_report(results)
    assert lines[0].startswith("target missed by up to 0.4 M H100e in 2025")
    assert any("datacentres-build-upper in US in 2025" in line for line in lines[1:])
    assert any("needs ≈0.4 GW more data-centre IT capacity" in line for line in lines[1:])


def test_max_compute_within_a_budget(hand: xr.Dataset) -> None:
    data = hand.copy(deep=True)
    data["target"] = xr.full_like(data["target"], np.nan)
    budget = 42e9
    data.attrs.update({"objective": "max_compute", "budget": budget})
    results = _solve(data)
    per_chip = CHIP_PRICE + CHIP_W * (DC_PER_W + GRID_PER_W)
    assert float(results["h100e"].sum()) == pytest.approx(budget / per_chip, rel=1e-9)
    assert results.attrs["discounted_cost"] == pytest.approx(budget, rel=1e-9)
    # A dollar more buys 1/21,000 of an H100e.
    assert _price(results, "finance-budget-upper", "global") == pytest.approx(1 / per_chip, rel=1e-6)


def test_bottlenecks_are_ranked_in_plain_words(hand_results: xr.Dataset) -> None:
    results = hand_results
    table = results.flopgrid.bottlenecks()
    assert list(table.constraint[:3]) == [
        "compute-target-lower",
        "datacentres-capacity-upper",
        "power-firm-upper",
    ]
    assert table.text[1] == "one more GW of data-centre IT capacity in US in 2025 is worth $10 B"
    assert table.text[2] == "one more GW of firm power in US in 2025 is worth $1 B"
    assert "bottleneck" not in results.flopgrid.summary().columns


# ----------------------------------------------------------------------------------- the round trip

#: One accelerator type: the simulator's chips.allocation (all that to_scenario writes) splits every
#: type alike by region, while the LP may send different types to different regions in one year.
SMALL: dict[str, Any] = {
    "name": "small",
    "existing_industry": False,
    "horizon": {"start": 2025, "end": 2030},
    "chips": {"mix": {"Rubin": 1.0}},
    "finance": {"discount_rate": "7%/year"},
    "planner": {
        # 20e6 in 2030 (10e6 before the roadmap's NextGen parts doubled compute per W by 2030): the US
        # build limit alone must fall short
        "target": {2028: "2e6 H100e", 2030: "20e6 H100e"},
        "regions": ["US", "JP"],
        "sources": ["gas_ccgt"],
        "build_limits": {"datacentres": {"US": "1 GW/year"}},
    },
}


@pytest.fixture(scope="module")
def small_plan() -> xr.Dataset:
    return flopgrid.plan(SMALL)


def test_round_trip_reproduces_compute_and_costs(small_plan: xr.Dataset) -> None:
    """The plan's builds, simulated, give the plan's compute, energy and costs to 1e-6 of each
    series' largest value: the LP and the simulator are one model.

    One stated difference: the simulator connects the grid as soon as a data centre is complete, the
    planner when its chips need it, so grid capex (power) and firm power may come earlier in the
    simulation; their totals over the horizon and the end state agree to 1e-6.
    """
    sim = flopgrid.simulate(to_scenario(small_plan, SMALL))
    assert float(small_plan["shortfall"].sum()) == 0.0

    def by_year(ds: xr.Dataset, name: str, **sel: str) -> np.ndarray:
        var = ds[name].sel(**sel) if sel else ds[name]
        return np.asarray(var.sum([d for d in var.dims if d != "year"]).values)

    def close(simulated: np.ndarray, planned: np.ndarray, what: str) -> None:
        scale = max(float(np.abs(planned).max()), 1.0)
        np.testing.assert_allclose(simulated, planned, rtol=0, atol=1e-6 * scale, err_msg=what)

    for name in ("h100e", "flops_peak", "accelerators_installed", "dc_capacity", "energy", "emissions"):
        close(by_year(sim, name), by_year(small_plan, name), name)
    for asset in small_plan.asset.values:
        for name in ("capex", "opex"):
            planned = by_year(small_plan, name, asset=str(asset))
            simulated = by_year(sim, name, asset=str(asset))
            if name == "capex" and asset == "power":
                close(simulated.sum(keepdims=True), planned.sum(keepdims=True), "power capex, total")
            else:
                close(simulated, planned, f"{name} {asset}")
    close(by_year(sim, "firm_power")[-1:], by_year(small_plan, "firm_power")[-1:], "firm power at the end")
    # The US limit binds, so some data centres go to Japan.
    built = small_plan["datacentre_build"].sum(["sample", "year"])
    assert float(built.sel(region="JP")) > 0
    assert float(small_plan["datacentre_build"].sel(region="US").max()) == pytest.approx(1e9, rel=1e-6)


SHORT: dict[str, Any] = {
    "name": "short",
    "existing_industry": False,
    "horizon": {"start": 2025, "end": 2028},
    "planner": {"target": {2028: "1e6 H100e"}, "regions": ["US"], "sources": ["gas_ccgt"]},
}


def _with(scenario: dict[str, Any], **planner: Any) -> dict[str, Any]:
    return {**scenario, "planner": {**scenario["planner"], **planner}}


def test_myopic_foresight() -> None:
    """Fabs take 3 years and ramp up: perfect foresight starts them in 2025 and meets the 2028
    target; a planner seeing one year ahead sees the target too late and misses it."""
    perfect = flopgrid.plan(SHORT)
    blind = flopgrid.plan(_with(SHORT, mode="myopic", window=1))
    assert float(perfect["shortfall"].sum()) == 0.0
    assert float(perfect["fab_build"].sel(year=2025).sum()) > 0
    assert float(blind["shortfall"].sel(year=2028).sum()) == pytest.approx(1e6, rel=1e-6)
    assert float(blind["fab_build"].sum()) == 0.0
    assert blind.attrs["discounted_cost"] < perfect.attrs["discounted_cost"]
    assert any("target missed" in line for line in shortfall_report(blind))


def test_idle_fabs_are_a_relaxation() -> None:
    strict = flopgrid.plan(SHORT)
    idle = flopgrid.plan(_with(SHORT, allow_idle_fabs=True))
    assert float(strict["wafers_idle"].sum()) == 0.0
    assert idle.attrs["discounted_cost"] <= strict.attrs["discounted_cost"] * (1 + 1e-9)
    assert float(idle["h100e"].sel(year=2028).sum()) == pytest.approx(1e6, rel=1e-6)


# ------------------------------------------------------------------------------ relaxing never hurts


@pytest.fixture(scope="module")
def base_data() -> xr.Dataset:
    return inputs(_with(SHORT, regions=["US", "JP"], target={2028: "3e6 H100e"}))


#: Limits the property varies: the Dataset field, its constraint, and a unit of it in base and LP units.
LIMITS = {
    "dc_limit": ("datacentres-build-upper", 1e9, 1.0),
    "plant_limit": ("power-build-upper", 1e9, 1.0),
    "max_grid": ("power-grid-upper", 1e9, 1.0),
    "capital_budget": ("finance-capital-upper", 1e11, 100.0),
    "fab_limit": ("supply-fab_build-upper", 1e5, 100.0),
}
_models: dict[str, Any] = {}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.sampled_from(sorted(LIMITS)), tight=st.floats(0.05, 5.0), relax=st.floats(1.0, 4.0))
def test_relaxing_a_constraint_never_increases_the_objective(
    base_data: xr.Dataset, limit: str, tight: float, relax: float
) -> None:
    """The same LP solved with a limit and with the limit raised: the optimum never rises."""
    name, unit, scaled = LIMITS[limit]
    if limit not in _models:
        data = base_data.copy()
        data[limit] = xr.full_like(data[limit], unit)
        _models[limit] = build(data)
    built = _models[limit]
    objectives = []
    for level in (tight, tight * relax):
        built.model.constraints[name].update(rhs=level * scaled)
        solve(built)
        objectives.append(float(built.model.objective.value or 0.0))
    assert objectives[1] <= objectives[0] + 1e-7 * max(abs(objectives[0]), 1.0)


# ------------------------------------------------------------------------------------ errors, CLI


def test_planner_errors_name_the_field() -> None:
    with pytest.raises(ScenarioError, match=r"planner\.target\[2030\]: expected compute in H100e or FLOP/s"):
        flopgrid.load_scenario({"planner": {"target": {2030: "5 GW"}}})
    with pytest.raises(ScenarioError, match=r"planner: .*needs a budget"):
        flopgrid.load_scenario({"planner": {"objective": "max_compute"}})
    with pytest.raises(ScenarioError, match=r"planner\.regions\[1\]: unknown region 'Mars'"):
        flopgrid.plan({**SMALL, "planner": {**SMALL["planner"], "regions": ["US", "Mars"]}})
    with pytest.raises(ScenarioError, match="existing_industry: false"):
        flopgrid.plan({**SMALL, "existing_industry": True})
    with pytest.raises(ScenarioError, match="no planner section"):
        flopgrid.plan("seed-7t")


def test_flops_target_is_converted_to_h100e() -> None:
    h100 = 9.894e14  # FLOP/s per H100, dense BF16 (library)
    scenario = flopgrid.load_scenario(
        {**SMALL, "planner": {**SMALL["planner"], "target": {2030: f"{h100 * 3e6} FLOP/s"}}}
    )
    data = inputs(scenario)
    assert float(data["target"].sel(year=2030)) == pytest.approx(3e6, rel=1e-9)
    assert np.isnan(float(data["target"].sel(year=2029)))


def test_cli_plan_json_and_errors(tmp_path: Any) -> None:
    runner = CliRunner()
    path = tmp_path / "plan.yaml"
    path.write_text(json.dumps(SHORT), encoding="utf-8")
    scenario_out = tmp_path / "planned.yaml"
    saved = tmp_path / "plan.nc"
    result = runner.invoke(
        app, ["plan", str(path), "--json", "--scenario-out", str(scenario_out), "--out", str(saved)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["objective"] == "min_cost"
    assert [row["year"] for row in report["build_plan"]] == list(range(2025, 2029))
    assert report["bottlenecks"][0]["text"]
    assert report["shortfall"] == []
    planned = flopgrid.load_scenario(scenario_out)
    assert planned.builds.datacentres and planned.planner is None
    with xr.open_dataset(saved, engine="scipy") as reloaded:
        texts = reloaded.flopgrid.bottlenecks().text.tolist()
    assert texts[: len(report["bottlenecks"])] == [row["text"] for row in report["bottlenecks"]]

    bad = runner.invoke(app, ["plan", "seed-7t"])
    assert bad.exit_code == 2
    assert "planner: the scenario has no planner section" in bad.stderr
    assert "Traceback" not in bad.output

    text = runner.invoke(app, ["plan", str(path), "--top", "3"])
    assert text.exit_code == 0
    assert "Bottlenecks" in text.stdout and "is worth $" in text.stdout


def test_shipped_target_scenario_is_listed_and_simulates() -> None:
    from flopgrid.scenario import shipped_scenarios

    assert "target-100m-h100e-2030" in shipped_scenarios()
    # The planner's scenario has no builds; the simulator runs it and finds nothing built.
    sim = flopgrid.simulate("target-100m-h100e-2030")
    assert float(sim["h100e"].sum()) == 0.0
