"""Cash flows over the horizon: amortisation, debt service, the cash balance, and the returns.

Pure array functions over ``(sample, year, …)``; rates are real and per year, flows are per model year
and discounted to the first model year (year index 0 is not discounted).
"""

from __future__ import annotations

import numpy as np

from flopgrid.model import compiled, contiguous

#: Rates between which the IRR is looked for, and how finely sign changes of the NPV are bracketed.
IRR_GRID = np.concatenate([np.linspace(-0.99, 1.0, 200, endpoint=False), np.geomspace(1.0, 100.0, 60)])
#: Bisection steps inside the bracket: the widest bracket (≈8) shrinks below 1e-15.
IRR_STEPS = 64


def discount(rate: np.ndarray | float, n_years: int) -> np.ndarray:
    """Discount factors ``(1 + rate)^−t`` for ``t = 0 … n_years − 1``, shape ``(*rate.shape, n_years)``."""
    rate = np.asarray(rate, dtype=float)
    out: np.ndarray = (1.0 + rate[..., None]) ** -np.arange(n_years, dtype=float)
    return out


def default_discount_rate(cost_of_capital: np.ndarray, capex: np.ndarray) -> np.ndarray:
    """The project's discount rate when the scenario sets none: the regions' cost of capital weighted
    by the capex spent in each.

    Why weighted by capex rather than a plain mean over regions: the discount rate is the cost of the
    capital the project raises, and that capital is raised where it is spent. A region where nothing
    is built raises no money, so its cost of capital must not move the rate (a plain mean would let a
    3% override for Japan lower the rate of a plan that builds nothing there). With no capex at all
    nothing is financed and there are no weights; the plain mean is then the rate.

    Both engines call this: the simulator on its capex; the planner on the capex of its own plan,
    re-solving until the rate it discounted with is the rate of the plan it found.

    Parameters
    ----------
    cost_of_capital
        Real cost of capital by region, ``(…, region)``, e.g. ``(sample|1, region)``.
    capex
        Capex over the horizon by region, ``(…, region)``, e.g. ``(sample, region)``.

    Returns
    -------
    numpy.ndarray
        The rate, ``(…)`` (the arrays' shape without the region axis).

    Examples
    --------
    >>> round(float(default_discount_rate(np.array([0.07, 0.03]), np.array([3.0, 1.0]))), 12)
    0.06
    >>> round(float(default_discount_rate(np.array([0.07, 0.03]), np.zeros(2))), 12)
    0.05
    """
    coc, weights = np.broadcast_arrays(np.asarray(cost_of_capital, float), np.asarray(capex, float))
    total = weights.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        weighted = (weights * coc).sum(axis=-1) / total
    rate: np.ndarray = np.where(total > 0, weighted, coc.mean(axis=-1))
    return rate


def npv(rate: np.ndarray | float, flows: np.ndarray) -> np.ndarray:
    """Net present value of ``flows`` ``(sample, year)`` at ``rate`` ``(sample,)`` or a scalar.

    The first year is not discounted, like ``numpy_financial.npv``.

    Examples
    --------
    110 a year later is worth 100 now at 10% (to rounding error):

    >>> bool(np.isclose(npv(0.1, np.array([[-100.0, 110.0]]))[0], 0.0, atol=1e-9))
    True
    """
    out: np.ndarray = np.einsum("sy,sy->s", *np.broadcast_arrays(flows, discount(rate, flows.shape[-1])))
    return out


def irr(flows: np.ndarray) -> np.ndarray:
    """Internal rate of return of each sample's ``flows`` ``(sample, year)``, vectorised.

    The NPV is evaluated on ``IRR_GRID`` (−99% to 10,000% a year) for every sample at once; of the
    brackets where it changes sign, the one nearest 0% is refined by bisection to ~1e-12. Like
    ``numpy_financial.irr`` this gives the root closest to zero; NaN where the NPV never changes sign
    in the grid's range (e.g. flows that never turn positive) or the flows are all zero.

    Examples
    --------
    >>> round(float(irr(np.array([[-100.0, 60.0, 60.0]]))[0]), 6)
    0.130662
    """
    flows = np.asarray(flows, dtype=float)
    n_years = flows.shape[-1]
    values = flows @ discount(IRR_GRID, n_years).T  # (S, G)
    # The NPV changes sign (or is zero) between two grid rates where ``sign(a) × sign(b) ≤ 0``: neither
    # both positive nor both negative, and neither not a number (whose sign's product is not ≤ 0).
    positive, negative = values > 0, values < 0
    change = ~((positive[:, :-1] & positive[:, 1:]) | (negative[:, :-1] & negative[:, 1:]))
    unknown = np.isnan(values)
    if unknown.any():
        change &= ~(unknown[:, :-1] | unknown[:, 1:])
    distance = np.where(change, np.minimum(np.abs(IRR_GRID[:-1]), np.abs(IRR_GRID[1:])), np.inf)
    g = np.argmin(distance, axis=1)
    found = np.isfinite(distance[np.arange(len(g)), g]) & np.any(flows != 0, axis=1)
    low, high = IRR_GRID[g], IRR_GRID[g + 1]
    f_low = values[np.arange(len(g)), g]
    # Year-major, so that each year's flows are contiguous for the many Horner evaluations.
    _compiled_bisection()(np.ascontiguousarray(flows.T), low, high, f_low)
    # An exact zero at the bracket's lower end is the root itself.
    root = np.where(f_low == 0, low, (low + high) / 2)
    out: np.ndarray = np.where(found, root, np.nan)
    return out


