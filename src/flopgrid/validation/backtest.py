"""The backtest: the model from 2023 on supply-chain inputs only, against what happened in 2023–2025.

The reference scenario is run from 2023 to 2025 with the accelerator mix of those years (below) and,
where the scenario schema has it (Model 2.0's ``history`` field), ``history: false``, so that the
existing industry after 2023 follows the model rather than the recorded history. Its outputs are set
against what was reported: the accelerator vendors' data-centre revenue, CoWoS and HBM output, the
installed NVIDIA compute, and the US AI data-centre power.

A figure that any library input was derived from is calibration (shown, never counted): CoWoS and HBM
output and the US AI data-centre power of 2023 are library inputs today, so their rows say so, from the
library's own sources (:func:`flopgrid.validation.figures.calibrated_on`).

Vendor revenue is the model's chips of that vendor × the library's price of each chip in the year (and,
for NVIDIA, whose Data Center segment includes networking, × (1 + the library's network capex share)).
NVIDIA's fiscal year ends in late January, so fiscal 2025 is compared with calendar 2024.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from flopgrid.claims.draws import LibraryDraws
from flopgrid.scenario import Scenario, load_scenario
from flopgrid.simulate import simulate
from flopgrid.validation.figures import EPOCH, Figure, Row, ValidationTable, row

#: The backtest's years: the first is the start (inputs only), the others are what the model makes of it.
BACKTEST_YEARS = (2023, 2025)
#: Accelerator mix of 2023 and 2024 (the reference scenario's mix starts in 2025). An assumption: the
#: reference's 2025 vendor shares (NVIDIA 0.66, Google 0.14, AMD 0.08, AWS 0.12; SemiWiki via smbom) with
#: each vendor's part of the year; AWS's Trainium1 is not in the library, so its share goes to H100 in
#: 2023–2024; NVIDIA's 2024 share is split 2:1 between H100 and H200 (assumption).
MIX_2023_2024: dict[int, dict[str, float]] = {
    2023: {"H100": 0.78, "TPUv5p": 0.14, "MI300X": 0.08},
    2024: {"H100": 0.52, "H200": 0.26, "TPUv5p": 0.14, "MI300X": 0.08},
}
NVIDIA = ("H100", "H200", "B200", "GB200", "GB300", "Rubin")
AMD = ("MI300X", "MI355X")
NVIDIA_RESULTS = "NVIDIA Announces Financial Results for Fourth Quarter and Fiscal 2025"
FIGURES = (
    Figure(
        "nvidia-dc-fy2024",
        "NVIDIA Data Center revenue, fiscal 2024 (≈ calendar 2023)",
        2023,
        "B USD",
        115.2 / 2.42,
        115.2 / 2.42,
        115.2 / 2.42,
        f"NVIDIA, {NVIDIA_RESULTS} (2025-02-26), via thxnews https://thxnews.com/2025/02/26/nvidia-record-"
        "39-3b-revenue-driven-by-ai/: fiscal 2025 Data Center $115.2B, +142% (derived: 115.2 / 2.42)",
        "point",
        r"Data Center revenue|NVIDIA.*10-K|Nvidia revenue",
    ),
    Figure(
        "nvidia-dc-fy2025",
        "NVIDIA Data Center revenue, fiscal 2025 (≈ calendar 2024)",
        2024,
        "B USD",
        115.2,
        115.2,
        115.2,
        f"NVIDIA, {NVIDIA_RESULTS} (2025-02-26), via thxnews https://thxnews.com/2025/02/26/nvidia-record-"
        "39-3b-revenue-driven-by-ai/",
        "point",
        r"Data Center revenue|NVIDIA.*10-K|Nvidia revenue",
    ),
    Figure(
        "nvidia-dc-fy2026",
        "NVIDIA Data Center revenue, fiscal 2026 (≈ calendar 2025)",
        2025,
        "B USD",
        193.7,
        193.7,
        193.7,
        "PC Gamer, Nvidia reports a truly astonishing $193.7 billion in annual data center revenue "
        "(2026-02-26), https://www.pcgamer.com/hardware/nvidia-reports-a-truly-astonishing-usd193-7-billion-in-annual-"
        "data-center-revenue-in-its-latest-earnings-call-up-75-percent-year-on-year-while-little-old-gaming-"
        "brought-in-usd16-billion/",
        "point",
        r"Data Center revenue|NVIDIA.*10-K|Nvidia revenue",
    ),
    Figure(
        "amd-instinct-2024",
        "AMD Instinct accelerator revenue, 2024",
        2024,
        "B USD",
        5.0,
        5.0,
        12.6,
        "AMD, Fourth Quarter and Full Year 2024 Financial Results (2025-02-04), via stocktitan "
        "https://stocktitan.net/news/AMD/amd-reports-fourth-quarter-and-full-year-2024-financial-q8g3aov63062.html"
        ": Data Center segment $12.6B incl. EPYC CPUs; 'more than $5 billion' of Instinct (range: $5B to the "
        "whole segment)",
        "range",
        r"Instinct accelerator revenue|AMD.*Data Center segment",
    ),
    Figure(
        "cowos-2024",
        "TSMC CoWoS capacity, end 2024",
        2024,
        "k wafer/month",
        35.0,
        32.0,
        40.0,
        "TrendForce/MoneyDJ via techpowerup (2024-10): end-2024 33-35k planned, possibly >40k",
        "range",
        r"TrendForce/MoneyDJ via techpowerup",
    ),
    Figure(
        "cowos-2025",
        "TSMC CoWoS capacity, end 2025",
        2025,
        "k wafer/month",
        75.0,
        65.0,
        80.0,
        "SemiWiki/TrendForce via smbom (2025): end-2025 65-75k (75-80k per TrendForce)",
        "range",
        r"SemiWiki/TrendForce via smbom",
    ),
    Figure(
        "hbm-2024",
        "HBM supply, 2024",
        2024,
        "PB",
        810.0,
        607.0,
        1012.0,
        "reportify summary (2025): 2025 HBM 16.97B Gb, +162% y/y [secondary], derived 2024 = "
        "2.121e9 GB / 2.62",
        "range",
        r"reportify summary",
    ),
    Figure(
        "epoch-nvidia-stock-2024",
        "Installed NVIDIA data-centre GPU compute, start of 2025 (Epoch AI)",
        2024,
        "EFLOP/s",
        4000.0,
        4000.0,
        4000.0,
        "Epoch AI, The stock of computing power from NVIDIA chips is doubling every 10 months (2025-02-13), "
        "CC BY 4.0, https://epoch.ai/data-insights/nvidia-chip-production: ~4e21 FLOP/s (dense FP16), "
        "~4M H100e",
        "point",
        r"nvidia-chip-production|doubling every 10 months|4e21 FLOP",
    ),
    Figure(
        "us-ai-dc-2023",
        "US AI data-centre critical IT power, end 2023 (SemiAnalysis via Epoch)",
        2023,
        "GW",
        2.537,
        2.537,
        2.537,
        f"{EPOCH}; SemiAnalysis: AI data centres 2,537 MW of critical IT at end-2023",
        "point",
        r"2,537 MW",
    ),
)


def backtest_scenario() -> Scenario:
    """The reference scenario from 2023 to 2025, its mix extended back, ``history: false`` if it exists."""
    data: dict[str, Any] = load_scenario("reference").model_dump(mode="json", exclude={"source_file"})
    data["name"] = f"backtest {BACKTEST_YEARS[0]}–{BACKTEST_YEARS[1]}"
    data["horizon"] = {"start": BACKTEST_YEARS[0], "end": BACKTEST_YEARS[1]}
    mix = {int(year): shares for year, shares in data["chips"]["mix"].items()}
    # The backtest's own mix of 2023–2024 (by vendor) replaces the reference's for those years.
    data["chips"]["mix"] = {
        **{y: s for y, s in mix.items() if BACKTEST_YEARS[0] <= y <= BACKTEST_YEARS[1]},
        **MIX_2023_2024,
    }
    # Model 2.0 (issue 13) anchors the existing industry in recorded history unless told not to.
    if "history" in Scenario.model_fields:
        data["history"] = False
    return load_scenario(data)


def revenue(results: xr.Dataset, draws: LibraryDraws, parts: tuple[str, ...], year: int) -> np.ndarray:
    """The model's chips of ``parts`` made in ``year`` × their library price that year, per sample (USD)."""
    library = draws.library
    made = results["accelerators_produced"].sel(year=year)
    total = np.zeros(results.sizes["sample"])
    for part in parts:
        if part in made.accelerator.values and library.has("accelerators", part, "price"):
            total = total + made.sel(accelerator=part).values * draws.draw(
                "accelerators", part, "price", year
            )
    return total


