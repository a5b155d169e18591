"""Benchmark of the planner's LP: build and solve time, peak memory, size, from 3 regions × 5 years
up to 20 regions × 30 years with the full library (every accelerator and power source).

The library has 9 regions; larger sizes repeat their data under new names (US-2, UAE-2, …), which
keeps the LP's structure and numbers realistic. Each size runs in its own process so that its peak
resident memory is its own.

    .venv/bin/python benchmarks/bench_plan.py            # every size, a table with ratios
    .venv/bin/python benchmarks/bench_plan.py --one 20 30  # one size, JSON

Targets (issue 4): at 20 regions × 30 years, model build ≤ 25% of build + solve, and the whole
planner run (inputs, build, solve, Results) ≤ 60 s on 2 cores.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from typing import Any

import xarray as xr

SIZES = ((3, 5), (5, 10), (10, 20), (20, 30))


def _data(regions: int, years: int) -> xr.Dataset:
    from flopgrid.library import load_library
    from flopgrid.plan import inputs

    library = load_library()
    names = library.ids("regions")
    scenario = {
        "name": f"bench-{regions}x{years}",
        "existing_industry": False,
        "horizon": {"start": 2025, "end": 2025 + years - 1},
        "planner": {
            # Compute grows with the regions so that every size builds in most regions.
            "target": {2025 + years - 1: f"{5e6 * regions} H100e"},
            "regions": names[: min(regions, len(names))],
        },
    }
    data = inputs(scenario)
    if regions > len(names):
        copies = [names[k % len(names)] for k in range(regions)]
        labels = [
            name if k < len(names) else f"{name}-{k // len(names) + 1}" for k, name in enumerate(copies)
        ]
        data = data.sel(region=copies).assign_coords(region=labels)
    return data


def one(regions: int, years: int) -> dict[str, Any]:
    from flopgrid.plan import build, results, solve

    began = time.perf_counter()
    data = _data(regions, years)
    prepared = time.perf_counter()
    built = build(data)
    built_at = time.perf_counter()
    solve(built, threads=2)
    solved = time.perf_counter()
    planned = results(data, built)
    done = time.perf_counter()
    return {
        "regions": regions,
        "years": years,
        "variables": int(built.model.nvars),
        "constraints": int(built.model.ncons),
        "inputs_s": prepared - began,
        "build_s": built_at - prepared,
        "solve_s": solved - built_at,
        "results_s": done - solved,
        "total_s": done - began,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "h100e_last_year": float(planned["h100e"].isel(year=-1).sum()),
        "shortfall": float(planned["shortfall"].sum()),
    }


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(one(int(sys.argv[2]), int(sys.argv[3]))))
        return
    rows = []
    for regions, years in SIZES:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(regions), str(years)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"… {regions} regions × {years} years done", file=sys.stderr)
    header = (
        f"{'size':>10} {'vars':>8} {'cons':>8} {'inputs s':>9} {'build s':>8} {'solve s':>8} "
        f"{'results s':>9} {'total s':>8} {'build/(build+solve)':>20} {'peak MB':>8}"
    )
    print(header)
    for row in rows:
        share = row["build_s"] / (row["build_s"] + row["solve_s"])
        print(
            f"{row['regions']:>4} × {row['years']:<3} {row['variables']:>8} {row['constraints']:>8} "
            f"{row['inputs_s']:>9.2f} {row['build_s']:>8.2f} {row['solve_s']:>8.2f} {row['results_s']:>9.2f} "
            f"{row['total_s']:>8.2f} {share:>20.0%} {row['peak_rss_mb']:>8.0f}"
        )
    largest = rows[-1]
    share = largest["build_s"] / (largest["build_s"] + largest["solve_s"])
    first = rows[0]
    print(
        f"largest vs smallest: {largest['variables'] / first['variables']:.0f}× the variables, "
        f"{largest['total_s'] / first['total_s']:.1f}× the time; "
        f"targets at the largest size: build share {share:.0%} (≤ 25%): "
        f"{'met' if share <= 0.25 else 'NOT met'}, total {largest['total_s']:.1f} s (≤ 60 s): "
        f"{'met' if largest['total_s'] <= 60 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
