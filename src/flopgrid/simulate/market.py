"""The simulator's market stage: the fleet in service offers H100e-hours at its short-run marginal cost,
the world's demand for compute buys them, and each year clears at one price (docs/model.md §12). The
arithmetic is in :mod:`flopgrid.model.market`; this stage gathers the parameters and the fleet.

A world market is a stated simplification: compute is traded across regions (cloud regions sell to
users anywhere, and the latency of a training run or a batch job does not tie it to a region), so one
price clears every region's fleet; each region's fleet offers at its own electricity price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopgrid.layout import REFERENCE_ACCELERATOR, Axes
from flopgrid.model import contiguous, datacentres, dot_last, power
from flopgrid.model import market as mkt
from flopgrid.parameters import ParameterSet

#: FLOP in the unit of useful work the price is also quoted in.
WORK_UNIT_FLOP = 1e21


@dataclass(frozen=True)
class Offer:
    """A fleet's supply to the market, one class per (region, accelerator), ``c = r × A + a``."""

    cost: np.ndarray  # (sample, year, class) USD per H100e-hour
    capacity: np.ndarray  # (sample, year, class) H100e-hours a year
    energy: np.ndarray  # (sample|1, year, class) facility Wh per H100e-hour sold
    shape: tuple[int, int]  # (regions, accelerators)


def reference_flops(params: ParameterSet, axes: Axes) -> float:
    """FLOP/s of the reference accelerator (an H100), that H100e counts are in."""
    years = axes.years[:1]
    value: float = params.library.series("accelerators", "flops_bf16", [REFERENCE_ACCELERATOR], years)[0][
        0, 0
    ]
    return value


def offer(
    params: ParameterSet,
    axes: Axes,
    installed: np.ndarray,
    initial: np.ndarray,
    utilisation: float | None = None,
) -> Offer:
    """What a fleet offers each year: its average H100e in service × the hours it can sell (utilisation ×
    8,760), at each class's short-run marginal cost.

    Parameters
    ----------
    params, axes
        The run's parameters and axes.
    installed
        Accelerators in service at year end, ``(sample, year, region, accelerator)``.
    initial
        Those in service before the first year, ``(sample|1, region, accelerator)``.
    utilisation
        The share of hours sold at most; default the library's ``datacentres.utilisation``.
    """
    p = params.get
    n_s, n_y, n_r, n_a = installed.shape
    h100e = p("accelerators", "flops_bf16") / reference_flops(params, axes)  # (S|1, Y, 1, A)
    pue = p("datacentres", "pue")  # (S|1, Y, R|1, 1)
    use = np.asarray(utilisation) if utilisation is not None else p("datacentres", "utilisation")
    # Each factor at its own shape first, so that only the last operation is at the fleet's full shape.
    energy = mkt.energy_per_hour(p("accelerators", "it_power"), pue, h100e)
    cost = mkt.marginal_cost(p("regions", "electricity_price"), energy, p("market", "variable_opex"))
    average = datacentres.year_average(installed, initial[:, None])
    capacity = average * (h100e * use * power.HOURS_PER_YEAR)
    return Offer(
        _classes(cost, (n_s, n_y, n_r, n_a)),
        _classes(capacity, (n_s, n_y, n_r, n_a)),
        _classes(energy, (energy.shape[0], n_y, n_r, n_a)),
        (n_r, n_a),
    )


def _classes(values: np.ndarray, shape: tuple[int, int, int, int]) -> np.ndarray:
    """``values`` at ``(sample, year, region, accelerator)`` as ``(sample, year, class)``, C-ordered and
    writeable (as :func:`flopgrid.model.contiguous`: no copy of an array already laid out so)."""
    n_s, n_y, n_r, n_a = shape
    return contiguous(values, shape).reshape(n_s, n_y, n_r * n_a)


def world_demand(params: ParameterSet, axes: Axes, n_samples: int) -> mkt.IsoElastic:
    """The world's demand of each year, ``quantity`` ``(sample, year, use)``: training and inference,
    iso-elastic around the reference price (the 2025 rental price), at demand levels growing from the
    library's base year."""
    p, lib = params.get, params.library

    def first(table: str, parameter: str) -> np.ndarray:
        return np.broadcast_to(p(table, parameter)[:, 0, 0, 0], (n_samples,))

    level = mkt.reference_demand(
        first("market", "demand"),
        first("market", "demand_growth"),
        first("market", "demand_growth_late"),
        axes.years,
        lib.base_year("market", "demand"),
    )  # (S, Y)
    training = first("market", "training_share")
    elasticity = np.stack(
        [first("market", "elasticity_training"), first("market", "elasticity_inference")], 1
    )
    uses = level[:, :, None] * np.stack([training, 1.0 - training], axis=1)[:, None, :]
    return mkt.IsoElastic(uses, first("datacentres", "rental_price"), elasticity)


def price_cap(params: ParameterSet, n_samples: int) -> np.ndarray:
    """The scarcity price cap per sample, USD per H100e-hour."""
    return np.broadcast_to(params.get("market", "price_cap")[:, 0, 0, 0], (n_samples,)).copy()


def market_stage(
    params: ParameterSet,
    axes: Axes,
    installed: np.ndarray,
    initial: np.ndarray,
    utilisation: float | None = None,
) -> dict[str, np.ndarray]:
    """Clear the world market on the scenario's fleet each year (docs/model.md §12): the price, the hours
    each region's fleet sells, the accelerators priced out, the energy of the hours sold, and the
    "as common as electricity" figures."""
    n_s = installed.shape[0]
    o = offer(params, axes, installed, initial, utilisation)
    outcome, retired = mkt.clear_years(
        o.cost, o.capacity, world_demand(params, axes, n_s), price_cap(params, n_s)
    )
    n_r, n_a = o.shape
    sold = outcome.sold.reshape(n_s, len(axes.years), n_r, n_a)
    energy = dot_last(outcome.sold.reshape(sold.shape), o.energy.reshape(o.energy.shape[0], *sold.shape[1:]))
    return {
        "hours_sold": dot_last(sold),
        "accelerators_priced_out": installed * retired.reshape(sold.shape),
        "market_energy": energy,
        **common_figures(params, axes, outcome.price, outcome.quantity, dot_last(energy)),
    }


def common_figures(
    params: ParameterSet, axes: Axes, price: np.ndarray, quantity: np.ndarray, energy: np.ndarray
) -> dict[str, np.ndarray]:
    """ "As common as electricity": the price per H100e-hour and per 1e21 FLOP, the H100e-hours sold per
    person, compute's share of world electricity (UN WPP population, IEA electricity, from the library's
    macro table), and the year the price per 1e21 FLOP has fallen :data:`~flopgrid.model.market.
    PRICE_FALL_FACTOR` times. ``price``, ``quantity`` and ``energy`` (Wh) are ``(sample, year)``."""
    lib = params.library
    population = lib.series("macro", "population", ["world"], axes.years)[0][0]
    electricity = lib.series("macro", "electricity", ["world"], axes.years)[0][0]
    # One H100e-hour is the reference's FLOP/s for 3,600 s.
    per_work = price * WORK_UNIT_FLOP / (reference_flops(params, axes) * 3600.0)
    return {
        "market_price": price,
        "market_price_per_1e21_flop": per_work,
        "market_quantity": quantity,
        "compute_per_person": quantity / population,
        "compute_electricity_share": energy / electricity,
        "price_fall_year": mkt.fall_year(per_work, axes.years),
    }
