"""Supply stage against cases computed by hand, and Epoch AI's worked arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest

import flopgrid
from flopgrid.model import supply
from flopgrid.simulate.runner import prepare


def test_epoch_dies_per_wafer() -> None:
    # Epoch AI, "Can AI Scaling Continue Through 2030?" (2024): an 814 mm² die on a 300 mm wafer at
    # 0.1 defects/cm² gives ≈ 28 good dies; 0.15 and 0.05 give its P10/P90 of 20 and 40.
    d0 = 0.1 / 100  # per mm²
    assert supply.good_dies_per_wafer(814.0, d0, 300.0) == pytest.approx(28, abs=0.5)
    # Epoch's P10/P90 come from its own distribution; the Poisson model lands within 10% of each.
    assert supply.good_dies_per_wafer(814.0, 0.15 / 100, 300.0) == pytest.approx(20, rel=0.10)
    assert supply.good_dies_per_wafer(814.0, 0.05 / 100, 300.0) == pytest.approx(40, rel=0.10)


def test_gross_dies_formula_by_hand() -> None:
    expected = math.pi * 150**2 / 814 - math.pi * 300 / math.sqrt(2 * 814)
    assert supply.gross_dies_per_wafer(814.0, 300.0) == pytest.approx(expected)
    assert supply.gross_dies_per_wafer(1e9, 300.0) == 0.0  # a die larger than the wafer


def test_production_is_the_least_cap_for_a_mix() -> None:
    # Two types, half each. Type 0: 1 die of which 20 good per wafer, 10 per interposer wafer, 100 GB;
    # type 1: 2 dies of 10 good per wafer, 5 per interposer wafer, 200 GB.
    mix = np.array([[[0.5, 0.5]]])
    good = np.array([[[20.0, 10.0]]])
    dies = np.array([[[1.0, 2.0]]])
    per_interposer = np.array([[[10.0, 5.0]]])
    hbm = np.array([[[100.0, 200.0]]])
    # wafers per chip 0.5/20 + 0.5·2/10 = 0.125; interposers per chip 0.5/10 + 0.5/5 = 0.15;
    # HBM per chip 150 GB. With 1,000 wafers, 600 interposer wafers, 1e6 GB: caps 8000, 4000, 6667.
    needs = supply.per_chip(mix, good, dies, per_interposer, hbm)
    np.testing.assert_allclose([n[0, 0] for n in needs], [0.125, 0.15, 150.0])
    produced, caps, bottleneck = supply.production(
        np.array([[1000.0]]), np.array([[600.0]]), np.array([[1e6]]), mix, needs
    )
    np.testing.assert_allclose(caps[0, 0], [8000, 4000, 1e6 / 150])
    np.testing.assert_allclose(produced[0, 0], [2000, 2000])
    assert supply.CAPS[int(bottleneck[0, 0])] == "packaging"


def test_ramp_and_own_trends() -> None:
    level = supply.ramp(np.array([-0.5, 0.0, 1.0, 2.0, 7.0]), 0.3, 0.7, 1.0)
    np.testing.assert_allclose(level, [0, 0.3, 0.7, 1.0, 1.0])
    years = np.array([2024, 2025, 2026, 2027, 2028])
    known = np.array([[40.0, 100.0, 100.0, 100.0, 100.0]])
    growth = np.array([[0.9, 0.9, 0.5, 0.2, 0.1]])
    cap = supply.compound(known, growth, years, last_data_year=2025)
    # The data to 2025, then each year's own rate on the year before (whatever is needed).
    np.testing.assert_allclose(cap[0], [40, 100, 150, 180, 198])
    # A year's output from end-of-year levels: the average of its start and end.
    np.testing.assert_allclose(supply.over_year(cap, np.array([[20.0]]))[0], [30, 70, 125, 165, 189])


def test_one_fab_through_the_simulator() -> None:
    # A 10,000 wafer/month fab at full ramp from its start (lead time 0) making H100s (814 mm², one
    # die), 1,000 interposer wafers/month of packaging, ample HBM. By hand:
    #   chips from wafers = 120,000 × gross(814) × exp(-8.14 × 0.1) ;
    #   chips from packaging = 12,000 × gross(interposer area).
    scenario = {
        "name": "one fab",
        "horizon": {"start": 2025, "end": 2026},
        "existing_industry": False,
        "chips": {"mix": {"H100": 1.0}},
        "parameters": {
            "fabs": {
                "lead_time": "0 year",
                "ramp_year1": 1,
                "ramp_year2": 1,
                "ramp_year3": 1,
                "defect_density": "0.1 /cm^2",
            },
            "packaging": {"lead_time": "0 year"},
            "hbm": {"lead_time": "0 year"},
            "accelerators": {"H100": {"interposer_area": "2500 mm^2", "logic_die_area": "814 mm^2"}},
        },
        "builds": {
            "fabs": [{"region": "TW", "capacity": "10000 wafer/month", "start": 2025}],
            "packaging": [{"region": "TW", "capacity": "1000 wafer/month", "start": 2025}],
            "hbm": [{"region": "KR", "capacity": "1e12 GB/year", "start": 2025}],
            "datacentres": [{"region": "US", "it_power": "1 GW", "start": 2025}],
        },
    }
    results = flopgrid.simulate(scenario)
    gross = math.pi * 150**2 / 814 - math.pi * 300 / math.sqrt(2 * 814)
    from_wafers = 120_000 * gross * math.exp(-0.814)
    interposers = math.pi * 150**2 / 2500 - math.pi * 300 / math.sqrt(5000)
    from_packaging = 12_000 * interposers
    caps = results["production_cap"].isel(sample=0, year=0)
    assert float(caps.sel(cap="wafers")) == pytest.approx(from_wafers)
    assert float(caps.sel(cap="packaging")) == pytest.approx(from_packaging)
    produced = float(results["accelerators_produced"].isel(sample=0, year=0).sum())
    assert produced == pytest.approx(min(from_wafers, from_packaging))
    assert str(flopgrid.results.decode(results["production_bottleneck"]).values[0, 0]) == "packaging"


def test_hbm_cost_per_gb_falls_after_its_data_year_unless_the_scenario_sets_it() -> None:
    base = {"name": "hbm", "horizon": {"start": 2024, "end": 2032}}
    _, params, axes = prepare(base)
    lib = params.library
    rate = float(lib.series("hbm", "cost_decline", ["hbm"], np.array([2025]))[0][0, 0])
    for name in ("price", "capex"):
        data_year = lib.base_year("hbm", name)
        given = lib.series("hbm", name, ["hbm"], axes.years)[0][0]
        got = params.get("hbm", name)[0, :, 0, 0]
        expected = given * (1 - rate) ** np.maximum(axes.years - data_year, 0)
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        assert got[-1] < got[0]  # it does fall over the horizon
    # A price the scenario writes is the price, year by year.
    _, params, axes = prepare({**base, "parameters": {"hbm": {"price": "12 USD/GB"}}})
    np.testing.assert_allclose(params.get("hbm", "price")[0, :, 0, 0], 12.0)
