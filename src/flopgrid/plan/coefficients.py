"""Coefficient arrays of the planner's LP that combine several inputs: the fleet in service by
purchase year and the discounted cost of one unit of each decision. The physics in them is
``flopgrid.model``'s (service life, year averages, discount factors), applied to the planner's axes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np
import xarray as xr

from flopgrid.model import datacentres, finance, power

#: Units the LP is solved in, so that its coefficients stay within a few orders of magnitude.
SCALE = {"chip": 1e6, "W": 1e9, "Wh": 1e12, "wafer": 1e3, "GB": 1e6, "USD": 1e9, "H100e": 1e6}


def on_arrays(function: Callable[..., Any], *args: Any) -> xr.DataArray:
    """``function`` (a numpy function of ``flopgrid.model``) applied to DataArrays, aligned and
    broadcast by dimension name: how the planner uses the simulator's physics on its own axes."""
    return cast(xr.DataArray, xr.apply_ufunc(function, *args))


def chip_capex(data: xr.Dataset) -> xr.DataArray:
    """Capex of one accelerator bought, USD ``(year, region, accelerator)``: its price and the network
    bought with it."""
    return data["chip_price"] + on_arrays(finance.network_capex, data["chip_price"], data["network_share"])


def chip_energy(data: xr.Dataset) -> xr.DataArray:
    """Facility energy of one accelerator in service all year, Wh ``(year, region, accelerator)``."""
    it_energy = on_arrays(power.it_energy, data["chip_power"], data["utilisation"])
    return on_arrays(power.facility_energy, it_energy, data["pue"])


def plant_energy(data: xr.Dataset) -> xr.DataArray:
    """Energy one W of plant nameplate can generate in a year, Wh ``(year, region, source)``."""
    return on_arrays(power.available_energy, 1.0, data["capacity_factor"])


def service(data: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """In service at the end of each year ``(year, start)`` for a chip bought in ``start``, and the
    year's average of start and end (what energy and compute-hours use, as in the simulator).

    Parameters
    ----------
    data
        The planner's inputs (:func:`flopgrid.plan.inputs`): its ``year`` and ``start`` axes and its
        ``lifetime`` attribute (whole years).

    Returns
    -------
    tuple of xarray.DataArray
        Both ``(year, start)``, 0 or 1 and 0, ½ or 1.
    """
    n = data.sizes["year"]
    age = np.arange(n)[:, None] - np.arange(n)[None, :]
    in_service = datacentres.in_service(age, int(data.attrs["lifetime"]))
    average = datacentres.year_average(in_service, np.zeros((1, n)), axis=0)
    coords = {"year": data.year.values, "start": data.start.values}
    return (
        xr.DataArray(in_service, dims=("year", "start"), coords=coords),
        xr.DataArray(average, dims=("year", "start"), coords=coords),
    )


def cost_coefficients(data: xr.Dataset) -> dict[str, xr.DataArray]:
    """Discounted cost of one LP unit of each decision (B USD): its capex as spent over construction,
    the opex of what it brings online (data-centre and plant O&M, the energy its chips draw), each
    year's flow discounted to the first year.

    Parameters
    ----------
    data
        The planner's inputs (:func:`flopgrid.plan.inputs`).

    Returns
    -------
    dict of str to xarray.DataArray
        By decision variable, over that variable's dimensions.
    """
    S, disc = SCALE, data["discount"]
    out: dict[str, xr.DataArray] = {}
    for name, prefix, unit in (
        ("fab_build", "fab", S["wafer"]),
        ("packaging_build", "packaging", S["wafer"]),
        ("hbm_build", "hbm", S["GB"]),
        ("datacentre_build", "dc", S["W"]),
    ):
        out[name] = (data[f"{prefix}_spend"] * disc).sum("year") * data[f"{prefix}_capex"] * (unit / S["USD"])
    out["datacentre_build"] = out["datacentre_build"] + (data["dc_ramp"] * data["dc_opex"] * disc).sum(
        "year"
    ) * (S["W"] / S["USD"])
    out["plant_build"] = (
        (data["plant_spend"] * disc).sum("year") * data["plant_capex"]
        + (data["plant_ramp"] * data["fixed_om"] * disc).sum("year")
    ) * (S["W"] / S["USD"])
    out["grid_build"] = data["grid_capex"] * disc * (S["W"] / S["USD"])
    # Energy is bought from the grid unless own plants generate it: each chip pays for its energy at
    # the grid price, and each unit generated replaces grid energy at its own cost.
    _, average = service(data)
    energy = (average * chip_energy(data)).rename(year="flow")
    price = (data["electricity_price"] * disc).rename(year="flow")
    out["accelerators_shipped"] = (
        chip_capex(data) * disc + (energy * price).sum("flow").rename(start="year")
    ) * (S["chip"] / S["USD"])
    out["generation"] = (data["generation_cost"] - data["electricity_price"]) * disc * (S["Wh"] / S["USD"])
    return out
