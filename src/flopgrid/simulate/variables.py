"""The simulator's Results variables (declared in the Results schema, ``flopgrid.schema``), their flag
meanings, and which variables the Money stage makes."""

from __future__ import annotations

from flopgrid.model import supply
from flopgrid.schema import Variable, variables

BOTTLENECKS = ("wafers", "packaging", "hbm", "datacentres", "power", "none")
#: Kinds of financing (the ``financing`` dimension of ``financing_in``).
FINANCING = ("equity", "debt", "vendor", "grant")
#: The simulator's Results variables: every declared one but the planner's decisions (flopgrid.schema).
VARIABLES: dict[str, Variable] = {v.name: v for v in variables() if v.stage != "plan"}
FLAGS = {
    "bottleneck": BOTTLENECKS,
    "production_bottleneck": supply.LIMITS,
    "own_production_bottleneck": supply.CAPS,
}


#: Results variables of the Money stage (``finance_stage``): a run that keeps none of them skips it.
FINANCE_VARIABLES = frozenset(v.name for v in variables(stage="finance"))
