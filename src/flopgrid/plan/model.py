"""The planner's LP: decisions, constraints named ``{stage}-{what}-{bound}``, the objective, and
the solve with HiGHS (docs/plan.md, "Formulation").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import linopy
import numpy as np
import xarray as xr

from flopgrid.errors import FlopgridError
from flopgrid.model.power import HOURS_PER_YEAR

#: Units the LP is solved in, so that its coefficients stay within a few orders of magnitude.
SCALE = {"chip": 1e6, "W": 1e9, "Wh": 1e12, "wafer": 1e3, "GB": 1e6, "USD": 1e9, "H100e": 1e6}
#: Penalty per scaled unit of fab output left idle (B USD per 1,000 wafers): fabs run full, as in the
#: simulator, unless installing every chip is impossible or ``planner.allow_idle_fabs`` is set.
IDLE_PENALTY = 1e6
#: Accelerator parameters a type needs to be a candidate for purchase.
CHIP_PARAMETERS = (
    "flops_bf16",
    "it_power",
    "logic_die_area",
    "interposer_area",
    "dies_per_package",
    "hbm_capacity",
    "price",
)
#: Build decisions: Results name, dims after ``year``, unit, long name.
BUILDS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "fab_build": (("region",), "wafer/year", "new fab capacity started (leading-edge wafer starts)"),
    "packaging_build": (("region",), "wafer/year", "new advanced-packaging capacity started"),
    "hbm_build": (("region",), "GB/year", "new HBM capacity started"),
    "datacentre_build": (("region",), "W", "new data-centre IT capacity started"),
    "plant_build": (("region", "source"), "W", "new power plants started (nameplate)"),
    "grid_build": (("region",), "W", "new grid connections for data centres"),
}


@dataclass(frozen=True)
class Rule:
    """One family of constraints: what a unit of it is and how to say its value in words."""

    unit: str  # base unit of one unit of the constraint's right-hand side
    scale: float  # LP units → base units
    display: float  # base units per unit in words
    words: str  # "one more {words} in {where} in {year}"


RULES: dict[str, Rule] = {
    "supply-wafers-equal": Rule("wafer/year", SCALE["wafer"], 1e3, "1,000 wafers a year of fab output"),
    "supply-packaging-upper": Rule(
        "wafer/year", SCALE["wafer"], 1e3, "1,000 interposer wafers a year of packaging"
    ),
    "supply-hbm-upper": Rule("GB/year", SCALE["GB"], 1e6, "million GB a year of HBM"),
    "supply-fab_build-upper": Rule("wafer/year", SCALE["wafer"], 1e3, "1,000 wafers a year of fab starts"),
    "supply-packaging_build-upper": Rule(
        "wafer/year", SCALE["wafer"], 1e3, "1,000 wafers a year of packaging starts"
    ),
    "supply-hbm_build-upper": Rule("GB/year", SCALE["GB"], 1e6, "million GB a year of HBM starts"),
    "datacentres-capacity-upper": Rule("W", SCALE["W"], 1e9, "GW of data-centre IT capacity"),
    "datacentres-build-upper": Rule("W", SCALE["W"], 1e9, "GW a year of data-centre construction starts"),
    "power-firm-upper": Rule("W", SCALE["W"], 1e9, "GW of firm power"),
    "power-grid-upper": Rule("W", SCALE["W"], 1e9, "GW a year of grid connections"),
    "power-connection-upper": Rule("W", SCALE["W"], 1e9, "GW of grid connection ahead of built capacity"),
    "power-build-upper": Rule("W", SCALE["W"], 1e9, "GW a year of power-plant starts"),
    "compute-target-lower": Rule("H100e", SCALE["H100e"], 1e6, "million H100e less of target"),
    "policy-share-upper": Rule("H100e", SCALE["H100e"], 1e6, "million H100e of regional share"),
    "finance-capital-upper": Rule("USD", SCALE["USD"], 1e9, "billion USD of capital budget"),
    "finance-budget-upper": Rule("USD", SCALE["USD"], 1e9, "billion USD of budget"),
}


class PlanError(FlopgridError):
    """The LP could not be solved (which the slack variables should make impossible)."""


# -------------------------------------------------------------------------------------------- model


@dataclass
class Built:
    """A linopy model with the expressions needed to read its solution back."""

    model: linopy.Model
    expressions: dict[str, linopy.LinearExpression] = field(default_factory=dict)


def _fixed_bounds(
    data: xr.Dataset, name: str, fixed: Mapping[str, xr.DataArray] | None, until: int, dim: str
) -> tuple[Any, Any]:
    """Bounds of a decision variable: free (≥ 0) from ``until`` on, fixed to ``fixed[name]`` before."""
    if not fixed or until <= 0:
        return 0.0, np.inf
    value = fixed[name].isel({dim: slice(0, data.sizes[dim])})
    past = xr.DataArray(np.arange(data.sizes[dim]) < until, dims=dim, coords={dim: data[dim]})
    return value.where(past, 0.0), value.where(past, np.inf)


def build(data: xr.Dataset, fixed: Mapping[str, xr.DataArray] | None = None, until: int = 0) -> Built:
    """The LP over ``data``'s years (scaled units; see ``SCALE``).

    ``fixed`` holds decisions (in LP units, by Results name) kept at their values for the first
    ``until`` years: the myopic planner's past.
    """
    S = SCALE
    m = linopy.Model()
    index = data.indexes
    regions = index["region"]
    nonneg: dict[str, Any] = {"lower": 0.0}

    def decision(name: str, coords: list[Any], dim: str = "start", **kw: Any) -> linopy.Variable:
        lower, upper = _fixed_bounds(data, name, fixed, until, dim)
        return m.add_variables(lower=lower, upper=upper, coords=coords, name=name, **kw)

    starts = [index["start"], regions]
    fab = decision("fab_build", starts)
    pkg = decision("packaging_build", starts)
    hbm = decision("hbm_build", starts)
    dc = decision("datacentre_build", starts)
    plant = decision("plant_build", [index["start"], regions, index["source"]])
    grid = decision("grid_build", [index["year"], regions], dim="year")
    # Types a region may not buy are bounded at 0 rather than masked, so every slot stays a term.
    lower, upper = _fixed_bounds(data, "accelerators_shipped", fixed, until, "year")
    ship = m.add_variables(
        lower=lower,
        upper=(xr.zeros_like(data["allowed"], dtype=float) + upper).where(data["allowed"], 0.0),
        coords=[index["year"], regions, index["accelerator"]],
        name="accelerators_shipped",
    )
    gen = m.add_variables(**nonneg, coords=[index["year"], regions, index["source"]], name="generation")

    # Capacity online each year: the builds started earlier, after their lead time (fabs ramp up).
    def online(var: linopy.Variable, ramp: str) -> linopy.LinearExpression:
        return (data[ramp] * var).sum("start")

    fab_output = online(fab, "fab_ramp").sum("region")  # k wafers a year
    packaging = online(pkg, "packaging_ramp").sum("region")
    hbm_supply = online(hbm, "hbm_ramp").sum("region")
    dc_capacity = online(dc, "dc_ramp")  # GW
    plant_capacity = online(plant, "plant_ramp")
    grid_connection = grid.cumsum("year")

    produced = ship.sum("region")  # M chips
    # The fleet: a chip bought in year s serves in years s … s + life − 1, so every fleet quantity is
    # one coefficient array over (year, start) times the purchases, summed over the start year.
    service, average = _service(data)
    bought = ship.rename(year="start")
    chip_w = data["chip_power"] * (S["chip"] / S["W"])
    it_load = ((service * chip_w) * bought).sum(["start", "accelerator"])  # GW
    h100e = ((service * data["chip_h100e"] * (S["chip"] / S["H100e"])) * bought).sum(["start", "accelerator"])
    hours = HOURS_PER_YEAR * S["W"] / S["Wh"]
    energy_per_chip = average * chip_w * (data["utilisation"] * data["pue"] * hours)  # TWh
    energy = (energy_per_chip * bought).sum(["start", "accelerator"])

    idle = m.add_variables(**nonneg, coords=[index["year"]], name="wafers_idle")
    idle_penalty = float(data.attrs["idle_penalty"])
    chip_wafers = (produced * (data["chip_wafers"] * S["chip"] / S["wafer"])).sum("accelerator")
    m.add_constraints(
        chip_wafers + idle - fab_output == 0,
        name="supply-wafers-equal",
    )
    m.add_constraints(
        (produced * (data["chip_interposers"] * S["chip"] / S["wafer"])).sum("accelerator") - packaging <= 0,
        name="supply-packaging-upper",
    )
    m.add_constraints(
        (produced * (data["chip_hbm"] * S["chip"] / S["GB"])).sum("accelerator") - hbm_supply <= 0,
        name="supply-hbm-upper",
    )
    mix = data["mix"]
    if bool(mix.notnull().all()):
        m.add_constraints(produced - mix * produced.sum("accelerator") == 0, name="supply-mix-equal")
    m.add_constraints(it_load - dc_capacity <= 0, name="datacentres-capacity-upper")
    own_firm = (plant_capacity * data["firm_credit"]).sum("source")
    m.add_constraints(it_load * data["pue"] - own_firm - grid_connection <= 0, name="power-firm-upper")
    # The simulator's grid: connections are granted for data-centre capacity already built, never ahead.
    m.add_constraints(
        grid_connection + own_firm - dc_capacity * data["pue"] <= 0, name="power-connection-upper"
    )
    available = plant_capacity * (data["capacity_factor"] * hours)
    m.add_constraints(gen - available <= 0, name="power-generation-upper")
    m.add_constraints(energy - gen.sum("source") >= 0, name="power-energy-lower")

    bounded: list[tuple[str, Any, xr.DataArray]] = [
        ("power-grid-upper", grid, data["max_grid"] / S["W"]),
        ("supply-fab_build-upper", fab, data["fab_limit"] / S["wafer"]),
        ("supply-packaging_build-upper", pkg, data["packaging_limit"] / S["wafer"]),
        ("supply-hbm_build-upper", hbm, data["hbm_limit"] / S["GB"]),
        ("datacentres-build-upper", dc, data["dc_limit"] / S["W"]),
        ("power-build-upper", plant.sum("source"), data["plant_limit"] / S["W"]),
    ]
    for name, lhs, limit in bounded:
        finite = np.isfinite(limit)
        if bool(finite.any()):
            m.add_constraints(lhs <= limit.where(finite, 0.0), name=name, mask=finite)

    # Money: each decision's discounted cost per unit (B USD), so the objective is one sum.
    coefficient = _cost_coefficients(data)
    decisions = (
        ("fab_build", fab),
        ("packaging_build", pkg),
        ("hbm_build", hbm),
        ("datacentre_build", dc),
        ("plant_build", plant),
        ("grid_build", grid),
        ("accelerators_shipped", ship),
        ("generation", gen),
    )
    # One merge of scalar sums: adding them one by one re-aligns the growing sum each time.
    cost = linopy.merge(
        [(var * coefficient[name]).sum() for name, var in decisions], cls=linopy.LinearExpression
    )
    budget = data["capital_budget"]
    finite = np.isfinite(budget)
    if bool(finite.any()):
        spent = (
            sum(
                (
                    (var * (data[f"{prefix}_spend"] * data[f"{prefix}_capex"] * (unit / S["USD"]))).sum(
                        ["start", "region"]
                    )
                    for var, prefix, unit in (
                        (fab, "fab", S["wafer"]),
                        (pkg, "packaging", S["wafer"]),
                        (hbm, "hbm", S["GB"]),
                        (dc, "dc", S["W"]),
                    )
                ),
                start=(plant * (data["plant_spend"] * data["plant_capex"] * (S["W"] / S["USD"]))).sum(
                    ["start", "region", "source"]
                ),
            )
            + (grid * (data["grid_capex"] * S["W"] / S["USD"])).sum("region")
            + (ship * (data["chip_price"] * (1 + data["network_share"]) * S["chip"] / S["USD"])).sum(
                ["region", "accelerator"]
            )
        )
        m.add_constraints(
            spent <= (budget / S["USD"]).where(finite, 0.0),
            name="finance-capital-upper",
            mask=finite,
        )
    share = float(data.attrs["max_region_share"])
    total_h100e = h100e.sum("region")
    if share < 1.0:
        m.add_constraints(h100e - share * total_h100e <= 0, name="policy-share-upper")

    target = data["target"]
    has_target = target.notnull()
    penalty = float(data.attrs["shortfall_penalty"]) * S["H100e"] / S["USD"]
    objective: Any
    if bool(has_target.any()):
        shortfall = m.add_variables(
            lower=0.0,
            upper=(xr.zeros_like(target) + np.inf).where(has_target, 0.0),
            coords=[index["year"]],
            name="shortfall",
        )
        m.add_constraints(
            total_h100e + shortfall >= (target / S["H100e"]).fillna(0.0),
            name="compute-target-lower",
            mask=has_target,
        )
    if data.attrs["objective"] == "max_compute":
        m.add_constraints(cost <= float(data.attrs["budget"]) / S["USD"], name="finance-budget-upper")
        objective = total_h100e.isel(year=-1)
        if bool(has_target.any()):
            objective = objective - 1e3 * shortfall.sum()
        if idle_penalty > 0:
            objective = objective - idle_penalty * idle.sum()
        m.add_objective(objective, sense="max")
    else:
        objective = cost
        if bool(has_target.any()):
            objective = objective + penalty * shortfall.sum()
        if idle_penalty > 0:
            objective = objective + idle_penalty * idle.sum()
        m.add_objective(objective)
    return Built(m, {"cost": cost})


def _service(data: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """In service at the end of each year ``(year, start)`` for a chip bought in ``start``, and the
    year's average of start and end (what energy and compute-hours use, as in the simulator)."""
    years = data.year.values
    age = np.arange(len(years))[:, None] - np.arange(len(years))[None, :]
    life = int(data.attrs["lifetime"])
    coords = {"year": years, "start": data.start.values}
    service = xr.DataArray(((age >= 0) & (age < life)).astype(float), dims=("year", "start"), coords=coords)
    before = service.shift(year=1, fill_value=0.0)
    return service, (service + before) / 2


