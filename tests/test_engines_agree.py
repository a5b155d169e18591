"""The simulator and the planner are one model: on the same inputs (a plan with a regional cost of
capital override) they agree year by year on compute, energy, capex, opex and the discount rate; and
every constraint of a solved plan has a rule and a dual in its own dimensions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

import flopgrid
from flopgrid.model import cashflow
from flopgrid.plan import PlanError, build, inputs, results, solve, to_scenario, unruled
from flopgrid.plan import model as plan_model

#: Two regions of different cost of capital (JP at 3%, the US at the library's 7%), no stated discount
#: rate, and a US limit on data centres that sends part of the plan to Japan. One accelerator type:
#: the simulator's chips.allocation (all that ``to_scenario`` can write) splits every type alike by
#: region, while an unconstrained LP may send different types to different regions in one year.
OVERRIDE: dict[str, Any] = {
    "name": "override",
    "existing_industry": False,
    "horizon": {"start": 2025, "end": 2030},
    "chips": {"mix": {"Rubin": 1.0}},
    "parameters": {"regions": {"JP": {"cost_of_capital": 0.03}}},
    "planner": {
        # 20e6 in 2030 (was 10e6 before the roadmap): NextGen parts double compute per W by 2030, and the
        # US build limit alone must fall short so that the plan uses both regions
        "target": {2028: "2e6 H100e", 2030: "20e6 H100e"},
        "regions": ["US", "JP"],
        "sources": ["gas_ccgt", "solar_storage"],
        "build_limits": {"datacentres": {"US": "1 GW/year"}},
    },
}


@pytest.fixture(scope="module")
def engines() -> tuple[xr.Dataset, xr.Dataset, flopgrid.Scenario]:
    planned = flopgrid.plan(OVERRIDE)
    scenario = to_scenario(planned, OVERRIDE)
    return planned, flopgrid.simulate(scenario), scenario


def _by_year(ds: xr.Dataset, name: str, **sel: str) -> np.ndarray:
    var = ds[name].sel(**sel) if sel else ds[name]
    return np.asarray(var.sum([d for d in var.dims if d != "year"]).values)


def _close(simulated: np.ndarray, planned: np.ndarray, what: str) -> None:
    scale = max(float(np.abs(planned).max()), 1.0)
    np.testing.assert_allclose(simulated, planned, rtol=0, atol=1e-6 * scale, err_msg=what)


def test_the_plan_uses_both_regions(engines: tuple[xr.Dataset, xr.Dataset, Any]) -> None:
    planned, _, _ = engines
    assert float(planned["shortfall"].sum()) == 0.0
    capex = planned["capex"].sum(["sample", "year", "asset"])
    assert float(capex.sel(region="JP")) > 0 and float(capex.sel(region="US")) > 0


def test_discount_rate_is_the_same_capex_weighted_rate(engines: tuple[xr.Dataset, xr.Dataset, Any]) -> None:
    """Both engines discount at the regions' cost of capital weighted by the plan's capex: neither
    the plain mean (5%) nor a rate written into the scenario by ``to_scenario``."""
    planned, simulated, scenario = engines
    assert scenario.finance.discount_rate is None
    rate = float(planned["discount_rate"].item())
    assert float(simulated["discount_rate"].item()) == pytest.approx(rate, rel=1e-6)
    assert planned.attrs["discount_rate"] == pytest.approx(rate, rel=1e-12)
    capex = planned["capex"].isel(sample=0).sum(["year", "asset"])
    by_hand = (0.07 * float(capex.sel(region="US")) + 0.03 * float(capex.sel(region="JP"))) / float(
        capex.sum()
    )
    assert rate == pytest.approx(by_hand, rel=1e-9)
    assert 0.03 < rate < 0.07 and abs(rate - 0.05) > 1e-3
    # Year by year, the discount factors of both engines.
    years = planned.sizes["year"]
    np.testing.assert_allclose(
        cashflow.discount(float(simulated["discount_rate"].item()), years),
        cashflow.discount(rate, years),
        rtol=1e-6,
    )


def test_compute_energy_capex_and_opex_agree_year_by_year(
    engines: tuple[xr.Dataset, xr.Dataset, Any],
) -> None:
    """The planner's own Results against the simulation of its builds, year by year. Grid capex (power)
    may come earlier in the simulation (it connects a data centre when complete, the planner when its
    chips need it): power capex agrees over the horizon."""
    planned, simulated, _ = engines
    for name in ("h100e", "flops_peak", "flops_effective", "accelerators_installed", "dc_capacity"):
        _close(_by_year(simulated, name), _by_year(planned, name), name)
    for name in ("energy", "it_energy", "facility_power", "emissions", "water", "generation"):
        _close(_by_year(simulated, name), _by_year(planned, name), name)
    for region in ("US", "JP"):
        _close(
            _by_year(simulated, "energy", region=region), _by_year(planned, "energy", region=region), region
        )
    for asset in planned.asset.values:
        opex = (_by_year(simulated, "opex", asset=str(asset)), _by_year(planned, "opex", asset=str(asset)))
        _close(*opex, f"opex {asset}")
        capex = (_by_year(simulated, "capex", asset=str(asset)), _by_year(planned, "capex", asset=str(asset)))
        if asset == "power":
            _close(capex[0].sum(keepdims=True), capex[1].sum(keepdims=True), "power capex, total")
        else:
            _close(*capex, f"capex {asset}")


def test_the_lp_objective_is_the_discounted_cost_of_its_results() -> None:
    """The LP prices each decision with coefficient arrays (discounted capex over construction, the
    energy its chips will draw…); the Results recompute capex and opex from the decisions. On a plan
    that meets its target without idle fabs the two are one number."""
    planned = flopgrid.plan(OVERRIDE)
    assert float(planned["wafers_idle"].sum()) == 0.0
    assert planned.attrs["objective_value"] == pytest.approx(planned.attrs["discounted_cost"], rel=1e-6)


# ---------------------------------------------------------------------------------- rules and duals

#: Scenarios that between them add every kind of constraint: a fixed mix, build limits, a capital
#: budget, a regional share, and the max-compute budget.
RULED: dict[str, dict[str, Any]] = {
    "limits": OVERRIDE,
    "mix-and-share": {
        **OVERRIDE,
        "chips": {"mix": {"H100": 0.5, "B200": 0.5}},
        "planner": {
            **OVERRIDE["planner"],
            "max_region_share": 0.7,
            "capital_budget": "500 billion USD",
            "build_limits": {"fabs": "1e5 wafer/year", "power": "5 GW/year", "datacentres": "3 GW/year"},
        },
    },
    "max-compute": {
        **OVERRIDE,
        "planner": {
            "objective": "max_compute",
            "budget": "100 billion USD",
            "regions": ["US", "JP"],
            "sources": ["gas_ccgt"],
        },
    },
}


@pytest.mark.parametrize("case", sorted(RULED))
def test_every_constraint_has_a_rule_and_a_dual_in_its_own_dimensions(case: str) -> None:
    data = inputs(RULED[case])
    built = build(data)
    solve(built)
    assert unruled(built) == []
    planned = results(data, built)
    for name, con in built.model.constraints.items():
        dual = planned[f"shadow_price_{name.replace('-', '_')}"]
        own = {"year" if d == "start" else d for d in con.dual.dims}
        assert set(dual.dims) == {"sample", *own}, name
        assert dual.attrs["constraint"] == name and dual.attrs["words"]
    names = set(built.model.constraints)
    if case == "mix-and-share":
        assert {"supply-mix-equal", "policy-share-upper", "finance-capital-upper"} <= names
        assert "accelerator" in planned["shadow_price_supply_mix_equal"].dims
    if case == "max-compute":
        assert "finance-budget-upper" in names
    assert {"power-generation-upper", "power-energy-lower"} <= names
    assert "source" in planned["shadow_price_power_generation_upper"].dims
    table = planned.flopgrid.bottlenecks()
    assert not table.empty and set(table.constraint) <= names


def test_a_constraint_added_without_a_rule_fails_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    def unruly(built: plan_model.Built) -> None:
        fab = built.model.variables["fab_build"]
        built.model.add_constraints(fab <= 1.0, name="supply-unruly-upper")

    monkeypatch.setattr(plan_model, "STAGES", (*plan_model.STAGES, unruly))
    with pytest.raises(PlanError, match="supply-unruly-upper"):
        build(inputs(OVERRIDE))