def _bisection(by_year: np.ndarray, low: np.ndarray, high: np.ndarray, f_low: np.ndarray) -> None:
    """Refine every sample's IRR bracket ``[low, high]``, with the NPV ``f_low`` at ``low``, by
    :data:`IRR_STEPS` bisection steps, in place. ``by_year`` is the flows year-major, ``(year, sample)``.

    The NPV is evaluated by Horner's scheme, ``Σ_t flows_t · x^t`` with ``x = 1 / (1 + rate)``: a
    multiply-add per year instead of a power. Each step runs over all samples at once (the loops over
    samples are innermost, as numpy's would be, so they vectorise). Plain Python that Numba compiles
    (:func:`flopgrid.model.compiled`).
    """
    n_years, n_samples = by_year.shape
    mid, x, f_mid = np.empty(n_samples), np.empty(n_samples), np.empty(n_samples)
    for _ in range(IRR_STEPS):
        for s in range(n_samples):
            mid[s] = (low[s] + high[s]) / 2
            x[s] = 1.0 / (1.0 + mid[s])
            f_mid[s] = by_year[n_years - 1, s]
        for t in range(n_years - 2, -1, -1):
            for s in range(n_samples):
                f_mid[s] = f_mid[s] * x[s] + by_year[t, s]
        for s in range(n_samples):
            if np.sign(f_mid[s]) == np.sign(f_low[s]):
                low[s], f_low[s] = mid[s], f_mid[s]
            else:
                high[s] = mid[s]


def payback_year(flows: np.ndarray, years: np.ndarray) -> np.ndarray:
    """The first year from which cumulative ``flows`` stay ≥ 0 to the horizon's end; NaN if they end
    below 0. ``flows`` is ``(sample, year)``."""
    cumulative = np.cumsum(flows, axis=1)
    stays = np.flip(np.cumprod(np.flip(cumulative >= 0, axis=1), axis=1), axis=1).astype(bool)
    first = np.argmax(stays, axis=1)
    out: np.ndarray = np.where(stays[:, -1], years[first].astype(float), np.nan)
    return out


def peak_cash_need(flows: np.ndarray) -> np.ndarray:
    """The deepest the cumulative ``flows`` go below zero (≥ 0), ``(sample,)``."""
    out: np.ndarray = np.maximum(-np.min(np.cumsum(flows, axis=1), axis=1), 0.0)
    return out


