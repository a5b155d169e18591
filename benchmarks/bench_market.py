"""Benchmark of the market for compute: a market-clearing run against a simulate run of the same
samples, in one process and one run.

- *simulate*: ``flopgrid.simulate("reference", samples=N)``, the full Results (its market stage included:
  the reference's revenue is the market's);
- *market stage*: the market stage alone on that run's fleet (offer, demand, the clearing of every year
  with retirement), its share of the simulate run;
- *market run*: ``flopgrid.simulate.compare.compare("seed-7t", "reference", samples=N)``, what
  ``flopgrid market seed-7t --against reference -n N`` computes: both fleets simulated, the world cleared
  with and without the programme.

Target (issue 15): a market-clearing run costs at most 2× a simulate run of the same samples.

    .venv/bin/python benchmarks/bench_market.py -r 3      # 1,000 samples, best of 3 (and the range)
    .venv/bin/python benchmarks/bench_market.py -n 200 -r 1
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

import flopgrid
from flopgrid.simulate.compare import compare
from flopgrid.simulate.market import market_stage
from flopgrid.simulate.runner import prepare
from flopgrid.simulate.stages import deployment_stage
from flopgrid.simulate.supply_stage import supply_stage


def _times(run: Callable[[], object], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--samples", type=int, default=1000)
    parser.add_argument("-r", "--repeats", type=int, default=3)
    args = parser.parse_args()
    n, repeats = args.samples, args.repeats
    flopgrid.simulate("reference", samples=10)  # warm: the library, imports

    scenario, params, axes = prepare("reference", n, 0)
    params = params.block(0, n)
    supply = supply_stage(scenario, params, axes)
    fleet = deployment_stage(scenario, params, axes, supply)

    rows = {
        "simulate reference": _times(lambda: flopgrid.simulate("reference", samples=n), repeats),
        "market stage alone": _times(
            lambda: market_stage(params, axes, fleet.fleet.installed, fleet.initial), repeats
        ),
        "market run (seed-7t against reference)": _times(lambda: compare("seed-7t", samples=n), repeats),
    }
    base = min(rows["simulate reference"])
    print(f"{n:,} samples, {len(axes.years)} years, best of {repeats} (range)")
    print(f"{'run':<42}{'best s':>9}{'range s':>18}{'× simulate':>12}")
    for name, times in rows.items():
        spread = f"{min(times):.3f}–{max(times):.3f}"
        print(f"{name:<42}{min(times):>9.3f}{spread:>18}{min(times) / base:>12.2f}")
    ratio = min(rows["market run (seed-7t against reference)"]) / base
    print(f"market run / simulate run: {ratio:.2f}× (target ≤ 2×): {'met' if ratio <= 2 else 'NOT met'}")
    print(
        f"median clearing price 2030: {np.median(compare('seed-7t', samples=n)['price'].sel(year=2030)):.2f}"
    )


if __name__ == "__main__":
    main()
