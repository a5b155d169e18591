"""Views of the atlas: capacity in service by region, year and status, the pipeline chart and the map.

Each asset ramps from its first year in service to its year at full capacity
(:func:`flopgrid.model.pipeline.in_service`); cancelled assets and assets without a year or a capacity
are left out of the totals (and counted in the chart's note). The map draws every asset with
coordinates over the shipped land outlines (:mod:`flopgrid.charts.geo`), so it needs no network.
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
import pandas as pd

from flopgrid.charts.base import Figure, as_list, figure_layout
from flopgrid.charts.geo import land_traces
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
#: Marker colour and symbol of each kind on the map.
KIND_STYLE = {
    "fab": ("#1f77b4", "square"),
    "packaging": ("#9467bd", "diamond"),
    "hbm": ("#17becf", "triangle-up"),
    "campus": ("#d62728", "circle"),
    "power": ("#ff7f0e", "star"),
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
        _caption(f"{len(kept)} {kind} assets drawn; {left_out} cancelled, undated or unsized left out", 1.08)
    ]
    return {"title": "Atlas pipeline", "data": data, "layout": layout}


def hover_text(asset: Asset, here: list[str] | None = None) -> str:
    """What a marker on the map says: name, operator, place, status, years, size and source, and the
    other assets ``here`` (at the same point, whose markers this one hides)."""
    size = "" if np.isnan(asset.capacity) else f"{asset.capacity:,.0f} {asset.unit} {asset.basis}".strip()
    years = "–".join(str(y) for y in (asset.start, asset.online_year, asset.full_year) if y is not None)
    lines = [
        f"<b>{escape(asset.name, quote=False)}</b>",
        f"{asset.operator}, {asset.site} ({asset.country})",
        f"{asset.kind}, {asset.status.replace('_', ' ')}" + (f", {years}" if years else ""),
        size,
        f"source: {asset.publisher} ({asset.date})",
        "also here: " + ", ".join(here) if here else "",
    ]
    # Plotly reads hover text as HTML: names and titles are escaped, the <b> and <br> are the markup.
    return "<br>".join(line if n == 0 else escape(line, quote=False) for n, line in enumerate(lines) if line)


def asset_map(assets: list[Asset]) -> Figure:
    """The map of the assets: one marker per asset with coordinates, one trace per kind, over the land.

    Drawn on plain longitude/latitude axes (equirectangular, equal scale) with the land outlines
    shipped in flopgrid, never Plotly's geo traces, which fetch their outlines from a CDN. Assets
    without coordinates are counted in the figure's note, not drawn.
    """
    data = land_traces()
    located = [a for a in assets if a.located]
    # Sites sources name only by town share a point (three Abilene campuses): each hover names the rest.
    at: dict[tuple[float, float], list[str]] = {}
    for a in located:
        at.setdefault((a.lat, a.lon), []).append(a.name)
    for kind, (colour, symbol) in KIND_STYLE.items():
        of_kind = [a for a in located if a.kind == kind]
        if not of_kind:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": kind,
                "x": [a.lon for a in of_kind],
                "y": [a.lat for a in of_kind],
                "customdata": [a.id for a in of_kind],
                "text": [hover_text(a, [n for n in at[a.lat, a.lon] if n != a.name]) for a in of_kind],
                "hovertemplate": "%{text}<extra></extra>",
                "marker": {
                    "color": colour,
                    "symbol": symbol,
                    "size": 9,
                    "line": {"color": "#fff", "width": 1},
                },
            }
        )
    left_out = len(assets) - len(located)
    # The view: the assets with a margin (the whole world when none has coordinates); the land beyond
    # is there to pan or zoom out to.
    lons = [a.lon for a in located] or [-155.0, 155.0]
    lats = [a.lat for a in located] or [-40.0, 70.0]
    x_range = [max(-180.0, min(lons) - 25), min(180.0, max(lons) + 25)]
    y_range = [max(-58.0, min(lats) - 20), min(84.0, max(lats) + 12)]
    axis = {"showgrid": False, "zeroline": False, "showticklabels": False, "ticks": "", "automargin": True}
    layout: dict[str, object] = {
        "title": {"text": "Atlas map: named assets by kind", "font": {"size": 14}},
        "xaxis": {**axis, "range": x_range, "title": {"text": ""}},
        # Equal scale: a degree of latitude as long as a degree of longitude on the page.
        "yaxis": {**axis, "range": y_range, "scaleanchor": "x", "scaleratio": 1, "title": {"text": ""}},
        "legend": {"orientation": "h", "y": -0.05},
        "margin": {"l": 10, "r": 10, "t": 40, "b": 30},
        "hovermode": "closest",
        "plot_bgcolor": "#ffffff",
        "annotations": [
            _caption(f"{len(located)} assets drawn; {left_out} without coordinates left off", 1.04)
        ],
    }
    return {"title": "Atlas map", "data": data, "layout": layout}


def _caption(text: str, y: float) -> dict[str, Any]:
    """A line of small text above a figure's plot area, at height ``y`` (in the figure's paper units):
    what was drawn and what was left out."""
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": 0,
        "y": y,
        "showarrow": False,
        "font": {"size": 11},
    }
