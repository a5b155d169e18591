"""One scope per quantity (issue 13, item 5): accelerator price and power cover the same unit (the
accelerator with its share of server or rack, as a buyer pays), and campus power says IT or facility."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import flopgrid
from flopgrid.errors import ScenarioError
from flopgrid.library import load_library

GB300_CAMPUS: dict[str, Any] = {
    "name": "gb300-campus",
    "existing_industry": False,
    "horizon": {"start": 2025, "end": 2027},
    "builds": {
        "datacentres": [{"region": "US", "it_power": "200 MW", "accelerator": "GB300", "start": 2025}],
        "purchases": [{"accelerator": "GB300", "region": "US", "quantity": 72_000, "year": 2025}],
    },
}


def test_a_gb300_campus_pays_the_buyer_price_per_gpu_with_its_rack() -> None:
    # Buyers pay about $3-4M for a GB300 NVL72 rack of 72 GPUs (awesomeagents, 2025), i.e. $41.7k-$55.6k
    # per GPU with its rack; the bare module (Epoch's Nvidia price, $30-45k) is well below that.
    r = flopgrid.simulate(GB300_CAMPUS)
    bought = float(r["accelerators_shipped"].sel(accelerator="GB300").sum())
    per_gpu = float(r["capex"].sel(asset="accelerator").sum()) / bought
    assert bought == pytest.approx(72_000)
    assert 3.0e6 / 72 <= per_gpu <= 4.0e6 / 72
    module = load_library().index[("accelerators", "price_module", "GB300")][1][-1]
    assert per_gpu > module * 1.2
    # the network line is the scale-out network only, a stated share of that capex, not a second rack
    share = load_library().index[("datacentres", "network_capex_share", "ai_campus")][1][-1]
    network = float(r["capex"].sel(asset="network").sum())
    assert network == pytest.approx(share * per_gpu * bought, rel=1e-9)
    # and the campus's power per GPU is the rack's share too (NVL72 ~132 kW x 1.14 / 72)
    it_per_gpu = float(r["it_power"].isel(year=-1).sum()) / float(
        r["accelerators_installed"].isel(year=-1).sum()
    )
    assert 1_800 <= it_per_gpu <= 2_500


def test_every_accelerator_has_a_module_price_below_its_buyer_price() -> None:
    lib = load_library()
    for name in lib.ids("accelerators"):
        years, price, _, _ = lib.index[("accelerators", "price", name)]
        module = np.interp(years, *lib.index[("accelerators", "price_module", name)][:2])
        assert np.all(price > module), name


def _campus(**size: str) -> dict[str, Any]:
    return {
        "name": "one-campus",
        "existing_industry": False,
        "horizon": {"start": 2026, "end": 2029},
        "builds": {"datacentres": [{"region": "US", "start": 2026, "accelerator": "Rubin", **size}]},
    }


def test_facility_power_is_converted_to_it_with_the_years_pue_once() -> None:
    pue = float(load_library().index[("datacentres", "pue", "ai_campus")][1][-1])
    by_facility = flopgrid.load_scenario(_campus(facility_power="5 GW"))
    (campus,) = by_facility.builds.datacentres
    assert campus.it_rating == pytest.approx(5e9 / pue, rel=1e-12)
    # the scenario's own PUE (here for the US, from 2026) is the one used
    scenario = {**_campus(facility_power="5 GW"), "parameters": {"datacentres": {"pue": {"US": 1.5}}}}
    (dear,) = flopgrid.load_scenario(scenario).builds.datacentres
    assert dear.it_rating == pytest.approx(5e9 / 1.5, rel=1e-12)
    # the run builds that IT, the same as a campus given by that IT rating
    r = flopgrid.simulate(_campus(facility_power="5 GW"))
    assert float(r["dc_capacity"].sel(region="US").isel(year=-1, sample=0)) == pytest.approx(
        5e9 / pue, rel=1e-9
    )
    same = flopgrid.simulate(_campus(it_power=f"{5e9 / pue} W"))
    np.testing.assert_allclose(r["dc_capacity"].values, same["dc_capacity"].values, rtol=1e-12)
    # a dumped scenario loads again to the same campus (the fields keep what the scenario says)
    again = flopgrid.load_scenario(by_facility.model_dump(exclude={"source_file"}))
    assert again.builds.datacentres[0].it_rating == pytest.approx(campus.it_rating)
    assert again.builds.datacentres[0].facility_power == pytest.approx(5e9)


@pytest.mark.parametrize("size", [{}, {"it_power": "1 GW", "facility_power": "1.2 GW"}])
def test_a_campus_gives_exactly_one_of_it_and_facility_power(size: dict[str, str]) -> None:
    with pytest.raises(ScenarioError, match=r"builds\.datacentres\[0\].*exactly one") as err:
        flopgrid.load_scenario(_campus(**size))
    assert "facility_power" in str(err.value) and "it_power" in str(err.value)


def test_seed_7t_campuses_are_five_gw_of_facility_power() -> None:
    # « consommer chacune cinq gigawatts »: what a campus draws, so facility power (IT x PUE)
    s = flopgrid.load_scenario("seed-7t")
    assert all(c.facility_power == pytest.approx(5e9) and c.it_power is None for c in s.builds.datacentres)
    pue = float(load_library().index[("datacentres", "pue", "ai_campus")][1][-1])
    assert all(c.it_rating == pytest.approx(5e9 / pue) for c in s.builds.datacentres)


@pytest.mark.parametrize(
    ("basis", "gas", "grid"),
    # g/kWh: direct = combustion (EPA 53.06 kg/MMBtu x 6.4 MMBtu/MWh; EIA US power sector); lifecycle =
    # IPCC AR5 Annex III median for gas CC, and the US grid's direct figure x the 1.15 upstream uplift
    [("direct", 340.0, 345.0), ("lifecycle", 490.0, 397.0)],
)
def test_emissions_are_on_one_basis_for_plants_and_grid(basis: str, gas: float, grid: float) -> None:
    scenario = {
        **flopgrid.load_scenario("hundreds-of-billions").model_dump(exclude={"source_file"}),
        "emissions": {"basis": basis},
    }
    r = flopgrid.simulate(scenario)
    assert r.attrs["emissions_basis"] == basis
    generation = r["generation"].sel(region="US", sample=0)
    from_gas = generation.sel(source="gas_ccgt").values
    from_grid = generation.sel(source="grid").values
    assert from_gas.sum() > 0 and from_grid.sum() > 0  # both terms are exercised
    expected = (from_gas * gas + from_grid * grid) / 1e6  # Wh x g/kWh = mg; / 1e6 -> kg
    np.testing.assert_allclose(r["emissions"].sel(region="US", sample=0).values, expected, rtol=1e-9)


def test_direct_is_the_default_and_renewables_emit_nothing_directly() -> None:
    lib = load_library()
    assert flopgrid.load_scenario("reference").emissions.basis == "direct"
    for source in ("wind", "solar_storage", "nuclear_new", "nuclear_restart", "smr"):
        assert lib.index[("power_sources", "carbon_intensity", source)][1][-1] == 0.0
        assert lib.index[("power_sources", "carbon_intensity_lifecycle", source)][1][-1] > 0.0
    for region in lib.ids("regions"):
        direct = lib.index[("regions", "grid_carbon_intensity", region)][1][-1]
        lifecycle = lib.index[("regions", "grid_carbon_intensity_lifecycle", region)][1][-1]
        assert 0 < direct < lifecycle, region
