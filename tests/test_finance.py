"""Money: cash flows by hand, NPV and IRR against numpy-financial, and accounting identities."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import flopgrid
from flopgrid.cli import app
from flopgrid.errors import ScenarioError
from flopgrid.model import cashflow
from strategies import START, scenarios

#: Two years; 1,000 H100s (1 kW all-in, $20k each) bought in 2025 into a 1 MW campus quoted at $10M,
#: half used, rented at $2 per H100e-hour falling 10% a year; grid power at $100/MWh, no other opex.
TOY: dict[str, Any] = {
    "name": "toy",
    "horizon": {"start": 2025, "end": 2026},
    "existing_industry": False,
    "parameters": {
        "accelerators": {"H100": {"it_power": "1000 W", "price": "$20000"}},
        "datacentres": {
            "lead_time": "0 year",
            "pue": 1.0,
            "utilisation": 0.5,
            "opex": "0 USD/(W*year)",
            "network_capex_share": 0.1,
        },
        "power_sources": {"grid": {"capex": "0 USD/kW"}},
        "regions": {"US": {"max_new_power": "1 GW/year", "electricity_price": "100 USD/MWh"}},
    },
    "builds": {
        "datacentres": [{"region": "US", "it_power": "1 MW", "start": 2025, "capex": "$10M"}],
        "purchases": [{"accelerator": "H100", "region": "US", "quantity": 1000, "year": 2025}],
    },
    "finance": {
        "revenue": {"kind": "rental", "price": "2 USD/hour", "decline": "10%/year"},
        "discount_rate": "10%/year",
        "tranches": [
            {
                "name": "loan",
                "kind": "debt",
                "amount": "$20M",
                "year": 2025,
                "rate": "10%/year",
                "tenor": "2 year",
            },
            {"name": "owners", "kind": "equity", "amount": "$5M", "year": 2025},
            {"name": "grant", "kind": "grant", "amount": "$1M", "year": 2026},
        ],
    },
}


def test_two_year_toy_cash_flows_by_hand() -> None:
    r = flopgrid.simulate(TOY).isel(sample=0)
    # Fleet: 0 → 1,000 in 2025 (average 500), 1,000 in 2026; H100e-hours at half use.
    hours = np.array([500, 1000]) * 0.5 * 8760
    np.testing.assert_allclose(r["compute_hours"].sum("region").values, hours)
    revenue = hours * 2.0 * np.array([1.0, 0.9])
    np.testing.assert_allclose(r["revenue"].sum("region").values, revenue)
    # Capex 2025: chips $20M, networking 10% of that, the campus $10M.
    capex = r["capex"].sum("region")
    np.testing.assert_allclose(capex.sel(asset="accelerator").values, [20e6, 0])
    np.testing.assert_allclose(capex.sel(asset="network").values, [2e6, 0])
    np.testing.assert_allclose(capex.sel(asset="datacentre").values, [10e6, 0])
    np.testing.assert_allclose(capex.sum("asset").values, [32e6, 0])
    # Opex: the IT energy (kW × use × hours) at $100/MWh.
    opex = np.array([500, 1000]) * 1000 * 0.5 * 8760 * 1e-4
    np.testing.assert_allclose(r["opex"].sum(["region", "asset"]).values, opex)
    # The loan: $20M at 10% over 2 years, first payment in 2026 = 20M × 0.1 / (1 − 1.1^−2).
    payment = 20e6 * 0.1 / (1 - 1.1**-2)
    np.testing.assert_allclose(r["debt_service"].values, [0, payment])
    np.testing.assert_allclose(r["debt_interest"].values, [0, 2e6])
    np.testing.assert_allclose(r["financing_in"].sel(financing="debt").values, [20e6, 0])
    np.testing.assert_allclose(r["financing_in"].sel(financing="equity").values, [5e6, 0])
    np.testing.assert_allclose(r["financing_in"].sel(financing="grant").values, [0, 1e6])
    # Sources vs uses: 2025 short by 32M + opex − 25M − revenue; nothing carried into 2026.
    gap_2025 = 32e6 + opex[0] - 25e6 - revenue[0]
    gap_2026 = opex[1] + payment - 1e6 - revenue[1]
    np.testing.assert_allclose(r["funding_gap"].values, [gap_2025, gap_2026])
    np.testing.assert_allclose(r["cash"].values, [0, 0])
    net = revenue - np.array([32e6, 0]) - opex
    np.testing.assert_allclose(r["net_cash_flow"].values, net)
    assert float(r["npv"]) == pytest.approx(net[0] + net[1] / 1.1)
    assert float(r["peak_cash_need"]) == pytest.approx(-net[0])
    assert np.isnan(float(r["payback_year"]))  # cumulative flow ends below zero
    assert np.isnan(float(r["irr"])) or float(r["irr"]) < 0
    assert float(r["irr"]) == pytest.approx(npf.irr(net), abs=1e-9)
    # Weighted cost of the tranches: debt at 10%, equity at the discount rate (10%), the grant at 0.
    assert float(r["financing_cost"]) == pytest.approx((20e6 * 0.1 + 5e6 * 0.1) / 26e6)
    np.testing.assert_allclose(r["dscr"].values[1], (revenue[1] - opex[1]) / payment)


def test_toy_levelised_cost_by_hand() -> None:
    r = flopgrid.simulate(TOY).isel(sample=0)
    # Chips and networking: 5-year life, capital charge from 2026 at CRF(10%, 5); the shell: 20 years.
    crf = cashflow.capital_recovery(np.array(0.1), np.array(5.0))
    crf20 = cashflow.capital_recovery(np.array(0.1), np.array(20.0))
    hours = np.array([500, 1000]) * 0.5 * 8760
    pv_hours = hours[0] + hours[1] / 1.1
    accelerator = 20e6 * crf / 1.1 / pv_hours
    assert float(r["lcoc_breakdown"].sel(asset="accelerator")) == pytest.approx(float(accelerator))
    assert float(r["lcoc_breakdown"].sel(asset="datacentre")) == pytest.approx(
        float(10e6 * crf20 / 1.1 / pv_hours)
    )
    opex = np.array([500, 1000]) * 1000 * 0.5 * 8760 * 1e-4
    assert float(r["lcoc_breakdown"].sel(asset="power")) == pytest.approx(
        (opex[0] + opex[1] / 1.1) / pv_hours
    )
    assert float(r["lcoc_breakdown"].sum()) == pytest.approx(float(r["lcoc_per_h100e_hour"]))
    # Straight-line depreciation of the chips over 5 years, from 2026.
    np.testing.assert_allclose(r["depreciation"].sel(asset="accelerator").values, [0, 4e6])


def test_refresh_rebuys_retired_accelerators() -> None:
    mapping = copy.deepcopy(TOY)
    mapping["horizon"] = {"start": 2025, "end": 2027}
    mapping["parameters"]["datacentres"]["accelerator_lifetime"] = "1 year"
    mapping["chips"] = {"refresh": True}
    r = flopgrid.simulate(mapping).isel(sample=0)
    bought = r["capex"].sel(asset="accelerator").sum("region").values
    np.testing.assert_allclose(bought, [20e6, 20e6, 20e6])
    np.testing.assert_allclose(r["accelerators_installed"].sum(["region", "accelerator"]).values, 1000)
    mapping["chips"] = {"refresh": False}
    plain = flopgrid.simulate(mapping).isel(sample=0)
    np.testing.assert_allclose(plain["capex"].sel(asset="accelerator").sum("region").values, [20e6, 0, 0])


FLOWS = st.integers(2, 25).flatmap(
    lambda n: st.tuples(
        st.integers(1, n - 1),
        st.lists(st.floats(1.0, 1e3), min_size=n, max_size=n),
    )
)


@settings(max_examples=100, deadline=None)
@given(spec=FLOWS, rate=st.floats(-0.5, 1.0))
def test_npv_and_irr_match_numpy_financial(spec: tuple[int, list[float]], rate: float) -> None:
    # One sign change (outlays, then receipts): exactly one IRR above −100%.
    negative, sizes = spec
    flows = np.array([-x if t < negative else x for t, x in enumerate(sizes)])
    assert cashflow.npv(rate, flows[None])[0] == pytest.approx(npf.npv(rate, flows), rel=1e-9, abs=1e-6)
    expected = npf.irr(flows)
    got = cashflow.irr(flows[None])[0]
    if np.isnan(expected) or not -0.99 < expected < 100:
        assert np.isnan(got) or abs(cashflow.npv(got, flows[None])[0]) < 1e-6 * np.abs(flows).sum()
    else:
        assert got == pytest.approx(expected, abs=1e-8)


def test_irr_is_vectorised_over_many_samples() -> None:
    rng = np.random.default_rng(3)
    flows = rng.uniform(1, 100, size=(2_000, 15))
    flows[:, :4] *= -1
    got = cashflow.irr(flows)
    expected = np.array([npf.irr(row) for row in flows[:200]])
    np.testing.assert_allclose(got[:200], expected, atol=1e-8)
    # The NPV at the IRR is zero for every sample (tolerance: 1e-9 of the flows' size).
    assert np.all(np.abs(cashflow.npv(got, flows)) < 1e-9 * np.abs(flows).sum(axis=1))
    assert np.isnan(cashflow.irr(np.array([[-1.0, -1.0, -1.0], [0.0, 0.0, 0.0]]))).all()


def test_debt_schedule_repays_the_principal_with_numpy_financial_payments() -> None:
    draws = np.zeros((2, 30))
    draws[0, 2], draws[1, 0] = 1e9, 5e8
    interest, principal = cashflow.debt_schedule(draws, np.array([0.065, 0.0]), np.array([15, 10]))
    np.testing.assert_allclose(principal.sum(axis=1), [1e9, 5e8])
    np.testing.assert_allclose((interest + principal)[0, 3:18], -npf.pmt(0.065, 15, 1e9))
    np.testing.assert_allclose(npf.ipmt(0.065, np.arange(1, 16), 15, 1e9), -interest[0, 3:18])
    assert (interest + principal)[0, :3].sum() == 0 and (interest + principal)[0, 18:].sum() == 0
    np.testing.assert_allclose(principal[1, 1:11], 5e7)


def _finance_mapping(mapping: dict[str, Any], data: Any) -> dict[str, Any]:
    end = mapping["horizon"]["end"]
    year = st.integers(START, end)
    tranches = []
    for i in range(data.draw(st.integers(0, 3))):
        kind = data.draw(st.sampled_from(["equity", "debt", "vendor", "grant"]))
        tranche: dict[str, Any] = {
            "name": f"t{i}",
            "kind": kind,
            "amount": f"{data.draw(st.integers(1, 500))}e9 USD",
        }
        tranche["year"] = data.draw(year)
        if kind in ("debt", "vendor"):
            tranche |= {
                "rate": f"{data.draw(st.integers(0, 15))}%/year",
                "tenor": f"{data.draw(st.integers(1, 20))} year",
            }
        tranches.append(tranche)
    mapping["finance"] = {"revenue": {"kind": "rental"}, "tranches": tranches}
    return mapping


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mapping=scenarios(existing=False), data=st.data())
def test_sources_equal_uses_and_breakdowns_sum(mapping: dict[str, Any], data: Any) -> None:
    mapping = _finance_mapping(mapping, data)
    try:
        r = flopgrid.simulate(mapping, samples=3, seed=1)
    except ScenarioError as exc:
        assert "no region may receive" in str(exc)
        assume(False)
    sources = r["financing_in"].sum("financing") + r["revenue"].sum("region") + r["funding_gap"]
    previous = r["cash"].shift(year=1, fill_value=0.0)
    uses = r["capex"].sum(["region", "asset"]) + r["opex"].sum(["region", "asset"]) + r["debt_service"]
    np.testing.assert_allclose(sources.values, (uses + r["cash"] - previous).values, rtol=1e-9, atol=1e-3)
    assert float(r["funding_gap"].min()) >= 0 and float(r["cash"].min()) >= 0
    committed = sum(
        float(flopgrid.load_scenario(mapping).finance.tranches[i].total)
        for i in range(len(mapping["finance"]["tranches"]))
    )
    np.testing.assert_allclose(r["financing_in"].sum(["year", "financing"]).values, committed, rtol=1e-12)
    breakdown = r["lcoc_breakdown"].sum("asset").values
    total = r["lcoc_per_h100e_hour"].values
    np.testing.assert_allclose(breakdown[np.isfinite(total)], total[np.isfinite(total)], rtol=1e-12)
    # Depreciation never exceeds what was spent; straight-line weights sum to ≤ 1 over the horizon.
    assert np.all(
        r["depreciation"].sum("year").values <= r["capex"].sum(["year", "region"]).values * (1 + 1e-12) + 1e-6
    )
    first = r.isel(sample=[0])
    split = first.flopgrid.finance()["split"]
    assert isinstance(split, dict)
    spent = sum(item["value"] for item in split.values())
    assert spent == pytest.approx(float(first["capex"].sum()), rel=1e-12, abs=1e-6)


@settings(max_examples=20, deadline=None)
@given(low=st.floats(0.1, 10.0), extra=st.floats(0.0, 10.0))
def test_more_revenue_never_lowers_npv(low: float, extra: float) -> None:
    cheap, dear = copy.deepcopy(TOY), copy.deepcopy(TOY)
    cheap["finance"]["revenue"]["price"] = f"{low} USD/hour"
    dear["finance"]["revenue"]["price"] = f"{low + extra} USD/hour"
    a, b = flopgrid.simulate(cheap), flopgrid.simulate(dear)
    assert float(b["npv"][0]) >= float(a["npv"][0]) - 1e-6 * abs(float(a["npv"][0]))
    assert float(b["funding_gap"].sum()) <= float(a["funding_gap"].sum()) + 1e-6


def test_inflation_reports_nominal_money() -> None:
    mapping = copy.deepcopy(TOY)
    mapping["finance"]["inflation"] = "2%/year"
    r = flopgrid.simulate(mapping)
    real, nominal = r.flopgrid.finance()["table"], r.flopgrid.finance(nominal=True)["table"]
    factor = 1.02 ** (np.array([2025, 2026]) - 2024)
    np.testing.assert_allclose(nominal["capex_accelerator"].values, real["capex_accelerator"].values * factor)  # type: ignore[index]


def test_seed_scenario_financing_and_comparisons() -> None:
    r = flopgrid.simulate("seed-7t")
    money = r.flopgrid.finance()
    coverage, comparisons = money["coverage"], money["comparisons"]
    assert isinstance(coverage, dict) and isinstance(comparisons, dict)
    assert coverage["committed"] == pytest.approx(7e12)
    world = flopgrid.load_library().series("macro", "gdp", ["world"], np.array([2024]))[0][0, 0]
    assert comparisons["spend_share_of_world_gdp"]["value"] == pytest.approx(coverage["spend"] / world)
    assert set(money["split"]) == {"fabs", "chips", "datacentres", "power"}  # type: ignore[arg-type]


runner = CliRunner()


def test_finance_command_prints_table_returns_and_verdict() -> None:
    result = runner.invoke(app, ["finance", "seed-7t"])
    assert result.exit_code == 0, result.output
    for text in (
        "cash flows",
        "debt_service",
        "IRR",
        "levelised cost per H100e-hour",
        "years of tsmc revenue",
    ):
        assert text in result.output
    assert "The financing" in result.output and "cover" in result.output


def test_finance_json_and_run_money_section() -> None:
    result = runner.invoke(app, ["finance", "seed-7t", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["years"]) == 16 and data["coverage"]["committed"] == pytest.approx(7e12)
    assert {t["investor"] for t in data["tranches"]} >= {
        "SoftBank",
        "Microsoft",
        "TSMC",
        "UAE sovereign funds",
    }
    run = runner.invoke(app, ["run", "seed-7t"])
    assert run.exit_code == 0 and "money: NPV" in run.output and "cluster networking" in run.output


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_years=st.integers(1, 12), rated=st.booleans())
def test_amortise_matches_a_plain_loop(seed: int, n_years: int, rated: bool) -> None:
    rng = np.random.default_rng(seed)
    spend = rng.uniform(0, 10, (3, n_years, 2))
    life = rng.uniform(0.6, 7.4, 3)
    rate = rng.uniform(0.0, 0.2, 3) if rated else None
    got = cashflow.amortise(spend, life, rate)
    expected = np.zeros_like(spend)
    for s in range(3):
        whole = max(round(life[s]), 1)
        charge = 1 / whole if rate is None else cashflow.capital_recovery(rate[s], whole)
        for spent in range(n_years):
            for year in range(spent + 1, min(spent + whole, n_years - 1) + 1):
                expected[s, year] += spend[s, spent] * charge
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # one life per entry of the last axis gives each entry the result of its own life
    lives = rng.uniform(0.6, 7.4, (3, 2))
    both = cashflow.amortise(spend, lives, rate)
    for k in range(2):
        alone = cashflow.amortise(spend[..., k], lives[:, k], rate)
        np.testing.assert_allclose(both[..., k], alone, rtol=1e-12, atol=1e-12)
