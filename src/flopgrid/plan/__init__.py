"""The planner: a compute target (or a budget) → the least-cost build plan, as a linear program.

The same scenario, library and parameters as the simulator (central values, one sample), solved as a
capacity-expansion LP with linopy and HiGHS. Decisions per region and year: new fab, packaging and HBM
capacity, data-centre MW, power plants by source, grid connections and accelerators bought by type.
The rules are the simulator's (docs/model.md), written as linear constraints named
``{stage}-{what}-{bound}`` by one ``define_*`` function per stage, each registering the rule of every
constraint it adds; their dual values land in Results as one ``shadow_price_*`` variable per
constraint, over its own dimensions, and ``results.flopgrid.bottlenecks()`` ranks them. docs/plan.md
gives the formulation and its limits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import xarray as xr

from flopgrid.errors import ScenarioError
from flopgrid.plan.inputs import inputs, with_discount_rate
from flopgrid.plan.model import (
    STAGES,
    Built,
    PlanError,
    Rule,
    build,
    define_datacentres,
    define_finance,
    define_objective,
    define_power,
    define_supply,
    unruled,
)
from flopgrid.plan.report import rank, shadow_price_names, shortfall_report, to_scenario
from flopgrid.plan.results import results, shadow_prices
from flopgrid.plan.solve import decisions, solve
from flopgrid.scenario import Scenario

#: Most solves spent on agreeing on the discount rate when the scenario states none: each solve
#: discounts at the capex-weighted cost of capital of the previous plan.
RATE_SOLVES = 10
#: Difference between the rate a plan was discounted at and its own rate below which they agree.
RATE_TOLERANCE = 1e-9


def _solve_myopic(
    data: xr.Dataset, window: int, threads: int, progress: Callable[[int, int], None] | None
) -> Built:
    """Rolling horizon: in each year, plan the next ``window`` years knowing only them, keep that
    year's decisions, move on. The last solve (every earlier decision fixed) is the plan."""
    n = data.sizes["year"]
    if window >= n:
        # The first solve already sees the whole horizon with nothing fixed: perfect foresight.
        whole = build(data)
        solve(whole, threads)
        if progress is not None:
            progress(n, n)
        return whole
    fixed: dict[str, xr.DataArray] | None = None
    built: Built | None = None
    for t in range(n):
        stop = min(n, t + window)
        part = data.isel(year=slice(0, stop), start=slice(0, stop))
        built = build(part, fixed, until=t)
        solve(built, threads)
        decided = decisions(built)
        if fixed is None:
            fixed = {}
            for name, value in decided.items():
                dim = "year" if "year" in value.dims else "start"
                full = value.reindex({dim: data[dim].values}, fill_value=0.0)
                fixed[name] = full
        for name, value in decided.items():
            dim = "year" if "year" in value.dims else "start"
            fixed[name].loc[{dim: value[dim].values[t]}] = value.isel({dim: t})
        if progress is not None:
            progress(t + 1, n)
    assert built is not None
    if built.model.variables["fab_build"].sizes["start"] < n:
        raise PlanError("internal: the myopic planner ended before the horizon")
    return built


def plan(
    scenario: Scenario | str | Path | Mapping[str, Any] | None = None,
    threads: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> xr.Dataset:
    """The least-cost build plan for a scenario's target (or the most compute within its budget).

    Parameters
    ----------
    scenario
        A :class:`Scenario`, a YAML path, a mapping or a built-in name. It needs a ``planner`` section,
        ``existing_industry: false`` and no ``builds`` (the planner chooses them).
    threads
        Threads HiGHS may use.
    progress
        Called as ``progress(done, total)`` after each solve of the myopic planner.

    Returns
    -------
    xarray.Dataset
        Results with the simulator's variables where the quantity is the same (``h100e``,
        ``accelerators_installed``, ``dc_capacity``, ``capex``…), the build plan (``fab_build``,
        ``datacentre_build``, ``plant_build``…, by the year construction starts), ``shortfall``,
        ``discount_rate`` (the scenario's, else the capex-weighted cost of capital of the plan, as the
        simulator would compute it) and one ``shadow_price_*`` variable per constraint (the value of
        relaxing it by one unit, USD or H100e per unit, over the constraint's own dimensions, e.g.
        ``year``, ``region`` and ``source``; its ``constraint`` attribute names it).
        ``results.flopgrid.bottlenecks()`` ranks the
        binding constraints.

    Examples
    --------
    >>> import flopgrid
    >>> results = flopgrid.plan("target-100m-h100e-2030")
    >>> table = results.flopgrid.bottlenecks()
    """
    began = time.perf_counter()
    data = inputs(scenario)
    myopic = data.attrs["planner_mode"] == "myopic"
    if myopic and data.attrs["objective"] == "max_compute":
        raise ScenarioError(
            "the myopic planner minimises cost to a target; use mode: perfect with max_compute",
            path="planner.mode",
        )
    solving = 0.0
    # Without a stated discount rate the rate is the plan's own capex-weighted cost of capital
    # (flopgrid.model.cashflow.default_discount_rate, as in the simulator), which the plan depends on:
    # solve again at the new rate until the two agree. With one cost of capital everywhere (the
    # library's default) the first solve already agrees.
    for _ in range(RATE_SOLVES):
        built_at = time.perf_counter()
        if myopic:
            built = _solve_myopic(data, int(data.attrs["planner_window"]), threads, progress)
        else:
            built = build(data)
            built_at = time.perf_counter()
            solve(built, threads)
        out = results(data, built)
        solving += time.perf_counter() - built_at
        rate = float(out["discount_rate"].item())
        if (
            data.attrs["discount_rate_given"]
            or abs(rate - float(data.attrs["discount_rate"])) <= RATE_TOLERANCE
        ):
            break
        data = with_discount_rate(data, rate)
    else:
        raise PlanError(
            f"the discount rate did not settle in {RATE_SOLVES} solves (last {rate:.6%}): the plan moves "
            "between regions of different cost of capital; state finance.discount_rate"
        )
    out.attrs["solve_seconds"] = solving
    out.attrs["total_seconds"] = time.perf_counter() - began
    return out


__all__ = [
    "RATE_SOLVES",
    "RATE_TOLERANCE",
    "STAGES",
    "Built",
    "PlanError",
    "Rule",
    "build",
    "decisions",
    "define_datacentres",
    "define_finance",
    "define_objective",
    "define_power",
    "define_supply",
    "inputs",
    "plan",
    "rank",
    "results",
    "shadow_price_names",
    "shadow_prices",
    "shortfall_report",
    "solve",
    "to_scenario",
    "unruled",
    "with_discount_rate",
]
