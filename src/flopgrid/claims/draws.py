"""Library figures drawn on the simulator's sampling path, for claims and validation.

A library row used beside the model (``datacentres.ai_campus.pue``, ``accelerators.H100.price``) is
drawn exactly as :func:`flopgrid.simulate.simulate` draws it: from a
:class:`~flopgrid.parameters.ParameterSet` with the run's sampling design, so it follows the default
distribution of its kind (PERT, two-piece lognormal) or the one the scenario's ``uncertainty:``
section gives it, and the scenario's ``parameters:`` overrides apply. A parameter the scenario's run
draws is taken at that run's own quantiles: sample ``i`` of a library input is sample ``i`` of the
simulated run, so a PUE multiplied by a model result belongs to the same run. Parameters the run does
not draw (an accelerator it does not buy) come from a second design over every library item, seeded
apart from the run's.

Figures that are not model parameters (the library's macro table, a ledger's reference figures and
stated ranges, validation's assumptions) are drawn by the same default rule for their kind, at
independent uniform quantiles.
"""

from __future__ import annotations

import numpy as np

from flopgrid.distributions import default_kind, default_ppf
from flopgrid.errors import FlopgridError
from flopgrid.library import Library, ParameterSpec, load_library
from flopgrid.parameters import ALL_REGIONS, SINGLE, ParameterSet, design_for
from flopgrid.scenario import Scenario, resolve_overrides
from flopgrid.simulate import prepare

#: Salt of the seed of the design over every library item, so that its columns are not the run's.
LIBRARY_DESIGN_SALT = 0xC1A1


def draw_range(
    u: np.ndarray, value: float, low: float, high: float, unit: str = "", bounds: str = "positive"
) -> np.ndarray:
    """A figure with a range drawn at quantiles ``u`` by the simulator's default rule for its kind.

    ``unit`` and ``bounds`` (a key of ``flopgrid.library.BOUNDS``) choose the kind as for a library
    parameter: ``growth`` is a two-piece lognormal of 1 + g, costs (USD), fractions and PUE are PERT,
    positive ranges spanning 3× or more a two-piece lognormal (low and high at P5 and P95, as here),
    the rest PERT. Without a range the
    value is returned for every sample.

    Examples
    --------
    >>> draw_range(np.array([0.05, 0.5, 0.95]), 2.0, 1.0, 4.0, "W").round(3).tolist()
    [1.0, 2.0, 4.0]
    """
    spec = ParameterSpec("figure", "figure", unit, bounds, False, "a published figure")
    v, lo, hi = (np.array([x], dtype=float) for x in (value, low, high))
    drawn: np.ndarray = default_ppf(default_kind(spec, v, lo, hi), u, v, lo, hi)[:, 0]
    return drawn


class LibraryDraws:
    """Library parameters over ``samples`` as a run of ``scenario`` with ``seed`` draws them.

    Parameters
    ----------
    scenario
        The scenario whose run the draws pair with (its overrides and ``uncertainty:`` apply).
    samples, seed
        As given to :func:`flopgrid.simulate.simulate` for that run.
    years
        Years the figures are asked at (any, inside or outside the scenario's horizon).
    """

    def __init__(self, scenario: Scenario, samples: int, seed: int, years: list[int]) -> None:
        self.library: Library = load_library()
        self.samples = samples
        self.years = np.array(sorted(set(years)), dtype=float)
        _, run, _ = prepare(scenario, samples, seed)
        items = {t: self.library.ids(t) for t in ("accelerators", "power_sources")}
        overrides = resolve_overrides(scenario, self.library)
        regions = self.library.ids("regions")

        def parameter_set() -> ParameterSet:
            return ParameterSet(self.library, self.years, regions, items, overrides, samples=samples)

        # The run's own quantiles for what it draws; the same design, so the same uniforms.
        self.paired = parameter_set()
        self.paired.design = run.design
        self.paired_columns = set(run.design.columns) if run.design is not None else set()
        self.others = parameter_set()
        salted = int(np.random.SeedSequence([seed, LIBRARY_DESIGN_SALT]).generate_state(1)[0])
        self.others.design = design_for(scenario, self.others, salted, None, samples, central=samples == 1)

    def draw(self, table: str, item: str, parameter: str, year: float) -> np.ndarray:
        """One library parameter of one item (a region for the ``regions`` table) at ``year``,
        shape ``(samples,)``, in model units.

        Raises
        ------
        FlopgridError
            When the scenario gives the parameter different values by region (no single figure).
        """
        column = (table, parameter, ALL_REGIONS if table == "regions" else item)
        source = self.paired if column in self.paired_columns else self.others
        values = source.get(table, parameter)
        y = int(np.searchsorted(self.years, year))
        if table == "regions":
            chosen = values[:, y, self.library.ids("regions").index(item), 0]
        else:
            if values.shape[2] > 1:
                raise FlopgridError(
                    f"{table}.{item}.{parameter} differs by region in the scenario; a library input "
                    "takes one figure"
                )
            k = 0 if table in SINGLE else self.library.ids(table).index(item)
            chosen = values[:, y, 0, k]
        return np.broadcast_to(chosen, (self.samples,)).astype(float)
