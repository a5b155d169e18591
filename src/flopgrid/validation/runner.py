"""The validation runner: the reference run, the electricity and Epoch rows, and the whole table."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from flopgrid import epoch2030
from flopgrid.claims.draws import LibraryDraws
from flopgrid.errors import FlopgridError
from flopgrid.library import Library, load_library
from flopgrid.model.supply import good_dies_per_wafer
from flopgrid.scenario import Scenario, load_scenario
from flopgrid.simulate import simulate
from flopgrid.validation.figures import (
    EPOCH,
    HOURS_PER_YEAR,
    NON_AI_DRAW,
    NON_AI_GROWTH,
    YEARS,
    Figure,
    Row,
    ValidationTable,
    electricity_figures,
    row,
)


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
    def from_library(cls, draws: LibraryDraws, regions: list[str], rng: np.random.Generator) -> NonAiLoad:
        """The non-AI load from the library's data-centre capacities in their base year, drawn as the
        reference run draws them (its own PUE), and the assumptions at quantiles from ``rng``."""
        library = draws.library
        base = int(library.base_year("regions", "existing_dc_capacity"))
        all_dc = np.stack([draws.draw("regions", r, "existing_dc_capacity", base) for r in regions], axis=1)
        ai = np.stack([draws.draw("regions", r, "existing_ai_dc_capacity", base) for r in regions], axis=1)
        pue = draws.draw("datacentres", "ai_campus", "pue", base)
        rated = np.maximum(all_dc - ai * pue[:, None], 0.0)
        draw = NON_AI_DRAW.draw(rng.random(draws.samples))
        growth = NON_AI_GROWTH.draw(rng.random(draws.samples))
        return cls(regions, rated, draw, growth, base)


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


def epoch_arithmetic_rows(draws: LibraryDraws, results: xr.Dataset) -> list[Row]:
    """Epoch AI's worked arithmetic (research facts §1.1, V1, V2, V5, V6) redone with the library.

    Library figures are ``draws`` (the simulator's distributions); the 2030 US row multiplies the
    model's IT rating by the PUE of the same run and sample (``energy / it_energy`` of ``results``).
    """
    library = draws.library
    it_power = draws.draw("accelerators", "H100", "it_power", 2023)
    pue = draws.draw("datacentres", "ai_campus", "pue", 2024)
    # Epoch's "$30,000 for an H100" is the accelerator as its vendor sells it: the module's scope, not
    # the buyer's price with its share of the server (`price`).
    price = draws.draw("accelerators", "H100", "price_module", 2024)
    area = draws.draw("accelerators", "H100", "logic_die_area", 2023)
    d0 = draws.draw("fabs", "leading_edge", "defect_density", 2024)
    diameter = draws.draw("fabs", "leading_edge", "wafer_diameter", 2024)
    all_in = it_power * pue
    us_it_2030 = results["it_power"].sel(year=2030, region="US").values
    us_ai_2030 = us_it_2030 * run_pue(results, 2030, "US") / 1e9
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
            "library: H100 module price (2024, price_module: the chip's scope, as Epoch's $30,000) "
            "/ (it_power × PUE)",
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
    """Rows of the Epoch 2030 case (``flopgrid.epoch2030.compare``), the report's own inputs."""
    frame = epoch2030.compare(samples=samples, seed=seed)
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


def run_pue(results: xr.Dataset, year: int, region: str) -> np.ndarray:
    """The PUE each sample of ``results`` ran with in ``year`` and ``region``: facility energy over IT
    energy (the simulator's ``energy = it_energy × PUE``); 1 where the region used no energy.

    Examples
    --------
    >>> results = simulate("reference", samples=4, seed=0)
    >>> bool(np.all((run_pue(results, 2030, "US") >= 1.0) & (run_pue(results, 2030, "US") < 2.0)))
    True
    """
    energy = results["energy"].sel(year=year, region=region).values
    it_energy = results["it_energy"].sel(year=year, region=region).values
    pue: np.ndarray = np.divide(energy, it_energy, out=np.ones_like(energy), where=it_energy > 0)
    return pue


def reference_scenario() -> Scenario:
    """The shipped reference scenario (current trends) over the published figures' years."""
    data = load_scenario("reference").model_dump(mode="json", exclude={"source_file"})
    data["horizon"] = {"start": YEARS[0], "end": YEARS[1]}
    # mix steps after the published years (the roadmap's later generations) never apply here
    mix = (data.get("chips") or {}).get("mix")
    if isinstance(mix, dict) and all(str(k).isdigit() for k in mix):
        data["chips"]["mix"] = {k: v for k, v in mix.items() if int(k) <= YEARS[1]}
    data["name"] = f"reference {YEARS[0]}–{YEARS[1]}"
    return load_scenario(data)


def reference_results(samples: int, seed: int) -> xr.Dataset:
    """The reference scenario's run over the published figures' years (:func:`reference_scenario`)."""
    return simulate(reference_scenario(), samples=samples, seed=seed)


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
    results = reference_results(samples, seed) if results is None else results
    # Library figures are drawn as the reference run draws them, sample by sample (the same design).
    library = load_library()
    years = [int(library.base_year("regions", "existing_dc_capacity")), 2023, 2024, 2030]
    draws = LibraryDraws(reference_scenario(), results.sizes["sample"], seed, years)
    rng = np.random.default_rng(seed + 1)
    regions = [str(r) for r in results.region.values]
    nonai = NonAiLoad.from_library(draws, regions, rng)
    rows = record_rows(results, nonai, library) + epoch_arithmetic_rows(draws, results)
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
    """The table as JSON: its rows and the score over the validation (not calibration) rows."""
    passed, counted = table.score()
    return {
        "samples": table.samples,
        "seed": table.seed,
        "passed": passed,
        "counted": counted,
        "rows": [row.as_dict() for row in table.rows],
        "notes": table.notes,
    }
