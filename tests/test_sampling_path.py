"""One sampling path: claims and validation draw library figures as the simulator draws them, and a
library figure used beside a model result belongs to the same run and sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from flopgrid.claims import LibraryDraws, draw_range, evaluate, load_ledger
from flopgrid.scenario import load_scenario
from flopgrid.simulate import prepare, simulate
from flopgrid.validation import (
    epoch_arithmetic_rows,
    reference_scenario,
    run_pue,
    validation_table,
)

SAMPLES, SEED = 64, 3


def year_index(years: np.ndarray, year: int) -> int:
    return int(np.flatnonzero(years == year)[0])


def test_library_draws_are_the_simulators_parameter_draws() -> None:
    scenario = load_scenario("seed-7t")
    _, params, axes = prepare(scenario, SAMPLES, SEED)
    draws = LibraryDraws(scenario, SAMPLES, SEED, [2030])
    y = year_index(axes.years, 2030)
    pue = params.get("datacentres", "pue")[:, y, 0, 0]
    price = params.get("accelerators", "price")[:, y, 0, axes.accelerators.index("GB300")]
    assert np.ptp(pue) > 0 and np.ptp(price) > 0  # both drawn, so equality below is not trivial
    np.testing.assert_array_equal(draws.draw("datacentres", "ai_campus", "pue", 2030), pue)
    np.testing.assert_array_equal(draws.draw("accelerators", "GB300", "price", 2030), price)


def test_a_parameter_outside_the_run_follows_the_simulators_distribution() -> None:
    # seed-7t buys no H100, so its H100 price comes from the design over every library item; the
    # reference scenario's run draws it itself. Both are PERT over the library's range, not triangular.
    samples = 2000
    outside = LibraryDraws(load_scenario("seed-7t"), samples, SEED, [2030]).draw(
        "accelerators", "H100", "price", 2030
    )
    _, params, axes = prepare("reference", samples, SEED)
    inside = params.get("accelerators", "price")[
        :, year_index(axes.years, 2030), 0, axes.accelerators.index("H100")
    ]
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
    np.testing.assert_allclose(np.quantile(outside, levels), np.quantile(inside, levels), rtol=0.01)
    assert not np.array_equal(np.sort(outside), np.sort(inside))  # drawn apart, same distribution


def test_figures_that_are_not_parameters_follow_the_default_rule_of_their_kind() -> None:
    u = np.array([0.05, 0.5, 0.95])
    # A range of 3x or more is a two-piece lognormal with low and high at P5 and P95 (a triangular
    # distribution would put P5 at 1.49 and P95 at 3.45).
    np.testing.assert_allclose(draw_range(u, 2.0, 1.0, 4.0, "W"), [1.0, 2.0, 4.0])
    # A narrow cost is a split PERT: the library value is its median (issue 13: central values are
    # medians), however lopsided the range; a plain PERT would put it at 1.07.
    mid = float(draw_range(np.array([0.5]), 1.0, 0.9, 1.5, "USD")[0])
    assert abs(mid - 1.0) < 1e-12


LEDGER = """\
name: pairing
samples: {samples}
seed: {seed}
{scenario}
sources:
  s: {{publication: test, date: 2024}}
inputs:
  pue: {{library: datacentres.ai_campus.pue, year: 2030}}
claims:
  - id: paired
    quote: the facility energy is the IT energy times the PUE
    source: s
    stated: {{ratio: 1}}
    inputs:
      facility: {{model: {{scenario: seed-7t, variable: energy, year: 2030, select: {{region: US}}}}}}
      it: {{model: {{scenario: seed-7t, variable: it_energy, year: 2030, select: {{region: US}}}}}}
    checks:
      - {{quantity: ratio, expected: facility / (it * pue), basis: energy over IT energy and PUE}}
  - id: unpaired
    quote: the PUE of the ledger's scenario
    source: s
    stated: {{pue_stated: 1.55}}
    checks:
      - {{quantity: pue_stated, expected: pue, basis: the library PUE}}
    implied:
      pue: {{expr: pue, unit: dimensionless}}
