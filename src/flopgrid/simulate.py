"""The simulator: a scenario's plan → outcomes, year by year, vectorised over Monte Carlo samples.

The model is documented equation by equation in ``docs/model.md``; the stages' arithmetic lives in
``flopgrid.model``. This module resolves parameters, runs the stages in order on blocks of samples
(one thread per core), and wraps the arrays in an ``xarray.Dataset`` whose variables are declared in
``VARIABLES`` with their dimensions, ``units`` and ``long_name``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from flopgrid import __version__
from flopgrid.errors import ScenarioError
from flopgrid.layout import (
    REFERENCE_ACCELERATOR,
    Axes,
    allocation,
    axes_for,
    build_arrays,
    mix_by_year,
    purchases,
)
from flopgrid.library import load_library
from flopgrid.model import builds as bld
from flopgrid.model import cashflow, datacentres, dot_last, finance, power, supply
from flopgrid.model.builds import BuildArrays
from flopgrid.model.finance import ASSETS
from flopgrid.parameters import SINGLE, ParameterSet, design_for, resolve_overrides
from flopgrid.scenario import Scenario, load_scenario
from flopgrid.uncertainty import Design

BOTTLENECKS = ("wafers", "packaging", "hbm", "datacentres", "power", "none")
#: Where the existing industry's supply-chain capacity sits, for attributing its capex: TSMC's
#: leading-edge and CoWoS capacity is in Taiwan; HBM is made by SK hynix and Samsung in South Korea
#: (research facts §2.1–2.2, recorded in the library's fabs, packaging and hbm sources).
EXISTING_SUPPLY_REGION = {"fab": "TW", "packaging": "TW", "hbm": "KR"}
#: Samples per block: small enough that a block's temporaries are reused heap memory, not fresh pages.
CHUNK = 2_000
#: Fewest samples worth a block of their own.
MIN_BLOCK = 250
#: Threads that run blocks of samples at once.
WORKERS = max(1, min(4, os.cpu_count() or 1))

_Y, _YR, _YRA = ("year",), ("year", "region"), ("year", "region", "accelerator")
#: Kinds of financing (the ``financing`` dimension of ``financing_in``).
FINANCING = ("equity", "debt", "vendor", "grant")
SECONDS_PER_YEAR = power.HOURS_PER_YEAR * 3600.0
#: Every Results variable: dimensions after ``sample``, units and long name.
VARIABLES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "wafers_ai": (_Y, "wafer", "leading-edge wafers available to AI accelerators"),
    "wafer_capacity": (_YR, "wafer", "leading-edge wafer starts (capacity)"),
    "packaging_capacity": (_Y, "wafer", "advanced-packaging interposer wafers"),
    "hbm_supply": (_Y, "GB", "HBM output"),
    "production_cap": (("year", "cap"), "chip", "accelerators each input alone would allow"),
    "production_bottleneck": (_Y, "1", "binding cap on accelerator production"),
    "accelerators_produced": (("year", "accelerator"), "chip", "accelerators produced"),
    "accelerators_shipped": (_YRA, "chip", "accelerators delivered to the region"),
    "accelerators_installed": (_YRA, "chip", "accelerators in service at year end"),
    "accelerators_added": (_YRA, "chip", "accelerators installed during the year"),
    "accelerators_retired": (_YRA, "chip", "accelerators retired during the year"),
    "accelerators_waiting": (_YRA, "chip", "accelerators delivered but not installed (no energised room)"),
    "h100e": (_YR, "H100e", "installed compute in H100-equivalents (dense BF16)"),
    "flops_peak": (_YR, "FLOP/s", "installed peak dense BF16 compute"),
    "flops_effective": (_YR, "FLOP/s", "installed compute at model FLOP utilisation"),
    "largest_run": (_Y, "FLOP", "largest training run on one campus"),
    "largest_run_distributed": (_Y, "FLOP", "largest run with a share of the whole fleet"),
    "dc_capacity": (_YR, "W", "data-centre IT capacity built"),
    "dc_energised": (_YR, "W", "data-centre IT capacity energised"),
    "grid_connection": (_YR, "W", "grid connection for data centres"),
    "firm_power": (_YR, "W", "firm power available to data centres"),
    "plant_capacity": ((*_YR, "source"), "W", "nameplate capacity of the scenario's own plants"),
    "it_power": (_YR, "W", "all-in IT rating of the installed fleet"),
    "facility_power": (_YR, "W", "average facility power draw"),
    "energy": (_YR, "Wh", "facility electricity use"),
    "it_energy": (_YR, "Wh", "IT electricity use"),
    "generation": ((*_YR, "source"), "Wh", "electricity supplied to data centres by source"),
    "emissions": (_YR, "kg", "greenhouse-gas emissions (CO2e)"),
    "water": (_YR, "m^3", "water consumed on site and in generation"),
    "capex": ((*_YR, "asset"), "USD", "capital expenditure"),
    "opex": ((*_YR, "asset"), "USD", "operating expenditure"),
    "depreciation": (("year", "asset"), "USD", "straight-line depreciation of capex over the asset's life"),
    "compute_hours": (_YR, "H100e*hour", "H100e-hours delivered (average fleet × hours × utilisation)"),
    "revenue": (_YR, "USD", "revenue from the compute delivered"),
    "financing_in": (("year", "financing"), "USD", "financing drawn from the scenario's tranches"),
    "debt_interest": (_Y, "USD", "interest paid on debt and vendor financing"),
    "debt_service": (_Y, "USD", "interest and principal paid on debt and vendor financing"),
    "dscr": (_Y, "1", "debt service coverage: (revenue − opex) / debt service"),
    "net_cash_flow": (_Y, "USD", "project cash flow: revenue − capex − opex"),
    "funding_gap": (_Y, "USD", "uses not covered by sources and cash carried"),
    "cash": (_Y, "USD", "cash carried at the end of the year"),
    "discount_rate": ((), "1/year", "real discount rate (cost of capital)"),
    "financing_cost": ((), "1/year", "weighted cost of the tranches (equity at the discount rate)"),
    "npv": ((), "USD", "net present value of the project cash flow at the discount rate"),
    "irr": ((), "1/year", "internal rate of return of the project cash flow"),
    "payback_year": ((), "calendar year", "first year from which cumulative cash flow stays ≥ 0"),
    "peak_cash_need": ((), "USD", "deepest cumulative project cash flow below zero"),
    "lcoc_per_h100e_hour": ((), "USD/hour", "levelised cost per H100e-hour delivered"),
    "lcoc_per_1e21_flop": ((), "USD", "levelised cost per 1e21 FLOP delivered (peak dense BF16)"),
    "lcoc_breakdown": (("asset",), "USD/hour", "levelised cost per H100e-hour by asset class"),
    "bottleneck": (_Y, "1", "binding constraint of the year"),
}
FLAGS = {
    "bottleneck": BOTTLENECKS,
    "production_bottleneck": supply.CAPS,
}


@dataclass(frozen=True)
class Construction:
    """Builds of one kind with their sampled lead times and when each is online."""

    items: list[Any]
    builds: BuildArrays
    lead: np.ndarray  # (sample|1, B) years
    online: np.ndarray  # (sample|1, year, B) years since completion; < 0 before

    def capacity(self) -> np.ndarray:
        """Nameplate online, ``(sample|1, year, B)``."""
        out: np.ndarray = (self.online >= 0) * self.builds.size
        return out

    def quoted(self) -> np.ndarray:
        """Quoted all-in capex per build (count × capex), NaN where none was quoted."""
        return np.array([np.nan if x.capex is None else x.capex * x.count for x in self.items])


def _construct(
    items: list[Any],
    table: str,
    params: ParameterSet,
    axes: Axes,
    size: Callable[[Any], float],
    item: Callable[[Any], int] | None = None,
) -> Construction:
    builds = build_arrays(items, axes, size, item)
    lead = bld.at_start(params.get(table, "lead_time"), axes.years, builds)
    return Construction(items, builds, lead, bld.years_online(axes.years, builds, lead))


@dataclass(frozen=True)
class Supply:
    mix: np.ndarray  # (1, year, accelerator)
    wafers_ai: np.ndarray  # (sample|1, year)
    wafer_capacity: np.ndarray  # (sample|1, year, region)
    packaging: np.ndarray  # (sample|1, year)
    hbm: np.ndarray  # (sample|1, year)
    produced: np.ndarray  # (sample, year, accelerator)
    caps: np.ndarray  # (sample, year, cap)
    bottleneck: np.ndarray  # (sample, year)
    existing_added: dict[str, np.ndarray]  # asset → capacity the existing industry added, (sample, year)
    fabs: Construction
    packaging_lines: Construction
    hbm_lines: Construction


def _supply(scenario: Scenario, params: ParameterSet, axes: Axes) -> Supply:
    """Fabs, packaging and HBM → accelerators produced (docs/model.md §2)."""
    p, lib, b = params.get, params.library, scenario.builds
    years, n_y, n_r = axes.years.astype(float), len(axes.years), len(axes.regions)
    fabs = _construct(b.fabs, "fabs", params, axes, lambda x: x.count * x.capacity)
    packaging_lines = _construct(b.packaging, "packaging", params, axes, lambda x: x.count * x.capacity)
    hbm_lines = _construct(b.hbm, "hbm", params, axes, lambda x: x.count * x.capacity)

    ramps = (bld.at_start(p("fabs", f"ramp_year{k}"), axes.years, fabs.builds)[:, None, :] for k in (1, 2, 3))
    fab_output = supply.ramp(fabs.online, *ramps) * fabs.builds.size  # (S, Y, B) wafers a year
    ai_share = np.array([x.ai_share for x in b.fabs])
    wafers_ai = dot_last(fab_output, ai_share) if b.fabs else np.zeros((1, n_y))
    wafer_capacity = bld.to_regions(fab_output, fabs.builds, n_r) if b.fabs else np.zeros((1, n_y, n_r))
    packaging = dot_last(packaging_lines.capacity()) if b.packaging else np.zeros((1, n_y))
    hbm = dot_last(hbm_lines.capacity()) if b.hbm else np.zeros((1, n_y))

    mix = mix_by_year(scenario, lib, axes)[None]
    diameter = p("fabs", "wafer_diameter")[:, :, 0, :]
    good_dies = supply.good_dies_per_wafer(
        p("accelerators", "logic_die_area")[:, :, 0, :], p("fabs", "defect_density")[:, :, 0, :], diameter
    )
    per_wafer = supply.gross_dies_per_wafer(p("accelerators", "interposer_area")[:, :, 0, :], diameter)
    needs = supply.per_chip(
        mix,
        good_dies,
        p("accelerators", "dies_per_package")[:, :, 0, :],
        per_wafer,
        p("accelerators", "hbm_capacity")[:, :, 0, :],
    )

    # The existing industry: leading-edge wafers grow on trend and a share goes to AI; its packaging
    # and HBM grow as the AI wafers need them, at most at their trend rates.
    existing_added: dict[str, np.ndarray] = {}
    if scenario.existing_industry:
        base = lib.base_year("fabs", "existing_capacity")
        level, growth = p("fabs", "existing_capacity")[..., 0, 0], p("fabs", "capacity_growth")[..., 0, 0]
        share = p("fabs", "ai_share")[..., 0, 0]
        fab_now = supply.trend(level, growth, years, base)
        existing_added["fab"] = (
            np.maximum(fab_now - supply.trend(level, growth, years - 1, base), 0.0) * share
        )
        wafers_ai = wafers_ai + fab_now * share
        tw = axes.regions.index(EXISTING_SUPPLY_REGION["fab"])
        wafer_capacity = wafer_capacity + np.eye(n_r)[tw] * fab_now[..., None]
        chips_from_wafers = wafers_ai / needs[0]
        for asset, level_name, growth_name, per_chip in (
            ("packaging", "existing_capacity", "capacity_growth", needs[1]),
            ("hbm", "existing_supply", "supply_growth", needs[2]),
        ):
            own = packaging if asset == "packaging" else hbm
            known = p(asset, level_name)[..., 0, 0]
            last = lib.base_year(asset, level_name)
            need = np.maximum(chips_from_wafers * per_chip - own, 0.0)
            cap = supply.follow_demand(known, p(asset, growth_name)[..., 0, 0], need, years, last)
            # The year before the horizon: the data's own step into the first year, at this sample's level.
            step = lib.series(asset, level_name, [SINGLE[asset]], np.array([years[0] - 1, years[0]]))[0][0]
            before = known[:, :1] * (step[0] / step[1] if step[1] > 0 else 1.0)
            existing_added[asset] = finance.added(cap, before)
            if asset == "packaging":
                packaging = packaging + cap
            else:
                hbm = hbm + cap

    produced, caps, bottleneck = supply.production(wafers_ai, packaging, hbm, mix, needs)
    return Supply(
        mix,
        wafers_ai,
        wafer_capacity,
        packaging,
        hbm,
        produced,
        caps,
        bottleneck,
        existing_added,
        fabs,
        packaging_lines,
        hbm_lines,
    )


@dataclass(frozen=True)
class Deployment:
    campuses: Construction
    plants: Construction
    plant_capacity: np.ndarray  # (sample|1, year, region, source)
    own_firm: np.ndarray  # (sample|1, year, region)
    arrivals: np.ndarray  # (sample, year, region, accelerator)
    initial: np.ndarray  # (sample|1, region, accelerator)
    existing_dc: np.ndarray | None  # (sample|1, region): the industry's IT capacity before the horizon
    fleet: datacentres.Deployment


def _deployment(scenario: Scenario, params: ParameterSet, axes: Axes, produced: np.ndarray) -> Deployment:
    """Shipment, data centres, firm power and the fleet (docs/model.md §3–4)."""
    p, b = params.get, scenario.builds
    n_y, n_r, n_k = len(axes.years), len(axes.regions), len(axes.sources)
    campuses = _construct(b.datacentres, "datacentres", params, axes, lambda x: x.count * x.it_power)
    planned = (
        bld.to_regions(campuses.capacity(), campuses.builds, n_r)
        if b.datacentres
        else np.zeros((1, n_y, n_r))
    )
    plants = _construct(
        b.power,
        "power_sources",
        params,
        axes,
        lambda x: x.count * x.capacity,
        lambda x: axes.sources.index(x.source),
    )
    plant_capacity = (
        bld.to_regions_items(plants.capacity(), plants.builds, n_r, n_k)
        if b.power
        else np.zeros((1, n_y, n_r, n_k))
    )
    own_firm = dot_last(plant_capacity, p("power_sources", "firm_capacity_credit"))

    shares = allocation(scenario, params.library, axes, campuses.builds)[None]
    arrivals = produced[:, :, None, :] * shares + purchases(scenario, axes)[None]
    fleet0 = p("regions", "existing_ai_fleet")[:, 0, :, 0]  # (S|1, R)
    initial = np.zeros((fleet0.shape[0], n_r, len(axes.accelerators)))
    if scenario.existing_industry and REFERENCE_ACCELERATOR in axes.accelerators:
        initial[..., axes.accelerators.index(REFERENCE_ACCELERATOR)] = fleet0
    existing_dc = None
    if scenario.existing_industry:
        # The fleet in service before the horizon sits in capacity that exists: at least what it draws,
        # whatever the two (independently drawn) data say.
        drawn = dot_last(initial, p("accelerators", "it_power")[:, 0])
        existing_dc = np.maximum(p("regions", "existing_ai_dc_capacity")[:, 0, :, 0], drawn)
    fleet = datacentres.deploy(
        arrivals,
        planned,
        own_firm,
        p("datacentres", "pue")[..., 0],
        p("regions", "max_new_power")[..., 0],
        p("accelerators", "it_power"),
        p("datacentres", "accelerator_lifetime")[:, 0, 0, 0],
        initial,
        existing_dc,
        refresh=scenario.chips.refresh,
    )
    return Deployment(campuses, plants, plant_capacity, own_firm, arrivals, initial, existing_dc, fleet)


@dataclass(frozen=True)
class Energy:
    it_rating: np.ndarray  # (sample, year, region) W
    it_energy: np.ndarray  # (sample, year, region) Wh
    energy: np.ndarray  # facility, Wh
    own: np.ndarray  # (sample, year, region, source) Wh generated by own plants and used
    grid: np.ndarray  # (sample, year, region) Wh bought
    generation: np.ndarray  # own and grid by source, Wh
    emissions: np.ndarray
    water: np.ndarray


def _energy(params: ParameterSet, axes: Axes, d: Deployment) -> Energy:
    """Energy, own generation and the grid, emissions, water (docs/model.md §5)."""
    p, fleet = params.get, d.fleet
    it_power = p("accelerators", "it_power")
    average_fleet = datacentres.year_average(fleet.installed, d.initial[:, None])
    it_energy = power.it_energy(dot_last(average_fleet, it_power), p("datacentres", "utilisation")[..., 0])
    energy = power.facility_energy(it_energy, p("datacentres", "pue")[..., 0])
    k_grid = axes.sources.index("grid")
    available = power.available_energy(d.plant_capacity, p("power_sources", "capacity_factor"))
    available[..., k_grid] = 0.0  # grid "builds" are connections: their energy is bought
    own, grid = power.dispatch(energy, available)
    generation = own.copy()
    generation[..., k_grid] = grid
    carbon = np.nan_to_num(p("power_sources", "carbon_intensity"))
    emissions = dot_last(own, carbon) + grid * p("regions", "grid_carbon_intensity")[..., 0]
    water = it_energy * p("datacentres", "wue")[..., 0] + dot_last(generation, p("power_sources", "water"))
    return Energy(
        dot_last(fleet.installed, it_power), it_energy, energy, own, grid, generation, emissions, water
    )


def _money(
    scenario: Scenario, params: ParameterSet, axes: Axes, s: Supply, d: Deployment, e: Energy
) -> tuple[np.ndarray, np.ndarray]:
    """Capex and opex by year, region and asset class (docs/model.md §6)."""
    p, fleet = params.get, d.fleet
    n_r, k_grid = len(axes.regions), axes.sources.index("grid")
    ccf = p("regions", "construction_cost_factor")[..., 0]  # (S|1, Y, R)
    n_s = max(s.produced.shape[0], fleet.installed.shape[0])
    capex = np.zeros((n_s, len(axes.years), n_r, len(ASSETS)))
    for asset, table, built in (
        ("fab", "fabs", s.fabs),
        ("packaging", "packaging", s.packaging_lines),
        ("hbm", "hbm", s.hbm_lines),
        ("datacentre", "datacentres", d.campuses),
        ("power", "power_sources", d.plants),
    ):
        if built.items:
            capex[..., ASSETS.index(asset)] += finance.build_capex(
                built.builds, p(table, "capex"), ccf, built.quoted(), axes.years, built.lead, n_r
            )
    for asset, added in s.existing_added.items():
        r = axes.regions.index(EXISTING_SUPPLY_REGION[asset])
        unit = p({"fab": "fabs", "packaging": "packaging", "hbm": "hbm"}[asset], "capex")
        capex[..., r, ASSETS.index(asset)] += added * unit[:, :, min(r, unit.shape[2] - 1), 0] * ccf[..., r]
    before = np.zeros((1, n_r)) if d.existing_dc is None else d.existing_dc
    pue = p("datacentres", "pue")[..., 0]
    capex[..., ASSETS.index("datacentre")] += (
        finance.added(fleet.dc_existing, before[:, None]) * p("datacentres", "capex")[..., 0] * ccf
    )
    capex[..., ASSETS.index("power")] += (
        finance.added(fleet.grid, (before * pue[:, 0])[:, None])
        * p("power_sources", "capex")[..., k_grid]
        * ccf
    )
    bought = d.arrivals + fleet.retired if scenario.chips.refresh else d.arrivals
    capex[..., ASSETS.index("accelerator")] += dot_last(bought, p("accelerators", "price"))
    capex[..., ASSETS.index("network")] = finance.network_capex(
        capex[..., ASSETS.index("accelerator")], p("datacentres", "network_capex_share")[..., 0]
    )

    opex = np.zeros_like(capex)
    fuel = power.generation_cost(p("power_sources", "fuel_cost"), p("power_sources", "variable_om"))
    fuel[..., k_grid] = 0.0
    opex[..., ASSETS.index("power")] = (
        e.grid * p("regions", "electricity_price")[..., 0]
        + dot_last(e.own, fuel)
        + dot_last(d.plant_capacity, p("power_sources", "fixed_om"))
    )
    opex[..., ASSETS.index("datacentre")] = fleet.dc_capacity * p("datacentres", "opex")[..., 0]
    return capex, opex


def _operations(
    scenario: Scenario, params: ParameterSet, axes: Axes, s: Supply, d: Deployment, e: Energy
) -> dict[str, np.ndarray]:
    """Compute in service and the largest training runs (docs/model.md §7)."""
    p, fleet = params.get, d.fleet
    flops = p("accelerators", "flops_bf16")  # (S|1, Y, 1, A)
    reference = params.library.series("accelerators", "flops_bf16", [REFERENCE_ACCELERATOR], axes.years[:1])[
        0
    ][0, 0]
    flops_peak = dot_last(fleet.installed, flops)
    mfu = p("datacentres", "mfu")[:, :, 0, 0]
    duration = p("datacentres", "training_duration")[:, :, 0, 0]
    flops_per_watt = flops[:, :, 0, :] / p("accelerators", "it_power")[:, :, 0, :]  # (S|1, Y, A)
    best = np.max(np.where(s.mix > 0, flops_per_watt, 0.0), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        filled = np.where(fleet.energised > 0, np.minimum(e.it_rating / fleet.energised, 1.0), 0.0)
        usable = np.where(fleet.dc_capacity > 0, fleet.energised / fleet.dc_capacity, 0.0) * filled
    campus_flops = np.zeros_like(best)
    if d.campuses.items:
        per_campus = np.array([x.it_power for x in d.campuses.items])
        kind = np.array(
            [axes.accelerators.index(x.accelerator) if x.accelerator else -1 for x in d.campuses.items]
        )
        campus_fpw = np.where(kind >= 0, flops_per_watt[..., np.maximum(kind, 0)], best[..., None])
        campus = (d.campuses.online >= 0) * per_campus * usable[:, :, d.campuses.builds.region] * campus_fpw
        campus_flops = np.max(campus, axis=-1)
    if scenario.existing_industry:
        campus_flops = np.maximum(campus_flops, p("datacentres", "largest_campus")[:, :, 0, 0] * best)
    share = p("datacentres", "largest_run_share")[:, :, 0, 0]
    return {
        "h100e": flops_peak / reference,
        "flops_peak": flops_peak,
        "flops_effective": flops_peak * mfu[..., None],
        "largest_run": campus_flops * mfu * duration,
        "largest_run_distributed": dot_last(flops_peak) * share * mfu * duration,
    }


def _lives(params: ParameterSet, axes: Axes, d: Deployment) -> dict[str, np.ndarray]:
    """Economic life of each asset class, years, ``(sample|1,)``. Power's is the nameplate-weighted
    life of the scenario's plants and grid connections at the horizon's end."""
    p = params.get
    k_grid = axes.sources.index("grid")
    weights = np.broadcast_to(d.plant_capacity[:, -1], (d.fleet.grid.shape[0], *d.plant_capacity.shape[2:]))
    weights = weights.copy()
    weights[..., k_grid] += d.fleet.grid[:, -1]
    life = p("power_sources", "lifetime")[:, 0]  # (S|1, R|1, K)
    total = weights.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        power_life = np.where(total > 0, (weights * life).sum(axis=(1, 2)) / total, life[:, 0, k_grid])
    accelerator = p("datacentres", "accelerator_lifetime")[:, 0, 0, 0]
    return {
        "fab": p("fabs", "lifetime")[:, 0, 0, 0],
        "packaging": p("packaging", "lifetime")[:, 0, 0, 0],
        "hbm": p("hbm", "lifetime")[:, 0, 0, 0],
        "datacentre": p("datacentres", "shell_lifetime")[:, 0, 0, 0],
        "power": power_life,
        "accelerator": accelerator,
        "network": accelerator,
    }


def _finance(
    scenario: Scenario,
    params: ParameterSet,
    axes: Axes,
    d: Deployment,
    capex: np.ndarray,
    opex: np.ndarray,
    flops_peak: np.ndarray,
) -> dict[str, np.ndarray]:
    """Revenue, financing, cash flows, returns and the levelised cost of compute (docs/model.md §10)."""
    p, f = params.get, scenario.finance
    years = axes.years
    n_y = len(years)
    flops = p("accelerators", "flops_bf16")
    reference = params.library.series("accelerators", "flops_bf16", [REFERENCE_ACCELERATOR], years[:1])[0][
        0, 0
    ]
    start = dot_last(d.initial, flops[:, 0])  # (S|1, R)
    average_peak = datacentres.year_average(flops_peak, start[:, None])
    revenue_spec = f.revenue
    use = (
        np.full((1, 1, 1), revenue_spec.utilisation)
        if revenue_spec.utilisation is not None
        else p("datacentres", "utilisation")[..., 0]
    )
    flop_delivered = average_peak * use * SECONDS_PER_YEAR  # (S, Y, R)
    compute_hours = average_peak / reference * use * power.HOURS_PER_YEAR
    decline = (
        np.full(1, revenue_spec.decline)
        if revenue_spec.decline is not None
        else p("datacentres", "rental_price_decline")[:, 0, 0, 0]
    )
    trend = (1.0 - decline[:, None]) ** (years - years[0])[None, :]  # (S|1, Y)
    if revenue_spec.kind == "rental":
        price = (
            np.full(1, revenue_spec.price)
            if revenue_spec.price is not None
            else p("datacentres", "rental_price")[:, 0, 0, 0]
        )
        revenue = compute_hours * (price[:, None] * trend)[..., None]
    elif revenue_spec.kind == "tokens":
        per_flop = (revenue_spec.tokens_per_flop or 0.0) * (revenue_spec.token_price or 0.0) / 1e6
        revenue = flop_delivered * (per_flop * trend)[..., None]
    else:
        revenue = np.zeros_like(compute_hours)

    n_s = max(capex.shape[0], revenue.shape[0])
    spent = capex.sum(axis=2)  # (S, Y, asset)
    running = opex.sum(axis=2)
    capex_total, opex_total = spent.sum(axis=-1), running.sum(axis=-1)
    revenue_total = np.broadcast_to(revenue.sum(axis=2), (n_s, n_y))
    if f.discount_rate is not None:
        rate = np.full(n_s, f.discount_rate)
    else:
        rate = cashflow.default_discount_rate(
            p("regions", "cost_of_capital")[:, 0, :, 0], capex.sum(axis=(1, 3))
        )

    by_asset = _lives(params, axes, d)
    lives = np.stack(np.broadcast_arrays(*(by_asset[asset] for asset in ASSETS)), axis=-1)  # (S|1, asset)
    depreciation = cashflow.amortise(spent, lives)
    charges = cashflow.amortise(spent, lives, rate)
    discounted_hours = cashflow.npv(rate, np.broadcast_to(compute_hours.sum(axis=2), (n_s, n_y)))
    discounted_flop = cashflow.npv(rate, np.broadcast_to(flop_delivered.sum(axis=2), (n_s, n_y)))
    costs = np.stack([cashflow.npv(rate, charges[..., k] + running[..., k]) for k in range(len(ASSETS))], -1)
    # Extreme inputs can leave a vanishing amount of compute: its cost per unit is then undefined (NaN),
    # not an overflow.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        breakdown = np.where(discounted_hours[:, None] > 0, costs / discounted_hours[:, None], np.nan)
        per_flop_cost = np.where(discounted_flop > 0, costs.sum(axis=1) / discounted_flop * 1e21, np.nan)
    breakdown = np.where(np.isfinite(breakdown), breakdown, np.nan)
    per_flop_cost = np.where(np.isfinite(per_flop_cost), per_flop_cost, np.nan)

    tranches = f.tranches
    draws = np.zeros((len(tranches), n_y))
    for i, tranche in enumerate(tranches):
        for year, amount in tranche.draws().items():
            draws[i, year - int(years[0])] += amount
    kinds = np.array([FINANCING.index(t.kind) for t in tranches], dtype=int)
    financing_in = (draws.T @ np.eye(len(FINANCING))[kinds])[None] if tranches else np.zeros((1, n_y, 4))
    loans = [i for i, t in enumerate(tranches) if t.kind in ("debt", "vendor")]
    interest = principal = np.zeros(n_y)
    if loans:
        loan_interest, loan_principal = cashflow.debt_schedule(
            draws[loans],
            np.array([tranches[i].rate or 0.0 for i in loans]),
            np.array([tranches[i].tenor or 1.0 for i in loans]),
        )
        interest, principal = loan_interest.sum(axis=0), loan_principal.sum(axis=0)
    service = interest + principal
    sources = financing_in.sum(axis=2) + revenue_total
    uses = capex_total + opex_total + service
    cash, gap = cashflow.cash_balance(np.broadcast_to(sources, (n_s, n_y)), np.broadcast_to(uses, (n_s, n_y)))
    with np.errstate(divide="ignore", invalid="ignore"):
        dscr = np.where(service > 0, (revenue_total - opex_total) / service, np.nan)
    net = revenue_total - capex_total - opex_total
    amounts = draws.sum(axis=1)
    cost_of = np.array([t.rate or 0.0 for t in tranches])  # debt and vendor at their rate, grants at 0
    equity = np.array([t.kind == "equity" for t in tranches], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        financing_cost = (
            (amounts * np.where(equity, 0.0, cost_of)).sum() + amounts[equity].sum() * rate
        ) / amounts.sum()
    return {
        "depreciation": depreciation,
        "compute_hours": compute_hours,
        "revenue": revenue,
        "financing_in": financing_in,
        "debt_interest": interest[None],
        "debt_service": service[None],
        "dscr": dscr,
        "net_cash_flow": net,
        "funding_gap": gap,
        "cash": cash,
        "discount_rate": rate,
        "financing_cost": financing_cost if tranches else np.full(n_s, np.nan),
        "npv": cashflow.npv(rate, net),
        "irr": cashflow.irr(net),
        "payback_year": cashflow.payback_year(net, years),
        "peak_cash_need": cashflow.peak_cash_need(net),
        "lcoc_per_h100e_hour": breakdown.sum(axis=1),
        "lcoc_per_1e21_flop": per_flop_cost,
        "lcoc_breakdown": breakdown,
    }


def _bottleneck(scenario: Scenario, d: Deployment, production: np.ndarray) -> np.ndarray:
    """The binding constraint of each year (docs/model.md §8), as an index into ``BOTTLENECKS``."""
    fleet = d.fleet
    waiting = dot_last(fleet.waiting)  # (S, Y, R)
    # Chips wait for power where capacity is short of firm power, or where the industry would have
    # built more had power allowed it; otherwise for shells (the scenario's own campuses).
    short = fleet.energised < fleet.dc_capacity - 1e-6 * np.maximum(fleet.dc_capacity, 1.0)
    power_short = short | scenario.existing_industry
    stuck_power = dot_last(np.where(power_short, waiting, 0.0))
    stuck_dc = dot_last(np.where(power_short, 0.0, waiting))
    stuck = (stuck_power + stuck_dc) > 1e-6 * np.maximum(d.arrivals.sum(axis=(2, 3)), 1.0)
    # Without any modelled production (chips only bought), no production cap can bind.
    b = scenario.builds
    produces = scenario.existing_industry or bool(b.fabs or b.packaging or b.hbm)
    idle = production if produces else np.full_like(production, BOTTLENECKS.index("none"))
    deploy = np.where(stuck_power >= stuck_dc, BOTTLENECKS.index("power"), BOTTLENECKS.index("datacentres"))
    out: np.ndarray = np.where(stuck, deploy, idle).astype(np.int8)
    return out


#: Results variables of the Money stage (``_finance``): a run that keeps none of them skips the stage.
FINANCE_VARIABLES = frozenset(
    {
        "depreciation", "compute_hours", "revenue", "financing_in", "debt_interest", "debt_service", "dscr",
        "net_cash_flow", "funding_gap", "cash", "discount_rate", "financing_cost", "npv", "irr",
        "payback_year", "peak_cash_need", "lcoc_per_h100e_hour", "lcoc_per_1e21_flop", "lcoc_breakdown",
    }
)  # fmt: skip


def _run(scenario: Scenario, params: ParameterSet, axes: Axes, money: bool = True) -> dict[str, np.ndarray]:
    """Run every stage on one block of samples; returns the arrays named in ``VARIABLES`` (without the
    Money stage's when ``money`` is false)."""
    s = _supply(scenario, params, axes)
    d = _deployment(scenario, params, axes, s.produced)
    e = _energy(params, axes, d)
    capex, opex = _money(scenario, params, axes, s, d, e)
    operations = _operations(scenario, params, axes, s, d, e)
    fleet = d.fleet
    return {
        "wafers_ai": s.wafers_ai,
        "wafer_capacity": s.wafer_capacity,
        "packaging_capacity": s.packaging,
        "hbm_supply": s.hbm,
        "production_cap": s.caps,
        "production_bottleneck": s.bottleneck.astype(np.int8),
        "accelerators_produced": s.produced,
        "accelerators_shipped": d.arrivals,
        "accelerators_installed": fleet.installed,
        "accelerators_added": fleet.added,
        "accelerators_retired": fleet.retired,
        "accelerators_waiting": fleet.waiting,
        **operations,
        "dc_capacity": fleet.dc_capacity,
        "dc_energised": fleet.energised,
        "grid_connection": fleet.grid,
        "firm_power": d.own_firm + fleet.grid,
        "plant_capacity": d.plant_capacity,
        "it_power": e.it_rating,
        "facility_power": e.energy / power.HOURS_PER_YEAR,
        "energy": e.energy,
        "it_energy": e.it_energy,
        "generation": e.generation,
        "emissions": e.emissions,
        "water": e.water,
        "capex": capex,
        "opex": opex,
        "bottleneck": _bottleneck(scenario, d, s.bottleneck),
        **(_finance(scenario, params, axes, d, capex, opex, operations["flops_peak"]) if money else {}),
    }


def prepare(
    scenario: Scenario | str | Path | Mapping[str, Any] | None,
    samples: int = 1,
    seed: int = 0,
    sampling: str | None = None,
) -> tuple[Scenario, ParameterSet, Axes]:
    """Load the scenario, lay out its axes and resolve parameters; for ``samples > 1``, set up the
    sampling design (``sampling``: lhs, sobol or random; default: the scenario's, else lhs), whose rows
    are drawn on first use."""
    if samples < 1:
        raise ScenarioError(f"samples must be at least 1, got {samples}", path="samples")
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    library = load_library()
    axes = axes_for(scenario, library)
    params = ParameterSet(
        library=library,
        years=axes.years,
        regions=axes.regions,
        items={"accelerators": axes.accelerators, "power_sources": axes.sources},
        overrides=resolve_overrides(scenario, library),
        samples=samples,
    )
    if samples > 1:
        params.design = design_for(scenario, params, seed, sampling, samples)
    for table, names in (("accelerators", axes.accelerators),):
        for parameter in ("flops_bf16", "it_power", "logic_die_area", "interposer_area", "price"):
            gaps = [n for n in params.missing(table, parameter) if n in names]
            if gaps:
                raise ScenarioError(
                    f"the library has no {parameter} for {', '.join(gaps)}; set it under "
                    f"parameters.accelerators.{gaps[0]}.{parameter}",
                    file=scenario.source_file,
                    path="parameters",
                )
    return scenario, params, axes


def simulate(
    scenario: Scenario | str | Path | Mapping[str, Any] | None = None,
    samples: int = 1,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    sampling: str | None = None,
) -> xr.Dataset:
    """Simulate a scenario's plan year by year.

    Parameters
    ----------
    scenario
        A :class:`Scenario`, a path to a YAML file, a mapping, a built-in name, or None for the default
        scenario (``seed-7t``).
    samples
        Monte Carlo samples. With 1, every parameter is at its library value. With more, each library
        parameter with a range is drawn from its default distribution (docs/uncertainty.md), or the one
        the scenario's ``uncertainty:`` section gives it.
    seed
        Seed of the sampling design; the same seed gives the same results.
    progress
        Called as ``progress(done, total)`` (in samples) after each block of samples.
    sampling
        ``lhs`` (Latin hypercube), ``sobol`` (scrambled Sobol) or ``random``; default: the scenario's
        ``uncertainty.sampling``, else ``lhs``. Full results take about 30 kB per sample (seed
        scenario); for millions of samples use :func:`flopgrid.uncertainty.monte_carlo`, which keeps
        only the figures asked for.

    Returns
    -------
    xarray.Dataset
        The Results: every variable has ``units`` and ``long_name``; dimensions are ``sample``,
        ``year``, ``region``, ``accelerator``, ``source``, ``asset`` and ``cap``. Use
        ``results.flopgrid.summary()`` for the per-year table.

    Examples
    --------
    >>> import flopgrid
    >>> results = flopgrid.simulate("reference")
    >>> results["h100e"].attrs["units"]
    'H100e'
    """
    scenario, params, axes = prepare(scenario, samples, seed, sampling)
    ds = _execute(scenario, params, axes, np.arange(samples), progress, seed)
    ds.attrs["sampling"] = params.design.method if params.design is not None else "none"
    return ds


def run_block(
    scenario: Scenario,
    params: ParameterSet,
    axes: Axes,
    start: int,
    stop: int,
    keep: Collection[str] | None = None,
) -> xr.Dataset:
    """Results for samples ``start:stop`` of a run set up by :func:`prepare` (its design's rows for those
    samples, drawn on their own: the numbers equal those of the whole run); with ``keep``, only those
    variables are stored (writing all of them is most of a large run's time and memory)."""
    seed = params.design.seed if params.design is not None else 0
    return _execute(scenario, params.block(start, stop), axes, np.arange(start, stop), None, seed, keep)


def run_uniforms(
    scenario: Scenario,
    params: ParameterSet,
    axes: Axes,
    design: Design,
    uniforms: np.ndarray,
    keep: Collection[str] | None = None,
) -> xr.Dataset:
    """Results at given design rows (independent uniforms, one column per design dimension; the
    design's copula is applied): how sensitivity analysis evaluates the model at SALib's points."""
    drawn = ParameterSet(
        params.library,
        params.years,
        params.regions,
        params.items,
        params.overrides,
        samples=uniforms.shape[0],
        design=design,
        uniforms=design.correlate(uniforms),
    )
    return _execute(scenario, drawn, axes, np.arange(uniforms.shape[0]), None, design.seed, keep)


def _execute(
    scenario: Scenario,
    params: ParameterSet,
    axes: Axes,
    sample_ids: np.ndarray,
    progress: Callable[[int, int], None] | None,
    seed: int,
    keep: Collection[str] | None = None,
) -> xr.Dataset:
    """Run every stage on ``params``'s samples in blocks on a thread per core; wrap them as Results."""
    samples = params.samples
    # Draw every parameter once for all samples, so that blocks are slices of one draw.
    for table, parameter in params.library.specs:
        if table != "macro":
            params.get(table, parameter)
    # Blocks of samples run on a thread per core (numpy releases the GIL in its loops). Medium runs are
    # split so that every core gets a block; tiny ones are not worth a thread.
    size = min(CHUNK, max(MIN_BLOCK, -(-samples // WORKERS)))
    starts = list(range(0, samples, size))
    coords: dict[str, Any] = {
        "sample": sample_ids,
        "year": axes.years,
        "region": axes.regions,
        "accelerator": axes.accelerators,
        "source": axes.sources,
        "asset": list(ASSETS),
        "cap": list(supply.CAPS),
        "financing": list(FINANCING),
    }
    # Results of 100,000 samples are gigabytes: blocks are written into arrays allocated once.
    variables = {name: _allocate(name, samples, coords) for name in VARIABLES if keep is None or name in keep}
    money = keep is None or not FINANCE_VARIABLES.isdisjoint(keep)
    done = 0

    def store(start: int, block: dict[str, np.ndarray]) -> None:
        nonlocal done
        stop = min(start + size, samples)
        for name, var in variables.items():
            var.values[start:stop] = block[name]
        done += stop - start
        if progress is not None:
            progress(done, samples)

    if len(starts) == 1:
        store(0, _run(scenario, params.block(0, samples), axes, money))
    else:
        # At most two blocks per thread in flight: a finished future holds its block until stored, and
        # holding them all would double the memory of a large run.
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(starts))) as pool:
            pending: dict[Future[dict[str, np.ndarray]], int] = {}
            for index, start in enumerate(starts):
                stop = min(start + size, samples)
                pending[pool.submit(_run, scenario, params.block(start, stop), axes, money)] = start
                last = index == len(starts) - 1
                if len(pending) >= 2 * WORKERS or last:
                    finished, _ = wait(pending, return_when=ALL_COMPLETED if last else FIRST_COMPLETED)
                    for future in finished:
                        store(pending.pop(future), future.result())
    ds = xr.Dataset(variables, coords=coords)
    ds.attrs.update(
        {
            "scenario": scenario.name,
            "scenario_hash": scenario.content_hash(),
            "scenario_file": scenario.source_file or "",
            "engine": "simulate",
            "samples": samples,
            "seed": seed,
            "flopgrid_version": __version__,
            "currency": "USD (real 2024)",
            "inflation": scenario.finance.inflation,
            "existing_industry": int(scenario.existing_industry),
        }
    )
    return ds


def _allocate(name: str, samples: int, coords: dict[str, Any]) -> xr.Variable:
    """An empty Results variable for every sample, with its declared dimensions, units and name."""
    dims, units, long_name = VARIABLES[name]
    shape = (samples, *(len(coords[dim]) for dim in dims))
    attrs: dict[str, Any] = {"units": units, "long_name": long_name}
    dtype: type[np.generic] = np.float64
    if name in FLAGS:
        attrs.update({"flag_values": list(range(len(FLAGS[name]))), "flag_meanings": " ".join(FLAGS[name])})
        dtype = np.int8
    return xr.Variable(("sample", *dims), np.empty(shape, dtype=dtype), attrs=attrs)