def _cost_coefficients(data: xr.Dataset) -> dict[str, xr.DataArray]:
    """Discounted cost of one LP unit of each decision (B USD): its capex as spent over construction,
    the opex of what it brings online (data-centre and plant O&M, the energy its chips draw), each
    year's flow discounted to the first year."""
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
    _, average = _service(data)
    energy = (average * data["chip_power"] * data["utilisation"] * data["pue"] * HOURS_PER_YEAR).rename(
        year="flow"
    )
    price = (data["electricity_price"] * disc).rename(year="flow")
    bought = data["chip_price"] * (1 + data["network_share"]) * disc
    out["accelerators_shipped"] = (bought + (energy * price).sum("flow").rename(start="year")) * (
        S["chip"] / S["USD"]
    )
    out["generation"] = (data["generation_cost"] - data["electricity_price"]) * disc * (S["Wh"] / S["USD"])
    return out


# -------------------------------------------------------------------------------------------- solve


class _Quiet:
    """Silence HiGHS, which writes its banner to the process's stdout (not Python's), so that
    ``flopgrid plan --json`` prints only JSON."""

    def __enter__(self) -> None:
        import os
        import sys

        sys.stdout.flush()
        self._saved = os.dup(1)
        self._null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(self._null, 1)

    def __exit__(self, *exc: object) -> None:
        import os

        os.dup2(self._saved, 1)
        os.close(self._saved)
        os.close(self._null)


def solve(built: Built, threads: int = 1) -> None:
    """Solve with HiGHS; raise :class:`PlanError` on anything but an optimum."""
    with _Quiet():
        status, condition = built.model.solve(
            solver_name="highs", io_api="direct", output_flag=False, threads=threads
        )
    if status != "ok":
        raise PlanError(f"HiGHS did not find an optimum ({status}: {condition}); please report this scenario")


def _value(x: linopy.Variable | linopy.LinearExpression) -> xr.DataArray:
    """The solution, with solver round-off (|x| < 1e-9 in LP units) cleared."""
    out: xr.DataArray = x.solution.fillna(0.0)
    return out.where(np.abs(out) > 1e-9, 0.0)


def _decisions(built: Built) -> dict[str, xr.DataArray]:
    """Decision values in LP units, by variable name (for fixing the myopic planner's past)."""
    names = [*BUILDS, "accelerators_shipped"]
    return {name: _value(built.model.variables[name]) for name in names}
