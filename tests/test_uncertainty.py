"""Distributions, sampling designs, copula, chunked Monte Carlo, probabilities and sensitivity.

Statistical checks use fixed seeds; each states its tolerance next to the assertion.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from scipy import special, stats
from typer.testing import CliRunner

import flopgrid
from flopgrid.cli import app
from flopgrid.distributions import (
    DESIGN_BLOCK,
    Design,
    Dimension,
    Distribution,
    distribution_from_spec,
    pert_ppf,
)
from flopgrid.errors import FlopgridError, ScenarioError
from flopgrid.questions import probability
from flopgrid.simulate import prepare
from flopgrid.uncertainty import indices, monte_carlo

runner = CliRunner()
N = 20_000


def _lhs(n: int = N, d: int = 1, seed: int = 3) -> np.ndarray:
    dims = [Dimension("t", f"p{k}", "i", "other") for k in range(d)]
    return Design(dims, "lhs", seed, n).uniforms(0, n)


@pytest.mark.parametrize(
    ("dist", "reference"),
    [
        (Distribution("normal", (10.0, 2.0)), stats.norm(10, 2)),
        (Distribution("lognormal", (5.0, 0.4)), stats.lognorm(0.4, scale=5.0)),
        (Distribution("uniform", (1.0, 3.0)), stats.uniform(1.0, 2.0)),
        (Distribution("triangular", (1.0, 2.0, 5.0)), stats.triang(0.25, loc=1.0, scale=4.0)),
        # PERT(1, 2, 5): Beta(1 + 4·1/4, 1 + 4·3/4) = Beta(2, 4) on [1, 5]
        (Distribution("pert", (1.0, 2.0, 5.0)), stats.beta(2, 4, loc=1.0, scale=4.0)),
    ],
)
def test_sampled_marginals_match_the_distribution_asked_for(dist: Distribution, reference: Any) -> None:
    values = dist.ppf(_lhs()[:, 0])
    # KS distance of 20,000 stratified draws from the exact CDF: well under 1% (a wrong shape or
    # parameter gives several %).
    assert stats.kstest(values, reference.cdf).statistic < 0.01
    assert np.mean(values) == pytest.approx(reference.mean(), rel=0.01)


def test_tabulated_pert_quantiles_match_the_exact_beta_inverse() -> None:
    u = np.random.default_rng(0).random(50_000)
    for low, mode, high in ((1.0, 2.0, 5.0), (0.0, 0.95, 1.0), (10.0, 10.5, 11.0)):
        alpha, beta = 1 + 4 * (mode - low) / (high - low), 1 + 4 * (high - mode) / (high - low)
        exact = low + (high - low) * special.betaincinv(alpha, beta, u)
        # the documented bound: 2e-5 of the range
        assert np.abs(pert_ppf(u, low, mode, high) - exact).max() < 2e-5 * (high - low)


def test_metalog_passes_through_the_three_percentiles() -> None:
    for bounds in ((-np.inf, np.inf), (0.0, np.inf), (0.0, 1.0)):
        dist = Distribution("metalog", (0.2, 0.375, 0.6, *bounds))
        assert dist.ppf(np.array([0.1, 0.5, 0.9])) == pytest.approx([0.2, 0.375, 0.6], rel=1e-9)
        values = dist.ppf(_lhs()[:, 0])
        assert np.all(np.diff(dist.ppf(np.linspace(0.001, 0.999, 999))) > 0)  # a quantile function
        # 20,000 LHS draws put the empirical P10/P90 within 1% of the fitted ones
        assert np.quantile(values, [0.1, 0.9]) == pytest.approx([0.2, 0.6], rel=0.01)
    bounded = Distribution("metalog", (0.2, 0.375, 0.6, 0.0, 1.0)).ppf(_lhs()[:, 0])
    assert bounded.min() > 0 and bounded.max() < 1


def test_distribution_specs_convert_units_and_refuse_bad_ones() -> None:
    dist = distribution_from_spec({"dist": "pert", "low": "1 GW", "mode": "2 GW", "high": "5 GW"}, "W")
    assert dist.params == (1e9, 2e9, 5e9)
    for bad, message in (
        ({"dist": "pert", "low": 3, "mode": 2, "high": 5}, "low <= mode <= high"),
        ({"dist": "gamma", "a": 1}, "unknown dist"),
        ({"dist": "normal", "mean": 1}, "missing sd"),
        ({"dist": "metalog", "p10": 1, "p50": 1.1, "p90": 100}, "too skewed"),
    ):
        with pytest.raises(ValueError, match=message):
            distribution_from_spec(bad, "dimensionless")


def test_rank_correlations_match_what_was_asked() -> None:
    dims = [Dimension("t", f"p{k}", "i", "other") for k in range(3)]
    asked = {(0, 1): 0.5, (1, 2): -0.7}
    for method in ("lhs", "sobol", "random"):
        u = Design(dims, method, 11, N, asked).uniforms(0, N)
        rho = stats.spearmanr(u).statistic
        # standard error of Spearman's rho at n = 20,000 is about 0.007: allow 0.03
        assert rho[0, 1] == pytest.approx(0.5, abs=0.03)
        assert rho[1, 2] == pytest.approx(-0.7, abs=0.03)
        assert rho[0, 2] == pytest.approx(0.0, abs=0.03)  # a pair not named stays uncorrelated
        # marginals stay uniform: KS distance under 1.5%
        assert all(stats.kstest(u[:, k], "uniform").statistic < 0.015 for k in range(3))


def test_inconsistent_correlations_are_refused() -> None:
    dims = [Dimension("t", f"p{k}", "i", "other") for k in range(3)]
    with pytest.raises(FlopgridError, match="not positive definite"):
        Design(dims, "lhs", 0, 10, {(0, 1): 0.95, (1, 2): 0.95, (0, 2): -0.95})


@pytest.mark.parametrize("method", ["lhs", "sobol", "random"])
def test_chunks_across_design_blocks_draw_the_same_rows(method: str) -> None:
    dims = [Dimension("t", f"p{k}", "i", "other") for k in range(3)]
    n = 2 * DESIGN_BLOCK + 500
    whole = Design(dims, method, 3, n, {(0, 2): 0.4}).uniforms(0, n)
    design = Design(dims, method, 3, n, {(0, 2): 0.4})
    parts = np.concatenate([design.uniforms(a, min(a + 7_000, n)) for a in range(0, n, 7_000)])
    np.testing.assert_array_equal(parts, whole)


def test_latin_hypercube_is_stratified() -> None:
    u = _lhs(1_000, 4)
    for k in range(4):
        assert sorted(np.floor(u[:, k] * 1_000).astype(int)) == list(range(1_000))


SCENARIO: dict[str, Any] = {
    "name": "tiny",
    "horizon": {"start": 2025, "end": 2030},
    "existing_industry": True,
    "uncertainty": {
        "distributions": {
            "datacentres.pue": {"dist": "pert", "low": 1.1, "mode": 1.15, "high": 1.5},
            "datacentres.mfu": {
                "dist": "metalog",
                "p10": 0.2,
                "p50": 0.375,
                "p90": 0.6,
                "lower": 0,
                "upper": 1,
            },
        },
        "correlations": [["datacentres.pue", "datacentres.mfu", 0.6]],
    },
}


def test_scenario_distributions_and_correlations_reach_the_parameters() -> None:
    _, params, _ = prepare(SCENARIO, samples=4_000, seed=5)
    pue = params.get("datacentres", "pue")[:, 0, 0, 0]
    mfu = params.get("datacentres", "mfu")[:, 0, 0, 0]
    assert (
        stats.kstest(
            pue, stats.beta(1 + 4 * 0.05 / 0.4, 1 + 4 * 0.35 / 0.4, loc=1.1, scale=0.4).cdf
        ).statistic
        < 0.02
    )
    # The copula leaves each marginal uniform in distribution but no longer stratified as a Latin
    # hypercube is, so the share of samples at or below each stated quantile is binomial: within three
    # standard errors, sqrt(p (1 - p) / n), of p.
    n = mfu.size
    for q, p in ((0.2, 0.1), (0.375, 0.5), (0.6, 0.9)):
        assert np.mean(mfu <= q) == pytest.approx(p, abs=3 * np.sqrt(p * (1 - p) / n)), q
    assert stats.spearmanr(pue, mfu).statistic == pytest.approx(0.6, abs=0.04)


def test_default_growth_rates_are_lognormal_with_low_high_as_p5_p95() -> None:
    _, params, _ = prepare({"name": "g", "horizon": {"start": 2025, "end": 2026}}, samples=20_000, seed=2)
    assert params.design is not None
    kinds = {d.name: d.kind for d in params.design.dimensions}
    assert kinds["packaging.cowos.capacity_growth"] == "growth"
    assert kinds["accelerators.H100.price"] == "cost"
    value, low, high = (a[0, 0, 0] for a in params.base("packaging", "capacity_growth"))
    drawn = params.get("packaging", "capacity_growth")[:, 0, 0, 0]
    assert np.quantile(drawn, [0.05, 0.5, 0.95]) == pytest.approx([low, value, high], rel=0.02)


def test_bad_uncertainty_section_names_the_field() -> None:
    bad = {
        "name": "b",
        "uncertainty": {"distributions": {"datacentres.puee": {"dist": "uniform", "low": 1, "high": 2}}},
    }
    with pytest.raises(
        ScenarioError, match=r"uncertainty\.distributions\.datacentres\.puee.*Did you mean 'pue'"
    ):
        flopgrid.load_scenario(bad)
    unknown = {
        "name": "b",
        "uncertainty": {"correlations": [["fabs.wafer_diameter", "datacentres.pue", 0.3]]},
    }
    with pytest.raises(ScenarioError, match="not drawn in this run"):
        prepare(unknown, samples=10)


@pytest.mark.parametrize("sampling", ["lhs", "sobol", "random"])
def test_same_seed_same_results_and_chunked_equals_unchunked(sampling: str) -> None:
    whole = flopgrid.simulate("seed-7t", samples=600, seed=4, sampling=sampling)
    again = flopgrid.simulate("seed-7t", samples=600, seed=4, sampling=sampling)
    other = flopgrid.simulate("seed-7t", samples=600, seed=5, sampling=sampling)
    assert whole.attrs["sampling"] == sampling
    np.testing.assert_array_equal(whole["h100e"].values, again["h100e"].values)
    assert not np.array_equal(whole["h100e"].values, other["h100e"].values)
    chunked = monte_carlo(
        "seed-7t", ["h100e@2035", "npv", "capex"], 600, seed=4, sampling=sampling, chunk=137
    )
    np.testing.assert_array_equal(chunked["h100e@2035"], whole["h100e"].sel(year=2035).sum("region").values)
    np.testing.assert_array_equal(chunked["npv"], whole["npv"].values)
    np.testing.assert_array_equal(chunked["capex"], whole["capex"].sum(["year", "region", "asset"]).values)
    # keeping no Money variable skips the Money stage; the physical figures are the same
    physical = monte_carlo("seed-7t", ["it_power@2040"], 600, seed=4, sampling=sampling, chunk=250)
    np.testing.assert_array_equal(
        physical["it_power@2040"], whole["it_power"].sel(year=2040).sum("region").values
    )


def test_probability_answers_from_the_samples() -> None:
    results = flopgrid.simulate("reference", samples=400, seed=1)
    h100e = results["h100e"].sel(year=2030).sum("region").values
    threshold = float(np.median(h100e))
    answer = results.flopgrid.probability(f"h100e@2030 >= {threshold!r}")
    assert answer["probability"] == pytest.approx(np.mean(h100e >= threshold))
    assert 0.45 <= answer["probability"] <= 0.55
    power = results["it_power"].sel(year=2030).sum("region").values
    in_gw = probability(results, "it_power@2030 < 40 GW")
    assert in_gw["probability"] == pytest.approx(np.mean(power < 40e9))
    for bad, message in (
        ("h100e >= 5", "name one"),
        ("h100ee@2030 >= 5", "Did you mean 'h100e'"),
        ("h100e@2050 >= 5", "outside the run's years"),
        ("h100e@2030 5", "expected a question"),
    ):
        with pytest.raises(FlopgridError, match=message):
            probability(results, bad)


def test_sobol_indices_of_the_ishigami_function_match_the_published_values() -> None:
    def ishigami(u: np.ndarray) -> np.ndarray:
        x = -np.pi + 2 * np.pi * u
        out: np.ndarray = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
        return out

    frame = indices(ishigami, ["x1", "x2", "x3"], "sobol", 4096, seed=1).set_index("driver")
    # Published (a = 7, b = 0.1; Ishigami & Homma 1990, Sobol' 2001): S1 = 0.3139, 0.4424, 0;
    # ST = 0.5576, 0.4424, 0.2437. Tolerance 0.03 at 4,096 × 8 runs.
    assert frame["S1"].to_numpy() == pytest.approx([0.3139, 0.4424, 0.0], abs=0.03)
    assert frame["ST"].to_numpy() == pytest.approx([0.5576, 0.4424, 0.2437], abs=0.03)
    assert list(frame.sort_values("ST", ascending=False).index) == ["x1", "x2", "x3"]
    assert np.all(frame["ST_conf"] > 0) and np.all(frame["ST_conf"] < 0.05)
    morris = indices(ishigami, ["x1", "x2", "x3"], "morris", 200, seed=1)
    assert morris["driver"].iloc[-1] == "x3" or morris["mu_star"].iloc[-1] < morris["mu_star"].iloc[0]


def test_run_asks_and_sensitivity_from_the_command_line() -> None:
    result = runner.invoke(
        app,
        ["run", "reference", "-n", "200", "--sampling", "sobol", "--ask", "h100e@2030 >= 50e6", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sampling"] == "sobol"
    assert data["probabilities"][0]["question"] == "h100e@2030 >= 50e6"
    assert 0 <= data["probabilities"][0]["probability"] <= 1
    bad = runner.invoke(app, ["run", "reference", "-n", "20", "--sampling", "halton"])
    assert bad.exit_code == 2 and "lhs, sobol, random" in bad.output
    sens = runner.invoke(
        app, ["sensitivity", "reference", "--output", "h100e@2030", "--method", "morris", "-n", "4", "--json"]
    )
    assert sens.exit_code == 0, sens.output
    report = json.loads(sens.stdout)
    assert report["unit"] == "H100e" and report["drivers"] and report["tornado"]
    first = report["drivers"][0]
    assert first["mu_star"] >= max(row["mu_star"] for row in report["drivers"])
    wrong = runner.invoke(app, ["sensitivity", "reference", "--output", "nope@2030", "--method", "morris"])
    assert wrong.exit_code == 2 and "unknown figure" in wrong.output
