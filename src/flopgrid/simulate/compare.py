"""A programme against the world (docs/model.md §12.4): the world market cleared on the world's fleet
alone, and again with the programme's fleet added.

"With the programme" is the world's fleet (the ``against`` scenario, usually ``reference``) and the
programme's fleet offering together on the world's demand: both scenarios are simulated on their own, and
their fleets are merged in the market. The simplification, stated: the programme's supply chain (its
own fabs, packaging, HBM, campuses, power) does not take inputs from the world's, nor the world's from
it; each fleet offers at its own scenario's costs; demand, the reference price and the cap are the
world's.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import xarray as xr

from flopgrid.errors import ScenarioError
from flopgrid.layout import Axes
from flopgrid.model import market as mkt
from flopgrid.parameters import ParameterSet
from flopgrid.scenario import Scenario, load_scenario
from flopgrid.simulate.market import Offer, offer, price_cap, world_demand
from flopgrid.simulate.runner import prepare, run_block

#: The fleet variables a comparison needs from each run.
FLEET = ("accelerators_installed", "accelerators_added", "accelerators_retired")
#: The comparison's variables: (name, unit, long name); every one is ``(sample, year)``.
COMPARISON = (
    ("price", "USD/hour", "clearing price per H100e-hour with the programme"),
    ("price_without", "USD/hour", "clearing price per H100e-hour without the programme"),
    ("quantity", "H100e*hour", "H100e-hours sold with the programme"),
    ("quantity_without", "H100e*hour", "H100e-hours sold without the programme"),
    ("programme_hours", "H100e*hour", "H100e-hours the programme sells"),
    ("programme_revenue", "USD", "the programme's revenue"),
    ("others_revenue", "USD", "the rest of the market's revenue with the programme"),
    ("others_revenue_without", "USD", "the rest of the market's revenue without the programme"),
    ("others_revenue_change", "USD", "change of the rest of the market's revenue due to the programme"),
    ("share", "1", "the programme's share of the H100e-hours sold"),
)


def _fleet_offer(scenario: Scenario, samples: int, seed: int) -> tuple[Offer, ParameterSet, Axes]:
    """Simulate ``scenario``'s fleet and return what it offers, with its parameters and axes."""
    scenario, params, axes = prepare(scenario, samples, seed)
    ds = run_block(scenario, params, axes, 0, samples, keep=set(FLEET))
    # The run may step through history before its horizon; the Results, and so the market, are the
    # horizon's years.
    params, axes = params.from_year(axes.skip), replace(axes, years=axes.horizon, skip=0)
    installed = ds["accelerators_installed"].values
    # The fleet before the first year, from the first year's stock identity.
    initial = (
        installed[:, 0] - ds["accelerators_added"].values[:, 0] + ds["accelerators_retired"].values[:, 0]
    )
    utilisation = scenario.finance.revenue.utilisation
    return offer(params, axes, installed, initial, utilisation), params, axes


def compare(
    programme: Scenario | str | Path,
    against: Scenario | str | Path = "reference",
    samples: int = 1,
    seed: int = 0,
) -> xr.Dataset:
    """Clear the world market with and without a programme, year by year.

    Parameters
    ----------
    programme
        The programme's scenario (its own builds; usually without the existing industry).
    against
        The world without the programme (default ``reference``); its parameters give the demand.
    samples, seed
        Monte Carlo samples and seed, the same for both runs.

    Returns
    -------
    xarray.Dataset
        The variables of :data:`COMPARISON`, each ``(sample, year)`` with ``units`` and ``long_name``:
        a Dataset that :mod:`flopgrid.questions` reads (``"price@2030 <= 1"``).

    Examples
    --------
    >>> c = compare("seed-7t")
    >>> bool((c["price"] <= c["price_without"] + 1e-9).all())
    True
    """
    world, world_params, world_axes = _fleet_offer(_loaded(against), samples, seed)
    own, _, own_axes = _fleet_offer(_loaded(programme), samples, seed)
    if list(own_axes.years) != list(world_axes.years):
        raise ScenarioError(
            f"the programme's years {own_axes.years[0]}–{own_axes.years[-1]} differ from the world's "
            f"{world_axes.years[0]}–{world_axes.years[-1]}; give both scenarios the same horizon",
            path="horizon",
        )
    demand = world_demand(world_params, world_axes, samples)
    cap = price_cap(world_params, samples)
    alone, _ = mkt.clear_years(world.cost, world.capacity, demand, cap)
    both, _ = mkt.clear_years(
        np.concatenate([world.cost, own.cost], axis=2),
        np.concatenate([world.capacity, own.capacity], axis=2),
        demand,
        cap,
    )
    n_world = world.cost.shape[2]
    hours = both.sold[..., n_world:].sum(axis=-1)
    others = both.sold[..., :n_world].sum(axis=-1) * both.price
    others_without = alone.quantity * alone.price
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(both.quantity > 0, hours / both.quantity, np.nan)
    values = {
        "price": both.price,
        "price_without": alone.price,
        "quantity": both.quantity,
        "quantity_without": alone.quantity,
        "programme_hours": hours,
        "programme_revenue": hours * both.price,
        "others_revenue": others,
        "others_revenue_without": others_without,
        "others_revenue_change": others - others_without,
        "share": share,
    }
    ds = xr.Dataset(
        {
            name: (("sample", "year"), values[name], {"units": unit, "long_name": long_name})
            for name, unit, long_name in COMPARISON
        },
        coords={"sample": np.arange(samples), "year": world_axes.years},
    )
    ds.attrs.update({"samples": samples, "seed": seed})
    return ds


def _loaded(scenario: Scenario | str | Path) -> Scenario:
    """The scenario itself, or loaded when given by name or path."""
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
