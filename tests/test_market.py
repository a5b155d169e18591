"""The market for compute (docs/model.md §11): clearing by hand, monotonicity in supply, economic
retirement, and the market stage in the simulator."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import flopgrid
from flopgrid.cli import app
from flopgrid.model import market as mkt

runner = CliRunner()


def inverse(a: float) -> mkt.IsoElastic:
    """Demand ``Q = a / P`` (elasticity 1 around a reference price of $1)."""
    return mkt.IsoElastic(np.array([[a]]), np.array([1.0]), np.array([[1.0]]))


def fixed(quantities: list[float]) -> mkt.IsoElastic:
    """Demand that wants ``quantities[t]`` at any price in year ``t`` (elasticity 0)."""
    return mkt.IsoElastic(np.array(quantities)[None, :, None], np.array([1.0]), np.array([[0.0]]))


def test_two_vintages_clear_on_a_flat_stretch_at_the_hand_price() -> None:
    # Old vintage: 40 h at $0.50; new: 60 h at $0.20. Merit order: new (60 h) then old (100 h in all).
    # Demand Q = 150 / P: at $0.50 it wants 300 > 100, so the fleet is sold out and the price rises
    # along demand to 150 / P = 100 → P = $1.50 (below the $5 cap).
    out = mkt.clear(np.array([[0.5, 0.2]]), np.array([[40.0, 60.0]]), inverse(150.0), np.array([5.0]))
    assert out.price[0] == pytest.approx(1.5, rel=1e-12)
    assert out.quantity[0] == pytest.approx(100.0, rel=1e-12)
    np.testing.assert_allclose(out.sold, [[40.0, 60.0]])
    assert out.scarce[0]


def test_two_vintages_clear_on_the_old_vintages_step() -> None:
    # Demand Q = 40 / P: at $0.20 it wants 200 > 60 (the new vintage alone); at $0.50 it wants 80,
    # between 60 and 100: the old vintage is marginal, the price is its cost and it sells 80 − 60 = 20 h.
    out = mkt.clear(np.array([[0.5, 0.2]]), np.array([[40.0, 60.0]]), inverse(40.0), np.array([5.0]))
    assert out.price[0] == 0.5
    assert out.quantity[0] == pytest.approx(80.0)
    np.testing.assert_allclose(out.sold, [[20.0, 60.0]])
    assert not out.scarce[0]


def test_two_vintages_clear_on_the_flat_stretch_between_them() -> None:
    # Demand Q = 15 / P: at $0.20 it wants 75 > 60; at $0.50 only 30 < 60, so the price is between the
    # two steps where 15 / P = 60 → P = $0.25, the new vintage sold out and the old one selling nothing.
    out = mkt.clear(np.array([[0.5, 0.2]]), np.array([[40.0, 60.0]]), inverse(15.0), np.array([5.0]))
    assert out.price[0] == pytest.approx(0.25, rel=1e-12)
    np.testing.assert_allclose(out.sold, [[0.0, 60.0]], rtol=1e-12)
    assert not out.scarce[0]


def test_scarcity_price_stops_at_the_cap_and_the_fleet_sells_all_it_has() -> None:
    # Q = 1000 / P wants 200 at the $5 cap, far above the 100 h the fleet has.
    out = mkt.clear(np.array([[0.5, 0.2]]), np.array([[40.0, 60.0]]), inverse(1000.0), np.array([5.0]))
    assert out.price[0] == 5.0 and out.quantity[0] == 100.0 and out.scarce[0]


def test_samples_clear_independently_in_one_call() -> None:
    cost = np.array([[0.5, 0.2], [0.5, 0.2]])
    capacity = np.array([[40.0, 60.0], [40.0, 60.0]])
    curve = mkt.IsoElastic(np.array([[100.0], [30.0]]), np.array([1.0, 1.0]), np.array([[1.0], [1.0]]))
    out = mkt.clear(cost, capacity, curve, np.array([5.0, 5.0]))
    # 100 / P = 100 → P = 1 (sold out); 30 / P ≤ 60 already at $0.50 → the new vintage's flat stretch:
    # 30 / P = 60 → P = 0.5, exactly the old vintage's cost, where it sells nothing.
    np.testing.assert_allclose(out.price, [1.0, 0.5], rtol=1e-12)
    np.testing.assert_allclose(out.quantity, [100.0, 60.0], rtol=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    costs=st.lists(st.floats(0.01, 4.0), min_size=1, max_size=6),
    capacities=st.lists(st.floats(0.0, 100.0), min_size=6, max_size=6),
    extra_cost=st.floats(0.01, 4.0),
    extra_capacity=st.floats(0.0, 100.0),
    level=st.floats(1.0, 500.0),
    elasticity=st.floats(0.1, 2.5),
)
def test_more_supply_never_raises_the_price(
    costs: list[float],
    capacities: list[float],
    extra_cost: float,
    extra_capacity: float,
    level: float,
    elasticity: float,
) -> None:
    cost = np.array([costs])
    capacity = np.array([capacities[: len(costs)]])
    curve = mkt.IsoElastic(np.array([[level]]), np.array([1.0]), np.array([[elasticity]]))
    cap = np.array([5.0])
    before = mkt.clear(cost, capacity, curve, cap)
    after = mkt.clear(
        np.append(cost, [[extra_cost]], axis=1), np.append(capacity, [[extra_capacity]], 1), curve, cap
    )
    assert after.price[0] <= before.price[0] * (1 + 1e-12)
    assert after.quantity[0] >= before.quantity[0] * (1 - 1e-12)
    # What is sold never exceeds what is offered or wanted.
    assert np.all(after.sold <= np.append(capacity, [[extra_capacity]], 1) * (1 + 1e-12))
    assert after.sold.sum() == pytest.approx(after.quantity[0], rel=1e-9, abs=1e-9)


def test_economic_retirement_happens_exactly_when_the_price_stays_below_marginal_cost() -> None:
    # Two vintages: new at $0.20, old at $0.50, 50 h each. Demand is fixed (price-inelastic) at
    # 120 h (price at the $5 cap: both sell), 80 h (old marginal at $0.50: sells 30 h, not retired),
    # 40 h (price $0.20 < $0.50: old sells nothing and is retired), then 120 h again: the old vintage
    # stays retired, so only 50 h are offered and the price goes to the cap.
    cost = np.broadcast_to(np.array([0.2, 0.5]), (1, 4, 2))
    capacity = np.full((1, 4, 2), 50.0)
    out, retired = mkt.clear_years(cost, capacity, fixed([120.0, 80.0, 40.0, 120.0]), np.array([5.0]))
    np.testing.assert_allclose(out.price[0], [5.0, 0.5, 0.2, 5.0])
    np.testing.assert_allclose(out.sold[0, :, 1], [50.0, 30.0, 0.0, 0.0])
    assert retired[0, :, 1].tolist() == [False, False, True, True]
    assert not retired[0, :, 0].any()
    np.testing.assert_allclose(out.quantity[0], [100.0, 80.0, 40.0, 50.0])


def test_demand_depends_on_calendar_years_not_on_the_start_of_the_horizon() -> None:
    one = mkt.reference_demand(np.array([1.0]), np.array([0.5]), np.array([0.1]), np.arange(2025, 2036), 2025)
    two = mkt.reference_demand(np.array([1.0]), np.array([0.5]), np.array([0.1]), np.arange(2028, 2036), 2025)
    np.testing.assert_allclose(one[:, 3:], two)
    assert two[0, -1] == pytest.approx(1.5**5 * 1.1**5)


def test_reference_clears_near_the_observed_2025_rental_price_and_sells_what_it_prices() -> None:
    r = flopgrid.simulate("reference")
    price = r["market_price"].values[0]
    # The 2025 demand is calibrated on the library's fleet at the 2025 rental price ($2.0/H100e-hour).
    assert 1.5 < price[0] < 3.0
    revenue = r["revenue"].sum("region").values[0]
    np.testing.assert_allclose(revenue, r["hours_sold"].sum("region").values[0] * price)
    assert r.attrs["existing_industry"] == 1
    # Energy of the hours sold stays at most the fleet's facility energy.
    assert np.all(r["market_energy"].values <= r["energy"].values * (1 + 1e-9))


def test_samples_give_a_spread_of_prices() -> None:
    r = flopgrid.simulate("reference", samples=40, seed=3)
    price = r["market_price"].sel(year=2030).values
    assert np.nanpercentile(price, 95) > np.nanpercentile(price, 5)
    assert np.all(price > 0)


def test_market_command_reports_each_year_with_and_without_the_programme() -> None:
    result = runner.invoke(app, ["market", "seed-7t", "--against", "reference", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    years = data["years"]
    assert [row["year"] for row in years] == list(range(2025, 2041))
    fields = {"price", "price_without", "quantity", "quantity_without", "programme_revenue", "others_revenue"}
    assert fields <= set(years[0])
    for row in years:
        # More supply never raises the price, and the programme's revenue is its hours at that price.
        assert row["price"] <= row["price_without"] * (1 + 1e-12)
        assert row["quantity"] >= row["quantity_without"] * (1 - 1e-12)
        assert row["programme_revenue"] == pytest.approx(
            row["share"] * row["quantity"] * row["price"], rel=1e-9
        )
    # The programme has no fleet before its first chips (2028) and sells once it has one.
    assert years[0]["programme_revenue"] == 0.0 and years[-1]["programme_revenue"] > 0.0


def test_market_command_with_samples_gives_percentiles_and_probabilities() -> None:
    args = ["market", "seed-7t", "-n", "12", "--ask", "price@2030 <= 1", "--ask", "share@2035 >= 0", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    price = data["years"][5]["price"]
    assert price["p5"] <= price["p50"] <= price["p95"]
    asked = {a["question"]: a for a in data["questions"]}
    assert 0.0 <= asked["price@2030 <= 1"]["probability"] <= 1.0
    assert asked["price@2030 <= 1"]["samples"] == 12
    # Every sample's share is a share: the second question holds in all of them.
    assert asked["share@2035 >= 0"]["probability"] == 1.0


def test_market_command_names_a_bad_question() -> None:
    result = runner.invoke(app, ["market", "seed-7t", "--ask", "pricee@2030 <= 1"])
    assert result.exit_code == 2
    assert "unknown figure 'pricee'" in result.stderr and "price" in result.stderr


def test_scarce_rows_skip_the_merit_order_with_the_same_clearing() -> None:
    """Rows short at the cap clear at the cap without a sort; the others by the merit order: both as
    the merit order alone clears every row."""
    rng = np.random.default_rng(7)
    n, k = 400, 6
    cost = rng.uniform(0.2, 3.0, (n, k))
    # Capacity from nothing to far more than demand, so that some rows are short at the cap and some not.
    capacity = rng.uniform(0.0, 1.0, (n, k)) * np.exp(rng.uniform(-3.0, 4.0, (n, 1)))
    demand = mkt.IsoElastic(rng.uniform(5.0, 20.0, (n, 2)), np.full(n, 2.0), rng.uniform(0.3, 1.5, (n, 2)))
    cap = np.full(n, 5.0)
    year = mkt.IsoElastic(demand.quantity[:, None], demand.reference_price, demand.elasticity)
    got, _ = mkt.clear_years(cost[:, None], capacity[:, None], year, cap)
    full, _ = mkt.clear_years(cost[:, None], capacity[:, None], year, cap, shortcut=False)
    assert 0 < got.scarce.sum() < n  # both paths are taken
    for name in ("price", "quantity", "sold", "scarce"):
        np.testing.assert_array_equal(getattr(got, name), getattr(full, name))


def test_years_cleared_in_turn_match_each_year_cleared_alone() -> None:
    """The merit order carried from one year to the next (re-sorted from last year's order) and the
    bisection for the marginal step give, year by year, what clearing each year alone gives, with the
    classes retired so far withdrawn."""
    rng = np.random.default_rng(11)
    n, years, k = 300, 6, 9
    # Costs drift and cross from year to year, so that the merit order changes; some ties.
    cost = np.round(rng.uniform(0.2, 3.0, (n, 1, k)) + rng.normal(0.0, 0.6, (n, years, k)).cumsum(axis=1), 1)
    cost = np.clip(cost, 0.05, 4.5)
    capacity = rng.uniform(0.0, 1.0, (n, years, k)) * np.exp(rng.uniform(-2.0, 3.0, (n, 1, 1)))
    demand = mkt.IsoElastic(
        rng.uniform(2.0, 20.0, (n, years, 2)), np.full(n, 2.0), rng.uniform(0.3, 1.5, (n, 2))
    )
    cap = np.full(n, 5.0)
    together, retired = mkt.clear_years(cost, capacity, demand, cap)
    gone = np.zeros((n, k), dtype=bool)
    for t in range(years):
        offered = np.where(gone, 0.0, capacity[:, t])
        alone = mkt.clear(
            cost[:, t],
            offered,
            mkt.IsoElastic(demand.quantity[:, t], demand.reference_price, demand.elasticity),
            cap,
        )
        np.testing.assert_array_equal(together.price[:, t], alone.price)
        np.testing.assert_array_equal(together.sold[:, t], alone.sold)
        gone |= (offered > 0) & (cost[:, t] > alone.price[:, None])
        np.testing.assert_array_equal(retired[:, t], gone)
    assert retired[:, -1].sum() > 0 and not together.scarce.all()  # retirements and merit orders happened
