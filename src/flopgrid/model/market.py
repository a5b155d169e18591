"""The market for compute: demand curves, the fleet's merit order, the clearing price with a scarcity
cap, and economic retirement (docs/model.md §12).

Pure array functions over samples. A *class* is a block of supply with one short-run marginal cost
(SRMC): an accelerator type (a vintage: its own FLOP/s and power) in one region. Quantities are
H100e-hours a year, prices USD per H100e-hour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopgrid.model import compiled, contiguous

#: The last year of the near-term demand growth rate; later years grow at the late rate.
GROWTH_SWITCH_YEAR = 2030
#: Newton steps for the price of an iso-elastic demand on a flat stretch of the supply curve:
#: quadratic convergence from a bracket end reaches a float's resolution in well under 20, with room
#: for the bisection steps its safeguard may take first.
NEWTON_STEPS = 20
#: How far the price per unit of useful work must fall, from the first model year, for the "as common as
#: electricity" year (:func:`fall_year`).
PRICE_FALL_FACTOR = 10.0


@dataclass(frozen=True)
class Clearing:
    """The market's outcome for every sample (and year, from :func:`clear_years`)."""

    price: np.ndarray  # (sample[, year]) USD per H100e-hour
    quantity: np.ndarray  # (sample[, year]) H100e-hours sold
    sold: np.ndarray  # (sample[, year], class) H100e-hours each class sells
    scarce: np.ndarray  # (sample[, year]) bool: the price is on demand above every class offered


