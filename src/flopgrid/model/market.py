"""The market for compute: demand curves, the fleet's merit order, the clearing price with a scarcity
cap, and economic retirement (docs/model.md §12).

Pure array functions over samples. A *class* is a block of supply with one short-run marginal cost
(SRMC): an accelerator type (a vintage: its own FLOP/s and power) in one region. Quantities are
H100e-hours a year, prices USD per H100e-hour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: The last year of the near-term demand growth rate; later years grow at the late rate.
GROWTH_SWITCH_YEAR = 2030
#: Bisection steps for the price on a flat stretch of the supply curve: the bracket shrinks by 2^-56,
#: below a float's resolution (2^-52) of the prices in it.
BISECTION_STEPS = 56
#: Newton steps for the price of an iso-elastic demand on a flat stretch (:meth:`IsoElastic.price_for`):
#: quadratic convergence from a bracket end reaches a float's resolution in well under 20, with room
#: for the bisection steps its safeguard may take first.
NEWTON_STEPS = 20
#: How far the price per unit of useful work must fall, from the first model year, for the "as common as
#: electricity" year (:func:`fall_year`).
PRICE_FALL_FACTOR = 10.0

#: A demand curve: quantity wanted, ``(sample, n)``, at prices ``(sample, n)``; non-increasing in price.
Demand = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Clearing:
    """One year's market outcome for every sample."""

    price: np.ndarray  # (sample,) USD per H100e-hour
    quantity: np.ndarray  # (sample,) H100e-hours sold
    sold: np.ndarray  # (sample, class) H100e-hours each class sells
    scarce: np.ndarray  # (sample,) bool: demand at the highest SRMC exceeds the fleet


