"""Honest central values (issue 13, item 7): the deterministic run is the run at every input's median,
and a Monte Carlo median that parts from it (by more than 25% or in sign) is said in one line."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import special
from typer.testing import CliRunner

import flopgrid
from flopgrid.cli import app
from flopgrid.distributions import default_ppf, split_pert_ppf
from flopgrid.questions import CENTRAL_GAP, central_gaps, central_note
from flopgrid.report import render
from flopgrid.scenario import load_scenario
from flopgrid.simulate import prepare, run_uniforms

runner = CliRunner()

LOGNORMAL: dict[str, Any] = {
    "name": "lognormal-pue",
    "horizon": {"start": 2025, "end": 2027},
    "existing_industry": True,
    "uncertainty": {"distributions": {"datacentres.pue": {"dist": "lognormal", "median": 1.5, "sigma": 0.3}}},
}


def test_a_lognormal_inputs_deterministic_value_is_its_median_not_its_mean_or_mode() -> None:
    _, params, _ = prepare(LOGNORMAL, samples=1)
    assert params.get("datacentres", "pue")[0, 0, 0, 0] == pytest.approx(1.5, rel=1e-12)
    # and the run uses it: facility energy over IT energy is the PUE (the mean 1.5·e^0.045 = 1.569, the
    # mode 1.5·e^-0.09 = 1.371 would show here)
    r = flopgrid.simulate(LOGNORMAL)
    ratio = r["energy"].sum("region") / r["it_energy"].sum("region")
    np.testing.assert_allclose(ratio.values, 1.5, rtol=1e-9)
    assert r.attrs["sampling"] == "median"


def test_a_triangular_inputs_deterministic_value_is_its_median() -> None:
    scenario = {
        **LOGNORMAL,
        "uncertainty": {
            "distributions": {"datacentres.pue": {"dist": "triangular", "low": 1.1, "mode": 1.1, "high": 1.9}}
        },
    }
    _, params, _ = prepare(scenario, samples=1)
    # median of a right triangle on [1.1, 1.9] with the mode at 1.1: 1.9 − 0.8/√2
    assert params.get("datacentres", "pue")[0, 0, 0, 0] == pytest.approx(1.9 - 0.8 / np.sqrt(2), rel=1e-9)


def test_library_defaults_have_the_library_value_as_their_median() -> None:
    # a lopsided cost range: a plain PERT with the value as its mode would put the median at 1.07
    u = np.linspace(0.0005, 0.9995, 2_000)
    drawn = split_pert_ppf(u, 0.9, 1.0, 1.5)
    assert np.median(drawn) == pytest.approx(1.0, abs=1e-3)
    assert split_pert_ppf(np.array([0.5]), 0.9, 1.0, 1.5)[0] == 1.0
    assert drawn.min() >= 0.9 and drawn.max() <= 1.5
    # each half is half of a symmetric PERT: its quartile is Beta(3, 3)'s 75th percentile of the side
    q75 = 2 * special.betaincinv(3, 3, 0.75) - 1
    assert split_pert_ppf(np.array([0.75]), 0.9, 1.0, 1.5)[0] == pytest.approx(1.0 + 0.5 * q75, rel=1e-4)
    for kind in ("cost", "share", "other", "growth", "wide"):
        v, lo, hi = np.array([2.0]), np.array([1.0]), np.array([8.0])
        assert default_ppf(kind, np.array([0.5]), v, lo, hi)[0, 0] == pytest.approx(2.0, rel=1e-12)


def test_the_deterministic_run_is_the_monte_carlo_design_at_its_medians() -> None:
    # every drawn input at quantile ½ gives the same numbers as the deterministic run. The atlas
    # pipeline's per-campus draws (completion, delay) are not design dimensions: the central run counts
    # each campus at its expected value (tests/test_pipeline_drive.py), so this compares without it.
    mapping = load_scenario("reference").model_dump(mode="json") | {"pipeline": False}
    scenario, params, axes = prepare(mapping, samples=1)
    # The central design draws only explicit distributions (the reference has none): every default
    # distribution's median is its library value, which the comparison below checks.
    assert params.design is not None and params.design.central
    assert all(d.kind == "explicit" for d in params.design.dimensions)
    single = flopgrid.simulate(mapping)
    _, drawn, _ = prepare(mapping, samples=2, seed=3)
    assert drawn.design is not None
    half = run_uniforms(scenario, drawn, axes, drawn.design, np.full((1, len(drawn.design.dimensions)), 0.5))
    for name in ("h100e", "energy", "capex", "npv"):
        np.testing.assert_allclose(half[name].values, single[name].values, rtol=1e-12)


def _npv_runs(central: float, drawn: list[float]) -> tuple[xr.Dataset, xr.Dataset]:
    """A central run and a drawn run of the reference scenario, with NPV set to the given values."""
    one = flopgrid.simulate("reference", samples=1)
    many = flopgrid.simulate("reference", samples=len(drawn), seed=1)
    one = one.assign(npv=one["npv"].copy(data=np.array([central])))
    many = many.assign(npv=many["npv"].copy(data=np.array(drawn)))
    return one, many


@pytest.mark.parametrize(
    ("central", "drawn", "flagged", "opposite"),
    [
        (100e9, [90e9, 124e9, 130e9], False, False),  # 24% apart: no line
        (100e9, [90e9, 126e9, 130e9], True, False),  # 26% apart
        (100e9, [60e9, 74e9, 130e9], True, False),  # 26% below
        (100e9, [-5e9, -1e9, 130e9], True, True),  # opposite sign, though only 101% apart
        (-100e9, [-90e9, -80e9, -70e9], False, False),  # 20% apart, same sign
    ],
)
def test_the_central_line_appears_exactly_when_the_rule_says(
    central: float, drawn: list[float], flagged: bool, opposite: bool
) -> None:
    one, many = _npv_runs(central, drawn)
    gaps = [g for g in central_gaps(one, many) if g["figure"] == "npv"]
    assert bool(gaps) is flagged
    if flagged:
        (gap,) = gaps
        assert gap["opposite_sign"] is opposite
        assert gap["median"] == pytest.approx(float(np.median(drawn)))
        assert opposite or gap["relative_gap"] > CENTRAL_GAP
        line = central_note(gaps)
        assert line is not None and "\n" not in line
        assert f"{central / 1e9:+,.0f}".replace("-", "−") in line and "median of 3 samples" in line


def test_the_line_names_the_input_with_the_largest_rank_correlation() -> None:
    one, many = _npv_runs(100e9, [-1e9, -2e9, -3e9, -4e9, -5e9])
    inputs = pd.DataFrame({"a.x.noise": [0.3, 0.9, 0.1, 0.5, 0.7], "b.y.driver": [0.9, 0.7, 0.5, 0.3, 0.1]})
    (gap,) = [g for g in central_gaps(one, many, inputs) if g["figure"] == "npv"]
    assert gap["driver"] == "b.y.driver" and gap["driver_rank_correlation"] == pytest.approx(1.0)
    assert "skewed most by b.y.driver" in str(central_note([gap]))


def test_run_and_finance_print_the_line_for_seed_7t() -> None:
    # seed-7t's NPV at the median of its samples is far from (before the roadmap: of the other sign
    # than) its value at central inputs (the rental price's yearly decline is skewed): both commands
    # say so, in one line, in text and JSON
    text = runner.invoke(app, ["run", "seed-7t", "-n", "64", "--no-record"], terminal_width=400)
    assert text.exit_code == 0, text.output
    lines = [line for line in text.output.splitlines() if "Central inputs and Monte Carlo" in line]
    assert len(lines) == 1 and "NPV" in lines[0] and ("opposite sign" in lines[0] or "% apart" in lines[0])
    result = runner.invoke(app, ["finance", "seed-7t", "-n", "64", "--no-record", "--json"])
    assert result.exit_code == 0, result.output
    check = json.loads(result.output)["central_check"]
    assert check["note"] and check["gaps"][0]["figure"] == "npv"
    gap = check["gaps"][0]
    assert gap["opposite_sign"] or abs(gap["median"] - gap["central"]) > 0.25 * abs(gap["central"])
    # one sample: nothing to compare, no line
    single = runner.invoke(app, ["run", "seed-7t", "--no-record", "--json"])
    assert json.loads(single.output)["central_check"] == {"gaps": [], "note": None}


def test_the_report_carries_the_line() -> None:
    html = render(flopgrid.simulate("seed-7t", samples=64, seed=0))
    notes = re.findall(r'<p class="central-note">(.*?)</p>', html)
    assert len(notes) == 1 and "NPV" in notes[0] and "median of 64 samples" in notes[0]
    assert 'class="central-note"' not in render(flopgrid.simulate("seed-7t"))
