"""The world's land outlines for maps drawn without a network: Natural Earth 1:110m land, shipped.

Plotly's geo traces fetch their outlines (topojson) from a CDN when a map is drawn, which neither the
self-contained report nor the offline dashboard may do. flopgrid ships Natural Earth's 1:110m land
(public domain) as the ``world-atlas`` package's TopoJSON (``charts/data/land-110m.json``, ISC
licence; see the README beside it) and draws the land as filled plain scatter lines on longitude and
latitude axes (an equirectangular map), which needs nothing but plotly.js itself.

>>> outer, holes = land_rings()
>>> len(outer) > 100 and all(ring.shape[1] == 2 for ring in outer)
True
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

#: The shipped TopoJSON: package folder and file name.
LAND_FILE = ("data", "land-110m.json")
#: Decimal places kept for drawing (0.01° ≈ 1 km, far below the data's 1:110m resolution).
DECIMALS = 2


def decode_arcs(topology: dict[str, Any]) -> list[np.ndarray]:
    """The arcs of a quantized TopoJSON topology as ``(point, [lon, lat])`` arrays in degrees.

    Quantized arcs store each point as a delta from the one before; a cumulative sum undoes it, and
    the topology's ``transform`` (scale, translate) turns the integers back into degrees.
    """
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        points = np.asarray(arc, dtype=float).reshape(-1, 2)
        if transform is not None:
            points = np.cumsum(points, axis=0) * np.asarray(transform["scale"]) + np.asarray(
                transform["translate"]
            )
        arcs.append(points)
    return arcs


def ring(arcs: list[np.ndarray], indices: list[int]) -> np.ndarray:
    """One closed ring from arc ``indices`` (a negative index ``~i`` is arc ``i`` reversed); each arc
    after the first starts where the one before ended, so its first point is dropped."""
    parts = []
    for n, index in enumerate(indices):
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        parts.append(arc if n == 0 else arc[1:])
    return np.concatenate(parts)


def polygons(geometry: dict[str, Any]) -> list[list[list[int]]]:
    """The polygons (each a list of rings of arc indices, the outer ring first) of a geometry."""
    kind = geometry.get("type")
    if kind == "Polygon":
        return [geometry["arcs"]]
    if kind == "MultiPolygon":
        return list(geometry["arcs"])
    if kind == "GeometryCollection":
        return [p for g in geometry["geometries"] for p in polygons(g)]
    return []


def wrapped(points: np.ndarray) -> list[np.ndarray]:
    """A ring that crosses the antimeridian (Chukotka, Fiji), made continuous and drawn on both sides.

    TopoJSON stitches such rings, so a ring jumps from 180° to -180°; drawn as is, the jump is a line
    across the whole map. Unwrapping the longitudes makes the ring continuous (past ±180°); a copy
    shifted by 360° fills the other side of the map, and the axes' range clips both at ±180°.
    """
    lon = np.rad2deg(np.unwrap(np.deg2rad(points[:, 0])))
    ring = np.column_stack([lon, points[:, 1]])
    shift = np.array([360.0, 0.0])
    copies = [ring]
    if lon.max() > 180:
        copies.append(ring - shift)
    if lon.min() < -180:
        copies.append(ring + shift)
    return copies


@cache
def land_rings() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The land's outer rings and its holes (inland seas), each ``(point, [lon, lat])`` in degrees."""
    text = resources.files("flopgrid.charts").joinpath(*LAND_FILE).read_text(encoding="utf-8")
    topology = json.loads(text)
    arcs = decode_arcs(topology)
    outer: list[np.ndarray] = []
    holes: list[np.ndarray] = []
    for polygon in polygons(topology["objects"]["land"]):
        outer += wrapped(ring(arcs, polygon[0]))
        holes += [part for r in polygon[1:] for part in wrapped(ring(arcs, r))]
    return outer, holes


def joined(rings: list[np.ndarray]) -> tuple[list[float | None], list[float | None]]:
    """Rings as one Plotly line: longitudes and latitudes with a null between rings (a gap that
    Plotly's ``fill: "toself"`` closes and fills ring by ring)."""
    if not rings:
        return [], []
    gap = np.full((1, 2), np.nan)
    points = np.round(np.concatenate([part for r in rings for part in (r, gap)])[:-1], DECIMALS)
    values = [[None if np.isnan(v) else float(v) for v in column] for column in points.T]
    return values[0], values[1]


def land_traces(fill: str = "#ececec", line: str = "#b0b0b0", sea: str = "#ffffff") -> list[dict[str, Any]]:
    """The land as Plotly scatter traces on longitude/latitude axes: the land filled, inland seas
    filled with the sea's colour over it. Neither answers hovers nor appears in the legend."""
    outer, holes = land_rings()
    traces = []
    for rings, colour, name in ((outer, fill, "land"), (holes, sea, "inland seas")):
        x, y = joined(rings)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": x,
                "y": y,
                "fill": "toself",
                "fillcolor": colour,
                "line": {"color": line, "width": 0.6},
                "hoverinfo": "skip",
                "showlegend": False,
            }
        )
    return traces


__all__ = ["LAND_FILE", "decode_arcs", "joined", "land_rings", "land_traces", "polygons", "ring", "wrapped"]
