"""Compare two states of the code side by side in one run: the working tree against a git ref.

The ref is checked out into a temporary git worktree; each measurement runs in a fresh interpreter with
``PYTHONPATH`` pointing at one tree's ``src``, alternating between the trees round after round, so both
see the same machine load. The best of the rounds is what the code costs; the median is also printed.

Measured (each round, each tree):

- ``simulate``: one deterministic run of seed-7t (median of 20 warm runs);
- ``simulate`` of 2,000 samples of seed-7t (warm), and µs per sample-year;
- ``plan`` of target-100m-h100e-2030 (build + solve, warm);
- ``claims.evaluate`` of the seed-articles ledger at 200 samples (warm);
- start-up: ``python -m flopgrid --help`` wall time.

Run: ``.venv/bin/python benchmarks/compare_versions.py --base REF [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from worktrees import source_trees

CHILD = """
import json, statistics, sys, time
import flopgrid
out = {}
s = flopgrid.load_scenario("seed-7t")
flopgrid.simulate(s)
times = []
for _ in range(20):
    t = time.perf_counter(); flopgrid.simulate(s); times.append(time.perf_counter() - t)
out["deterministic_ms"] = 1e3 * statistics.median(times)
flopgrid.simulate(s, samples=2000, seed=1)
t = time.perf_counter(); r = flopgrid.simulate(s, samples=2000, seed=1); dt = time.perf_counter() - t
out["samples_2000_s"] = dt
out["us_per_sample_year"] = 1e6 * dt / (2000 * r.sizes["year"])
p = flopgrid.load_scenario("target-100m-h100e-2030")
flopgrid.plan(p)
t = time.perf_counter(); flopgrid.plan(p); out["plan_s"] = time.perf_counter() - t
from flopgrid.claims import evaluate
evaluate(samples=200, seed=1)
t = time.perf_counter(); evaluate(samples=200, seed=1); out["claims_200_s"] = time.perf_counter() - t
print(json.dumps(out))
"""


def _measure(src: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src), "FLOPGRID_STORE": os.devnull}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=False, timeout=900
    )
    if done.returncode != 0:
        raise SystemExit(f"measurement failed in {src}:\n{done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "flopgrid", "--help"], env=env, capture_output=True, check=True, timeout=120
    )
    figures["help_s"] = time.perf_counter() - start
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--base", required=True, help="git ref of the state to compare against")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with source_trees(args.base) as trees:
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for i in range(args.rounds):
            for name, src in trees.items():
                rounds[name].append(_measure(src))
                print(f"round {i + 1} {name}: {rounds[name][-1]}", file=sys.stderr)
    load = os.getloadavg()[0]
    print(f"base = {args.base}, head = working tree; {args.rounds} rounds alternating; load {load:.1f}")
    print("| figure | base best | head best | base median | head median | head/base (best) |")
    print("|---|---:|---:|---:|---:|---:|")
    for key in rounds["base"][0]:
        b = [r[key] for r in rounds["base"]]
        h = [r[key] for r in rounds["head"]]
        print(
            f"| {key} | {min(b):.4g} | {min(h):.4g} | {statistics.median(b):.4g} | "
            f"{statistics.median(h):.4g} | {min(h) / min(b):.2f} |"
        )


if __name__ == "__main__":
    main()