@dataclass(frozen=True)
class IsoElastic:
    """Demand summed over uses (training, inference): ``Q(P) = Σ_u Q_u (P / P_ref)^−ε_u``.

    Attributes
    ----------
    quantity
        ``Q_u``, H100e-hours wanted at the reference price, ``(sample, use)``; for :func:`clear_years`,
        ``(sample, year, use)``.
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

    def __call__(self, price: np.ndarray) -> np.ndarray:
        """Quantity wanted at ``price`` ``(sample, n)``, ``(sample, n)`` (``quantity`` of one year)."""
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


def energy_per_hour(it_power: np.ndarray, pue: np.ndarray, h100e: np.ndarray) -> np.ndarray:
    """Facility energy of an H100e-hour from one accelerator type, Wh: ``it_power × PUE / (FLOP/s ÷
    reference FLOP/s)``.

    Parameters
    ----------
    it_power
        W per accelerator, all-in IT (chip, host, network).
    pue
        Facility energy over IT energy.
    h100e
        H100-equivalents per accelerator (its FLOP/s over the reference's).

    Examples
    --------
    A 1 kW chip worth 2 H100e at PUE 1.2:

    >>> float(energy_per_hour(np.array(1000.0), np.array(1.2), np.array(2.0)))
    600.0
    """
    out: np.ndarray = it_power * pue / h100e
    return out


def marginal_cost(electricity_price: np.ndarray, energy: np.ndarray, variable_opex: np.ndarray) -> np.ndarray:
    """Short-run marginal cost of an H100e-hour from one accelerator type: ``price × energy + variable
    opex``.

    Parameters
    ----------
    electricity_price
        USD per Wh at the accelerator's region.
    energy
        Facility Wh per H100e-hour (:func:`energy_per_hour`).
    variable_opex
        USD per H100e-hour of use besides energy.

    Returns
    -------
    numpy.ndarray
        USD per H100e-hour, broadcast over the arguments.

    Examples
    --------
    600 Wh per H100e-hour (a 1 kW chip worth 2 H100e at PUE 1.2) at $0.10/kWh, with $0.03 of other costs
    per H100e-hour:

    >>> float(marginal_cost(np.array(1e-4), np.array(600.0), np.array(0.03)))
    0.09
    """
    out: np.ndarray = electricity_price * energy + variable_opex
    return out


def clear(cost: np.ndarray, capacity: np.ndarray, demand: IsoElastic, cap: np.ndarray) -> Clearing:
    """Clear one year's market: the price where demand meets the fleet's merit order.

    Supply at price ``P`` is the capacity of every class with ``cost ≤ P``, a staircase. The price is
    the lowest at which supply covers demand: on a step (``P = cost`` of the marginal class, which sells
    part of its capacity) or on a flat stretch between two steps (``Q(P) = capacity offered``, found by
    Newton's method). When demand at the highest cost exceeds the whole fleet, the price rises along
    demand until it is met, at most to ``cap`` (scarcity); the fleet then sells all it has.

    Parameters
    ----------
    cost
        SRMC of each class, ``(sample, class)``; classes may be in any order.
    capacity
        H100e-hours each class can sell, ``(sample, class)``, ≥ 0.
    demand
        The year's demand, ``quantity`` ``(sample|1, use)``.
    cap
        The highest price, ``(sample,)``; above every class's cost.

    Returns
    -------
    Clearing

    Examples
    --------
    Two classes of 10 hours at $1 and $3; demand ``Q = 15 / P``: at $1 it wants 15 > 10, at $3 only 5,
    less than the 10 offered below $3, so the price is on the flat stretch where ``15 / P = 10``, $1.50.

    >>> demand = IsoElastic(np.array([[15.0]]), np.array([1.0]), np.array([[1.0]]))
    >>> r = clear(np.array([[1.0, 3.0]]), np.array([[10.0, 10.0]]), demand, np.array([10.0]))
    >>> round(float(r.price[0]), 12), round(float(r.quantity[0]), 12), r.sold.tolist()
    (1.5, 10.0, [[10.0, 0.0]])
    """
    year = IsoElastic(demand.quantity[:, None, :], demand.reference_price, demand.elasticity)
    out, _ = clear_years(cost[:, None], capacity[:, None], year, cap)
    return Clearing(out.price[:, 0], out.quantity[:, 0], out.sold[:, 0], out.scarce[:, 0])


def clear_years(
    cost: np.ndarray,
    capacity: np.ndarray,
    demand: IsoElastic,
    cap: np.ndarray,
    shortcut: bool = True,
) -> tuple[Clearing, np.ndarray]:
    """Clear every year in turn (as :func:`clear`), retiring classes that the market prices out.

    Economic retirement: a class that has capacity and whose SRMC is above the year's clearing price
    sells no hour that year (the price is the year's average: its cost stays above the price for the whole
    year); it is retired from that year on, for good, as an old power plant is, with every later arrival of
    the same type in that region. A class at the price (the marginal one) is not retired.

    Parameters
    ----------
    cost, capacity
        ``(sample, year, class)`` (either may broadcast).
    demand
        Each year's demand, ``quantity`` ``(sample|1, year, use)``.
    cap
        The price cap, ``(sample,)``.
    shortcut
        Clear a year short at the cap at the cap without sorting its merit order (the same outcome,
        faster: the cap's backstop is then the marginal step); False sorts every year.

    Returns
    -------
    tuple of Clearing and numpy.ndarray
        The clearing with a year axis (``price`` and ``quantity`` ``(sample, year)``, ``sold``
        ``(sample, year, class)``), and the retired mask ``(sample, year, class)``.

    Examples
    --------
    A $3 class is priced out when demand falls from 30 to 5 hours (price $1) and stays out (demand of
    elasticity 0 wants the same at any price):

    >>> demand = IsoElastic(np.array([[[30.0], [5.0]]]), np.array([1.0]), np.array([[0.0]]))
    >>> cost = np.array([[[1.0, 3.0], [1.0, 3.0]]])
    >>> out, retired = clear_years(cost, np.full((1, 2, 2), 10.0), demand, np.array([9.0]))
    >>> out.price.tolist(), retired[0].tolist()
    ([[9.0, 1.0]], [[False, False], [False, True]])
    """
    n_s, n_y, n_c = np.broadcast_shapes(cost.shape, capacity.shape, (len(cap), 1, 1))
    n_u = demand.quantity.shape[-1]
    price, quantity = np.empty((n_s, n_y)), np.empty((n_s, n_y))
    scarce = np.empty((n_s, n_y), dtype=np.bool_)
    sold = np.empty((n_s, n_y, n_c))
    retired = np.empty((n_s, n_y, n_c), dtype=np.bool_)
    _compiled_clearing()(
        contiguous(cost, (n_s, n_y, n_c)),
        contiguous(capacity, (n_s, n_y, n_c)),
        contiguous(demand.quantity, (n_s, n_y, n_u)),
        contiguous(demand.reference_price, (n_s,)),
        contiguous(demand.elasticity, (n_s, n_u)),
        contiguous(cap, (n_s,)),
        shortcut,
        price,
        quantity,
        scarce,
        sold,
        retired,
    )
    return Clearing(price, quantity, sold, scarce), retired


def _clearing(
    cost: np.ndarray,
    capacity: np.ndarray,
    quantity: np.ndarray,
    reference_price: np.ndarray,
    elasticity: np.ndarray,
    cap: np.ndarray,
    shortcut: bool,
    price: np.ndarray,
    sold_total: np.ndarray,
    scarce: np.ndarray,
    sold: np.ndarray,
    retired: np.ndarray,
) -> None:
    """:func:`clear_years` for each sample, arrays at full shape; writes the outputs. Plain Python that
    Numba compiles (:func:`flopgrid.model.compiled`)."""
    n_s, n_y, n_c = cost.shape
    n_u = quantity.shape[2]
    tiny = np.finfo(np.float64).tiny
    # A backstop step at the cap with unbounded capacity: every year then has a step where supply covers
    # demand, and scarcity is the case where that step is the backstop. "Unbounded" is the largest float
    # whose sums with the classes after it stay finite.
    unbounded = np.finfo(np.float64).max / (n_c + 2)
    gone = np.zeros(n_c, dtype=np.bool_)
    offered = np.zeros(n_c)
    steps = np.zeros(n_c + 1)
    cumulative = np.zeros(n_c + 1)
    # The merit order, kept from one year (and sample) to the next: sorted anew by insertion, it is close
    # to one pass, as few classes change places from one year to the next.
    order = np.arange(n_c + 1)

    def wanted_at(price: float, s: int, t: int) -> float:
        """Demand at a price: Σ_u Q_u (P / P_ref)^−ε_u (as :meth:`IsoElastic.__call__`)."""
        log_ratio = np.log(price / reference_price[s])
        wanted = 0.0
        for u in range(n_u):
            wanted += quantity[s, t, u] * np.exp(-elasticity[s, u] * log_ratio)
        return wanted

    for s in range(n_s):
        gone[:] = False
        log_reference = np.log(reference_price[s])
        for t in range(n_y):
            wanted_at_cap = wanted_at(cap[s], s, t)
            total = 0.0
            within = 0.0
            for c in range(n_c):
                offered[c] = 0.0 if gone[c] else capacity[s, t, c]
                total += offered[c]
                if cost[s, t, c] <= cap[s]:
                    within += offered[c]
            if shortcut and wanted_at_cap > within:
                # Short at the cap: the backstop is the marginal step (demand only falls along the merit
                # order, which offers at most ``within`` before it), so the merit order need not be sorted.
                p = cap[s]
                q = min(wanted_at_cap, total)
                short = True
            else:
                for c in range(n_c):
                    steps[c] = cost[s, t, c]
                steps[n_c] = cap[s]
                # Insertion sort by (cost, class): a stable sort's order.
                for i in range(1, n_c + 1):
                    k = order[i]
                    j = i - 1
                    while j >= 0 and (
                        steps[order[j]] > steps[k] or (steps[order[j]] == steps[k] and order[j] > k)
                    ):
                        order[j + 1] = order[j]
                        j -= 1
                    order[j + 1] = k
                offered_to = 0.0
                for k in range(n_c + 1):
                    offered_to += offered[order[k]] if order[k] < n_c else unbounded
                    cumulative[k] = offered_to
                # Excess demand at a step's price falls along the merit order: the marginal step is the
                # first where it is ≤ 0 (the backstop's always is), found by bisection over the steps.
                first, last = 0, n_c
                while first < last:
                    middle = (first + last) // 2
                    if wanted_at(steps[order[middle]], s, t) <= cumulative[middle]:
                        last = middle
                    else:
                        first = middle + 1
                marginal = first
                wanted = wanted_at(steps[order[marginal]], s, t)
                below = cumulative[marginal - 1] if marginal > 0 else 0.0
                high = steps[order[marginal]]
                short = order[marginal] == n_c
                if wanted >= below:
                    # On the step: the marginal class sells part of its capacity at its cost.
                    p = high
                    q = min(wanted, total)
                else:
                    # Between the previous step and this one (marginal ≥ 1: nothing is offered below the
                    # first step), where demand equals what is offered below it.
                    # Newton's method on f(x) = log Q(e^x) − log target: a sum of exponentials of x is
                    # log-convex, so f is convex and decreasing, and Newton's steps from the low end
                    # (where f ≥ 0) climb to the root without overshooting it, converging quadratically.
                    low = steps[order[marginal - 1]]
                    lo, hi = np.log(max(low, tiny)), np.log(max(high, tiny))
                    x, goal = lo, np.log(max(below, tiny))
                    for _ in range(NEWTON_STEPS):
                        log_ratio = x - log_reference
                        wanted = 0.0
                        slope = 0.0
                        for u in range(n_u):
                            term = quantity[s, t, u] * np.exp(-elasticity[s, u] * log_ratio)
                            wanted += term
                            slope += elasticity[s, u] * term
                        excess = np.log(wanted) - goal
                        # Done when the quantity is within 1e-13 of the target or the bracket has closed.
                        if not (abs(excess) > 1e-13 and hi - lo > 1e-15):
                            break
                        # Safeguarded: the bracket [lo, hi] keeps the root; a Newton step that is not a
                        # number (demand overflowing near a price of 0) or leaves the bracket is a
                        # bisection step instead.
                        if excess > 0:
                            lo = x
                        else:
                            hi = x
                        newton = x + excess * wanted / slope
                        x = newton if np.isfinite(newton) and lo < newton < hi else 0.5 * (lo + hi)
                    p = min(max(np.exp(x), low), high)
                    q = min(below, total)
            # Settle: classes below the price sell all they can; classes at the price share what is left.
            full = 0.0
            tied = 0.0
            for c in range(n_c):
                if cost[s, t, c] < p:
                    full += offered[c]
                elif cost[s, t, c] == p:
                    tied += offered[c]
            share = (q - full) / tied if tied > 0 else 0.0
            share = min(max(share, 0.0), 1.0)
            for c in range(n_c):
                if cost[s, t, c] < p:
                    sold[s, t, c] = offered[c]
                elif cost[s, t, c] == p:
                    sold[s, t, c] = offered[c] * share
                else:
                    sold[s, t, c] = 0.0
                # Retired: offered and dearer than the price.
                gone[c] = gone[c] or (offered[c] > 0 and cost[s, t, c] > p)
                retired[s, t, c] = gone[c]
            price[s, t] = p
            sold_total[s, t] = q
            scarce[s, t] = short


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


_compiled_clearing = compiled(_clearing)
