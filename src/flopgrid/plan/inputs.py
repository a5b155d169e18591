"""What the planner's LP needs, from a scenario, the library and the parameters, as one Dataset
in base units (docs/plan.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from flopgrid.errors import ScenarioError
from flopgrid.layout import REFERENCE_ACCELERATOR
from flopgrid.library import Library, load_library
from flopgrid.model import builds, cashflow, datacentres, power, supply
from flopgrid.parameters import ParameterSet
from flopgrid.plan.coefficients import on_arrays
from flopgrid.plan.model import CHIP_PARAMETERS, IDLE_PENALTY
from flopgrid.scenario import Planner, Scenario, load_scenario, resolve_overrides, shares_in

# ------------------------------------------------------------------------------------------- inputs


def _planner(scenario: Scenario) -> Planner:
    if scenario.planner is None:
        raise ScenarioError(
            "the scenario has no planner section; add one, e.g. planner: {target: {2030: '100e6 H100e'}}",
            file=scenario.source_file,
            path="planner",
        )
    if scenario.existing_industry:
        raise ScenarioError(
            "the planner plans a programme on its own; set existing_industry: false",
            file=scenario.source_file,
            path="existing_industry",
        )
    b = scenario.builds
    if b.fabs or b.packaging or b.hbm or b.datacentres or b.power or b.purchases:
        raise ScenarioError(
            "the planner chooses every build itself; remove the builds section (or simulate this plan "
            "with flopgrid run)",
            file=scenario.source_file,
            path="builds",
        )
    if scenario.chips.allocation is not None:
        raise ScenarioError(
            "the planner chooses where chips go; remove chips.allocation (use policy.exclude or "
            "planner.max_region_share to restrict it)",
            file=scenario.source_file,
            path="chips.allocation",
        )
    return scenario.planner


def _check_names(scenario: Scenario, planner: Planner, library: Library) -> tuple[list[str], list[str]]:
    """The regions and plant sources the planner may use, checked against the library."""
    known_regions, known_sources = library.ids("regions"), library.ids("power_sources")

    def check(values: list[str], known: list[str], path: str, kind: str) -> None:
        for i, value in enumerate(values):
            if value not in known:
                raise ScenarioError(
                    f"unknown {kind} {value!r}; known: {', '.join(known)}",
                    file=scenario.source_file,
                    path=f"{path}[{i}]",
                )

    regions = planner.regions or known_regions
    check(regions, known_regions, "planner.regions", "region")
    sources = planner.sources or [s for s in known_sources if s != "grid"]
    check(sources, known_sources, "planner.sources", "power source")
    if "grid" in sources:
        raise ScenarioError(
            "grid connections are always available to the planner; remove 'grid' from planner.sources",
            file=scenario.source_file,
            path="planner.sources",
        )
    for kind in ("fabs", "packaging", "hbm", "datacentres", "power"):
        limit = getattr(planner.build_limits, kind)
        if isinstance(limit, dict):
            check(list(limit), regions, f"planner.build_limits.{kind}", "region (of planner.regions)")
    for year in planner.target:
        if not scenario.horizon.start <= year <= scenario.horizon.end:
            raise ScenarioError(
                f"target year {year} is outside the horizon {scenario.horizon.start}–{scenario.horizon.end}",
                file=scenario.source_file,
                path=f"planner.target.{year}",
            )
    return regions, sources


def _schedules(years: np.ndarray, lead: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """Years online ``(year, start, …)`` (negative before completion) and the share of capex spent
    each year, both for a build started in ``start`` with lead time ``lead`` ``(start, …)``: the
    simulator's construction (``flopgrid.model.builds``) on the planner's axes."""
    y = xr.DataArray(years.astype(float), dims="year", coords={"year": years})
    s = xr.DataArray(years.astype(float), dims="start", coords={"start": years})
    online = on_arrays(builds.years_since, y, s, lead)
    spend = on_arrays(builds.spend_share, y, s, lead)
    return online.transpose("year", "start", ...), spend.transpose("year", "start", ...)


def with_discount_rate(data: xr.Dataset, rate: float) -> xr.Dataset:
    """``data`` with its discount factors (``discount``, by year) and ``discount_rate`` at ``rate``."""
    out = data.copy()
    out["discount"] = ("year", cashflow.discount(rate, data.sizes["year"]))
    out.attrs["discount_rate"] = float(rate)
    return out


def inputs(
    scenario: Scenario | str | Path | Mapping[str, Any] | None,
    library: Library | None = None,
) -> xr.Dataset:
    """Everything the LP needs, in base units, as one Dataset over ``year``, ``start`` (year a build
    starts), ``region``, ``accelerator`` and ``source``.

    Exposed so that the benchmark and tests can build larger or altered problems from the library's
    data (e.g. more regions) without going through a scenario file.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    planner = _planner(scenario)
    library = library or load_library()
    regions, sources = _check_names(scenario, planner, library)
    years = np.array(scenario.years)
    steps = scenario.chips.steps("mix", int(years[0]))
    candidates = (
        list(dict.fromkeys(n for shares in steps.values() for n in shares))
        if steps
        else library.ids("accelerators")
    )
    params = ParameterSet(
        library=library,
        years=years,
        regions=regions,
        items={"accelerators": candidates, "power_sources": sources},
        overrides=resolve_overrides(scenario, library),
    )
    missing = {n for parameter in CHIP_PARAMETERS for n in params.missing("accelerators", parameter)}
    if steps and missing:
        raise ScenarioError(
            f"the library lacks {', '.join(CHIP_PARAMETERS)} for {', '.join(sorted(missing))}; set them "
            "under parameters.accelerators",
            file=scenario.source_file,
            path="chips.mix",
        )
    p = params.get
    acc = [n for n in candidates if n not in missing]
    ia = [candidates.index(n) for n in acc]
    c_y, c_yr = ("year",), ("year", "region")
    coords = {"year": years, "start": years, "region": regions, "accelerator": acc, "source": sources}

    def da(arr: np.ndarray, dims: tuple[str, ...], item: list[int] | None = None) -> xr.DataArray:
        """A parameter ``(1, year, region|1, item|1)`` as a DataArray over ``dims``."""
        values = arr[0]
        if item is not None:
            values = values[..., item]
        full = {"year": len(years), "region": len(regions), "item": values.shape[-1]}
        values = np.broadcast_to(values, (full["year"], full["region"], full["item"]))
        out = xr.DataArray(values, dims=("year", "region", "item"), coords={"year": years, "region": regions})
        if dims[-1] not in ("accelerator", "source"):
            out = out.isel(item=0, drop=True)
        else:
            out = out.rename(item=dims[-1]).assign_coords({dims[-1]: coords[dims[-1]]})
        if "region" not in dims:
            out = out.isel(region=0, drop=True)
        return out.transpose(*dims)

    diameter = p("fabs", "wafer_diameter")[:, :, 0, :]
    good = supply.good_dies_per_wafer(
        p("accelerators", "logic_die_area")[:, :, 0, :], p("fabs", "defect_density")[:, :, 0, :], diameter
    )
    per_wafer = supply.gross_dies_per_wafer(p("accelerators", "interposer_area")[:, :, 0, :], diameter)
    reference = library.series("accelerators", "flops_bf16", [REFERENCE_ACCELERATOR], years[:1])[0][0, 0]
    y_acc = ("year", "accelerator")
    wafers = da((p("accelerators", "dies_per_package")[:, :, 0, :] / good)[:, :, None, :], y_acc, ia)
    flops = da(p("accelerators", "flops_bf16"), y_acc, ia)

    # Which types each region may buy each year: in volume by then (or in the mix), not excluded.
    first = library.series("accelerators", "first_volume_year", acc, years[:1])[0][:, 0]
    if steps:
        mix = np.zeros((len(years), len(acc)))
        for t, year in enumerate(years):
            for name, share in shares_in(steps, int(year)).items():
                mix[t, acc.index(name)] = share
        allowed_ya = mix > 0
    else:
        mix = np.full((len(years), len(acc)), np.nan)
        allowed_ya = np.nan_to_num(first, nan=np.inf)[None, :] <= years[:, None]
    allowed = np.repeat(allowed_ya[:, None, :], len(regions), axis=1)
    for rule in scenario.policy.exclude:
        if rule.region in regions:
            r = regions.index(rule.region)
            if rule.accelerator == "*":
                allowed[:, r, :] = False
            elif rule.accelerator in acc:
                allowed[:, r, acc.index(rule.accelerator)] = False

    ds = xr.Dataset(coords=coords)
    ds["chip_wafers"] = wafers
    ds["chip_interposers"] = da(1.0 / per_wafer[:, :, None, :], y_acc, ia)
    ds["chip_hbm"] = da(p("accelerators", "hbm_capacity"), y_acc, ia)
    ds["chip_power"] = da(p("accelerators", "it_power"), y_acc, ia)
    ds["chip_flops"] = flops
    ds["chip_h100e"] = flops / reference
    # Every planned chip is made by the plan's own fabs, packaging and HBM lines, whose capital is the
    # plan's capex: a chip costs the operating share of its inputs, not the vendor's price (§6).
    own_cost = supply.own_chip_cost(
        supply.per_type(
            good,
            p("accelerators", "dies_per_package")[:, :, 0, :],
            per_wafer,
            p("accelerators", "hbm_capacity")[:, :, 0, :],
        ),
        p("fabs", "wafer_cost")[:, :, 0, :],
        p("packaging", "interposer_cost")[:, :, 0, :],
        p("hbm", "price")[:, :, 0, :],
        p("fabs", "operating_share")[:, :, 0, :],
        p("fabs", "own_chip_overhead")[:, :, 0, :],
    )
    ds["chip_price"] = da(own_cost[:, :, None, :], ("year", "region", "accelerator"), ia)
    ds["allowed"] = (("year", "region", "accelerator"), allowed)
    ds["mix"] = (y_acc, mix)

    ccf = da(p("regions", "construction_cost_factor"), c_yr)
    to_start = {"year": "start"}
    for name, table in (("fab", "fabs"), ("packaging", "packaging"), ("hbm", "hbm"), ("dc", "datacentres")):
        lead = da(p(table, "lead_time"), c_yr).rename(to_start)
        online, spend = _schedules(years, lead)
        ds[f"{name}_online"] = online
        ds[f"{name}_spend"] = spend
        ds[f"{name}_capex"] = (da(p(table, "capex"), c_yr) * ccf).rename(to_start)
    ramps = [da(p("fabs", f"ramp_year{k}"), c_y).rename(to_start) for k in (1, 2, 3)]
    ds["fab_ramp"] = on_arrays(supply.ramp, ds["fab_online"], *ramps).transpose("year", "start", ...)
    for name in ("packaging", "hbm", "dc"):
        ds[f"{name}_ramp"] = on_arrays(builds.in_service, ds[f"{name}_online"])
    y_r_k = ("year", "region", "source")
    plant_lead = da(p("power_sources", "lead_time"), y_r_k).rename(to_start)
    plant_online, plant_spend = _schedules(years, plant_lead)
    ds["plant_ramp"] = on_arrays(builds.in_service, plant_online)
    ds["plant_spend"] = plant_spend
    ds["plant_capex"] = (da(p("power_sources", "capex"), y_r_k) * ccf).rename(to_start)
    all_sources = library.ids("power_sources")
    grid = ParameterSet(library, years, regions, {"power_sources": ["grid"]}, params.overrides)
    ds["grid_capex"] = da(grid.get("power_sources", "capex"), c_yr) * ccf
    ds["max_grid"] = da(p("regions", "max_new_power"), c_yr)
    ds["firm_credit"] = da(p("power_sources", "firm_capacity_credit"), y_r_k)
    ds["capacity_factor"] = da(p("power_sources", "capacity_factor"), y_r_k)
    fuel = power.generation_cost(p("power_sources", "fuel_cost"), p("power_sources", "variable_om"))
    ds["generation_cost"] = da(fuel, y_r_k)
    ds["fixed_om"] = da(p("power_sources", "fixed_om"), y_r_k)
    plants, grids = power.CARBON_PARAMETERS[scenario.emissions.basis]
    ds["carbon"] = da(np.nan_to_num(p("power_sources", plants)), y_r_k)
    ds["generation_water"] = da(p("power_sources", "water"), y_r_k)
    ds["grid_carbon"] = da(p("regions", grids), c_yr)
    ds.attrs["emissions_basis"] = scenario.emissions.basis
    ds["grid_water"] = da(grid.get("power_sources", "water"), c_yr)
    ds["electricity_price"] = da(p("regions", "electricity_price"), c_yr)
    for name, parameter in (
        ("pue", "pue"),
        ("utilisation", "utilisation"),
        ("dc_opex", "opex"),
        ("wue", "wue"),
        ("network_share", "network_capex_share"),
    ):
        ds[name] = da(p("datacentres", parameter), c_yr)
    ds["mfu"] = da(p("datacentres", "mfu"), c_y)
    life = int(datacentres.whole_life(p("datacentres", "accelerator_lifetime")[0, 0, 0, 0]))
    # The cost of capital is the first year's, as in the simulator.
    ds["cost_of_capital"] = ("region", p("regions", "cost_of_capital")[0, 0, :, 0] + np.zeros(len(regions)))
    given = scenario.finance.discount_rate
    # Without a stated rate, the plan's own capex weights the regions' cost of capital (plan() solves
    # until the two agree); before any plan there is no capex, so the first guess is the plain mean.
    rate = float(cashflow.default_discount_rate(ds["cost_of_capital"].values, np.zeros(len(regions))))
    rate = rate if given is None else given
    ds["discount"] = ("year", cashflow.discount(rate, len(years)))

    ds["target"] = ("year", _targets(planner, years, reference))
    limits = {
        "fabs": "fab_limit",
        "packaging": "packaging_limit",
        "hbm": "hbm_limit",
        "datacentres": "dc_limit",
        "power": "plant_limit",
    }
    for kind, name in limits.items():
        ds[name] = (("start", "region"), _regional(getattr(planner.build_limits, kind), years, regions))
    ds["capital_budget"] = ("year", _yearly(planner.capital_budget, years))
    ds.attrs.update(
        {
            "scenario": scenario.name,
            "scenario_hash": scenario.content_hash(),
            "scenario_file": scenario.source_file or "",
            "objective": planner.objective,
            "planner_mode": planner.mode,
            "planner_window": planner.window,
            "budget": np.inf if planner.budget is None else planner.budget,
            "max_region_share": 1.0 if planner.max_region_share is None else planner.max_region_share,
            "shortfall_penalty": planner.shortfall_penalty,
            "idle_penalty": 0.0 if planner.allow_idle_fabs else IDLE_PENALTY,
            "lifetime": life,
            "discount_rate": rate,
            "discount_rate_given": int(given is not None),
            "reference_flops": reference,
            "all_sources": " ".join(all_sources),
        }
    )
    return ds


def _targets(planner: Planner, years: np.ndarray, reference: float) -> np.ndarray:
    """Target H100e by year (NaN where none): each target holds from its year until the next."""
    out = np.full(len(years), np.nan)
    for year in sorted(planner.target):
        level, unit = planner.target[year]
        out[years >= year] = level / reference if unit == "FLOP/s" else level
    return out


def _regional(limit: float | dict[str, float] | None, years: np.ndarray, regions: list[str]) -> np.ndarray:
    out = np.full((len(years), len(regions)), np.inf)
    if isinstance(limit, dict):
        for name, value in limit.items():
            out[:, regions.index(name)] = value
    elif limit is not None:
        out[:] = limit
    return out


def _yearly(budget: float | dict[int, float] | None, years: np.ndarray) -> np.ndarray:
    out = np.full(len(years), np.inf)
    if isinstance(budget, dict):
        for year, value in budget.items():
            out[years == year] = value
    elif budget is not None:
        out[:] = budget
    return out
