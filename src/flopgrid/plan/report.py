"""A plan in words and back to a scenario: ranked bottlenecks, the shortfall report and
``to_scenario`` (the round trip through ``simulate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import xarray as xr

from flopgrid.errors import FlopgridError
from flopgrid.scenario import Scenario, load_scenario

# ------------------------------------------------------------------------------ plan → scenario


def _shares_by_year(amounts: xr.DataArray, dim: str) -> dict[int, dict[str, float]]:
    """Shares along ``dim`` for each year; years without any amount take the nearest year's shares."""
    totals = amounts.sum(dim)
    years = [int(y) for y in amounts.year.values]
    have = [t for t in range(len(years)) if float(totals[t]) > 0]
    out: dict[int, dict[str, float]] = {}
    for t, year in enumerate(years):
        if not have:
            break
        k = min(have, key=lambda h: (abs(h - t), h))
        row = amounts.isel(year=k)
        shares = {
            str(n): float(v)
            for n, v in zip(row[dim].values, row.values, strict=True)
            if v > 1e-9 * float(totals[k])
        }
        total = sum(shares.values())
        out[year] = {n: v / total for n, v in shares.items()}
    return out


def to_scenario(results: xr.Dataset, scenario: Scenario | str | Path | Mapping[str, Any]) -> Scenario:
    """The plan's builds as a scenario the simulator can run: each year's new fabs, packaging and HBM
    lines, data centres and power plants as builds, and where the chips went as ``chips.mix`` and
    ``chips.allocation`` by year.

    Grid connections are not written: the simulator grants them itself, as the planner assumes. Nor is
    the discount rate: without one in the scenario, both engines compute it from the same capex.
    ``simulate(to_scenario(results, scenario))`` reproduces the plan (docs/plan.md, "Round trip").
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if results.attrs.get("engine") != "plan":
        raise FlopgridError("to_scenario takes the Results of flopgrid.plan, not of another engine")
    r = results.isel(sample=0)
    builds: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("fabs", "packaging", "hbm", "datacentres", "power")
    }
    fields = (
        ("fabs", "fab_build", "capacity", "wafer/year"),
        ("packaging", "packaging_build", "capacity", "wafer/year"),
        ("hbm", "hbm_build", "capacity", "GB/year"),
        ("datacentres", "datacentre_build", "it_power", "W"),
    )
    # Builds below a millionth of the largest of their kind are solver round-off, not plans.
    for kind, name, key, unit in fields:
        values = r[name]
        floor = 1e-6 * float(values.max())
        for where, value in values.to_series().items():
            year, region = cast(tuple[int, str], where)
            if value > floor:
                builds[kind].append({"region": region, "start": int(year), key: f"{value!r} {unit}"})
    plants = r["plant_build"]
    floor = 1e-6 * float(plants.max())
    for where, value in plants.to_series().items():
        year, region, source = cast(tuple[int, str, str], where)
        if value > floor:
            builds["power"].append(
                {"region": region, "source": source, "start": int(year), "capacity": f"{value!r} W"}
            )
    data = scenario.model_dump(mode="json", exclude={"planner", "builds", "chips"})
    data["name"] = f"{scenario.name}-plan"
    data["description"] = f"the build plan flopgrid plan found for {scenario.name}"
    data["builds"] = builds
    chips: dict[str, Any] = {}
    mix = _shares_by_year(r["accelerators_produced"], "accelerator")
    allocation = _shares_by_year(r["accelerators_shipped"].sum("accelerator"), "region")
    if mix:
        chips["mix"] = mix
        chips["allocation"] = allocation
    data["chips"] = chips
    data["existing_industry"] = False
    return load_scenario(data)


# ------------------------------------------------------------------------------------- build plan

#: Build-plan columns: Results variable, scale, column name with unit.
PLAN_COLUMNS: tuple[tuple[str, float, str], ...] = (
    ("fab_build", 12e3, "fab starts [k wafer/month]"),
    ("packaging_build", 12e3, "packaging starts [k wafer/month]"),
    ("hbm_build", 1e9, "HBM starts [B GB/year]"),
    ("datacentre_build", 1e9, "data centres started [GW]"),
    ("plant_build", 1e9, "power plants started [GW]"),
    ("grid_build", 1e9, "grid connected [GW]"),
    ("accelerators_shipped", 1e6, "chips bought [M]"),
    ("h100e", 1e6, "installed [M H100e]"),
    ("target", 1e6, "target [M H100e]"),
    ("shortfall", 1e6, "shortfall [M H100e]"),
    ("capex", 1e9, "capex [B USD]"),
    ("opex", 1e9, "opex [B USD]"),
)


def plan_table(results: xr.Dataset) -> pd.DataFrame:
    """The build plan per year (construction starts and what is in service), in readable units."""
    r = results.isel(sample=0)
    frame = pd.DataFrame(index=pd.Index(r.year.values, name="year"))
    for name, scale, column in PLAN_COLUMNS:
        var = r[name]
        frame[column] = (var.sum([d for d in var.dims if d != "year"]) / scale).values
    return frame


def where_table(results: xr.Dataset) -> pd.DataFrame:
    """What the plan builds in each region over the horizon (regions with nothing left out)."""
    r = results.isel(sample=0)
    frame = pd.DataFrame(index=pd.Index(r.region.values, name="region"))
    frame["data centres [GW]"] = (r["datacentre_build"].sum("year") / 1e9).values
    frame["grid [GW]"] = (r["grid_build"].sum("year") / 1e9).values
    plants = r["plant_build"].sum("year") / 1e9
    for source in plants.source.values:
        if float(plants.sel(source=source).sum()) > 0:
            frame[f"{source} [GW]"] = plants.sel(source=source).values
    frame["fabs [k wafer/month]"] = (r["fab_build"].sum("year") / 12e3).values
    frame["chips [M]"] = (r["accelerators_shipped"].sum(["year", "accelerator"]) / 1e6).values
    frame[f"installed {int(r.year.values[-1])} [M H100e]"] = (r["h100e"].isel(year=-1) / 1e6).values
    return frame[frame.abs().sum(axis=1) > 0]


# ------------------------------------------------------------------------------------- bottlenecks


def _place(location: str) -> str:
    return "worldwide" if location == "global" else f"in {location}"


def shadow_price_names(results: xr.Dataset) -> list[str]:
    """Names of the Results variables that hold a constraint's duals (those with a ``constraint``
    attribute), in the order the constraints were added."""
    return [str(name) for name, var in results.data_vars.items() if "constraint" in var.attrs]


#: Dimensions other than ``year`` and ``region`` a dual may have, shown as the row's ``item``.
ITEM_DIMS = ("accelerator", "source")


def rank(results: xr.Dataset, tolerance: float = 1e-6) -> pd.DataFrame:
    """Binding constraints of a plan, most valuable first.

    A constraint binds where its shadow price is non-zero. Each row gives its value per unit
    (``shadow_price``) with the constraint's ``year``, ``location`` (a region, or ``global``) and
    ``item`` (the accelerator or power source, where the constraint has one; else empty), and a
    sentence: "one more GW of firm power in JP in 2028 is worth $1.2 B". Rows are ranked by the value
    of relaxing the constraint by its unit in words. A constraint over the whole horizon (no year)
    is reported in the last year.
    """
    money = results.attrs.get("objective", "min_cost") != "max_compute"
    last = int(results.year.values[-1])
    rows = []
    for name in shadow_price_names(results):
        var = results[name].isel(sample=0)
        constraint, words = str(var.attrs["constraint"]), str(var.attrs["words"])
        display = float(var.attrs["display"])
        # A constraint without dimensions (the budget over the horizon) is one value, at key ().
        entries = list(var.to_series().dropna().items()) if var.dims else [((), float(var))]
        for key, value in entries:
            if not np.isfinite(value):
                continue
            labels = dict(zip(var.dims, key if isinstance(key, tuple) else (key,), strict=True))
            year = int(labels.get("year", last))
            location = str(labels.get("region", "global"))
            item = " ".join(str(labels[d]) for d in ITEM_DIMS if d in labels)
            worth = float(value) * display
            if abs(worth) <= tolerance * (1e9 if money else 1.0):
                continue
            amount = f"${worth / 1e9:,.3g} B" if money else f"{worth:,.3g} H100e"
            verb = "is worth" if worth > 0 else "costs"
            what = f"{words} of {item}" if item else words
            if constraint == "compute-target-lower":
                text = f"each {words.split(' less')[0]} of target in {year} costs {amount}"
            else:
                text = f"one more {what} {_place(location)} in {year} {verb} {amount.lstrip('-$')}"
                text = text.replace(f"{verb} ", f"{verb} $", 1) if money else text
            rows.append(
                {
                    "constraint": constraint,
                    "year": year,
                    "location": location,
                    "item": item,
                    "shadow_price": float(value),
                    "unit": str(var.attrs["units"]),
                    "value_per_display_unit": worth,
                    "display_unit": words,
                    "text": text,
                }
            )
    columns = [
        "constraint",
        "year",
        "location",
        "item",
        "shadow_price",
        "unit",
        "value_per_display_unit",
        "display_unit",
        "text",
    ]
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values("value_per_display_unit", key=np.abs, ascending=False).reset_index(drop=True)


def _runs(years: list[int]) -> str:
    """2027, 2028, 2029, 2031 → '2027–2029, 2031'."""
    parts: list[str] = []
    for year in sorted(years):
        if parts and year == int(parts[-1].split("–")[-1]) + 1:
            parts[-1] = f"{parts[-1].split('–')[0]}–{year}"
        else:
            parts.append(str(year))
    return ", ".join(parts)


def shortfall_report(results: xr.Dataset, top: int = 3) -> list[str]:
    """Plain-words lines on a missed target and its causes; empty when every target is met."""
    r = results.isel(sample=0)
    short = r["shortfall"].to_series()
    missed = short[short > 1e-6 * max(float(r["target"].max()), 1.0)]
    if missed.empty:
        return []
    years = [int(y) for y in missed.index]
    lines = [
        f"target missed by up to {missed.max() / 1e6:,.3g} M H100e in {_runs(years)} "
        f"({missed.max() / float(r['target'].sel(year=missed.idxmax())):.0%} of the target)"
    ]
    ranked = rank(results)
    causes = ranked[(ranked.year <= max(years)) & (ranked.constraint != "compute-target-lower")]
    causes = causes[causes.value_per_display_unit > 0]
    # What one H100e of the plan needs, from its own fleet: IT power, and firm power (IT × PUE).
    it = r["it_power"].sum("region")
    h100e = r["h100e"].sum("region")
    used = h100e > 0
    it_per = float((it.where(used) / h100e.where(used)).max()) if bool(used.any()) else np.nan
    firm_per = (
        it_per * float((r["firm_power"].sum("region") / it).where(used).min()) if bool(used.any()) else np.nan
    )
    needs = {"power-": (firm_per, "firm power"), "datacentres-": (it_per, "data-centre IT capacity")}
    for (constraint, location), group in list(causes.groupby(["constraint", "location"], sort=False))[:top]:
        words = str(group.display_unit.iloc[0])
        need = ""
        for prefix, (per, what) in needs.items():
            if str(constraint).startswith(prefix) and np.isfinite(per):
                need = f"; the missing compute needs ≈{missed.max() * per / 1e9:,.3g} GW more {what}"
        lines.append(
            f"binding: {constraint} {_place(str(location))} in {_runs(sorted(set(group.year.tolist())))} "
            f"(one more {words} is worth up to "
            f"${group.value_per_display_unit.max() / 1e9:,.3g} B){need}"
        )
    return lines
