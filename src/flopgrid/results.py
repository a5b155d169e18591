"""Results: the ``xarray.Dataset`` both engines return, and its few verbs.

The verbs live on an xarray accessor, so results stay a plain Dataset (open it, slice it, save it with
xarray) while ``results.flopgrid.summary()``, ``.bottlenecks()``, ``.totals()``, ``.to_frame()`` and
``.save()`` give the views users ask for.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from flopgrid.errors import FlopgridError
from flopgrid.library import load_library
from flopgrid.model.market import PRICE_FALL_FACTOR
from flopgrid.plan import rank
from flopgrid.questions import probability
from flopgrid.schema import ASSET_LABELS, FIGURES, VARIABLES, Figure

#: Results are an xarray.Dataset; this alias names the type in signatures.
Results = xr.Dataset

#: Base year of the real USD the model computes in (nominal reporting inflates from it).
BASE_YEAR = 2024
#: Capex groups of the spend split: the plan's fabs, its chips, its data centres and its power.
SPLIT = {
    "fabs": ("fab", "packaging", "hbm"),
    "chips": ("accelerator",),
    "datacentres": ("datacentre", "network"),
    "power": ("power",),
}
#: Library benchmarks for the spend: (table, item, parameter); the latest year in the library is used.
BENCHMARKS = {
    "world_gdp": ("macro", "world", "gdp"),
    "us_gdp": ("macro", "US", "gdp"),
    "hyperscaler_capex": ("macro", "hyperscalers", "capex"),
    "tsmc_revenue": ("macro", "TSMC", "revenue"),
}


#: Totals of the world market for compute, which only a run with the world's fleet (the existing
#: industry) clears; a programme alone would face the world's demand at the price cap.
WORLD_TOTALS = frozenset({"market_price", "market_price_per_1e21_flop", "compute_electricity_share"})


#: The per-year "as common as electricity" figures of :meth:`ResultsAccessor.common`.
COMMON_FIGURES = (
    "market_price",
    "market_price_per_1e21_flop",
    "compute_per_person",
    "compute_electricity_share",
)


def _median(values: np.ndarray) -> float:
    """The median over samples of the finite values; NaN when none is finite (no warning)."""
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


def quantiles_of(values: np.ndarray, levels: tuple[float, ...]) -> tuple[float, ...]:
    """Quantiles over samples of the finite values; NaN for each when none is finite (no warning)."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return tuple(float("nan") for _ in levels)
    return tuple(float(q) for q in np.quantile(finite, levels))


def most_frequent_first(var: xr.DataArray) -> str:
    """The label of a flag-coded variable most frequent over samples in its first year."""
    meanings = var.attrs["flag_meanings"].split()
    codes = np.asarray(var.values)[:, 0].astype(int)
    return str(meanings[int(np.bincount(codes, minlength=len(meanings)).argmax())])


def most_frequent(labels: np.ndarray) -> str:
    """The most frequent of some labels (the first of the most frequent on ties)."""
    values, counts = np.unique(labels, return_counts=True)
    return str(values[int(np.argmax(counts))])


def decode(var: xr.DataArray) -> xr.DataArray:
    """Turn a flag-coded variable (``flag_meanings``) into labels."""
    meanings = np.array(var.attrs["flag_meanings"].split())
    return xr.DataArray(meanings[var.values.astype(int)], dims=var.dims, coords=var.coords)


