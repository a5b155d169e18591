"""Building blocks of the charts: the palette, axis layouts, and medians of variables in plain numpy."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

Figure = dict[str, Any]

HOURS_PER_YEAR = 8760.0
#: Colours by series name, so a source or an asset keeps its colour across charts and scenarios.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def as_list(values: np.ndarray) -> list[float | None]:
    """Floats for JSON, with NaN and infinities as null (JSON has neither)."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=float).ravel()]


class Series:
    """A variable summed down to ``keep`` and reduced to its median over samples, in plain numpy.

    xarray's reductions cost about a millisecond each in bookkeeping; a chart set makes dozens, so the
    charts work on the raw arrays (whose dimension order the simulator declares) instead.
    """

    def __init__(self, var: xr.DataArray, keep: tuple[str, ...]) -> None:
        dims = list(var.dims)
        values = np.asarray(var.values, dtype=float)
        drop = tuple(i for i, d in enumerate(dims) if d not in ("sample", *keep))
        if drop:
            values = values.sum(axis=drop)
        kept = [d for d in dims if d in ("sample", *keep)]
        if "sample" in kept:
            values = np.median(values, axis=kept.index("sample")) if values.shape[0] > 1 else values[0]
            kept.remove("sample")
        self.values = np.moveaxis(values, [kept.index(d) for d in keep], range(len(keep)))
        self.labels = {d: [str(x) for x in var[d].values] for d in keep}

    def sel(self, **where: str) -> Series:
        """The series at one label of each named dimension (that dimension dropped)."""
        out = Series.__new__(Series)
        values, labels = self.values, dict(self.labels)
        for dim, label in where.items():
            axis = list(labels).index(dim)
            values = np.take(values, labels[dim].index(str(label)), axis=axis)
            del labels[dim]
        out.values, out.labels = values, labels
        return out

    def __truediv__(self, scale: float) -> Series:
        out = Series.__new__(Series)
        out.values, out.labels = self.values / scale, self.labels
        return out

    def __neg__(self) -> Series:
        out = Series.__new__(Series)
        out.values, out.labels = -self.values, self.labels
        return out


def median(var: xr.DataArray, keep: tuple[str, ...]) -> Series:
    """Sum over every dimension but ``sample`` and ``keep``, then the median over samples."""
    return Series(var, keep)


#: The totals the dashboard prints under its charts.
def figure_layout(title: str, y: str, *, y2: str | None = None, stack: bool = False) -> dict[str, Any]:
    """A Plotly layout: title, the y axis with its unit (and a second one), stacked bars if asked."""
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 14}},
        # automargin and a standoff keep an axis title clear of its tick labels, however long they are.
        "xaxis": {"title": {"text": ""}, "automargin": True},
        "yaxis": {"title": {"text": y, "standoff": 8}, "rangemode": "tozero", "automargin": True},
        "legend": {"orientation": "h", "y": -0.2},
        "margin": {"l": 60, "r": 60 if y2 else 20, "t": 40, "b": 40},
        "hovermode": "x unified",
    }
    if y2:
        layout["yaxis2"] = {
            "title": {"text": y2, "standoff": 8},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "automargin": True,
        }
    if stack:
        layout["barmode"] = "relative"
    return layout


def colour(index: int) -> str:
    """The palette colour of the ``index``-th trace (cycling)."""
    return PALETTE[index % len(PALETTE)]
