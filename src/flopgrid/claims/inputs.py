"""The inputs of a claims ledger drawn over samples: stated figures, library rows, reference figures
and model results.

Library rows follow the simulator's sampling path (:class:`flopgrid.claims.draws.LibraryDraws`). In a
claim that uses a model input, the claim's library inputs are the parameters of that very run,
sample by sample (the first model input the claim names, its own inputs before the ledger's); in a
claim without one, they follow a run of the ledger's ``scenario`` (default: the plain library).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, cast

import numpy as np
import xarray as xr

from flopgrid.claims.draws import LibraryDraws, draw_range
from flopgrid.claims.expressions import evaluate_expression
from flopgrid.claims.schema import (
    Claim,
    ClaimsError,
    Input,
    Ledger,
    ModelInput,
    Q,
    line_of,
    names_in,
    quantity,
    unit_name,
)
from flopgrid.errors import FlopgridError, ScenarioError, UnitError, format_path, suggest
from flopgrid.library import load_library
from flopgrid.scenario import Scenario, load_scenario
from flopgrid.schema import variables
from flopgrid.simulate import simulate
from flopgrid.units import ureg

#: The context of library inputs in claims without a model input and a ledger without a scenario.
PLAIN_LIBRARY: dict[str, Any] = {"name": "the data library"}


class Inputs:
    """Draws and caches every name a ledger uses, as pint quantities over samples.

    Parameters
    ----------
    ledger
        The loaded ledger.
    samples, seed
        Monte Carlo samples and seed of every model run and draw.
    """

    def __init__(self, ledger: Ledger, samples: int, seed: int) -> None:
        self.ledger = ledger
        self.samples = samples
        self.seed = seed
        self.library = load_library()
        # Figures that are not model parameters (stated ranges, reference figures, macro rows) are
        # drawn at independent quantiles from this stream, in the order they are first used.
        self.rng = np.random.default_rng(seed)
        self.cache: dict[tuple[str, str], Q] = {}
        self.runs: dict[str, xr.Dataset] = {}
        self.draws: dict[str, LibraryDraws] = {}
        every = [
            *ledger.inputs.values(),
            *(item for claim in ledger.claims for item in claim.inputs.values()),
        ]
        self.library_years = sorted({self.year_of(item) for item in every if item.library is not None})
        self.default = self.scenario(("scenario",), ledger.scenario or PLAIN_LIBRARY)

    def fail(self, loc: tuple[Any, ...], message: str) -> NoReturn:
        """Raise a :class:`ClaimsError` at ``loc`` of the ledger."""
        raise ClaimsError(
            message, file=self.ledger.file, path=format_path(loc), line=line_of(self.ledger.lines, loc)
        )

    def year_of(self, item: Input) -> int:
        """The year a library input is read at: its own, else the latest the library gives."""
        assert item.library is not None
        table, name, parameter = item.library.split(".")
        years, *_ = self.library.index[(table, parameter, name)]
        return int(years[-1]) if item.year is None else item.year

    def scenario(self, loc: tuple[Any, ...], source: str | dict[str, Any]) -> Scenario:
        """A scenario named in the ledger (a path beside it is preferred to a shipped name)."""
        if isinstance(source, str) and self.ledger.file and not self.ledger.file.endswith("(built in)"):
            beside = Path(self.ledger.file).parent / source
            if beside.exists():
                source = str(beside)
        try:
            return load_scenario(source)
        except ScenarioError as exc:
            where = f" (in {exc.file}{':' + str(exc.line) if exc.line else ''})" if exc.file else ""
            self.fail(
                (*loc, *(exc.path.split(".") if exc.path and not exc.file else ())), exc.message + where
            )

    def library_draws(self, scenario: Scenario) -> LibraryDraws:
        """The library as ``scenario``'s run draws it (one per scenario)."""
        key = scenario.content_hash()
        if key not in self.draws:
            self.draws[key] = LibraryDraws(scenario, self.samples, self.seed, self.library_years)
        return self.draws[key]

    def context(self, i: int, claim: Claim) -> Scenario:
        """The run whose parameters a claim's library inputs are: its first model input's, else the
        ledger's scenario."""
        used = set().union(
            *(names_in(c.expected) for c in claim.checks), *(names_in(v.expr) for v in claim.implied.values())
        )
        candidates: list[tuple[tuple[Any, ...], Input]] = [
            (("claims", i, "inputs", n), item) for n, item in claim.inputs.items()
        ]
        candidates += [(("inputs", n), item) for n, item in self.ledger.inputs.items() if n in used]
        for loc, item in candidates:
            if item.model is not None:
                return self.scenario((*loc, "model", "scenario"), item.model.scenario)
        return self.default

    def stated(self, claim: Claim, name: str) -> Q:
        """A stated figure over samples (its range drawn like a library range of its kind)."""
        low, value, high, unit = claim.stated[name].interval()
        return cast(Q, ureg.Quantity(draw_range(self.rng.random(self.samples), value, low, high, unit), unit))

    def input(self, loc: tuple[Any, ...], key: str, item: Input, context: Scenario) -> Q:
        """One input over samples; library rows as ``context``'s run draws them."""
        macro = item.library is not None and item.library.startswith("macro.")
        cache_key = (context.content_hash() if item.library is not None and not macro else "", key)
        if cache_key in self.cache:
            return self.cache[cache_key]
        quantity_: Q
        if item.library is not None:
            quantity_ = self.library_input(loc, item, context)
        elif item.reference is not None:
            ref = item.reference
            try:
                value_q, low_q, high_q = (quantity(v) for v in (ref.value, ref.low, ref.high))
            except UnitError as exc:
                self.fail((*loc, "reference"), str(exc))
            if not (low_q.units == value_q.units == high_q.units):
                self.fail((*loc, "reference"), "value, low and high must have the same unit")
            if not low_q.magnitude <= value_q.magnitude <= high_q.magnitude:
                self.fail((*loc, "reference"), "needs low <= value <= high")
            u = self.rng.random(self.samples)
            unit = unit_name(value_q.units)
            drawn = draw_range(u, value_q.magnitude, low_q.magnitude, high_q.magnitude, unit)
            quantity_ = cast(Q, ureg.Quantity(drawn, value_q.units))
        else:
            assert item.model is not None
            quantity_ = self.model(loc, item.model)
        self.cache[cache_key] = quantity_
        return quantity_

    def library_input(self, loc: tuple[Any, ...], item: Input, context: Scenario) -> Q:
        """A library row over samples: macro figures by their kind's default rule, model parameters
        from ``context``'s run."""
        assert item.library is not None
        table, name, parameter = item.library.split(".")
        year = self.year_of(item)
        spec = self.library.specs[(table, parameter)]
        unit = spec.unit
        if unit == "calendar year":
            self.fail((*loc, "library"), f"{item.library} is a calendar year, not a quantity to compare")
        if table == "macro":
            value, low, high = self.library.series(table, parameter, [name], np.array([float(year)]))
            u = self.rng.random(self.samples)
            drawn = draw_range(u, float(value[0, 0]), float(low[0, 0]), float(high[0, 0]), unit, spec.bounds)
        else:
            try:
                drawn = self.library_draws(context).draw(table, name, parameter, year)
            except FlopgridError as exc:
                self.fail((*loc, "library"), f"{exc} (in the scenario {context.name!r})")
        if table == "accelerators":
            # The accelerators table describes one package: its figures are per chip.
            unit = f"({unit})/chip"
        return cast(Q, ureg.Quantity(drawn, unit))

    def model(self, loc: tuple[Any, ...], spec: ModelInput) -> Q:
        """A model result summed over every dimension but samples (the run is made once per scenario)."""
        scenario = self.scenario((*loc, "model", "scenario"), spec.scenario)
        key = scenario.content_hash()
        if key not in self.runs:
            self.runs[key] = simulate(scenario, samples=self.samples, seed=self.seed)
        results = self.runs[key]
        simulated = [v.name for v in variables() if v.stage != "plan"]
        if spec.variable not in simulated:
            self.fail(
                (*loc, "model", "variable"),
                f"unknown model variable {spec.variable!r}.{suggest(spec.variable, simulated)}",
            )
        var = results[spec.variable]
        units = str(var.attrs["units"])
        if units == "calendar year":
            self.fail(
                (*loc, "model", "variable"), f"{spec.variable} is a calendar year, not a quantity to compare"
            )
        first, last = int(results.year.values[0]), int(results.year.values[-1])
        for year in [y for y in (spec.year, *(spec.years or ())) if y is not None]:
            if not first <= year <= last:
                self.fail((*loc, "model"), f"year {year} is outside the scenario's horizon {first}–{last}")
        if "year" in var.dims:
            if spec.year is not None:
                var = var.sel(year=spec.year)
            elif spec.years is not None:
                var = var.sel(year=slice(spec.years[0], spec.years[1]))
        for dim, chosen in spec.select.items():
            if dim not in var.dims:
                self.fail(
                    (*loc, "model", "select", dim),
                    f"{spec.variable} has no dimension {dim!r}; it has {', '.join(map(str, var.dims))}",
                )
            labels = [str(v) for v in var[dim].values]
            for label in [chosen] if isinstance(chosen, str) else chosen:
                if label not in labels:
                    self.fail(
                        (*loc, "model", "select", dim), f"unknown {dim} {label!r}.{suggest(label, labels)}"
                    )
            var = var.sel({dim: chosen})
        summed = var.sum([d for d in var.dims if d != "sample"])
        return cast(
            Q,
            ureg.Quantity(np.asarray(summed.values, dtype=float), "dimensionless" if units == "1" else units),
        )

    def names(self, i: int, claim: Claim) -> Callable[[str], Q]:
        """The lookup of claim ``i``'s names: stated figures, its own inputs, then the ledger's."""
        context = self.context(i, claim)

        def lookup(name: str) -> Q:
            if name in claim.stated:
                key = ("", f"claims.{claim.id}.stated.{name}")
                if key not in self.cache:
                    self.cache[key] = self.stated(claim, name)
                return self.cache[key]
            if name in claim.inputs:
                return self.input(
                    ("claims", i, "inputs", name), f"claims.{claim.id}.{name}", claim.inputs[name], context
                )
            return self.input(("inputs", name), f"inputs.{name}", self.ledger.inputs[name], context)

        return lookup

    def expression(self, loc: tuple[Any, ...], expr: str, lookup: Callable[[str], Q]) -> Q:
        """``expr`` over samples; errors point at ``loc``."""

        def fail(message: str) -> NoReturn:
            self.fail(loc, message)

        return evaluate_expression(expr, lookup, self.samples, fail)
