"""Uncertainty drivers: Monte Carlo in chunks and global sensitivity, run on the simulator.

- **Monte Carlo at scale** (:func:`monte_carlo`): chunks of samples, keeping only the requested figures
  (see :mod:`flopgrid.questions` for figures and probabilities such as ``"h100e@2030 >= 50e6"``).
- **Sensitivity** (:func:`sensitivity`): SALib's Sobol and Morris methods on the simulator, ranked
  drivers with confidence intervals, and one-at-a-time tornado data.

The distributions and the sampling design these runs draw from are in :mod:`flopgrid.distributions`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from flopgrid.distributions import EPS
from flopgrid.errors import FlopgridError
from flopgrid.parameters import design_for
from flopgrid.questions import central_gaps, central_note, figure, variable
from flopgrid.scenario import Scenario
from flopgrid.simulate import prepare, run_block, run_uniforms, simulate

# ------------------------------------------------------------------------------- Monte Carlo in chunks

#: Samples per chunk of a chunked run: the chunk's drawn parameters and the kept variables are held
#: while its blocks of samples (``flopgrid.simulate.runner.CHUNK``) run on the worker threads.
MC_CHUNK = 16_384


def monte_carlo(
    scenario: Scenario | str | Path | Mapping[str, Any] | None,
    outputs: list[str],
    samples: int,
    seed: int = 0,
    sampling: str | None = None,
    chunk: int = MC_CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run ``samples`` samples in chunks and keep only the figures named in ``outputs`` (one column
    each, in their unit, e.g. ``"h100e@2030"``), so that memory is bounded by the chunk, not the run.

    Memory bound: the process's fixed part and one chunk (measured peak resident memory ≈ 0.7 GB on
    the seed scenario at the default chunk, the same at 50,000 and 200,000 samples) plus
    ``8 × samples × len(outputs)`` bytes for the kept figures (80 MB a figure at 10 million samples).
    Without a Money figure among ``outputs``, the Money stage is skipped.

    The design is drawn per chunk from the same blocks as an unchunked run, so the numbers equal those
    of :func:`flopgrid.simulate` with the same seed and sampling.
    """
    if chunk < 1:
        raise FlopgridError(f"chunk must be at least 1, got {chunk}")
    loaded, params, axes = prepare(scenario, samples=samples, seed=seed, sampling=sampling)
    columns = {name: np.empty(samples) for name in outputs}
    units: dict[str, str] = {}
    keep = {variable(name) for name in outputs}
    for start in range(0, samples, chunk):
        stop = min(start + chunk, samples)
        ds = run_block(loaded, params, axes, start, stop, keep)
        for name in outputs:
            values, units[name] = figure(ds, name)
            columns[name][start:stop] = values
        if progress is not None:
            progress(stop, samples)
    frame = pd.DataFrame(columns)
    frame.index.name = "sample"
    frame.attrs["units"] = units
    return frame


