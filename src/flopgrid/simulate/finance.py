"""The simulator's Money stage: revenue, financing, cash flows, returns and the levelised cost of
compute (docs/model.md §10), on :mod:`flopgrid.model.cashflow`."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from flopgrid.layout import REFERENCE_ACCELERATOR, Axes
from flopgrid.model import cashflow, datacentres, dot_last, investors, power, sum_over
from flopgrid.model.finance import ASSETS
from flopgrid.parameters import ParameterSet
from flopgrid.scenario import Scenario
from flopgrid.simulate.stages import Deployment, asset_lives
from flopgrid.simulate.variables import FINANCING

SECONDS_PER_YEAR = power.HOURS_PER_YEAR * 3600.0


def finance_stage(
    scenario: Scenario,
    params: ParameterSet,
    axes: Axes,
    d: Deployment,
    capex: np.ndarray,
    opex: np.ndarray,
    flops_peak: np.ndarray,
    market: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Revenue, financing, cash flows, returns and the levelised cost of compute (docs/model.md §10);
    ``market`` is the market stage's output (its ``hours_sold`` and ``market_price`` earn the revenue of
    kind ``market``)."""
    p, f = params.get, scenario.finance
    years = axes.years
    n_y = len(years)
    flops = p("accelerators", "flops_bf16")
    reference = params.library.series("accelerators", "flops_bf16", [REFERENCE_ACCELERATOR], years[:1])[0][
        0, 0
    ]
    start = dot_last(d.initial, flops[:, 0])  # (S|1, R)
    average_peak = datacentres.year_average(flops_peak, start[:, None])
    revenue_spec = f.revenue
    use = (
        np.full((1, 1, 1), revenue_spec.utilisation)
        if revenue_spec.utilisation is not None
        else p("datacentres", "utilisation")[..., 0]
    )
    flop_delivered = average_peak * use * SECONDS_PER_YEAR  # (S, Y, R)
    compute_hours = average_peak / reference * use * power.HOURS_PER_YEAR
    decline = (
        np.full(1, revenue_spec.decline)
        if revenue_spec.decline is not None
        else p("datacentres", "rental_price_decline")[:, 0, 0, 0]
    )
    # The library's rental price is quoted for its data year, so its decline counts from that calendar
    # year (a figure of a year does not depend on the horizon's start); a scenario's own price or token
    # price is the price of the horizon's first year.
    quoted = revenue_spec.price is None and revenue_spec.kind == "rental"
    base = params.library.base_year("datacentres", "rental_price") if quoted else years[0]
    trend = (1.0 - decline[:, None]) ** (years - base)[None, :]  # (S|1, Y)
    kind = scenario.revenue_kind
    if kind == "market":
        revenue = market["hours_sold"] * market["market_price"][..., None]
    elif kind == "rental":
        price = (
            np.full(1, revenue_spec.price)
            if revenue_spec.price is not None
            else p("datacentres", "rental_price")[:, 0, 0, 0]
        )
        revenue = compute_hours * (price[:, None] * trend)[..., None]
    elif kind == "tokens":
        per_flop = (revenue_spec.tokens_per_flop or 0.0) * (revenue_spec.token_price or 0.0) / 1e6
        revenue = flop_delivered * (per_flop * trend)[..., None]
    else:
        revenue = np.zeros_like(compute_hours)

    n_s = max(capex.shape[0], revenue.shape[0])
    spent = sum_over(capex, 2)  # (S, Y, asset)
    running = sum_over(opex, 2)
    capex_total, opex_total = dot_last(spent), dot_last(running)
    revenue_total = np.broadcast_to(sum_over(revenue, 2), (n_s, n_y))
    if f.discount_rate is not None:
        rate = np.full(n_s, f.discount_rate)
    else:
        rate = cashflow.default_discount_rate(
            p("regions", "cost_of_capital")[:, 0, :, 0], sum_over(capex, (1, 3))
        )

    by_asset = asset_lives(params, axes, d)
    lives = np.stack(np.broadcast_arrays(*(by_asset[asset] for asset in ASSETS)), axis=-1)  # (S|1, asset)
    depreciation = cashflow.amortise(spent, lives)
    charges = cashflow.amortise(spent, lives, rate)
    discounted_hours = cashflow.npv(rate, np.broadcast_to(sum_over(compute_hours, 2), (n_s, n_y)))
    discounted_flop = cashflow.npv(rate, np.broadcast_to(sum_over(flop_delivered, 2), (n_s, n_y)))
    costs = np.stack([cashflow.npv(rate, charges[..., k] + running[..., k]) for k in range(len(ASSETS))], -1)
    # Extreme inputs can leave a vanishing amount of compute: its cost per unit is then undefined (NaN),
    # not an overflow.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        breakdown = np.where(discounted_hours[:, None] > 0, costs / discounted_hours[:, None], np.nan)
        per_flop_cost = np.where(discounted_flop > 0, costs.sum(axis=1) / discounted_flop * 1e21, np.nan)
    breakdown = np.where(np.isfinite(breakdown), breakdown, np.nan)
    per_flop_cost = np.where(np.isfinite(per_flop_cost), per_flop_cost, np.nan)

    tranches = f.tranches
    draws = tranche_draws(scenario, years)
    kinds = np.array([FINANCING.index(t.kind) for t in tranches], dtype=int)
    financing_in = (draws.T @ np.eye(len(FINANCING))[kinds])[None] if tranches else np.zeros((1, n_y, 4))
    loans = [i for i, t in enumerate(tranches) if t.kind in ("debt", "vendor")]
    interest = principal = np.zeros(n_y)
    if loans:
        loan_interest, loan_principal = cashflow.debt_schedule(
            draws[loans],
            np.array([tranches[i].rate or 0.0 for i in loans]),
            np.array([tranches[i].tenor or 1.0 for i in loans]),
        )
        interest, principal = loan_interest.sum(axis=0), loan_principal.sum(axis=0)
    service = interest + principal
    sources = financing_in.sum(axis=2) + revenue_total
    uses = capex_total + opex_total + service
    cash, gap = cashflow.cash_balance(np.broadcast_to(sources, (n_s, n_y)), np.broadcast_to(uses, (n_s, n_y)))
    with np.errstate(divide="ignore", invalid="ignore"):
        dscr = np.where(service > 0, (revenue_total - opex_total) / service, np.nan)
    net = revenue_total - capex_total - opex_total
    amounts = draws.sum(axis=1)
    cost_of = np.array([t.rate or 0.0 for t in tranches])  # debt and vendor at their rate, grants at 0
    equity = np.array([t.kind == "equity" for t in tranches], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        financing_cost = (
            (amounts * np.where(equity, 0.0, cost_of)).sum() + amounts[equity].sum() * rate
        ) / amounts.sum()
    return {
        "depreciation": depreciation,
        "compute_hours": compute_hours,
        "revenue": revenue,
        "financing_in": financing_in,
        "debt_interest": interest[None],
        "debt_service": service[None],
        "dscr": dscr,
        "net_cash_flow": net,
        "funding_gap": gap,
        "cash": cash,
        "discount_rate": rate,
        "financing_cost": financing_cost if tranches else np.full(n_s, np.nan),
        "npv": cashflow.npv(rate, net),
        "irr": cashflow.irr(net),
        "payback_year": cashflow.payback_year(net, years),
        "peak_cash_need": cashflow.peak_cash_need(net),
        "lcoc_per_h100e_hour": breakdown.sum(axis=1),
        "lcoc_per_1e21_flop": per_flop_cost,
        "lcoc_breakdown": breakdown,
    }


def tranche_draws(scenario: Scenario, years: np.ndarray) -> np.ndarray:
    """The amount drawn from each of the scenario's tranches each model year, ``(tranche, year)``."""
    tranches = scenario.finance.tranches
    draws = np.zeros((len(tranches), len(years)))
    for i, tranche in enumerate(tranches):
        for year, amount in tranche.draws().items():
            draws[i, year - int(years[0])] += amount
    return draws


def investor_returns(scenario: Scenario, results: xr.Dataset) -> list[dict[str, Any]]:
    """Who earns what: one line per investor of the scenario's tranches (a tranche without an investor
    is its own line), with the cash paid in, received back and the IRR (docs/model.md §10, who earns
    what), each as the median and P5/P95 over the samples.

    Parameters
    ----------
    scenario
        The scenario whose ``finance.tranches`` name the investors.
    results
        Its Results (``revenue`` and ``opex`` by year are used).
    """
    tranches = scenario.finance.tranches
    years = results.year.values
    draws = tranche_draws(scenario, years)
    revenue = results["revenue"].sum([d for d in results["revenue"].dims if d not in ("sample", "year")])
    opex = results["opex"].sum([d for d in results["opex"].dims if d not in ("sample", "year")])
    paid, received = investors.tranche_flows(
        draws,
        [t.kind for t in tranches],
        np.array([t.rate or 0.0 for t in tranches]),
        np.array([t.tenor or 1.0 for t in tranches]),
        revenue.values,
        opex.values,
    )
    names = list(dict.fromkeys(t.investor or t.name for t in tranches))
    lines = []
    for name in names:
        mine = [i for i, t in enumerate(tranches) if (t.investor or t.name) == name]
        figures = investors.returns(paid[mine].sum(axis=0), received[:, mine].sum(axis=1))
        line: dict[str, Any] = {
            "investor": name,
            "tranches": [tranches[i].name for i in mine],
            "kinds": sorted({tranches[i].kind for i in mine}),
        }
        for key, values in figures.items():
            finite = values[np.isfinite(values)]
            low, mid, high = np.percentile(finite, [5, 50, 95]) if finite.size else (np.nan,) * 3
            line[key] = float(mid)
            line[f"{key}_p5"], line[f"{key}_p95"] = float(low), float(high)
        lines.append(line)
    return lines