@xr.register_dataset_accessor("flopgrid")  # type: ignore[no-untyped-call]
class ResultsAccessor:
    """``results.flopgrid``: summaries and exports of a run."""

    def __init__(self, ds: xr.Dataset) -> None:
        self._ds = ds

    def _total(self, name: str) -> np.ndarray:
        """(sample, asset) where the variable has an asset dimension, else (sample, 1): a stock at the
        horizon's end, a flow summed over the horizon, a horizon figure as it is; summed over every
        other dimension. Plain numpy: the dashboard asks for the totals on every slider move."""
        var = self._ds[name]
        values, dims = np.asarray(var.values, dtype=float), list(var.dims)
        if "year" in dims:
            axis = dims.index("year")
            values = values.take(-1, axis=axis) if VARIABLES[name].kind == "stock" else values.sum(axis=axis)
            dims.pop(axis)
        values = np.moveaxis(values, dims.index("asset"), -1) if "asset" in dims else values[..., None]
        out: np.ndarray = values.reshape(values.shape[0], -1, values.shape[-1]).sum(axis=1)
        return out

    def _year_series(self, name: str) -> xr.DataArray:
        var = self._ds[name]
        return var.sum([d for d in var.dims if d not in ("sample", "year")])

    def summary(self, quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Per-year headline figures in readable units.

        With one sample, one column per figure; with more, a column per figure and quantile
        (``h100e_p5``, ``h100e_p50``, ``h100e_p95``). The ``bottleneck`` column gives the binding
        constraint (with several samples: the most frequent one and its share of samples).
        """
        ds = self._ds
        frame = pd.DataFrame(index=pd.Index(ds.year.values, name="year"))
        many = ds.sizes["sample"] > 1
        for v in VARIABLES.values():
            # A column where the schema names one and the engine produced it (a plan has no largest_run).
            if v.summary is None or v.kind == "label" or v.name not in ds:
                continue
            series = self._year_series(v.name) / v.display_scale
            if many:
                q = series.quantile(list(quantiles), dim="sample")
                for k, level in enumerate(quantiles):
                    frame[f"{v.summary}_p{round(level * 100)} [{v.display_unit}]"] = q.values[k]
            else:
                frame[f"{v.summary} [{v.display_unit}]"] = series.values[0]
        if "bottleneck" in ds:
            frame["bottleneck"] = self.bottlenecks()["bottleneck"].values
        if "production_bottleneck" in ds and ds.attrs.get("engine") != "plan":
            # What limits production (a supply cap, or the existing industry's orders).
            frame["supply limit"] = [
                most_frequent(labels) for labels in decode(ds["production_bottleneck"]).values.T
            ]
        return frame

    def idle_fabs(self, below: float = 0.5) -> str | None:
        """A sentence where the programme's own fabs make chips from less than ``below`` of their AI
        wafers in some year (median over samples), naming the input that leaves them idle; else None."""
        ds = self._ds
        if "own_wafer_use" not in ds or "own_production_bottleneck" not in ds:
            return None
        # Years in which the programme's own fabs make AI wafers (the share is NaN where they make none).
        shares = ds["own_wafer_use"].transpose("sample", "year").values
        running = np.flatnonzero(np.isfinite(shares).any(axis=0))
        use = np.full(shares.shape[1], np.nan)
        use[running] = np.nanmedian(shares[:, running], axis=0)
        idle = [t for t in running if use[t] < below]
        if not len(running) or not idle:
            return None
        worst = min(idle, key=lambda t: use[t])
        label = most_frequent(decode(ds["own_production_bottleneck"]).values[:, worst])
        cause = {"packaging": "packaging (CoWoS)", "hbm": "HBM", "wafers": "wafers"}.get(label, label)
        years = ds.year.values
        return (
            f"own fabs at {use[worst]:.0%} of their AI wafers in {int(years[worst])} "
            f"({len(idle)} of {len(running)} years below {below:.0%}): {cause} caps their output"
        )

    def bottlenecks(self) -> pd.DataFrame:
        """The binding constraint per year: label and the share of samples in which it binds.

        For a plan (Results of ``engine`` plan, with a ``shadow_price_*`` variable per constraint):
        its binding constraints ranked by value, one row per constraint, year, location and item,
        with a sentence in plain words (``flopgrid.plan.rank``).
        """
        if self._ds.attrs.get("engine") == "plan":
            return rank(self._ds)
        labels = decode(self._ds["bottleneck"]).values  # (sample, year)
        rows = []
        for t, year in enumerate(self._ds.year.values):
            values, counts = np.unique(labels[:, t], return_counts=True)
            k = int(np.argmax(counts))
            rows.append(
                {
                    "year": int(year),
                    "bottleneck": str(values[k]),
                    "share_of_samples": float(counts[k] / labels.shape[0]),
                }
            )
        return pd.DataFrame(rows).set_index("year")

    def totals(self) -> dict[str, dict[str, float | str]]:
        """Horizon totals and end-of-horizon figures (medians over samples), in base units.

        One entry per figure of the registry (``flopgrid.schema.FIGURES``) whose variable the Results
        hold: a stock at the horizon's end (``NAME_end``), a flow summed over the horizon, a horizon
        figure as it is, a label in the first year (``first_NAME``); variables with an ``asset``
        dimension are also split by asset (``capex_fab`` …).
        """
        return {
            figure.name: {"value": values[0] if isinstance(values, tuple) else values, "unit": figure.unit}
            for figure, values in self._total_entries((0.5,))
        }

    def total_rows(self) -> list[tuple[str, str, float | str, str]]:
        """The totals as (key, label, value in display units, display unit) rows, in schema order; a
        split by asset leaves out the classes that are zero (no opex of fabs, say)."""
        return [(key, label, values[0], unit) for key, label, values, unit in self.total_ranges((0.5,))]

    def total_ranges(
        self, levels: tuple[float, ...] = (0.05, 0.5, 0.95)
    ) -> list[tuple[str, str, tuple[float, ...] | str, str]]:
        """The totals as (key, label, quantiles over samples in display units, display unit) rows, in
        schema order, e.g. P5, P50 and P95; a label (the first bottleneck) is its most frequent value.
        A split by asset reads "of which …" and leaves out the classes that are zero in every sample."""
        rows: list[tuple[str, str, tuple[float, ...] | str, str]] = []
        for figure, values in self._total_entries(levels):
            if isinstance(values, str):
                rows.append((figure.name, figure.label, values, figure.display_unit))
                continue
            if figure.asset is not None:
                if all(value == 0.0 for value in values):
                    continue
                label = f"  of which {ASSET_LABELS[figure.asset]}"
            else:
                label = figure.label
            shown = tuple(figure.display(value) for value in values)
            rows.append((figure.name, label, shown, figure.display_unit))
        return rows

    def _total_entries(self, levels: tuple[float, ...]) -> Iterator[tuple[Figure, tuple[float, ...] | str]]:
        ds = self._ds
        world = bool(ds.attrs.get("existing_industry", 0))
        for figure in FIGURES.values():
            name = figure.variable.name
            if name not in ds or (name in WORLD_TOTALS and not world):
                continue
            if figure.kind == "label":
                yield figure, most_frequent_first(ds[name])
                continue
            value = self._total(name)
            if figure.asset is None:
                yield figure, quantiles_of(value.sum(axis=1), levels)
            elif "asset" in ds[name].dims and figure.asset in ds.asset.values:
                k = list(ds.asset.values).index(figure.asset)
                yield figure, quantiles_of(value[:, k], levels)

    def finance(self, nominal: bool = False) -> dict[str, object]:
        """The money view: a per-year cash-flow table, the headline returns, whether the financing
        covers the plan, the spend split and comparisons with the economy (medians over samples).

        With ``nominal``, money per year is inflated from the base year at the scenario's
        ``finance.inflation``; horizon figures (NPV, levelised costs) stay real.
        """
        ds = self._ds
        years = ds.year.values
        inflation = float(ds.attrs.get("inflation", 0.0))
        scale = (1.0 + inflation) ** (years - BASE_YEAR) if nominal else np.ones(len(years))

        def per_year(var: xr.DataArray) -> np.ndarray:
            summed = var.sum([d for d in var.dims if d not in ("sample", "year")])
            return np.array([_median(summed.values[:, t]) for t in range(len(years))])

        table = pd.DataFrame(index=pd.Index(years, name="year"))
        for asset in ds.asset.values:
            table[f"capex_{asset}"] = per_year(ds["capex"].sel(asset=asset)) * scale
        for name in (
            "opex",
            "revenue",
            "financing_in",
            "debt_service",
            "net_cash_flow",
            "funding_gap",
            "cash",
        ):
            table[name] = per_year(ds[name]) * scale
        table["dscr"] = per_year(ds["dscr"])

        def total(name: str) -> float:
            var = ds[name]
            return _median(var.sum([d for d in var.dims if d != "sample"]).values)

        capex, opex = total("capex"), total("opex")
        committed = total("financing_in")
        gap, cash_end = total("funding_gap"), _median(ds["cash"].values[:, -1])
        gaps = ds["funding_gap"].values
        short = np.flatnonzero(np.median(gaps, axis=0) > 0)
        by_asset = ds["capex"].sum(["year", "region"])
        split = {
            group: _median(by_asset.sel(asset=list(members)).sum("asset").values)
            for group, members in SPLIT.items()
        }
        library = load_library()
        benchmarks = {
            name: (float(library.index[(t, par, item)][1][-1]), int(library.index[(t, par, item)][0][-1]))
            for name, (t, item, par) in BENCHMARKS.items()
        }
        spend = capex + opex
        return {
            "currency": f"USD ({'nominal' if nominal else 'real'} {BASE_YEAR} base)",
            "table": table,
            "returns": {
                name: _median(ds[name].values)
                for name in (
                    "npv",
                    "irr",
                    "payback_year",
                    "peak_cash_need",
                    "discount_rate",
                    "financing_cost",
                    "lcoc_per_h100e_hour",
                    "lcoc_per_1e21_flop",
                )
            },
            "lcoc_breakdown": {
                str(asset): _median(ds["lcoc_breakdown"].sel(asset=asset).values) for asset in ds.asset.values
            },
            "coverage": {
                "committed": committed,
                "spend": spend,
                "capex": capex,
                "opex": opex,
                "revenue": total("revenue"),
                "debt_service": total("debt_service"),
                "committed_minus_spend": committed - spend,
                "funding_gap": gap,
                "cash_end": cash_end,
                "covered": bool(gap <= 1e-6 * max(spend, 1.0)),
                "first_gap_year": int(years[short[0]]) if short.size else None,
            },
            "split": {
                group: {"value": value, "share": value / capex if capex else float("nan")}
                for group, value in split.items()
            },
            "comparisons": {
                f"spend_share_of_{name}" if "gdp" in name else f"spend_in_years_of_{name}": {
                    "value": spend / value,
                    "benchmark": value,
                    "benchmark_year": year,
                }
                for name, (value, year) in benchmarks.items()
            },
        }

    def common(self) -> dict[str, Any]:
        """ "As common as electricity", measured: per year, the market price per H100e-hour and per 1e21
        FLOP, the H100e-hours sold per person and compute's share of world electricity, each as P5, P50
        and P95 over the samples; and the year the price per 1e21 FLOP has fallen ``factor`` times
        (median, P5, P95 of the samples where it does, and the share of samples where it does);
        ``world`` says whether the fleet is the world's (a scenario with the existing industry).
        Empty for Results without the market's variables (the planner's)."""
        ds = self._ds
        if "market_price" not in ds:
            return {}
        rows = []
        for t, year in enumerate(ds.year.values):
            row: dict[str, Any] = {"year": int(year)}
            for name in COMMON_FIGURES:
                p5, p50, p95 = quantiles_of(ds[name].values[:, t], (0.05, 0.5, 0.95))
                row[name] = {"p5": p5, "p50": p50, "p95": p95}
            rows.append(row)
        fall = ds["price_fall_year"].values
        p5, p50, p95 = quantiles_of(fall, (0.05, 0.5, 0.95))
        return {
            # The world's market needs the world's fleet: without the existing industry the scenario's
            # fleet faces the world's demand alone (`flopgrid market --against` clears both).
            "world": bool(ds.attrs.get("existing_industry", 0)),
            "years": rows,
            "price_fall": {
                "factor": PRICE_FALL_FACTOR,
                "year": {"p5": p5, "p50": p50, "p95": p95},
                "probability": float(np.isfinite(fall).mean()),
            },
        }

    def probability(self, question: str) -> dict[str, object]:
        """P(question) over the samples, e.g. ``"h100e@2030 >= 50e6"`` or ``"funding_gap <= 0"``, with
        its Monte Carlo standard error (see :func:`flopgrid.questions.probability`)."""
        return probability(self._ds, question)

    def to_frame(self, name: str) -> pd.DataFrame:
        """One variable as a long table with a ``value`` column and a ``unit`` column."""
        var = self._ds[name]
        frame = var.to_dataframe(name="value").reset_index()
        frame["unit"] = var.attrs.get("units", "")
        return frame

    def save(self, path: str | Path) -> Path:
        """Write the results to ``.nc`` (netCDF), ``.parquet`` or ``.csv`` (long tables).

        Written to a temporary name first and moved into place, so a failed write never leaves a
        partial file under the requested name.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".nc", ".parquet", ".csv"):
            raise FlopgridError(
                f"{path}: cannot write '{suffix or 'no extension'}'; use .nc, .parquet or .csv"
            )
        if not path.parent.exists():
            raise FlopgridError(f"{path}: the folder {path.parent} does not exist")
        partial = path.with_name(f".{path.name}.partial")
        try:
            if suffix == ".nc":
                self._ds.to_netcdf(partial, engine="scipy")
            else:
                frame = self.long_frame()
                if suffix == ".parquet":
                    frame.to_parquet(partial, index=False)
                else:
                    frame.to_csv(partial, index=False)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        return path

    def long_frame(self) -> pd.DataFrame:
        """Every variable as rows of (variable, unit, sample, year, region, accelerator, source, asset,
        cap, financing, value); dimensions a variable lacks are empty."""
        dims = ["sample", "year", "region", "accelerator", "source", "asset", "cap", "financing"]
        frames = []
        for name in self._ds.data_vars:
            if self._ds[name].size == 0:
                continue
            frame = self.to_frame(str(name))
            frame.insert(0, "variable", str(name))
            frames.append(frame)
        out = pd.concat(frames, ignore_index=True)
        for dim in dims:
            if dim not in out:
                out[dim] = pd.NA
        # Variables without a year (NPV …) leave holes; nullable integers keep years as 2030, not 2030.0.
        out["year"] = out["year"].astype("Int64")
        return out[["variable", "unit", *dims, "value"]]
