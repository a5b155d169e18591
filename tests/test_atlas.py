"""The atlas of named assets: every shipped row passes the schema checks, and each check refuses a bad row."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np
import pytest

from flopgrid.errors import LibraryError
from flopgrid.library.atlas import (
    BASES,
    FILES,
    STATUSES,
    UNITS,
    library_regions,
    load_atlas,
    parse_row,
)

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
