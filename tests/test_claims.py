"""The claims checker: verdicts on synthetic claims with known answers, model- and library-based
checks, the shipped seed ledger, and the ledger schema's errors (file, line, field; exit status 2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from flopgrid.claims import (
    IMPLAUSIBLE_FACTOR,
    TOLERANCE,
    ClaimsError,
    evaluate,
    load_ledger,
    show,
    verdict_for,
)
from flopgrid.cli import app
from flopgrid.library import load_library

runner = CliRunner()

HEAD = """\
name: synthetic
samples: 20
sources:
  s1: {publication: Test Gazette, date: 2024-09}
"""

# One claim per verdict kind. References have low = value = high, so every expected range is a point
# and the factor outside it is known by hand: 105/100 → consistent, 200/100 → 2, 1000/100 → 10,
# 7000 billion / 7000 million → 1000 between the claim's own figures.
SYNTHETIC = (
    HEAD
    + """\
claims:
  - id: within
    quote: the plant makes 100 W
    source: s1
    stated: {power: 100 W}
    inputs:
      measured: {reference: {value: 105 W, low: 105 W, high: 105 W, year: 2024, source: test bench}}
    checks: [{quantity: power, expected: measured, basis: the bench measurement}]
  - id: twice
    quote: it cost 200 dollars
    source: s1
    stated: {cost: 200 USD, units: 4}
    inputs:
      unit_price: {reference: {value: 25 USD, low: 25 USD, high: 25 USD, year: 2024, source: price list}}
    checks: [{quantity: cost, expected: units * unit_price, basis: four units at list price}]
    implied:
      per unit: {expr: cost / units, unit: USD}
  - id: tenfold
    quote: it cost 1000 dollars
    source: s1
    stated: {cost: 1000 USD}
    inputs:
      price: {reference: {value: 100 USD, low: 100 USD, high: 100 USD, year: 2024, source: price list}}
    checks: [{quantity: cost, expected: price, basis: the list price}]
  - id: self-contradicting
    quote: 7 000 millions, then 7 000 milliards
    source: s1
    stated: {first: 7000 million USD, second: 7000 billion USD}
    checks: [{quantity: first, expected: second, basis: the same article's other figure}]
"""
)


def test_one_synthetic_claim_per_verdict_kind(write_yaml: Callable[..., Path]) -> None:
    results = {r.id: r for r in evaluate(load_ledger(write_yaml(SYNTHETIC, "ledger.yaml")))}
    assert results["within"].verdict == "consistent"
    assert results["twice"].verdict == "stretched"
    assert results["tenfold"].verdict == "implausible"
    assert results["self-contradicting"].verdict == "internally inconsistent"
    assert results["twice"].checks[0].factor == pytest.approx(2.0)
    assert results["tenfold"].checks[0].factor == pytest.approx(10.0)
    assert results["self-contradicting"].checks[0].factor == pytest.approx(1000.0)
    assert results["self-contradicting"].checks[0].internal
    assert not results["twice"].checks[0].internal
    assert results["twice"].implied["per unit"].mid == pytest.approx(50.0)
    assert "2× above four units at list price" in results["twice"].reason
    assert "disagree" in results["self-contradicting"].reason


@pytest.mark.parametrize(
    ("stated", "expected", "relation", "verdict"),
    [
        ((110.0, 110.0), (90.0, 100.0), "about", "consistent"),  # 10% beyond: the tolerance
        ((111.0, 111.0), (90.0, 100.0), "about", "stretched"),
        ((300.0, 300.0), (90.0, 100.0), "about", "stretched"),
        ((301.0, 301.0), (90.0, 100.0), "about", "implausible"),
        ((20.0, 20.0), (90.0, 100.0), "about", "implausible"),  # 4.5× below
        ((20.0, 20.0), (90.0, 100.0), "at_most", "consistent"),  # "at most": below is fine
        ((500.0, 500.0), (90.0, 100.0), "at_least", "consistent"),
        ((50.0, 150.0), (90.0, 100.0), "about", "consistent"),  # overlapping ranges
    ],
)
def test_verdict_thresholds(
    stated: tuple[float, float], expected: tuple[float, float], relation: str, verdict: str
) -> None:
    assert TOLERANCE == 0.10 and IMPLAUSIBLE_FACTOR == 3.0
    assert verdict_for(stated, expected, relation, TOLERANCE, internal=False)[0] == verdict


def test_a_failed_check_between_the_claims_own_figures_is_internal_not_implausible() -> None:
    assert verdict_for((7e9, 7e9), (7e12, 7e12), "about", TOLERANCE, internal=True) == (
        "internally inconsistent",
        pytest.approx(1000.0),
    )


def test_model_checks_use_simulate_and_library_inputs_carry_units(write_yaml: Callable[..., Path]) -> None:
    # 1,000 H100 bought in 2025: the model's accelerator capex is 1,000 × the library's 2025 H100
    # price (sampled over its range); their power is 1,000 × it_power from the library, per chip.
    text = (
        HEAD
        + """\
claims:
  - id: purchase
    quote: a thousand H100 in their servers for 33 million dollars drawing 1.5 MW
    source: s1
    stated: {cost: 33.45 million USD, chips: 1000 chip, power: 1.5 MW}
    inputs:
      bought:
        model:
          scenario:
            existing_industry: false
            horizon: {start: 2025, end: 2026}
            builds:
              purchases: [{accelerator: H100, region: US, quantity: 1000, year: 2025}]
          variable: capex
          select: {asset: accelerator}
      chip_power: {library: accelerators.H100.it_power}
    checks:
      - {quantity: cost, expected: bought, basis: the model's capex}
      - {quantity: power, expected: chips * chip_power, basis: the library's IT power}
    implied:
      per chip: {expr: bought / chips, unit: USD/chip}
"""
    )
    result = evaluate(load_ledger(write_yaml(text, "ledger.yaml")), samples=200, seed=3)[0]
    library = load_library()
    _, price, low, high = (a[-1] for a in library.index[("accelerators", "price", "H100")])
    cost, power = result.checks
    assert cost.expected_range.low >= 1000 * low - 1e-6
    assert cost.expected_range.high <= 1000 * high + 1e-6
    assert cost.expected_range.low < 1000 * price < cost.expected_range.high
    assert result.verdict == "consistent"
    _, watts, *_ = (a[0] for a in library.index[("accelerators", "it_power", "H100")])
    assert power.expected_range.mid == pytest.approx(1000 * watts, rel=0.05)
    assert result.implied["per chip"].unit == "USD/chip"
    assert result.implied["per chip"].mid == pytest.approx(cost.expected_range.mid / 1000)


def test_the_seed_ledger_covers_the_issue_and_gives_reasons() -> None:
    results = {r.id: r for r in evaluate("seed-articles", samples=100, seed=1)}
    for claim in (
        "quarter-of-us-gdp",
        "seven-trillion-for-36-facilities",
        "uae-funded-43b-fabs",
        "five-gw-thousand-times-average",
        "hundred-billion-campus",
        "japan-nuclear-restart-5gw",
        "openai-revenue-and-spend",
        "raise-6-5b-above-150b",
        "cut-to-hundreds-of-billions",
        "seven-thousand-millions",
    ):
        assert claim in results
        assert results[claim].reason and results[claim].source.date.startswith("20")
    # "7 000 millions" against "7 000 milliards" in the same article.
    assert results["seven-thousand-millions"].verdict == "internally inconsistent"
    # $7T over US GDP 2023 from the library, computed here from the library itself.
    gdp = load_library().index[("macro", "gdp", "US")]
    share = 7e12 / gdp[1][list(gdp[0]).index(2023)]
    assert results["quarter-of-us-gdp"].implied["share of US GDP (2023)"].mid == pytest.approx(
        100 * share, rel=0.01
    )
    assert results["quarter-of-us-gdp"].verdict == (
        "consistent" if abs(share / 0.25 - 1) <= 0.1 else "stretched"
    )
    campus = results["hundred-billion-campus"]
    assert campus.implied["all-in cost per chip"].mid == pytest.approx(50_000.0)
    assert campus.implied["power per chip"].mid == pytest.approx(2.5)


def test_the_cli_prints_verdicts_and_json() -> None:
    result = runner.invoke(app, ["claims", "--json", "--samples", "50"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ledger"] == "seed-articles"
    assert sum(data["verdicts"].values()) == len(data["claims"])
    first = data["claims"][0]
    assert {"verdict", "reason", "implied", "checks", "source"} <= set(first)
    assert first["checks"][0]["expected_range"]["p5"] <= first["checks"][0]["expected_range"]["p95"]
    table = runner.invoke(app, ["claims", "-n", "20"])
    assert table.exit_code == 0
    assert "internally inconsistent" in table.stdout


BAD = [
    (
        "sources:\n  s1: {publication: P, date: 2024-09}\nclaims: []\n",
        "name",
        "missing required field 'name'",
    ),
    (
        HEAD + "claims:\n  - id: a\n    quote: abc\n    source: s2\n    stated: {x: 1}\n"
        "    checks: [{quantity: x, expected: x, basis: itself}]\n",
        "claims[0].source",
        "unknown source 's2'",
    ),
    (
        HEAD + "claims:\n  - id: a\n    quote: abc\n    source: s1\n    stated: {x: 5 parsec}\n"
        "    checks: [{quantity: x, expected: x, basis: itself}]\n",
        "claims[0].stated.x",
        "unit flopgrid does not compare",
    ),
    (
        HEAD + "claims:\n  - id: a\n    quote: abc\n    source: s1\n    stated: {cost: 5 USD}\n"
        "    checks: [{quantity: cost, expected: cots * 2, basis: twice}]\n",
        "claims[0].checks[0].expected",
        "Did you mean 'cost'?",
    ),
    (
        HEAD + "claims:\n  - id: a\n    quote: abc\n    source: s1\n    stated: {x: 1}\n    colour: red\n"
        "    checks: [{quantity: x, expected: x, basis: itself}]\n",
        "claims[0].colour",
        "unknown key 'colour'",
    ),
    (
        HEAD.replace("2024-09", "Sept 2024")
        + "claims:\n  - id: a\n    quote: abc\n    source: s1\n    stated: {x: 1}\n"
        "    checks: [{quantity: x, expected: x, basis: itself}]\n",
        "sources.s1.date",
        "YYYY, YYYY-MM or YYYY-MM-DD",
    ),
    (
        HEAD + "claims:\n  - id: a\n    quote: abc\n    source: s1\n    stated: {x: 1 W}\n"
        "    inputs: {g: {library: macro.US.gpd}}\n    checks: [{quantity: x, expected: g, basis: gdp}]\n",
        "claims[0].inputs.g.library",
        "Did you mean 'gdp'?",
    ),
    (
        HEAD + "claims:\n  - id: a\n    quote: abc\n    source: s1\n    stated: {x: 1 W}\n"
        "    inputs: {g: {library: macro.US.gdp}}\n    checks: [{quantity: x, expected: g, basis: gdp}]\n",
        "claims[0].checks[0].expected",
        "is in USD, but x is in W",
    ),
]


@pytest.mark.parametrize(("text", "path", "message"), BAD)
def test_bad_ledgers_name_the_file_line_and_field(
    write_yaml: Callable[..., Path], text: str, path: str, message: str
) -> None:
    file = write_yaml(text, "bad.yaml")
    with pytest.raises(ClaimsError) as caught:
        evaluate(load_ledger(file), samples=5)
    error = caught.value
    assert error.file == str(file)
    assert error.path == path
    assert error.line is not None and error.line >= 1
    assert message in str(error)
    result = runner.invoke(app, ["claims", str(file)])
    assert result.exit_code == 2
    assert f"{file}:{error.line}: {path}:" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"), [(["claims", "nope.yaml"], "no such file"), (["claims", "-n", "1"], "")]
)
def test_cli_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_malformed_yaml_names_the_line(write_yaml: Callable[..., Path]) -> None:
    file = write_yaml(HEAD + "claims:\n  - id: [unclosed\n", "bad.yaml")
    with pytest.raises(ClaimsError, match="malformed YAML") as caught:
        load_ledger(file)
    assert caught.value.line in (6, 7)  # the flow sequence opened on line 6 is unclosed at 7


def test_show_writes_readable_units() -> None:
    assert show(7e12, "USD") == "$7T"
    assert show(4.3e10, "USD") == "$43B"
    assert show(5e9, "W") == "5 GW"
    assert show(2e10, "USD/GW") == "$20B/GW"
    assert show(25.5, "percent") == "25.5%"
    assert show(float(np.nan), "W") == "–"
