"""Fuzzing scenario files and claims ledgers (issue 16): whatever a field holds, ``flopgrid check`` and
``flopgrid claims`` exit 0, or 2 with one line naming the file; never a traceback (exit 1).

The 2 s bound of the issue holds by construction (every cap applies before the work it bounds: the file
size, the YAML depth, aliases and expanded size, the length of a quantity, an expression and a number);
benchmarks/hostile_input.py measures the slowest case. Examples are bounded and, when the ``CI``
environment variable is set, derandomised; ``FLOPGRID_FUZZ_EXAMPLES`` asks for more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from flopgrid.cli import app

runner = CliRunner()
EXAMPLES = int(os.environ.get("FLOPGRID_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("CI") is not None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

SCENARIO = """\
name: NAME
horizon: {start: 2025, end: 2030}
existing_industry: false
builds:
  datacentres:
    - {region: REGION, it_power: POWER, start: START, count: COUNT}
  purchases:
    - {accelerator: H100, region: US, quantity: QUANTITY, year: 2026}
finance:
  tranches:
    - {name: loan, kind: debt, amount: AMOUNT, year: 2026, rate: RATE, tenor: TENOR}
parameters:
  datacentres: {pue: PUE}
uncertainty:
  distributions:
    datacentres.mfu: {dist: lognormal, median: 0.4, sigma: SIGMA}
  correlations:
    - [datacentres.pue, datacentres.mfu, RHO]
KEY: 1
"""
DEFAULTS = {
    "NAME": "t",
    "REGION": "US",
    "POWER": "1 GW",
    "START": "2026",
    "COUNT": "1",
    "QUANTITY": "1000",
    "AMOUNT": '"$10B"',
    "RATE": '"5%/year"',
    "TENOR": '"15 year"',
    "PUE": "1.2",
    "SIGMA": "0.2",
    "RHO": "0.5",
    "KEY": "description",
}
LEDGER = """\
name: fuzzed
samples: SAMPLES
seed: SEED
sources:
  s1: {publication: Test Gazette, date: DATE}
claims:
  - id: c
    quote: the plant makes 100 W
    source: s1
    stated: {power: STATED}
    inputs:
      ref: {reference: {value: REF, low: 90 W, high: 110 W, year: 2024, source: bench}}
    checks: [{quantity: power, expected: EXPECTED, basis: a fuzzed expression}]
    implied:
      p: {expr: power, unit: UNIT}
"""
LEDGER_DEFAULTS = {
    "SAMPLES": "5",
    "SEED": "0",
    "DATE": "2024-09",
    "STATED": "100 W",
    "REF": "100 W",
    "EXPECTED": "ref",
    "UNIT": "W",
}

HOSTILE = [
    "9**9**9 W",
    "1e400 GW",
    "$1e400B",
    "nan year",
    "1e400 year",
    "1e300",
    ".nan",
    ".inf",
    "-.inf",
    "null",
    "[a, b]",
    "{a: 1}",
    "? [a, b]\n  : 1",
    '"\\ud800"',
    "'5 GW' / 0",
    "10.0 ** 400",
    "-1",
    "*undefined",
    "&a [*a]",
    "2024-13-45",
    "!!python/object:os.system",
]
NUMBERISH = "0123456789eE.+-*/^()$%, kMBTGWUSDyearhourwafer"


@st.composite
def hostile_value(draw: st.DrawFn) -> str:
    """A value as YAML text: a known-hostile one, random text (quoted or raw), a huge number, deep
    nesting or a long unit."""
    return draw(
        st.one_of(
            st.sampled_from(HOSTILE),
            st.text(max_size=40).map(json.dumps),
            st.text(alphabet=NUMBERISH, min_size=1, max_size=40).map(json.dumps),
            st.integers(min_value=-(10**500), max_value=10**500).map(str),
            st.floats().map(repr),
            st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
            st.integers(1, 3000).map(lambda n: '"1 ' + "W*" * n + 'W"'),
            st.integers(1, 5000).map(lambda n: "1" + "0" * n),
        )
    )


def fill(template: str, defaults: dict[str, str], field: str, value: str) -> str:
    text = template
    for name, default in defaults.items():
        text = text.replace(name, value if name == field else default)
    return text


def assert_exit_0_or_one_line(file: Path, args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"error: {file}"), lines[0]


@FUZZ
@given(field=st.sampled_from(sorted(DEFAULTS)), value=hostile_value())
def test_fuzzed_scenarios_exit_0_or_2_with_one_line(tmp_path: Path, field: str, value: str) -> None:
    file = tmp_path / "fuzzed.yaml"
    file.write_text(fill(SCENARIO, DEFAULTS, field, value), encoding="utf-8")
    assert_exit_0_or_one_line(file, ["check", str(file)])


@FUZZ
@given(field=st.sampled_from(sorted(LEDGER_DEFAULTS)), value=hostile_value())
def test_fuzzed_ledgers_exit_0_or_2_with_one_line(tmp_path: Path, field: str, value: str) -> None:
    file = tmp_path / "fuzzed-ledger.yaml"
    file.write_text(fill(LEDGER, LEDGER_DEFAULTS, field, value), encoding="utf-8")
    assert_exit_0_or_one_line(file, ["claims", str(file), "-n", "5"])


def test_the_installed_command_refuses_hostile_files_in_one_line(tmp_path: Path) -> None:
    """A few real processes: the stderr a user sees, with the interpreter's own encoding and limits."""
    cases = {
        "power.yaml": fill(SCENARIO, DEFAULTS, "POWER", '"9**9**9 W"'),
        "deep.yaml": "a: " + "[" * 5000 + "]" * 5000 + "\n",
        "surrogate.yaml": fill(SCENARIO, DEFAULTS, "NAME", '"\\ud800"'),
    }
    for name, text in cases.items():
        file = tmp_path / name
        file.write_text(text, encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, "-m", "flopgrid", "check", str(file)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,  # a hang fails the test instead of the suite; the cases take well under 1 s
        )
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {file}"), proc.stderr
