"""Who earns what: each financing tranche's cash paid in and received back, and each investor's returns
(docs/model.md §10, who earns what).

Pure array functions. The rules, stated: lenders (``debt``, ``vendor``) receive their loan's interest and
principal as scheduled (:func:`flopgrid.model.cashflow.debt_schedule`), in full: a project that cannot pay
shows it as a funding gap, not as a loss to its lenders. Equity tranches share the cash left each year
after operating costs and debt service, ``max(revenue − opex − debt service, 0)``, in proportion to
what each put in; grants receive nothing.
"""

from __future__ import annotations

import numpy as np

from flopgrid.model import cashflow


def tranche_flows(
    draws: np.ndarray,
    kinds: list[str],
    rates: np.ndarray,
    tenors: np.ndarray,
    revenue: np.ndarray,
    opex: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Cash each tranche pays in and receives, year by year.

    Parameters
    ----------
    draws
        Amount drawn from each tranche each year, ``(tranche, year)``.
    kinds
        Each tranche's kind: ``equity``, ``debt``, ``vendor`` or ``grant``.
    rates, tenors
        Each tranche's yearly rate and tenor in years (used for debt and vendor), ``(tranche,)``.
    revenue, opex
        The project's revenue and operating costs, ``(sample, year)``.

    Returns
    -------
    tuple of numpy.ndarray
        Paid in ``(tranche, year)`` and received ``(sample, tranche, year)``.

    Examples
    --------
    Equity of 60 and 40 and a loan of 100 at 10% over 1 year; revenue 300, opex 50 in the second year:
    the loan gets 110 back, the equity splits the 140 left 60:40.

    >>> paid, got = tranche_flows(
    ...     np.array([[60.0, 0.0], [40.0, 0.0], [100.0, 0.0]]),
    ...     ["equity", "equity", "debt"],
    ...     np.array([0.0, 0.0, 0.1]),
    ...     np.array([1.0, 1.0, 1.0]),
    ...     np.array([[0.0, 300.0]]),
    ...     np.array([[0.0, 50.0]]),
    ... )
    >>> got[0].round(6).tolist()
    [[0.0, 84.0], [0.0, 56.0], [0.0, 110.0]]
    """
    n_t, n_y = draws.shape
    n_s = np.broadcast_shapes(revenue.shape, opex.shape)[0]
    received = np.zeros((n_s, n_t, n_y))
    loans = [i for i, kind in enumerate(kinds) if kind in ("debt", "vendor")]
    service = np.zeros(n_y)
    if loans:
        interest, principal = cashflow.debt_schedule(draws[loans], rates[loans], tenors[loans])
        received[:, loans] = (interest + principal)[None]
        service = (interest + principal).sum(axis=0)
    equity = np.array([kind == "equity" for kind in kinds], dtype=bool)
    amounts = np.where(equity, draws.sum(axis=1), 0.0)
    if amounts.sum() > 0:
        left = np.maximum(revenue - opex - service[None], 0.0)  # (S, Y)
        received += (amounts / amounts.sum())[None, :, None] * left[:, None, :]
    return draws, received


def returns(paid: np.ndarray, received: np.ndarray) -> dict[str, np.ndarray]:
    """An investor's totals and IRR from cash paid ``(year,)`` and received ``(sample, year)``.

    Returns ``paid`` and ``received`` (totals, ``(sample,)``), ``multiple`` (received ÷ paid) and
    ``irr`` (NaN where the flows never change sign).

    Examples
    --------
    >>> out = returns(np.array([100.0, 0.0, 0.0]), np.array([[0.0, 60.0, 60.0]]))
    >>> round(float(out["irr"][0]), 6), float(out["multiple"][0])
    (0.130662, 1.2)
    """
    flows = received - paid[None]
    total_paid = np.full(received.shape[0], paid.sum())
    total_received = received.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        multiple = np.where(total_paid > 0, total_received / total_paid, np.nan)
    return {"paid": total_paid, "received": total_received, "multiple": multiple, "irr": cashflow.irr(flows)}
