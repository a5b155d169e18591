"""The built-in, sourced data library.

One CSV table per component type (``accelerators``, ``fabs``, ``packaging``, ``hbm``, ``datacentres``,
``power_sources``, ``regions``, ``market``, ``macro``), in long form: each row is one parameter of one
item, with ``value``, ``unit``, ``year``, ``low``, ``high``, ``source`` and ``note``. ``parameters.csv``
declares, for every parameter, its model unit, its bounds and a description; it drives validation, unit
conversion, the scenario's override checks and ``flopgrid data``.

A parameter may have several rows for one item with different years: a time series, interpolated
linearly between the given years and held constant before the first and after the last.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from flopgrid.errors import LibraryError, UnitError
from flopgrid.units import CALENDAR_YEAR, check_unit

TABLES = (
    "accelerators",
    "fabs",
    "packaging",
    "hbm",
    "datacentres",
    "power_sources",
    "regions",
    "market",
    "macro",
)
COLUMNS = ["id", "parameter", "value", "unit", "year", "low", "high", "source", "note"]
SCHEMA_COLUMNS = ["table", "parameter", "unit", "bounds", "regional", "description"]
#: The series the existing industry's history is read from: the world's AI fleet at the end of each
#: data year, ``(table, parameter, item)``.
HISTORY = ("datacentres", "ai_fleet", "ai_campus")

#: What each ``bounds`` keyword of parameters.csv admits: (lowest, highest), inclusive.
BOUNDS: dict[str, tuple[float, float]] = {
    "positive": (np.nextafter(0.0, 1.0), np.inf),
    "nonnegative": (0.0, np.inf),
    "fraction": (0.0, 1.0),
    "growth": (-0.99, 10.0),
    "pue": (1.0, 5.0),
    "year": (1950.0, 2200.0),
}


@dataclass(frozen=True)
class ParameterSpec:
    """The declaration of one parameter: its model unit, admissible bounds and meaning."""

    table: str
    name: str
    unit: str
    bounds: str
    regional: bool  # whether the model lets the parameter differ between regions
    description: str

    def check(self, value: float) -> str | None:
        """Return a description of what is wrong with ``value``, or None when it is admissible."""
        low, high = BOUNDS[self.bounds]
        if not np.isfinite(value) or value < low or value > high:
            shown = f"between {low:g} and {high:g}" if np.isfinite(high) else f"at least {low:g}"
            if self.bounds == "positive":
                shown = "greater than 0"
            return f"must be {shown} ({self.description.lower()}), got {value:g}"
        return None


@dataclass(frozen=True)
class Library:
    """The loaded data library.

    Attributes
    ----------
    rows
        Every row of every table, with ``value``, ``low`` and ``high`` converted to the model unit
        (columns ``value_model``, ``low_model``, ``high_model``) beside the values as written.
    specs
        Parameter declarations keyed by ``(table, parameter)``.
    """

    rows: pd.DataFrame
    specs: dict[tuple[str, str], ParameterSpec]
    #: (table, parameter, item) → (years, value, low, high) in model units, sorted by year: the lookups
    #: the simulator makes, kept out of pandas because they happen on every run.
    index: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    #: (table, parameter) → :meth:`base_year`, filled on first use: the simulator asks on every block,
    #: and filtering the rows takes milliseconds.
    base_years: dict[tuple[str, str], float] = field(default_factory=dict, compare=False, repr=False)

    def ids(self, table: str) -> list[str]:
        """The items of ``table`` in file order."""
        return list(dict.fromkeys(item for (tab, _, item) in self.index if tab == table))

    def parameters(self, table: str) -> list[str]:
        """The parameters declared for ``table``."""
        return [name for (tab, name) in self.specs if tab == table]

    def table(self, table: str) -> pd.DataFrame:
        """The rows of one table as written in the library (for listings)."""
        if table not in TABLES:
            raise KeyError(table)
        return self.rows.loc[self.rows.table == table, COLUMNS].reset_index(drop=True)

    def has(self, table: str, item: str, parameter: str) -> bool:
        """Whether the library has at least one row for this item and parameter."""
        rows = self.rows
        return bool(((rows.table == table) & (rows.id == item) & (rows.parameter == parameter)).any())

    def series(
        self,
        table: str,
        parameter: str,
        items: list[str],
        years: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Value, low and high of a parameter for ``items`` × ``years``, in the model unit.

        Returns three arrays of shape ``(len(items), len(years))``; NaN where an item lacks the
        parameter.
        """
        out = np.full((3, len(items), len(years)), np.nan)
        for i, item in enumerate(items):
            entry = self.index.get((table, parameter, item))
            if entry is None:
                continue
            at, *columns = entry
            for k, column in enumerate(columns):
                out[k, i] = np.interp(years, at, column)
        return out[0], out[1], out[2]

    def history_years(self) -> tuple[int, int]:
        """The first year a run with the existing industry steps through (the year after the first
        year of the world fleet series, ``HISTORY``, whose end is the starting stock) and the series'
        last data year."""
        at = self.index[HISTORY][0]
        return int(at[0]) + 1, int(at[-1])

    def base_year(self, table: str, parameter: str) -> float:
        """The latest year given for a parameter (the year existing capacities refer to)."""
        key = (table, parameter)
        if key not in self.base_years:
            sel = self.rows[(self.rows.table == table) & (self.rows.parameter == parameter)]
            self.base_years[key] = float(sel.year.max())
        return self.base_years[key]


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("flopgrid.library").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _number(raw: str, where: str, column: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise LibraryError(f"{where}: column '{column}' must be a number, got {raw!r}") from None


@cache
def load_library() -> Library:
    """Load and validate the built-in library (cached: the tables are read once per process).

    Raises
    ------
    LibraryError
        Naming the file, the line and the column of the first malformed row.

    Examples
    --------
    >>> lib = load_library()
    >>> "H100" in lib.ids("accelerators")
    True
    """
    specs: dict[tuple[str, str], ParameterSpec] = {}
    for line, row in enumerate(_read_csv("parameters.csv"), start=2):
        if row["bounds"] not in BOUNDS:
            raise LibraryError(f"parameters.csv:{line}: unknown bounds {row['bounds']!r}")
        if row["regional"] not in ("yes", "no"):
            raise LibraryError(f"parameters.csv:{line}: regional must be yes or no")
        specs[(row["table"], row["parameter"])] = ParameterSpec(
            row["table"],
            row["parameter"],
            row["unit"],
            row["bounds"],
            row["regional"] == "yes",
            row["description"],
        )

    records: list[dict[str, object]] = []
    for table in TABLES:
        rows = _read_csv(f"{table}.csv")
        if rows and list(rows[0].keys()) != COLUMNS:
            raise LibraryError(f"{table}.csv: header must be {','.join(COLUMNS)}")
        for line, row in enumerate(rows, start=2):
            where = f"{table}.csv:{line}"
            spec = specs.get((table, row["parameter"]))
            if spec is None:
                raise LibraryError(
                    f"{where}: parameter {row['parameter']!r} is not declared for {table} in parameters.csv"
                )
            if not row["source"].strip():
                raise LibraryError(f"{where}: {row['id']}.{row['parameter']} has no source")
            value, low, high = (_number(row[c], where, c) for c in ("value", "low", "high"))
            year = _number(row["year"], where, "year")
            if not low <= value <= high:
                raise LibraryError(f"{where}: needs low <= value <= high, got {low} / {value} / {high}")
            try:
                factor = check_unit(row["unit"], spec.unit)
            except UnitError as exc:
                raise LibraryError(f"{where}: {exc}") from None
            for raw in (value, low, high):
                problem = spec.check(raw * factor)
                if problem:
                    raise LibraryError(f"{where}: {row['id']}.{row['parameter']} {problem}")
            records.append(
                {
                    "table": table,
                    **row,
                    "value": value,
                    "low": low,
                    "high": high,
                    "year": int(year),
                    "value_model": value * factor,
                    "low_model": low * factor,
                    "high_model": high * factor,
                }
            )
    frame = pd.DataFrame.from_records(records)
    index = {}
    for key, group in frame.groupby(["table", "parameter", "id"], sort=False):
        group = group.sort_values("year")
        index[key] = tuple(
            group[c].to_numpy(float) for c in ("year", "value_model", "low_model", "high_model")
        )
    return Library(rows=frame, specs=specs, index=index)  # type: ignore[arg-type]


__all__ = ["CALENDAR_YEAR", "TABLES", "Library", "ParameterSpec", "load_library"]
