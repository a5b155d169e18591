"""Benchmark the simulator on the seed scenario, side by side in one run.

- one deterministic run (median of repeated warm runs);
- 1,000 and 100,000 samples: wall time in a fresh process (cold: the first run pays for mapping its
  memory) and again in the same process (warm), time per sample-year, peak resident memory;
- the scalar reference implementation (tests/reference.py) on the same 1,000 samples, and the ratio.

Targets (issue "Foundation", 2 cores): deterministic ≤ 50 ms; 100,000 samples ≤ 5 s; ≥ 100× the
scalar reference. Run: ``make bench`` or ``.venv/bin/python benchmarks/bench_simulate.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = "seed-7t"

CHILD = """
import json, resource, sys, time
import flopgrid
samples = int(sys.argv[1])
scenario = flopgrid.load_scenario("{scenario}")
flopgrid.simulate(scenario)  # imports and library loading are not part of the measurement
times = []
for _ in range(2):
    start = time.perf_counter()
    results = flopgrid.simulate(scenario, samples=samples, seed=1)
    times.append(time.perf_counter() - start)
    years = results.sizes["year"]
    del results
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"samples": samples, "cold_s": times[0], "warm_s": times[1], "years": years,
                  "peak_bytes": peak}}))
"""


def run_child(samples: int) -> dict[str, float]:
    """Simulate in a fresh interpreter so peak memory and the cold run belong to this size alone."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(scenario=SCENARIO), str(samples)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def deterministic(repeats: int = 30) -> float:
    import flopgrid

    scenario = flopgrid.load_scenario(SCENARIO)
    flopgrid.simulate(scenario)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        flopgrid.simulate(scenario)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def scalar_reference(samples: int) -> float:
    sys.path.insert(0, str(ROOT / "tests"))
    import flopgrid
    from reference import reference

    scenario = flopgrid.load_scenario(SCENARIO)
    start = time.perf_counter()
    reference(scenario, samples=samples, seed=1)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10,000 instead of 100,000 samples; 100 for "
        "the scalar reference (for a smoke run, not for the record)",
    )
    args = parser.parse_args()
    large = 10_000 if args.quick else 100_000
    ref_samples = 100 if args.quick else 1_000

    print(
        f"flopgrid simulate benchmark — scenario {SCENARIO}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    det = deterministic()
    rows = [run_child(n) for n in (ref_samples, large)]
    scalar = scalar_reference(ref_samples)
    vector = next(r for r in rows if r["samples"] == ref_samples)

    print(f"\n{'run':<34}{'cold s':>10}{'warm s':>10}{'µs/sample-year':>16}{'peak MB':>10}")
    print(f"{'deterministic (median of 30)':<34}{'':>10}{det:>10.4f}{det / 16 * 1e6:>16.1f}{'':>10}")
    for r in rows:
        per = r["warm_s"] / (r["samples"] * r["years"]) * 1e6
        label = f"{int(r['samples']):,} samples"
        peak_mb = r["peak_bytes"] / 1e6
        print(f"{label:<34}{r['cold_s']:>10.3f}{r['warm_s']:>10.3f}{per:>16.2f}{peak_mb:>10.0f}")
    label = f"scalar reference, {ref_samples:,} samples"
    print(
        f"{label:<34}{'':>10}{scalar:>10.3f}{scalar / (ref_samples * vector['years']) * 1e6:>16.1f}{'':>10}"
    )
    ratio = scalar / vector["warm_s"]
    print(f"\nvectorised / scalar on the same {ref_samples:,} samples: {ratio:,.0f}× faster")
    print(
        "targets: deterministic ≤ 0.050 s: "
        + ("met" if det <= 0.05 else "NOT met")
        + f"; {large:,} samples ≤ 5 s (warm): "
        + ("met" if rows[-1]["warm_s"] <= 5 else "NOT met")
        + "; ≥ 100× scalar: "
        + ("met" if ratio >= 100 else "NOT met")
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"(this process: {usage.ru_utime + usage.ru_stime:.1f} s CPU)")


if __name__ == "__main__":
    main()
