"""Validation case: Epoch AI's "Can AI Scaling Continue Through 2030?" as a configuration of flopgrid.

Epoch AI (Sevilla et al., 2024-08-20, https://epoch.ai/blog/can-ai-scaling-continue-through-2030)
estimate the largest training run feasible in 2030 under each constraint, from inputs given as
10th/50th/90th percentiles (fitted with metalogs) correlated through a Gaussian copula. Their figures
and inputs are in ``../shared/research/domain-facts.md`` §1.1; the ones used here are in
:data:`INPUTS` and :data:`PUBLISHED` with that source.

flopgrid is configured, not re-coded: one scenario (2024–2030, the existing industry) whose
``uncertainty:`` section gives Epoch's percentiles as metalog distributions and Epoch's rank
correlations where flopgrid has the matching parameter, run through :func:`flopgrid.uncertainty.monte_carlo`.
FLOP are counted at FP8, as Epoch counts them (each accelerator's dense FP8 from the library).

- **Power, single campus** → flopgrid's ``largest_run`` in 2030: the largest campus's IT power ×
  the best FLOP per watt of the year's accelerators × MFU × duration. Epoch's campus figures (1–5 GW)
  are facility power: they are divided by the library's PUE to give IT power.
- **Chip production** → ``largest_run_distributed`` in 2030 with the grid unconstrained: the world
  fleet that wafers, packaging and HBM allow × the share the largest run gets × MFU × duration.
- **All constraints** → the same with flopgrid's grid limits (``regions.max_new_power``), which is
  where power binds in flopgrid; compared with Epoch's headline ≈2e29 FLOP.

Where the model structures differ (Epoch's distributed-power sub-model, its chip sub-model's own growth
inputs, its FLOP/W trend) flopgrid uses its own library; the comparison says how far that gets.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flopgrid.library import load_library
from flopgrid.parameters import SINGLE
from flopgrid.uncertainty import monte_carlo

SOURCE = (
    "Epoch AI, Can AI Scaling Continue Through 2030? (2024-08-20), "
    "https://epoch.ai/blog/can-ai-scaling-continue-through-2030, parameter table and summary "
    "(via research/domain-facts.md §1.1)"
)
#: Epoch's inputs (P10, median, P90) that map onto flopgrid parameters, in the parameter's unit.
INPUTS: dict[str, tuple[float, float, float, str]] = {
    "datacentres.training_duration": (5.18e6, 1.56e7, 2.33e7, "s"),
    "datacentres.mfu": (0.20, 0.375, 0.60, "dimensionless"),
    "datacentres.largest_run_share": (0.16, 0.26, 0.40, "dimensionless"),
    # facility power; converted to IT power with the library's PUE below
    "datacentres.largest_campus": (9.6e8, 2.5e9, 5.0e9, "W"),
}
#: Epoch's rank correlations whose two sides flopgrid has: DC power growth (flopgrid's grid additions)
#: ↔ largest campus 0.5; run duration ↔ power growth 0.5; GPU production growth (flopgrid's packaging
#: growth, from which Epoch derives it) ↔ power growth 0.5; run duration ↔ GPU production growth 0.5.
CORRELATIONS: list[tuple[str, str, float]] = [
    ("regions.max_new_power", "datacentres.largest_campus", 0.5),
    ("datacentres.training_duration", "regions.max_new_power", 0.5),
    ("packaging.capacity_growth", "regions.max_new_power", 0.5),
    ("datacentres.training_duration", "packaging.capacity_growth", 0.5),
]
#: Epoch's published figures (P10, median, P90) of the largest training run by 2030, FLOP; NaN where
#: the report gives no value.
PUBLISHED: dict[str, tuple[float, float, float]] = {
    "power_single_campus": (1e28, float("nan"), 3e29),
    "chip_production": (1e29, 9e29, 5e30),
    "all_constraints": (float("nan"), 2e29, float("nan")),
}
FIGURES = {
    "power_single_campus": "largest run, power-bound (single 1–5 GW campus), 2030",
    "chip_production": "largest run, chip-production-bound, 2030",
    "all_constraints": "largest run, all constraints (power binds), 2030",
}
#: Grid additions large enough never to bind (the chip-production-only run).
UNCONSTRAINED_GRID = "10000 GW/year"


def scenario(power_limited: bool = True) -> dict[str, Any]:
    """The flopgrid scenario of the validation case (a mapping for :func:`flopgrid.load_scenario`)."""
    library = load_library()
    pue = float(library.index[("datacentres", "pue", SINGLE["datacentres"])][1][0])
    distributions: dict[str, dict[str, Any]] = {}
    for name, (p10, p50, p90, unit) in INPUTS.items():
        scale = 1 / pue if name == "datacentres.largest_campus" else 1.0
        entry: dict[str, Any] = {
            "dist": "metalog",
            "p10": f"{float(p10 * scale)!r} {unit}",
            "p50": f"{float(p50 * scale)!r} {unit}",
            "p90": f"{float(p90 * scale)!r} {unit}",
            "lower": f"0 {unit}",
        }
        if unit == "dimensionless":
            entry["upper"] = "1"
            entry = {key: value.replace(" dimensionless", "") for key, value in entry.items()}
        distributions[name] = entry
    fp8 = {
        item: {"flops_bf16": f"{float(library.index[('accelerators', 'flops_fp8', item)][1][-1])!r} FLOP/s"}
        for item in library.ids("accelerators")
        if ("accelerators", "flops_fp8", item) in library.index
    }
    parameters: dict[str, Any] = {"accelerators": fp8}
    if not power_limited:
        parameters["regions"] = {"max_new_power": UNCONSTRAINED_GRID}
    correlations = [list(c) for c in CORRELATIONS if power_limited or "regions.max_new_power" not in c]
    return {
        "name": "epoch2030" if power_limited else "epoch2030-chips",
        "description": "Epoch AI's 2030 scaling constraints as a flopgrid configuration",
        "horizon": {"start": 2024, "end": 2030},
        "existing_industry": True,
        "parameters": parameters,
        "uncertainty": {"sampling": "lhs", "distributions": distributions, "correlations": correlations},
    }


def compare(samples: int = 4_000, seed: int = 0) -> pd.DataFrame:
    """Ours beside Epoch's: one row per figure, with P10/P50/P90 of each, the ratio of medians and
    whether ours is within a factor of 2 of theirs (where the report gives no median: whether our
    median lies inside its P10–P90 range).

    Examples
    --------
    >>> frame = compare(samples=500)
    >>> list(frame.columns)[:3]
    ['figure', 'unit', 'ours_p10']
    """
    limited = monte_carlo(
        scenario(True), ["largest_run@2030", "largest_run_distributed@2030"], samples, seed=seed
    )
    chips = monte_carlo(scenario(False), ["largest_run_distributed@2030"], samples, seed=seed)
    ours = {
        "power_single_campus": limited["largest_run@2030"].to_numpy(),
        "chip_production": chips["largest_run_distributed@2030"].to_numpy(),
        "all_constraints": limited["largest_run_distributed@2030"].to_numpy(),
    }
    rows = []
    for key, values in ours.items():
        p10, p50, p90 = np.quantile(values, [0.1, 0.5, 0.9])
        theirs = PUBLISHED[key]
        ratio = p50 / theirs[1] if np.isfinite(theirs[1]) else float("nan")
        # Where the report gives no median, ours must lie inside its P10–P90 range.
        passed = 0.5 <= ratio <= 2.0 if np.isfinite(ratio) else theirs[0] <= p50 <= theirs[2]
        rows.append(
            {
                "figure": FIGURES[key],
                "unit": "FLOP",
                "ours_p10": float(p10),
                "ours_p50": float(p50),
                "ours_p90": float(p90),
                "theirs_p10": theirs[0],
                "theirs_p50": theirs[1],
                "theirs_p90": theirs[2],
                "ratio_p50": float(ratio),
                "passed": bool(passed),
            }
        )
    frame = pd.DataFrame(rows)
    frame.attrs.update({"samples": samples, "seed": seed, "source": SOURCE})
    return frame
