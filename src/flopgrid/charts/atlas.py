"""Views of the atlas: capacity in service by region, year and status, and the pipeline chart.

Each asset ramps from its first year in service to its year at full capacity
(:func:`flopgrid.model.pipeline.in_service`); cancelled assets and assets without a year or a capacity
are left out of the totals (and counted in the chart's note).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flopgrid.charts.base import Figure, as_list, figure_layout
from flopgrid.library.atlas import STATUSES, Asset
from flopgrid.model.pipeline import in_service

#: Display unit and scale (model unit → display unit) of each kind's capacity.
DISPLAY = {
    "fab": ("k wafer/month", 12e3),
    "packaging": ("k wafer/month", 12e3),
    "hbm": ("k wafer/month", 12e3),
    "campus": ("GW", 1e9),
    "power": ("GW", 1e9),
}
STATUS_COLOURS = {"operating": "#2ca02c", "under_construction": "#ff7f0e", "announced": "#1f77b4"}
#: Years the atlas views cover by default.
YEARS = np.arange(2023, 2031)


def dated(assets: list[Asset]) -> list[Asset]:
    """The assets that count in a timeline: not cancelled, with a capacity and a year in service."""
    return [
        a
        for a in assets
        if a.status != "cancelled"
        and np.isfinite(a.capacity_model)
        and (a.online_year is not None or a.full_year is not None)
    ]


def capacity_by_year(assets: list[Asset], years: np.ndarray) -> np.ndarray:
    """Capacity in service (model units) by asset and year, ``(asset, year)``."""
    capacity = np.array([a.capacity_model for a in assets], dtype=float)
    online = np.array([a.online_year or a.full_year or np.nan for a in assets], dtype=float)
    full = np.array([a.full_year or a.online_year or np.nan for a in assets], dtype=float)
    return in_service(capacity, online, full, years)


def totals(assets: list[Asset], years: np.ndarray = YEARS) -> pd.DataFrame:
    """Capacity in service by kind, region, status and year, in display units (long form).

    >>> from flopgrid.library.atlas import load_atlas
    >>> frame = totals(load_atlas().select(kind="campus", region="UAE"))
    >>> float(frame[(frame.year == 2026) & (frame.status == "under_construction")].capacity.sum())
    0.2
    """
    kept = dated(assets)
    columns = ["kind", "region", "status", "year", "capacity", "unit"]
    if not kept:
        return pd.DataFrame(columns=columns)
    values = capacity_by_year(kept, years)
    frame = pd.DataFrame(
        [
            (a.kind, a.region, a.status, int(y), values[i, j] / DISPLAY[a.kind][1], DISPLAY[a.kind][0])
            for i, a in enumerate(kept)
            for j, y in enumerate(years)
        ],
        columns=columns,
    )
    grouped = frame.groupby(["kind", "region", "status", "year", "unit"], as_index=False, sort=False)
    summed: pd.DataFrame = grouped.agg(capacity=("capacity", "sum"))
    return summed[columns]


def pipeline(assets: list[Asset], kind: str = "campus", years: np.ndarray = YEARS) -> Figure:
    """The pipeline chart: capacity of one kind in service by status over the years, stacked.

    Cancelled, undated and unsized assets are named in the chart's note rather than drawn.
    """
    of_kind = [a for a in assets if a.kind == kind]
    kept = dated(of_kind)
    unit, scale = DISPLAY[kind]
    values = capacity_by_year(kept, years) / scale if kept else np.zeros((0, len(years)))
    data = []
    for status in [s for s in STATUSES if s != "cancelled"]:
        rows = [i for i, a in enumerate(kept) if a.status == status]
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "stackgroup": "pipeline",
                "name": status.replace("_", " "),
                "x": [int(y) for y in years],
                "y": as_list(values[rows].sum(axis=0) if rows else np.zeros(len(years))),
                "line": {"color": STATUS_COLOURS[status]},
            }
        )
    left_out = len(of_kind) - len(kept)
    layout = figure_layout(f"Atlas pipeline: {kind} capacity in service by status", unit)
    layout["annotations"] = [
        {
            "text": f"{len(kept)} {kind} assets drawn; {left_out} cancelled, undated or unsized left out",
            "xref": "paper",
            "yref": "paper",
            "x": 0,
            "y": 1.08,
            "showarrow": False,
            "font": {"size": 11},
        }
    ]
    return {"title": "Atlas pipeline", "data": data, "layout": layout}