def capital_recovery(rate: np.ndarray, life: np.ndarray) -> np.ndarray:
    """The level yearly charge that repays 1 over ``life`` years at ``rate`` (``1/life`` at rate 0)."""
    rate, life = np.broadcast_arrays(np.asarray(rate, float), np.asarray(life, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = rate / (1.0 - (1.0 + rate) ** -life)
    out: np.ndarray = np.where(np.abs(rate) > 1e-12, factor, 1.0 / life)
    return out


def amortise(spend: np.ndarray, life: np.ndarray, rate: np.ndarray | None = None) -> np.ndarray:
    """Spread each year's ``spend`` over the ``life`` following years (starting the year after).

    Parameters
    ----------
    spend
        ``(sample|1, year, …)``.
    life
        Years, rounded to whole years, at least 1: ``(sample|1,)``, or ``(sample|1, items)`` for one life
        per entry of ``spend``'s last axis (e.g. per asset class).
    rate
        None: straight-line depreciation, ``spend / life`` a year. Else the capital charge at this
        rate, ``spend × capital_recovery(rate, life)`` a year, ``(sample|1,)``.

    Returns
    -------
    numpy.ndarray
        ``(sample, year, …)``; charges falling after the horizon are not shown.
    """
    n_years = spend.shape[1]
    whole = np.maximum(np.round(np.asarray(life, float)), 1.0)
    whole = whole.reshape(-1) if whole.ndim <= 1 else whole
    n_samples = max(spend.shape[0], whole.shape[0])
    spend = np.broadcast_to(spend, (n_samples, *spend.shape[1:]))
    if rate is None:
        per_year = 1.0 / whole
    else:
        rates = np.asarray(rate, float).reshape(-1)
        per_year = capital_recovery(rates[:, None] if whole.ndim == 2 else rates, whole)
    middle = (1,) * (spend.ndim - 2 - (whole.ndim - 1))  # axes between year and the life's items
    lives = whole.reshape(whole.shape[0], 1, *middle, *whole.shape[1:])
    scale = np.asarray(per_year, float).reshape(lives.shape)
    # Every entry after the year axis as one column of a (sample, year, entry) array.
    rest = spend.shape[2:]
    entries = (n_samples, int(np.prod(rest, dtype=int)))
    out = np.empty((n_samples, n_years, entries[1]))
    _compiled_amortised()(
        contiguous(spend, spend.shape).reshape(n_samples, n_years, -1),
        contiguous(lives, (n_samples, 1, *rest)).reshape(entries),
        contiguous(scale, (n_samples, 1, *rest)).reshape(entries),
        out,
    )
    return out.reshape(n_samples, n_years, *rest)


def _amortised(spend: np.ndarray, lives: np.ndarray, scale: np.ndarray, out: np.ndarray) -> None:
    """:func:`amortise` on ``(sample, year, entry)`` arrays, whole ``lives`` and the yearly charge per
    unit spent ``scale`` ``(sample, entry)``; writes ``out``. The charge in year t covers what was spent
    in years t − life … t − 1: a difference of the cumulative spend (O(years), where a spent × charged
    matrix would be O(years²)). Plain Python that Numba compiles (:func:`flopgrid.model.compiled`)."""
    n_samples, n_years, n_entries = spend.shape
    cumulative = np.zeros(n_years + 1)
    for s in range(n_samples):
        for m in range(n_entries):
            life = int(lives[s, m])
            for t in range(n_years):
                cumulative[t + 1] = cumulative[t] + spend[s, t, m]
            for t in range(n_years):
                out[s, t, m] = (cumulative[t] - cumulative[max(t - life, 0)]) * scale[s, m]


def debt_schedule(draws: np.ndarray, rate: np.ndarray, tenor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interest and principal paid each year on loans drawn ``draws`` ``(loan, year)``.

    Each year's draw is repaid as a level annuity over ``tenor`` whole years (``(loan,)``), the first
    payment the year after the draw; interest is ``rate`` × the balance at the start of the year.
    Payments after the horizon are not shown. Returns ``(interest, principal)``, each ``(loan, year)``.
    """
    n_years = draws.shape[1]
    k = np.arange(n_years)[None, :] - np.arange(n_years)[:, None]  # payment number, (drawn, paid)
    r, n = rate[:, None, None], tenor[:, None, None].astype(float)
    paying = (k[None] >= 1) & (k[None] <= n)
    growth = (1.0 + r) ** (k[None] - 1.0)
    payment = capital_recovery(r, n)  # per unit drawn
    with np.errstate(divide="ignore", invalid="ignore"):
        balance = np.where(
            np.abs(r) > 1e-12, growth - payment * (growth - 1.0) / r, 1.0 - (k[None] - 1.0) / n
        )
    interest_share = np.where(paying, r * balance, 0.0)
    principal_share = np.where(paying, payment - r * balance, 0.0)
    interest = np.einsum("lt,ltu->lu", draws, interest_share)
    principal = np.einsum("lt,ltu->lu", draws, principal_share)
    return interest, principal


def cash_balance(sources: np.ndarray, uses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cash carried and the funding gap, year by year, ``(sample, year)`` each.

    ``cash(t) = max(cash(t−1) + sources(t) − uses(t), 0)`` from ``cash = 0``; the gap is what it takes to
    keep cash at 0: ``gap(t) = max(uses(t) − sources(t) − cash(t−1), 0)``. So every year
    ``sources + gap = uses + cash(t) − cash(t−1)``.
    """
    net = sources - uses
    cash, gap = np.zeros_like(net), np.zeros_like(net)
    carried = np.zeros(net.shape[0])
    for t in range(net.shape[1]):
        available = carried + net[:, t]
        gap[:, t] = np.maximum(-available, 0.0)
        carried = available + gap[:, t]
        cash[:, t] = carried
    return cash, gap


_compiled_bisection = compiled(_bisection)
_compiled_amortised = compiled(_amortised)
