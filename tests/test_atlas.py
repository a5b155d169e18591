"""The atlas of named assets: every shipped row passes the schema checks, and each check refuses a bad row."""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import flopgrid.commands.atlas as atlas_command
from flopgrid.charts.atlas import pipeline, totals
from flopgrid.cli import app
from flopgrid.errors import LibraryError
from flopgrid.library.atlas import (
    BASES,
    FILES,
    KINDS,
    STATUSES,
    UNITS,
    library_regions,
    load_atlas,
    parse_row,
)
from flopgrid.model.pipeline import expected_pipeline, in_service

REGIONS = library_regions()


def shipped_rows() -> list[tuple[str, int, dict[str, str]]]:
    folder = resources.files("flopgrid.library.atlas")
    out = []
    for kind, name in FILES.items():
        text = folder.joinpath(f"{name}.csv").read_text(encoding="utf-8")
        out += [(kind, line, row) for line, row in enumerate(csv.DictReader(text.splitlines()), start=2)]
    return out


def test_every_kind_has_rows_and_ids_are_unique() -> None:
    atlas = load_atlas()
    assert {a.kind for a in atlas.assets} == set(FILES)
    assert len(atlas.ids()) == len(set(atlas.ids()))


@pytest.mark.parametrize(
    ("kind", "line", "row"), shipped_rows(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_shipped_row_is_sourced_and_consistent(kind: str, line: int, row: dict[str, str]) -> None:
    asset = parse_row(kind, row, f"{kind}:{line}", REGIONS)
    assert asset.url.startswith("https://") and asset.publisher and asset.title and asset.licence
    assert asset.status in STATUSES
    assert asset.region in REGIONS
    assert asset.unit == UNITS[kind][0] and asset.basis in BASES[kind]
    years = [y for y in (asset.announced, asset.construction_start, asset.online_year, asset.full_year) if y]
    assert years == sorted(years)
    if not np.isnan(asset.capacity):
        # Model units: wafer/month × 12 = wafer/year; MW × 1e6 = W.
        factor = 12.0 if UNITS[kind][0] == "wafer/month" else 1e6
        assert asset.capacity_model == pytest.approx(asset.capacity * factor)


def good_row() -> dict[str, str]:
    return dict(shipped_rows()[0][2])


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("status", "planned", "status must be one of announced"),
        ("region", "USA", "not a region of library/regions.csv"),
        ("unit", "MW", "unit must be 'wafer/month'"),
        ("url", "", "needs a source URL"),
        ("publisher", "", "has no 'publisher'"),
        ("date", "May 2025", "source date"),
        ("licence", "", "has no licence"),
        ("online_year", "2019", "online_year (2019) is before construction_start (2020)"),
        ("capacity", "-5", "must be a positive number"),
        ("capacity", "lots", "must be a number"),
        ("capex_scope", "", "without its capex_scope"),
        ("basis", "facility", "basis must be one of"),
    ],
)
def test_a_bad_row_is_refused_naming_file_line_and_column(column: str, value: str, message: str) -> None:
    row = good_row()
    assert row["construction_start"] == "2020" and row["capex"]  # the cases above rely on this row
    row[column] = value
    with pytest.raises(LibraryError, match=r"fabs\.csv:2") as info:
        parse_row("fab", row, "library/atlas/fabs.csv:2", REGIONS)
    assert message in str(info.value)


def test_select_filters_and_get_suggests() -> None:
    atlas = load_atlas()
    uae = atlas.select(kind="campus", region="UAE")
    assert uae and all(a.region == "UAE" and a.kind == "campus" for a in uae)
    assert all(a.status == "operating" for a in atlas.select(status="operating"))
    with pytest.raises(KeyError, match="Did you mean 'xai-colossus-2'"):
        atlas.get("xai-colosus-2")


runner = CliRunner()


