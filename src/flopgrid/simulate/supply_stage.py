"""The simulator's supply stage on one block of samples: the programme's own fabs, packaging and HBM
lines and the existing industry → accelerators produced (docs/model.md §2). The arithmetic is in
:mod:`flopgrid.model.supply`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from flopgrid.layout import REFERENCE_ACCELERATOR, Axes, build_arrays, history_years, mix_by_year
from flopgrid.library import HISTORY
from flopgrid.model import builds as bld
from flopgrid.model import datacentres, dot_last, finance, pipeline, supply
from flopgrid.model.builds import BuildArrays
from flopgrid.parameters import SINGLE, ParameterSet
from flopgrid.scenario import Scenario
from flopgrid.simulate.pipeline import supply_additions

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


def construct(
    items: list[Any],
    table: str,
    params: ParameterSet,
    axes: Axes,
    size: Callable[[Any], float],
    item: Callable[[Any], int] | None = None,
) -> Construction:
    """Builds of one kind (``items``) with their lead times drawn from ``table``'s ``lead_time``."""
    builds = build_arrays(items, axes, size, item)
    lead = bld.at_start(params.get(table, "lead_time"), axes.years, builds)
    return Construction(items, builds, lead, bld.years_online(axes.years, builds, lead))


@dataclass(frozen=True)
class Supply:
    """What the supply stage hands on: capacities, caps and production by year."""

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
    fabs = construct(b.fabs, "fabs", params, axes, lambda x: x.count * x.capacity)
    packaging_lines = construct(b.packaging, "packaging", params, axes, lambda x: x.count * x.capacity)
    hbm_lines = construct(b.hbm, "hbm", params, axes, lambda x: x.count * x.capacity)

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
        named = supply_additions("fab", scenario, params, axes)
        if named is not None:
            # The atlas pipeline's window: named fabs' additions, then the trend from their level.
            fab_now = pipeline.extend(np.broadcast_to(level, fab_now.shape), named, growth, years, base)
            fab_before = np.concatenate(
                [fab_before[:, :1] * np.ones((fab_now.shape[0], 1)), fab_now[:, :-1]], 1
            )
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
            named = supply_additions(asset, scenario, params, axes) if asset == "packaging" else None
            if named is not None:
                ceiling = pipeline.extend(known, named, p(asset, growth_name)[..., 0, 0], years, last)
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
