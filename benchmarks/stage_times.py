"""Time each stage of the simulator on one block of samples, in one thread: which stage costs what.

A timer is wrapped around every ``*_stage`` function that ``flopgrid.simulate.runner`` calls; one block
(``--samples``, default 2,000, the runner's block size) is run ``--repeat`` times after a warm-up and
the best time of each stage is printed with the best total. Run it once per tree to compare two states
of the code, e.g.::

    PYTHONPATH=<other tree>/src .venv/bin/python benchmarks/stage_times.py
    .venv/bin/python benchmarks/stage_times.py --scenario reference
"""

from __future__ import annotations

import argparse
import functools
import importlib
import time
from collections.abc import Callable
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--scenario", default="seed-7t")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    runner = importlib.import_module("flopgrid.simulate.runner")
    spent: dict[str, float] = {}

    def timed(name: str, stage: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(stage)
        def run(*a: Any, **k: Any) -> Any:
            start = time.perf_counter()
            out = stage(*a, **k)
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - start
            return out

        return run

    for name in [n for n in dir(runner) if n.endswith("_stage")]:
        setattr(runner, name, timed(name, getattr(runner, name)))
    scenario, params, axes = runner.prepare(args.scenario, args.samples, 1)
    for table, parameter in params.library.specs:
        if table != "macro":
            params.get(table, parameter)
    block = params.block(0, args.samples)
    runner._run(scenario, block, axes)  # warm-up: compiled loops, first touches of memory
    best: dict[str, float] = {}
    totals = []
    for _ in range(args.repeat):
        spent.clear()
        start = time.perf_counter()
        runner._run(scenario, block, axes)
        totals.append(time.perf_counter() - start)
        for name, seconds in spent.items():
            best[name] = min(best.get(name, float("inf")), seconds)
    print(f"{args.scenario}, one block of {args.samples:,} samples, best of {args.repeat} (ms)")
    for name, seconds in best.items():
        print(f"  {name.removesuffix('_stage'):<12}{1e3 * seconds:8.1f}")
    print(f"  {'total':<12}{1e3 * min(totals):8.1f}")


if __name__ == "__main__":
    main()
