"""Check that a speed change leaves every result as it was: dump every Results variable of a few runs,
then compare a later tree's runs against the dump.

Runs: ``seed-7t`` and ``reference``, each deterministic and with 500 samples (seed 1). A variable is
"identical" when its arrays are equal (NaN equal to NaN); anything else is reported with its largest
relative difference, and the check fails if any exceeds ``--rtol`` (default 1e-12).

Run with the tree to check first on the path, e.g.::

    PYTHONPATH=<before>/src .venv/bin/python benchmarks/same_results.py save /tmp/before.npz
    PYTHONPATH=src .venv/bin/python benchmarks/same_results.py compare /tmp/before.npz
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import flopgrid

RUNS = (("seed-7t", 1), ("seed-7t", 500), ("reference", 1), ("reference", 500))


def results() -> dict[str, np.ndarray]:
    """Every Results variable of every run in :data:`RUNS`, keyed ``scenario|samples|variable``."""
    out: dict[str, np.ndarray] = {}
    for name, samples in RUNS:
        ds = flopgrid.simulate(name, samples=samples, seed=1)
        for variable in ds.data_vars:
            out[f"{name}|{samples}|{variable}"] = ds[variable].values
    return out


def compare(saved: dict[str, np.ndarray], now: dict[str, np.ndarray], rtol: float) -> int:
    """Print how ``now`` differs from ``saved``; the number of variables beyond ``rtol`` (or missing)."""
    bad = sorted(set(saved) ^ set(now))
    for key in bad:
        print(f"only in one of the two: {key}")
    identical = 0
    for key in sorted(set(saved) & set(now)):
        a, b = saved[key], now[key]
        if a.shape != b.shape or a.dtype != b.dtype:
            print(f"{key}: shape or type {a.shape} {a.dtype} -> {b.shape} {b.dtype}")
            bad.append(key)
        elif np.array_equal(a, b, equal_nan=True):
            identical += 1
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                worst = float(np.nanmax(np.abs(a - b) / np.abs(a)))
            print(f"{key}: largest relative difference {worst:.3g}")
            if not np.allclose(a, b, rtol=rtol, atol=0.0, equal_nan=True):
                bad.append(key)
    print(f"{len(saved)} variables: {identical} identical, {len(bad)} beyond rtol {rtol:g} or missing")
    return len(bad)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("save", "compare"))
    parser.add_argument("path", help="the .npz dump")
    parser.add_argument("--rtol", type=float, default=1e-12)
    args = parser.parse_args()
    print(f"flopgrid from {flopgrid.__file__}")
    if args.action == "save":
        np.savez(args.path, **results())
        return
    with np.load(args.path) as saved:
        failures = compare({key: saved[key] for key in saved.files}, results(), args.rtol)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
