"""The atlas pipeline drives the existing industry's near-term data-centre build (docs/model.md §3.1):
its limit is the named campuses' completion-weighted additions ÷ coverage, computed here from the atlas
rows and the library, not from the code under test."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import flopgrid
from flopgrid.library import load_library
from flopgrid.library.atlas import load_atlas
from flopgrid.scenario import load_scenario
from flopgrid.simulate.pipeline import calibrated_coverage

GW = 1e9


def reference(**changes: Any) -> Any:
    mapping = load_scenario("reference").model_dump(mode="json")
    mapping.update(changes)
    return mapping


@pytest.fixture(scope="module")
def central() -> Any:
    return flopgrid.simulate(reference())


@pytest.fixture(scope="module")
def switched_off() -> Any:
    return flopgrid.simulate(reference(pipeline=False))


def value(table: str, item: str, parameter: str, year: int = 2026) -> float:
    return float(load_library().series(table, parameter, [item], np.array([year]))[0][0, 0])


def expected_limits(regions: list[str], years: list[int]) -> dict[tuple[str, int], float]:
    """The central pipeline limit by (region, year) from the atlas rows, one campus at a time (after the
    slate year at least the library's ``max_new_power``)."""
    last = load_library().history_years()[1]
    pue = value("datacentres", "ai_campus", "pue")
    added: dict[tuple[str, int], float] = {}
    end: dict[str, float] = {}
    for a in load_atlas().select(kind="campus"):
        if a.status == "cancelled" or a.region not in regions or math.isnan(a.capacity_model):
            continue
        if a.online_year is None and a.full_year is None:
            continue
        chance, delay = 1.0, 0.0
        if a.status != "operating":
            chance = value("datacentres", "ai_campus", f"completion_{a.status}")
            delay = value("datacentres", "ai_campus", f"delay_{a.status}")
        on = float(a.online_year if a.online_year is not None else a.full_year) + delay  # type: ignore[arg-type]
        full = max(float(a.full_year) + delay if a.full_year is not None else on, on)
        size = a.capacity_model * (pue if a.basis == "it" else 1.0) * chance

        def level(y: float, on: float = on, full: float = full, size: float = size) -> float:
            return size * min(max((y - on + 1.0) / (full - on + 1.0), 0.0), 1.0)

        for y in years:
            added[(a.region, y)] = added.get((a.region, y), 0.0) + level(y) - level(y - 1)
        if a.online_year is not None:
            end[a.region] = max(end.get(a.region, -math.inf), math.ceil(a.online_year + delay - 1e-9))
    out = {}
    for region in regions:
        coverage = value("regions", region, "pipeline_coverage")
        for y in years:
            if not math.isnan(coverage) and last < y <= min(end.get(region, -math.inf), 2030):
                out[(region, y)] = added.get((region, y), 0.0) / coverage
                if y > last + 1:
                    # After the slate year a thinner named pipeline is lagging announcements: at least
                    # the library's trend.
                    out[(region, y)] = max(out[(region, y)], value("regions", region, "max_new_power", y))
    return out


def test_the_central_limit_is_the_atlas_additions_over_coverage(central: Any) -> None:
    regions = [str(r) for r in central.region.values]
    years = [y for y in central.year.values.tolist() if y <= 2030]
    want = expected_limits(regions, years)
    assert want, "the atlas drives no region"
    got = central["pipeline_dc_power"].isel(sample=0)
    for (region, year), limit in want.items():
        assert float(got.sel(region=region, year=year)) == pytest.approx(limit, rel=1e-9, abs=1.0)
    outside = [(r, y) for r in regions for y in years if (r, y) not in want]
    for region, year in outside:
        assert float(got.sel(region=region, year=year)) == 0.0


def test_the_new_dc_power_follows_the_pipeline_where_it_binds(central: Any) -> None:
    regions = [str(r) for r in central.region.values]
    years = [y for y in central.year.values.tolist() if y <= 2030]
    want = expected_limits(regions, years)
    new = central["grid_connection"].isel(sample=0).diff("year")
    binding = 0
    for (region, year), limit in want.items():
        if year == int(central.year[0]):
            continue
        built = float(new.sel(region=region, year=year))
        assert built <= limit * (1 + 1e-9) + 1.0, (region, year)
        binding += built == pytest.approx(limit, rel=1e-9)
    # The pipeline is below what the chips would need in at least one year (US 2027 today).
    assert binding >= 1


def test_after_the_window_the_trend_carries_on_from_the_pipeline_level(central: Any) -> None:
    regions = [str(r) for r in central.region.values]
    want = expected_limits(regions, list(range(2026, 2031)))
    us_end = max(y for (r, y) in want if r == "US")
    assert us_end < 2030
    grid = central["grid_connection"].isel(sample=0).sel(region="US")
    dc = central["dc_capacity"].isel(sample=0).sel(region="US")
    after = us_end + 1
    trend = value("regions", "US", "max_new_power", after)
    step = float(grid.sel(year=after) - grid.sel(year=us_end))
    assert 0 < step <= trend * (1 + 1e-9)
    assert float(dc.sel(year=after)) >= float(dc.sel(year=us_end))


def test_pipeline_false_keeps_the_library_limit(central: Any, switched_off: Any) -> None:
    assert float(abs(switched_off["pipeline_dc_power"]).max()) == 0.0
    us = {
        name: ds["grid_connection"].isel(sample=0).sel(region="US").diff("year")
        for name, ds in (("on", central), ("off", switched_off))
    }
    # Off: the 2026 (slate year) US step is the library's max_new_power or what chips needed, not the
    # pipeline's.
    cap = value("regions", "US", "max_new_power", 2026)
    assert float(us["off"].sel(year=2026)) <= cap * (1 + 1e-9)
    assert float(us["off"].sel(year=2026)) != pytest.approx(float(us["on"].sel(year=2026)), rel=1e-3)
    # Before the window both runs are the same run.
    np.testing.assert_array_equal(
        central["dc_capacity"].sel(year=2025).values, switched_off["dc_capacity"].sel(year=2025).values
    )


def test_monte_carlo_draws_campuses_lumpily_and_leaves_history_alone() -> None:
    ds = flopgrid.simulate(reference(horizon={"start": 2024, "end": 2031}), samples=40, seed=3)
    limit = ds["pipeline_dc_power"].sel(region="US")
    assert float(abs(limit.sel(year=[2024, 2025])).max()) == 0.0
    spread = limit.sel(year=2027).quantile([0.05, 0.95], "sample").values
    assert spread[0] < spread[1]
    # Campuses are drawn one by one: the samples' limits differ.
    assert len(np.unique(np.round(limit.sel(year=2027).values / 1e6))) > 1
    built = ds["grid_connection"].sel(region="US").diff("year").sel(year=2027)
    p5, p95 = built.quantile([0.05, 0.95], "sample").values
    assert p5 < p95


def test_the_same_seed_draws_the_same_campuses() -> None:
    one = flopgrid.simulate(reference(), samples=6, seed=5)["pipeline_dc_power"].values
    again = flopgrid.simulate(reference(), samples=6, seed=5)["pipeline_dc_power"].values
    other = flopgrid.simulate(reference(), samples=6, seed=6)["pipeline_dc_power"].values
    np.testing.assert_array_equal(one, again)
    assert not np.array_equal(one, other)


def test_the_us_coverage_is_its_calibration_on_the_slate() -> None:
    library = load_library()
    row = library.series("regions", "pipeline_coverage", ["US"], np.array([2026]))
    got = calibrated_coverage(library, "US")
    assert float(row[1][0, 0]) <= got <= float(row[2][0, 0])
    # By hand: named US campuses' facility power entering service in 2026 over the 2026 slate.
    pue = value("datacentres", "ai_campus", "pue", 2026)
    named = 0.0
    for a in load_atlas().select(kind="campus"):
        if a.region != "US" or a.status == "cancelled" or math.isnan(a.capacity_model):
            continue
        if a.online_year is None and a.full_year is None:
            continue
        on = float(a.online_year if a.online_year is not None else a.full_year)  # type: ignore[arg-type]
        full = max(float(a.full_year) if a.full_year is not None else on, on)
        share = [min(max((y - on + 1.0) / (full - on + 1.0), 0.0), 1.0) for y in (2025, 2026)]
        named += a.capacity_model * (pue if a.basis == "it" else 1.0) * (share[1] - share[0])
    slated = float(library.series("regions", "slated_dc_power", ["US"], np.array([2026]))[0][0, 0])
    assert got == pytest.approx(named / slated, rel=1e-9)
    # A calibration follows its data: new atlas rows for 2026 change it, and the row must follow.
    hint = f"set regions.US.pipeline_coverage to {got:.3f}"
    assert float(row[0][0, 0]) == pytest.approx(got, rel=0.05), hint


def test_named_tsmc_fabs_drive_the_leading_edge_then_the_trend_carries_on(
    central: Any, switched_off: Any
) -> None:
    library = load_library()
    base = int(library.base_year("fabs", "existing_capacity"))
    level = value("fabs", "leading_edge", "existing_capacity", base)
    growth = value("fabs", "leading_edge", "capacity_growth", base)
    coverage = value("fabs", "leading_edge", "pipeline_coverage")
    sites = [
        a
        for a in load_atlas().select(kind="fab")
        if a.operator == "TSMC" and a.status != "cancelled" and not math.isnan(a.capacity_model)
    ]
    assert sites

    def named(y: float) -> float:
        total = 0.0
        for a in sites:
            chance, delay = 1.0, 0.0
            if a.status != "operating":
                chance = value("datacentres", "ai_campus", f"completion_{a.status}")
                delay = value("datacentres", "ai_campus", f"delay_{a.status}")
            on = float(a.online_year) + delay  # type: ignore[arg-type]
            full = float(a.full_year) + delay if a.full_year is not None else on
            total += a.capacity_model * chance * min(max((y - on + 1) / (full - on + 1), 0.0), 1.0)
        return total

    end = max(
        math.ceil(
            a.online_year
            + (value("datacentres", "ai_campus", f"delay_{a.status}") if a.status != "operating" else 0)
            - 1e-9
        )  # type: ignore[operator]
        for a in sites
    )
    path = {base: level}
    for y in range(base + 1, 2032):
        path[y] = (
            path[y - 1] + (named(y) - named(y - 1)) / coverage if y <= end else path[y - 1] * (1 + growth)
        )
    # The Results' wafer capacity is the year's output: the average of its start and end levels.
    got = central["wafer_capacity"].isel(sample=0).sum("region")
    for y in range(int(central.year[0]), 2032):
        assert float(got.sel(year=y)) == pytest.approx((path[y] + path[y - 1]) / 2, rel=1e-9), y
    # Without the pipeline the trend alone: the named fabs add more than it in the window.
    off = switched_off["wafer_capacity"].isel(sample=0).sum("region")
    assert float(got.sel(year=end)) > float(off.sel(year=end))
