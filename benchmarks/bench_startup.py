"""Start-up time of the command line: ``flopgrid --help`` and ``flopgrid scenarios``, best of 3 each.

Each run is a fresh interpreter (``python -m flopgrid ...``), as a user's shell starts it; the target of
issue 17 is under 0.5 s for both.
"""

from __future__ import annotations

import subprocess
import sys
import time

COMMANDS = (["--help"], ["scenarios"], ["figures"])


def best_of(args: list[str], repeat: int = 3) -> float:
    """The shortest wall time of ``repeat`` runs of ``python -m flopgrid ARGS``, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "flopgrid", *args], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    """Print the best-of-3 start-up time of each command."""
    for args in COMMANDS:
        print(f"flopgrid {' '.join(args):<10} {best_of(args):.3f} s (best of 3)")


if __name__ == "__main__":
    main()
