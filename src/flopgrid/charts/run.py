"""The figures of one run: compute, power, energy, money, bottlenecks, the Monte Carlo fan and a plan's
shadow prices."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from flopgrid.charts.answers import fan_of
from flopgrid.charts.base import HOURS_PER_YEAR, Figure, as_list, colour, figure_layout, median


def compute(ds: xr.Dataset) -> Figure:
    """Installed compute: H100-equivalents and peak FLOP/s by year (medians over samples)."""
    years = ds.year.values.tolist()
    h100e = median(ds["h100e"], ("year", "region")) / 1e6
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "stackgroup": "h100e",
            "name": f"{region} H100e",
            "x": years,
            "y": as_list(h100e.sel(region=region).values),
            "line": {"color": colour(i)},
        }
        for i, region in enumerate(ds.region.values.tolist())
    ]
    flops = median(ds["flops_peak"], ("year",))
    data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "peak FLOP/s (all regions)",
            "x": years,
            "y": as_list(flops.values),
            "yaxis": "y2",
            "line": {"color": "#000000", "dash": "dot"},
        }
    )
    return {
        "title": "Compute installed",
        "data": data,
        "layout": figure_layout("Compute installed", "million H100e", y2="FLOP/s (peak dense BF16)"),
    }


def power_by_source(ds: xr.Dataset) -> Figure:
    """Electricity supplied to the data centres by source, stacked by year."""
    years = ds.year.values.tolist()
    # Electricity by source over a year, as average power: what each source supplies around the clock.
    gw = median(ds["generation"], ("year", "source")) / HOURS_PER_YEAR / 1e9
    data = [
        {
            "type": "bar",
            "name": str(source),
            "x": years,
            "y": as_list(gw.sel(source=source).values),
            "marker": {"color": colour(i)},
        }
        for i, source in enumerate(ds.source.values.tolist())
    ]
    return {
        "title": "Power by source",
        "data": data,
        "layout": figure_layout("Power supplied by source (yearly average)", "GW", stack=True),
    }


def power_by_region(ds: xr.Dataset) -> Figure:
    """Average facility power draw by region, stacked by year."""
    years = ds.year.values.tolist()
    gw = median(ds["facility_power"], ("year", "region")) / 1e9
    data = [
        {
            "type": "bar",
            "name": str(region),
            "x": years,
            "y": as_list(gw.sel(region=region).values),
            "marker": {"color": colour(i)},
        }
        for i, region in enumerate(ds.region.values.tolist())
    ]
    return {
        "title": "Power by region",
        "data": data,
        "layout": figure_layout("Facility power by region", "GW", stack=True),
    }


def energy(ds: xr.Dataset) -> Figure:
    """Electricity used and emissions by year."""
    years = ds.year.values.tolist()
    twh = median(ds["energy"], ("year",)) / 1e12
    mt = median(ds["emissions"], ("year",)) / 1e9
    return {
        "title": "Energy and emissions",
        "data": [
            {
                "type": "bar",
                "name": "energy",
                "x": years,
                "y": as_list(twh.values),
                "marker": {"color": "#1f77b4"},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "emissions",
                "x": years,
                "y": as_list(mt.values),
                "yaxis": "y2",
                "line": {"color": "#d62728"},
            },
        ],
        "layout": figure_layout("Energy and emissions", "TWh", y2="Mt CO2e"),
    }


def _by_asset(ds: xr.Dataset, name: str, title: str) -> Figure:
    years = ds.year.values.tolist()
    billions = median(ds[name], ("year", "asset")) / 1e9
    data = [
        {
            "type": "bar",
            "name": str(asset),
            "x": years,
            "y": as_list(billions.sel(asset=asset).values),
            "marker": {"color": colour(i)},
        }
        for i, asset in enumerate(ds.asset.values.tolist())
    ]
    return {
        "title": title,
        "data": data,
        "layout": figure_layout(title, "billion USD (real 2024)", stack=True),
    }


def capex(ds: xr.Dataset) -> Figure:
    """Capital expenditure by asset class, stacked by year."""
    return _by_asset(ds, "capex", "Capex by asset class")


def opex(ds: xr.Dataset) -> Figure:
    """Operating expenditure by asset class, stacked by year."""
    return _by_asset(ds, "opex", "Opex by asset class")


def bottlenecks(ds: xr.Dataset) -> Figure:
    """The binding constraint of each year, as the share of samples in which each binds."""
    years = ds.year.values.tolist()
    var = ds["bottleneck"]
    meanings = var.attrs["flag_meanings"].split()
    labels = np.array(meanings)[np.asarray(var.values).astype(int)]
    data = []
    # The labels the Results declare, "none" first (the bottom of the stack), in a stable colour each.
    for i, name in enumerate(sorted(meanings, key=lambda m: m != "none")):
        share = (labels == name).mean(axis=0)
        if not share.any():
            continue
        data.append(
            {
                "type": "bar",
                "name": name,
                "x": years,
                "y": as_list(share * 100),
                "marker": {"color": colour(i)},
            }
        )
    layout = figure_layout("Bottleneck by year (share of samples)", "% of samples", stack=True)
    layout["yaxis"]["range"] = [0, 100]
    return {"title": "Bottleneck timeline", "data": data, "layout": layout}


def cash(ds: xr.Dataset) -> Figure:
    """Sources and uses of money by year: financing, revenue, capex, opex, the funding gap and cash."""
    years = ds.year.values.tolist()

    def series(name: str) -> list[float | None]:
        return as_list(median(ds[name], ("year",)).values / 1e9)

    capex_total = as_list(-median(ds["capex"], ("year",)).values / 1e9)
    opex_total = as_list(-median(ds["opex"], ("year",)).values / 1e9)
    data = [
        {"type": "bar", "name": "financing in", "x": years, "y": series("financing_in")},
        {"type": "bar", "name": "revenue", "x": years, "y": series("revenue")},
        {"type": "bar", "name": "capex", "x": years, "y": capex_total},
        {"type": "bar", "name": "opex", "x": years, "y": opex_total},
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "funding gap",
            "x": years,
            "y": series("funding_gap"),
            "line": {"color": "#d62728", "width": 3},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "cash carried",
            "x": years,
            "y": series("cash"),
            "line": {"color": "#000000", "dash": "dot"},
        },
    ]
    for i, trace in enumerate(data[:4]):
        trace["marker"] = {"color": colour(i + 2)}
    return {
        "title": "Cash flows and funding gap",
        "data": data,
        "layout": figure_layout("Cash flows and funding gap", "billion USD (real 2024)", stack=True),
    }


def fan(ds: xr.Dataset) -> Figure:
    """Monte Carlo fan chart of installed H100e: P5–P95 and P25–P75 bands around the median (the
    answers' fan builder, :func:`flopgrid.charts.answers.fan_of`, on ``h100e``)."""
    return fan_of(ds, "h100e", "installed H100e")


def shadow_prices(ds: xr.Dataset, top: int = 10) -> Figure | None:
    """The planner's dual values (one ``shadow_price_*`` variable per constraint) by year, as the value
    of one more unit of each constraint in words (the unit the plan report uses: "GW of firm power"),
    in billion USD (in H100e for a compute-maximising plan): one line per constraint and label of its
    other dimensions (e.g. region, source), the ``top`` largest in magnitude; constraints that never
    bind (all zero) are left out."""
    names = [str(n) for n in ds.data_vars if str(n).startswith("shadow_price")]
    if not names:
        return None
    money = ds.attrs.get("objective", "min_cost") != "max_compute"
    scale = 1e9 if money else 1.0
    lines: list[tuple[float, dict[str, Any]]] = []
    for name in names:
        var = ds[name]
        if "sample" in var.dims:
            var = var.median("sample")
        if "year" not in var.dims:
            continue
        # Per unit in words (1 GW, 1,000 wafers a year …), as the plan report ranks them.
        display = float(var.attrs.get("display", 1.0))
        words = str(var.attrs.get("words", var.attrs.get("units", "unit")))
        others = [d for d in var.dims if d != "year"]
        stacked = (
            var.transpose(*others, "year").values.reshape(-1, var.sizes["year"])
            if others
            else var.values[None]
        )
        constraint = str(var.attrs.get("constraint", name))
        labels = [
            " ".join([constraint, *(str(var[d].values[k]) for d, k in zip(others, index, strict=True))])
            for index in np.ndindex(*(var.sizes[d] for d in others))
        ] or [constraint]
        for label, row in zip(labels, stacked, strict=True):
            worth = np.asarray(row, dtype=float) * display / scale
            size = float(np.nanmax(np.abs(worth))) if np.isfinite(worth).any() else 0.0
            if size > 0:
                trace = {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": f"{label}: per {words}",
                    "x": var.year.values.tolist(),
                    "y": as_list(worth),
                }
                lines.append((size, trace))
    lines.sort(key=lambda pair: pair[0], reverse=True)
    title = (
        "Planner shadow prices<br><sup>value of one more unit of the "
        f"{min(top, len(lines))} most valuable binding constraints</sup>"
    )
    unit = "billion USD (real 2024) per unit in the legend" if money else "H100e per unit in the legend"
    layout = figure_layout(title, unit)
    layout["yaxis"]["rangemode"] = "normal"
    # The legend sits under the plot, one entry a line: Plotly widens the bottom margin to hold it
    # (the dashboard gives this chart the height it needs), so no entry is cut off.
    layout["legend"] = {"orientation": "v", "y": -0.12, "yanchor": "top", "x": 0, "xanchor": "left"}
    layout["margin"]["t"] = 60
    return {"title": "Planner shadow prices", "data": [trace for _, trace in lines[:top]], "layout": layout}


def price_path(ds: xr.Dataset) -> Figure:
    """The market price of compute by year: the median clearing price per H100e-hour with its P5–P95
    band, and compute's share of world electricity (median) on the right axis."""
    years = ds.year.values.tolist()
    price = np.asarray(ds["market_price"].values, dtype=float)  # (sample, year)
    low, mid, high = (
        np.nanquantile(price, [0.05, 0.5, 0.95], axis=0) if price.shape[0] > 1 else [price[0]] * 3
    )
    share = median(ds["compute_electricity_share"], ("year",)).values * 100
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": years,
            "y": as_list(low),
            "line": {"width": 0},
            "name": "P5",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": years,
            "y": as_list(high),
            "fill": "tonexty",
            "fillcolor": "rgba(44,160,44,0.2)",
            "line": {"width": 0},
            "name": "P95",
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": years,
            "y": as_list(mid),
            "name": "clearing price (median)",
            "line": {"color": colour(2)},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": years,
            "y": as_list(share),
            "name": "share of world electricity",
            "yaxis": "y2",
            "line": {"color": "#000000", "dash": "dot"},
        },
    ]
    layout = figure_layout(
        "Market price of compute (world market, the scenario's fleet)",
        "USD per H100e-hour",
        y2="% of world electricity",
    )
    return {"title": "Price of compute", "data": data, "layout": layout}
