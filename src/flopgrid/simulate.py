"""The simulator: a scenario's plan → outcomes, year by year, vectorised over Monte Carlo samples.

The model is documented equation by equation in ``docs/model.md``; each stage lives in
``flopgrid.model``. This module lays out the axes, resolves parameters, runs the stages in order and
wraps the arrays in an ``xarray.Dataset`` with ``units`` and ``long_name`` on every variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from flopgrid import __version__
from flopgrid.errors import ScenarioError
from flopgrid.library import Library, load_library
from flopgrid.model import builds as bld
from flopgrid.model import datacentres, dot_last, power, supply
from flopgrid.model.builds import BuildArrays
from flopgrid.parameters import SINGLE, ParameterSet, resolve_overrides, used_items
from flopgrid.scenario import Scenario, load_scenario, shares_in

ASSETS = ("fab", "packaging", "hbm", "datacentre", "power", "accelerator")
BOTTLENECKS = ("wafers", "packaging", "hbm", "datacentres", "power", "none")
#: Where the existing industry's supply-chain capacity sits, for attributing its trend capex: TSMC's
#: leading-edge and CoWoS capacity is in Taiwan; HBM is made by SK hynix and Samsung in South Korea
#: (docs: research facts §2.1–2.2, recorded in the library's fabs, packaging and hbm sources).
EXISTING_SUPPLY_REGION = {"fab": "TW", "packaging": "TW", "hbm": "KR"}
REFERENCE_ACCELERATOR = "H100"
CHUNK = 2_000
#: Fewest samples worth a block of their own.
MIN_BLOCK = 250
#: Threads that run blocks of samples at once.
WORKERS = max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class Axes:
    """The coordinates of one run."""

    years: np.ndarray
    regions: list[str]
    accelerators: list[str]
    sources: list[str]


def _mix_by_year(
    scenario: Scenario, library: Library, years: np.ndarray, accelerators: list[str]
) -> np.ndarray:
    """Output shares by accelerator type, ``(year, accelerator)``."""
    mix = np.zeros((len(years), len(accelerators)))
    steps = scenario.chips.steps("mix", int(years[0]))
    for t, year in enumerate(years):
        if steps is None:
            mix[t, accelerators.index(default_mix(library, years[t : t + 1])[0])] = 1.0
            continue
        for name, share in shares_in(steps, int(year)).items():
            mix[t, accelerators.index(name)] = share
    return mix


def default_mix(library: Library, years: np.ndarray) -> list[str]:
    """For each year, the newest accelerator in volume (by first volume year), the fastest on ties."""
    names = library.ids("accelerators")
    first, _, _ = library.series("accelerators", "first_volume_year", names, years[:1])
    speed, _, _ = library.series("accelerators", "flops_bf16", names, years[:1])
    out = []
    for year in years:
        ranked = sorted(
            (f, s, n) for f, s, n in zip(first[:, 0], speed[:, 0], names, strict=True) if f <= year
        )
        out.append(ranked[-1][2] if ranked else names[int(np.argmin(first[:, 0]))])
    return out


def axes_for(scenario: Scenario, library: Library) -> Axes:
    """The regions, accelerators and power sources a scenario touches."""
    years = np.array(scenario.years)
    b = scenario.builds
    all_regions = library.ids("regions")
    named = [
        x.region for kind in (b.fabs, b.packaging, b.hbm, b.datacentres, b.power, b.purchases) for x in kind
    ]
    for shares in (scenario.chips.steps("allocation", int(years[0])) or {}).values():
        named.extend(shares)
    regions = all_regions if scenario.existing_industry else used_items(named, all_regions)
    regions = regions or all_regions
    mix = scenario.chips.steps("mix", int(years[0]))
    chips: list[str] = (
        default_mix(library, years) if mix is None else [name for shares in mix.values() for name in shares]
    )
    chips += [d.accelerator for d in b.datacentres if d.accelerator] + [p.accelerator for p in b.purchases]
    if scenario.existing_industry:
        chips.append(REFERENCE_ACCELERATOR)
    accelerators = used_items(chips, library.ids("accelerators"))
    sources = used_items(["grid", *(p.source for p in b.power)], library.ids("power_sources"))
    return Axes(years, regions, accelerators, sources)


def _builds(
    items: list[Any], axes: Axes, size: Callable[[Any], float], item: Callable[[Any], int] | None = None
) -> BuildArrays:
    if not items:
        return BuildArrays.empty()
    return BuildArrays(
        start=np.array([x.start for x in items], dtype=float),
        size=np.array([size(x) for x in items], dtype=float),
        region=np.array([axes.regions.index(x.region) for x in items]),
        item=np.array([item(x) if item else 0 for x in items]),
    )


def _allocation(scenario: Scenario, params: ParameterSet, axes: Axes, dc_builds: BuildArrays) -> np.ndarray:
    """Shares of output by region for each accelerator type, ``(year, region, accelerator)``."""
    n_y, n_r, n_a = len(axes.years), len(axes.regions), len(axes.accelerators)
    shares = np.zeros((n_y, n_r))
    steps = scenario.chips.steps("allocation", int(axes.years[0]))
    if steps is not None:
        for t, year in enumerate(axes.years):
            for name, share in shares_in(steps, int(year)).items():
                shares[t, axes.regions.index(name)] = share
    elif not scenario.existing_industry and len(dc_builds):
        # Programme only: chips go where the programme's campuses are, in proportion to their size.
        started = (axes.years[:, None] >= dc_builds.start[None, :]) * dc_builds.size[None, :]
        started = np.where(started.sum(axis=1, keepdims=True) > 0, started, dc_builds.size[None, :])
        onehot = np.zeros((len(dc_builds), n_r))
        onehot[np.arange(len(dc_builds)), dc_builds.region] = 1.0
        shares = started @ onehot
    else:
        shares = np.nan_to_num(params.library.series("regions", "chip_share", axes.regions, axes.years)[0].T)
    by_type = np.repeat(shares[:, :, None], n_a, axis=2)
    for rule in scenario.policy.exclude:
        r = axes.regions.index(rule.region) if rule.region in axes.regions else None
        if r is None:
            continue
        if rule.accelerator == "*":
            by_type[:, r, :] = 0.0
        elif rule.accelerator in axes.accelerators:
            by_type[:, r, axes.accelerators.index(rule.accelerator)] = 0.0
    total = by_type.sum(axis=1, keepdims=True)
    if np.any(total == 0):
        t, _, a = np.argwhere(total == 0)[0]
        raise ScenarioError(
            f"no region may receive {axes.accelerators[a]} in {axes.years[t]}: the allocation and "
            "policy.exclude leave every share at 0; allow at least one region",
            file=scenario.source_file,
            path="chips.allocation",
        )
    out: np.ndarray = by_type / total
    return out


def _var(data: np.ndarray, dims: tuple[str, ...], units: str, long_name: str) -> xr.Variable:
    return xr.Variable(dims, data, attrs={"units": units, "long_name": long_name})


def _run(scenario: Scenario, params: ParameterSet, axes: Axes) -> dict[str, xr.Variable]:
    """Run every stage on one block of samples; returns the result variables."""
    p = params.get
    years = axes.years.astype(float)
    n_r, n_a = len(axes.regions), len(axes.accelerators)
    b = scenario.builds
    lib = params.library

    # ---- supply: fabs, packaging, HBM → accelerators produced
    fab_b = _builds(b.fabs, axes, lambda x: x.count * x.capacity)
    fab_ai = np.array([x.ai_share for x in b.fabs])
    fab_lead = bld.at_start(p("fabs", "lead_time"), axes.years, fab_b)
    online = bld.years_online(axes.years, fab_b, fab_lead)
    level = supply.ramp(
        online, *(bld.at_start(p("fabs", f"ramp_year{k}"), axes.years, fab_b)[:, None, :] for k in (1, 2, 3))
    )
    fab_output = level * fab_b.size  # (S, Y, B) wafers a year
    wafers_ai = dot_last(fab_output, fab_ai) if len(fab_b) else np.zeros((1, len(years)))
    wafer_capacity = bld.to_regions(fab_output, fab_b, n_r) if len(fab_b) else np.zeros((1, len(years), n_r))

    pack_b = _builds(b.packaging, axes, lambda x: x.count * x.capacity)
    pack_lead = bld.at_start(p("packaging", "lead_time"), axes.years, pack_b)
    pack_online = (bld.years_online(axes.years, pack_b, pack_lead) >= 0) * pack_b.size
    hbm_b = _builds(b.hbm, axes, lambda x: x.count * x.capacity)
    hbm_lead = bld.at_start(p("hbm", "lead_time"), axes.years, hbm_b)
    hbm_online = (bld.years_online(axes.years, hbm_b, hbm_lead) >= 0) * hbm_b.size
    packaging_cap = dot_last(pack_online) if len(pack_b) else np.zeros((1, len(years)))
    hbm_cap = dot_last(hbm_online) if len(hbm_b) else np.zeros((1, len(years)))

    mix = _mix_by_year(scenario, lib, axes.years, axes.accelerators)[None]
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
        fab_now = supply.trend(level, growth, years, base)
        existing_added["fab"] = (
            np.maximum(fab_now - supply.trend(level, growth, years - 1, base), 0.0)
            * p("fabs", "ai_share")[..., 0, 0]
        )
        wafers_ai = wafers_ai + fab_now * p("fabs", "ai_share")[..., 0, 0]
        tw = axes.regions.index(EXISTING_SUPPLY_REGION["fab"])
        wafer_capacity = wafer_capacity + np.eye(n_r)[tw] * fab_now[..., None]
        chips_from_wafers = wafers_ai / needs[0]
        for asset, level_name, growth_name, per_chip, own in (
            (
                "packaging",
                "existing_capacity",
                "capacity_growth",
                needs[1],
                packaging_cap,
            ),
            ("hbm", "existing_supply", "supply_growth", needs[2], hbm_cap),
        ):
            known = p(asset, level_name)[..., 0, 0]
            need = np.maximum(chips_from_wafers * per_chip - own, 0.0)
            cap = supply.follow_demand(
                known, p(asset, growth_name)[..., 0, 0], need, years, lib.base_year(asset, level_name)
            )
            # Capacity the year before the horizon: the data's own step into the first year, applied
            # to this sample's level.
            series = lib.series(asset, level_name, [SINGLE[asset]], np.array([years[0] - 1, years[0]]))[0][0]
            start = known[:, :1] * (series[0] / series[1] if series[1] > 0 else 1.0)
            before = np.concatenate([np.broadcast_to(start, (cap.shape[0], 1)), cap[:, :-1]], axis=1)
            existing_added[asset] = np.maximum(cap - before, 0.0)
            if asset == "packaging":
                packaging_cap = packaging_cap + cap
            else:
                hbm_cap = hbm_cap + cap

    produced, caps, prod_bottleneck = supply.production(wafers_ai, packaging_cap, hbm_cap, mix, needs)

    # ---- deployment: data centres, firm power, fleet
    dc_b = _builds(b.datacentres, axes, lambda x: x.count * x.it_power)
    dc_lead = bld.at_start(p("datacentres", "lead_time"), axes.years, dc_b)
    dc_online = (bld.years_online(axes.years, dc_b, dc_lead) >= 0) * dc_b.size
    planned = bld.to_regions(dc_online, dc_b, n_r) if len(dc_b) else np.zeros((1, len(years), n_r))
    pue = p("datacentres", "pue")[..., 0]
    region_p = {
        name: p("regions", name)[..., 0]
        for name in (
            "existing_ai_dc_capacity",
            "max_new_power",
            "electricity_price",
            "grid_carbon_intensity",
            "construction_cost_factor",
            "existing_ai_fleet",
        )
    }
    existing_dc = region_p["existing_ai_dc_capacity"][:, 0] if scenario.existing_industry else None

    k_grid = axes.sources.index("grid")
    pw_b = _builds(b.power, axes, lambda x: x.count * x.capacity, lambda x: axes.sources.index(x.source))
    pw_lead = bld.at_start(p("power_sources", "lead_time"), axes.years, pw_b)
    pw_online = (bld.years_online(axes.years, pw_b, pw_lead) >= 0) * pw_b.size
    n_k = len(axes.sources)
    plant_capacity = (
        bld.to_regions_items(pw_online, pw_b, n_r, n_k) if len(pw_b) else np.zeros((1, len(years), n_r, n_k))
    )
    own_firm = dot_last(plant_capacity, p("power_sources", "firm_capacity_credit"))

    allocation = _allocation(scenario, params, axes, dc_b)[None]
    arrivals = produced[:, :, None, :] * allocation
    purchases = np.zeros((len(years), n_r, n_a))
    for x in b.purchases:
        purchases[
            np.searchsorted(axes.years, x.year),
            axes.regions.index(x.region),
            axes.accelerators.index(x.accelerator),
        ] += x.quantity
    arrivals = arrivals + purchases[None]
    fleet0 = region_p["existing_ai_fleet"][:, 0]  # (S|1, R)
    initial = np.zeros((fleet0.shape[0], n_r, n_a))
    if scenario.existing_industry and REFERENCE_ACCELERATOR in axes.accelerators:
        initial[..., axes.accelerators.index(REFERENCE_ACCELERATOR)] = fleet0
    it_power = p("accelerators", "it_power")
    lifetime = p("datacentres", "accelerator_lifetime")[:, 0, 0, 0]
    fleet = datacentres.deploy(
        arrivals, planned, own_firm, pue, region_p["max_new_power"], it_power, lifetime, initial, existing_dc
    )
    dc_capacity, energised, grid = fleet.dc_capacity, fleet.energised, fleet.grid
    before = np.zeros((1, 1, n_r)) if existing_dc is None else existing_dc[:, None, :]
    dc_existing_added = np.diff(fleet.dc_existing, axis=1, prepend=before + 0 * fleet.dc_existing[:, :1])
    grid_added = np.diff(grid, axis=1, prepend=before * pue[:, :1] + 0 * grid[:, :1])

    # ---- power and energy
    hours = power.HOURS_PER_YEAR
    utilisation = p("datacentres", "utilisation")[..., 0]
    previous = np.concatenate(
        [
            np.broadcast_to(initial[:, None], (fleet.installed.shape[0], 1, *fleet.installed.shape[2:])),
            fleet.installed[:, :-1],
        ],
        axis=1,
    )
    average_fleet = (previous + fleet.installed) / 2
    it_rating = dot_last(fleet.installed, it_power)
    it_energy = dot_last(average_fleet, it_power) * utilisation * hours
    facility_energy = it_energy * pue
    capacity_factor = p("power_sources", "capacity_factor")
    own_available = plant_capacity * capacity_factor * hours
    own_available[..., k_grid] = 0.0  # grid "builds" are connections: their energy is bought
    own_energy, grid_energy = power.dispatch(facility_energy, own_available)
    generation = own_energy.copy()
    generation[..., k_grid] = grid_energy
    carbon = np.nan_to_num(p("power_sources", "carbon_intensity"))
    emissions = dot_last(own_energy, carbon) + grid_energy * region_p["grid_carbon_intensity"]
    water = it_energy * p("datacentres", "wue")[..., 0] + dot_last(generation, p("power_sources", "water"))

    # ---- money: capex by asset class, opex
    ccf = region_p["construction_cost_factor"]  # (S|1, Y, R)
    n_s = max(produced.shape[0], fleet.installed.shape[0])
    capex = np.zeros((n_s, len(years), n_r, len(ASSETS)))

    def book(
        asset: str, items: list[Any], builds: BuildArrays, unit_cost: np.ndarray, lead: np.ndarray
    ) -> None:
        if not len(builds):
            return
        factor = bld.at_start(ccf[..., None], axes.years, builds)
        cost = builds.size * bld.at_start(unit_cost, axes.years, builds) * factor
        quoted = np.array([np.nan if x.capex is None else x.capex * x.count for x in items])
        cost = np.where(np.isnan(quoted), cost, quoted)
        spend = bld.spend_profile(axes.years, builds, lead) * cost[:, None, :]
        capex[..., ASSETS.index(asset)] += bld.to_regions(spend, builds, n_r)

    book("fab", b.fabs, fab_b, p("fabs", "capex"), fab_lead)
    book("packaging", b.packaging, pack_b, p("packaging", "capex"), pack_lead)
    book("hbm", b.hbm, hbm_b, p("hbm", "capex"), hbm_lead)
    book("datacentre", b.datacentres, dc_b, p("datacentres", "capex"), dc_lead)
    book("power", b.power, pw_b, p("power_sources", "capex"), pw_lead)
    for asset, added in existing_added.items():
        r = axes.regions.index(EXISTING_SUPPLY_REGION[asset])
        unit_capex = p({"fab": "fabs", "packaging": "packaging", "hbm": "hbm"}[asset], "capex")
        unit = unit_capex[:, :, min(r, unit_capex.shape[2] - 1), 0]
        capex[..., r, ASSETS.index(asset)] += added * unit * ccf[..., r]
    capex[..., ASSETS.index("datacentre")] += dc_existing_added * p("datacentres", "capex")[..., 0] * ccf
    capex[..., ASSETS.index("power")] += grid_added * p("power_sources", "capex")[..., k_grid] * ccf
    capex[..., ASSETS.index("accelerator")] += dot_last(arrivals, p("accelerators", "price"))

    opex = np.zeros_like(capex)
    fuel = np.nan_to_num(p("power_sources", "fuel_cost")) + p("power_sources", "variable_om")
    fuel[..., k_grid] = 0.0
    opex[..., ASSETS.index("power")] = (
        grid_energy * region_p["electricity_price"]
        + dot_last(own_energy, fuel)
        + dot_last(plant_capacity, p("power_sources", "fixed_om"))
    )
    opex[..., ASSETS.index("datacentre")] = dc_capacity * p("datacentres", "opex")[..., 0]

    # ---- operations: compute and the largest training run
    flops = p("accelerators", "flops_bf16")  # (S|1, Y, 1, A)
    reference = lib.series("accelerators", "flops_bf16", [REFERENCE_ACCELERATOR], axes.years[:1])[0][0, 0]
    flops_peak = dot_last(fleet.installed, flops)
    h100e = flops_peak / reference
    mfu = p("datacentres", "mfu")[:, :, 0, 0]
    duration = p("datacentres", "training_duration")[:, :, 0, 0]
    flops_per_watt = flops[:, :, 0, :] / it_power[:, :, 0, :]  # (S|1, Y, A)
    best = np.max(np.where(mix > 0, flops_per_watt, 0.0), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        filled = np.where(energised > 0, np.minimum(it_rating / energised, 1.0), 0.0)
        usable = np.where(dc_capacity > 0, energised / dc_capacity, 0.0) * filled  # (S, Y, R)
    campus_flops = np.zeros_like(best)
    if len(dc_b):
        per_campus = np.array([x.it_power for x in b.datacentres])
        kind = np.array(
            [axes.accelerators.index(x.accelerator) if x.accelerator else -1 for x in b.datacentres]
        )
        campus_fpw = np.where(kind >= 0, flops_per_watt[..., np.maximum(kind, 0)], best[..., None])
        built = bld.years_online(axes.years, dc_b, dc_lead) >= 0
        campus = built * per_campus * usable[:, :, dc_b.region] * campus_fpw
        campus_flops = np.max(campus, axis=-1)
    if scenario.existing_industry:
        campus_flops = np.maximum(campus_flops, p("datacentres", "largest_campus")[:, :, 0, 0] * best)
    largest_run = campus_flops * mfu * duration
    share = p("datacentres", "largest_run_share")[:, :, 0, 0]
    distributed_run = dot_last(flops_peak) * share * mfu * duration

    # ---- bottleneck: a deployment constraint when chips wait, else the production cap
    waiting = dot_last(fleet.waiting)  # (S, Y, R)
    # Chips wait for power where capacity is short of firm power, or where the industry would have
    # built more had power allowed it; otherwise for shells (the scenario's own campuses).
    power_short = (energised < dc_capacity - 1e-6 * np.maximum(dc_capacity, 1.0)) | (
        scenario.existing_industry
    )
    stuck_power = dot_last(np.where(power_short, waiting, 0.0))
    stuck_dc = dot_last(np.where(power_short, 0.0, waiting))
    arrived = arrivals.sum(axis=(2, 3))
    stuck = (stuck_power + stuck_dc) > 1e-6 * np.maximum(arrived, 1.0)
    # Without any modelled production (chips only bought), no production cap can bind.
    produces = scenario.existing_industry or bool(b.fabs or b.packaging or b.hbm)
    idle = prod_bottleneck if produces else np.full_like(prod_bottleneck, BOTTLENECKS.index("none"))
    bottleneck = np.where(stuck, np.where(stuck_power >= stuck_dc, 4, 3), idle).astype(np.int8)

    S = "sample"
    var = _var
    flags = {"flag_values": list(range(len(BOTTLENECKS))), "flag_meanings": " ".join(BOTTLENECKS)}
    bottleneck_var = var(
        np.broadcast_to(bottleneck, (n_s, len(years))), (S, "year"), "1", "binding constraint of the year"
    )
    bottleneck_var.attrs.update(flags)
    production_var = var(
        np.broadcast_to(prod_bottleneck.astype(np.int8), (n_s, len(years))),
        (S, "year"),
        "1",
        "binding cap on accelerator production",
    )
    production_var.attrs.update({"flag_values": [0, 1, 2], "flag_meanings": " ".join(supply.CAPS)})

    def full(a: np.ndarray) -> np.ndarray:
        """Every sample, also where the input did not vary by sample."""
        return np.broadcast_to(a, (n_s, *a.shape[1:])) if a.shape[0] != n_s else a

    SYR, SYRA = (S, "year", "region"), (S, "year", "region", "accelerator")
    return {
        "wafers_ai": var(
            full(np.broadcast_to(wafers_ai, (wafers_ai.shape[0], len(years)))),
            (S, "year"),
            "wafer",
            "leading-edge wafers available to AI accelerators",
        ),
        "wafer_capacity": var(full(wafer_capacity), SYR, "wafer", "leading-edge wafer starts (capacity)"),
        "packaging_capacity": var(
            full(np.broadcast_to(packaging_cap, (packaging_cap.shape[0], len(years)))),
            (S, "year"),
            "wafer",
            "advanced-packaging interposer wafers",
        ),
        "hbm_supply": var(
            full(np.broadcast_to(hbm_cap, (hbm_cap.shape[0], len(years)))),
            (S, "year"),
            "GB",
            "HBM output",
        ),
        "production_cap": var(
            full(caps),
            (S, "year", "cap"),
            "chip",
            "accelerators each input alone would allow",
        ),
        "production_bottleneck": production_var,
        "accelerators_produced": var(
            full(produced),
            (S, "year", "accelerator"),
            "chip",
            "accelerators produced",
        ),
        "accelerators_shipped": var(full(arrivals), SYRA, "chip", "accelerators delivered to the region"),
        "accelerators_installed": var(fleet.installed, SYRA, "chip", "accelerators in service at year end"),
        "accelerators_added": var(fleet.added, SYRA, "chip", "accelerators installed during the year"),
        "accelerators_retired": var(fleet.retired, SYRA, "chip", "accelerators retired during the year"),
        "accelerators_waiting": var(
            fleet.waiting, SYRA, "chip", "accelerators delivered but not installed (no energised room)"
        ),
        "h100e": var(h100e, SYR, "H100e", "installed compute in H100-equivalents (dense BF16)"),
        "flops_peak": var(flops_peak, SYR, "FLOP/s", "installed peak dense BF16 compute"),
        "flops_effective": var(
            flops_peak * mfu[..., None], SYR, "FLOP/s", "installed compute at model FLOP utilisation"
        ),
        "largest_run": var(full(largest_run), (S, "year"), "FLOP", "largest training run on one campus"),
        "largest_run_distributed": var(
            full(distributed_run),
            (S, "year"),
            "FLOP",
            "largest run with a share of the whole fleet",
        ),
        "dc_capacity": var(full(dc_capacity), SYR, "W", "data-centre IT capacity built"),
        "dc_energised": var(full(energised), SYR, "W", "data-centre IT capacity energised"),
        "grid_connection": var(full(grid), SYR, "W", "grid connection for data centres"),
        "firm_power": var(full(own_firm + grid), SYR, "W", "firm power available to data centres"),
        "plant_capacity": var(
            full(plant_capacity),
            (*SYR, "source"),
            "W",
            "nameplate capacity of the scenario's own plants",
        ),
        "it_power": var(it_rating, SYR, "W", "all-in IT rating of the installed fleet"),
        "facility_power": var(full(facility_energy / hours), SYR, "W", "average facility power draw"),
        "energy": var(full(facility_energy), SYR, "Wh", "facility electricity use"),
        "it_energy": var(full(it_energy), SYR, "Wh", "IT electricity use"),
        "generation": var(
            full(generation),
            (*SYR, "source"),
            "Wh",
            "electricity supplied to data centres by source",
        ),
        "emissions": var(full(emissions), SYR, "kg", "greenhouse-gas emissions (CO2e)"),
        "water": var(full(water), SYR, "m^3", "water consumed on site and in generation"),
        "capex": var(capex, (*SYR, "asset"), "USD", "capital expenditure"),
        "opex": var(opex, (*SYR, "asset"), "USD", "operating expenditure"),
        "bottleneck": bottleneck_var,
    }


def prepare(
    scenario: Scenario | str | Path | Mapping[str, Any] | None,
    samples: int = 1,
    seed: int = 0,
) -> tuple[Scenario, ParameterSet, Axes]:
    """Load the scenario, lay out its axes and resolve (and, for ``samples > 1``, draw) parameters."""
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
        rng=np.random.default_rng(seed),
    )
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
) -> xr.Dataset:
    """Simulate a scenario's plan year by year.

    Parameters
    ----------
    scenario
        A :class:`Scenario`, a path to a YAML file, a mapping, a built-in name, or None for the default
        scenario (``seed-7t``).
    samples
        Monte Carlo samples. With 1, every parameter is at its library value. With more, each library
        parameter with a range is drawn from a triangular distribution (low, value, high).
    seed
        Seed of the one ``numpy.random.Generator`` used; the same seed gives the same results.
    progress
        Called as ``progress(done, total)`` (in samples) after each block of samples.

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
    scenario, params, axes = prepare(scenario, samples, seed)
    # Draw every parameter once for all samples, so that blocks are slices of one draw.
    for table, parameter in params.library.specs:
        if table != "macro":
            params.get(table, parameter)
    # Blocks of samples run on a thread per core (numpy releases the GIL in its loops) and are written
    # into arrays allocated once: Results of 100,000 samples are gigabytes, and concatenating blocks
    # would copy them again.
    # Medium runs are split so that every core gets a block; tiny ones are not worth a thread.
    size = min(CHUNK, max(MIN_BLOCK, -(-samples // WORKERS)))
    starts = list(range(0, samples, size))
    first = _run(scenario, params.block(0, min(size, samples)), axes)
    variables = {
        name: xr.Variable(var.dims, np.empty((samples, *var.shape[1:]), dtype=var.dtype), attrs=var.attrs)
        for name, var in first.items()
    }
    done = 0

    def store(start: int, block: dict[str, xr.Variable]) -> None:
        nonlocal done
        stop = min(start + size, samples)
        for name, var in block.items():
            variables[name].values[start:stop] = var.values
        done += stop - start
        if progress is not None:
            progress(done, samples)

    store(0, first)
    if len(starts) > 1:
        # At most two blocks per thread in flight: a finished future holds its block until stored, and
        # holding them all would double the memory of a large run.
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(starts) - 1)) as pool:
            pending: dict[Future[dict[str, xr.Variable]], int] = {}
            for index, start in enumerate(starts[1:]):
                stop = min(start + size, samples)
                pending[pool.submit(_run, scenario, params.block(start, stop), axes)] = start
                if len(pending) >= 2 * WORKERS or index == len(starts) - 2:
                    finished, _ = wait(
                        pending, return_when=FIRST_COMPLETED if index < len(starts) - 2 else ALL_COMPLETED
                    )
                    for future in finished:
                        store(pending.pop(future), future.result())
    coords = {
        "sample": np.arange(samples),
        "year": axes.years,
        "region": axes.regions,
        "accelerator": axes.accelerators,
        "source": axes.sources,
        "asset": list(ASSETS),
        "cap": list(supply.CAPS),
    }
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
            "existing_industry": int(scenario.existing_industry),
        }
    )
    return ds
