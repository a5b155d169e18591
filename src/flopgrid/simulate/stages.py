"""The simulator's stages on one block of samples: supply, deployment, energy, money (capex and opex),
operations, asset lives and the bottleneck of each year (docs/model.md). The arithmetic is in
:mod:`flopgrid.model`; a stage gathers its parameters and builds and calls it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from flopgrid.layout import (
    REFERENCE_ACCELERATOR,
    Axes,
    allocation,
    build_arrays,
    history_years,
    mix_by_year,
    purchases,
)
from flopgrid.library import HISTORY
from flopgrid.model import builds as bld
from flopgrid.model import datacentres, dot_last, finance, power, supply
from flopgrid.model.builds import BuildArrays
from flopgrid.model.finance import ASSETS
from flopgrid.parameters import SINGLE, ParameterSet
from flopgrid.scenario import Scenario
from flopgrid.simulate.variables import BOTTLENECKS

#: Where the existing industry's supply-chain capacity sits, for attributing its capex: TSMC's
#: leading-edge and CoWoS capacity is in Taiwan; HBM is made by SK hynix and Samsung in South Korea
#: (research facts §2.1–2.2, recorded in the library's fabs, packaging and hbm sources).
EXISTING_SUPPLY_REGION = {"fab": "TW", "packaging": "TW", "hbm": "KR"}


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
    own: np.ndarray  # (sample, year, accelerator): made by the programme's own fabs, packaging and HBM
    own_cost: np.ndarray  # (sample|1, year, accelerator): USD an own-made chip costs
    own_wafer_use: np.ndarray  # (sample, year): share of the own fabs' AI wafers that make chips
    own_limit: np.ndarray  # (sample, year): index into CAPS of what binds the programme's own output
    industry: np.ndarray  # (sample, year, accelerator): what the existing industry can make
    history: np.ndarray  # (year,) bool: years the existing industry ships its history
    fleet_before: np.ndarray  # (sample|1,) H100e: the world's fleet before the first year
    caps: np.ndarray  # (sample, year, cap)
    bottleneck: np.ndarray  # (sample, year)
    existing_added: dict[str, np.ndarray]  # asset → capacity the existing industry added, (sample, year)
    fabs: Construction
    packaging_lines: Construction
    hbm_lines: Construction


def history_mask(scenario: Scenario, params: ParameterSet, axes: Axes) -> np.ndarray:
    """Years the existing industry ships its history: up to the last data year, or (``history:
    false``) only the years stepped through before the horizon."""
    _, last = history_years(params.library)
    if not scenario.existing_industry:
        return np.zeros(len(axes.years), dtype=bool)
    if scenario.history:
        out: np.ndarray = axes.years <= last
        return out
    before: np.ndarray = axes.years < axes.horizon[0]
    return before


def supply_stage(scenario: Scenario, params: ParameterSet, axes: Axes) -> Supply:
    """Fabs, packaging and HBM → accelerators produced (docs/model.md §2)."""
    p, lib, b = params.get, params.library, scenario.builds
    years, n_y, n_r = axes.years.astype(float), len(axes.years), len(axes.regions)
    fabs = _construct(b.fabs, "fabs", params, axes, lambda x: x.count * x.capacity)
    packaging_lines = _construct(b.packaging, "packaging", params, axes, lambda x: x.count * x.capacity)
    hbm_lines = _construct(b.hbm, "hbm", params, axes, lambda x: x.count * x.capacity)

    ramps = (bld.at_start(p("fabs", f"ramp_year{k}"), axes.years, fabs.builds)[:, None, :] for k in (1, 2, 3))
    fab_output = supply.ramp(fabs.online, *ramps) * fabs.builds.size  # (S, Y, B) wafers a year
    ai_share = np.array([x.ai_share for x in b.fabs])
    own_wafers = dot_last(fab_output, ai_share) if b.fabs else np.zeros((1, n_y))
    wafer_capacity = bld.to_regions(fab_output, fabs.builds, n_r) if b.fabs else np.zeros((1, n_y, n_r))
    own_packaging = dot_last(packaging_lines.capacity()) if b.packaging else np.zeros((1, n_y))
    own_hbm = dot_last(hbm_lines.capacity()) if b.hbm else np.zeros((1, n_y))

    mix = mix_by_year(scenario, lib, axes)[None]
    diameter = p("fabs", "wafer_diameter")[:, :, 0, :]
    good_dies = supply.good_dies_per_wafer(
        p("accelerators", "logic_die_area")[:, :, 0, :], p("fabs", "defect_density")[:, :, 0, :], diameter
    )
    per_wafer = supply.gross_dies_per_wafer(p("accelerators", "interposer_area")[:, :, 0, :], diameter)
    by_type = supply.per_type(
        good_dies,
        p("accelerators", "dies_per_package")[:, :, 0, :],
        per_wafer,
        p("accelerators", "hbm_capacity")[:, :, 0, :],
    )
    needs = (dot_last(mix, by_type[0]), dot_last(mix, by_type[1]), dot_last(mix, by_type[2]))
    own_cost = supply.own_chip_cost(
        by_type,
        p("fabs", "wafer_cost")[:, :, 0, :],
        p("packaging", "interposer_cost")[:, :, 0, :],
        p("hbm", "price")[:, :, 0, :],
        p("fabs", "operating_share")[:, :, 0, :],
        p("fabs", "own_chip_overhead")[:, :, 0, :],
    )
    # The programme's own chips are made from its own fabs, packaging and HBM lines only.
    own, own_caps, own_limit = supply.production(own_wafers, own_packaging, own_hbm, mix, needs)
    with np.errstate(divide="ignore", invalid="ignore"):
        # NaN where the programme has no AI wafers of its own: a share of nothing is not 0% use.
        own_wafer_use = np.where(own_wafers > 0, own.sum(axis=-1) * needs[0] / own_wafers, np.nan)

    wafers_ai, packaging, hbm = own_wafers, own_packaging, own_hbm
    existing_added: dict[str, np.ndarray] = {}
    history = history_mask(scenario, params, axes)
    industry = np.zeros_like(own)
    caps, bottleneck = own_caps, own_limit
    fleet_before = np.zeros(1)
    if scenario.existing_industry:
        # Leading-edge wafers grow on trend from the end-of-year level of the library's year; a sourced
        # (interpolated, then held) share goes to AI. Output over a year averages its start and end.
        base = lib.base_year("fabs", "existing_capacity")
        level, growth = p("fabs", "existing_capacity")[..., 0, 0], p("fabs", "capacity_growth")[..., 0, 0]
        share = p("fabs", "ai_share")[..., 0, 0]
        fab_now = supply.trend(level, growth, years, base)
        fab_before = supply.trend(level, growth, years - 1, base)
        existing_added["fab"] = np.maximum(fab_now - fab_before, 0.0) * share
        ex_wafers = (fab_now + fab_before) / 2 * share
        tw = axes.regions.index(EXISTING_SUPPLY_REGION["fab"])
        wafer_capacity = wafer_capacity + np.eye(n_r)[tw] * ((fab_now + fab_before) / 2)[..., None]
        # Packaging (end-of-year capacity) and HBM (a year's supply) follow the library's series, then
        # grow as the AI wafers need them but at most along their own trend paths: either can bind.
        ex: dict[str, np.ndarray] = {}
        for asset, level_name, growth_name, per_chip in (
            ("packaging", "existing_capacity", "capacity_growth", needs[1]),
            ("hbm", "existing_supply", "supply_growth", needs[2]),
        ):
            known = p(asset, level_name)[..., 0, 0]
            last = lib.base_year(asset, level_name)
            ceiling = supply.compound(known, p(asset, growth_name)[..., 0, 0], years, last)
            # The year before the first: the data's own step into the first year, at this sample's level.
            step = lib.series(asset, level_name, [SINGLE[asset]], np.array([years[0] - 1, years[0]]))[0][0]
            before = known[:, :1] * (step[0] / step[1] if step[1] > 0 else 1.0)
            averaged = asset == "packaging"
            cap = supply.follow_need(ceiling, ex_wafers / needs[0] * per_chip, before, years, last, averaged)
            existing_added[asset] = finance.added(cap, before)
            ex[asset] = supply.over_year(cap, before) if averaged else cap
        industry, ex_caps, ex_limit = supply.production(ex_wafers, ex["packaging"], ex["hbm"], mix, needs)
        wafers_ai, packaging, hbm = wafers_ai + ex_wafers, packaging + ex["packaging"], hbm + ex["hbm"]
        caps, bottleneck = own_caps + ex_caps, ex_limit
        # In its history years the industry ships what the fleet series says it did (the caps stay a
        # diagnostic): the fleet's growth plus the starting fleet's retirements, in H100e, as chips of
        # the year's mix.
        fleet = p(*HISTORY[:2])[..., 0, 0]
        pair = lib.series(*HISTORY[:2], [HISTORY[2]], np.array([years[0] - 1, years[0]]))[0][0]
        start = fleet[:, :1] * (pair[0] / pair[1] if pair[1] > 0 else 1.0)
        fleet_before = start[:, 0]
        life = datacentres.whole_life(p("datacentres", "accelerator_lifetime")[:, 0, 0, 0])
        grown = np.diff(np.concatenate([np.broadcast_to(start, (fleet.shape[0], 1)), fleet], axis=1), axis=1)
        shipped = np.maximum(grown + start / life[:, None], 0.0)
        flops = p("accelerators", "flops_bf16")[:, :, 0, :]
        h100 = flops[..., axes.accelerators.index(REFERENCE_ACCELERATOR)]
        chips = shipped / (dot_last(mix, flops) / h100)
        industry = np.where(history[None, :, None], chips[..., None] * mix, industry)
    return Supply(
        mix,
        wafers_ai,
        wafer_capacity,
        packaging,
        hbm,
        own,
        own_cost,
        own_wafer_use,
        own_limit,
        industry,
        history,
        fleet_before,
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
    arrivals: np.ndarray  # (sample, year, region, accelerator): shipped (own, bought and the industry's)
    own_shipped: np.ndarray  # of which made by the programme's own lines
    initial: np.ndarray  # (sample|1, region, accelerator)
    existing_dc: np.ndarray | None  # (sample|1, region): the industry's IT capacity before the horizon
    fleet: datacentres.Deployment


def deployment_stage(scenario: Scenario, params: ParameterSet, axes: Axes, s: Supply) -> Deployment:
    """Shipment, orders, data centres, firm power and the fleet (docs/model.md §3–4)."""
    p, b = params.get, scenario.builds
    n_y, n_r, n_k = len(axes.years), len(axes.regions), len(axes.sources)
    campuses = _construct(b.datacentres, "datacentres", params, axes, lambda x: x.count * x.it_rating)
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
    # Chips are paid for when shipped: bought ones at the vendor's price, own-made ones at their cost
    # (the own lines' capital is already the fab, packaging and HBM capex). Chips the industry was
    # not asked for are not made, so not paid for.
    bought = d.arrivals - d.own_shipped + (fleet.retired if scenario.chips.refresh else 0.0)
    capex[..., ASSETS.index("accelerator")] += dot_last(bought, p("accelerators", "price")) + dot_last(
        d.own_shipped, s.own_cost[:, :, None, :]
    )
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
    made = ordered.sum(axis=(2, 3))
    could = s.industry.sum(axis=-1)
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
    stuck = (stuck_power + stuck_dc) > 1e-6 * np.maximum(d.arrivals.sum(axis=(2, 3)), 1.0)
    # Orders bind where the industry could make more than can be energised: power holds it back.
    capped = np.where(production == supply.LIMITS.index("orders"), BOTTLENECKS.index("power"), production)
    # Without any modelled production (chips only bought), no production cap can bind.
    idle = capped if produces(scenario) else np.full_like(production, BOTTLENECKS.index("none"))
    deploy = np.where(stuck_power >= stuck_dc, BOTTLENECKS.index("power"), BOTTLENECKS.index("datacentres"))
    out: np.ndarray = np.where(stuck, deploy, idle).astype(np.int8)
    return out
