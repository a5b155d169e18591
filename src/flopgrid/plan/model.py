"""The planner's LP in the PyPSA style: one ``define_*`` function per stage adds its decisions and
constraints to a :class:`Built` and registers the :class:`Rule` of every constraint it adds (what a
unit of it is, in words), so that every dual value maps back to its meaning (docs/plan.md,
"Formulation"). Constraints are named ``{stage}-{what}-{bound}``.

The coefficients are the model's physics (``flopgrid.model``), computed once in
:mod:`flopgrid.plan.inputs` and :mod:`flopgrid.plan.coefficients`; this module only assembles them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import linopy
import numpy as np
import xarray as xr

from flopgrid.errors import FlopgridError
from flopgrid.plan.coefficients import (
    SCALE,
    chip_capex,
    chip_energy,
    cost_coefficients,
    plant_energy,
    service,
)

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
#: Build decisions, by their Results name (dims, unit and long name are declared in flopgrid.schema).
BUILDS = ("fab_build", "packaging_build", "hbm_build", "datacentre_build", "plant_build", "grid_build")


@dataclass(frozen=True)
class Rule:
    """What one unit of a constraint's right-hand side is, and how to say its value in words."""

    unit: str  # base unit of one unit of the constraint's right-hand side
    scale: float  # LP units → base units
    display: float  # base units per unit in words
    words: str  # "one more {words} in {where} in {year}"


class PlanError(FlopgridError):
    """The LP could not be solved (which the slack variables should make impossible), or a
    constraint was added without a rule."""


@dataclass
class Built:
    """A linopy model being built or solved, with the data it was built from, the expressions the
    stages share, and the rule of every constraint (by name)."""

    model: linopy.Model
    data: xr.Dataset
    fixed: Mapping[str, xr.DataArray] | None = None
    until: int = 0
    expressions: dict[str, Any] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)

    def constrain(self, lhs: Any, name: str, rule: Rule, **kw: Any) -> None:
        """Add the constraint ``lhs`` (a linopy constraint expression) as ``name`` with its rule."""
        self.rules[name] = rule
        self.model.add_constraints(lhs, name=name, **kw)

    def decision(
        self, name: str, coords: list[Any], dim: str = "start", allowed: xr.DataArray | None = None
    ) -> linopy.Variable:
        """A decision variable ≥ 0, fixed to ``fixed[name]`` before ``until`` (the myopic past) and
        to 0 where ``allowed`` is false."""
        lower, upper = fixed_bounds(self.data, name, self.fixed, self.until, dim)
        if allowed is not None:
            upper = (xr.zeros_like(allowed, dtype=float) + upper).where(allowed, 0.0)
        return self.model.add_variables(lower=lower, upper=upper, coords=coords, name=name)

    def limit(self, name: str, lhs: Any, limit: xr.DataArray, rule: Rule) -> None:
        """``lhs ≤ limit`` where the limit is finite (no constraint where it is infinite)."""
        finite = np.isfinite(limit)
        if bool(finite.any()):
            self.constrain(lhs <= limit.where(finite, 0.0), name, rule, mask=finite)


def fixed_bounds(
    data: xr.Dataset, name: str, fixed: Mapping[str, xr.DataArray] | None, until: int, dim: str
) -> tuple[Any, Any]:
    """Bounds of a decision variable: free (≥ 0) from ``until`` on, fixed to ``fixed[name]`` before."""
    if not fixed or until <= 0:
        return 0.0, np.inf
    value = fixed[name].isel({dim: slice(0, data.sizes[dim])})
    past = xr.DataArray(np.arange(data.sizes[dim]) < until, dims=dim, coords={dim: data[dim]})
    return value.where(past, 0.0), value.where(past, np.inf)


def _rule(unit: str, display: float, words: str) -> Rule:
    return Rule(unit, SCALE[unit.split("/")[0]], display, words)


