"""Plotly figures of a run, as plain JSON-ready dicts.

The dashboard and the standalone report draw the same figures: the server builds each figure's
``data`` and ``layout`` here, and the browser only hands them to ``Plotly.react``. Building dicts
rather than ``plotly.graph_objects`` figures keeps a chart set to about a millisecond, which matters
for the 200 ms slider-to-chart budget.

Every figure is ``{"title", "data", "layout"}``; axis titles carry the unit shown.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

import flopgrid.results  # noqa: F401  (registers the ``.flopgrid`` accessor that gives the totals)
from flopgrid.charts.base import Figure, as_list, colour, figure_layout, median
from flopgrid.charts.run import (
    bottlenecks,
    capex,
    cash,
    compute,
    energy,
    fan,
    opex,
    power_by_region,
    power_by_source,
    price_path,
    shadow_prices,
)
from flopgrid.schema import VARIABLES

#: Figures of one run, in the order the dashboard and the report show them.
CHARTS = (
    "compute",
    "power_source",
    "power_region",
    "energy",
    "capex",
    "opex",
    "bottlenecks",
    "cash",
    "price",
    "fan",
    "shadow_prices",
)


HEADLINE = (
    "h100e_end",
    "flops_peak_end",
    "facility_power_end",
    "energy",
    "capex",
    "opex",
    "funding_gap",
    "npv",
    "first_bottleneck",
)


def headline(ds: xr.Dataset) -> dict[str, dict[str, float | str]]:
    """The few totals the dashboard prints under its charts (medians over samples), with units: the
    Results' own totals (``results.flopgrid.totals``), so the dashboard and the CLI cannot disagree."""
    totals = ds.flopgrid.totals()
    return {key: totals[key] for key in HEADLINE if key in totals}


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """Every chart of one run, keyed by the names in :data:`CHARTS` (shadow prices only for plans)."""
    builders = {
        "compute": compute,
        "power_source": power_by_source,
        "power_region": power_by_region,
        "energy": energy,
        "capex": capex,
        "opex": opex,
        "bottlenecks": bottlenecks,
        "cash": cash,
        "price": price_path,
        "fan": fan,
    }
    out: dict[str, Figure] = {}
    world = bool(ds.attrs.get("existing_industry", 0))
    for name, build in builds_available(ds, builders).items():
        if name in WORLD_CHARTS and not world:
            continue
        out[name] = build(ds)
        if name in MEDIANS:
            median_note(out[name], int(ds.sizes.get("sample", 1)))
    prices = shadow_prices(ds)
    if prices is not None:
        out["shadow_prices"] = prices
    return out


#: Charts of the world market for compute, drawn only for a run with the world's fleet (the existing
#: industry): a programme's fleet alone would face the world's demand at the price cap, as the totals
#: and the cards say (``results.WORLD_TOTALS``).
WORLD_CHARTS = frozenset(("price",))

#: Charts that draw medians over samples (the fan draws quantiles, the bottleneck chart shares).
MEDIANS = frozenset(("compute", "power_source", "power_region", "energy", "capex", "opex", "cash"))


def median_note(figure: Figure, samples: int) -> None:
    """Say under the figure's title that it shows medians, when there are samples to take one of."""
    if samples > 1:
        title = figure["layout"]["title"]
        title["text"] = f"{title['text']}<br><sup>median of {samples:,} samples</sup>"
        figure["layout"]["margin"]["t"] = 60


#: Variables each chart draws: a run without them (a planner run may lack some) skips that chart.
NEEDS = {
    "compute": ("h100e", "flops_peak"),
    "power_source": ("generation",),
    "power_region": ("facility_power",),
    "energy": ("energy", "emissions"),
    "capex": ("capex",),
    "opex": ("opex",),
    "bottlenecks": ("bottleneck",),
    "cash": ("financing_in", "revenue", "capex", "opex", "funding_gap", "cash"),
    "price": ("market_price", "compute_electricity_share"),
    "fan": ("h100e",),
}


def builds_available(ds: xr.Dataset, builders: dict[str, Any]) -> dict[str, Any]:
    """The chart builders whose variables the Results hold (a plan lacks some)."""
    return {name: build for name, build in builders.items() if all(v in ds.data_vars for v in NEEDS[name])}


#: Comparison charts: (variable, title, cumulative); units shown are the schema's display units.
COMPARE = (
    ("h100e", "Installed compute", False),
    ("facility_power", "Facility power", False),
    ("energy", "Energy", False),
    ("emissions", "Emissions", False),
    ("capex", "Cumulative capex", True),
    ("funding_gap", "Cumulative funding gap", True),
)


def comparison(runs: dict[str, xr.Dataset]) -> dict[str, Figure]:
    """Charts with one line per scenario, for 2–4 runs side by side."""
    out: dict[str, Figure] = {}
    for name, title, cumulative in COMPARE:
        declared = VARIABLES[name]
        data = []
        for i, (label, ds) in enumerate(runs.items()):
            series = median(ds[name], ("year",)).values / declared.display_scale
            if cumulative:
                series = np.cumsum(series)
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": label,
                    "x": ds.year.values.tolist(),
                    "y": as_list(series),
                    "line": {"color": colour(i)},
                }
            )
        out[name] = {"title": title, "data": data, "layout": figure_layout(title, declared.display_unit)}
        median_note(out[name], max(int(ds.sizes.get("sample", 1)) for ds in runs.values()))
    return out
