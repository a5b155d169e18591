"""Conservation laws and monotonicity of ``flopgrid.simulate`` on random scenarios."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import flopgrid
from flopgrid.errors import ScenarioError
from flopgrid.layout import history_years
from flopgrid.library import load_library
from flopgrid.simulate import prepare

sys.path.insert(0, str(Path(__file__).parent))
from strategies import scenarios

HOURS = 8760.0
RTOL = 1e-9
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


@st.composite
def cases(draw: Any) -> tuple[dict[str, Any], int, int]:
    """A scenario, a sample count and a seed."""
    existing = draw(st.booleans())
    mapping = draw(scenarios(existing=existing, supply_chain=not existing))
    return mapping, draw(st.integers(1, 3)), draw(st.integers(0, 2**32 - 1))


def run(mapping: dict[str, Any], samples: int = 1, seed: int = 0) -> Any:
    try:
        return flopgrid.simulate(mapping, samples=samples, seed=seed)
    except ScenarioError as exc:
        assert "no region may receive" in str(exc)
        assume(False)


def drawn_params(mapping: dict[str, Any], samples: int, seed: int) -> tuple[Any, Any]:
    """The parameters simulate() used on the horizon's years: same resolution, same draws in the same
    order (§0: a run with the existing industry steps through history before its horizon)."""
    scenario, params, axes = prepare(mapping, samples=samples, seed=seed)
    for table, parameter in params.library.specs:
        if table != "macro":
            params.get(table, parameter)
    return scenario, params.from_year(axes.skip)


def initial_fleet(ds: Any, scenario: Any, mapping: dict[str, Any], samples: int, seed: int) -> np.ndarray:
    """The fleet in service before the first year, (sample, region, accelerator) (§0, §4): without the
    existing industry none; with it, the end of the year before the horizon, from the same run started
    at the first history year (the same steps, so the same draws)."""
    shape = ds["accelerators_installed"].shape
    if not scenario.existing_industry:
        return np.zeros((shape[0], shape[2], shape[3]))
    first, _ = history_years(load_library())
    start = int(ds.year.values[0])
    assert start > first, "the strategies' horizons start after the first history year"
    earlier = copy.deepcopy(mapping)
    earlier["horizon"]["start"] = first
    history = flopgrid.simulate(earlier, samples=samples, seed=seed)
    out: np.ndarray = history["accelerators_installed"].sel(year=start - 1).values
    return out


def close(a: np.ndarray, b: np.ndarray, name: str, atol_rel: float = 1e-12) -> None:
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)), 1.0)
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=atol_rel * scale, err_msg=name)


@SETTINGS
@given(case=cases())
def test_fleet_accounting(case: tuple[dict[str, Any], int, int]) -> None:
    mapping, samples, seed = case
    ds = run(mapping, samples, seed)
    scenario, _ = drawn_params(mapping, samples, seed)
    inst = ds["accelerators_installed"].values
    added = ds["accelerators_added"].values
    retired = ds["accelerators_retired"].values
    shipped = ds["accelerators_shipped"].values
    initial = initial_fleet(ds, scenario, mapping, samples, seed)
    previous = np.concatenate([initial[:, None], inst[:, :-1]], axis=1)
    # stock-flow identity: installed(t) = installed(t-1) + added(t) - retired(t)
    close(inst, previous + added - retired, "installed(t) = installed(t-1) + added - retired")
    # nothing is installed that has not arrived
    cumulative_arrivals = np.cumsum(shipped, axis=1)
    slack = 1e-9 * max(float(cumulative_arrivals.max(initial=0.0) + initial.max(initial=0.0)), 1.0)
    assert np.all(inst <= cumulative_arrivals + initial[:, None] + slack)
    assert np.all(inst >= -slack) and np.all(added >= -slack) and np.all(retired >= -slack)


@SETTINGS
@given(case=cases())
def test_arrivals_conserve(case: tuple[dict[str, Any], int, int]) -> None:
    mapping, samples, seed = case
    ds = run(mapping, samples, seed)
    shipped = ds["accelerators_shipped"].values  # (S, Y, R, A)
    produced = ds["accelerators_produced"].values  # (S, Y, A)
    purchases = np.zeros(shipped.shape[1:])
    years, regions = list(ds.year.values), list(ds.region.values)
    accs = list(ds.accelerator.values)
    for x in mapping["builds"]["purchases"]:
        purchases[years.index(x["year"]), regions.index(x["region"]), accs.index(x["accelerator"])] += x[
            "quantity"
        ]
    # every chip made (or bought) is shipped to exactly one region
    close(shipped.sum(axis=2), produced + purchases.sum(axis=1)[None], "Σ_r shipped = produced + purchases")
    # and is either installed at some point or still waiting: nothing is lost
    waiting = ds["accelerators_waiting"].values
    added = ds["accelerators_added"].values
    close(waiting + np.cumsum(added, axis=1), np.cumsum(shipped, axis=1), "waiting + Σ added = Σ arrivals")
    assert np.all(waiting >= -1e-9 * max(float(np.abs(shipped).max(initial=0.0)), 1.0))


@SETTINGS
@given(case=cases())
def test_energy_identities(case: tuple[dict[str, Any], int, int]) -> None:
    mapping, samples, seed = case
    ds = run(mapping, samples, seed)
    scenario, params = drawn_params(mapping, samples, seed)
    inst = ds["accelerators_installed"].values
    initial = initial_fleet(ds, scenario, mapping, samples, seed)
    previous = np.concatenate([initial[:, None], inst[:, :-1]], axis=1)
    average = (previous + inst) / 2
    it_power = params.get("accelerators", "it_power")  # (S|1, Y, R|1, A)
    utilisation = params.get("datacentres", "utilisation")[..., 0]  # (S|1, Y, R|1)
    pue = params.get("datacentres", "pue")[..., 0]
    it_energy = np.sum(average * it_power, axis=-1) * utilisation * HOURS
    close(ds["it_energy"].values, np.broadcast_to(it_energy, ds["it_energy"].shape), "IT energy")
    close(ds["energy"].values, ds["it_energy"].values * pue, "energy = IT energy × PUE")
    # every Wh used comes from some source: own plants (in proportion) or the grid
    close(ds["generation"].sum("source").values, ds["energy"].values, "Σ_k generation = energy")
    assert np.all(ds["generation"].values >= 0)
    # own plants never generate more than they can
    available = ds["plant_capacity"].values * params.get("power_sources", "capacity_factor") * HOURS
    own = ds["generation"].drop_sel(source="grid").values
    own_available = np.delete(available, list(ds.source.values).index("grid"), axis=-1)
    assert np.all(own <= own_available * (1 + 1e-9) + 1e-6)


@SETTINGS
@given(case=cases())
def test_energised_capacity_bounds_the_fleet(case: tuple[dict[str, Any], int, int]) -> None:
    mapping, samples, seed = case
    ds = run(mapping, samples, seed)
    capacity, energised = ds["dc_capacity"].values, ds["dc_energised"].values
    tol = 1e-9 * max(float(capacity.max(initial=0.0)), 1.0)
    assert np.all(energised <= capacity + tol)
    assert np.all(energised >= -tol)
    # installed IT rating fits in the energised room (library it_power and pue do not change by year)
    _, params = drawn_params(mapping, samples, seed)
    rating = np.sum(ds["accelerators_installed"].values * params.get("accelerators", "it_power"), axis=-1)
    close(rating, ds["it_power"].values, "it_power = Σ installed × it_power")
    assert np.all(rating <= energised + tol + 1e-9 * np.abs(rating))
    # capacity and grid connections never shrink
    assert np.all(np.diff(capacity, axis=1) >= -tol)
    assert np.all(np.diff(ds["grid_connection"].values, axis=1) >= -tol)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(mapping=scenarios(existing=None))
def test_capex_totals(mapping: dict[str, Any]) -> None:
    ds = run(mapping)
    totals = ds.flopgrid.totals()
    capex = ds["capex"].values[0]  # (Y, R, asset)
    assert totals["capex"]["value"] == pytest.approx(capex.sum(), rel=1e-12, abs=1e-6)
    for k, asset in enumerate(ds.asset.values):
        assert totals[f"capex_{asset}"]["value"] == pytest.approx(capex[..., k].sum(), rel=1e-12, abs=1e-6)
    assert sum(totals[f"capex_{a}"]["value"] for a in ds.asset.values) == pytest.approx(
        totals["capex"]["value"], rel=1e-12, abs=1e-6
    )
    summary = ds.flopgrid.summary()
    np.testing.assert_allclose(
        summary["capex [B USD]"].to_numpy(), capex.sum(axis=(1, 2)) / 1e9, rtol=1e-12, atol=1e-12
    )
    assert np.all(capex >= -1e-6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mapping=scenarios(existing=False))
def test_build_capex_is_spent_once(mapping: dict[str, Any]) -> None:
    """§1/§6: a build's cost (size × unit capex × cost factor at start, or its quoted capex) is spent
    over [s, s+L); over the horizon the fab capex adds up to the share of that interval inside it."""
    ds = run(mapping)
    scenario, params = drawn_params(mapping, 1, 0)
    regions, end = list(ds.region.values), int(ds.year.values[-1])
    years = list(ds.year.values)
    expected = np.zeros(len(regions))
    for x in scenario.builds.fabs:
        r, t = regions.index(x.region), years.index(x.start)
        lead = params.get("fabs", "lead_time")[0, t, 0, 0]
        if x.capex is not None:
            cost = x.capex * x.count
        else:
            unit = params.get("fabs", "capex")[0, t, 0, 0]
            cost = x.count * x.capacity * unit * params.get("regions", "construction_cost_factor")[0, t, r, 0]
        share = 1.0 if lead == 0 else min(end + 1 - x.start, lead) / lead
        expected[r] += cost * share
    got = ds["capex"].sel(asset="fab").isel(sample=0).sum("year").values
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-3)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(
    mapping=scenarios(existing=None, allow_power=False, max_years=5, overrides=False),
    limits=st.lists(
        st.sampled_from([0.0, 0.01, 0.1, 0.5, 2.0, 12.0, 50.0]), min_size=2, max_size=2, unique=True
    ),
)
def test_more_grid_never_lowers_h100e(mapping: dict[str, Any], limits: list[float]) -> None:
    """More max_new_power in the US never lowers installed H100e in any year or region.

    The horizon (≤ 5 years) stays within the accelerator lifetime (5 years): beyond it, installing
    earlier also means retiring earlier, and the fleet need not be monotone in power."""
    low, high = sorted(limits)
    runs = []
    for limit in (low, high):
        m = copy.deepcopy(mapping)
        m["parameters"] = {"regions": {"US": {"max_new_power": f"{limit} GW/year"}}}
        if "US" not in {d["region"] for d in m["builds"]["datacentres"]} and not m["existing_industry"]:
            m["builds"]["datacentres"].append({"region": "US", "it_power": "300 MW", "start": 2025})
        runs.append(run(m))
    h_low, h_high = (r["h100e"].values for r in runs)
    tol = 1e-9 * max(float(h_high.max(initial=0.0)), 1.0)
    assert np.all(h_high >= h_low - tol)
    # and the grid connection in the US is monotone too
    g_low, g_high = (r["grid_connection"].sel(region="US").values for r in runs)
    assert np.all(g_high >= g_low - 1e-9 * max(float(g_high.max()), 1.0))