def define_supply(built: Built) -> None:
    """Fabs, packaging and HBM lines started, chips bought by region and type; chips need wafers
    (fabs run full unless idle output is penalised), interposers and HBM; an optional fixed mix."""
    data, S, index = built.data, SCALE, built.data.indexes
    starts = [index["start"], index["region"]]
    fab = built.decision("fab_build", starts)
    pkg = built.decision("packaging_build", starts)
    hbm = built.decision("hbm_build", starts)
    # Types a region may not buy are bounded at 0 rather than masked, so every slot stays a term.
    ship = built.decision(
        "accelerators_shipped",
        [index["year"], index["region"], index["accelerator"]],
        dim="year",
        allowed=data["allowed"],
    )
    idle = built.model.add_variables(lower=0.0, coords=[index["year"]], name="wafers_idle")

    # Capacity online each year: the builds started earlier, after their lead time (fabs ramp up).
    fab_output = (data["fab_ramp"] * fab).sum(["start", "region"])  # k wafers a year
    packaging = (data["packaging_ramp"] * pkg).sum(["start", "region"])
    hbm_supply = (data["hbm_ramp"] * hbm).sum(["start", "region"])
    produced = ship.sum("region")  # M chips
    built.expressions["produced"] = produced
    wafer = _rule("wafer/year", 1e3, "1,000 wafers a year of fab output")
    built.constrain(
        (produced * (data["chip_wafers"] * S["chip"] / S["wafer"])).sum("accelerator") + idle - fab_output
        == 0,
        "supply-wafers-equal",
        wafer,
    )
    built.constrain(
        (produced * (data["chip_interposers"] * S["chip"] / S["wafer"])).sum("accelerator") - packaging <= 0,
        "supply-packaging-upper",
        _rule("wafer/year", 1e3, "1,000 interposer wafers a year of packaging"),
    )
    built.constrain(
        (produced * (data["chip_hbm"] * S["chip"] / S["GB"])).sum("accelerator") - hbm_supply <= 0,
        "supply-hbm-upper",
        _rule("GB/year", 1e6, "million GB a year of HBM"),
    )
    mix = data["mix"]
    if bool(mix.notnull().all()):
        built.constrain(
            produced - mix * produced.sum("accelerator") == 0,
            "supply-mix-equal",
            _rule("chip/year", 1e6, "million chips a year of this type beyond the fixed mix"),
        )
    built.limit(
        "supply-fab_build-upper",
        fab,
        data["fab_limit"] / S["wafer"],
        _rule("wafer/year", 1e3, "1,000 wafers a year of fab starts"),
    )
    built.limit(
        "supply-packaging_build-upper",
        pkg,
        data["packaging_limit"] / S["wafer"],
        _rule("wafer/year", 1e3, "1,000 wafers a year of packaging starts"),
    )
    built.limit(
        "supply-hbm_build-upper",
        hbm,
        data["hbm_limit"] / S["GB"],
        _rule("GB/year", 1e6, "million GB a year of HBM starts"),
    )


def define_datacentres(built: Built) -> None:
    """Data centres started, and the fleet: a chip bought in year ``s`` serves in years
    ``s … s + life − 1``, drawing its IT power from data-centre capacity; a region's share of compute
    may be capped by policy."""
    data, S, index = built.data, SCALE, built.data.indexes
    dc = built.decision("datacentre_build", [index["start"], index["region"]])
    dc_capacity = (data["dc_ramp"] * dc).sum("start")  # GW
    # Every fleet quantity is one coefficient array over (year, start) times the purchases, summed over
    # the start year.
    in_service, average = service(data)
    bought = built.model.variables["accelerators_shipped"].rename(year="start")
    chip_w = data["chip_power"] * (S["chip"] / S["W"])
    it_load = ((in_service * chip_w) * bought).sum(["start", "accelerator"])  # GW
    h100e = ((in_service * data["chip_h100e"] * (S["chip"] / S["H100e"])) * bought).sum(
        ["start", "accelerator"]
    )
    energy = ((average * chip_energy(data) * (S["chip"] / S["Wh"])) * bought).sum(["start", "accelerator"])
    built.expressions.update(
        {"dc_capacity": dc_capacity, "it_load": it_load, "h100e": h100e, "energy": energy}
    )
    built.constrain(
        it_load - dc_capacity <= 0,
        "datacentres-capacity-upper",
        _rule("W", 1e9, "GW of data-centre IT capacity"),
    )
    built.limit(
        "datacentres-build-upper",
        dc,
        data["dc_limit"] / S["W"],
        _rule("W", 1e9, "GW a year of data-centre construction starts"),
    )
    share = float(data.attrs["max_region_share"])
    if share < 1.0:
        built.constrain(
            h100e - share * h100e.sum("region") <= 0,
            "policy-share-upper",
            _rule("H100e", 1e6, "million H100e of regional share"),
        )


def define_power(built: Built) -> None:
    """Power plants by source and grid connections: firm power for the data centres' load, the grid
    connected only for capacity already built, and own generation up to what plants can give and the
    load can use (no export)."""
    data, S, index = built.data, SCALE, built.data.indexes
    regions = index["region"]
    plant = built.decision("plant_build", [index["start"], regions, index["source"]])
    grid = built.decision("grid_build", [index["year"], regions], dim="year")
    gen = built.model.add_variables(
        lower=0.0, coords=[index["year"], regions, index["source"]], name="generation"
    )
    e = built.expressions
    plant_capacity = (data["plant_ramp"] * plant).sum("start")
    grid_connection = grid.cumsum("year")
    own_firm = (plant_capacity * data["firm_credit"]).sum("source")
    built.constrain(
        e["it_load"] * data["pue"] - own_firm - grid_connection <= 0,
        "power-firm-upper",
        _rule("W", 1e9, "GW of firm power"),
    )
    # The simulator's grid: connections are granted for data-centre capacity already built, never ahead.
    built.constrain(
        grid_connection + own_firm - e["dc_capacity"] * data["pue"] <= 0,
        "power-connection-upper",
        _rule("W", 1e9, "GW of grid connection ahead of built capacity"),
    )
    built.constrain(
        gen - plant_capacity * (plant_energy(data) * S["W"] / S["Wh"]) <= 0,
        "power-generation-upper",
        _rule("Wh", 1e12, "TWh a year of own generation"),
    )
    built.constrain(
        e["energy"] - gen.sum("source") >= 0,
        "power-energy-lower",
        _rule("Wh", 1e12, "TWh a year of own generation beyond the data centres' load"),
    )
    built.limit(
        "power-grid-upper", grid, data["max_grid"] / S["W"], _rule("W", 1e9, "GW a year of grid connections")
    )
    built.limit(
        "power-build-upper",
        plant.sum("source"),
        data["plant_limit"] / S["W"],
        _rule("W", 1e9, "GW a year of power-plant starts"),
    )


