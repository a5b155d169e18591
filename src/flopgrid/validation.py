"""The model against the published record: ours, theirs, error, tolerance, pass or fail.

Published figures (IEA and LBNL data-centre electricity, Epoch AI's worked arithmetic, and the Epoch
2030 case when ``flopgrid.epoch2030`` is installed) are compared with what the model and the data
library give, with Monte Carlo ranges. The model represents AI accelerators only, so for sector-wide
electricity a **non-AI load** is added, clearly labelled: every region's data-centre capacity in the
library less its AI capacity, drawing its average share of rating, growing on Epoch's non-AI trend.

A figure that any library input was derived from is a **calibration** figure: it is shown, with the
inputs derived from it, but never counted as validation. Which library rows derive from which figure
is read from the library itself (their ``source`` and ``note`` columns), so a new derivation is caught
without editing this module.

>>> table = validation_table(samples=50, include_epoch=False)
>>> sorted({row.role for row in table.rows})
['calibration', 'validation']
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from flopgrid.errors import FlopgridError
from flopgrid.library import Library, load_library
from flopgrid.model.supply import good_dies_per_wafer
from flopgrid.scenario import load_scenario
from flopgrid.simulate import simulate

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
    """A sourced input of a comparison that the library does not hold (value, low, high)."""

    value: float
    low: float
    high: float
    unit: str
    year: int
    source: str
    note: str = ""


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
        return pd.DataFrame([row.as_dict() for row in self.rows])

    def score(self) -> tuple[int, int]:
        """(passed, counted): calibration rows are never counted."""
        counted = [row for row in self.rows if row.role != "calibration"]
        return sum(row.passed for row in counted), len(counted)


def compare(figure: Figure, ours: np.ndarray) -> tuple[tuple[float, float, float], float, float, bool]:
    """Our P5/P50/P95 over samples, the relative error of the median, the tolerance and pass/fail.

    A point figure: error = ours / theirs − 1, passed when within ``POINT_TOLERANCE``. A range: error
    0 inside it, else relative to the nearest bound; passed when inside.
    """
    low, mid, high = (float(q) for q in np.quantile(ours, [0.05, 0.5, 0.95]))
    if figure.kind == "point":
        error, tolerance = mid / figure.value - 1.0, POINT_TOLERANCE
    else:
        tolerance = 0.0
        error = (
            0.0
            if figure.low <= mid <= figure.high
            else (mid / figure.low - 1.0 if mid < figure.low else mid / figure.high - 1.0)
        )
    return (low, mid, high), error, tolerance, abs(error) <= tolerance + 1e-12


def row(figure: Figure, ours_samples: np.ndarray, method: str, library: Library) -> Row:
    """The table's line for ``figure`` from our samples: P5–P95 band, error, pass/fail, and whether the
    figure was used for calibration (then it is shown but never counted)."""
    ours, error, tolerance, passed = compare(figure, ours_samples)
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


def _draw(rng: np.random.Generator, low: float, mode: float, high: float, n: int) -> np.ndarray:
    return rng.triangular(low, mode, high, n) if high > low else np.full(n, mode)


def _library_draw(
    library: Library, rng: np.random.Generator, table: str, item: str, parameter: str, year: float, n: int
) -> np.ndarray:
    value, low, high = library.series(table, parameter, [item], np.array([year]))
    return _draw(rng, float(low[0, 0]), float(value[0, 0]), float(high[0, 0]), n)


@dataclass(frozen=True)
class NonAiLoad:
    """The data-centre load the model does not represent, per sample and region.

    ``rated`` (W, ``(sample, region)``): all data-centre capacity less the AI facilities' in the base
    year; it draws ``draw`` of its rating on average and grows by ``growth`` a year.
    """

    regions: list[str]
    rated: np.ndarray
    draw: np.ndarray
    growth: np.ndarray
    base_year: int

    def energy(self, year: int) -> np.ndarray:
        """Electricity (Wh) by sample and region in ``year``."""
        factor = (1.0 + self.growth) ** (year - self.base_year)
        result: np.ndarray = self.rated * (self.draw * factor)[:, None] * HOURS_PER_YEAR
        return result

    @classmethod
    def from_library(
        cls, library: Library, regions: list[str], samples: int, rng: np.random.Generator
    ) -> NonAiLoad:
        base = int(library.base_year("regions", "existing_dc_capacity"))
        all_dc = np.stack(
            [
                _library_draw(library, rng, "regions", r, "existing_dc_capacity", base, samples)
                for r in regions
            ],
            axis=1,
        )
        ai = np.stack(
            [
                _library_draw(library, rng, "regions", r, "existing_ai_dc_capacity", base, samples)
                for r in regions
            ],
            axis=1,
        )
        pue = _library_draw(library, rng, "datacentres", "ai_campus", "pue", base, samples)
        rated = np.maximum(all_dc - ai * pue[:, None], 0.0)
        draw = _draw(rng, NON_AI_DRAW.low, NON_AI_DRAW.value, NON_AI_DRAW.high, samples)
        growth = _draw(rng, NON_AI_GROWTH.low, NON_AI_GROWTH.value, NON_AI_GROWTH.high, samples)
        return cls(regions, rated, draw, growth, base)


def _macro(
    library: Library,
    item: str,
    year: int,
    label: str,
    kind: Literal["point", "range"],
    derived_from: str | None,
) -> Figure:
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
        _macro(library, "datacentres_world", 2024, "Global data-centre electricity (IEA)", "point", IEA_2024),
        _macro(
            library,
            "datacentres_world",
            2030,
            "Global data-centre electricity, base case (IEA)",
            "point",
            IEA_2030,
        ),
        _macro(library, "datacentres_US", 2023, "US data-centre electricity (LBNL)", "point", LBNL),
        _macro(library, "datacentres_US", 2028, "US data-centre electricity, range (LBNL)", "range", LBNL),
    ]


def record_rows(
    results: xr.Dataset, nonai: NonAiLoad, library: Library, figures: list[Figure] | None = None
) -> list[Row]:
    """Electricity rows: the model's AI facility energy plus the non-AI load, against each figure.

    ``results`` must cover each figure's year; ``US`` figures take the US region, global ones all.
    """
    rows = []
    years = [int(y) for y in results.year.values]
    for figure in figures if figures is not None else electricity_figures(library):
        if figure.year not in years:
            raise FlopgridError(
                f"{figure.label} ({figure.year}) is outside the results' years {years[0]}–{years[-1]}"
            )
        energy = results["energy"].sel(year=figure.year)
        other = nonai.energy(figure.year)
        if figure.id.startswith("datacentres_US"):
            ai = energy.sel(region="US").values
            rest = other[:, nonai.regions.index("US")]
            where = "US"
        else:
            ai = energy.sum("region").values
            rest = other.sum(axis=1)
            where = "all regions"
        method = (
            f"model: AI facility energy, {where}, {figure.year} (P50 {np.median(ai) / 1e12:,.0f} TWh) + "
            "non-AI load (library data-centre capacity less AI, "
            f"{NON_AI_DRAW.low:.0%}–{NON_AI_DRAW.high:.0%} of rating, "
            f"+{NON_AI_GROWTH.low:.0%}–{NON_AI_GROWTH.high:.0%}/year; P50 {np.median(rest) / 1e12:,.0f} TWh)"
        )
        rows.append(row(figure, (ai + rest) / 1e12, method, library))
    return rows


def epoch_arithmetic_rows(
    library: Library, results: xr.Dataset, samples: int, rng: np.random.Generator
) -> list[Row]:
    """Epoch AI's worked arithmetic (research facts §1.1, V1, V2, V5, V6) redone with the library."""
    it_power = _library_draw(library, rng, "accelerators", "H100", "it_power", 2023, samples)
    pue = _library_draw(library, rng, "datacentres", "ai_campus", "pue", 2024, samples)
    price = _library_draw(library, rng, "accelerators", "H100", "price", 2024, samples)
    area = _library_draw(library, rng, "accelerators", "H100", "logic_die_area", 2023, samples)
    d0 = _library_draw(library, rng, "fabs", "leading_edge", "defect_density", 2024, samples)
    diameter = _library_draw(library, rng, "fabs", "leading_edge", "wafer_diameter", 2024, samples)
    all_in = it_power * pue
    us_ai_2030 = results["it_power"].sel(year=2030, region="US").values * pue / 1e9
    cases: list[tuple[Figure, np.ndarray, str]] = [
        (
            Figure(
                "epoch-v1-gpu",
                "All-in power per H100, incl. PUE (Epoch V1)",
                2024,
                "W",
                1704.0,
                1527.9,
                1846.0,
                f"{EPOCH}; P10/50/90 of 'installed power per GPU'",
                "range",
                r"1,?70[04] ?W",
            ),
            all_in,
            "library: H100 it_power × ai_campus PUE",
        ),
        (
            Figure(
                "epoch-v1-llama",
                "Power of Llama 3.1 405B's 16,000 H100s (Epoch V1)",
                2024,
                "MW",
                27.0,
                16_000 * 1527.9 / 1e6,
                16_000 * 1846.0 / 1e6,
                f"{EPOCH}; range derived: 16,000 × the per-GPU P10/P90",
                "range",
                r"27 MW|Llama",
            ),
            16_000 * all_in / 1e6,
            "library: 16,000 × H100 it_power × ai_campus PUE",
        ),
        (
            Figure(
                "epoch-v6-dies",
                "Good 814 mm² dies per 300 mm wafer (Epoch V6)",
                2024,
                "dies",
                28.0,
                20.0,
                40.0,
                f"{EPOCH}; P10/50/90 at 0.15/0.10/0.05 defects per cm²",
                "range",
                r"good dies|dies per wafer",
            ),
            good_dies_per_wafer(area, d0, diameter),
            "model: Poisson yield × gross dies (docs/model.md §2) with the library's H100 die, D0 and "
            "wafer (inputs from the same report)",
        ),
        (
            Figure(
                "epoch-v5-cost-per-kw",
                "H100 price per kW of all-in power (Epoch V5)",
                2024,
                "USD/kW",
                17_000.0,
                17_000.0,
                17_000.0,
                f"{EPOCH}; '$30,000 for 1.7 kW'",
                "point",
                r"17,?000 ?(USD|\$)?/kW",
            ),
            price / (all_in / 1e3),
            "library: H100 price (2024) / (it_power × PUE)",
        ),
        (
            Figure(
                "epoch-v2-us-ai-2030",
                "US AI data-centre power in 2030 (Epoch V2)",
                2030,
                "GW",
                30.0,
                30.0,
                30.0,
                f"{EPOCH}; total 40 GW × 1.15^6 ≈ 90 GW less non-AI ≈ 60 GW",
                "point",
                r"\b30 GW",
            ),
            us_ai_2030,
            "model: reference scenario, US fleet IT rating × PUE, 2030",
        ),
    ]
    rows = []
    for figure, ours_samples, method in cases:
        rows.append(row(figure, np.asarray(ours_samples, dtype=float), method, library))
    return rows