def nvidia_flops(results: xr.Dataset, draws: LibraryDraws, year: int) -> np.ndarray:
    """Dense BF16 FLOP/s of the NVIDIA chips installed at the end of ``year``, per sample."""
    installed = results["accelerators_installed"].sel(year=year).sum("region")
    total = np.zeros(results.sizes["sample"])
    for part in NVIDIA:
        if part in installed.accelerator.values:
            flops = draws.draw("accelerators", part, "flops_bf16", year)
            total = total + installed.sel(accelerator=part).values * flops
    return total


def backtest_rows(results: xr.Dataset, draws: LibraryDraws) -> list[Row]:
    """The backtest's rows from a run of :func:`backtest_scenario` and the library draws paired with it."""
    library = draws.library
    network = draws.draw("datacentres", "ai_campus", "network_capex_share", BACKTEST_YEARS[1])
    ours: dict[str, tuple[np.ndarray, str]] = {}
    for figure in FIGURES[:3]:
        value = revenue(results, draws, NVIDIA, figure.year) * (1.0 + network) / 1e9
        ours[figure.id] = (value, "model: NVIDIA chips made × library price × (1 + network capex share)")
    ours["amd-instinct-2024"] = (
        revenue(results, draws, AMD, 2024) / 1e9,
        "model: AMD chips made × library price",
    )
    for figure_id, year in (("cowos-2024", 2024), ("cowos-2025", 2025)):
        ours[figure_id] = (
            results["packaging_capacity"].sel(year=year).values / 12 / 1e3,
            "model: CoWoS capacity (packaging_capacity / 12)",
        )
    ours["hbm-2024"] = (results["hbm_supply"].sel(year=2024).values / 1e6, "model: HBM supply")
    ours["epoch-nvidia-stock-2024"] = (
        nvidia_flops(results, draws, 2024) / 1e18,
        "model: NVIDIA chips installed end-2024 × dense BF16 FLOP/s (the existing 2023 fleet counts as H100)",
    )
    ours["us-ai-dc-2023"] = (
        results["it_power"].sel(year=2023, region="US").values / 1e9,
        "model: IT power of the US AI fleet, end 2023",
    )
    return [row(f, np.asarray(ours[f.id][0], dtype=float), ours[f.id][1], library) for f in FIGURES]


