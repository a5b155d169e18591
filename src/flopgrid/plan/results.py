"""A solved plan as Results: the simulator's variables, the build plan and one ``shadow_price_*``
variable per constraint, over that constraint's own dimensions."""

from __future__ import annotations

import numpy as np
import xarray as xr

from flopgrid.model import cashflow, finance, power
from flopgrid.model.finance import ASSETS
from flopgrid.plan.coefficients import SCALE, on_arrays, service
from flopgrid.plan.model import BUILDS, Built
from flopgrid.plan.solve import value
from flopgrid.schema import DUAL_PREFIX, VARIABLES
from flopgrid.version import __version__

# ------------------------------------------------------------------------------------------ results


def results(data: xr.Dataset, built: Built) -> xr.Dataset:
    """The solution as Results, in base units, computed from the decisions with the model's
    arithmetic (so the LP's own bookkeeping is checked by the round trip, not copied into it).

    Parameters
    ----------
    data
        The inputs the model was built from.
    built
        The solved model.

    Returns
    -------
    xarray.Dataset
        Results with one sample (see :func:`flopgrid.plan.plan`).
    """
    S, m = SCALE, built.model
    years = data.year.values
    v = {name: value(m.variables[name]) for name in (*BUILDS, "accelerators_shipped", "generation")}
    fab = v["fab_build"] * S["wafer"]
    pkg = v["packaging_build"] * S["wafer"]
    hbm = v["hbm_build"] * S["GB"]
    dc = v["datacentre_build"] * S["W"]
    plant = v["plant_build"] * S["W"]
    grid_build = v["grid_build"] * S["W"]
    ship = v["accelerators_shipped"] * S["chip"]
    own = v["generation"] * S["Wh"]
    out: dict[str, xr.DataArray] = {}

    in_service, average = service(data)
    bought = ship.rename(year="start")
    installed = (in_service * bought).sum("start")
    life = int(data.attrs["lifetime"])
    out["accelerators_produced"] = ship.sum("region")
    out["accelerators_shipped"] = ship
    out["accelerators_added"] = ship
    out["accelerators_retired"] = ship.shift(year=life, fill_value=0.0)
    out["accelerators_installed"] = installed
    out["accelerators_waiting"] = xr.zeros_like(ship)
    flops = (installed * data["chip_flops"]).sum("accelerator")
    out["flops_peak"] = flops
    out["h100e"] = flops / float(data.attrs["reference_flops"])
    out["flops_effective"] = flops * data["mfu"]
    wafer_capacity = (data["fab_ramp"] * fab).sum("start")
    out["wafers_ai"] = wafer_capacity.sum("region")
    out["wafer_capacity"] = wafer_capacity
    out["packaging_capacity"] = (data["packaging_ramp"] * pkg).sum(["start", "region"])
    out["hbm_supply"] = (data["hbm_ramp"] * hbm).sum(["start", "region"])
    dc_capacity = (data["dc_ramp"] * dc).sum("start")
    plants = (data["plant_ramp"] * plant).sum("start")
    grid = grid_build.cumsum("year")
    firm = (plants * data["firm_credit"]).sum("source") + grid
    room = firm / data["pue"]
    out["dc_capacity"] = dc_capacity
    out["dc_energised"] = dc_capacity.where(dc_capacity <= room, room)
    out["grid_connection"] = grid
    out["firm_power"] = firm
    out["it_power"] = (installed * data["chip_power"]).sum("accelerator")
    it_energy = on_arrays(
        power.it_energy,
        ((average * bought).sum("start") * data["chip_power"]).sum("accelerator"),
        data["utilisation"],
    )
    energy = on_arrays(power.facility_energy, it_energy, data["pue"])
    from_grid = (energy - own.sum("source")).clip(min=0.0)
    out["it_energy"] = it_energy
    out["energy"] = energy
    out["facility_power"] = energy / power.HOURS_PER_YEAR
    out["emissions"] = (own * data["carbon"]).sum("source") + from_grid * data["grid_carbon"]
    out["water"] = (
        it_energy * data["wue"]
        + (own * data["generation_water"]).sum("source")
        + from_grid * data["grid_water"]
    )
    sources = str(data.attrs["all_sources"]).split()
    generation = own.reindex(source=sources, fill_value=0.0)
    generation.loc[{"source": "grid"}] = from_grid
    out["generation"] = generation
    out["plant_capacity"] = plants.reindex(source=sources, fill_value=0.0)

    spend = {
        "fab": (data["fab_spend"] * data["fab_capex"] * fab).sum("start"),
        "packaging": (data["packaging_spend"] * data["packaging_capex"] * pkg).sum("start"),
        "hbm": (data["hbm_spend"] * data["hbm_capex"] * hbm).sum("start"),
        "datacentre": (data["dc_spend"] * data["dc_capex"] * dc).sum("start"),
        "power": (data["plant_spend"] * data["plant_capex"] * plant).sum(["start", "source"])
        + grid_build * data["grid_capex"],
        "accelerator": (ship * data["chip_price"]).sum("accelerator"),
    }
    spend["network"] = on_arrays(finance.network_capex, spend["accelerator"], data["network_share"])
    # A plain numpy string coordinate (not pandas' string dtype), which netCDF files can hold.
    capex = xr.concat([spend[asset].broadcast_like(grid) for asset in ASSETS], dim="asset").assign_coords(
        asset=np.array(ASSETS)
    )
    out["capex"] = capex
    opex = xr.zeros_like(capex)
    opex.loc[{"asset": "power"}] = (
        from_grid * data["electricity_price"]
        + (own * data["generation_cost"]).sum("source")
        + (plants * data["fixed_om"]).sum("source")
    )
    opex.loc[{"asset": "datacentre"}] = dc_capacity * data["dc_opex"]
    out["opex"] = opex
    discounted = float(((capex + opex).sum(["region", "asset"]) * data["discount"]).sum())
    rate = float(data.attrs["discount_rate"])
    if not data.attrs["discount_rate_given"]:
        # The rate of this plan, from its capex (equal to the rate it was solved with once plan()
        # has converged).
        rate = float(
            cashflow.default_discount_rate(
                data["cost_of_capital"].values, capex.sum(["year", "asset"]).transpose("region").values
            )
        )
    out["discount_rate"] = xr.DataArray(rate)

    ds = xr.Dataset()
    for name, array in out.items():
        declared = VARIABLES[name]
        ds[name] = array.transpose(*declared.dims).expand_dims(sample=[0]).assign_attrs(declared.attrs)
    scales = {"wafer/year": S["wafer"], "GB/year": S["GB"], "W": S["W"]}
    for name in BUILDS:
        declared = VARIABLES[name]
        array = v[name] * scales[declared.unit]
        if "start" in array.dims:
            array = array.rename(start="year")
        if "source" in array.dims:
            array = array.reindex(source=sources, fill_value=0.0)
        ds[name] = array.transpose(*declared.dims).expand_dims(sample=[0]).assign_attrs(declared.attrs)
    target = data["target"]
    short = (
        value(m.variables["shortfall"]) * S["H100e"] if "shortfall" in m.variables else xr.zeros_like(target)
    )
    ds["target"] = target.expand_dims(sample=[0]).assign_attrs(VARIABLES["target"].attrs)
    ds["shortfall"] = (
        short.where(target.notnull(), 0.0).expand_dims(sample=[0]).assign_attrs(VARIABLES["shortfall"].attrs)
    )
    if "wafers_idle" in m.variables:
        ds["wafers_idle"] = (
            (value(m.variables["wafers_idle"]) * S["wafer"])
            .expand_dims(sample=[0])
            .assign_attrs(VARIABLES["wafers_idle"].attrs)
        )
    ds.update(shadow_prices(data, built))
    ds = ds.assign_coords(
        year=years, region=data.region.values, accelerator=data.accelerator.values, sample=[0]
    )
    objective = float(m.objective.value or 0.0)
    ds.attrs.update({k: val for k, val in data.attrs.items() if k not in ("all_sources", "discount_rate")})
    ds.attrs.update(
        {
            "engine": "plan",
            "samples": 1,
            "seed": 0,
            "flopgrid_version": __version__,
            "currency": "USD (real 2024)",
            "existing_industry": 0,
            "discounted_cost": discounted,
            "discount_rate": rate,
            "objective_value": objective
            * (S["USD"] if data.attrs["objective"] == "min_cost" else S["H100e"]),
            "lp_variables": int(m.nvars),
            "lp_constraints": int(m.ncons),
        }
    )
    return ds


