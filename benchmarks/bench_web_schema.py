"""Schemathesis with every check and every phase against a live server (the longer run of issue 16).

Run: ``PYTHONPATH=src python benchmarks/bench_web_schema.py [examples]``; it prints schemathesis's
summary. ``POST /api/jobs`` is left out as in tests/test_web_schema.py (a generated sensitivity job
runs SALib for minutes). Results are recorded in benchmarks/README.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from flopgrid.web import Settings
from test_web_api import Live


def main(examples: int = 15) -> int:
    live = Live(Settings(record=False, max_sync_samples=20, max_job_samples=20, max_jobs=2))
    try:
        command = [sys.executable, "-m", "schemathesis.cli", "run", f"{live.url}/openapi.json"]
        command += ["--checks", "all", "--max-examples", str(examples), "--exclude-name", "POST /api/jobs"]
        command += ["--generation-deterministic", "--workers", "2"]
        return subprocess.run(command, check=False).returncode
    finally:
        live.stop()


if __name__ == "__main__":  # the sandbox's worker processes re-import this module: keep it guarded
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 15))
