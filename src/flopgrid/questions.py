"""Questions about Results: one figure per sample (``"h100e@2030"``) and probabilities
(``"h100e@2030 >= 50e6"``).

A figure is a Results variable, optionally at a year (``@2030`` or ``@end``), summed over every dimension
but ``sample``, or a name of the figure registry (``flopgrid.schema.FIGURES``, the keys of
``results.flopgrid.totals()``: ``h100e_end``, ``capex_fab`` …) with the totals' meaning; a question
compares a figure with a threshold, with a unit if you like. These read any Results Dataset, whichever
engine produced it.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from flopgrid.errors import FlopgridError, UnitError
from flopgrid.schema import FIGURES, STOCKS
from flopgrid.units import parse_quantity

_QUESTION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:@\s*(\d{4}|end))?\s*(>=|<=|>|<|==)?\s*(.*?)\s*$")


def figure(results: xr.Dataset, expression: str) -> tuple[np.ndarray, str]:
    """One number per sample for ``VARIABLE[@YEAR]`` (summed over regions, items; with no year, over
    the horizon for flows). Returns the values and their unit."""
    match = _QUESTION.match(expression)
    if not match or match.group(3):
        raise FlopgridError(f"{expression!r}: expected a figure such as 'h100e@2030' or 'capex'")
    return _figure(results, match.group(1), match.group(2), expression)


def variable(expression: str) -> str:
    """The Results variable a figure or question is about (``"h100e@2030 >= 5"`` → ``"h100e"``; a
    registry figure's own variable, ``"capex_fab"`` → ``"capex"``)."""
    match = _QUESTION.match(expression)
    if not match:
        raise FlopgridError(f"{expression!r}: expected a figure such as 'h100e@2030'")
    name = match.group(1)
    return FIGURES[name].variable.name if name in FIGURES else name


def _figure(results: xr.Dataset, name: str, year: str | None, expression: str) -> tuple[np.ndarray, str]:
    var = _registered(results, name, year, expression) if name not in results.data_vars else None
    if var is None:
        if name not in results.data_vars:
            known = [*FIGURES, *(str(v) for v in results.data_vars)]
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise FlopgridError(
                f"{expression!r}: unknown figure {name!r}.{hint} Use a Results variable name or a "
                "figure name (flopgrid figures lists them)"
            )
        var = results[name]
    if "flag_values" in var.attrs:
        raise FlopgridError(f"{expression!r}: {name} is a label, not a number")
    if name in FIGURES and FIGURES[name].kind == "stock" and name not in results.data_vars:
        year = "end"
    if "year" in var.dims:
        if year is None and name in STOCKS:
            raise FlopgridError(
                f"{expression!r}: {name} is a level at the end of each year; name one, e.g. {name}@2030"
            )
        if year is not None:
            years = results.year.values
            at = int(years[-1]) if year == "end" else int(year)
            if at not in years:
                raise FlopgridError(f"{expression!r}: {at} is outside the run's years {years[0]}–{years[-1]}")
            var = var.sel(year=at)
    other = [d for d in var.dims if d != "sample"]
    values = np.asarray(var.sum(other).values if other else var.values, dtype=float)
    return values, str(var.attrs.get("units", ""))


def _registered(results: xr.Dataset, name: str, year: str | None, expression: str) -> xr.DataArray | None:
    """The variable behind a registry figure (``h100e_end``, ``capex_fab``), narrowed to its asset;
    ``None`` when the name is not a figure of the registry or its variable is not in the Results."""
    registered = FIGURES.get(name)
    if registered is None or registered.variable.name not in results.data_vars:
        return None
    if registered.kind == "label":
        raise FlopgridError(
            f"{expression!r}: {name} is a label ({registered.label}), not a number; "
            "a question needs a numeric figure (flopgrid figures lists them)"
        )
    if registered.kind == "stock" and year is not None:
        raise FlopgridError(
            f"{expression!r}: {name} is already the level at the horizon's end; "
            f"for another year ask {registered.variable.name}@{year}"
        )
    var = results[registered.variable.name]
    if registered.asset is not None:
        var = var.sel(asset=registered.asset)
    return var


def parse_question(expression: str) -> tuple[str, str | None, str, str]:
    """Split ``"h100e@2030 >= 50e6"`` into (variable, year, operator, right-hand side)."""
    match = _QUESTION.match(expression)
    if not match or not match.group(3) or not match.group(4):
        raise FlopgridError(
            f"{expression!r}: expected a question such as 'h100e@2030 >= 50e6' or 'funding_gap <= 0' "
            "(figure[@year] then one of >=, <=, >, <, == then a number, with a unit if you like)"
        )
    return match.group(1), match.group(2), match.group(3), match.group(4)


def figure_name(expression: str) -> str:
    """The figure a question is about, as :func:`flopgrid.uncertainty.monte_carlo` names it
    (``"h100e@2030 >= 5"`` → ``"h100e@2030"``)."""
    name, year, _, _ = parse_question(expression)
    return f"{name}@{year}" if year else name


def probability(results: xr.Dataset, expression: str) -> dict[str, Any]:
    """P(question) over the samples, with its Monte Carlo standard error.

    Examples
    --------
    >>> import flopgrid
    >>> r = flopgrid.simulate("reference", samples=200, seed=1)
    >>> 0.0 <= probability(r, "h100e@2030 >= 50e6")["probability"] <= 1.0
    True
    """
    name, year, _, _ = parse_question(expression)
    values, unit = _figure(results, name, year, expression)
    return answer(values, unit, expression)


def answer(values: np.ndarray, unit: str, expression: str) -> dict[str, Any]:
    """P(question) from one value per sample of the question's figure (see :func:`probability`)."""
    _, _, op, rhs = parse_question(expression)
    try:
        threshold = float(rhs)
    except ValueError:
        try:
            threshold = parse_quantity(rhs, unit)
        except UnitError as exc:
            raise FlopgridError(f"{expression!r}: the threshold {rhs!r}: {exc}") from None
    with np.errstate(invalid="ignore"):
        hits = {
            ">=": values >= threshold,
            "<=": values <= threshold,
            ">": values > threshold,
            "<": values < threshold,
            "==": values == threshold,
        }[op]
    finite = np.isfinite(values)
    n = int(finite.sum())
    p = float(hits[finite].mean()) if n else float("nan")
    return {
        "question": expression.strip(),
        "probability": p,
        "standard_error": float(np.sqrt(p * (1 - p) / n)) if n else float("nan"),
        "samples": n,
        "threshold": threshold,
        "unit": unit,
    }


# ------------------------------------------------------------------- central values against the samples

#: Headline figures whose value at central inputs is compared with their Monte Carlo median: returns
#: (NPV, IRR), compute (H100e in service at the end) and cost (capex over the horizon).
CENTRAL_FIGURES = ("npv", "irr", "h100e_end", "capex")
#: A Monte Carlo median further than this share of the central value from it deserves a line.
CENTRAL_GAP = 0.25


def _signed(value: float) -> str:
    """A display value with its sign, a true minus and three significant figures (+831, −920)."""
    return f"{value:+,.3g}".replace("-", "−") if abs(value) < 1000 else f"{value:+,.0f}".replace("-", "−")


def rank_correlations(output: np.ndarray, inputs: pd.DataFrame) -> pd.Series:
    """Spearman rank correlation of one figure per sample with each input column (samples where the
    figure is not a number are left out), largest in magnitude first."""
    keep = np.isfinite(output)
    if keep.sum() < 3 or inputs.shape[1] == 0:
        return pd.Series(dtype=float)
    ranks = inputs.loc[keep].rank().to_numpy(dtype=float, copy=True)
    y = pd.Series(output[keep]).rank().to_numpy(dtype=float, copy=True)
    ranks -= ranks.mean(axis=0)
    y -= y.mean()
    scale = np.sqrt((ranks**2).sum(axis=0) * (y**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(scale > 0, ranks.T @ y / np.where(scale > 0, scale, 1.0), 0.0)
    series = pd.Series(rho, index=inputs.columns)
    return series.reindex(series.abs().sort_values(ascending=False, kind="stable").index)


def central_gaps(
    central: xr.Dataset, drawn: xr.Dataset, inputs: pd.DataFrame | None = None
) -> list[dict[str, Any]]:
    """The headline figures (:data:`CENTRAL_FIGURES`) whose Monte Carlo median differs from their value
    at central inputs by more than :data:`CENTRAL_GAP` of it, or in sign.

    ``central`` is the deterministic run (one sample, every input at its median), ``drawn`` the Monte
    Carlo run of the same scenario; ``inputs`` (optional) holds the drawn inputs, one column each, one
    row per sample (their uniforms do: ranks are all a rank correlation needs), to name the input whose
    rank correlation with the figure is largest. Figures that are not a number at central inputs or in
    most samples are left out.
    """
    rows: list[dict[str, Any]] = []
    samples = int(drawn.sizes.get("sample", 1))
    for name in CENTRAL_FIGURES:
        spec = FIGURES[name]
        if spec.variable.name not in central or spec.variable.name not in drawn:
            continue
        at_centre = float(figure(central, name)[0][0])
        values = figure(drawn, name)[0]
        finite = values[np.isfinite(values)]
        if not np.isfinite(at_centre) or finite.size * 2 <= values.size:
            continue
        median = float(np.median(finite))
        opposite = at_centre * median < 0
        gap = abs(median - at_centre) / abs(at_centre) if at_centre else (np.inf if median else 0.0)
        if not opposite and gap <= CENTRAL_GAP:
            continue
        row: dict[str, Any] = {
            "figure": name,
            "label": spec.label,
            "unit": spec.unit,
            "central": at_centre,
            "median": median,
            "samples": samples,
            "opposite_sign": bool(opposite),
            "relative_gap": float(gap),
            "driver": None,
            "driver_rank_correlation": None,
        }
        if inputs is not None:
            rho = rank_correlations(values, inputs)
            if len(rho) and abs(float(rho.iloc[0])) > 0:
                row["driver"] = str(rho.index[0])
                row["driver_rank_correlation"] = float(rho.iloc[0])
        rows.append(row)
    return rows


def central_note(gaps: list[dict[str, Any]]) -> str | None:
    """One line on :func:`central_gaps`, or None when central values and medians agree, e.g. "Central
    inputs and Monte Carlo disagree: money: NPV +831 B USD at central inputs, −920 B USD median of 5,000
    samples (opposite sign; skewed by regions.all.cost_of_capital, rank correlation −0.62)"."""
    if not gaps:
        return None
    parts = []
    for row in gaps:
        spec = FIGURES[row["figure"]]
        unit = spec.display_unit
        why = "opposite sign" if row["opposite_sign"] else f"{row['relative_gap']:.0%} apart"
        if row["driver"] is not None:
            why += f"; skewed most by {row['driver']}, rank correlation " + _signed(
                row["driver_rank_correlation"]
            )
        parts.append(
            f"{spec.label}: {_signed(spec.display(row['central']))} {unit} at central inputs, "
            f"{_signed(spec.display(row['median']))} {unit} median of {row['samples']:,} samples ({why})"
        )
    return (
        "Central inputs and Monte Carlo disagree (the outcome is not symmetric in its inputs): "
        + "; ".join(parts)
    )