def test_cli_json_lists_assets_with_sources_and_filters() -> None:
    result = runner.invoke(app, ["atlas", "--json", "--kind", "campus", "--status", "operating"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and {r["kind"] for r in rows} == {"campus"} and {r["status"] for r in rows} == {"operating"}
    assert all(r["url"].startswith("https://") and r["source"] for r in rows)
    assert len(rows) == len(load_atlas().select(kind="campus", status="operating"))


def test_cli_totals_add_up_to_the_assets_in_service() -> None:
    result = runner.invoke(app, ["atlas", "--totals", "--json", "--kind", "campus", "--region", "UAE"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    # Stargate UAE's first 200 MW is the only dated UAE campus: 0.2 GW from 2026 on.
    by_year = {r["year"]: r["capacity"] for r in rows if r["status"] == "under_construction"}
    assert by_year[2025] == 0 and by_year[2026] == pytest.approx(0.2) and by_year[2030] == pytest.approx(0.2)


def test_cli_csv_has_the_schema_columns() -> None:
    result = runner.invoke(app, ["atlas", "--csv", "--kind", "power"])
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0].split(",")
    assert header[:3] == ["kind", "id", "name"] and "url" in header and "licence" in header


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "campsu"], "Did you mean 'campus'"),
        (["--status", "built"], "--status: unknown value 'built'"),
        (["--region", "EUR"], "--region: unknown value 'EUR'"),
        (["--chart", "pipeline.png"], "give a name ending in .html"),
    ],
)
def test_cli_bad_options_exit_2_with_the_fix(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["atlas", *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_cli_chart_is_self_contained_html_with_one_trace_per_status(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.html"
    result = runner.invoke(app, ["atlas", "--chart", str(path)])
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    # plotly.js is inlined and the page's CSP forbids every fetch: it draws with no network.
    assert "default-src 'none'" in text and "Plotly.newPlot" in text and len(text) > 1_000_000
    figure = pipeline(load_atlas().select(kind="campus"))
    assert [t["name"] for t in figure["data"]] == ["announced", "under construction", "operating"]
    # Stacked, the three traces are the campuses in service: their sum equals the totals' sum.
    frame = totals(load_atlas().select(kind="campus"))
    for j, year in enumerate(figure["data"][0]["x"]):
        stacked = sum(t["y"][j] for t in figure["data"])
        assert stacked == pytest.approx(frame[frame.year == year].capacity.sum())


def test_cli_keeps_the_kinds_and_statuses_of_the_atlas() -> None:
    assert atlas_command.KINDS == KINDS and atlas_command.STATUSES == STATUSES


def test_pipeline_ramp_probability_and_delay_by_hand() -> None:
    years = np.arange(2024, 2029)
    # 300 MW online 2025, full 2027 (thirds); 100 MW in 2026 at probability 0.5, delayed a year.
    values = in_service(
        np.array([300.0, 100.0]),
        np.array([2025.0, 2026.0]),
        np.array([2027.0, 2026.0]),
        years,
        np.array([1.0, 0.5]),
        np.array([0.0, 1.0]),
    )
    assert values.tolist() == [[0, 100, 200, 300, 300], [0, 0, 0, 50, 50]]
    grouped = expected_pipeline(
        np.array([300.0, 100.0, np.nan]),
        np.array([2025.0, 2026.0, 2025.0]),
        np.array([2027.0, 2026.0, np.nan]),
        np.array([0, 1, 1]),
        2,
        years,
        np.array([1.0, 0.5, 1.0]),
        np.array([0.0, 1.0, 0.0]),
    )
    assert grouped.shape == (5, 2) and grouped[:, 0].tolist() == [0, 100, 200, 300, 300]
    assert grouped[:, 1].tolist() == [0, 0, 0, 50, 50]  # the unsized third project counts 0
    # A Monte Carlo axis in front: each sample's delay shifts its own ramp.
    draws = expected_pipeline(
        np.array([100.0]),
        np.array([2025.0]),
        np.array([2025.0]),
        np.array([0]),
        1,
        years,
        np.array([[1.0], [1.0]]),
        np.array([[0.0], [2.0]]),
    )
    assert draws[..., 0].tolist() == [[0, 100, 100, 100, 100], [0, 0, 0, 100, 100]]
