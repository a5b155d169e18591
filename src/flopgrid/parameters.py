"""Resolve library parameters and scenario overrides into arrays the model can broadcast.

Every parameter becomes an array with axes ``(sample, year, region, item)``, where ``item`` runs over the
table's items (accelerators, power sources) and has length 1 for single-item tables (fabs, packaging,
hbm, datacentres) and for ``regions`` (whose items are the region axis). Axes that do not vary have
length 1, so arrays stay small and broadcast against the model's ``(sample, year, region, accelerator)``
arrays.

Overrides in a scenario (``parameters:``) take one of these forms, for any table::

    parameters:
      datacentres:
        pue: 1.15                         # every item of the table, every region and year
      accelerators:
        GB300:
          price: {2026: "$45k", 2030: "$30k"}   # a time series: linear between years, held outside
      regions:
        JP:
          electricity_price: "150 USD/MWh"
      power_sources:
        gas_ccgt:
          capex: {US: "2400 USD/kW", UAE: "1000 USD/kW"}   # per region (values may be series too)

Sampling (``samples > 1``): each parameter that the library gives a low/high range for is drawn from
the default distribution of its kind (``flopgrid.distributions.DEFAULT_KINDS``: PERT for costs, shares and
most technical figures, a two-piece lognormal for growth rates and for ranges wider than 3×), or from
the distribution the scenario's ``uncertainty:`` section gives it. There is one quantile per sample and
item, shared across years and regions (a parameter that is high in 2030 is high in 2035 too); the
quantiles come from the run's sampling design (Latin hypercube, Sobol or random, with rank correlations
through a Gaussian copula). Values a scenario overrides are not sampled unless given a distribution.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from flopgrid.distributions import Design, Dimension, Distribution, default_kind, default_ppf
from flopgrid.errors import ScenarioError
from flopgrid.library import Library
from flopgrid.model import supply
from flopgrid.scenario import OVERRIDABLE, Override, Scenario, explicit_distributions, split_name

#: Tables with one item: overrides name the parameter directly, and the item axis has length 1.
SINGLE = {
    "fabs": "leading_edge",
    "packaging": "cowos",
    "hbm": "hbm",
    "datacentres": "ai_campus",
    "market": "world",
}
#: Unit costs that fall after their data year at a rate of the library (``model.supply.declined``):
#: HBM's cost per GB falls with DRAM's bits per wafer. A value the scenario overrides is taken as given.
DECLINING = {("hbm", "capex"): ("hbm", "cost_decline"), ("hbm", "price"): ("hbm", "cost_decline")}
#: The item name of a region parameter's design dimension (one quantile for every region).
ALL_REGIONS = "all"


def _at(index: int) -> slice:
    return slice(index, index + 1)


@dataclass
class ParameterSet:
    """Parameters resolved for one scenario on its axes (years, regions, items per table).

    With a ``design``, the drawn parameters take their quantiles from ``uniforms`` (one row per sample,
    one column per design dimension), drawn from the design on first use when not given.
    """

    library: Library
    years: np.ndarray
    regions: list[str]
    items: dict[str, list[str]]
    overrides: list[Override] = field(default_factory=list)
    samples: int = 1
    design: Design | None = None
    uniforms: np.ndarray | None = None
    #: First sample of this set within the run (for drawing its rows of the design).
    start: int = 0
    _cache: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    def _items(self, table: str) -> list[str]:
        if table in SINGLE:
            return [SINGLE[table]]
        if table == "regions":
            return self.regions
        return self.items[table]

    def get(self, table: str, parameter: str) -> np.ndarray:
        """The parameter as an array of shape (sample|1, year, region|1, item|1), in model units."""
        key = (table, parameter)
        if key not in self._cache:
            value = self._resolve(table, parameter)
            rate = DECLINING.get(key)
            if rate is not None and not any(
                o.table == table and o.parameter == parameter for o in self.overrides
            ):
                value = supply.declined(
                    value, self.get(*rate)[:, :1], self.years, self.library.base_year(table, parameter)
                )
            self._cache[key] = value
        return self._cache[key]

    def base(self, table: str, parameter: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Value, low and high after the scenario's overrides, each ``(year, region|1, item)``."""
        items = self._items(table)
        value, low, high = self.library.series(table, parameter, items, self.years)  # (I, Y)
        # to (Y, R|1, I)
        if table == "regions":
            value, low, high = (a.T[:, :, None] for a in (value, low, high))
        else:
            value, low, high = (a.T[:, None, :] for a in (value, low, high))
        mine = [o for o in self.overrides if o.table == table and o.parameter == parameter]
        if any(o.region is not None for o in mine) and value.shape[1] == 1:
            shape = (len(self.years), len(self.regions), value.shape[2])
            value, low, high = (np.broadcast_to(a, shape).copy() for a in (value, low, high))
        # Global overrides first, then per-item, then per-region, so the most specific one wins.
        for o in sorted(mine, key=lambda o: (o.item is not None, o.region is not None)):
            if o.region is not None and o.region not in self.regions:
                continue
            if o.item is not None and o.item not in items:
                continue
            if isinstance(o.points, dict):
                years = sorted(o.points)
                line = np.interp(self.years, years, [o.points[y] for y in years])
            else:
                line = np.full(len(self.years), o.points)
            r = slice(None) if o.region is None else _at(self.regions.index(o.region))
            i = slice(None) if o.item is None else _at(items.index(o.item))
            for arr in (value, low, high):
                arr[:, r, i] = line[:, None, None]
        return value, low, high

    def dimensions(self, explicit: dict[tuple[str, str, str | None], Distribution]) -> list[Dimension]:
        """The design's columns: every (table, parameter, item) with a range or an explicit
        distribution, in the library's order."""
        out = []
        for table, parameter in self.library.specs:
            if table == "macro":
                continue
            value, low, high = self.base(table, parameter)
            for i, item in enumerate(self.drawn_items(table)):
                given = explicit.get((table, parameter, item), explicit.get((table, parameter, None)))
                if given is not None:
                    out.append(Dimension(table, parameter, item, "explicit", given))
                elif np.any(high[..., i] > low[..., i]):
                    kind = default_kind(
                        self.library.specs[(table, parameter)], value[..., i], low[..., i], high[..., i]
                    )
                    out.append(Dimension(table, parameter, item, kind))
        return out

    def drawn_items(self, table: str) -> list[str]:
        """Items with a quantile of their own: a region's parameter shares one across regions (a
        sample where power is scarce is scarce everywhere), as the item axis of ``regions`` is 1."""
        return [ALL_REGIONS] if table == "regions" else self._items(table)

    def _quantiles(self) -> np.ndarray | None:
        if self.design is None or self.samples < 1:
            return None
        if self.uniforms is None:
            self.uniforms = self.design.uniforms(self.start, self.start + self.samples)
        return self.uniforms

    def _resolve(self, table: str, parameter: str) -> np.ndarray:
        value, low, high = self.base(table, parameter)
        columns = self.design.columns if self.design is not None else {}
        drawn = [
            (i, columns[(table, parameter, item)])
            for i, item in enumerate(self.drawn_items(table))
            if (table, parameter, item) in columns
        ]
        u = self._quantiles() if drawn else None
        if u is None or self.design is None:
            return value[None]
        # Most parameters are constant over the years: draw on one year and broadcast a view.
        constant = all(
            np.array_equal(a, a[:1].repeat(len(a), axis=0), equal_nan=True) for a in (value, low, high)
        )
        v, lo, hi = (a[:1] if constant else a for a in (value, low, high))
        n = u.shape[0]
        out = np.broadcast_to(v[None], (n, *v.shape)).copy()
        for i, column in drawn:
            dim = self.design.dimensions[column]
            if dim.distribution is not None:
                out[..., i] = dim.distribution.ppf(u[:, column])[:, None, None]
            else:
                drawn_i = default_ppf(dim.kind, u[:, column], v[..., i], lo[..., i], hi[..., i])
                out[..., i] = drawn_i.reshape(n, *v.shape[:2])
        return np.broadcast_to(out, (n, *value.shape)) if constant else out

    def block(self, start: int, stop: int) -> ParameterSet:
        """The same parameters for samples ``start:stop`` of this set (arrays already drawn are sliced,
        not redrawn; others are drawn from the design's rows for those samples)."""
        sliced = {key: arr[start:stop] if arr.shape[0] > 1 else arr for key, arr in self._cache.items()}
        return ParameterSet(
            self.library,
            self.years,
            self.regions,
            self.items,
            self.overrides,
            samples=stop - start,
            design=self.design,
            uniforms=None if self.uniforms is None else self.uniforms[start:stop],
            start=self.start + start,
            _cache=sliced,
        )

    def from_year(self, index: int) -> ParameterSet:
        """The same parameters from the ``index``-th year on (the horizon of a run that stepped
        through history): every array that varies by year is sliced, none is redrawn."""
        if index == 0:
            return self
        for table, parameter in self.library.specs:
            if table != "macro":
                self.get(table, parameter)
        sliced = {key: arr[:, index:] if arr.shape[1] > 1 else arr for key, arr in self._cache.items()}
        return ParameterSet(
            self.library,
            self.years[index:],
            self.regions,
            self.items,
            self.overrides,
            samples=self.samples,
            design=self.design,
            uniforms=self.uniforms,
            start=self.start,
            _cache=sliced,
        )

    def missing(self, table: str, parameter: str) -> list[str]:
        """Items of ``table`` that have no value for ``parameter``."""
        arr = self.base(table, parameter)[0]
        items = self._items(table)
        return [item for k, item in enumerate(items) if np.isnan(arr[..., k]).all()]