"""


def test_a_claims_library_input_is_the_pue_of_its_own_model_run(tmp_path: Path) -> None:
    # energy = it_energy × PUE sample by sample, so with the run's own PUE the ratio is exactly 1 in
    # every sample; with a PUE drawn apart it would spread over the PUE's range (1.1–1.3 and back).
    path = tmp_path / "ledger.yaml"
    path.write_text(LEDGER.format(samples=SAMPLES, seed=SEED, scenario=""))
    paired, _ = evaluate(load_ledger(path))
    assert paired.checks[0].expected_range.low == paired.checks[0].expected_range.high
    assert abs(paired.checks[0].expected_range.mid - 1.0) < 1e-12
    assert paired.verdict == "consistent"


def test_the_ledgers_scenario_uncertainty_is_respected(tmp_path: Path) -> None:
    (tmp_path / "narrow.yaml").write_text(
        "name: narrow\nuncertainty:\n  distributions:\n"
        "    datacentres.pue: {dist: uniform, low: 1.5, high: 1.6}\n"
    )
    path = tmp_path / "ledger.yaml"
    path.write_text(LEDGER.format(samples=SAMPLES, seed=SEED, scenario="scenario: narrow.yaml"))
    _, unpaired = evaluate(load_ledger(path))
    pue = unpaired.implied["pue"]
    assert 1.5 <= pue.low < pue.high <= 1.6
    # Without it, the library's range (1.1–1.3) applies and 1.55 is outside it.
    path.write_text(LEDGER.format(samples=SAMPLES, seed=SEED, scenario=""))
    _, plain = evaluate(load_ledger(path))
    assert plain.implied["pue"].high <= 1.3
    assert plain.verdict == "stretched"


def test_validation_pairs_the_model_it_rating_with_its_own_runs_pue() -> None:
    # A run whose IT rating is high exactly when its PUE is low: IT × PUE is 30 GW in every sample.
    # Multiplied by a PUE drawn apart, the row's band would be wide.
    pue = np.linspace(1.1, 1.3, SAMPLES)
    it_power = 30e9 / pue
    coords = {"sample": np.arange(SAMPLES), "year": [2030], "region": ["US"]}
    dims = ("sample", "year", "region")
    results = xr.Dataset(
        {
            "it_power": (dims, it_power[:, None, None]),
            "it_energy": (dims, (it_power * 8760.0)[:, None, None]),
            "energy": (dims, (it_power * 8760.0 * pue)[:, None, None]),
        },
        coords=coords,
    )
    np.testing.assert_allclose(run_pue(results, 2030, "US"), pue)
    draws = LibraryDraws(reference_scenario(), SAMPLES, SEED, [2023, 2024, 2030])
    rows = {row.figure.id: row for row in epoch_arithmetic_rows(draws, results)}
    low, mid, high = rows["epoch-v2-us-ai-2030"].ours
    np.testing.assert_allclose([low, mid, high], [30.0, 30.0, 30.0])


def test_validation_draws_the_reference_runs_own_parameters() -> None:
    scenario = reference_scenario()
    _, params, axes = prepare(scenario, SAMPLES, SEED)
    y = year_index(axes.years, 2024)
    h100 = axes.accelerators.index("H100")
    all_in = (
        params.get("accelerators", "it_power")[:, year_index(axes.years, 2023), 0, h100]
        * params.get("datacentres", "pue")[:, y, 0, 0]
    )
    table = validation_table(samples=SAMPLES, seed=SEED, include_epoch=False)
    gpu = next(row for row in table.rows if row.figure.id == "epoch-v1-gpu")
    np.testing.assert_allclose(gpu.ours, np.quantile(all_in, [0.05, 0.5, 0.95]))
    # And the table's model rows are that run's: the 2030 US row is its IT rating × its own PUE.
    results = simulate(scenario, samples=SAMPLES, seed=SEED)
    own = (
        results["it_power"].sel(year=2030, region="US").values
        * params.get("datacentres", "pue")[:, year_index(axes.years, 2030), 0, 0]
    )
    v2 = next(row for row in table.rows if row.figure.id == "epoch-v2-us-ai-2030")
    np.testing.assert_allclose(v2.ours, np.quantile(own / 1e9, [0.05, 0.5, 0.95]))