def define_finance(built: Built) -> None:
    """The discounted cost of every decision (one linear expression), the capital budget by year and,
    when compute is maximised, the budget over the horizon."""
    data, S = built.data, SCALE
    variables = built.model.variables
    coefficient = cost_coefficients(data)
    # One merge of scalar sums: adding them one by one re-aligns the growing sum each time.
    cost = linopy.merge(
        [(variables[name] * value).sum() for name, value in coefficient.items()],
        cls=linopy.LinearExpression,
    )
    built.expressions["cost"] = cost
    budget = data["capital_budget"]
    finite = np.isfinite(budget)
    if bool(finite.any()):
        spend = {
            name: data[f"{prefix}_spend"] * data[f"{prefix}_capex"] * (S[unit] / S["USD"])
            for name, prefix, unit in (
                ("fab_build", "fab", "wafer"),
                ("packaging_build", "packaging", "wafer"),
                ("hbm_build", "hbm", "GB"),
                ("datacentre_build", "dc", "W"),
                ("plant_build", "plant", "W"),
            )
        }
        spent = linopy.merge(
            [
                *(
                    (variables[name] * value).sum([d for d in value.dims if d != "year"])
                    for name, value in spend.items()
                ),
                (variables["grid_build"] * (data["grid_capex"] * S["W"] / S["USD"])).sum("region"),
                (variables["accelerators_shipped"] * (chip_capex(data) * S["chip"] / S["USD"])).sum(
                    ["region", "accelerator"]
                ),
            ],
            cls=linopy.LinearExpression,
        )
        built.constrain(
            spent <= (budget / S["USD"]).where(finite, 0.0),
            "finance-capital-upper",
            _rule("USD", 1e9, "billion USD of capital budget"),
            mask=finite,
        )
    if data.attrs["objective"] == "max_compute":
        built.constrain(
            cost <= float(data.attrs["budget"]) / S["USD"],
            "finance-budget-upper",
            _rule("USD", 1e9, "billion USD of budget"),
        )


def define_objective(built: Built) -> None:
    """The compute target (with a penalised shortfall, so the LP is always feasible), the penalty on
    idle fab output, and the objective: least discounted cost, or most compute in the last year."""
    data, S, m = built.data, SCALE, built.model
    target = data["target"]
    has_target = target.notnull()
    total_h100e = built.expressions["h100e"].sum("region")
    idle = m.variables["wafers_idle"]
    idle_penalty = float(data.attrs["idle_penalty"])
    objective: Any
    if bool(has_target.any()):
        shortfall = m.add_variables(
            lower=0.0,
            upper=(xr.zeros_like(target) + np.inf).where(has_target, 0.0),
            coords=[data.indexes["year"]],
            name="shortfall",
        )
        built.constrain(
            total_h100e + shortfall >= (target / S["H100e"]).fillna(0.0),
            "compute-target-lower",
            _rule("H100e", 1e6, "million H100e less of target"),
            mask=has_target,
        )
    if data.attrs["objective"] == "max_compute":
        objective = total_h100e.isel(year=-1)
        if bool(has_target.any()):
            objective = objective - 1e3 * shortfall.sum()
        if idle_penalty > 0:
            objective = objective - idle_penalty * idle.sum()
        m.add_objective(objective, sense="max")
    else:
        penalty = float(data.attrs["shortfall_penalty"]) * S["H100e"] / S["USD"]
        objective = built.expressions["cost"]
        if bool(has_target.any()):
            objective = objective + penalty * shortfall.sum()
        if idle_penalty > 0:
            objective = objective + idle_penalty * idle.sum()
        m.add_objective(objective)


#: The stages in the order they are defined: each may use the variables and expressions of those before.
STAGES = (define_supply, define_datacentres, define_power, define_finance, define_objective)


def build(data: xr.Dataset, fixed: Mapping[str, xr.DataArray] | None = None, until: int = 0) -> Built:
    """The LP over ``data``'s years (scaled units; see ``SCALE``), stage by stage (``STAGES``).

    ``fixed`` holds decisions (in LP units, by Results name) kept at their values for the first
    ``until`` years: the myopic planner's past.

    Raises
    ------
    PlanError
        If a stage added a constraint without registering its rule (its dual could not be read).
    """
    built = Built(linopy.Model(), data, fixed, until)
    for stage in STAGES:
        stage(built)
    missing = unruled(built)
    if missing:
        raise PlanError(f"internal: constraints without a rule: {', '.join(missing)}")
    return built


def unruled(built: Built) -> list[str]:
    """Constraints of the model that have no registered rule (none, for a model made by :func:`build`)."""
    return [str(name) for name in built.model.constraints if name not in built.rules]