def used_items(names: Iterable[str], order: list[str]) -> list[str]:
    """The names in ``names``, in the library's order, without repeats."""
    wanted = set(names)
    return [n for n in order if n in wanted]


def design_for(
    scenario: Scenario,
    params: ParameterSet,
    seed: int,
    sampling: str | None,
    samples: int,
    central: bool = False,
) -> Design:
    """The sampling design of a run: the drawn dimensions (library ranges and the scenario's explicit
    distributions), the method (``sampling``, else the scenario's, else Latin hypercube) and the
    scenario's rank correlations; with ``central``, every dimension at its median (the deterministic
    run)."""
    explicit = explicit_distributions(scenario, params.library)
    if central:
        # At its median every default distribution gives the library value itself (each is built with
        # the value as its median), so a central design draws only the explicit distributions.
        dimensions = [
            Dimension(table, parameter, item, "explicit", given)
            for table, parameter in params.library.specs
            if table != "macro"
            for item in params.drawn_items(table)
            if (given := explicit.get((table, parameter, item), explicit.get((table, parameter, None))))
            is not None
        ]
    else:
        dimensions = params.dimensions(explicit)
    method = sampling or scenario.uncertainty.sampling
    pairs = {} if central else correlation_pairs(scenario, dimensions)
    return Design(dimensions, method, seed, samples, pairs, central=central)


