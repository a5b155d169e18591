"""Hostile and careless input at the boundary (issue 16): every reproducer of the issue's "Scenario and
claims input" section, with its exact input, exits with status 2 and one short line naming the file,
never a traceback, a hang or a poisoned result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flopgrid import ScenarioError, load_scenario
from flopgrid.cli import app
from flopgrid.errors import MESSAGE_CHARS, UnitError
from flopgrid.scenario import check_data, parse_yaml
from flopgrid.scenario.reader import MAX_ALIASES, MAX_DEPTH, MAX_NODES
from flopgrid.units import MAX_QUANTITY_CHARS, parse_quantity, parse_unit, read_quantity

runner = CliRunner()

PROGRAMME = """\
name: t
horizon: {start: 2025, end: 2030}
existing_industry: false
builds:
  datacentres:
    - region: US
      it_power: 1 GW
      start: 2026
"""

LOAN = """\
finance:
  tranches:
    - {name: loan, kind: debt, amount: "$10B", year: 2026, rate: "5%/year", tenor: TENOR}
"""


def refused(file: Path, *args: str, command: str = "check") -> str:
    """Run the CLI on ``file``: exit 2, one line naming the file, no traceback; the line."""
    result = runner.invoke(app, [command, str(file), *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {file}"), lines[0]
    assert "Traceback" not in result.output
    assert len(lines[0]) <= MESSAGE_CHARS + 300
    return lines[0]


# ----------------------------------------------------------------------------------- scenario files

SCENARIOS: dict[str, tuple[str, str]] = {
    # Tracebacks
    "deep flow nesting": ("a: " + "[" * 1000 + "]" * 1000 + "\n", f"deeper than {MAX_DEPTH} levels"),
    "deep mapping nesting": ("a: " + "{a: " * 1000 + "1" + "}" * 1000 + "\n", "deeper than"),
    "unhashable key": ("? [a, b]\n: 1\n", ":1: a key must be a name or a number"),
    "400-digit number": (PROGRAMME.replace("1 GW", "1" + "0" * 399 + " GW"), "at most 100 are read"),
    "400-digit bare integer": (
        PROGRAMME + "chips: {mix: {H100: " + "9" * 400 + "}}\n",
        "a number of 400 digits",
    ),
    "big bare integer": (PROGRAMME + "chips: {mix: {H100: " + "9" * 60 + "}}\n", "chips.mix"),
    "nan tenor": (PROGRAMME + LOAN.replace("TENOR", "'nan year'"), "finance.tranches[0].tenor"),
    "1e400 tenor": (PROGRAMME + LOAN.replace("TENOR", "'1e400 year'"), "finance.tranches[0].tenor"),
    "lone surrogate": (PROGRAMME.replace("name: t", 'name: "\\ud800"'), ":1: a lone surrogate"),
    # Hangs
    "power expression": (PROGRAMME.replace("1 GW", '"9**9**9 W"'), "builds.datacentres[0].it_power"),
    "100,000-character unit": (
        PROGRAMME.replace("1 GW", "1 " + "W*" * 50_000 + "W"),
        ":7: a value of 100,003 characters; at most 10,000 are read",
    ),
    "5,000-character unit": (
        PROGRAMME.replace("1 GW", "1 " + "W*" * 2_500 + "W"),
        f"at most {MAX_QUANTITY_CHARS} are read",
    ),
    "alias bomb": (
        "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 8)),
        f"more than {MAX_NODES:,} values",
    ),
    "many aliases": (
        "a: &a 1\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n",
        f"more than {MAX_ALIASES} YAML aliases",
    ),
    "recursive alias": ("a: &a [*a]\n", "refers to a mapping or list that contains it"),
    # Poison
    "1e400 GW": (PROGRAMME.replace("1 GW", '"1e400 GW"'), "builds.datacentres[0].it_power"),
    "$1e400B": (PROGRAMME + '    - {region: US, it_power: 1 GW, start: 2026, capex: "$1e400B"}\n', "capex"),
    "quantity 1e300": (
        PROGRAMME + "  purchases:\n    - {accelerator: H100, region: US, quantity: 1e300, year: 2026}\n",
        "builds.purchases[0].quantity",
    ),
    "NaN": (PROGRAMME.replace("1 GW", ".nan"), "builds.datacentres[0].it_power"),
    "NaN fraction": (PROGRAMME + "chips: {mix: {H100: .nan}}\n", "chips.mix"),
    "inf": (PROGRAMME.replace("1 GW", ".inf"), "builds.datacentres[0].it_power"),
    "inf quantity": (
        PROGRAMME + "  purchases:\n    - {accelerator: H100, region: US, quantity: .inf, year: 2026}\n",
        "builds.purchases[0].quantity",
    ),
    "sigma null": (
        PROGRAMME
        + "uncertainty:\n  distributions:\n"
        + "    datacentres.pue: {dist: lognormal, median: 1.2, sigma: null}\n",
        ":11: uncertainty.distributions.datacentres.pue: sigma",
    ),
    "3 MB echoed": (PROGRAMME.replace("1 GW", "x" * 3_000_000), "at most"),
    "key over two lines": (PROGRAMME + '"bad\\nkey": 1\n', "unknown key 'bad\\nkey'"),
    "markup in a key": (PROGRAMME + '"[/bold]": 1\n', "unknown key '[/bold]'"),
    "correlation of an unknown parameter": (
        PROGRAMME + "uncertainty:\n  correlations:\n    - [datacentres.pue, datacentres.nope, 0.5]\n",
        ":11: uncertainty.correlations[0]: unknown parameter 'nope'",
    ),
    "correlation of NaN": (
        PROGRAMME + "uncertainty:\n  correlations:\n    - [datacentres.pue, datacentres.mfu, .nan]\n",
        "uncertainty.correlations[0]",
    ),
    "a date that is not one": (PROGRAMME.replace("name: t", "name: 2024-13-45"), ":1: cannot read the value"),
}


@pytest.mark.parametrize("case", list(SCENARIOS))
def test_every_scenario_reproducer_exits_2_with_one_line(
    write_yaml: Callable[[str], Path], case: str
) -> None:
    text, expected = SCENARIOS[case]
    file = write_yaml(text)
    line = refused(file)
    assert expected in line


def test_a_correlation_of_a_parameter_the_run_does_not_draw_is_refused_by_check(
    write_yaml: Callable[[str], Path],
) -> None:
    # The names exist in the library, but this run draws no range for them: run -n refuses it, and so
    # must check (before, check passed it).
    text = PROGRAMME + "uncertainty:\n  correlations:\n    - [fabs.wafer_diameter, datacentres.pue, 0.5]\n"
    file = write_yaml(text)
    check = refused(file)
    run = refused(file, "-n", "2", "--no-record", command="run")
    assert "uncertainty.correlations[0]" in check
    assert check.split(": ", 1)[1] == run.split(": ", 1)[1]


def test_the_lone_surrogate_is_refused_by_run_as_by_check(write_yaml: Callable[[str], Path]) -> None:
    file = write_yaml(PROGRAMME.replace("name: t", 'name: "\\ud800"'))
    assert "lone surrogate" in refused(file, "--no-record", command="run")


def test_a_valid_scenario_still_checks(write_yaml: Callable[[str], Path]) -> None:
    text = PROGRAMME + "uncertainty:\n  correlations:\n    - [datacentres.pue, datacentres.mfu, 0.5]\n"
    result = runner.invoke(app, ["check", str(write_yaml(text))])
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------------------------------ units


@pytest.mark.parametrize(
    ("text", "unit", "value"),
    [
        ("5 GW", "W", 5e9),
        ("$100B", "USD", 1e11),
        ("43 billion USD", "USD", 4.3e10),
        ("$7 trillion", "USD", 7e12),
        ("814 mm^2", "mm^2", 814.0),
        ("814 mm**2", "mm^2", 814.0),
        ("2 USD/hour", "USD/hour", 2.0),
        ("10%/year", "1/year", 0.1),
        ("4.5%/year", "1/year", 0.045),
        ("15 year", "year", 15.0),
        ("$40/MWh", "USD/(W*year)", 40 * 8760 / 1e6),
        ("$ 12 M/MW", "USD/W", 12.0),
        ("11.7 million USD/MW", "USD/W", 11.7),
        ("0.1 /cm^2", "1/mm^2", 0.001),
        ("1,000,000 W", "W", 1e6),
        ("0.0 1/year", "1/year", 0.0),
    ],
)
def test_the_safe_grammar_reads_every_shipped_form(text: str, unit: str, value: float) -> None:
    assert parse_quantity(text, unit) == pytest.approx(value)


@pytest.mark.parametrize(
    "text",
    [
        "9**9**9 W",
        "5 W^9",
        "5 W**(1/2)",
        "5 W^2.5",
        "1e400 GW",
        "$1e400B",
        "nan year",
        "inf W",
        "5 (((((W)))))",
    ],
)
def test_the_safe_grammar_refuses_powers_and_non_finite_numbers(text: str) -> None:
    with pytest.raises(UnitError):
        read_quantity(text)


def test_a_unit_is_read_in_time_linear_in_a_capped_length() -> None:
    with pytest.raises(UnitError, match="at most 100"):
        parse_unit("W*" * 50_000 + "W")


@pytest.mark.parametrize("value", [10**400, 10**31, float("nan"), float("inf"), 1e300])
def test_bare_numbers_are_finite_and_bounded(value: float) -> None:
    with pytest.raises(UnitError, match=r"larger than|finite"):
        parse_quantity(value, "dimensionless")


# ---------------------------------------------------------------------------- the reader's caps


def test_the_reader_caps_are_public_for_the_web_app() -> None:
    with pytest.raises(ScenarioError, match="deeper than") as caught:
        parse_yaml("a: " + "[" * 1000 + "]" * 1000, "upload.yaml")
    assert caught.value.file == "upload.yaml"
    assert caught.value.line == 1
    with pytest.raises(ScenarioError, match="lone surrogate"):
        check_data({"name": "\ud800"})
    nested: dict[str, object] = {}
    for _ in range(200):
        nested = {"a": nested}
    with pytest.raises(ScenarioError, match="deeper than"):
        load_scenario(nested)


# ---------------------------------------------------------------------------------------- claims

LEDGER = """\
name: hostile
samples: 20
SEED
sources:
  s1: {publication: Test Gazette, date: 2024-09}
