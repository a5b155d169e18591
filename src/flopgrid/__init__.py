"""flopgrid: the build-out of AI compute as one system — fabs, wafers, accelerators, data centres,
power and money.

>>> import flopgrid
>>> results = flopgrid.simulate("reference")
>>> table = results.flopgrid.summary()
"""

from __future__ import annotations

from flopgrid.errors import FlopgridError, LibraryError, ScenarioError, UnitError
from flopgrid.library import load_library
from flopgrid.plan import plan
from flopgrid.results import Results
from flopgrid.scenario import Scenario, load_scenario
from flopgrid.simulate import simulate
from flopgrid.version import __version__

__all__ = [
    "FlopgridError",
    "LibraryError",
    "Results",
    "Scenario",
    "ScenarioError",
    "UnitError",
    "__version__",
    "load_library",
    "load_scenario",
    "plan",
    "simulate",
]
