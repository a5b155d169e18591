"""Who earns what: each investor's cash paid in, received and IRR from the tranches (docs/model.md §10)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from flopgrid.cli import app
from flopgrid.model import investors

runner = CliRunner()


def test_lenders_get_their_schedule_equity_the_rest_pro_rata_grants_nothing() -> None:
    # A 100 loan at 5% over 2 years (level annuity 53.78), equity 30 and 10, a grant of 50; from the
    # second year revenue 200 and opex 40 a year.
    draws = np.array([[100.0, 0, 0], [30.0, 0, 0], [10.0, 0, 0], [50.0, 0, 0]])
    paid, got = investors.tranche_flows(
        draws,
        ["debt", "equity", "equity", "grant"],
        np.array([0.05, 0.0, 0.0, 0.0]),
        np.array([2.0, 1.0, 1.0, 1.0]),
        np.array([[0.0, 200.0, 200.0]]),
        np.array([[0.0, 40.0, 40.0]]),
    )
    annuity = 100 * 0.05 / (1 - 1.05**-2)
    np.testing.assert_allclose(got[0, 0], [0.0, annuity, annuity])
    left = 160.0 - annuity
    np.testing.assert_allclose(got[0, 1], [0.0, 0.75 * left, 0.75 * left])
    np.testing.assert_allclose(got[0, 2], [0.0, 0.25 * left, 0.25 * left])
    np.testing.assert_allclose(got[0, 3], 0.0)
    assert (paid == draws).all()
    lender = investors.returns(paid[0], got[:, 0])
    assert lender["irr"][0] == pytest.approx(0.05, abs=1e-9)
    assert np.isnan(investors.returns(paid[3], got[:, 3])["irr"][0])


def test_finance_names_each_investor_of_seed_7t_with_cash_in_cash_out_and_irr() -> None:
    result = runner.invoke(app, ["finance", "seed-7t", "--no-record", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    lines = {line["investor"]: line for line in data["investors"]}
    assert {"UAE sovereign funds", "SoftBank", "Microsoft"} <= set(lines)
    # Paid in is what the scenario's tranches of that investor draw.
    for investor, line in lines.items():
        drawn = sum(t["amount"] for t in data["tranches"] if (t["investor"] or t["name"]) == investor)
        assert line["paid"] == pytest.approx(drawn, rel=1e-9)
        assert {"received", "irr", "multiple"} <= set(line)
    # Equity shares pro rata: every equity investor gets the same multiple.
    equity = [line["multiple"] for line in lines.values() if line["kinds"] == ["equity"]]
    assert len(equity) >= 3 and max(equity) == pytest.approx(min(equity), rel=1e-9)
    assert data["as_common_as_electricity"]["years"][0]["year"] == 2025


def test_the_price_of_compute_is_the_worlds_market_or_says_where_to_find_it() -> None:
    # A programme alone is not the world's market: `run` says where its price is, not a table of the
    # programme's fleet against the world's demand; the reference (the world's fleet) shows the table.
    alone = runner.invoke(app, ["run", "seed-7t", "--no-record"], terminal_width=200)
    assert alone.exit_code == 0, alone.output
    assert "--against reference" in alone.output and "as common as electricity?" not in alone.output
    world = runner.invoke(app, ["run", "reference", "--no-record"], terminal_width=200)
    assert world.exit_code == 0, world.output
    assert "as common as electricity?" in world.output and "--against reference" not in world.output
