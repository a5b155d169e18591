"""The simulator as a whole: shapes, units, determinism, sampling, chunking, saving."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import flopgrid

# The package re-exports the function simulate, which hides the module of the same name.
simulate_module = importlib.import_module("flopgrid.simulate.runner")


def test_every_variable_has_units_and_a_long_name() -> None:
    results = flopgrid.simulate("seed-7t")
    for name, var in results.data_vars.items():
        assert var.attrs.get("units"), name
        assert var.attrs.get("long_name"), name
    assert results.sizes["sample"] == 1
    assert list(results.year.values) == list(range(2025, 2041))


def test_same_seed_same_results_and_other_seed_differs() -> None:
    a = flopgrid.simulate("reference", samples=20, seed=3)
    b = flopgrid.simulate("reference", samples=20, seed=3)
    c = flopgrid.simulate("reference", samples=20, seed=4)
    xr.testing.assert_identical(a, b)
    assert not np.allclose(a["h100e"].values, c["h100e"].values)


def test_samples_spread_around_the_deterministic_run() -> None:
    deterministic = float(flopgrid.simulate("reference")["h100e"].sel(year=2030).sum())
    mc = flopgrid.simulate("reference", samples=400, seed=0)["h100e"].sel(year=2030).sum("region")
    low, high = float(mc.quantile(0.05)), float(mc.quantile(0.95))
    assert low < high
    assert low < deterministic * 1.5 and high > deterministic / 1.5


def test_blocks_of_samples_agree_with_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = flopgrid.simulate("seed-7t", samples=30, seed=5)
    monkeypatch.setattr(simulate_module, "CHUNK", 7)
    progress: list[int] = []
    chunked = flopgrid.simulate(
        "seed-7t", samples=30, seed=5, progress=lambda done, total: progress.append(done)
    )
    xr.testing.assert_allclose(whole, chunked)
    # One call per block of 7 (the last has 2), counting up to all 30 in whatever order blocks finish.
    assert len(progress) == 5 and progress == sorted(progress) and progress[-1] == 30


def test_overrides_change_the_outcome() -> None:
    base = flopgrid.simulate("hundreds-of-billions")
    dear = flopgrid.simulate(
        {
            **flopgrid.load_scenario("hundreds-of-billions").model_dump(exclude={"source_file"}),
            "parameters": {"accelerators": {"Rubin": {"price": "$80k"}}},
        }
    )
    chips = base["capex"].sel(asset="accelerator").sum()
    assert float(dear["capex"].sel(asset="accelerator").sum()) == pytest.approx(
        float(chips) * 80_000 / _rubin_price(base)
    )


def _rubin_price(results: xr.Dataset) -> float:
    bought = float(results["accelerators_shipped"].sel(accelerator="Rubin").sum())
    return float(results["capex"].sel(asset="accelerator").sum()) / bought


def test_summary_and_totals_agree() -> None:
    results = flopgrid.simulate("seed-7t")
    summary = results.flopgrid.summary()
    totals = results.flopgrid.totals()
    assert summary["capex [B USD]"].sum() * 1e9 == pytest.approx(totals["capex"]["value"])
    assert sum(totals[f"capex_{a}"]["value"] for a in results.asset.values) == pytest.approx(
        totals["capex"]["value"]
    )
    assert summary["energy [TWh]"].sum() * 1e12 == pytest.approx(totals["energy"]["value"])


def test_save_round_trips(tmp_path: Path) -> None:
    results = flopgrid.simulate("hundreds-of-billions")
    back = xr.open_dataset(results.flopgrid.save(tmp_path / "r.nc"), engine="scipy")
    np.testing.assert_allclose(back["energy"].values, results["energy"].values)
    assert back["energy"].attrs["units"] == "Wh"
    frame = pd.read_parquet(results.flopgrid.save(tmp_path / "r.parquet"))
    energy = frame[frame.variable == "energy"]
    assert energy.value.sum() == pytest.approx(float(results["energy"].sum()))
    assert set(energy.unit) == {"Wh"}


def test_saved_tables_write_years_as_years(tmp_path: Path) -> None:
    # Horizon figures (NPV …) have no year: the column holds gaps, and must still read 2030, not 2030.0.
    results = flopgrid.simulate("hundreds-of-billions")
    lines = results.flopgrid.save(tmp_path / "r.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    years = {line.split(",")[header.index("year")] for line in lines[1:]}
    assert {str(y) for y in results.year.values} <= years <= {str(y) for y in results.year.values} | {""}
    frame = pd.read_parquet(results.flopgrid.save(tmp_path / "r.parquet"))
    assert str(frame["year"].dtype) == "Int64"


def test_save_refuses_unknown_formats(tmp_path: Path) -> None:
    with pytest.raises(flopgrid.FlopgridError, match=r"use \.nc, \.parquet or \.csv"):
        flopgrid.simulate("hundreds-of-billions").flopgrid.save(tmp_path / "r.xlsx")