claims:
  - id: c
    quote: the plant makes 100 W
    source: s1
    stated: {power: 100 W}
    checks: [{quantity: power, expected: "EXPECTED", basis: a hostile expression}]
"""

CLAIMS: dict[str, tuple[str, str]] = {
    "10.0 ** 400": (LEDGER.replace("SEED", "").replace("EXPECTED", "10.0 ** 400"), "claims[0].checks[0]"),
    "division by zero": (
        LEDGER.replace("SEED", "").replace('"EXPECTED"', "\"'5 GW' / 0\""),
        "no finite value",
    ),
    "seed -1": (LEDGER.replace("SEED", "seed: -1").replace("EXPECTED", "power"), ":3: seed"),
    "long expression": (
        LEDGER.replace("SEED", "").replace("EXPECTED", "1+" * 100_000 + "1"),
        "characters; at most",
    ),
    "deep expression": (
        LEDGER.replace("SEED", "").replace("EXPECTED", "(" * 200 + "1" + ")" * 200),
        "nested parentheses",
    ),
    "1e400 stated": (LEDGER.replace("SEED", "").replace("100 W}", "1e400 W}"), "claims[0].stated"),
    "implied power unit": (
        LEDGER.replace("SEED", "").replace("EXPECTED", "power")
        + "    implied:\n      p: {expr: power, unit: '9**9**9 W'}\n",
        "claims[0].implied.p.unit",
    ),
}


@pytest.mark.parametrize("case", list(CLAIMS))
def test_every_claims_reproducer_exits_2_with_one_line(write_yaml: Callable[..., Path], case: str) -> None:
    text, expected = CLAIMS[case]
    file = write_yaml(text, "ledger.yaml")
    line = refused(file, "-n", "5", command="claims")
    assert expected in line
