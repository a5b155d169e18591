"""The Results schema declares what both engines produce, and the views derived from it add up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import flopgrid
from flopgrid.results import WORLD_TOTALS
from flopgrid.schema import DUAL_PREFIX, STOCKS, VARIABLES, glossary

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def seed() -> flopgrid.Results:
    return flopgrid.simulate("seed-7t")


@pytest.fixture(scope="module")
def planned() -> flopgrid.Results:
    return flopgrid.plan("target-100m-h100e-2030")


def _check_declared(results: flopgrid.Results, skip: set[str]) -> None:
    for name, var in results.data_vars.items():
        if name in skip:
            continue
        assert name in VARIABLES, f"{name} is not declared in schema/variables.csv"
        v = VARIABLES[str(name)]
        assert var.dims == ("sample", *v.dims), name
        assert var.attrs["units"] == v.unit, name
        assert var.attrs["long_name"] == v.long_name, name


def test_every_simulated_variable_is_declared_with_its_dims_and_unit(seed: flopgrid.Results) -> None:
    _check_declared(seed, skip=set())
    simulated = {v.name for v in VARIABLES.values() if v.stage != "plan"}
    assert simulated == set(seed.data_vars)


def test_every_planned_variable_is_declared(planned: flopgrid.Results) -> None:
    duals = {str(n) for n in planned.data_vars if str(n).startswith(DUAL_PREFIX)}
    assert duals and all("constraint" in planned[n].attrs for n in duals)
    _check_declared(planned, skip=duals)


def test_totals_follow_the_kind_of_each_variable(seed: flopgrid.Results) -> None:
    totals = seed.flopgrid.totals()
    last = seed.year.values[-1]
    # A stock at the horizon's end, a flow over the horizon, a split by asset that adds up.
    assert totals["h100e_end"]["value"] == pytest.approx(float(seed["h100e"].sel(year=last).sum()))
    assert totals["energy"]["value"] == pytest.approx(float(seed["energy"].sum()))
    parts = [totals[f"capex_{a}"]["value"] for a in seed.asset.values]
    assert totals["capex"]["value"] == pytest.approx(sum(parts))
    assert "h100e" not in totals and "energy_end" not in totals
    # Every stock with a total is totalled at the end, but the world market's, which a programme alone
    # (seed-7t, no existing industry) does not clear.
    assert all(
        f"{name}_end" in totals
        for name in STOCKS
        if VARIABLES[name].total_label and name in seed and name not in WORLD_TOTALS
    )
    assert not any(f"{name}_end" in totals for name in WORLD_TOTALS)


def test_planner_totals_are_the_declared_figures(planned: flopgrid.Results) -> None:
    # Not a sum of every variable in mixed units: the same keys as a simulation, where the plan has them.
    totals = planned.flopgrid.totals()
    assert totals["capex"]["unit"] == "USD"
    assert totals["capex"]["value"] == pytest.approx(float(planned["capex"].sum()))
    assert not any("shadow" in key for key in totals)
    assert totals["h100e_end"]["value"] > 0


def test_display_rows_are_in_display_units(seed: flopgrid.Results) -> None:
    rows = {key: (label, value, unit) for key, label, value, unit in seed.flopgrid.total_rows()}
    _, value, unit = rows["energy"]
    assert unit == "TWh" and value == pytest.approx(float(seed["energy"].sum()) / 1e12)
    assert rows["capex_fab"][0].strip() == "of which fabs"
    assert not any(np.isclose(v, 0.0) for k, (lab, v, _) in rows.items() if lab.startswith("  of which"))


def test_the_docs_variable_list_is_generated_from_the_schema() -> None:
    page = (ROOT / "docs" / "variables.md").read_text(encoding="utf-8")
    assert page == glossary(), "regenerate it: python -m flopgrid.schema > docs/variables.md"
    for v in VARIABLES.values():
        assert f"| `{v.name}` |" in page
