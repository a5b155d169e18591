"""Published figures, the rows of the validation table, and how a row is judged: ours against theirs,
error, tolerance, pass or fail, and which library inputs were calibrated on the figure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from flopgrid.claims.draws import draw_range
from flopgrid.errors import FlopgridError
from flopgrid.library import Library

#: Relative tolerance for a published point figure without a stated range: the spread between
#: published estimates of the same quantity (US 2023: EPRI 152, LBNL 176, IEA 183 TWh) is ±10–15%, and
#: our non-AI load is a coarse add-on; a published range (LBNL 2028, Epoch's P10–P90) is its own
#: tolerance.
POINT_TOLERANCE = 0.20
HOURS_PER_YEAR = 8760.0
#: Years the electricity comparison simulates: from the earliest published year to the latest.
YEARS = (2023, 2030)


@dataclass(frozen=True)
class Assumption:
    """A sourced input of a comparison that the library does not hold (value, low, high); ``bounds``
    (a key of ``flopgrid.library.BOUNDS``) says what kind of figure it is, as for a library parameter."""

    value: float
    low: float
    high: float
    unit: str
    year: int
    source: str
    note: str = ""
    bounds: str = "nonnegative"

    def draw(self, u: np.ndarray) -> np.ndarray:
        """The assumption at quantiles ``u``, by the simulator's default rule for its kind."""
        return draw_range(u, self.value, self.low, self.high, self.unit, self.bounds)


#: The non-AI load's inputs. Epoch's "40-60% of rating" is also what the library used to turn IEA's
#: regional TWh into capacities, so the non-AI load reads those capacities back consistently.
NON_AI_DRAW = Assumption(
    0.5,
    0.4,
    0.6,
    "dimensionless",
    2023,
    "Epoch AI, Can AI Scaling Continue Through 2030? (2024-08-20), https://epoch.ai/blog/can-ai-scaling-"
    "continue-through-2030: data centres draw 40-60% of their rated capacity on average",
    bounds="fraction",
)
NON_AI_GROWTH = Assumption(
    0.08,
    0.07,
    0.10,
    "1/year",
    2024,
    "Epoch AI, Can AI Scaling Continue Through 2030? (2024-08-20): US non-AI data-centre growth "
    "1.07 / 1.08 / 1.10 x per year (P10/50/90)",
    "applied to every region (no regional source)",
    bounds="growth",
)
EPOCH = "Epoch AI, Can AI Scaling Continue Through 2030? (2024-08-20), https://epoch.ai/blog/can-ai-scaling-continue-through-2030"


@dataclass(frozen=True)
class Figure:
    """A published figure: its value (and range for ``kind='range'``) in ``unit``, its source, and
    the pattern that finds library rows derived from it (``None``: nothing can derive from it)."""

    id: str
    label: str
    year: int
    unit: str
    value: float
    low: float
    high: float
    source: str
    kind: Literal["point", "range"]
    derived_from: str | None


