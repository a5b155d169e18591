"""The dashboard's view data through the API (issue 17): headline cards with ranges, distributions,
fans, probabilities, the plan panel, the sensitivity tornado and sweep charts, errors at their field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

import flopgrid
from flopgrid.charts import figures
from flopgrid.charts.answers import distribution
from flopgrid.plan import plan, rank
from flopgrid.questions import probability
from flopgrid.web import Settings
from flopgrid.web.views import CARDS, MARKET_CARD, cards
from test_web_api import Live, wait_job


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    live = Live(Settings(record=False, max_jobs=2))
    with httpx.Client(base_url=live.url, timeout=120) as http:
        yield http
    live.stop()


def simulate(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/api/simulate", json={"scenario": "seed-7t", "charts": True, **body})
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


def card_lines(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["name"]: line for card in view["cards"] for line in card["lines"]}


def test_cards_are_the_registry_totals_in_display_units(client: httpx.Client) -> None:
    view = simulate(client)
    # seed-7t is a programme alone: no world market, so no card of its price, nor a chart of it.
    assert [c["title"] for c in view["cards"]] == [title for title, _ in CARDS if title != MARKET_CARD]
    assert "price" not in view["charts"] and "compute" in view["charts"]
    lines = card_lines(view)
    totals = flopgrid.simulate("seed-7t").flopgrid.totals()
    assert lines["capex"]["unit"] == "B USD"
    assert lines["capex"]["value"] == pytest.approx(float(totals["capex"]["value"]) / 1e9)
    assert lines["h100e_end"]["value"] == pytest.approx(float(totals["h100e_end"]["value"]) / 1e6)
    assert lines["compute_hours"]["unit"] == "B H100e-hours"
    # The power card says which figure is a rating and which an average draw.
    assert "rating" in lines["it_power_end"]["label"]
    assert "average draw" in lines["facility_power_end"]["label"]
    assert lines["first_bottleneck"]["value"] == totals["first_bottleneck"]["value"]
    # One sample: no range, no fan, no distribution to show.
    assert lines["capex"]["low"] is None and lines["capex"]["high"] is None
    assert "fan" not in view["charts"] and view["distributions"] == {}


def test_monte_carlo_view_has_ranges_fans_distributions_and_says_median(client: httpx.Client) -> None:
    view = simulate(client, samples=60, seed=3)
    ds = flopgrid.simulate("seed-7t", samples=60, seed=3)
    capex = ds["capex"].sum([d for d in ds["capex"].dims if d != "sample"]).values / 1e9
    line = card_lines(view)["capex"]
    assert line["low"] == pytest.approx(np.quantile(capex, 0.05))
    assert line["high"] == pytest.approx(np.quantile(capex, 0.95))
    assert line["low"] < line["value"] < line["high"]
    for fan in ("fan", "fan_power", "fan_energy", "fan_capex", "fan_gap"):
        assert fan in view["charts"], fan
    for name in ("compute", "energy", "capex", "cash", "power_region"):
        assert "median of 60 samples" in view["charts"][name]["layout"]["title"]["text"], name
    assert "median" in view["charts"]["fan_power"]["layout"]["title"]["text"]
    dist = view["distributions"]["h100e_end"]
    bars, cdf = dist["data"]
    assert sum(bars["y"]) == pytest.approx(100.0)  # shares of samples, in %
    assert cdf["y"][0] == 0 and cdf["y"][-1] == 100
    assert dist["layout"]["xaxis"]["title"]["text"] == "M H100e"


def test_probability_is_the_cli_ask_answer(client: httpx.Client) -> None:
    question = {"figure": "h100e_end", "op": ">=", "threshold": 190}
    body = {"scenario": "seed-7t", "samples": 80, "seed": 1, "question": question}
    answer = client.post("/api/probability", json=body)
    assert answer.status_code == 200, answer.text
    expected = probability(flopgrid.simulate("seed-7t", samples=80, seed=1), "h100e_end >= 190e6")
    assert answer.json()["probability"] == pytest.approx(expected["probability"])
    assert 0 < expected["probability"] < 1  # a threshold inside the range: the check can fail
    assert "190 M H100e" in answer.json()["question"]
    one = client.post("/api/probability", json={**body, "samples": 1})
    assert one.status_code == 422 and "Monte Carlo" in one.text


def test_probability_of_a_monte_carlo_job(client: httpx.Client) -> None:
    started = client.post("/api/jobs", json={"kind": "montecarlo", "scenario": "reference", "samples": 50})
    job = wait_job(client, started.json()["id"], timeout=120)
    assert job["status"] == "done", job
    asked = client.get(
        f"/api/jobs/{job['id']}/probability", params={"figure": "capex", "op": "<", "threshold": 1e9}
    )
    assert asked.status_code == 200, asked.text
    expected = probability(flopgrid.simulate("reference", samples=50, seed=0), "capex < 1e18")
    assert asked.json()["probability"] == pytest.approx(expected["probability"])
    views = client.get(f"/api/jobs/{job['id']}/charts").json()
    assert card_lines(views)["capex"]["low"] is not None and "fan_capex" in views["charts"]


def test_plan_job_shows_the_plan_its_totals_and_a_readable_shadow_price_axis(client: httpx.Client) -> None:
    started = client.post("/api/jobs", json={"kind": "plan", "scenario": "target-100m-h100e-2030"})
    job = wait_job(client, started.json()["id"], timeout=180)
    assert job["status"] == "done", job
    views = client.get(f"/api/jobs/{job['id']}/charts").json()
    ds = plan("target-100m-h100e-2030")
    panel = views["plan"]
    assert panel["discounted_cost_busd"] == pytest.approx(ds.attrs["discounted_cost"] / 1e9)
    assert panel["bottlenecks"] == list(rank(ds).text.head(10))
    assert any("GW" in text for text in panel["bottlenecks"])
    assert {row["region"] for row in panel["by_region"]} >= {"US"}
    assert [row["year"] for row in panel["build_plan"]] == ds.year.values.tolist()
    # The totals are the plan's: 100 M H100e in service at the end, its capex.
    lines = card_lines(views)
    assert lines["h100e_end"]["value"] == pytest.approx(100.0, rel=1e-6)
    assert lines["capex"]["value"] == pytest.approx(float(ds["capex"].sum()) / 1e9)
    ranked = rank(ds)
    assert lines["bottleneck"]["value"] == ranked[ranked.constraint != "compute-target-lower"].text.iloc[0]
    # The main charts draw the planned system.
    assert max(sum(y or 0 for y in t["y"]) for t in views["charts"]["compute"]["data"][:-1]) > 0
    layout = views["charts"]["shadow_prices"]["layout"]
    assert "billion USD" in layout["yaxis"]["title"]["text"]
    assert all("per " in t["name"] for t in views["charts"]["shadow_prices"]["data"])


def test_sensitivity_job_draws_a_tornado(client: httpx.Client) -> None:
    body = {"kind": "sensitivity", "scenario": "reference", "method": "morris", "output": "h100e@2030"}
    job = wait_job(client, client.post("/api/jobs", json=body).json()["id"], timeout=180)
    assert job["status"] == "done", job
    charts = client.get(f"/api/jobs/{job['id']}/charts").json()["charts"]
    tornado = charts["tornado"]
    low, high = tornado["data"]
    # The largest swing is drawn on top (Plotly draws the last category highest).
    top = max(job["result"]["tornado"], key=lambda r: r["swing"])
    assert low["y"][-1] == top["driver"]
    assert low["x"][-1] + low["base"] == pytest.approx(top["low"])
    assert high["x"][-1] + high["base"] == pytest.approx(top["high"])
    assert "H100e" in tornado["layout"]["xaxis"]["title"]["text"]


def test_sweep_job_draws_lines(client: httpx.Client) -> None:
    body = {"kind": "sweep", "scenario": "seed-7t", "sweep": {"assumption": "campus_gw", "values": [2, 4]}}
    job = wait_job(client, client.post("/api/jobs", json=body).json()["id"], timeout=180)
    assert job["status"] == "done", job
    charts = client.get(f"/api/jobs/{job['id']}/charts").json()["charts"]
    line = charts["h100e_end"]
    assert line["data"][0]["x"] == [2, 4]
    table = job["result"]["table"]
    assert line["data"][0]["y"] == pytest.approx([row["h100e_end [H100e]"] / 1e6 for row in table])
    assert line["layout"]["yaxis"]["title"]["text"] == "M H100e"


def test_a_scenario_that_buys_chips_names_them(client: httpx.Client) -> None:
    described = client.get("/api/scenarios/hundreds-of-billions").json()
    assert described["assumptions"]["chip"] is None  # no chip mix to edit …
    assert described["chips_in_use"] == ["Rubin"]  # … yet its campuses and purchases are Rubin


def test_an_out_of_horizon_start_year_is_blamed_on_the_start_year(client: httpx.Client) -> None:
    # With the number of fabs also edited, the fab whose start falls before the new first year used
    # to take the blame ("Number of fabs" outlined).
    body = {"scenario": "seed-7t", "assumptions": {"fabs": 5, "start": 2030}}
    response = client.post("/api/simulate", json=body)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "assumptions", "start"]]


def test_a_figure_equal_in_every_sample_up_to_rounding_is_one_bar() -> None:
    # A figure that differs only by float rounding between samples (the market's revenue of others in
    # years without the programme) cannot be cut into 40 bins; it is one bar, not a server error.
    values = 1.0e12 * (1.0 + np.array([0.0, 1e-15, -1e-15, 2e-15]))
    figure = distribution(values, "capex")
    bars = figure["data"][0]
    assert sum(bars["y"]) == pytest.approx(100.0)
    assert max(bars["y"]) == pytest.approx(100.0)


def test_the_price_of_compute_card_is_the_world_markets() -> None:
    # With the existing industry the world market clears on the world's fleet: the card shows its price
    # at the end (P5-P95 over samples) and compute's share of world electricity, as the totals say.
    ds = flopgrid.simulate("reference", samples=8, seed=2)
    assert "price" in figures(ds)  # and its chart
    card = next(c for c in cards(ds) if c["title"] == MARKET_CARD)
    lines = {line["name"]: line for line in card["lines"]}
    price = ds["market_price"].isel(year=-1).values
    assert lines["market_price_end"]["unit"] == "USD/hour"
    assert lines["market_price_end"]["value"] == pytest.approx(float(np.median(price)))
    assert lines["market_price_end"]["low"] == pytest.approx(float(np.quantile(price, 0.05)))
    share = ds["compute_electricity_share"].isel(year=-1).values * 100
    assert lines["compute_electricity_share_end"]["unit"] == "%"
    assert lines["compute_electricity_share_end"]["value"] == pytest.approx(float(np.median(share)))