def epoch2030_rows(samples: int, seed: int) -> list[Row]:
    """Rows of the Epoch 2030 case (``flopgrid.epoch2030.compare``), the report's own inputs.

    Raises
    ------
    FlopgridError
        When ``flopgrid.epoch2030`` is not installed.
    """
    try:
        module = importlib.import_module("flopgrid.epoch2030")
    except ModuleNotFoundError as exc:
        if exc.name != "flopgrid.epoch2030":
            raise
        raise FlopgridError(
            "the Epoch 2030 case needs flopgrid.epoch2030 (the Uncertainty capability), which this "
            "installation lacks; run 'flopgrid validate' for the published-record table"
        ) from None
    frame = module.compare(samples=samples, seed=seed)
    needed = [
        "figure",
        "unit",
        "ours_p10",
        "ours_p50",
        "ours_p90",
        "theirs_p10",
        "theirs_p50",
        "theirs_p90",
        "ratio_p50",
        "passed",
    ]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise FlopgridError(f"flopgrid.epoch2030.compare() returned no {', '.join(missing)} column")
    rows = []
    for record in frame.to_dict(orient="records"):
        low, mid, high = (float(record[k]) for k in ("theirs_p10", "theirs_p50", "theirs_p90"))
        figure = Figure(
            f"epoch2030-{re.sub(r'[^a-z0-9]+', '-', str(record['figure']).lower()).strip('-')}",
            f"{record['figure']} (Epoch 2030 case)",
            2030,
            str(record["unit"]),
            mid,
            low,
            high,
            f"{EPOCH}; flopgrid.epoch2030.compare()",
            "range" if np.isfinite(low) and np.isfinite(high) and low < high else "point",
            None,
        )
        ratio = float(record["ratio_p50"])
        rows.append(
            Row(
                figure,
                (float(record["ours_p10"]), float(record["ours_p50"]), float(record["ours_p90"])),
                "P10–P90",
                "flopgrid.epoch2030: the model run on the report's own input distributions (its pass rule)",
                ratio - 1.0 if np.isfinite(ratio) else float("nan"),
                float("nan"),
                bool(record["passed"]),
                "reproduction",
            )
        )
    return rows