@dataclass(frozen=True)
class Row:
    """One line of the validation table; ``ours`` is (low, median, high) over samples (``band``)."""

    figure: Figure
    ours: tuple[float, float, float]
    band: str
    method: str
    error: float
    tolerance: float
    passed: bool
    role: Literal["validation", "calibration", "reproduction"]
    calibrated: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON: ours, theirs, error, tolerance, pass, and whether it is calibration."""
        f = self.figure
        return {
            "figure": f.label,
            "id": f.id,
            "year": f.year,
            "unit": f.unit,
            "ours_low": self.ours[0],
            "ours": self.ours[1],
            "ours_high": self.ours[2],
            "band": self.band,
            "theirs": f.value,
            "theirs_low": f.low,
            "theirs_high": f.high,
            "theirs_kind": f.kind,
            "error": self.error,
            "tolerance": self.tolerance,
            "passed": self.passed,
            "role": self.role,
            "counted": self.role != "calibration",
            "calibrated_inputs": self.calibrated,
            "method": self.method,
            "source": f.source,
        }


@dataclass(frozen=True)
class ValidationTable:
    rows: list[Row]
    notes: list[str]
    samples: int
    seed: int

    def frame(self) -> pd.DataFrame:
        """The rows as a table, one row per figure."""
        return pd.DataFrame([row.as_dict() for row in self.rows])

    def score(self) -> tuple[int, int]:
        """(passed, counted): calibration rows are never counted."""
        counted = [row for row in self.rows if row.role != "calibration"]
        return sum(row.passed for row in counted), len(counted)


def compare(
    figure: Figure, ours: np.ndarray, tolerance: float = POINT_TOLERANCE
) -> tuple[tuple[float, float, float], float, float, bool]:
    """Our P5/P50/P95 over samples, the relative error of the median, the tolerance and pass/fail.

    A point figure: error = ours / theirs − 1, passed when within ``tolerance`` (default
    ``POINT_TOLERANCE``). A range: error 0 inside it, else relative to the nearest bound; passed when
    inside.
    """
    low, mid, high = (float(q) for q in np.quantile(ours, [0.05, 0.5, 0.95]))
    if figure.kind == "point":
        error = mid / figure.value - 1.0
    else:
        tolerance = 0.0
        error = (
            0.0
            if figure.low <= mid <= figure.high
            else (mid / figure.low - 1.0 if mid < figure.low else mid / figure.high - 1.0)
        )
    return (low, mid, high), error, tolerance, abs(error) <= tolerance + 1e-12


def row(
    figure: Figure,
    ours_samples: np.ndarray,
    method: str,
    library: Library,
    tolerance: float = POINT_TOLERANCE,
) -> Row:
    """The table's line for ``figure`` from our samples: P5–P95 band, error, pass/fail, and whether the
    figure was used for calibration (then it is shown but never counted); ``tolerance`` as in
    :func:`compare`."""
    ours, error, tolerance, passed = compare(figure, ours_samples, tolerance)
    calibrated = calibrated_on(figure, library)
    return Row(
        figure,
        ours,
        "P5–P95",
        method,
        error,
        tolerance,
        passed,
        "calibration" if calibrated else "validation",
        calibrated,
    )


def calibrated_on(figure: Figure, library: Library) -> list[str]:
    """Library inputs whose source or note says they were derived from ``figure`` (``table.parameter
    (items)``); the figure's own rows in the macro table are not inputs."""
    if figure.derived_from is None:
        return []
    rows = library.rows[library.rows.table != "macro"]
    text = rows.source.astype(str) + " " + rows.note.astype(str)
    pattern = re.compile(figure.derived_from, flags=re.IGNORECASE)
    hits = rows[[bool(pattern.search(t)) for t in text]]
    return [
        f"{table}.{parameter} ({', '.join(dict.fromkeys(group.id.astype(str)))})"
        for (table, parameter), group in hits.groupby(["table", "parameter"], sort=False)
    ]


def macro_figure(
    library: Library,
    item: str,
    year: int,
    label: str,
    kind: Literal["point", "range"],
    derived_from: str | None,
) -> Figure:
    """A figure of the library's macro table (``electricity`` of ``item`` in ``year``), in TWh."""
    rows = library.rows
    row = rows[
        (rows.table == "macro") & (rows.id == item) & (rows.parameter == "electricity") & (rows.year == year)
    ]
    if row.empty:
        raise FlopgridError(f"the library's macro table has no electricity row for {item} in {year}")
    r = row.iloc[0]
    tera = 1e12
    return Figure(
        f"{item}-{year}",
        label,
        year,
        "TWh",
        float(r.value_model) / tera,
        float(r.low_model) / tera,
        float(r.high_model) / tera,
        str(r.source),
        kind,
        derived_from,
    )


#: What in a library row's source or note shows it was derived from each published figure.
IEA_2024 = (
    r"IEA (China|Europe|APAC-ex-China|rest-of-world) [0-9.]+ TWh|IEA 2024|of IEA rest-of-world"
    r"|same derivation as existing_ai_fleet"
)
IEA_2030 = r"IEA (base|APAC-ex-China|RoW)[^;]*pace|IEA pace|IEA base case"
LBNL = r"Shehabi|Data Center Energy Usage|176 TWh|325.580 TWh"


def electricity_figures(library: Library) -> list[Figure]:
    """IEA's global and LBNL's US data-centre electricity, from the library's macro table."""
    return [
        macro_figure(
            library, "datacentres_world", 2024, "Global data-centre electricity (IEA)", "point", IEA_2024
        ),
        macro_figure(
            library,
            "datacentres_world",
            2030,
            "Global data-centre electricity, base case (IEA)",
            "point",
            IEA_2030,
        ),
        macro_figure(library, "datacentres_US", 2023, "US data-centre electricity (LBNL)", "point", LBNL),
        macro_figure(
            library, "datacentres_US", 2028, "US data-centre electricity, range (LBNL)", "range", LBNL
        ),
    ]