def correlation_pairs(scenario: Scenario, dimensions: list[Dimension]) -> dict[tuple[int, int], float]:
    """The scenario's rank correlations as pairs of design columns."""
    pairs: dict[tuple[int, int], float] = {}
    for k, (first, second, rho) in enumerate(scenario.uncertainty.correlations):
        path = f"uncertainty.correlations[{k}]"
        matched = []
        for name in (first, second):
            try:
                table, item, parameter = split_name(name, OVERRIDABLE)
            except ValueError as exc:
                raise ScenarioError(str(exc), file=scenario.source_file, path=path) from None
            cols = [
                i
                for i, d in enumerate(dimensions)
                if (d.table, d.parameter) == (table, parameter) and item in (None, d.item)
            ]
            if not cols:
                raise ScenarioError(
                    f"{name} is not drawn in this run (it has no range in the library, a value set under "
                    "parameters, or no item in the scenario); give it a distribution under "
                    "uncertainty.distributions",
                    file=scenario.source_file,
                    path=path,
                )
            matched.append(cols)
        if not -1 < rho < 1:
            raise ScenarioError(
                f"a rank correlation must be between -1 and 1 (exclusive), got {rho}",
                file=scenario.source_file,
                path=path,
            )
        for i in matched[0]:
            for j in matched[1]:
                if i != j:
                    pairs[(min(i, j), max(i, j))] = float(rho)
    return pairs
