"""The CLI: summaries, JSON, listings, exit status 2 on bad input and never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import flopgrid
import flopgrid.commands.run
from flopgrid.cli import app

runner = CliRunner()

TINY = """\
name: tiny
horizon: {start: 2025, end: 2027}
existing_industry: false
builds:
  datacentres: [{region: US, it_power: 100 MW, start: 2025}]
  purchases: [{accelerator: H100, region: US, quantity: 10000, year: 2026}]
"""


def test_run_json_has_every_year_and_totals_with_units(write_yaml: Callable[[str], Path]) -> None:
    result = runner.invoke(app, ["run", str(write_yaml(TINY)), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [row["year"] for row in data["years"]] == [2025, 2026, 2027]
    assert data["totals"]["capex"]["unit"] == "USD"
    assert data["totals"]["accelerators_installed_end"]["value"] == pytest.approx(10_000)


def test_run_prints_the_summary_and_totals() -> None:
    result = runner.invoke(app, ["run", "hundreds-of-billions"])
    assert result.exit_code == 0, result.output
    assert "bottleneck" in result.stdout and "Horizon totals" in result.stdout
    assert "capex over the horizon" in result.stdout


def test_default_run_is_the_seed_scenario() -> None:
    result = runner.invoke(app, ["run", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["scenario"] == "seed-7t"


def test_run_with_samples_reports_quantiles(write_yaml: Callable[[str], Path]) -> None:
    result = runner.invoke(app, ["run", str(write_yaml(TINY)), "--samples", "50", "--json"])
    row = json.loads(result.stdout)["years"][-1]
    assert row["h100e_p5 [M H100e]"] <= row["h100e_p50 [M H100e]"] <= row["h100e_p95 [M H100e]"]


@pytest.mark.parametrize("suffix", [".nc", ".parquet", ".csv"])
def test_run_saves_results(write_yaml: Callable[[str], Path], tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"results{suffix}"
    result = runner.invoke(app, ["run", str(write_yaml(TINY)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0
    assert not list(tmp_path.glob(".*partial"))


def test_check_prints_what_the_scenario_resolves_to() -> None:
    result = runner.invoke(app, ["check", "seed-7t", "--json"])
    data = json.loads(result.stdout)
    assert data["valid"] is True
    assert "Rubin" in data["accelerators"] and "nuclear_restart" in data["sources"]
    assert len(data["scenario"]["builds"]["datacentres"]) == 12


def test_data_lists_tables_and_a_table_with_sources() -> None:
    listing = json.loads(runner.invoke(app, ["data", "--json"]).stdout)
    assert {row["table"] for row in listing} >= {"accelerators", "regions", "power_sources"}
    rows = json.loads(runner.invoke(app, ["data", "accelerators", "--json"]).stdout)
    h100 = [r for r in rows if r["id"] == "H100" and r["parameter"] == "flops_bf16"]
    assert h100 and "Epoch AI" in h100[0]["source"]
    csv_text = runner.invoke(app, ["data", "regions", "--csv"]).stdout
    assert csv_text.startswith("id,parameter,value,unit,year,low,high,source,note")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data", "acelerators"], "Did you mean 'accelerators'?"),
        (["run", "nope.yaml"], "no such file"),
        (["run", "reference", "--out", "results.txt"], ".nc, .parquet or .csv"),
    ],
)
def test_bad_input_exits_2_with_a_message(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_the_installed_script_exits_2_without_traceback(write_yaml: Callable[[str], Path]) -> None:
    path = write_yaml(TINY.replace("100 MW", "100 MB"))
    proc = subprocess.run(
        [sys.executable, "-m", "flopgrid", "run", str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert f"{path}:5: builds.datacentres[0].it_power:" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_nothing_is_saved_when_the_run_fails(write_yaml: Callable[[str], Path], tmp_path: Path) -> None:
    out = tmp_path / "results.nc"
    runner.invoke(app, ["run", str(write_yaml(TINY.replace("year: 2026", "year: 2099"))), "--out", str(out)])
    assert not out.exists()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t + "builds: [\n", "malformed YAML"),  # malformed YAML
        (lambda t: t.replace("horizon:", "horizn:"), "Did you mean 'horizon'?"),  # unknown key
        (lambda t: t.replace("100 MW", "100"), "bare number"),  # missing unit
        (lambda t: t.replace("100 MW", "100 MB"), "a power is expected"),  # wrong unit
        (lambda t: t.replace("100 MW", "-100 MW"), "greater than 0"),  # negative
        (lambda t: t + "parameters: {datacentres: {pue: 0.3}}\n", "between 1 and 5"),  # absurd
        (lambda t: t.replace("region: US, it_power", "region: Mars, it_power"), "unknown region"),
        (lambda t: t.replace("accelerator: H100", "accelerator: H1000"), "unknown accelerator"),
        (lambda t: t.replace("year: 2026", "year: 2031"), "outside the horizon"),
    ],
)
def test_every_kind_of_bad_input_exits_2(
    write_yaml: Callable[[str], Path], edit: Callable[[str], str], expected: str
) -> None:
    path = write_yaml(edit(TINY))
    for command in (["run", str(path)], ["check", str(path)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert expected in result.stderr
        assert str(path) in result.stderr
        assert "Traceback" not in result.output


def test_a_run_above_the_full_results_limit_goes_in_chunks_and_agrees_with_a_full_run(
    write_yaml: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_yaml(TINY)
    full = flopgrid.simulate(flopgrid.load_scenario(path), samples=300, seed=4)
    monkeypatch.setattr(flopgrid.commands.run, "FULL_RESULTS_MAX", 100)
    saved = tmp_path / "figures.parquet"
    result = runner.invoke(
        app,
        ["run", str(path), "-n", "300", "--seed", "4", "--ask", "capex <= 1e30", "-o", str(saved), "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    figures = {row["figure"]: row for row in data["figures"]}
    capex = full["capex"].sum([d for d in full["capex"].dims if d != "sample"]).to_numpy()
    assert figures["capex"]["P50"] == pytest.approx(float(np.quantile(capex, 0.5)), rel=1e-9)
    assert data["probabilities"][0]["probability"] == 1.0
    frame = pd.read_parquet(saved)
    assert len(frame) == 300 and "capex [USD]" in frame.columns
    refused = runner.invoke(app, ["run", str(path), "-n", "300", "-o", str(tmp_path / "r.nc")])
    assert refused.exit_code == 2 and "headline figures" in refused.output


def test_runs_are_recorded_in_the_store_unless_told_not_to(
    write_yaml: Callable[[str], Path], tmp_path: Path
) -> None:
    store = tmp_path / "runs.duckdb"
    path = str(write_yaml(TINY))
    first = json.loads(runner.invoke(app, ["run", path, "--store", str(store), "--json"]).stdout)
    shown = runner.invoke(app, ["runs", "show", first["run_id"], "--store", str(store), "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["engine"] == "simulate"
    skipped = json.loads(
        runner.invoke(app, ["run", path, "--store", str(store), "--no-record", "--json"]).stdout
    )
    assert skipped["run_id"] is None
    listed = json.loads(runner.invoke(app, ["runs", "list", "--store", str(store), "--json"]).stdout)
    assert [row["run_id"] for row in listed] == [first["run_id"]]
