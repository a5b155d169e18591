"""flopgrid: the build-out of AI compute as one system — fabs, wafers, accelerators, data centres,
power and money.

>>> import flopgrid
>>> results = flopgrid.simulate("reference")
>>> table = results.flopgrid.summary()
"""

from __future__ import annotations

__version__ = "0.1.0"

from flopgrid.errors import FlopgridError, LibraryError, ScenarioError, UnitError  # noqa: E402
from flopgrid.library import load_library  # noqa: E402
from flopgrid.results import Results  # noqa: E402
from flopgrid.scenario import Scenario, load_scenario  # noqa: E402
from flopgrid.simulate import simulate  # noqa: E402

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
    "simulate",
]
