"""How a scenario is laid out on arrays: its axes, its builds, and its output and shipment shares.

Shared by the engines: both the simulator and (later) the planner see a scenario through these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from flopgrid.errors import ScenarioError
from flopgrid.library import Library
from flopgrid.model.builds import BuildArrays
from flopgrid.parameters import used_items
from flopgrid.scenario import Scenario, shares_in

#: The accelerator that defines an H100-equivalent, and the type of the fleet existing before the horizon.
REFERENCE_ACCELERATOR = "H100"


@dataclass(frozen=True)
class Axes:
    """The coordinates of one run: only the regions, accelerators and sources a scenario touches."""

    years: np.ndarray
    regions: list[str]
    accelerators: list[str]
    sources: list[str]
    #: Years stepped through before the horizon (history), at the front of ``years``; Results hold
    #: ``years[skip:]``.
    skip: int = 0

    @property
    def horizon(self) -> np.ndarray:
        """The horizon's years (those the Results hold)."""
        out: np.ndarray = self.years[self.skip :]
        return out


def history_years(library: Library) -> tuple[int, int]:
    """The first year stepped through and the last data year of the existing industry's history
    (:meth:`flopgrid.library.Library.history_years`)."""
    return library.history_years()


#: The vendor of each named accelerator of the library (the ``macro`` table's ``compute_share`` items).
#: Generic generations (:data:`GENERIC_PREFIX`) belong to no vendor: they are the trend's frontier part.
VENDORS: dict[str, tuple[str, ...]] = {
    "NVIDIA": ("H100", "H200", "B200", "GB200", "GB300", "Rubin"),
    "AMD": ("MI300X", "MI355X"),
    "Google": ("TPUv5p", "TPUv6e", "TPUv7"),
    "Amazon": ("Trainium2",),
}
#: Names of the roadmap's generic generations (``NextGen-2028`` …), which continue the sourced trends.
GENERIC_PREFIX = "NextGen-"


def default_mix(library: Library, years: np.ndarray) -> list[dict[str, float]]:
    """Output shares by accelerator for each year when the scenario gives no ``chips.mix``.

    Each vendor (``VENDORS``) gets its share of the year's compute (``macro.<vendor>.compute_share``,
    in H100e), carried by its newest part in volume that year (the fastest on ties); once a generic
    generation of the roadmap is in volume, it carries every vendor's share (the frontier on the trend).
    Shares in compute are turned into shares of units by each part's H100e per unit (dense BF16).
    """
    names = library.ids("accelerators")
    first, _, _ = library.series("accelerators", "first_volume_year", names, years[:1])
    speed, _, _ = library.series("accelerators", "flops_bf16", names, years[:1])
    first_of = dict(zip(names, first[:, 0], strict=True))
    speed_of = dict(zip(names, speed[:, 0], strict=True))
    vendors = [v for v in VENDORS if library.has("macro", v, "compute_share")]
    shares, _, _ = library.series("macro", "compute_share", vendors, years)
    generic = [n for n in names if n.startswith(GENERIC_PREFIX)]
    out: list[dict[str, float]] = []
    for t, year in enumerate(years):
        frontier = [n for n in generic if first_of[n] <= year]
        compute: dict[str, float] = {}
        for v, vendor in enumerate(vendors):
            parts = [n for n in VENDORS[vendor] if n in first_of and first_of[n] <= year]
            if frontier:
                part = max(frontier, key=lambda n: (first_of[n], speed_of[n]))
            elif parts:
                part = max(parts, key=lambda n: (first_of[n], speed_of[n], n))
            else:
                continue
            compute[part] = compute.get(part, 0.0) + float(shares[v, t])
        if not compute:  # before any part is in volume: the earliest part
            out.append({names[int(np.argmin(first[:, 0]))]: 1.0})
            continue
        units = {n: share / speed_of[n] for n, share in compute.items()}
        total = sum(units.values())
        out.append({n: float(u / total) for n, u in units.items()})
    return out


