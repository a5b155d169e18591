"""Figures of the answers: distributions of headline figures, Monte Carlo fans of the main time series,
the tornado of a sensitivity analysis and the lines of an assumption sweep.

Like the rest of :mod:`flopgrid.charts`, each builder returns a JSON-ready ``{"title", "data",
"layout"}`` dict whose axis titles carry the unit shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from flopgrid.charts.base import Figure, as_list, colour, figure_layout
from flopgrid.questions import figure as figure_values
from flopgrid.schema import FIGURES, VARIABLES

#: Bins of a distribution's histogram, and points of its CDF (quantiles 0 … 1).
BINS = 40
CDF_POINTS = 101


def distribution(values: np.ndarray, name: str) -> Figure:
    """Histogram (share of samples per bin) and CDF of one registry figure over Monte Carlo samples.

    ``values`` are in base units, one per sample; the figure shows them in the figure's display unit,
    binned here (so the page receives about 140 numbers, whatever the sample count).
    """
    registered = FIGURES[name]
    unit = registered.display_unit
    shown = np.asarray(values, dtype=float) / registered.variable.display_scale
    finite = shown[np.isfinite(shown)]
    title = f"Distribution of {registered.label} ({finite.size:,} samples)"
    layout = figure_layout(title, "% of samples", y2="cumulative probability (CDF), %")
    layout["xaxis"]["title"] = {"text": unit, "standoff": 8}
    layout["yaxis2"]["range"] = [0, 100]
    if not finite.size:
        return {"title": title, "data": [], "layout": layout}
    low, high = float(finite.min()), float(finite.max())
    # One value in every sample (up to rounding, which numpy cannot cut into bins): one bar around it.
    bins = BINS
    if high - low <= 1e-9 * max(abs(low), abs(high)):
        pad = abs(low) * 0.01 or 1.0
        low, high, bins = low - pad, high + pad, 1
    counts, edges = np.histogram(finite, bins=bins, range=(low, high))
    levels = np.linspace(0.0, 1.0, CDF_POINTS)
    data = [
        {
            "type": "bar",
            "name": "share of samples",
            "x": as_list((edges[:-1] + edges[1:]) / 2),
            "y": as_list(counts / finite.size * 100),
            "width": float(edges[1] - edges[0]),
            "marker": {"color": colour(0)},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "CDF",
            "x": as_list(np.quantile(finite, levels)),
            "y": as_list(levels * 100),
            "yaxis": "y2",
            "line": {"color": "#000000"},
        },
    ]
    layout["hovermode"] = "closest"
    return {"title": title, "data": data, "layout": layout}


def distributions(ds: xr.Dataset, names: Sequence[str]) -> dict[str, Figure]:
    """A :func:`distribution` for each named numeric registry figure the Results hold (Monte Carlo
    runs only: with one sample there is nothing to distribute, and the answer is empty)."""
    if int(ds.sizes.get("sample", 1)) < 2:
        return {}
    out: dict[str, Figure] = {}
    for name in names:
        registered = FIGURES.get(name)
        if registered is None or registered.kind == "label" or registered.variable.name not in ds:
            continue
        values, _ = figure_values(ds, name)
        out[name] = distribution(values, name)
    return out


#: Fan charts of the main time series: (chart key, variable, title, cumulative over years).
FANS = (
    ("fan_power", "facility_power", "average facility power draw", False),
    ("fan_energy", "energy", "electricity used per year", False),
    ("fan_capex", "capex", "cumulative capex", True),
    ("fan_gap", "funding_gap", "cumulative funding gap", True),
)


def fan_of(ds: xr.Dataset, name: str, title: str, cumulative: bool = False) -> Figure:
    """P5–P95 and P25–P75 bands and the median of one variable by year (summed over everything but
    ``sample`` and ``year``), in its display unit."""
    declared = VARIABLES[name]
    var = ds[name]
    values = np.asarray(var.values, dtype=float)
    dims = list(var.dims)
    other = tuple(i for i, d in enumerate(dims) if d not in ("sample", "year"))
    if other:
        values = values.sum(axis=other)
    kept = [d for d in dims if d in ("sample", "year")]
    values = np.moveaxis(values, [kept.index("sample"), kept.index("year")], [0, 1])
    if cumulative:
        values = np.cumsum(values, axis=1)
    values = values / declared.display_scale
    q = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    years = ds.year.values.tolist()
    band = "rgba(31,119,180,{})"
    data: list[dict[str, Any]] = []
    for low, high, alpha, names in ((0, 4, 0.2, ("P5", "P95")), (1, 3, 0.4, ("P25", "P75"))):
        data.append({"type": "scatter", "mode": "lines", "x": years, "y": as_list(q[low]), "name": names[0]})
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": years,
                "y": as_list(q[high]),
                "fill": "tonexty",
                "fillcolor": band.format(alpha),
                "name": names[1],
            }
        )
    for trace in data:
        trace["line"] = {"width": 0}
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "median",
            "x": years,
            "y": as_list(q[2]),
            "line": {"color": colour(0)},
        }
    )
    samples = int(ds.sizes["sample"])
    text = f"Monte Carlo fan: {title}<br><sup>median, P25–P75 and P5–P95 of {samples:,} samples</sup>"
    layout = figure_layout(text, declared.display_unit)
    layout["margin"]["t"] = 60
    return {"title": f"Monte Carlo fan: {title}", "data": data, "layout": layout}


def fans(ds: xr.Dataset) -> dict[str, Figure]:
    """The fans of :data:`FANS` whose variables the Results hold, for a Monte Carlo run (empty for one
    sample: a fan of one line would pass a single run off as a range)."""
    if int(ds.sizes.get("sample", 1)) < 2:
        return {}
    return {key: fan_of(ds, name, title, cumulative) for key, name, title, cumulative in FANS if name in ds}


def tornado(
    records: Sequence[Mapping[str, Any]], output: str, unit: str, base: float, top: int = 15
) -> Figure:
    """A sensitivity tornado: for each driver (largest swing on top), the output at its low and high
    value as bars from the base run's value.

    ``records`` are the rows of :func:`flopgrid.uncertainty.sensitivity`'s ``tornado`` frame
    (``driver``, ``low``, ``high``, ``swing``), in ``unit``.
    """

    def swing(row: Mapping[str, Any]) -> float:
        value = float(row.get("swing") or 0.0)
        return abs(value) if np.isfinite(value) else 0.0

    def drawn(row: Mapping[str, Any]) -> bool:
        return all(row.get(k) is not None and np.isfinite(float(row[k])) for k in ("low", "high"))

    rows = sorted((r for r in records if drawn(r)), key=swing, reverse=True)[:top][::-1]
    drivers = [str(r["driver"]) for r in rows]
    low = np.array([float(r["low"]) for r in rows]) - base
    high = np.array([float(r["high"]) for r in rows]) - base
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": "driver at its low value",
            "y": drivers,
            "x": as_list(low),
            "base": base,
            "marker": {"color": colour(0)},
        },
        {
            "type": "bar",
            "orientation": "h",
            "name": "driver at its high value",
            "y": drivers,
            "x": as_list(high),
            "base": base,
            "marker": {"color": colour(1)},
        },
    ]
    title = f"Sensitivity of {output}: the output with each driver at its low and high value"
    layout = figure_layout(title, "")
    layout["barmode"] = "overlay"
    layout["xaxis"]["title"] = {
        "text": f"{output} [{unit}] (bars start at the base run's value)",
        "standoff": 8,
    }
    layout["yaxis"] = {"automargin": True, "title": {"text": ""}}
    layout["hovermode"] = "closest"
    layout["margin"]["l"] = 200
    return {"title": f"Tornado: {output}", "data": data, "layout": layout}


def sweep_lines(table: Sequence[Mapping[str, Any]], assumption: str) -> dict[str, Figure]:
    """One line chart per numeric column of an assumption sweep's table (``name [unit]`` columns),
    the swept value along x; a column named after a registry figure is shown in its display unit."""
    if not table:
        return {}
    xs = [row[assumption] for row in table]
    out: dict[str, Figure] = {}
    for column in table[0]:
        if column in (assumption, "run_id") or "[" not in column:
            continue
        name, unit = column.split(" [", 1)
        unit = unit.rstrip("]")
        ys = np.array([np.nan if row[column] is None else float(row[column]) for row in table])
        if name in FIGURES:
            ys, unit = ys / FIGURES[name].variable.display_scale, FIGURES[name].display_unit
        title = f"{name} against {assumption}"
        out[name] = {
            "title": title,
            "data": [
                {"type": "scatter", "mode": "lines+markers", "name": name, "x": xs, "y": as_list(ys)},
            ],
            "layout": figure_layout(title, unit),
        }
        out[name]["layout"]["xaxis"]["title"] = {"text": assumption}
    return out