def shadow_prices(data: xr.Dataset, built: Built) -> dict[str, xr.DataArray]:
    """The dual of every constraint, over the constraint's own dimensions (``start`` read as
    ``year``), in base units: the value of relaxing it by one unit (USD for min_cost, H100e for
    max_compute).

    Parameters
    ----------
    data
        The inputs the model was built from.
    built
        The solved model; every constraint has a rule (:func:`flopgrid.plan.model.build` checks).

    Returns
    -------
    dict of str to xarray.DataArray
        By Results name (``DUAL_PREFIX`` + the constraint's name with ``_`` for ``-``), each with
        ``sample`` first and attributes ``constraint``, ``units``, ``long_name``, ``words`` (a unit in
        words) and ``display`` (base units per unit in words).
    """
    m = built.model
    years = data.year.values
    maximise = data.attrs["objective"] == "max_compute"
    objective_unit = SCALE["H100e"] if maximise else SCALE["USD"]
    flat = np.zeros(1 + max(int(m.variables[v].labels.max()) for v in m.variables))
    for v in m.variables:
        labels, solution = m.variables[v].labels.values.ravel(), m.variables[v].solution.values.ravel()
        flat[labels[labels >= 0]] = np.nan_to_num(solution[labels >= 0])
    out: dict[str, xr.DataArray] = {}
    for name, rule in built.rules.items():
        con = m.constraints[name]
        # A row whose every term is zero (nothing built, bought or used there) is degenerate: its dual
        # is one of many and not the value of relaxing it, so it reports 0.
        ids = con.vars.transpose(..., "_term")
        coeffs = np.nan_to_num(con.coeffs.transpose(..., "_term").values)
        terms = np.where(ids.values >= 0, np.abs(coeffs * flat[np.maximum(ids.values, 0)]), 0.0)
        active = xr.DataArray(terms.sum(-1) > 1e-9, dims=ids.dims[:-1])
        dual = con.dual.where(active.assign_coords({d: con.dual[d] for d in active.dims}), 0.0)
        # The objective's improvement per unit of relaxation (linopy gives d objective / d rhs).
        sign = -1.0 if name.endswith("-lower") else 1.0
        sign = sign if maximise else -sign
        worth = dual * sign * objective_unit / rule.scale
        if "start" in worth.dims:
            worth = worth.rename(start="year")
        if "year" in worth.dims:
            worth = worth.reindex(year=years)
        dims = [d for d in ("year", "region", "accelerator", "source") if d in worth.dims]
        out[DUAL_PREFIX + name.replace("-", "_")] = (
            worth.transpose(*dims)
            .astype(float)
            .expand_dims(sample=[0])
            .assign_attrs(
                constraint=name,
                units=f"{'H100e' if maximise else 'USD'} per {rule.unit}",
                long_name=f"value of relaxing {name} by one unit (dual value)",
                words=rule.words,
                display=rule.display,
            )
        )
    return out
