"""A scenario's inputs resolved against the data library: parameter overrides (``parameters:``) and
explicit distributions (``uncertainty.distributions``), each checked with the field path and line of
any problem. Both are resolved once when a scenario is loaded, so errors surface there, and again by
the engines that use them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from flopgrid.distributions import Distribution, distribution_from_spec
from flopgrid.errors import ScenarioError, UnitError, format_path, shorten, suggest
from flopgrid.library import Library
from flopgrid.scenario.schema import OVERRIDABLE, Scenario
from flopgrid.units import parse_quantity


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
                    fail((*loc, year), f"expected a year such as 2030 as the key, got {shorten(year)}")
                points[year] = convert((*loc, year), table, parameter, value)
            return points
        return convert(loc, table, parameter, raw)

    def add(loc: tuple[Any, ...], table: str, item: str | None, parameter: str, raw: Any) -> None:
        if (table, parameter) not in library.specs:
            choices = library.parameters(table)
            fail(
                loc,
                f"unknown parameter {shorten(parameter)} of {table}.{suggest(parameter, choices)} "
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
                        f"unknown region {shorten(region)}.{suggest(str(region), regions)} "
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
                f"unknown table {shorten(table)}.{suggest(table, list(OVERRIDABLE))} "
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
                    f"{shorten(key)} is neither an item nor a parameter of {table}."
                    f"{suggest(str(key), items + params)} Items: {', '.join(items)}; "
                    f"parameters: {', '.join(params)}",
                )
    return out


def split_name(name: str, tables: tuple[str, ...]) -> tuple[str, str | None, str]:
    """Split ``table.parameter`` or ``table.item.parameter`` into (table, item | None, parameter).

    Raises
    ------
    ValueError
        For another form or a table not in ``tables``.

    Examples
    --------
    >>> split_name("accelerators.GB300.price", OVERRIDABLE)
    ('accelerators', 'GB300', 'price')
    """
    parts = str(name).split(".")
    if len(parts) == 2 and parts[0] in tables:
        return parts[0], None, parts[1]
    if len(parts) == 3 and parts[0] in tables:
        return parts[0], parts[1], parts[2]
    raise ValueError(
        f"expected 'table.parameter' or 'table.item.parameter' (tables: {', '.join(tables)}), "
        f"got {shorten(name)}"
    )


def library_name(name: str, library: Library) -> tuple[str, str | None, str]:
    """``TABLE[.ITEM].PARAMETER`` checked against the library: (table, item or None, parameter).

    Raises
    ------
    ValueError
        For a malformed name, an unknown table or parameter (with the closest one), or an unknown item.
    """
    table, item, parameter = split_name(name, OVERRIDABLE)
    if (table, parameter) not in library.specs:
        choices = library.parameters(table)
        raise ValueError(f"unknown parameter {shorten(parameter)} of {table}.{suggest(parameter, choices)}")
    items = library.ids(table)
    if item is not None and item not in items:
        raise ValueError(f"unknown item {shorten(item)} of {table}.{suggest(item, items)}")
    return table, item, parameter


def explicit_distributions(
    scenario: Scenario, library: Library, lines: Mapping[tuple[Any, ...], int] | None = None
) -> dict[tuple[str, str, str | None], Distribution]:
    """Check and convert a scenario's ``uncertainty.distributions`` → {(table, parameter, item|None)}."""
    out: dict[tuple[str, str, str | None], Distribution] = {}
    for name, raw in scenario.uncertainty.distributions.items():
        loc = ("uncertainty", "distributions", name)
        try:
            table, item, parameter = library_name(name, library)
            if table == "regions" and item is not None:
                raise ValueError(
                    "a region parameter is drawn with one quantile for every region; give its "
                    f"distribution as regions.{parameter} (and per-region values under parameters)"
                )
            out[(table, parameter, item)] = distribution_from_spec(
                raw, library.specs[(table, parameter)].unit
            )
        except (ValueError, UnitError) as exc:
            line = (lines or {}).get(loc)
            raise ScenarioError(
                str(exc), file=scenario.source_file, path=f"uncertainty.distributions.{name}", line=line
            ) from None
    return out


def check_correlations(
    scenario: Scenario, library: Library, lines: Mapping[tuple[Any, ...], int] | None = None
) -> None:
    """Check the names and coefficients of ``uncertainty.correlations`` against the library when a
    scenario is loaded (so ``flopgrid check`` refuses what a Monte Carlo run would); whether each name
    is drawn in a run is checked when the run's sampling design is made.

    Raises
    ------
    ScenarioError
        For a malformed name, an unknown table, parameter or item, or a coefficient outside (-1, 1).
    """
    for k, (first, second, rho) in enumerate(scenario.uncertainty.correlations):
        loc = ("uncertainty", "correlations", k)
        try:
            for name in (first, second):
                library_name(name, library)
            if not -1 < rho < 1:
                raise ValueError(f"a rank correlation must be between -1 and 1 (exclusive), got {rho}")
        except ValueError as exc:
            raise ScenarioError(
                str(exc),
                file=scenario.source_file,
                path=format_path(loc),
                line=next((v for cut in (3, 2) if (v := (lines or {}).get(loc[:cut])) is not None), None),
            ) from None


def parameter_at(
    library: Library,
    overrides: list[Override],
    table: str,
    item: str,
    parameter: str,
    region: str,
    year: int,
) -> float:
    """One parameter's value (the median: the library value, or the scenario's override) for an item,
    region and year, in the model unit: what a conversion made once at load uses (a campus's PUE)."""
    at, value, _, _ = library.index[(table, parameter, item)]
    out = float(np.interp(year, at, value))
    mine = [o for o in overrides if o.table == table and o.parameter == parameter]
    for o in sorted(mine, key=lambda o: (o.item is not None, o.region is not None)):
        if o.item not in (None, item) or o.region not in (None, region):
            continue
        if isinstance(o.points, dict):
            years = sorted(o.points)
            out = float(np.interp(year, years, [o.points[y] for y in years]))
        else:
            out = float(o.points)
    return out


def with_it_power(scenario: Scenario, library: Library, overrides: list[Override]) -> Scenario:
    """The scenario with every campus given by ``facility_power`` sized in IT: facility power over the
    PUE of its region in its start year (docs/model.md §3). The one place where the two meet at load."""
    campuses = scenario.builds.datacentres
    if all(c.facility_power is None for c in campuses):
        return scenario
    converted = [
        c.sized(parameter_at(library, overrides, "datacentres", "ai_campus", "pue", c.region, c.start))
        for c in campuses
    ]
    builds = scenario.builds.model_copy(update={"datacentres": converted})
    return scenario.model_copy(update={"builds": builds})
