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
the default distribution of its kind (``flopgrid.uncertainty.DEFAULT_KINDS``: PERT for costs, shares and
most technical figures, a two-piece lognormal for growth rates and for ranges wider than 3×), or from
the distribution the scenario's ``uncertainty:`` section gives it. There is one quantile per sample and
item, shared across years and regions (a parameter that is high in 2030 is high in 2035 too); the
quantiles come from the run's sampling design (Latin hypercube, Sobol or random, with rank correlations
through a Gaussian copula). Values a scenario overrides are not sampled unless given a distribution.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from flopgrid.errors import ScenarioError, UnitError, format_path, suggest
from flopgrid.library import Library
from flopgrid.uncertainty import (
    Design,
    Dimension,
    Distribution,
    correlation_pairs,
    default_kind,
    default_ppf,
    explicit_distributions,
)
from flopgrid.units import parse_quantity

if TYPE_CHECKING:
    from flopgrid.scenario import Scenario

#: Tables with one item: overrides name the parameter directly, and the item axis has length 1.
SINGLE = {"fabs": "leading_edge", "packaging": "cowos", "hbm": "hbm", "datacentres": "ai_campus"}
#: The item name of a region parameter's design dimension (one quantile for every region).
ALL_REGIONS = "all"


@dataclass(frozen=True)
class Override:
    """One scenario override, converted to the model unit."""

    table: str
    parameter: str
    item: str | None  # None: every item of the table
    region: str | None  # None: every region
    points: dict[int, float] | float  # a constant, or values by year


def resolve_overrides(
    scenario: Scenario, library: Library, lines: dict[tuple[Any, ...], int] | None = None
) -> list[Override]:
    """Check and convert a scenario's ``parameters`` section.

    Raises
    ------
    ScenarioError
        For an unknown table, item, parameter or region (with a suggestion), a value without the
        expected unit, or a value outside the parameter's bounds.
    """
    from flopgrid.scenario import OVERRIDABLE

    lines = lines or {}
    regions = library.ids("regions")
    out: list[Override] = []

    def fail(loc: tuple[Any, ...], message: str) -> None:
        line = next((lines[loc[:cut]] for cut in range(len(loc), 0, -1) if loc[:cut] in lines), None)
        raise ScenarioError(message, file=scenario.source_file, path=format_path(loc), line=line)

    def convert(loc: tuple[Any, ...], table: str, parameter: str, raw: Any) -> float:
        spec = library.specs[(table, parameter)]
        try:
            value = parse_quantity(raw, spec.unit)
        except UnitError as exc:
            fail(loc, str(exc))
        problem = spec.check(value)
        if problem:
            fail(loc, f"{parameter} {problem}")
        return value

    def series(loc: tuple[Any, ...], table: str, parameter: str, raw: Any) -> dict[int, float] | float:
        if isinstance(raw, dict):
            if not raw:
                fail(loc, "an empty mapping; give a value or {year: value}")
            points = {}
            for year, value in raw.items():
                if not isinstance(year, int) or isinstance(year, bool):
                    fail((*loc, year), f"expected a year such as 2030 as the key, got {year!r}")
                points[year] = convert((*loc, year), table, parameter, value)
            return points
        return convert(loc, table, parameter, raw)

    def add(loc: tuple[Any, ...], table: str, item: str | None, parameter: str, raw: Any) -> None:
        if (table, parameter) not in library.specs:
            choices = library.parameters(table)
            fail(
                loc,
                f"unknown parameter {parameter!r} of {table}.{suggest(parameter, choices)} "
                f"Known: {', '.join(choices)}",
            )
        if table != "regions" and isinstance(raw, dict) and any(isinstance(k, str) for k in raw):
            if not library.specs[(table, parameter)].regional:
                fail(
                    loc,
                    f"{table}.{parameter} is the same in every region in the model (it describes "
                    "the product, or the whole chain); give one value or a {year: value} series",
                )
            for region, value in raw.items():
                if region not in regions:
                    fail(
                        (*loc, region),
                        f"unknown region {region!r}.{suggest(str(region), regions)} "
                        f"Known: {', '.join(regions)}",
                    )
                out.append(
                    Override(table, parameter, item, region, series((*loc, region), table, parameter, value))
                )
        else:
            region = item if table == "regions" else None
            out.append(
                Override(
                    table,
                    parameter,
                    None if table == "regions" else item,
                    region,
                    series(loc, table, parameter, raw),
                )
            )

    for table, entries in scenario.parameters.items():
        loc0: tuple[Any, ...] = ("parameters", table)
        if table not in OVERRIDABLE:
            fail(
                loc0,
                f"unknown table {table!r}.{suggest(table, list(OVERRIDABLE))} "
                f"Known: {', '.join(OVERRIDABLE)}",
            )
        if not isinstance(entries, dict):
            fail(loc0, "expected a mapping of items or parameters to values")
        items = library.ids(table)
        params = library.parameters(table)
        for key, raw in entries.items():
            if key in params and key not in items:
                add((*loc0, key), table, None, key, raw)
            elif key in items:
                if not isinstance(raw, dict):
                    fail((*loc0, key), f"expected parameters of {key}, e.g. {{{params[0]}: ...}}")
                for parameter, value in raw.items():
                    add((*loc0, key, parameter), table, key, str(parameter), value)
            else:
                fail(
                    (*loc0, key),
                    f"{key!r} is neither an item nor a parameter of {table}."
                    f"{suggest(str(key), items + params)} Items: {', '.join(items)}; "
                    f"parameters: {', '.join(params)}",
                )
    return out


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
            self._cache[key] = self._resolve(table, parameter)
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
            for i, item in enumerate(self._drawn_items(table)):
                given = explicit.get((table, parameter, item), explicit.get((table, parameter, None)))
                if given is not None:
                    out.append(Dimension(table, parameter, item, "explicit", given))
                elif np.any(high[..., i] > low[..., i]):
                    kind = default_kind(
                        self.library.specs[(table, parameter)], value[..., i], low[..., i], high[..., i]
                    )
                    out.append(Dimension(table, parameter, item, kind))
        return out

    def _drawn_items(self, table: str) -> list[str]:
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
            for i, item in enumerate(self._drawn_items(table))
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
    scenario: Scenario, params: ParameterSet, seed: int, sampling: str | None, samples: int
) -> Design:
    """The sampling design of a run: the drawn dimensions (library ranges and the scenario's explicit
    distributions), the method (``sampling``, else the scenario's, else Latin hypercube) and the
    scenario's rank correlations."""
    explicit = explicit_distributions(scenario, params.library)
    dimensions = params.dimensions(explicit)
    method = sampling or scenario.uncertainty.sampling
    return Design(dimensions, method, seed, samples, correlation_pairs(scenario, dimensions))
