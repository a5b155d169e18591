"""The simulator's stages on one block of samples: supply, deployment, energy, money (capex and opex),
operations, asset lives and the bottleneck of each year (docs/model.md). The arithmetic is in
:mod:`flopgrid.model`; a stage gathers its parameters and builds and calls it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopgrid.layout import REFERENCE_ACCELERATOR, Axes, allocation, purchases
from flopgrid.model import builds as bld
from flopgrid.model import datacentres, dot_last, finance, power, sum_over, supply
from flopgrid.model.finance import ASSETS
from flopgrid.parameters import ParameterSet
from flopgrid.scenario import Scenario
from flopgrid.simulate.pipeline import campus_limit
from flopgrid.simulate.supply_stage import (
    EXISTING_SUPPLY_REGION,
    Construction,
    Supply,
    construct,
)
from flopgrid.simulate.variables import BOTTLENECKS


@dataclass(frozen=True)
class Deployment:
    campuses: Construction
    plants: Construction
    plant_capacity: np.ndarray  # (sample|1, year, region, source)
    own_firm: np.ndarray  # (sample|1, year, region)
    arrivals: np.ndarray  # (sample, year, region, accelerator): shipped (own, bought and the industry's)
    own_shipped: np.ndarray  # of which made by the programme's own lines
    initial: np.ndarray  # (sample|1, region, accelerator)
    existing_dc: np.ndarray | None  # (sample|1, region): the industry's IT capacity before the horizon
    fleet: datacentres.Deployment
    pipeline_dc: np.ndarray  # (sample|1, year, region) W facility: the pipeline's limit, 0 outside


def deployment_stage(scenario: Scenario, params: ParameterSet, axes: Axes, s: Supply) -> Deployment:
    """Shipment, orders, data centres, firm power and the fleet (docs/model.md §3–4)."""
    p, b = params.get, scenario.builds
    n_y, n_r, n_k = len(axes.years), len(axes.regions), len(axes.sources)
    campuses = construct(b.datacentres, "datacentres", params, axes, lambda x: x.count * x.it_rating)
    planned = (
        bld.to_regions(campuses.capacity(), campuses.builds, n_r)
        if b.datacentres
        else np.zeros((1, n_y, n_r))
    )
    plants = construct(
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
    own_shipped = s.own[:, :, None, :] * shares
    arrivals = own_shipped + purchases(scenario, axes)[None]
    fleet0 = p("regions", "existing_ai_fleet")[:, 0, :, 0]  # (S|1, R)
    initial = np.zeros((fleet0.shape[0], n_r, len(axes.accelerators)))
    existing_dc = None
    max_new = p("regions", "max_new_power")[..., 0]
    if scenario.existing_industry:
        # The fleet before the first stepped year: the regional split of the library's fleet, scaled to
        # the history's first (end-of-year) stock.
        scale = (s.fleet_before / fleet0.sum(axis=-1))[:, None]
        initial = np.zeros((scale.shape[0], n_r, len(axes.accelerators)))
        initial[..., axes.accelerators.index(REFERENCE_ACCELERATOR)] = fleet0 * scale
        # That fleet sits in capacity that exists: at least what it draws, whatever the two
        # (independently drawn) data say.
        drawn = dot_last(initial, p("accelerators", "it_power")[:, 0])
        existing_dc = np.maximum(p("regions", "existing_ai_dc_capacity")[:, 0, :, 0] * scale, drawn)
        # History happened: its shipments were powered, whatever the projection's grid limits.
        max_new = np.where(s.history[None, :, None], np.inf, max_new)
    # In its window the atlas pipeline sets the yearly most new grid power (docs/model.md §3.1).
    limit = campus_limit(scenario, params, axes)
    if limit is not None:
        max_new = np.where(np.isnan(limit), max_new, limit)
    orders = datacentres.Orders(
        supply=s.industry[:, :, None, :] * shares,
        ordered=~s.history & scenario.existing_industry,
        inventory=p("datacentres", "inventory_months")[:, 0, 0, 0],
        price=p("accelerators", "price"),
        value_loss=p("datacentres", "rental_price_decline")[:, 0, 0, 0],
    )
    fleet = datacentres.deploy(
        arrivals,
        planned,
        own_firm,
        p("datacentres", "pue")[..., 0],
        max_new,
        p("accelerators", "it_power"),
        p("datacentres", "accelerator_lifetime")[:, 0, 0, 0],
        initial,
        existing_dc,
        refresh=scenario.chips.refresh,
        orders=orders,
    )
    return Deployment(
        campuses,
        plants,
        plant_capacity,
        own_firm,
        arrivals + fleet.ordered,
        own_shipped,
        initial,
        existing_dc,
        fleet,
        np.zeros((1, n_y, n_r)) if limit is None else np.nan_to_num(limit, nan=0.0),
    )


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


def energy_stage(params: ParameterSet, axes: Axes, d: Deployment, basis: str = "direct") -> Energy:
    """Energy, own generation and the grid, emissions on one ``basis`` for plants and grid alike
    (``direct`` or ``lifecycle``), water (docs/model.md §5)."""
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
    plants, grids = power.CARBON_PARAMETERS[basis]
    carbon = np.nan_to_num(p("power_sources", plants))
    emissions = dot_last(own, carbon) + grid * p("regions", grids)[..., 0]
    water = it_energy * p("datacentres", "wue")[..., 0] + dot_last(generation, p("power_sources", "water"))
    return Energy(
        dot_last(fleet.installed, it_power), it_energy, energy, own, grid, generation, emissions, water
    )


def money_stage(
    scenario: Scenario, params: ParameterSet, axes: Axes, s: Supply, d: Deployment, e: Energy
) -> tuple[np.ndarray, np.ndarray]:
    """Capex and opex by year, region and asset class (docs/model.md §6)."""
    p, fleet = params.get, d.fleet
    n_r, k_grid = len(axes.regions), axes.sources.index("grid")
    ccf = p("regions", "construction_cost_factor")[..., 0]  # (S|1, Y, R)
    n_s = max(s.own.shape[0], fleet.installed.shape[0])
    # Laid out asset-first, one contiguous (sample, year, region) block per asset class, and returned as
    # a view with the asset axis last: adding into a strided asset slice, or stacking the classes into
    # the last axis, would touch the whole array for every term.
    shape = (n_s, len(axes.years), n_r)
    capex_all, opex_all = np.zeros((len(ASSETS), *shape)), np.zeros((len(ASSETS), *shape))
    capex, opex = dict(zip(ASSETS, capex_all, strict=True)), dict(zip(ASSETS, opex_all, strict=True))
    for asset, table, built in (
        ("fab", "fabs", s.fabs),
        ("packaging", "packaging", s.packaging_lines),
        ("hbm", "hbm", s.hbm_lines),
        ("datacentre", "datacentres", d.campuses),
        ("power", "power_sources", d.plants),
    ):
        if built.items:
            capex[asset] += finance.build_capex(
                built.builds, p(table, "capex"), ccf, built.quoted(), axes.years, built.lead, n_r
            )
    for asset, added in s.existing_added.items():
        r = axes.regions.index(EXISTING_SUPPLY_REGION[asset])
        unit = p({"fab": "fabs", "packaging": "packaging", "hbm": "hbm"}[asset], "capex")
        capex[asset][..., r] += added * unit[:, :, min(r, unit.shape[2] - 1), 0] * ccf[..., r]
    before = np.zeros((1, n_r)) if d.existing_dc is None else d.existing_dc
    pue = p("datacentres", "pue")[..., 0]
    capex["datacentre"] += (
        finance.added(fleet.dc_existing, before[:, None]) * p("datacentres", "capex")[..., 0] * ccf
    )
    capex["power"] += (
        finance.added(fleet.grid, (before * pue[:, 0])[:, None])
        * p("power_sources", "capex")[..., k_grid]
        * ccf
    )
    # Chips are paid for when shipped: bought ones at the vendor's price, own-made ones at their cost
    # (the own lines' capital is already the fab, packaging and HBM capex). Chips the industry was
    # not asked for are not made, so not paid for.
    bought = d.arrivals - d.own_shipped + (fleet.retired if scenario.chips.refresh else 0.0)
    capex["accelerator"] += dot_last(bought, p("accelerators", "price")) + dot_last(
        d.own_shipped, s.own_cost[:, :, None, :]
    )
    capex["network"][...] = finance.network_capex(
        capex["accelerator"], p("datacentres", "network_capex_share")[..., 0]
    )

    fuel = power.generation_cost(p("power_sources", "fuel_cost"), p("power_sources", "variable_om"))
    fuel[..., k_grid] = 0.0
    opex["power"][...] = (
        e.grid * p("regions", "electricity_price")[..., 0]
        + dot_last(e.own, fuel)
        + dot_last(d.plant_capacity, p("power_sources", "fixed_om"))
    )
    opex["datacentre"][...] = fleet.dc_capacity * p("datacentres", "opex")[..., 0]
    return np.moveaxis(capex_all, 0, -1), np.moveaxis(opex_all, 0, -1)


def operations_stage(
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
        per_campus = np.array([x.it_rating for x in d.campuses.items])
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


def asset_lives(params: ParameterSet, axes: Axes, d: Deployment) -> dict[str, np.ndarray]:
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


def produces(scenario: Scenario) -> bool:
    """Whether the scenario models any production: the existing industry, or its own fabs, packaging
    or HBM lines (a scenario that only buys chips makes none, so no production cap can bind)."""
    b = scenario.builds
    return bool(scenario.existing_industry or b.fabs or b.packaging or b.hbm)


def production_limit(scenario: Scenario, s: Supply, ordered: np.ndarray) -> np.ndarray:
    """What limits production each year, as an index into ``supply.LIMITS``: the binding cap,
    ``orders`` where the existing industry shipped less than it could make, or ``none`` for a scenario
    that makes no chips."""
    made = sum_over(ordered, (2, 3))
    could = dot_last(s.industry)
    short = (~s.history)[None, :] & (made < could * (1 - 1e-9) - 1e-9)
    out: np.ndarray = np.where(short, supply.LIMITS.index("orders"), s.bottleneck)
    if not produces(scenario):
        out = np.full_like(out, supply.LIMITS.index("none"))
    return out


def bottleneck_stage(scenario: Scenario, d: Deployment, production: np.ndarray) -> np.ndarray:
    """The binding constraint of each year (docs/model.md §8), as an index into ``BOTTLENECKS``."""
    fleet = d.fleet
    waiting = dot_last(fleet.waiting)  # (S, Y, R)
    # Chips wait for power where capacity is short of firm power, or where the industry would have
    # built more had power allowed it; otherwise for shells (the scenario's own campuses).
    short = fleet.energised < fleet.dc_capacity - 1e-6 * np.maximum(fleet.dc_capacity, 1.0)
    power_short = short | scenario.existing_industry
    stuck_power = dot_last(np.where(power_short, waiting, 0.0))
    stuck_dc = dot_last(np.where(power_short, 0.0, waiting))
    stuck = (stuck_power + stuck_dc) > 1e-6 * np.maximum(sum_over(d.arrivals, (2, 3)), 1.0)
    # Orders bind where the industry could make more than can be energised: power holds it back.
    capped = np.where(production == supply.LIMITS.index("orders"), BOTTLENECKS.index("power"), production)
    # Without any modelled production (chips only bought), no production cap can bind.
    idle = capped if produces(scenario) else np.full_like(production, BOTTLENECKS.index("none"))
    deploy = np.where(stuck_power >= stuck_dc, BOTTLENECKS.index("power"), BOTTLENECKS.index("datacentres"))
    out: np.ndarray = np.where(stuck, deploy, idle).astype(np.int8)
    return out
