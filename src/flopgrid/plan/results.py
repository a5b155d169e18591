"""A solved plan as Results: the simulator's variables, the build plan and ``shadow_price``."""

from __future__ import annotations

import linopy
import numpy as np
import xarray as xr

from flopgrid.model.finance import ASSETS
from flopgrid.model.power import HOURS_PER_YEAR
from flopgrid.plan.model import BUILDS, RULES, SCALE, Built, _service, _value
from flopgrid.simulate import VARIABLES
from flopgrid.version import __version__

# ------------------------------------------------------------------------------------------ results


def _results(data: xr.Dataset, built: Built) -> xr.Dataset:
    """The solution as Results, in base units, computed from the decisions with the simulator's
    arithmetic (so the LP's own bookkeeping is checked by the round trip, not copied into it)."""
    S, m = SCALE, built.model
    years = data.year.values
    hours = HOURS_PER_YEAR
    v = {name: _value(m.variables[name]) for name in (*BUILDS, "accelerators_shipped", "generation")}
    fab = v["fab_build"] * S["wafer"]
    pkg = v["packaging_build"] * S["wafer"]
    hbm = v["hbm_build"] * S["GB"]
    dc = v["datacentre_build"] * S["W"]
    plant = v["plant_build"] * S["W"]
    grid_build = v["grid_build"] * S["W"]
    ship = v["accelerators_shipped"] * S["chip"]
    own = v["generation"] * S["Wh"]
    out: dict[str, xr.DataArray] = {}

    service, average = _service(data)
    bought = ship.rename(year="start")
    installed = (service * bought).sum("start")
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
    it_energy = (
        ((average * bought).sum("start") * data["chip_power"]).sum("accelerator")
        * data["utilisation"]
        * hours
    )
    energy = it_energy * data["pue"]
    from_grid = (energy - own.sum("source")).clip(min=0.0)
    out["it_energy"] = it_energy
    out["energy"] = energy
    out["facility_power"] = energy / hours
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
    spend["network"] = spend["accelerator"] * data["network_share"]
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

    ds = xr.Dataset()
    for name, value in out.items():
        declared = VARIABLES[name]
        ds[name] = value.transpose(*declared.dims).expand_dims(sample=[0]).assign_attrs(declared.attrs)
    scales = {"wafer/year": S["wafer"], "GB/year": S["GB"], "W": S["W"]}
    for name, (dims, unit, long_name) in BUILDS.items():
        value = v[name] * scales[unit]
        if "start" in value.dims:
            value = value.rename(start="year")
        if "source" in value.dims:
            value = value.reindex(source=sources, fill_value=0.0)
        ds[name] = (
            value.transpose("year", *dims)
            .expand_dims(sample=[0])
            .assign_attrs(units=unit, long_name=long_name)
        )
    target = data["target"]
    short = (
        _value(m.variables["shortfall"]) * S["H100e"] if "shortfall" in m.variables else xr.zeros_like(target)
    )
    ds["target"] = target.expand_dims(sample=[0]).assign_attrs(units="H100e", long_name="compute target")
    ds["shortfall"] = (
        short.where(target.notnull(), 0.0)
        .expand_dims(sample=[0])
        .assign_attrs(units="H100e", long_name="compute target missed (slack)")
    )
    if "wafers_idle" in m.variables:
        ds["wafers_idle"] = (
            (_value(m.variables["wafers_idle"]) * S["wafer"])
            .expand_dims(sample=[0])
            .assign_attrs(units="wafer", long_name="fab output with no energised room for its chips")
        )
    ds["shadow_price"] = _shadow_prices(data, m)
    ds = ds.assign_coords(
        year=years, region=data.region.values, accelerator=data.accelerator.values, sample=[0]
    )
    objective = float(m.objective.value or 0.0)
    ds.attrs.update({k: val for k, val in data.attrs.items() if k != "all_sources"})
    ds.attrs.update(
        {
            "engine": "plan",
            "samples": 1,
            "seed": 0,
            "flopgrid_version": __version__,
            "currency": "USD (real 2024)",
            "existing_industry": 0,
            "discounted_cost": discounted,
            "objective_value": objective
            * (S["USD"] if data.attrs["objective"] == "min_cost" else S["H100e"]),
            "lp_variables": int(m.nvars),
            "lp_constraints": int(m.ncons),
        }
    )
    return ds


def _shadow_prices(data: xr.Dataset, m: linopy.Model) -> xr.DataArray:
    """Duals of every named family over (constraint, year, location), in base units, as the value of
    relaxing the constraint by one unit (USD for min_cost, H100e for max_compute)."""
    years = data.year.values
    locations = [*data.region.values.tolist(), "global"]
    names = [name for name in RULES if name in m.constraints]
    values = np.full((len(names), len(years), len(locations)), np.nan)
    maximise = data.attrs["objective"] == "max_compute"
    objective_unit = SCALE["H100e"] if maximise else SCALE["USD"]
    flat = np.zeros(1 + max(int(m.variables[v].labels.max()) for v in m.variables))
    for v in m.variables:
        labels, solution = m.variables[v].labels.values.ravel(), m.variables[v].solution.values.ravel()
        flat[labels[labels >= 0]] = np.nan_to_num(solution[labels >= 0])
    for i, name in enumerate(names):
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
        worth = dual * sign * objective_unit / RULES[name].scale
        if "start" in worth.dims:
            worth = worth.rename(start="year")
        if "year" not in worth.dims:
            worth = worth.expand_dims(year=[years[-1]])
        if "region" in worth.dims:
            values[i, :, :-1] = worth.transpose("year", "region").reindex(year=years).values
        else:
            values[i, :, -1] = worth.reindex(year=years).values
    units = [f"{'H100e' if maximise else 'USD'} per {RULES[n].unit}" for n in names]
    return xr.DataArray(
        values[None],
        dims=("sample", "constraint", "year", "location"),
        coords={
            "constraint": names,
            "location": locations,
            "constraint_unit": ("constraint", units),
            "year": years,
        },
        attrs={
            "units": "per constraint: see the constraint_unit coordinate",
            "long_name": "value of relaxing the constraint by one unit (dual value)",
        },
    )
