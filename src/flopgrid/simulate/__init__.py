"""The simulator: a scenario's plan → outcomes, year by year, vectorised over Monte Carlo samples.

The model is documented equation by equation in ``docs/model.md``; the stages' arithmetic lives in
``flopgrid.model``. The package is in six parts:

- :mod:`~flopgrid.simulate.variables`: the Results variables (dimensions, units, long names, flags);
- :mod:`~flopgrid.simulate.supply_stage`: supply (own lines and the existing industry);
- :mod:`~flopgrid.simulate.stages`: deployment, energy, money, operations, lives, bottleneck;
- :mod:`~flopgrid.simulate.pipeline`: the atlas pipeline's limit on the near-term data-centre build;
- :mod:`~flopgrid.simulate.finance`: the Money stage (revenue, financing, returns, cost of compute);
- :mod:`~flopgrid.simulate.runner`: :func:`prepare`, :func:`simulate`, :func:`run_block` and
  :func:`run_uniforms`, which run the stages on blocks of samples, one thread per core.
"""

from __future__ import annotations

from flopgrid.simulate.runner import prepare, run_block, run_uniforms, simulate
from flopgrid.simulate.supply_stage import EXISTING_SUPPLY_REGION
from flopgrid.simulate.variables import BOTTLENECKS, FINANCE_VARIABLES, FINANCING, FLAGS, VARIABLES

__all__ = [
    "BOTTLENECKS",
    "EXISTING_SUPPLY_REGION",
    "FINANCE_VARIABLES",
    "FINANCING",
    "FLAGS",
    "VARIABLES",
    "prepare",
    "run_block",
    "run_uniforms",
    "simulate",
]
