"""Issue 17, the command line: one figure registry, readable Monte Carlo tables, fast start-up and the
small things a user notices (scenario descriptions, null sensitivity outputs, myopic windows, dask's
port warning, finance without financing)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import flopgrid
from flopgrid.cli import app
from flopgrid.commands.library import TABLES as HELP_TABLES
from flopgrid.commands.run import SAMPLING_DESIGNS
from flopgrid.distributions import SAMPLING
from flopgrid.library import TABLES
from flopgrid.model.finance import ASSETS
from flopgrid.results import decode
from flopgrid.scenario import shipped_scenarios
from flopgrid.schema import ASSET_LABELS, FIGURES

runner = CliRunner()
HEAVY = ("pandas", "scipy", "xarray", "linopy", "duckdb", "fastapi", "dask", "distributed")

TINY = """\
name: tiny
horizon: {start: 2025, end: 2027}
existing_industry: false
builds:
  datacentres: [{region: US, it_power: 100 MW, start: 2025}]
  purchases: [{accelerator: H100, region: US, quantity: 10000, year: 2026}]
"""


def test_help_lists_are_the_libraries_lists() -> None:
    assert HELP_TABLES == TABLES
    assert tuple(SAMPLING) == SAMPLING_DESIGNS
    assert tuple(ASSET_LABELS) == ASSETS


def test_cli_start_up_loads_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from flopgrid.cli import app\n"
        "for args in (['--help'], ['scenarios'], ['figures']):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_package_top_level_loads_no_heavy_library_until_used() -> None:
    code = (
        "import sys, flopgrid\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
        "r = flopgrid.simulate('reference')\n"
        "print(type(flopgrid.plan).__name__, type(flopgrid.simulate).__name__, 'pandas' in sys.modules)\n"
        "print(r.flopgrid.totals()['h100e_end']['unit'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:3] == ["[]", "function function True", "H100e"]


def test_the_registry_is_the_totals_keys() -> None:
    results = flopgrid.simulate("seed-7t", samples=20, seed=1)
    totals = results.flopgrid.totals()
    assert set(totals) <= set(FIGURES)
    assert {"h100e_end", "capex", "capex_fab", "first_bottleneck", "npv"} <= set(totals)
    for key, entry in totals.items():
        assert entry["unit"] == FIGURES[key].unit


def test_figures_lists_every_name_with_label_unit_and_kind() -> None:
    result = runner.invoke(app, ["figures", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert list(rows) == list(FIGURES)
    assert rows["energy"]["display_unit"] == "TWh" and rows["h100e_end"]["kind"] == "stock"
    assert rows["first_bottleneck"]["kind"] == "label"
    table = runner.invoke(app, ["figures"]).stdout
    assert "h100e_end" in table and "M H100e" in table


def test_ask_takes_totals_keys_with_the_totals_meaning() -> None:
    results = flopgrid.simulate("seed-7t", samples=40, seed=3)
    end = results["h100e"].isel(year=-1).sum("region").values
    threshold = float(sorted(end)[20])
    asked = results.flopgrid.probability(f"h100e_end >= {threshold}")
    assert asked["probability"] == pytest.approx((end >= threshold).mean())
    fab = results["capex"].sel(asset="fab").sum(["year", "region"]).values
    assert results.flopgrid.probability("capex_fab <= 500e9")["probability"] == pytest.approx(
        (fab <= 500e9).mean()
    )


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("first_bottleneck > 0", "is a label"),
        ("h100e_end@2030 > 0", "h100e@2030"),
        ("h100_end > 0", "Did you mean 'h100e_end'?"),
    ],
)
def test_ask_errors_name_the_problem(question: str, message: str) -> None:
    result = runner.invoke(app, ["run", "seed-7t", "-n", "4", "--no-record", "--ask", question])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_ask_with_a_totals_key_in_a_chunked_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("flopgrid.commands.run.FULL_RESULTS_MAX", 10)
    result = runner.invoke(app, ["run", "seed-7t", "-n", "40", "--json", "--ask", "capex_fab <= 500e9"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["probabilities"][0]["samples"] == 40


def test_monte_carlo_table_fits_250_columns_with_ranges() -> None:
    env = {**os.environ, "COLUMNS": "250"}
    done = subprocess.run(
        [sys.executable, "-m", "flopgrid", "run", "seed-7t", "-n", "200", "--no-record"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 250
    assert "…" not in done.stdout
    row = next(line for line in lines if line.startswith("│ 2040"))
    assert "(" in row and "–" in row  # median (P5–P95)
    assert "P5–P95" in done.stdout  # the totals' range column
    assert "h100e_p5" not in done.stdout


def test_wide_keeps_the_quantile_columns(write_yaml: Callable[[str], Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flopgrid", "run", str(write_yaml(TINY)), "-n", "20", "--wide", "--no-record"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "600"},
        check=True,
    )
    assert "h100e_p5" in done.stdout and "h100e_p95" in done.stdout


def test_years_and_counts_print_plainly() -> None:
    import numpy as np
    import pandas as pd
    from rich.console import Console

    from flopgrid.commands.common import fmt, frame_table, year_label

    assert fmt(np.int64(12)) == "12" and fmt(12_000) == "12,000" and fmt(12.5) == "12.5"
    assert year_label(2034.0) == "2034" and year_label(float("nan")) == "never"
    frame = pd.DataFrame({"items": [12, 3], "share": [0.5, 0.25]}, index=pd.Index([2023, 2024], name="year"))
    console = Console(width=200, record=True)
    console.print(frame_table(frame, "t"))
    text = console.export_text()
    assert "2023" in text and "2,023" not in text and "12.0" not in text and "│    12 │" in text


def test_power_columns_say_rating_and_draw() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flopgrid", "run", "seed-7t", "--no-record"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "250"},
        check=True,
    )
    assert "it_rating" in done.stdout and "facility_draw" in done.stdout
    assert "IT power rating" in done.stdout and "average facility power draw" in done.stdout


def test_scenarios_show_descriptions_and_help_lists_every_shipped_scenario() -> None:
    result = runner.invoke(app, ["scenarios", "--json"])
    listed = json.loads(result.stdout)
    assert [row["name"] for row in listed] == shipped_scenarios()
    assert all(row["description"] for row in listed)
    helped = runner.invoke(app, ["scenarios", "--help"]).stdout
    run_help = runner.invoke(app, ["run", "--help"]).stdout
    for name in shipped_scenarios():
        assert name in " ".join(helped.split()) and name in " ".join(run_help.split())
    assert "target-100m-h100e-2030" in shipped_scenarios()


def test_sensitivity_of_a_figure_null_everywhere_says_so() -> None:
    result = runner.invoke(
        # hundreds-of-billions earns nothing (no revenue model, no existing industry): its IRR is null.
        # (reference earned nothing too until its revenue became the market's by default.)
        app,
        ["sensitivity", "hundreds-of-billions", "--output", "irr", "--method", "morris", "-n", "4"],
    )
    assert result.exit_code == 2, result.output
    assert "null" in result.stderr and "every one" in result.stderr


def test_myopic_window_shorter_than_lead_times_warns() -> None:
    from flopgrid.commands.plan import window_warning

    scenario = flopgrid.load_scenario("target-100m-h100e-2030")
    assert scenario.planner is not None
    myopic = scenario.model_copy(
        update={"planner": scenario.planner.model_copy(update={"mode": "myopic", "window": 2})}
    )
    warning = window_warning(myopic, flopgrid.load_library())
    assert warning is not None and "lead time" in warning and "datacentres" in warning
    assert window_warning(scenario, flopgrid.load_library()) is None  # perfect foresight


def test_finance_without_tranches_reports_costs_not_a_gap() -> None:
    result = runner.invoke(app, ["finance", "reference", "--no-record"])
    assert result.exit_code == 0, result.output
    assert "no financing section" in result.stdout
    assert "does NOT cover" not in result.stdout
    data = json.loads(runner.invoke(app, ["finance", "reference", "--no-record", "--json"]).stdout)
    assert data["financing_section"] is False


def test_sweep_cluster_does_not_warn_about_a_busy_port_8787(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("name: s\nbase: reference\ngrid:\n  horizon.end: [2027, 2028]\n", encoding="utf-8")
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        holder.bind(("127.0.0.1", 8787))
        holder.listen()
    except OSError:
        pass  # already held by something else: the condition under test holds anyway
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "flopgrid",
                "sweep",
                str(sweep),
                "--store",
                str(tmp_path / "s.duckdb"),
                "--workers",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        holder.close()
    assert done.returncode == 0, done.stderr
    assert "8787" not in done.stdout + done.stderr


def test_a_scenario_that_buys_chips_counts_them_and_blames_no_production_cap() -> None:
    # Issue 17: a plan of bought chips said "accelerators produced 0" and named a production cap
    # although it makes nothing; its headline now counts what it bought, and production binds nowhere.
    ds = flopgrid.simulate("hundreds-of-billions")
    totals = ds.flopgrid.totals()
    assert float(totals["accelerators_produced"]["value"]) == 0
    bought = sum(p.quantity for p in flopgrid.load_scenario("hundreds-of-billions").builds.purchases)
    assert float(totals["accelerators_shipped"]["value"]) == pytest.approx(bought)
    assert set(decode(ds["production_bottleneck"]).values.ravel()) == {"none"}
    # A programme alone does not clear the world's market: no market price among its totals.
    assert "market_price_end" not in totals
    assert "market_price_end" in flopgrid.simulate("reference").flopgrid.totals()
