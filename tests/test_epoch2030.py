"""The Epoch AI 2030 validation case: flopgrid configured with Epoch's inputs, compared with its figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flopgrid.epoch2030 import INPUTS, PUBLISHED, compare, scenario
from flopgrid.simulate import prepare


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return compare(samples=1_500, seed=0)


def test_compare_has_one_row_per_figure_with_the_agreed_columns(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == [
        "figure", "unit", "ours_p10", "ours_p50", "ours_p90",
        "theirs_p10", "theirs_p50", "theirs_p90", "ratio_p50", "passed",
    ]  # fmt: skip
    assert len(frame) == len(PUBLISHED)
    assert np.all(frame["ours_p10"] < frame["ours_p50"]) and np.all(frame["ours_p50"] < frame["ours_p90"])
    with_median = frame[np.isfinite(frame["theirs_p50"])]
    np.testing.assert_allclose(with_median["ratio_p50"], with_median["ours_p50"] / with_median["theirs_p50"])
    expected = (with_median["ratio_p50"] >= 0.5) & (with_median["ratio_p50"] <= 2.0)
    assert list(with_median["passed"]) == list(expected)


def test_chip_production_bound_run_is_within_a_factor_of_two_of_epochs(frame: pd.DataFrame) -> None:
    row = frame[frame["figure"].str.contains("chip-production")].iloc[0]
    assert row["theirs_p50"] == 9e29
    assert 0.5 <= row["ratio_p50"] <= 2.0
    assert row["passed"]


def test_single_campus_power_bound_run_lies_in_epochs_range(frame: pd.DataFrame) -> None:
    row = frame[frame["figure"].str.contains("single")].iloc[0]
    assert row["theirs_p10"] <= row["ours_p50"] <= row["theirs_p90"]
    # power binds before chips, as in the report
    chips = frame[frame["figure"].str.contains("chip-production")].iloc[0]
    assert row["ours_p50"] < chips["ours_p50"]


def test_the_configuration_draws_epochs_input_percentiles() -> None:
    _, params, _ = prepare(scenario(True), samples=20_000, seed=1)
    for name, (p10, p50, p90, _unit) in INPUTS.items():
        table, parameter = name.split(".")
        drawn = params.get(table, parameter)[:, -1, 0, 0]  # 2030
        scale = 1.0
        if parameter == "largest_campus":
            scale = 1 / float(params.base("datacentres", "pue")[0][0, 0, 0])
        # metalog through Epoch's P10/P50/P90; 20,000 draws (correlated: the copula undoes LHS strata)
        # recover them within 2%
        assert np.quantile(drawn, [0.1, 0.5, 0.9]) == pytest.approx(
            np.array([p10, p50, p90]) * scale, rel=0.02
        )