@dataclass(frozen=True)
class IsoElastic:
    """Demand summed over uses (training, inference): ``Q(P) = Σ_u Q_u (P / P_ref)^−ε_u``.

    Attributes
    ----------
    quantity
        ``Q_u``, H100e-hours wanted at the reference price, ``(sample, use)``.
    reference_price
        ``P_ref``, USD per H100e-hour, ``(sample,)``.
    elasticity
        ``ε_u`` (> 0), ``(sample, use)``.

    Examples
    --------
    >>> d = IsoElastic(np.array([[60.0, 40.0]]), np.array([2.0]), np.array([[0.5, 1.0]]))
    >>> d(np.array([[2.0, 8.0]])).round(6).tolist()
    [[100.0, 40.0]]
    """

    quantity: np.ndarray
    reference_price: np.ndarray
    elasticity: np.ndarray

    def rows(self, index: np.ndarray, n_samples: int) -> IsoElastic:
        """The demand of samples ``index`` of ``n_samples`` (attributes broadcast to every sample)."""
        uses = self.quantity.shape[1]
        return IsoElastic(
            np.broadcast_to(self.quantity, (n_samples, uses))[index],
            np.broadcast_to(self.reference_price, (n_samples,))[index],
            np.broadcast_to(self.elasticity, (n_samples, uses))[index],
        )

    def __call__(self, price: np.ndarray) -> np.ndarray:
        """Quantity wanted at ``price`` ``(sample, n)``, ``(sample, n)``."""
        log_ratio = np.log(price / self.reference_price[:, None])
        # A sum over the few uses written out: numpy's reductions over a short axis are slow.
        out: np.ndarray = np.zeros(np.broadcast_shapes(price.shape, (self.quantity.shape[0], 1)))
        for u in range(self.quantity.shape[1]):
            term = self.quantity[:, u, None] * np.exp(-self.elasticity[:, u, None] * log_ratio)
            # The first use's term is the sum so far (0 + y is y): no pass adding it to zeros.
            if u == 0 and term.shape == out.shape:
                out = term
            else:
                out += term
        return out

    def price_for(self, target: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """The price in ``[low, high]`` at which the quantity wanted is ``target``, ``(sample,)``.

        Newton's method on ``f(x) = log Q(e^x) − log target``: a sum of exponentials of ``x`` is
        log-convex, so ``f`` is convex and decreasing, and Newton's steps from ``low`` (where ``f ≥ 0``)
        climb to the root without overshooting it, converging quadratically: :data:`NEWTON_STEPS` steps
        reach a float's resolution where the 56 steps of a bisection were needed. A step that is not a
        number or leaves the bracket is replaced by a bisection step.

        Examples
        --------
        >>> d = IsoElastic(np.array([[60.0, 40.0]]), np.array([2.0]), np.array([[0.5, 1.0]]))
        >>> p = d.price_for(np.array([70.0]), np.array([1.0]), np.array([10.0]))
        >>> round(float(d(p[:, None])[0, 0]), 9)
        70.0
        """
        tiny = np.finfo(float).tiny
        lo, hi = np.log(np.maximum(low, tiny)), np.log(np.maximum(high, tiny))
        x, goal = lo.copy(), np.log(np.maximum(target, tiny))
        # What does not change between steps, once: the log of the reference price and each use's
        # columns (``-ε`` as the exponent's factor, as ``(−ε) × log ratio`` was).
        log_reference = np.log(self.reference_price)
        uses = [
            (self.quantity[:, u], -self.elasticity[:, u], self.elasticity[:, u])
            for u in range(self.quantity.shape[1])
        ]
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            for _ in range(NEWTON_STEPS):
                log_ratio = x - log_reference
                wanted, slope = np.zeros_like(x), np.zeros_like(x)
                for k, (quantity, exponent, elasticity) in enumerate(uses):
                    term = quantity * np.exp(exponent * log_ratio)
                    # The first use's sums are its own term (0 + y is y): one array operation fewer.
                    wanted = term if k == 0 else wanted + term
                    slope = elasticity * term if k == 0 else slope + elasticity * term
                excess = np.log(wanted) - goal
                # Done where the quantity is within 1e-13 of the target or the bracket has closed (a
                # row whose price is on a step has a bracket of one point): stop when every row is.
                if not np.any((np.abs(excess) > 1e-13) & (hi - lo > 1e-15)):
                    break
                # Safeguarded: the bracket [lo, hi] keeps the root; a Newton step that is not a number
                # (demand overflowing near a price of 0) or leaves the bracket is a bisection instead.
                up = excess > 0
                lo = np.where(up, x, lo)
                hi = np.where(up, hi, x)
                newton = x + excess * wanted / slope
                inside = np.isfinite(newton) & (newton > lo) & (newton < hi)
                x = np.where(excess == 0, x, np.where(inside, newton, 0.5 * (lo + hi)))
        price: np.ndarray = np.clip(np.exp(x), low, high)
        return price


def reference_demand(
    base: np.ndarray,
    growth_near: np.ndarray,
    growth_late: np.ndarray,
    years: np.ndarray,
    base_year: float,
) -> np.ndarray:
    """Demand at the reference price by year: ``base`` in ``base_year``, growing at ``growth_near`` a
    year up to :data:`GROWTH_SWITCH_YEAR` and at ``growth_late`` after it.

    Computed from calendar years, so the demand of a year does not depend on where the horizon starts.
    Before ``base_year`` the near-term rate is run backwards.

    Parameters
    ----------
    base, growth_near, growth_late
        ``(sample|1,)``.
    years
        Calendar years, ``(year,)``.
    base_year
        The year ``base`` refers to.

    Returns
    -------
    numpy.ndarray
        ``(sample|1, year)``.

    Examples
    --------
    >>> reference_demand(np.array([1.0]), np.array([1.0]), np.array([0.0]), np.array([2029, 2031]), 2028)
    array([[2., 4.]])
    """
    y = np.asarray(years, float)[None, :]
    near = np.minimum(y, GROWTH_SWITCH_YEAR) - base_year
    late = np.maximum(y - max(GROWTH_SWITCH_YEAR, base_year), 0.0)
    out: np.ndarray = (
        base[:, None] * (1.0 + growth_near[:, None]) ** near * (1.0 + growth_late[:, None]) ** late
    )
    return out


def marginal_cost(
    electricity_price: np.ndarray,
    it_power: np.ndarray,
    pue: np.ndarray,
    variable_opex: np.ndarray,
    h100e: np.ndarray,
) -> np.ndarray:
    """Short-run marginal cost of an H100e-hour from one accelerator type:
    ``price × it_power × PUE / (FLOP/s ÷ reference FLOP/s) + variable opex``.

    Parameters
    ----------
    electricity_price
        USD per Wh at the accelerator's region.
    it_power
        W per accelerator, all-in IT (chip, host, network).
    pue
        Facility energy over IT energy.
    variable_opex
        USD per H100e-hour of use besides energy.
    h100e
        H100-equivalents per accelerator (its FLOP/s over the reference's).

    Returns
    -------
    numpy.ndarray
        USD per H100e-hour, broadcast over the arguments.

    Examples
    --------
    A 1 kW chip worth 2 H100e at $0.10/kWh and PUE 1.2, with $0.03 of other costs per H100e-hour:

    >>> float(marginal_cost(np.array(1e-4), np.array(1000.0), np.array(1.2), np.array(0.03), np.array(2.0)))
    0.09
    """
    out: np.ndarray = electricity_price * it_power * pue / h100e + variable_opex
    return out


def clear(cost: np.ndarray, capacity: np.ndarray, demand: Demand, cap: np.ndarray) -> Clearing:
    """Clear one year's market: the price where demand meets the fleet's merit order.

    Supply at price ``P`` is the capacity of every class with ``cost ≤ P``, a staircase. The price is
    the lowest at which supply covers demand: on a step (``P = cost`` of the marginal class, which sells
    part of its capacity) or on a flat stretch between two steps (``Q(P) = capacity offered``, found by
    bisection). When demand at the highest cost exceeds the whole fleet, the price rises along demand
    until it is met, at most to ``cap`` (scarcity); the fleet then sells all it has.

    Parameters
    ----------
    cost
        SRMC of each class, ``(sample, class)``; classes may be in any order.
    capacity
        H100e-hours each class can sell, ``(sample, class)``, ≥ 0.
    demand
        Quantity wanted at prices ``(sample, n)``: non-increasing in price, positive.
    cap
        The highest price, ``(sample,)``; above every class's cost.

    Returns
    -------
    Clearing

    Examples
    --------
    Two classes of 10 hours at $1 and $3; linear demand ``20 − 5P``: at $1 demand is 15 > 10, at $3 it
    is 5 < 10 + 10, so the price is on the flat stretch where ``20 − 5P = 10``, $2.

    >>> linear = lambda p: np.maximum(20.0 - 5.0 * p, 0.0)
    >>> r = clear(np.array([[1.0, 3.0]]), np.array([[10.0, 10.0]]), linear, np.array([10.0]))
    >>> float(r.price[0]), float(r.quantity[0]), r.sold.tolist()
    (2.0, 10.0, [[10.0, 0.0]])
    """
    n_s = cost.shape[0]
    cost, capacity = np.broadcast_arrays(cost, capacity)
    # Scarcity, common for a programme's fleet alone against the world's demand: when demand at the cap
    # exceeds all that is offered at or below it, the backstop at the cap is the row's marginal step
    # (demand only falls along the merit order, which offers at most that much before it), so the price
    # is the cap and the row's merit order need not be sorted.
    wanted_at_cap = demand(cap[:, None])[:, 0]
    scarce = wanted_at_cap > np.where(cost <= cap[:, None], capacity, 0.0).sum(axis=1)
    if not scarce.any() or not (scarce.all() or isinstance(demand, IsoElastic)):
        return merit_order(cost, capacity, demand, cap)
    price = np.array(cap, dtype=float)
    quantity = np.minimum(wanted_at_cap, capacity.sum(axis=1))
    sold = settle(cost, capacity, price, quantity)
    rest = np.flatnonzero(~scarce)
    if rest.size and isinstance(demand, IsoElastic):
        others = merit_order(cost[rest], capacity[rest], demand.rows(rest, n_s), cap[rest])
        price[rest], quantity[rest], sold[rest] = others.price, others.quantity, others.sold
        scarce[rest] = others.scarce
    return Clearing(price, quantity, sold, scarce)


def merit_order(cost: np.ndarray, capacity: np.ndarray, demand: Demand, cap: np.ndarray) -> Clearing:
    """:func:`clear` by sorting each row's classes into a merit order (arguments as there, ``cost`` and
    ``capacity`` of one shape)."""
    n_s = cost.shape[0]
    rows = np.arange(n_s)[:, None]
    # A backstop class at the cap with unbounded capacity: every sample then has a step where supply
    # covers demand, and scarcity is the case where that step is the backstop.
    # Classes dearer than the cap come after it and are never reached.
    every_cost = np.concatenate([cost, cap[:, None]], axis=1)
    order = np.argsort(every_cost, axis=1, kind="stable")
    # Positions in the flattened (sample, step) arrays: a flat gather is cheaper than ``[rows, order]``.
    index = order + rows * every_cost.shape[1]
    steps = np.take(every_cost, index)
    # "Unbounded" is the largest float whose sums with the classes after it stay finite.
    unbounded = np.finfo(float).max / (cost.shape[1] + 2)
    blocks = np.take(np.concatenate([capacity, np.full((n_s, 1), unbounded)], axis=1), index)
    offered = np.cumsum(blocks, axis=1)
    # What is offered below each step, summed anew (offered − blocks would lose it beside the backstop).
    before = np.concatenate([np.zeros((n_s, 1)), offered[:, :-1]], axis=1)
    wanted = demand(steps)
    # Excess demand at a step's price falls along the merit order: the first step where it is ≤ 0 is the
    # marginal one.
    marginal = np.argmax(wanted <= offered, axis=1)
    at = np.arange(n_s)
    on_step = wanted[at, marginal] >= before[at, marginal]
    # Otherwise the price is between the previous step and this one, where demand equals what is
    # offered below it (marginal ≥ 1 there: nothing is offered below the first step).
    target = before[at, marginal]
    low = steps[at, np.maximum(marginal - 1, 0)]
    high = steps[at, marginal]
    if isinstance(demand, IsoElastic):
        # Rows whose price is on a step need no search (their bracket would be one point, which no step
        # of the search moves or counts as unfinished): only the others are searched.
        off = np.flatnonzero(~on_step)
        if off.size:
            high = high.copy()
            high[off] = demand.rows(off, n_s).price_for(target[off], low[off], high[off])
    else:
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (low + high)
            short = demand(mid[:, None])[:, 0] > target
            low, high = np.where(short, mid, low), np.where(short, high, mid)
    price = np.where(on_step, steps[at, marginal], high)
    total = capacity.sum(axis=1)
    quantity = np.where(on_step, np.minimum(wanted[at, marginal], total), np.minimum(target, total))
    scarce = order[at, marginal] == cost.shape[1]
    return Clearing(price, quantity, settle(cost, capacity, price, quantity), scarce)


def settle(cost: np.ndarray, capacity: np.ndarray, price: np.ndarray, quantity: np.ndarray) -> np.ndarray:
    """What each class sells once the price and quantity are known, ``(sample, class)``: classes below
    the price sell all they can; classes at the price share what is left pro rata.

    Examples
    --------
    >>> settle(np.array([[1.0, 2.0, 2.0]]), np.array([[5.0, 4.0, 4.0]]), np.array([2.0]), np.array([9.0]))
    array([[5., 2., 2.]])
    """
    below = cost < price[:, None]
    at_price = cost == price[:, None]
    sold_below = np.where(below, capacity, 0.0)
    full = sold_below.sum(axis=1)
    tied = np.where(at_price, capacity, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(tied > 0, np.clip((quantity - full) / tied, 0.0, 1.0), 0.0)
    sold: np.ndarray = sold_below + np.where(at_price, capacity * share[:, None], 0.0)
    return sold


def clear_years(
    cost: np.ndarray,
    capacity: np.ndarray,
    demand: Callable[[int], Demand],
    cap: np.ndarray,
) -> tuple[Clearing, np.ndarray]:
    """Clear every year in turn, retiring classes that the market prices out.

    Economic retirement: a class that has capacity and whose SRMC is above the year's clearing price
    sells no hour that year (the price is the year's average: its cost stays above the price for the whole
    year); it is retired from that year on, for good, as an old power plant is, with every later arrival of
    the same type in that region. A class at the price (the marginal one) is not retired.

    Parameters
    ----------
    cost, capacity
        ``(sample, year, class)``.
    demand
        ``demand(t)`` is the demand curve of year index ``t``.
    cap
        The price cap, ``(sample,)``.

    Returns
    -------
    tuple of Clearing and numpy.ndarray
        The clearing with a year axis (``price`` and ``quantity`` ``(sample, year)``, ``sold``
        ``(sample, year, class)``), and the retired mask ``(sample, year, class)``.

    Examples
    --------
    A $3 class is priced out when demand falls from 30 to 5 hours (price $1) and stays out:

    >>> curves = [lambda p: np.full_like(p, 30.0), lambda p: np.full_like(p, 5.0)]
    >>> cost = np.array([[[1.0, 3.0], [1.0, 3.0]]])
    >>> out, retired = clear_years(cost, np.full((1, 2, 2), 10.0), curves.__getitem__, np.array([9.0]))
    >>> out.price.tolist(), retired[0].tolist()
    ([[9.0, 1.0]], [[False, False], [False, True]])
    """
    n_s, n_y, n_c = np.broadcast_shapes(cost.shape, capacity.shape)
    cost = np.broadcast_to(cost, (n_s, n_y, n_c))
    capacity = np.broadcast_to(capacity, (n_s, n_y, n_c))
    out = {name: np.zeros((n_s, n_y)) for name in ("price", "quantity")}
    scarce = np.zeros((n_s, n_y), dtype=bool)
    sold = np.zeros((n_s, n_y, n_c))
    retired = np.zeros((n_s, n_y, n_c), dtype=bool)
    gone = np.zeros((n_s, n_c), dtype=bool)
    # A loop over years: what is retired carries over.
    for t in range(n_y):
        offered = np.where(gone, 0.0, capacity[:, t])
        year = clear(cost[:, t], offered, demand(t), cap)
        gone = gone | ((offered > 0) & (cost[:, t] > year.price[:, None]))
        retired[:, t] = gone
        out["price"][:, t], out["quantity"][:, t], scarce[:, t] = year.price, year.quantity, year.scarce
        sold[:, t] = year.sold
    return Clearing(out["price"], out["quantity"], sold, scarce), retired


def fall_year(price: np.ndarray, years: np.ndarray, factor: float = PRICE_FALL_FACTOR) -> np.ndarray:
    """The first year from which ``price`` ``(sample, year)`` stays at or below its first year's value
    divided by ``factor``; NaN if it never does by the horizon's end.

    Examples
    --------
    >>> fall_year(np.array([[10.0, 2.0, 0.9, 0.8], [10.0, 5.0, 4.0, 3.0]]), np.arange(2025, 2029))
    array([2027.,   nan])
    """
    below = price <= price[:, :1] / factor
    stays = np.flip(np.cumprod(np.flip(below, axis=1), axis=1), axis=1).astype(bool)
    first = np.argmax(stays, axis=1)
    out: np.ndarray = np.where(stays[:, -1], years[first].astype(float), np.nan)
    return out
