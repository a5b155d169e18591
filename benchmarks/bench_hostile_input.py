"""Time of every hostile-input reproducer of issue 16 through the real command line.

Each case of ``tests/test_hostile_input.py`` (scenarios and claims ledgers) is written to a file and run
as ``python -m flopgrid check FILE`` (``claims FILE -n 5`` for ledgers) in a fresh process; the script
prints the exit status and the wall time of each, and the slowest, next to the time of a valid
scenario (interpreter start-up and imports included in both). The issue asks for exit 2 within 2 s.

Run: ``PYTHONPATH=src python benchmarks/bench_hostile_input.py`` (on an idle machine).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from typer.testing import CliRunner

from flopgrid.cli import app
from test_hostile_input import CLAIMS, PROGRAMME, SCENARIOS


def timed(args: list[str]) -> tuple[int, float, float]:
    """Exit status, wall time of a fresh process, and time of the same command in this process (warm
    imports: the work itself)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "flopgrid", *args], capture_output=True, check=False)
    wall = time.perf_counter() - start
    start = time.perf_counter()
    CliRunner().invoke(app, args)
    return proc.returncode, wall, time.perf_counter() - start


def main() -> None:
    rows: list[tuple[str, int, float, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        valid = Path(folder) / "valid.yaml"
        valid.write_text(PROGRAMME, encoding="utf-8")
        rows.append(("(valid scenario)", *timed(["check", str(valid)])))
        for name, (text, _) in SCENARIOS.items():
            file = Path(folder) / "scenario.yaml"
            file.write_text(text, encoding="utf-8")
            rows.append((name, *timed(["check", str(file)])))
        for name, (text, _) in CLAIMS.items():
            file = Path(folder) / "ledger.yaml"
            file.write_text(text, encoding="utf-8")
            rows.append((f"claims: {name}", *timed(["claims", str(file), "-n", "5"])))
    for name, code, wall, warm in rows:
        print(f"{name:45s} exit {code}  process {wall:6.2f} s  in-process {warm:6.3f} s")
    for column, label in ((2, "process"), (3, "in-process")):
        name, code, *_ = slowest = max(rows[1:], key=lambda row: row[column])
        print(
            f"slowest ({label}): {name} (exit {code}) {slowest[column]:.3f} s; "
            f"valid scenario {rows[0][column]:.3f} s"
        )


if __name__ == "__main__":
    main()
