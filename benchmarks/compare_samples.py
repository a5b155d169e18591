"""Compare two states of the code side by side at several run sizes: the working tree against a git ref.

Rounds alternate between the trees, each measurement in a fresh interpreter with ``PYTHONPATH`` pointing
at one tree's ``src``, so both see the same machine load. In each interpreter one run warms up, then the
best of ``--runs`` runs is kept (µs per sample-year), and the best of 10 deterministic runs (ms). The
best and the median over rounds are printed for each size.

Run: ``.venv/bin/python benchmarks/compare_samples.py --base REF [--sizes 1000 10000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from worktrees import source_trees

CHILD = """
import json, sys, time
import flopgrid
samples, runs = int(sys.argv[1]), int(sys.argv[2])
scenario = flopgrid.load_scenario(sys.argv[3])
flopgrid.simulate(scenario)
flopgrid.simulate(scenario, samples=samples, seed=1)
best = float("inf")
for _ in range(runs):
    start = time.perf_counter()
    results = flopgrid.simulate(scenario, samples=samples, seed=1)
    best = min(best, time.perf_counter() - start)
deterministic = float("inf")
for _ in range(10):
    start = time.perf_counter()
    flopgrid.simulate(scenario)
    deterministic = min(deterministic, time.perf_counter() - start)
per_sample_year = 1e6 * best / (samples * results.sizes["year"])
print(json.dumps({"us": per_sample_year, "deterministic_ms": 1e3 * deterministic}))
"""


def _measure(src: Path, samples: int, runs: int, scenario: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src), "FLOPGRID_STORE": os.devnull}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(samples), str(runs), scenario],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if done.returncode != 0:
        raise SystemExit(f"measurement failed in {src}:\n{done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--base", required=True, help="git ref of the state to compare against")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per interpreter (the best is kept)")
    parser.add_argument("--scenario", default="seed-7t")
    args = parser.parse_args()
    with source_trees(args.base) as trees:
        print(f"base = {args.base}, head = working tree; {args.scenario}; {args.rounds} rounds alternating")
        print(
            "| samples | base best | head best | head/base (best) "
            "| base median | head median | head/base (median) |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for samples in args.sizes:
            rounds: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
            for _ in range(args.rounds):
                for name, src in trees.items():
                    rounds[name].append(_measure(src, samples, args.runs, args.scenario))
            for key, label in (("us", f"{samples:,}"), ("deterministic_ms", "1 (ms)")):
                b = [r[key] for r in rounds["base"]]
                h = [r[key] for r in rounds["head"]]
                mb, mh = statistics.median(b), statistics.median(h)
                print(
                    f"| {label} | {min(b):.3f} | {min(h):.3f} | {min(h) / min(b):.2f} | "
                    f"{mb:.3f} | {mh:.3f} | {mh / mb:.2f} |",
                    flush=True,
                )
    print(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