def reference_results(samples: int, seed: int) -> xr.Dataset:
    """The shipped reference scenario (current trends) over the published figures' years."""
    scenario = load_scenario("reference")
    data = scenario.model_dump(mode="json", exclude={"source_file"})
    data["horizon"] = {"start": YEARS[0], "end": YEARS[1]}
    data["name"] = f"reference {YEARS[0]}–{YEARS[1]}"
    return simulate(data, samples=samples, seed=seed)


def validation_table(
    samples: int = 500, seed: int = 0, include_epoch: bool = True, results: xr.Dataset | None = None
) -> ValidationTable:
    """The published-record table: IEA, LBNL, Epoch's arithmetic, and the Epoch 2030 case if present.

    Parameters
    ----------
    samples, seed
        Monte Carlo samples (at least 2) and seed of the reference run and the library draws.
    include_epoch
        Add the Epoch 2030 case's rows when ``flopgrid.epoch2030`` is installed.
    results
        Results to compare instead of the reference scenario's (must cover 2023–2030 and region US).
    """
    if samples < 2:
        raise FlopgridError(f"--samples: validation needs at least 2 samples for its ranges, got {samples}")
    library = load_library()
    results = reference_results(samples, seed) if results is None else results
    rng = np.random.default_rng(seed + 1)
    regions = [str(r) for r in results.region.values]
    nonai = NonAiLoad.from_library(library, regions, results.sizes["sample"], rng)
    rows = record_rows(results, nonai, library) + epoch_arithmetic_rows(
        library, results, results.sizes["sample"], rng
    )
    notes = [
        "The model represents AI accelerators only; sector electricity adds a non-AI load: "
        f"(library existing_dc_capacity − existing_ai_dc_capacity × PUE) × {NON_AI_DRAW.value:.0%} of rating "
        f"({NON_AI_DRAW.low:.0%}–{NON_AI_DRAW.high:.0%}) × 8,760 h, growing {NON_AI_GROWTH.value:.0%}/year "
        f"({NON_AI_GROWTH.low:.0%}–{NON_AI_GROWTH.high:.0%}) from {nonai.base_year}. "
        f"Sources: {NON_AI_DRAW.source}; "
        f"{NON_AI_GROWTH.source}.",
        "Rows marked 'calibration' are figures some library inputs were derived from (listed); they are "
        "shown but never counted as validation.",
    ]
    if include_epoch:
        try:
            rows += epoch2030_rows(samples, seed)
        except FlopgridError as exc:
            notes.append(f"Epoch 2030 case not shown: {exc}")
    return ValidationTable(rows, notes, samples, seed)


def as_json(table: ValidationTable) -> Mapping[str, Any]:
    passed, counted = table.score()
    return {
        "samples": table.samples,
        "seed": table.seed,
        "passed": passed,
        "counted": counted,
        "rows": [row.as_dict() for row in table.rows],
        "notes": table.notes,
    }


__all__ = [
    "NON_AI_DRAW",
    "NON_AI_GROWTH",
    "POINT_TOLERANCE",
    "Assumption",
    "Figure",
    "NonAiLoad",
    "Row",
    "ValidationTable",
    "calibrated_on",
    "compare",
    "epoch2030_rows",
    "record_rows",
    "validation_table",
]
