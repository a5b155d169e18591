"""Capex audit (issue 13): every dollar of a programme's capex belongs to exactly one asset class, and a
programme that makes its own chips pays for their inputs, not a vendor's price (docs/model.md §6)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import flopgrid
from flopgrid.library import load_library

#: One US fab, packaging line and HBM line, all quoted in full, making H100s for one US campus on the
#: grid; built in 2025 with lead times the library gives (so complete inside 2025–2032).
OWN_CHIPS = {
    "name": "own chips",
    "existing_industry": False,
    "horizon": {"start": 2025, "end": 2032},
    "chips": {"mix": {"H100": 1.0}},
    "builds": {
        "fabs": [
            {"region": "US", "capacity": "2000 wafer/month", "start": 2025, "ai_share": 1.0, "capex": "$5B"}
        ],
        "packaging": [{"region": "US", "capacity": "1000 wafer/month", "start": 2025, "capex": "$1B"}],
        "hbm": [{"region": "US", "capacity": "1e8 GB/year", "start": 2025, "capex": "$2B"}],
        "datacentres": [{"region": "US", "it_power": "1 GW", "start": 2025, "capex": "$12B"}],
    },
}


def gross(area: float, diameter: float) -> float:
    return math.pi * (diameter / 2) ** 2 / area - math.pi * diameter / math.sqrt(2 * area)


def value(table: str, item: str, parameter: str, year: int) -> float:
    return float(load_library().series(table, parameter, [item], np.array([year]))[0][0, 0])


def hbm_price(year: int) -> float:
    """HBM's price per GB, falling by the library's cost decline a year after its data year."""
    since = max(year - load_library().base_year("hbm", "price"), 0.0)
    return value("hbm", "hbm", "price", year) * (1 - value("hbm", "hbm", "cost_decline", year)) ** since


def own_h100_cost(year: int) -> float:
    """An own-made H100 by hand: the operating share of its wafer, interposer and HBM prices, plus
    test and board."""
    d = value("fabs", "leading_edge", "wafer_diameter", year)
    die = value("accelerators", "H100", "logic_die_area", year)
    good = gross(die, d) * math.exp(-die * value("fabs", "leading_edge", "defect_density", year))
    inputs = (
        value("accelerators", "H100", "dies_per_package", year)
        / good
        * value("fabs", "leading_edge", "wafer_cost", year)
        + value("packaging", "cowos", "interposer_cost", year)
        / gross(value("accelerators", "H100", "interposer_area", year), d)
        + value("accelerators", "H100", "hbm_capacity", year) * hbm_price(year)
    )
    share = value("fabs", "leading_edge", "operating_share", year)
    return inputs * share * (1 + value("fabs", "leading_edge", "own_chip_overhead", year))


def test_every_dollar_of_capex_belongs_to_one_asset_and_own_chips_cost_their_inputs() -> None:
    ds = flopgrid.simulate(OWN_CHIPS).isel(sample=0)
    capex = ds["capex"].sum("region")  # (year, asset)
    made = ds["accelerators_produced"].sel(accelerator="H100")
    assert float(made.sum()) > 1e5  # the fab makes chips
    # Own chips at their input cost, year by year: not the vendor's price (H100 ~$23k-35k).
    by_hand = np.array([own_h100_cost(int(y)) for y in ds.year.values]) * made.values
    np.testing.assert_allclose(capex.sel(asset="accelerator").values, by_hand, rtol=1e-9)
    price = np.array([value("accelerators", "H100", "price", int(y)) for y in ds.year.values])
    assert np.all(by_hand <= 0.5 * price * made.values + 1e-6)
    # Each quoted build once, in its own class; the network with the chips; nothing else.
    totals = capex.sum("year")
    for asset, quoted in (("fab", 5e9), ("packaging", 1e9), ("hbm", 2e9), ("datacentre", 12e9)):
        assert float(totals.sel(asset=asset)) == pytest.approx(quoted, rel=1e-9), asset
    share = value("datacentres", "ai_campus", "network_capex_share", 2025)
    assert float(totals.sel(asset="network")) == pytest.approx(share * by_hand.sum(), rel=1e-9)
    grid = float(totals.sel(asset="power"))  # grid connections for the campus: the only other dollars
    assert grid > 0
    assert float(capex.sum()) == pytest.approx(
        5e9 + 1e9 + 2e9 + 12e9 + (1 + share) * by_hand.sum() + grid, rel=1e-12
    )


def test_bought_chips_cost_the_vendor_price() -> None:
    bought = {
        "name": "bought",
        "existing_industry": False,
        "horizon": {"start": 2025, "end": 2026},
        "chips": {"mix": {"H100": 1.0}},
        "builds": {"purchases": [{"accelerator": "H100", "region": "US", "quantity": 1000, "year": 2025}]},
    }
    ds = flopgrid.simulate(bought).isel(sample=0)
    capex = float(ds["capex"].sel(asset="accelerator", year=2025).sum())
    assert capex == pytest.approx(1000 * value("accelerators", "H100", "price", 2025), rel=1e-12)