def quantiles(frame: pd.DataFrame, levels: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
    """P5/P50/P95 (by default) and the mean of each figure of a :func:`monte_carlo` frame, with units."""
    table = frame.quantile(list(levels)).T
    table.columns = [f"P{round(level * 100)}" for level in levels]
    table["mean"] = frame.mean()
    table.insert(0, "unit", [frame.attrs.get("units", {}).get(name, "") for name in table.index])
    table.index.name = "figure"
    return table


# ---------------------------------------------------------------------------- central values vs samples


def central_check(
    scenario: Scenario | str | Path | Mapping[str, Any] | None,
    drawn: xr.Dataset,
    seed: int = 0,
    sampling: str | None = None,
) -> dict[str, Any]:
    """Compare a Monte Carlo run (``drawn``, made with this ``seed`` and ``sampling``) with the run at
    central inputs (every input at its median): the headline figures whose median over samples is more
    than 25% from the central value or of the other sign (:func:`flopgrid.questions.central_gaps`),
    each with the input of largest rank correlation, and the one line to show (``note``, None when they
    agree). A deterministic ``drawn`` (one sample) has nothing to compare.
    """
    samples = int(drawn.sizes.get("sample", 1))
    if samples < 2:
        return {"gaps": [], "note": None}
    loaded, params, _ = prepare(scenario, samples=samples, seed=seed, sampling=sampling)
    central = simulate(loaded)
    design = params.design
    inputs = None
    if design is not None and design.dimensions:
        inputs = pd.DataFrame(design.uniforms(0, samples), columns=[d.name for d in design.dimensions])
    gaps = central_gaps(central, drawn, inputs)
    return {"gaps": gaps, "note": central_note(gaps)}


# ------------------------------------------------------------------------------------------ sensitivity


def indices(
    evaluate: Callable[[np.ndarray], np.ndarray],
    names: list[str],
    method: str = "sobol",
    samples: int = 512,
    seed: int = 0,
    groups: list[str] | None = None,
) -> pd.DataFrame:
    """Global sensitivity of ``evaluate`` (uniforms ``(n, d)`` → outputs ``(n,)``) with SALib.

    Sobol (Saltelli's design, ``samples × (2 g + 2)`` runs for ``g`` groups): first-order ``S1`` and
    total ``ST`` indices with 95% confidence half-widths. Morris (``samples`` trajectories, 4 levels):
    ``mu_star`` (mean absolute elementary effect), its confidence half-width and ``sigma``. Rows are
    ranked by ``ST`` or ``mu_star``.
    """
    # SALib (and the matplotlib it pulls in) is imported only when a sensitivity analysis runs: it
    # adds seconds to the start-up of every command otherwise.
    from SALib.analyze import morris as morris_analyze  # type: ignore[import-untyped]
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample  # type: ignore[import-untyped]
    from SALib.sample import sobol as sobol_sample

    problem: dict[str, Any] = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    if groups is not None and len(set(groups)) < len(names):
        problem["groups"] = groups
    labels = list(dict.fromkeys(groups)) if "groups" in problem and groups is not None else names
    if method == "sobol":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # N that is not a power of two: noted in docs
            x = sobol_sample.sample(problem, samples, calc_second_order=False, seed=seed)
        y = np.asarray(evaluate(np.clip(x, EPS, 1 - EPS)), dtype=float)
        if not np.all(np.isfinite(y)):
            raise FlopgridError("the output is not a finite number in every sample; choose another figure")
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            result = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed)
        frame = pd.DataFrame(
            {
                "driver": labels,
                "S1": result["S1"],
                "S1_conf": result["S1_conf"],
                "ST": result["ST"],
                "ST_conf": result["ST_conf"],
            }
        ).sort_values("ST", ascending=False, kind="stable")
    elif method == "morris":
        x = morris_sample.sample(problem, samples, num_levels=4, seed=seed)
        y = np.asarray(evaluate(np.clip(x, EPS, 1 - EPS)), dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            result = morris_analyze.analyze(problem, x, y, num_levels=4, seed=seed)
        frame = pd.DataFrame(
            {
                "driver": list(result["names"]),
                "mu_star": result["mu_star"],
                "mu_star_conf": result["mu_star_conf"],
                "sigma": result["sigma"],
            }
        ).sort_values("mu_star", ascending=False, kind="stable")
    else:
        raise FlopgridError(f"method must be sobol or morris, got {method!r}")
    frame.attrs["runs"] = len(y)
    return frame.reset_index(drop=True)


def sensitivity(
    scenario: Scenario | str | Path | Mapping[str, Any] | None,
    output: str,
    method: str = "sobol",
    samples: int | None = None,
    seed: int = 0,
    top: int = 10,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Which uncertain parameters drive ``output`` (e.g. ``"h100e@2030"``): ranked drivers with SALib
    indices and confidence intervals, and tornado data (the output with each driver at its P10 and P90,
    every other parameter at its median).

    Drivers are the drawn parameters grouped by ``table.parameter`` (all items and regions together).
    With rank correlations, the indices refer to the independent factors before the copula.
    ``progress(done, total)`` is called after each chunk of model runs.
    """
    loaded, params, axes = prepare(scenario, samples=1, seed=seed)
    design = design_for(loaded, params, seed, "random", 1)
    dims = design.dimensions
    if not dims:
        raise FlopgridError(f"{output}: nothing in this scenario is uncertain (no parameter has a range)")
    # Checks the figure's name (against every variable, for the hint) and gives its unit.
    _, unit = figure(run_uniforms(loaded, params, axes, design, np.full((1, len(dims)), 0.5)), output)
    groups = [f"{d.table}.{d.parameter}" for d in dims]
    keep = {variable(output)}

    def evaluate(u: np.ndarray) -> np.ndarray:
        out = np.empty(u.shape[0])
        for start in range(0, u.shape[0], MC_CHUNK):
            stop = min(start + MC_CHUNK, u.shape[0])
            ds = run_uniforms(loaded, params, axes, design, u[start:stop], keep)
            out[start:stop] = figure(ds, output)[0]
            if progress is not None:
                progress(stop, u.shape[0])
        return out

    def evaluate_some(u: np.ndarray) -> np.ndarray:
        values = evaluate(u)
        if not np.isfinite(values).any():
            # Ranking drivers of a figure that is never a number would rank noise: say so instead.
            raise FlopgridError(
                f"{output}: null (not a number) in every one of the {len(values):,} model runs, so no "
                "driver can be ranked; the scenario does not produce this figure (see its totals in "
                "`flopgrid run`)"
            )
        return values

    n = samples or (256 if method == "sobol" else 32)
    ranked = indices(evaluate_some, [d.name for d in dims], method, n, seed, groups)
    drivers = list(ranked["driver"])[:top]
    rows = np.full((1 + 2 * len(drivers), len(dims)), 0.5)
    for k, name in enumerate(drivers):
        cols = [i for i, g in enumerate(groups) if g == name]
        rows[1 + 2 * k, cols] = 0.1
        rows[2 + 2 * k, cols] = 0.9
    values = evaluate(rows)
    base = float(values[0])
    tornado = pd.DataFrame(
        {
            "driver": drivers,
            "low": values[1::2],
            "high": values[2::2],
        }
    )
    tornado["swing"] = (tornado["high"] - tornado["low"]).abs()
    tornado = tornado.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    return {
        "output": output,
        "unit": unit,
        "method": method,
        "runs": ranked.attrs["runs"],
        "drivers": ranked,
        "tornado": tornado,
        "base": base,
    }