def backtest_table(samples: int = 500, seed: int = 0) -> ValidationTable:
    """The backtest as a validation table: ours, theirs, error, tolerance, pass, calibration or validation.

    >>> table = backtest_table(samples=20)
    >>> sorted({r.role for r in table.rows})
    ['calibration', 'validation']
    """
    scenario = backtest_scenario()
    results = simulate(scenario, samples=samples, seed=seed)
    draws = LibraryDraws(scenario, samples, seed, list(range(BACKTEST_YEARS[0], BACKTEST_YEARS[1] + 1)))
    notes = [
        f"Run: the reference scenario from {BACKTEST_YEARS[0]} to {BACKTEST_YEARS[1]} with the library's "
        "supply-chain inputs; "
        + (
            "history: false (the existing industry after the start follows the model)."
            if "history" in Scenario.model_fields
            else "this model has no history switch yet: its existing industry is already modelled from "
            "inputs (library series of CoWoS and HBM capacity included)."
        ),
        "Atlas pipeline: "
        + (
            "on (pipeline: true, the default): the leading-edge wafers after the series' last data year "
            "(2024) come from TSMC's named fabs; the data-centre window starts after the backtest."
            if scenario.pipeline
            else "off (pipeline: false): the library's trends."
        ),
        "Mix of 2023–2024 (assumption): " + "; ".join(f"{y}: {s}" for y, s in MIX_2023_2024.items()),
        "Rows marked 'calibration' are figures some library inputs were derived from (listed); they are "
        "shown but never counted.",
    ]
    return ValidationTable(backtest_rows(results, draws), notes, samples, seed)
