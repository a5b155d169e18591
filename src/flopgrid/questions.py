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
