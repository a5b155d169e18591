"""Money and operations against cases computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

import flopgrid


def test_fab_capex_spread_over_a_fractional_lead_time() -> None:
    # One fab quoted at $10B, construction from 2025 with a 2.5-year lead time: 40% in 2025 and 2026,
    # 20% in 2027, nothing after; booked in Taiwan.
    scenario = {
        "name": "capex",
        "horizon": {"start": 2025, "end": 2029},
        "existing_industry": False,
        "parameters": {"fabs": {"lead_time": "2.5 year"}},
        "builds": {
            "fabs": [{"region": "TW", "capacity": "1000 wafer/month", "start": 2025, "capex": "$10B"}]
        },
    }
    capex = flopgrid.simulate(scenario)["capex"].isel(sample=0).sel(asset="fab", region="TW")
    np.testing.assert_allclose(capex.values, [4e9, 4e9, 2e9, 0, 0])


def test_build_capex_from_unit_cost_and_regional_factor() -> None:
    # 2 GW of gas at $1,000/kW in a region whose construction cost factor is 1.5, lead time 0: $3B in 2026.
    scenario = {
        "name": "gas",
        "horizon": {"start": 2025, "end": 2027},
        "existing_industry": False,
        "parameters": {
            "power_sources": {"gas_ccgt": {"capex": "1000 USD/kW", "lead_time": "0 year"}},
            "regions": {"US": {"construction_cost_factor": 1.5}},
        },
        "builds": {
            "power": [{"region": "US", "source": "gas_ccgt", "count": 2, "capacity": "1 GW", "start": 2026}]
        },
    }
    r = flopgrid.simulate(scenario).isel(sample=0)
    np.testing.assert_allclose(r["capex"].sel(asset="power", region="US").values, [0, 3e9, 0])
    np.testing.assert_allclose(r["plant_capacity"].sel(region="US", source="gas_ccgt").values, [0, 2e9, 2e9])


def test_largest_run_on_one_campus_by_hand() -> None:
    # A 100 MW campus of H100s at 1,000 W all-in holds 100,000 chips; they are bought and energised in
    # 2025 (lead time 0, a firm grid of 1 GW a year). Largest run = 100,000 × BF16 × MFU × duration.
    scenario = {
        "name": "run",
        "horizon": {"start": 2025, "end": 2025},
        "existing_industry": False,
        "parameters": {
            "accelerators": {"H100": {"it_power": "1000 W"}},
            "datacentres": {"lead_time": "0 year", "mfu": 0.4, "training_duration": "100 day", "pue": 1.0},
            "regions": {"US": {"max_new_power": "1 GW/year"}},
        },
        "builds": {
            "datacentres": [{"region": "US", "it_power": "100 MW", "start": 2025, "accelerator": "H100"}],
            "purchases": [{"accelerator": "H100", "region": "US", "quantity": 100_000, "year": 2025}],
        },
    }
    r = flopgrid.simulate(scenario).isel(sample=0, year=0)
    bf16 = flopgrid.load_library().series("accelerators", "flops_bf16", ["H100"], np.array([2025]))[0][0, 0]
    assert float(r["accelerators_installed"].sum()) == pytest.approx(100_000)
    assert float(r["h100e"].sum()) == pytest.approx(100_000)
    assert float(r["largest_run"]) == pytest.approx(100_000 * bf16 * 0.4 * 100 * 86400)


def test_own_generation_serves_the_load_before_the_grid() -> None:
    # A 1 GW nuclear restart (capacity factor from the library) next to a campus drawing less than it
    # can generate: no grid energy, emissions at nuclear's intensity.
    scenario = {
        "name": "nuclear",
        "horizon": {"start": 2025, "end": 2026},
        "existing_industry": False,
        "parameters": {
            "datacentres": {"lead_time": "0 year"},
            "power_sources": {"nuclear_restart": {"lead_time": "0 year"}},
        },
        "builds": {
            "datacentres": [{"region": "JP", "it_power": "300 MW", "start": 2025}],
            "power": [{"region": "JP", "source": "nuclear_restart", "capacity": "1 GW", "start": 2025}],
            "purchases": [{"accelerator": "H100", "region": "JP", "quantity": 100_000, "year": 2025}],
        },
    }
    r = flopgrid.simulate(scenario).isel(sample=0).sel(region="JP", year=2026)
    library = flopgrid.load_library()
    intensity = library.series("power_sources", "carbon_intensity", ["nuclear_restart"], np.array([2026]))[0][
        0, 0
    ]
    assert float(r["generation"].sel(source="grid")) == 0.0
    assert float(r["generation"].sel(source="nuclear_restart")) == pytest.approx(float(r["energy"]))
    assert float(r["emissions"]) == pytest.approx(float(r["energy"]) * intensity)
