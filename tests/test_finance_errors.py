"""Bad finance input: a ScenarioError naming the field, and exit status 2 from the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flopgrid.cli import app
from flopgrid.errors import ScenarioError
from flopgrid.scenario import load_scenario

LOAN = {"name": "loan", "kind": "debt", "amount": "$10B", "year": 2026, "rate": "6%/year", "tenor": "10 year"}


def _with(tranche: dict[str, Any] | None = None, **finance: Any) -> dict[str, Any]:
    section: dict[str, Any] = dict(finance)
    if tranche is not None:
        section["tranches"] = [tranche]
    return {"horizon": {"start": 2025, "end": 2030}, "existing_industry": False, "finance": section}


@pytest.mark.parametrize(
    ("mapping", "path", "message"),
    [
        (_with({**LOAN, "year": 2024}), "finance.tranches[0].year", "in the past"),
        (_with({**LOAN, "year": 2031}), "finance.tranches[0].year", "after the horizon"),
        (_with({**LOAN, "rate": "-1%/year"}), "finance.tranches[0].rate", "between 0%/year and 100%/year"),
        (_with({**LOAN, "rate": "150%/year"}), "finance.tranches[0].rate", "between 0%/year and 100%/year"),
        (_with({**LOAN, "amount": 10e9}), "finance.tranches[0].amount", "with a unit"),
        (_with({**LOAN, "amount": "10 billion"}), "finance.tranches[0].amount", "amount of money"),
        (_with({**LOAN, "tenor": "0 year"}), "finance.tranches[0].tenor", "whole number of years"),
        (_with({k: v for k, v in LOAN.items() if k != "rate"}), "finance.tranches[0].rate", "needs a rate"),
        (
            _with({k: v for k, v in LOAN.items() if k != "tenor"}),
            "finance.tranches[0].tenor",
            "needs a tenor",
        ),
        (_with({**LOAN, "kind": "grant"}), "finance.tranches[0].rate", "debt and vendor tranches only"),
        (_with({**LOAN, "kind": "loan"}), "finance.tranches[0].kind", "equity"),
        (_with({**LOAN, "region": "Mars"}), "finance.tranches[0].region", "unknown region"),
        (_with({**LOAN, "years": [2026, 2027]}), "finance.tranches[0]", "exactly one of year and years"),
        (_with({**LOAN, "year": None, "years": [2028, 2026]}), "finance.tranches[0].years", "comes after"),
        (
            _with({**LOAN, "year": None, "years": {2026: "$4B", 2027: "$4B"}}),
            "finance.tranches[0].amount",
            "differs from the sum",
        ),
        (_with({k: v for k, v in LOAN.items() if k != "amount"}), "finance.tranches[0].amount", "missing"),
        (_with(revenue={"kind": "tokens", "token_price": "$2"}), "finance.revenue.tokens_per_flop", "needs"),
        (_with(revenue={"kind": "rental", "price": "2 USD"}), "finance.revenue.price", "USD/hour"),
        (_with(revenue={"kind": "none", "price": "2 USD/hour"}), "finance.revenue.price", "does not apply"),
        (_with(revenue={"kind": "market", "price": "2 USD/hour"}), "finance.revenue.price", "does not apply"),
        (_with(revenue={"kind": "market", "decline": "10%/year"}), "finance.revenue.decline", "'market'"),
        # Without the existing industry the default is none: a rental price then does not apply either.
        (_with(revenue={"price": "2 USD/hour"}), "finance.revenue.price", "kind 'none'"),
        (_with(discount_rate="7%"), "finance.discount_rate", "rate per year"),
        (
            {"existing_industry": True, "chips": {"refresh": True}},
            "chips.refresh",
            "existing_industry: false",
        ),
    ],
)
def test_bad_finance_input_names_the_field(mapping: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(mapping)
    assert info.value.path == path
    assert message in info.value.message


def test_duplicate_tranche_names_are_refused() -> None:
    with pytest.raises(ScenarioError, match="two tranches are named 'loan'") as info:
        load_scenario({"finance": {"tranches": [LOAN, LOAN]}})
    assert info.value.path == "finance.tranches[1].name"


def test_cli_exits_2_with_the_file_line_and_field(write_yaml: Callable[[str], Path]) -> None:
    path = write_yaml(
        "horizon: {start: 2025, end: 2030}\n"
        "finance:\n"
        "  tranches:\n"
        '    - {name: old money, kind: equity, amount: "$5B", year: 2020}\n'
    )
    result = CliRunner().invoke(app, ["finance", str(path)])
    assert result.exit_code == 2
    assert f"{path}:4: finance.tranches[0].year" in result.output
    assert "in the past" in result.output
