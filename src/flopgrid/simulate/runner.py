"""The simulator's block runner: load and lay out a scenario, resolve its parameters, run the stages
on blocks of samples (one thread per core) and wrap the arrays in an ``xarray.Dataset`` whose variables
are declared in :data:`~flopgrid.simulate.variables.VARIABLES`."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from flopgrid.distributions import Design
from flopgrid.errors import ScenarioError
from flopgrid.layout import Axes, axes_for
from flopgrid.library import load_library
from flopgrid.model import power, sum_over, supply
from flopgrid.model.finance import ASSETS
from flopgrid.model.market import fall_year
from flopgrid.parameters import ParameterSet, design_for
from flopgrid.scenario import Scenario, load_scenario, resolve_overrides
from flopgrid.simulate.finance import finance_stage
from flopgrid.simulate.market import market_stage
from flopgrid.simulate.stages import (
    bottleneck_stage,
    deployment_stage,
    energy_stage,
    money_stage,
    operations_stage,
    production_limit,
)
from flopgrid.simulate.supply_stage import supply_stage
from flopgrid.simulate.variables import FINANCE_VARIABLES, FINANCING, FLAGS, VARIABLES
from flopgrid.version import __version__

#: Samples per block: small enough that a block's temporaries are reused heap memory, not fresh pages.
CHUNK = 2_000
#: Fewest samples worth a block of their own.
MIN_BLOCK = 250
#: Threads that run blocks of samples at once.
WORKERS = max(1, min(4, os.cpu_count() or 1))


def _run(scenario: Scenario, params: ParameterSet, axes: Axes, money: bool = True) -> dict[str, np.ndarray]:
    """Run every stage on one block of samples from the first stepped year; returns the arrays named
    in ``VARIABLES`` for the horizon's years (without the Money stage's when ``money`` is false)."""
    s = supply_stage(scenario, params, axes)
    d = deployment_stage(scenario, params, axes, s)
    e = energy_stage(params, axes, d, scenario.emissions.basis)
    capex, opex = money_stage(scenario, params, axes, s, d, e)
    operations = operations_stage(scenario, params, axes, s, d, e)
    fleet = d.fleet
    produced = s.own + sum_over(fleet.ordered, 2)
    production = production_limit(scenario, s, fleet.ordered)
    utilisation = scenario.finance.revenue.utilisation
    # The market clears from the first stepped year, so retirements carry the history's state.
    market = market_stage(params, axes, fleet.installed, d.initial, utilisation) if money else {}
    out = {
        "wafers_ai": s.wafers_ai,
        "wafer_capacity": s.wafer_capacity,
        "packaging_capacity": s.packaging,
        "hbm_supply": s.hbm,
        "production_cap": s.caps,
        "production_bottleneck": production.astype(np.int8),
        "own_wafer_use": s.own_wafer_use,
        "own_production_bottleneck": s.own_limit.astype(np.int8),
        "accelerators_produced": produced,
        "accelerators_shipped": d.arrivals,
        "accelerators_installed": fleet.installed,
        "accelerators_added": fleet.added,
        "accelerators_retired": fleet.retired,
        "accelerators_waiting": fleet.waiting,
        "inventory_value": fleet.inventory_value,
        **operations,
        "dc_capacity": fleet.dc_capacity,
        "dc_energised": fleet.energised,
        "grid_connection": fleet.grid,
        "pipeline_dc_power": d.pipeline_dc,
        "firm_power": d.own_firm + fleet.grid,
        "plant_capacity": d.plant_capacity,
        "it_power": e.it_rating,
        "facility_power": e.energy / power.HOURS_PER_YEAR,
        "energy": e.energy,
        "it_energy": e.it_energy,
        "generation": e.generation,
        "emissions": e.emissions,
        "water": e.water,
        "capex": capex,
        "opex": opex,
        "bottleneck": bottleneck_stage(scenario, d, production),
        **market,
    }
    # The years stepped through before the horizon set its starting stocks; the Results and the money
    # (outlays before the horizon are sunk) are the horizon's.
    k = axes.skip
    out = {name: a[:, k:] if VARIABLES[name].dims[:1] == ("year",) else a for name, a in out.items()}
    if money:
        horizon = replace(axes, years=axes.horizon, skip=0)
        before = replace(d, initial=fleet.installed[:, k - 1]) if k else d
        # The fall of the price is counted from the horizon's first year, as the rest of its figures.
        out["price_fall_year"] = fall_year(out["market_price_per_1e21_flop"], horizon.years)
        sold = {name: out[name] for name in market}
        out.update(
            finance_stage(
                scenario,
                params.from_year(k),
                horizon,
                before,
                out["capex"],
                out["opex"],
                out["flops_peak"],
                sold,
            )
        )
    return out


def prepare(
    scenario: Scenario | str | Path | Mapping[str, Any] | None,
    samples: int = 1,
    seed: int = 0,
    sampling: str | None = None,
) -> tuple[Scenario, ParameterSet, Axes]:
    """Load the scenario, lay out its axes and resolve parameters; for ``samples > 1``, set up the
    sampling design (``sampling``: lhs, sobol or random; default: the scenario's, else lhs), whose rows
    are drawn on first use."""
    if samples < 1:
        raise ScenarioError(f"samples must be at least 1, got {samples}", path="samples")
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    library = load_library()
    axes = axes_for(scenario, library)
    params = ParameterSet(
        library=library,
        years=axes.years,
        regions=axes.regions,
        items={"accelerators": axes.accelerators, "power_sources": axes.sources},
        overrides=resolve_overrides(scenario, library),
        samples=samples,
    )
    # One sample is the run at every input's median: an explicit distribution's median, a library
    # parameter's value (the median of its default distribution).
    params.design = design_for(scenario, params, seed, sampling, samples, central=samples == 1)
    for table, names in (("accelerators", axes.accelerators),):
        for parameter in ("flops_bf16", "it_power", "logic_die_area", "interposer_area", "price"):
            gaps = [n for n in params.missing(table, parameter) if n in names]
            if gaps:
                raise ScenarioError(
                    f"the library has no {parameter} for {', '.join(gaps)}; set it under "
                    f"parameters.accelerators.{gaps[0]}.{parameter}",
                    file=scenario.source_file,
                    path="parameters",
                )
    return scenario, params, axes


def simulate(
    scenario: Scenario | str | Path | Mapping[str, Any] | None = None,
    samples: int = 1,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    sampling: str | None = None,
) -> xr.Dataset:
    """Simulate a scenario's plan year by year.

    Parameters
    ----------
    scenario
        A :class:`Scenario`, a path to a YAML file, a mapping, a built-in name, or None for the default
        scenario (``seed-7t``).
    samples
        Monte Carlo samples. With 1, every parameter is at its median: the library value, or the median
        of the distribution the scenario's ``uncertainty:`` section gives it. With more, each library
        parameter with a range is drawn from its default distribution (docs/uncertainty.md), or the one
        the scenario's ``uncertainty:`` section gives it.
    seed
        Seed of the sampling design; the same seed gives the same results.
    progress
        Called as ``progress(done, total)`` (in samples) after each block of samples.
    sampling
        ``lhs`` (Latin hypercube), ``sobol`` (scrambled Sobol) or ``random``; default: the scenario's
        ``uncertainty.sampling``, else ``lhs``. Full results take about 30 kB per sample (seed
        scenario); for millions of samples use :func:`flopgrid.uncertainty.monte_carlo`, which keeps
        only the figures asked for.

    Returns
    -------
    xarray.Dataset
        The Results: every variable has ``units`` and ``long_name``; dimensions are ``sample``,
        ``year``, ``region``, ``accelerator``, ``source``, ``asset`` and ``cap``. Use
        ``results.flopgrid.summary()`` for the per-year table.

    Examples
    --------
    >>> import flopgrid
    >>> results = flopgrid.simulate("reference")
    >>> results["h100e"].attrs["units"]
    'H100e'
    """
    scenario, params, axes = prepare(scenario, samples, seed, sampling)
    ds = _execute(scenario, params, axes, np.arange(samples), progress, seed)
    design = params.design
    ds.attrs["sampling"] = "median" if design is None or design.central else design.method
    return ds


def run_block(
    scenario: Scenario,
    params: ParameterSet,
    axes: Axes,
    start: int,
    stop: int,
    keep: Collection[str] | None = None,
) -> xr.Dataset:
    """Results for samples ``start:stop`` of a run set up by :func:`prepare` (its design's rows for those
    samples, drawn on their own: the numbers equal those of the whole run); with ``keep``, only those
    variables are stored (writing all of them is most of a large run's time and memory)."""
    seed = params.design.seed if params.design is not None else 0
    return _execute(scenario, params.block(start, stop), axes, np.arange(start, stop), None, seed, keep)


def run_uniforms(
    scenario: Scenario,
    params: ParameterSet,
    axes: Axes,
    design: Design,
    uniforms: np.ndarray,
    keep: Collection[str] | None = None,
) -> xr.Dataset:
    """Results at given design rows (independent uniforms, one column per design dimension; the
    design's copula is applied): how sensitivity analysis evaluates the model at SALib's points."""
    drawn = ParameterSet(
        params.library,
        params.years,
        params.regions,
        params.items,
        params.overrides,
        samples=uniforms.shape[0],
        design=design,
        uniforms=design.correlate(uniforms),
    )
    return _execute(scenario, drawn, axes, np.arange(uniforms.shape[0]), None, design.seed, keep)


def _execute(
    scenario: Scenario,
    params: ParameterSet,
    axes: Axes,
    sample_ids: np.ndarray,
    progress: Callable[[int, int], None] | None,
    seed: int,
    keep: Collection[str] | None = None,
) -> xr.Dataset:
    """Run every stage on ``params``'s samples in blocks on a thread per core; wrap them as Results."""
    samples = params.samples
    # Draw every parameter once for all samples, so that blocks are slices of one draw.
    for table, parameter in params.library.specs:
        if table != "macro":
            params.get(table, parameter)
    # Blocks of samples run on a thread per core (numpy releases the GIL in its loops). Medium runs are
    # split so that every core gets a block; tiny ones are not worth a thread.
    size = min(CHUNK, max(MIN_BLOCK, -(-samples // WORKERS)))
    starts = list(range(0, samples, size))
    coords: dict[str, Any] = {
        "sample": sample_ids,
        "year": axes.horizon,
        "region": axes.regions,
        "accelerator": axes.accelerators,
        "source": axes.sources,
        "asset": list(ASSETS),
        "cap": list(supply.CAPS),
        "financing": list(FINANCING),
    }
    # Results of 100,000 samples are gigabytes: blocks are written into arrays allocated once.
    variables = {name: _allocate(name, samples, coords) for name in VARIABLES if keep is None or name in keep}
    money = keep is None or not FINANCE_VARIABLES.isdisjoint(keep)
    arrays = {name: var.values for name, var in variables.items()}
    done = 0

    def work(block: ParameterSet, start: int) -> int:
        """Run one block and write it into the Results, in the worker's thread: copying the blocks' arrays
        is a large run's main memory traffic, and so runs on every core, not on the main thread alone
        (a finished block is also freed at once, not held until the main thread stores it)."""
        out = _run(scenario, block, axes, money)
        stop = start + block.samples
        for name, values in arrays.items():
            values[start:stop] = out[name]
        return block.samples

    def report(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, samples)

    if len(starts) == 1:
        report(work(params.block(0, samples), 0))
    else:
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(starts))) as pool:
            futures = [
                pool.submit(work, params.block(start, min(start + size, samples)), start) for start in starts
            ]
            try:
                # Progress is reported from this thread, as blocks finish.
                for future in as_completed(futures):
                    report(future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    ds = xr.Dataset(variables, coords=coords)
    ds.attrs.update(
        {
            "scenario": scenario.name,
            "scenario_hash": scenario.content_hash(),
            "scenario_file": scenario.source_file or "",
            "engine": "simulate",
            "samples": samples,
            "seed": seed,
            "flopgrid_version": __version__,
            "currency": "USD (real 2024)",
            "inflation": scenario.finance.inflation,
            "existing_industry": int(scenario.existing_industry),
            "emissions_basis": scenario.emissions.basis,
        }
    )
    return ds


def _allocate(name: str, samples: int, coords: dict[str, Any]) -> xr.Variable:
    """An empty Results variable for every sample, with its declared dimensions, units and name."""
    v = VARIABLES[name]
    dims = v.dims
    shape = (samples, *(len(coords[dim]) for dim in dims))
    attrs: dict[str, Any] = v.attrs
    dtype: type[np.generic] = np.float64
    if name in FLAGS:
        attrs.update({"flag_values": list(range(len(FLAGS[name]))), "flag_meanings": " ".join(FLAGS[name])})
        dtype = np.int8
    return xr.Variable(("sample", *dims), np.empty(shape, dtype=dtype), attrs=attrs)
