"""The data library: every row sourced, in range, convertible; the listing the CLI shows."""

from __future__ import annotations

import numpy as np
import pytest

from flopgrid.library import TABLES, load_library

# The ids the Foundation issue requires; the same lists drive the random scenarios.
from strategies import ACCELERATORS, REGIONS, SOURCES


def test_every_row_has_value_unit_year_range_and_source() -> None:
    rows = load_library().rows
    assert len(rows) > 300
    assert (rows.source.str.strip().str.len() > 10).all()
    assert (rows.low <= rows.value).all() and (rows.value <= rows.high).all()
    assert rows.unit.str.len().gt(0).all()
    assert rows.year.between(2000, 2050).all()


@pytest.mark.parametrize(
    ("table", "items"),
    [
        ("accelerators", ACCELERATORS),
        ("power_sources", SOURCES),
        ("regions", REGIONS),
    ],
)
def test_required_items_have_every_declared_parameter(table: str, items: list[str]) -> None:
    library = load_library()
    assert set(items) <= set(library.ids(table))
    # the grid's intensity is the region's (regions.grid_carbon_intensity[_lifecycle])
    optional = {
        ("power_sources", "grid", "fuel_cost"),
        ("power_sources", "grid", "carbon_intensity"),
        ("power_sources", "grid", "carbon_intensity_lifecycle"),
    }
    # A region without a pipeline coverage is one the atlas pipeline does not drive (docs/atlas.md).
    optional |= {("regions", region, "pipeline_coverage") for region in REGIONS}
    optional |= {("regions", region, "slated_dc_power") for region in REGIONS}
    for item in items:
        for parameter in library.parameters(table):
            if (table, item, parameter) not in optional:
                assert library.has(table, item, parameter), f"{table}.{item}.{parameter} missing"


def test_rows_taken_from_epoch_cite_it() -> None:
    rows = load_library().rows
    epoch = rows[rows.source.str.contains("Machine Learning Hardware")]
    assert len(epoch) > 20
    assert epoch.source.str.contains("CC-BY 4.0").all()


def test_chip_shares_sum_to_one() -> None:
    library = load_library()
    shares, _, _ = library.series("regions", "chip_share", library.ids("regions"), np.array([2025]))
    assert shares.sum() == pytest.approx(1.0, abs=1e-6)


def test_series_interpolates_between_years_and_holds_outside() -> None:
    library = load_library()
    rows = library.rows
    prices = rows[(rows.id == "H100") & (rows.parameter == "price")].sort_values("year")
    assert len(prices) >= 2
    (y0, p0), (y1, p1) = prices[["year", "value_model"]].to_numpy()[:2]
    mid = (y0 + y1) / 2
    value, _, _ = library.series("accelerators", "price", ["H100"], np.array([y0 - 5, mid, 2100]))
    assert value[0, 0] == pytest.approx(p0)
    assert value[0, 1] == pytest.approx((p0 + p1) / 2)
    assert value[0, 2] == pytest.approx(prices.value_model.iloc[-1])


def test_units_are_converted_to_model_units() -> None:
    rows = load_library().rows
    d0 = rows[(rows.table == "fabs") & (rows.parameter == "defect_density")].iloc[0]
    assert d0.unit == "1/cm^2"
    assert d0.value_model == pytest.approx(d0.value / 100)  # per mm^2


def test_every_table_lists() -> None:
    library = load_library()
    for table in TABLES:
        frame = library.table(table)
        assert list(frame.columns) == [
            "id",
            "parameter",
            "value",
            "unit",
            "year",
            "low",
            "high",
            "source",
            "note",
        ]
        assert len(frame) > 0
