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
from flopgrid.schema import VARIABLES

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
    "fan",
    "shadow_prices",
)


def _list(values: np.ndarray) -> list[float | None]:
    """Floats for JSON, with NaN and infinities as null (JSON has neither)."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=float).ravel()]


class _Series:
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

    def sel(self, **where: str) -> _Series:
        out = _Series.__new__(_Series)
        values, labels = self.values, dict(self.labels)
        for dim, label in where.items():
            axis = list(labels).index(dim)
            values = np.take(values, labels[dim].index(str(label)), axis=axis)
            del labels[dim]
        out.values, out.labels = values, labels
        return out

    def __truediv__(self, scale: float) -> _Series:
        out = _Series.__new__(_Series)
        out.values, out.labels = self.values / scale, self.labels
        return out

    def __neg__(self) -> _Series:
        out = _Series.__new__(_Series)
        out.values, out.labels = -self.values, self.labels
        return out


def _median(var: xr.DataArray, keep: tuple[str, ...]) -> _Series:
    """Sum over every dimension but ``sample`` and ``keep``, then the median over samples."""
    return _Series(var, keep)


#: The totals the dashboard prints under its charts.
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


def _layout(title: str, y: str, *, y2: str | None = None, stack: bool = False) -> dict[str, Any]:
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


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def compute(ds: xr.Dataset) -> Figure:
    """Installed compute: H100-equivalents and peak FLOP/s by year (medians over samples)."""
    years = ds.year.values.tolist()
    h100e = _median(ds["h100e"], ("year", "region")) / 1e6
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "stackgroup": "h100e",
            "name": f"{region} H100e",
            "x": years,
            "y": _list(h100e.sel(region=region).values),
            "line": {"color": _colour(i)},
        }
        for i, region in enumerate(ds.region.values.tolist())
    ]
    flops = _median(ds["flops_peak"], ("year",))
    data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "peak FLOP/s (all regions)",
            "x": years,
            "y": _list(flops.values),
            "yaxis": "y2",
            "line": {"color": "#000000", "dash": "dot"},
        }
    )
    return {
        "title": "Compute installed",
        "data": data,
        "layout": _layout("Compute installed", "million H100e", y2="FLOP/s (peak dense BF16)"),
    }


def power_by_source(ds: xr.Dataset) -> Figure:
    """Electricity supplied to the data centres by source, stacked by year."""
    years = ds.year.values.tolist()
    # Electricity by source over a year, as average power: what each source supplies around the clock.
    gw = _median(ds["generation"], ("year", "source")) / HOURS_PER_YEAR / 1e9
    data = [
        {
            "type": "bar",
            "name": str(source),
            "x": years,
            "y": _list(gw.sel(source=source).values),
            "marker": {"color": _colour(i)},
        }
        for i, source in enumerate(ds.source.values.tolist())
    ]
    return {
        "title": "Power by source",
        "data": data,
        "layout": _layout("Power supplied by source (yearly average)", "GW", stack=True),
    }


def power_by_region(ds: xr.Dataset) -> Figure:
    """Average facility power draw by region, stacked by year."""
    years = ds.year.values.tolist()
    gw = _median(ds["facility_power"], ("year", "region")) / 1e9
    data = [
        {
            "type": "bar",
            "name": str(region),
            "x": years,
            "y": _list(gw.sel(region=region).values),
            "marker": {"color": _colour(i)},
        }
        for i, region in enumerate(ds.region.values.tolist())
    ]
    return {
        "title": "Power by region",
        "data": data,
        "layout": _layout("Facility power by region", "GW", stack=True),
    }


def energy(ds: xr.Dataset) -> Figure:
    """Electricity used and emissions by year."""
    years = ds.year.values.tolist()
    twh = _median(ds["energy"], ("year",)) / 1e12
    mt = _median(ds["emissions"], ("year",)) / 1e9
    return {
        "title": "Energy and emissions",
        "data": [
            {
                "type": "bar",
                "name": "energy",
                "x": years,
                "y": _list(twh.values),
                "marker": {"color": "#1f77b4"},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "emissions",
                "x": years,
                "y": _list(mt.values),
                "yaxis": "y2",
                "line": {"color": "#d62728"},
            },
        ],
        "layout": _layout("Energy and emissions", "TWh", y2="Mt CO2e"),
    }


def _by_asset(ds: xr.Dataset, name: str, title: str) -> Figure:
    years = ds.year.values.tolist()
    billions = _median(ds[name], ("year", "asset")) / 1e9
    data = [
        {
            "type": "bar",
            "name": str(asset),
            "x": years,
            "y": _list(billions.sel(asset=asset).values),
            "marker": {"color": _colour(i)},
        }
        for i, asset in enumerate(ds.asset.values.tolist())
    ]
    return {"title": title, "data": data, "layout": _layout(title, "billion USD (real 2024)", stack=True)}


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
                "y": _list(share * 100),
                "marker": {"color": _colour(i)},
            }
        )
    layout = _layout("Bottleneck by year (share of samples)", "% of samples", stack=True)
    layout["yaxis"]["range"] = [0, 100]
    return {"title": "Bottleneck timeline", "data": data, "layout": layout}


def cash(ds: xr.Dataset) -> Figure:
    """Sources and uses of money by year: financing, revenue, capex, opex, the funding gap and cash."""
    years = ds.year.values.tolist()

    def series(name: str) -> list[float | None]:
        return _list(_median(ds[name], ("year",)).values / 1e9)

    capex_total = _list(-_median(ds["capex"], ("year",)).values / 1e9)
    opex_total = _list(-_median(ds["opex"], ("year",)).values / 1e9)
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
        trace["marker"] = {"color": _colour(i + 2)}
    return {
        "title": "Cash flows and funding gap",
        "data": data,
        "layout": _layout("Cash flows and funding gap", "billion USD (real 2024)", stack=True),
    }


def fan(ds: xr.Dataset) -> Figure:
    """Monte Carlo fan chart of installed H100e: P5–P95 and P25–P75 bands around the median."""
    years = ds.year.values.tolist()
    samples = int(ds.sizes["sample"])
    total = np.asarray(ds["h100e"].values, dtype=float).sum(axis=2) / 1e6  # (sample, year)
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
    q = np.quantile(total, levels, axis=0) if samples > 1 else np.repeat(total, 5, axis=0)
    band = "rgba(31,119,180,{})"
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": years,
            "y": _list(q[0]),
            "line": {"width": 0},
            "name": "P5",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": years,
            "y": _list(q[4]),
            "fill": "tonexty",
            "fillcolor": band.format(0.2),
            "line": {"width": 0},
            "name": "P95",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": years,
            "y": _list(q[1]),
            "line": {"width": 0},
            "name": "P25",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": years,
            "y": _list(q[3]),
            "fill": "tonexty",
            "fillcolor": band.format(0.4),
            "line": {"width": 0},
            "name": "P75",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": years,
            "y": _list(q[2]),
            "name": "median",
            "line": {"color": "#1f77b4"},
        },
    ]
    title = (
        f"Monte Carlo fan: installed H100e ({samples:,} samples)"
        if samples > 1
        else "Monte Carlo fan: one deterministic sample (set samples > 1)"
    )
    return {"title": "Monte Carlo fan", "data": data, "layout": _layout(title, "million H100e")}


def shadow_prices(ds: xr.Dataset, top: int = 20) -> Figure | None:
    """The planner's dual values (one ``shadow_price_*`` variable per constraint) by year: one line per
    constraint and label of its other dimensions (e.g. region, source), the ``top`` largest in
    magnitude; constraints that never bind (all zero) are left out."""
    names = [str(n) for n in ds.data_vars if str(n).startswith("shadow_price")]
    if not names:
        return None
    lines: list[tuple[float, dict[str, Any]]] = []
    for name in names:
        var = ds[name]
        if "sample" in var.dims:
            var = var.median("sample")
        units = str(var.attrs.get("units", ""))
        if "year" not in var.dims:
            continue
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
            size = float(np.nanmax(np.abs(row))) if np.isfinite(row).any() else 0.0
            if size > 0:
                trace = {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": f"{label} [{units}]" if units else label,
                    "x": var.year.values.tolist(),
                    "y": _list(row),
                }
                lines.append((size, trace))
    lines.sort(key=lambda pair: pair[0], reverse=True)
    title = "Planner shadow prices (value of one more unit of each binding constraint)"
    layout = _layout(title, "dual value (see legend for units)")
    layout["yaxis"]["rangemode"] = "normal"
    return {"title": "Planner shadow prices", "data": [trace for _, trace in lines[:top]], "layout": layout}


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
        "fan": fan,
    }
    out: dict[str, Figure] = {}
    for name, build in builds_available(ds, builders).items():
        out[name] = build(ds)
        if name in MEDIANS:
            median_note(out[name], int(ds.sizes.get("sample", 1)))
    prices = shadow_prices(ds)
    if prices is not None:
        out["shadow_prices"] = prices
    return out


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
            series = _median(ds[name], ("year",)).values / declared.display_scale
            if cumulative:
                series = np.cumsum(series)
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": label,
                    "x": ds.year.values.tolist(),
                    "y": _list(series),
                    "line": {"color": _colour(i)},
                }
            )
        out[name] = {"title": title, "data": data, "layout": _layout(title, declared.display_unit)}
        median_note(out[name], max(int(ds.sizes.get("sample", 1)) for ds in runs.values()))
    return out
