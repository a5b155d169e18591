"""The planner: a compute target (or a budget) → the least-cost build plan, as a linear program.

The same scenario, library and parameters as the simulator (central values, one sample), solved as a
capacity-expansion LP with linopy and HiGHS. Decisions per region and year: new fab, packaging and HBM
capacity, data-centre MW, power plants by source, grid connections and accelerators bought by type.
The rules are the simulator's (docs/model.md), written as linear constraints named
``{stage}-{what}-{bound}``; their dual values land in Results as ``shadow_price`` and
``results.flopgrid.bottlenecks()`` ranks them. docs/plan.md gives the formulation and its limits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import xarray as xr

from flopgrid.errors import ScenarioError
from flopgrid.plan.inputs import inputs
from flopgrid.plan.model import Built, PlanError, _decisions, build, solve
from flopgrid.plan.report import rank, shortfall_report, to_scenario
from flopgrid.plan.results import _results
from flopgrid.scenario import Scenario


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
        decided = _decisions(built)
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
        ``datacentre_build``, ``plant_build``…, by the year construction starts), ``shortfall`` and
        ``shadow_price`` (the value of relaxing each constraint by one unit, USD or H100e per unit,
        over ``constraint``, ``year`` and ``location``). ``results.flopgrid.bottlenecks()`` ranks the
        binding constraints.

    Examples
    --------
    >>> import flopgrid
    >>> results = flopgrid.plan("target-100m-h100e-2030")
    >>> table = results.flopgrid.bottlenecks()
    """
    began = time.perf_counter()
    data = inputs(scenario)
    built_at = time.perf_counter()
    if data.attrs["planner_mode"] == "myopic":
        if data.attrs["objective"] == "max_compute":
            raise ScenarioError(
                "the myopic planner minimises cost to a target; use mode: perfect with max_compute",
                path="planner.mode",
            )
        built = _solve_myopic(data, int(data.attrs["planner_window"]), threads, progress)
    else:
        built = build(data)
        built_at = time.perf_counter()
        solve(built, threads)
    results = _results(data, built)
    results.attrs["solve_seconds"] = time.perf_counter() - built_at
    results.attrs["total_seconds"] = time.perf_counter() - began
    return results


__all__ = [
    "PlanError",
    "build",
    "inputs",
    "plan",
    "rank",
    "shortfall_report",
    "solve",
    "to_scenario",
]
