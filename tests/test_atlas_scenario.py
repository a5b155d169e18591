"""Scenario builds that name atlas assets: resolved at load, overridable field by field, clear errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from flopgrid import simulate
from flopgrid.cli import app
from flopgrid.errors import ScenarioError
from flopgrid.library import load_library
from flopgrid.library.atlas import load_atlas
from flopgrid.scenario import load_scenario

ASSETS = """\
name: named campuses
horizon: {start: 2024, end: 2030}
existing_industry: false
builds:
  datacentres:
    - {asset: stargate-abilene}
    - {asset: meta-prometheus, region: EU, it_power: 500 MW}
  power:
    - {asset: crane-restart}
  purchases: [{accelerator: H100, region: US, quantity: 10000, year: 2026}]
"""


def test_an_asset_fills_the_build_from_the_atlas(write_yaml: Callable[[str], Path]) -> None:
    scenario = load_scenario(write_yaml(ASSETS))
    abilene, prometheus = scenario.builds.datacentres
    atlas, library = load_atlas(), load_library()
    row = atlas.get("stargate-abilene")
    pue, _, _ = library.series("datacentres", "pue", ["ai_campus"], np.array([2024.0]))
    # Facility power 1.2 GW over the library's PUE in the start year gives the IT power.
    assert row.basis == "facility" and abilene.it_power == pytest.approx(1.2e9 / pue[0, 0])
    assert (abilene.region, abilene.start, abilene.accelerator) == ("US", 2024, "GB200")
    # The $15B covers the facility (the chips were bought apart), so it is the build's quoted capex.
    assert abilene.capex == pytest.approx(15e9) and abilene.name == "stargate-abilene"
    # Fields written beside the asset win; a quote of unknown scope is not taken as the build's capex.
    assert prometheus.region == "EU" and prometheus.it_power == pytest.approx(5e8)
    assert prometheus.capex is None and atlas.get("meta-prometheus").capex_scope == "unknown"
    (crane,) = scenario.builds.power
    assert (crane.source, crane.capacity, crane.capex) == ("nuclear_restart", 835e6, pytest.approx(1.6e9))


def test_a_scenario_naming_assets_runs_deterministic_and_monte_carlo(
    write_yaml: Callable[[str], Path],
) -> None:
    scenario = load_scenario(write_yaml(ASSETS))
    one = simulate(scenario)
    many = simulate(scenario, samples=8, seed=1)
    built = one["dc_capacity"].sel(year=2030).sum("region").values[0]
    # Abilene's IT power plus the 500 MW written for Prometheus, all built by 2030.
    expected = scenario.builds.datacentres[0].it_power + 5e8
    assert built == pytest.approx(expected, rel=1e-6)
    assert many.sizes["sample"] == 8 and np.all(many["dc_capacity"].sel(year=2030).sum("region") > 0)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        ("datacentres:\n    - {asset: stargate-abiline}", "Did you mean 'stargate-abilene'?"),
        ("datacentres:\n    - {asset: crane-restart}", "is a power (library/atlas/power.csv)"),
        ("datacentres:\n    - {asset: stargate-dona-ana}", "gives no it_power"),
        ("hbm:\n    - {asset: skhynix-m15x}", "gives no capacity"),
    ],
)
def test_a_bad_asset_names_file_line_field_and_fix(
    write_yaml: Callable[[str], Path], build: str, message: str
) -> None:
    path = write_yaml(f"name: bad\nbuilds:\n  {build}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = str(info.value)
    assert f"{path}:4:" in text and ".asset:" in text and message in text
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_a_scenario_without_assets_is_unchanged() -> None:
    plain = {
        "name": "plain",
        "builds": {"datacentres": [{"region": "US", "it_power": "1 GW", "start": 2026}]},
    }
    assert load_scenario(plain).builds.datacentres[0].it_power == 1e9