def axes_for(scenario: Scenario, library: Library) -> Axes:
    """The regions, accelerators and power sources a scenario touches.

    With the existing industry every region is modelled; otherwise only those the scenario names.
    """
    years = np.array(scenario.years)
    skip = 0
    if scenario.existing_industry:
        # The industry's stocks at the start of any horizon come from stepping through history from
        # the first history year, so that every start year carries the same stocks (docs/model.md §1).
        first, _ = history_years(library)
        skip = max(int(years[0]) - first, 0)
        years = np.arange(int(years[0]) - skip, int(years[-1]) + 1)
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
        [name for shares in default_mix(library, years) for name in shares]
        if mix is None
        else [name for shares in mix.values() for name in shares]
    )
    chips += [d.accelerator for d in b.datacentres if d.accelerator] + [p.accelerator for p in b.purchases]
    if scenario.existing_industry:
        chips.append(REFERENCE_ACCELERATOR)
    accelerators = used_items(chips, library.ids("accelerators"))
    sources = used_items(["grid", *(p.source for p in b.power)], library.ids("power_sources"))
    return Axes(years, regions, accelerators, sources, skip)


def build_arrays(
    items: list[Any], axes: Axes, size: Callable[[Any], float], item: Callable[[Any], int] | None = None
) -> BuildArrays:
    """Builds of one kind as arrays: start year, total size (count × capacity), region, item."""
    if not items:
        return BuildArrays.empty()
    return BuildArrays(
        start=np.array([x.start for x in items], dtype=float),
        size=np.array([size(x) for x in items], dtype=float),
        region=np.array([axes.regions.index(x.region) for x in items]),
        item=np.array([item(x) if item else 0 for x in items]),
    )


def mix_by_year(scenario: Scenario, library: Library, axes: Axes) -> np.ndarray:
    """Output shares by accelerator type, ``(year, accelerator)``."""
    mix = np.zeros((len(axes.years), len(axes.accelerators)))
    steps = scenario.chips.steps("mix", int(axes.years[0]))
    defaults = default_mix(library, axes.years) if steps is None else []
    for t, year in enumerate(axes.years):
        shares = defaults[t] if steps is None else shares_in(steps, int(year))
        for name, share in shares.items():
            mix[t, axes.accelerators.index(name)] = share
    return mix


def allocation(scenario: Scenario, library: Library, axes: Axes, campuses: BuildArrays) -> np.ndarray:
    """Shares of output by region for each accelerator type, ``(year, region, accelerator)``.

    ``chips.allocation`` when given; else the library's ``chip_share`` with the existing industry; else
    (programme only) in proportion to the campuses whose construction has started; ``policy.exclude``
    zeroes shares, which are then renormalised per type.
    """
    n_r = len(axes.regions)
    shares = np.zeros((len(axes.years), n_r))
    steps = scenario.chips.steps("allocation", int(axes.years[0]))
    if steps is not None:
        for t, year in enumerate(axes.years):
            for name, share in shares_in(steps, int(year)).items():
                shares[t, axes.regions.index(name)] = share
    elif not scenario.existing_industry and len(campuses):
        started = (axes.years[:, None] >= campuses.start[None, :]) * campuses.size[None, :]
        started = np.where(started.sum(axis=1, keepdims=True) > 0, started, campuses.size[None, :])
        onehot = np.zeros((len(campuses), n_r))
        onehot[np.arange(len(campuses)), campuses.region] = 1.0
        shares = started @ onehot
    else:
        shares = np.nan_to_num(library.series("regions", "chip_share", axes.regions, axes.years)[0].T)
    by_type = np.repeat(shares[:, :, None], len(axes.accelerators), axis=2)
    for rule in scenario.policy.exclude:
        if rule.region not in axes.regions:
            continue
        r = axes.regions.index(rule.region)
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


def purchases(scenario: Scenario, axes: Axes) -> np.ndarray:
    """Accelerators bought from outside the modelled supply chain, ``(year, region, accelerator)``."""
    out = np.zeros((len(axes.years), len(axes.regions), len(axes.accelerators)))
    for x in scenario.builds.purchases:
        t = int(np.searchsorted(axes.years, x.year))
        out[t, axes.regions.index(x.region), axes.accelerators.index(x.accelerator)] += x.quantity
    return out
