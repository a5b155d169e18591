"""The run store: round trips, SQL tables, keys, failures, diff, export, delete and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

import flopgrid
from flopgrid.cli import app
from flopgrid.commands.common import fmt
from flopgrid.errors import FlopgridError
from flopgrid.store import RunStore, record_run

runner = CliRunner()

TINY = {
    "name": "tiny",
    "horizon": {"start": 2025, "end": 2029},
    "existing_industry": False,
    "builds": {
        "datacentres": [{"region": "US", "it_power": "100 MW", "start": 2025}],
        "purchases": [{"accelerator": "H100", "region": "US", "quantity": 10000, "year": 2026}],
    },
}


def _tiny(**changes: object) -> flopgrid.Scenario:
    return flopgrid.load_scenario({**TINY, **changes})


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunStore, dict[str, str], dict[str, xr.Dataset]]:
    """A store with two runs of different scenarios (3 samples, then 1 sample and a longer horizon)."""
    store = RunStore(tmp_path_factory.mktemp("store") / "runs.duckdb")
    a, b = _tiny(), _tiny(horizon={"start": 2025, "end": 2031})
    results = {"a": flopgrid.simulate(a, samples=3, seed=4), "b": flopgrid.simulate(b)}
    ids = {
        "a": store.record(results["a"], a, engine="simulate", seed=4, samples=3, timings={"simulate": 0.25}),
        "b": store.record(results["b"], b, engine="simulate", seed=0, samples=1),
    }
    return store, ids, results


def test_round_trip_gives_back_the_same_dataset(
    runs: tuple[RunStore, dict[str, str], dict[str, xr.Dataset]],
) -> None:
    store, ids, results = runs
    for name in ("a", "b"):
        back = store.load(ids[name])
        xr.testing.assert_identical(back, results[name])
        assert back["bottleneck"].dtype == np.int8
        assert back["h100e"].attrs["units"] == "H100e"


def test_results_are_sql_rows_with_units(
    runs: tuple[RunStore, dict[str, str], dict[str, xr.Dataset]],
) -> None:
    store, ids, results = runs
    expected = results["a"]["h100e"].sel(sample=2, year=2029, region="US").item()
    with duckdb.connect(str(store.path), read_only=True) as con:
        row = con.execute(
            "SELECT value, unit FROM results WHERE run_id = ? AND variable = 'h100e' "
            "AND sample = 2 AND year = 2029 AND region = 'US'",
            [ids["a"]],
        ).fetchone()
        count = con.execute("SELECT count(*) FROM results WHERE run_id = ?", [ids["a"]]).fetchone()
    assert row is not None and count is not None
    assert row[0] == pytest.approx(expected) and expected > 0
    assert row[1] == "H100e"
    assert count[0] == sum(int(v.size) for v in results["a"].data_vars.values())


def test_metadata_and_listing(runs: tuple[RunStore, dict[str, str], dict[str, xr.Dataset]]) -> None:
    store, ids, results = runs
    listing = store.list()
    assert list(listing["run_id"]) == [ids["b"], ids["a"]]  # newest first
    info = store.show(ids["a"])
    assert info["status"] == "complete" and info["engine"] == "simulate"
    assert (info["seed"], info["samples"]) == (4, 3)
    assert info["scenario_hash"] == _tiny().content_hash()
    assert info["timings"] == {"simulate": 0.25}
    assert info["summary"]["h100e_end"]["value"] == pytest.approx(
        results["a"].flopgrid.totals()["h100e_end"]["value"]
    )
    assert (
        store.scenario(ids["b"]).content_hash() == _tiny(horizon={"start": 2025, "end": 2031}).content_hash()
    )
    assert len(store.list(limit=1)) == 1


def test_diff_is_b_minus_a_of_the_totals(
    runs: tuple[RunStore, dict[str, str], dict[str, xr.Dataset]],
) -> None:
    store, ids, results = runs
    frame = store.diff(ids["a"], ids["b"]).set_index("quantity")
    ta, tb = results["a"].flopgrid.totals(), results["b"].flopgrid.totals()
    energy = frame.loc["energy"]
    assert energy["unit"] == "Wh"
    assert energy["a"] == pytest.approx(ta["energy"]["value"])
    assert energy["b"] == pytest.approx(tb["energy"]["value"])
    assert energy["change"] == pytest.approx(float(tb["energy"]["value"]) - float(ta["energy"]["value"]))
    # Two more years of a running fleet use more energy.
    assert energy["a"] > 0 and energy["change"] > 0
    assert energy["change_pct"] == pytest.approx(100 * energy["change"] / energy["a"])


def test_the_same_inputs_are_stored_once(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.duckdb")
    scenario = _tiny()
    results = flopgrid.simulate(scenario)
    first = record_run(results, scenario, engine="simulate", seed=0, samples=1, store=store.path)
    again = store.record(results, scenario, engine="simulate", seed=0, samples=1)
    other_seed = store.record(results, scenario, engine="simulate", seed=1, samples=1)
    assert again == first and other_seed != first
    assert len(store.list()) == 2


def test_failure_is_recorded_and_replaced_by_a_later_success(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.duckdb")
    scenario = _tiny()
    failed = store.record_failure(scenario, engine="simulate", seed=0, samples=1, error="ValueError: boom")
    info = store.show(failed)
    assert (info["status"], info["error"], info["summary"]) == ("failed", "ValueError: boom", None)
    with pytest.raises(FlopgridError, match="failed"):
        store.load(failed)
    done = store.record(flopgrid.simulate(scenario), scenario, engine="simulate", seed=0, samples=1)
    listing = store.list()
    assert list(listing["run_id"]) == [done]
    assert list(listing["status"]) == ["complete"]


def test_export_parquet_and_csv_hold_every_value(
    runs: tuple[RunStore, dict[str, str], dict[str, xr.Dataset]], tmp_path: Path
) -> None:
    store, ids, results = runs
    n = sum(int(v.size) for v in results["b"].data_vars.values())
    for suffix, read in ((".parquet", pd.read_parquet), (".csv", pd.read_csv)):
        path = store.export(ids["b"], tmp_path / f"run{suffix}")
        frame = read(path)
        assert len(frame) == n
        row = frame[(frame.variable == "energy") & (frame.year == 2028) & (frame.region == "US")]
        assert row["value"].item() == pytest.approx(
            results["b"]["energy"].sel(sample=0, year=2028, region="US").item()
        )
        assert row["unit"].item() == "Wh"
    with pytest.raises(FlopgridError, match=r"\.xlsx.*use \.parquet or \.csv"):
        store.export(ids["b"], tmp_path / "run.xlsx")
    assert not list(tmp_path.glob(".*partial"))


def test_delete_removes_the_run_and_its_rows(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.duckdb")
    scenario = _tiny()
    keep = store.record(flopgrid.simulate(scenario), scenario, engine="simulate", seed=0, samples=1)
    gone = store.record(flopgrid.simulate(scenario, seed=1), scenario, engine="simulate", seed=1, samples=1)
    store.delete(gone)
    assert list(store.list()["run_id"]) == [keep]
    with duckdb.connect(str(store.path), read_only=True) as con:
        tables = ("results", "variables", "coords", "runs")
        left = [con.execute(f"SELECT count(*) FROM {t} WHERE run_id = ?", [gone]).fetchone() for t in tables]
    assert left == [(0,)] * 4
    with pytest.raises(FlopgridError, match=f"no run '{gone}'"):
        store.show(gone)


def test_bad_store_paths_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FlopgridError, match="is a folder"):
        RunStore(tmp_path)
    text = tmp_path / "notes.duckdb"
    text.write_text("not a database\n" * 100)
    with pytest.raises(FlopgridError, match=r"notes\.duckdb"):
        RunStore(text).list()
    # Reading a store that does not exist yet lists nothing and creates nothing.
    missing = tmp_path / "new.duckdb"
    assert RunStore(missing).list().empty and not missing.exists()


def test_cli_runs_commands(
    runs: tuple[RunStore, dict[str, str], dict[str, xr.Dataset]], tmp_path: Path
) -> None:
    store, ids, _ = runs
    listed = runner.invoke(app, ["runs", "list", "--store", str(store.path), "--json"])
    assert listed.exit_code == 0, listed.output
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [ids["b"], ids["a"]]
    shown = runner.invoke(app, ["runs", "show", ids["a"], "--store", str(store.path), "--json"])
    assert json.loads(shown.stdout)["samples"] == 3
    diffed = runner.invoke(app, ["runs", "diff", ids["a"], ids["b"], "--store", str(store.path), "--json"])
    data = json.loads(diffed.stdout)
    fields = {row["field"]: (row["a"], row["b"]) for row in data["inputs"]}
    assert fields["scenario.horizon.end"] == (2029, 2031) and fields["seed"] == (4, 0)
    out = tmp_path / "b.csv"
    exported = runner.invoke(app, ["runs", "export", ids["b"], str(out), "--store", str(store.path)])
    assert exported.exit_code == 0 and out.exists()
    # What people read is in display units with the registry's labels; JSON keeps the store's base units.
    energy_wh = json.loads(shown.stdout)["summary"]["energy"]["value"]
    for command in (["runs", "show", ids["a"]], ["runs", "diff", ids["a"], ids["b"]]):
        text = runner.invoke(app, [*command, "--store", str(store.path)], env={"COLUMNS": "200"}).stdout
        assert "electricity over the horizon" in text and "TWh" in text and " Wh " not in text
    table = runner.invoke(app, ["runs", "show", ids["a"], "--store", str(store.path)], env={"COLUMNS": "200"})
    row = next(line for line in table.stdout.splitlines() if "electricity over the horizon" in line)
    assert f" {fmt(energy_wh / 1e12)} " in row and "TWh" in row
    unknown = runner.invoke(app, ["runs", "show", "zzzz", "--store", str(store.path)])
    assert unknown.exit_code == 2
    assert "no run 'zzzz'" in unknown.stderr and "Traceback" not in unknown.output


def test_plan_results_round_trip_with_their_own_dimensions(tmp_path: Path) -> None:
    """The planner's Results have dimensions and coordinates the simulator's lack."""
    planned = flopgrid.plan("target-100m-h100e-2030")
    scenario = flopgrid.load_scenario("target-100m-h100e-2030")
    store = RunStore(tmp_path / "runs.duckdb")
    run_id = store.record(planned, scenario, engine="plan", seed=0, samples=1)
    xr.testing.assert_identical(store.load(run_id), planned)
    duals = [name for name in planned.data_vars if str(name).startswith("shadow_price_")]
    assert "shadow_price_power_generation_upper" in duals
    with duckdb.connect(str(store.path), read_only=True) as con:
        rows = con.execute(
            "SELECT count(*) FROM results WHERE run_id = ? AND variable LIKE 'shadow_price_%'", [run_id]
        ).fetchone()
        by_source = con.execute(
            "SELECT count(*) FROM results WHERE run_id = ? "
            "AND variable = 'shadow_price_power_generation_upper' "
            "AND source IS NOT NULL",
            [run_id],
        ).fetchone()
    assert rows is not None and rows[0] == sum(planned[name].size for name in duals)
    assert by_source is not None and by_source[0] == planned["shadow_price_power_generation_upper"].size
    # Its stored totals are the declared figures in their units, not sums of every variable.
    summary = store.show(run_id)["summary"]
    assert summary["capex"] == {"value": pytest.approx(float(planned["capex"].sum())), "unit": "USD"}
    assert summary["h100e_end"]["unit"] == "H100e" and not any("shadow" in key for key in summary)
