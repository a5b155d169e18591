"""Deployment and power against a case computed by hand, and Epoch's power arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

import flopgrid
from flopgrid.model.datacentres import Deployment, deploy
from flopgrid.results import decode

# One 1 GW campus in the US (lead time 1 year: online 2026), no own power, grid limited to 0.5 GW a
# year, PUE 1.25, H100s at 1,000 W all-in, 2 million of them bought in 2026.
HAND = {
    "name": "hand",
    "horizon": {"start": 2025, "end": 2029},
    "existing_industry": False,
    "parameters": {
        "datacentres": {
            "lead_time": "1 year",
            "pue": 1.25,
            "utilisation": 0.5,
            "accelerator_lifetime": "10 year",
        },
        "regions": {"US": {"max_new_power": "0.5 GW/year", "electricity_price": "100 USD/MWh"}},
        "accelerators": {"H100": {"it_power": "1000 W", "price": "$20000"}},
    },
    "builds": {
        "datacentres": [{"region": "US", "it_power": "1 GW", "start": 2025}],
        "purchases": [{"accelerator": "H100", "region": "US", "quantity": 2_000_000, "year": 2026}],
    },
}


def test_campus_energised_by_the_grid_year_by_year() -> None:
    r = flopgrid.simulate(HAND).isel(sample=0).sel(region="US")
    # Grid: +0.5 GW a year from 2026 until the campus's 1.25 GW facility need is met.
    np.testing.assert_allclose(r["grid_connection"].values, [0, 0.5e9, 1.0e9, 1.25e9, 1.25e9])
    np.testing.assert_allclose(r["dc_capacity"].values, [0, 1e9, 1e9, 1e9, 1e9])
    # Energised IT = grid / PUE, at most the campus.
    np.testing.assert_allclose(r["dc_energised"].values, [0, 0.4e9, 0.8e9, 1e9, 1e9])
    # 1,000 W each: 400k, 800k, 1M installed; the rest of the 2M waits.
    installed = r["accelerators_installed"].sel(accelerator="H100").values
    np.testing.assert_allclose(installed, [0, 4e5, 8e5, 1e6, 1e6])
    np.testing.assert_allclose(
        r["accelerators_waiting"].sel(accelerator="H100").values, [0, 1.6e6, 1.2e6, 1e6, 1e6]
    )
    labels = decode(flopgrid.simulate(HAND)["bottleneck"]).values[0]
    assert list(labels[1:]) == ["power", "power", "datacentres", "datacentres"]


def test_energy_cost_and_capex_by_hand() -> None:
    r = flopgrid.simulate(HAND).isel(sample=0).sel(region="US")
    # 2026: fleet from 0 to 400k → average 200k × 1 kW × 0.5 utilisation × 8,760 h × PUE 1.25.
    energy_2026 = 200_000 * 1000 * 0.5 * 8760 * 1.25
    assert float(r["energy"].sel(year=2026)) == pytest.approx(energy_2026)
    # All from the grid at $100/MWh.
    assert float(r["generation"].sel(year=2026, source="grid")) == pytest.approx(energy_2026)
    assert float(r["opex"].sel(year=2026, asset="power")) == pytest.approx(energy_2026 / 1e6 * 100)
    # 2 million chips at $20,000, booked on delivery.
    assert float(r["capex"].sel(year=2026, asset="accelerator")) == pytest.approx(4e10)


def test_epoch_power_per_run() -> None:
    # Epoch AI (2024): 16,000 H100 at ≈1.7 kW all-in (IT and PUE) ≈ 27 MW, with the library's own
    # H100 all-in IT power and PUE.
    scenario = {
        "name": "llama",
        "horizon": {"start": 2025, "end": 2025},
        "existing_industry": False,
        "builds": {
            "datacentres": [{"region": "US", "it_power": "100 MW", "start": 2025}],
            "purchases": [{"accelerator": "H100", "region": "US", "quantity": 16_000, "year": 2025}],
        },
        "parameters": {"datacentres": {"lead_time": "0 year"}},
    }
    r = flopgrid.simulate(scenario).isel(sample=0, year=0)
    pue = flopgrid.load_library().series("datacentres", "pue", ["ai_campus"], np.array([2025]))[0][0, 0]
    facility = float(r["it_power"].sum()) * pue
    assert float(r["accelerators_installed"].sum()) == pytest.approx(16_000)
    assert facility == pytest.approx(27e6, rel=0.10)


def _deploy_one(room: list[float], life: float) -> Deployment:
    """100 chips of 1 kW delivered in the first year to one region whose campus has ``room`` W of IT
    online each year; no grid (the campus's firm power is its room)."""
    years = len(room)
    arrivals = np.zeros((1, years, 1, 1))
    arrivals[0, 0] = 100.0
    planned = np.array(room, dtype=float)[None, :, None]
    return deploy(
        arrivals,
        planned,
        own_firm=planned.copy(),
        pue=np.ones((1, years, 1)),
        max_new_grid=np.zeros((1, years, 1)),
        it_power=np.full((1, years, 1, 1), 1000.0),
        lifetime=np.array([life]),
        initial=np.zeros((1, 1, 1)),
        existing_dc=None,
    )


def test_waiting_chips_use_up_their_service_life() -> None:
    # Installed at once, 4-year chips serve years 0-3 and retire in year 4. Waiting two years for their
    # room, they still retire in year 4: their life ran from delivery.
    at_once = _deploy_one([1e5] * 8, 4.0)
    waited = _deploy_one([0.0, 0.0] + [1e5] * 6, 4.0)
    assert at_once.retired[0, :, 0, 0].tolist() == [0, 0, 0, 0, 100, 0, 0, 0]
    assert waited.added[0, :, 0, 0].tolist() == [0, 0, 100, 0, 0, 0, 0, 0]
    assert waited.retired[0, :, 0, 0].tolist() == [0, 0, 0, 0, 100, 0, 0, 0]
    # Half installed at once and half a year later: the later half waited 1 year and retires a year
    # after the first half, in year 4 too (delivered in year 0, life 4).
    half = _deploy_one([5e4, 1e5] + [1e5] * 6, 4.0)
    assert half.retired[0, :, 0, 0].tolist() == pytest.approx([0, 0, 0, 0, 100, 0, 0, 0])
    # A wait longer than the life leaves one year of service.
    late = _deploy_one([0.0] * 5 + [1e5] * 3, 4.0)
    assert late.added[0, 5, 0, 0] == 100 and late.retired[0, 6, 0, 0] == 100
