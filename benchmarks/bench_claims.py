"""Time the claims checker and the validation table, side by side at two sample counts.

Run from the repository root: ``.venv/bin/python benchmarks/bench_claims.py``. Prints seconds per
call (best of 3) and the ratio between sample counts: evaluation is vectorised over samples, so
10× the samples should cost far less than 10× the time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flopgrid.claims import evaluate, load_ledger
from flopgrid.validation import epoch2030_rows, validation_table


def best_of(call: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ledger = load_ledger("seed-articles")
    rows = []
    for samples in (500, 5000):
        rows.append(
            (
                samples,
                best_of(lambda n=samples: evaluate(ledger, samples=n, seed=0)),
                best_of(lambda n=samples: validation_table(samples=n, seed=0, include_epoch=False)),
                best_of(lambda n=samples: epoch2030_rows(n, 0), repeats=1),
            )
        )
    print(f"{'samples':>8} {'claims [s]':>11} {'validate [s]':>13} {'epoch2030 [s]':>14}")
    for samples, claims, validate, epoch in rows:
        print(f"{samples:>8} {claims:>11.2f} {validate:>13.2f} {epoch:>14.2f}")
    (s0, c0, v0, e0), (s1, c1, v1, e1) = rows
    print(
        f"ratio {s1 // s0}× samples: claims {c1 / c0:.1f}×, validate {v1 / v0:.1f}×, epoch2030 {e1 / e0:.1f}×"
    )


if __name__ == "__main__":
    main()
