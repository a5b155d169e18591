"""flopgrid: the build-out of AI compute as one system — fabs, wafers, accelerators, data centres,
power and money.

>>> import flopgrid
>>> results = flopgrid.simulate("reference")
>>> table = results.flopgrid.summary()

The engines and the data layer load on first use (a module ``__getattr__``, PEP 562): importing
``flopgrid`` — and so starting the command line — does not pay for pandas, SciPy, xarray or linopy.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from flopgrid.errors import FlopgridError, LibraryError, ScenarioError, UnitError
from flopgrid.version import __version__

if TYPE_CHECKING:
    from flopgrid.library import load_library
    from flopgrid.plan import plan
    from flopgrid.results import Results
    from flopgrid.scenario import Scenario, load_scenario
    from flopgrid.simulate import simulate

#: Public names that load their module on first use, and the module each comes from.
LAZY = {
    "load_library": "flopgrid.library",
    "plan": "flopgrid.plan",
    "Results": "flopgrid.results",
    "Scenario": "flopgrid.scenario",
    "load_scenario": "flopgrid.scenario",
    "simulate": "flopgrid.simulate",
}

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


def __getattr__(name: str) -> Any:
    """Load a lazily imported public name (see :data:`LAZY`) on first access."""
    if name not in LAZY:
        raise AttributeError(f"module 'flopgrid' has no attribute {name!r}")
    import_module("flopgrid.results")  # registers the ``results.flopgrid`` accessor on Datasets
    value = getattr(import_module(LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *LAZY})


class Package(ModuleType):
    """The ``flopgrid`` module's type: ``flopgrid.plan`` and ``flopgrid.simulate`` stay the functions.

    Both names are also subpackages, and the import system sets a parent's attribute to a subpackage
    once it is imported; the eager imports used to overwrite that attribute with the function right
    after. Lazily, these properties keep the function whatever the import system sets.
    """

    @property
    def plan(self) -> Any:
        """:func:`flopgrid.plan.plan`."""
        import_module("flopgrid.results")  # registers the ``results.flopgrid`` accessor on Datasets
        return import_module("flopgrid.plan").plan

    @plan.setter
    def plan(self, value: Any) -> None:
        """Ignored: the import system setting the subpackage ``flopgrid.plan``."""

    @property
    def simulate(self) -> Any:
        """:func:`flopgrid.simulate.simulate`."""
        import_module("flopgrid.results")  # registers the ``results.flopgrid`` accessor on Datasets
        return import_module("flopgrid.simulate").simulate

    @simulate.setter
    def simulate(self, value: Any) -> None:
        """Ignored: the import system setting the subpackage ``flopgrid.simulate``."""


sys.modules[__name__].__class__ = Package
