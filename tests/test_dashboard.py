"""The dashboard answers up front (issue 17), in Debian's Chromium driven by Playwright: headline cards
above the fold, a probability, the planner's plan, a sensitivity tornado, errors at their field, the
scenario's own chip, rebalanced shares, the runs list and a phone-width layout."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

import flopgrid
from flopgrid.plan import plan
from flopgrid.questions import probability
from flopgrid.web import Settings
from flopgrid.web.state import app_services
from flopgrid.web.views import CARDS, MARKET_CARD, cards
from test_web_api import Live

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"{CHROMIUM} is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    store = tmp_path_factory.mktemp("store") / "runs.duckdb"
    live = Live(Settings(store_path=str(store), max_jobs=2))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def dashboard(browser: Browser, server: Live) -> Iterator[Page]:
    # One page for the module, at a laptop's 1280×800: "above the fold" is measured there.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.goto(server.url + "/")
    opened.wait_for_function("Number(document.body.dataset.drawn || 0) >= 1", timeout=60_000)
    yield opened
    context.close()


def runs(page: Page) -> int:
    return int(page.evaluate("Number(document.body.dataset.drawn || 0)"))


def after_run(page: Page, action: Callable[[], Any]) -> None:
    """Do ``action`` and wait until the live run it starts is back and drawn."""
    before = runs(page)
    action()
    page.wait_for_function(f"Number(document.body.dataset.drawn || 0) > {before}", timeout=60_000)


@pytest.fixture
def page(dashboard: Page) -> Page:
    """The dashboard on the unedited seed-7t, one sample."""
    if dashboard.input_value("#scenario-select") != "seed-7t":
        after_run(dashboard, lambda: dashboard.select_option("#scenario-select", "seed-7t"))
    if dashboard.input_value("#samples") != "1":
        after_run(dashboard, lambda: dashboard.fill("#samples", "1"))
    after_run(dashboard, lambda: dashboard.click("#reset"))
    return dashboard


def shown_number(text: str) -> float:
    return float(text.split()[0].replace(",", ""))


def test_headline_cards_are_above_the_fold_and_are_the_runs_totals(page: Page) -> None:
    expected = cards(flopgrid.simulate("seed-7t"))
    assert [c["title"] for c in expected] == [title for title, _ in CARDS if title != MARKET_CARD]
    for card in expected:
        box = page.locator(f'.card[data-card="{card["title"]}"]')
        bounds = box.bounding_box()
        assert bounds is not None and bounds["y"] + bounds["height"] <= 800, card["title"]
        for line in card["lines"]:
            value = box.locator(f'[data-figure="{line["name"]}"] .value').inner_text()
            if isinstance(line["value"], str):
                assert value == line["value"]
            else:  # three significant digits
                assert shown_number(value) == pytest.approx(line["value"], rel=5e-3), line["name"]
                assert value.endswith(line["unit"]), line["name"]
    power = page.inner_text('.card[data-card="Power"]')
    assert "rating" in power and "average draw" in power


def test_the_price_of_compute_card_shows_for_the_world(page: Page) -> None:
    after_run(page, lambda: page.select_option("#scenario-select", "reference"))
    # With the world's fleet the price chart is drawn too (seed-7t, a programme alone, has none).
    assert page.locator("#chart-price .main-svg").count() >= 1
    box = page.locator(f'.card[data-card="{MARKET_CARD}"]')
    bounds = box.bounding_box()
    assert bounds is not None and bounds["y"] + bounds["height"] <= 800
    expected = next(c for c in cards(flopgrid.simulate("reference")) if c["title"] == MARKET_CARD)
    for line in expected["lines"]:
        value = box.locator(f'[data-figure="{line["name"]}"] .value').inner_text()
        assert shown_number(value) == pytest.approx(line["value"], rel=5e-3), line["name"]
        assert value.endswith(line["unit"]), line["name"]


def test_monte_carlo_ranges_probability_and_distribution(page: Page) -> None:
    asked = int(page.evaluate("Number(document.body.dataset.asked || 0)"))
    page.click("#ask-run")
    page.wait_for_function(f"Number(document.body.dataset.asked) > {asked}")
    assert "run Monte Carlo" in page.inner_text("#ask-answer")
    after_run(page, lambda: page.fill("#samples", "100"))
    assert "P5–P95" in page.inner_text('.card[data-card="Total cost"]')
    assert page.locator("#chart-fan_power .main-svg").count() >= 1
    title = page.evaluate("document.getElementById('chart-compute').layout.title.text")
    assert "median of 100 samples" in title
    page.select_option("#dist-figure", "capex")
    dist = page.evaluate("document.getElementById('chart-distribution').layout.title.text")
    assert "capex" in dist and "100 samples" in dist
    page.select_option("#ask-figure", "h100e_end")
    page.select_option("#ask-op", ">=")
    page.fill("#ask-threshold", "190")
    assert page.inner_text("#ask-unit") == "M H100e"
    page.click("#ask-run")
    page.wait_for_function(f"Number(document.body.dataset.asked) > {asked + 1}")
    shown = float(page.get_attribute("#ask-answer", "data-probability") or "nan")
    expected = probability(flopgrid.simulate("seed-7t", samples=100, seed=0), "h100e_end >= 190e6")
    assert shown == pytest.approx(expected["probability"])
    assert f"{expected['probability'] * 100:.1f} %" in page.inner_text("#ask-answer")


def test_monte_carlo_job_shows_its_ranges_and_answers_its_probability(page: Page) -> None:
    page.fill("#job-samples", "300")
    page.click("#job-montecarlo")
    page.wait_for_function("(document.body.dataset.viewDrawn || '').startsWith('job:')", timeout=180_000)
    assert "Monte Carlo, 300 samples" in page.inner_text("#view-source")
    assert "P5–P95" in page.inner_text('.card[data-card="Compute"]')
    assert page.locator("#chart-fan_capex .main-svg").count() >= 1
    asked = int(page.evaluate("Number(document.body.dataset.asked || 0)"))
    page.select_option("#ask-figure", "h100e_end")
    page.select_option("#ask-op", "<")
    page.fill("#ask-threshold", "190")
    page.click("#ask-run")
    page.wait_for_function(f"Number(document.body.dataset.asked) > {asked}")
    # The job ran seed-7t at the page's seed 0: the answer is the CLI's --ask of that run.
    expected = probability(flopgrid.simulate("seed-7t", samples=300, seed=0), "h100e_end < 190e6")
    assert float(page.get_attribute("#ask-answer", "data-probability") or "nan") == pytest.approx(
        expected["probability"]
    )
    page.fill("#job-samples", "5000")
    after_run(page, lambda: page.click("#back-live"))
    assert page.evaluate("document.body.dataset.view") == "live"


def test_planner_shows_the_plan_its_totals_and_readable_shadow_prices(page: Page) -> None:
    after_run(page, lambda: page.select_option("#scenario-select", "target-100m-h100e-2030"))
    page.click("#job-plan")
    page.wait_for_function("(document.body.dataset.viewDrawn || '').startsWith('job:')", timeout=180_000)
    ds = plan("target-100m-h100e-2030")
    billions = float(ds.attrs["discounted_cost"]) / 1e9
    # Four significant digits with thousands separators, as the page's fmt(value, 4) shows it.
    cost = f"{float(f'{billions:.4g}'):,.6f}".rstrip("0").rstrip(".")
    assert f"Discounted cost {cost} B USD" in page.inner_text("#plan-cost")
    bottlenecks = page.locator("#plan-bottlenecks li").all_inner_texts()
    assert len(bottlenecks) == 10 and any("GW" in b for b in bottlenecks)
    assert page.locator("#plan-where tr").count() > 1 and page.locator("#plan-when tr").count() == 7
    compute = page.inner_text('.card[data-card="Compute"] [data-figure=h100e_end] .value')
    assert shown_number(compute) == pytest.approx(100.0)
    installed = page.evaluate(
        "document.getElementById('chart-compute').data.slice(0, -1).map(t => t.y.at(-1))"
    )
    assert sum(installed) == pytest.approx(100.0)
    axis = page.evaluate("document.getElementById('chart-shadow_prices').layout.yaxis.title.text")
    assert "billion USD" in axis
    chart = page.locator("#chart-shadow_prices").bounding_box()
    legend = page.locator("#chart-shadow_prices .legend").bounding_box()
    assert chart is not None and legend is not None
    assert legend["y"] + legend["height"] <= chart["y"] + chart["height"] + 1  # not cut off
    assert legend["x"] + legend["width"] <= chart["x"] + chart["width"] + 1
    # Switching the scenario clears what described the plan.
    after_run(page, lambda: page.select_option("#scenario-select", "seed-7t"))
    assert page.locator("#plan-panel").is_hidden() and page.inner_text("#job-status") == ""


def test_sensitivity_job_draws_its_tornado(page: Page) -> None:
    after_run(page, lambda: page.select_option("#scenario-select", "reference"))
    page.select_option("#sens-output", "h100e_end")
    page.select_option("#sens-method", "morris")
    page.click("#job-sensitivity")
    page.wait_for_function(
        "(document.body.dataset.analysis || '').startsWith('sensitivity')", timeout=180_000
    )
    drivers = page.evaluate("document.getElementById('analysis-chart-tornado').data[0].y")
    table = page.locator("#sens-table tr").all_inner_texts()
    assert drivers and len(table) > 1
    assert drivers[-1] == page.locator("#tornado-table tr:nth-child(2) td:first-child").inner_text()
    assert page.locator("#analysis-chart-tornado .main-svg").count() >= 1


def test_errors_are_shown_at_their_field_and_the_charts_marked_stale(page: Page) -> None:
    after_run(page, lambda: page.fill("#fabs", "5"))
    page.fill("#start", "2030")
    page.wait_for_function("document.body.dataset.state === 'invalid'", timeout=30_000)
    assert "horizon" in page.inner_text("#err-start")
    assert page.inner_text("#err-fabs") == ""
    assert "bad" in (page.get_attribute("#start", "class") or "")
    assert "invalid" not in (page.get_attribute("[data-field=fabs]", "class") or "")
    assert page.locator("#stale-note").is_visible()
    assert "stale" in (page.get_attribute("body", "class") or "")
    page.fill("#job-samples", "10000000")
    page.click("#job-montecarlo")
    page.wait_for_function("document.getElementById('err-job').textContent.length > 0")
    assert "50,000" in page.inner_text("#err-job") and page.inner_text("#err-samples") == ""
    page.fill("#job-samples", "5000")


def test_the_scenarios_chip_is_shown_and_compare_is_reset_on_switching(page: Page) -> None:
    page.select_option("#compare-0", "seed-7t")
    page.select_option("#compare-1", "reference")
    page.click("#compare-run")
    page.wait_for_function("document.body.dataset.compared === 'seed-7t|reference'", timeout=60_000)
    after_run(page, lambda: page.select_option("#scenario-select", "hundreds-of-billions"))
    chip = page.evaluate("document.getElementById('chip').selectedOptions[0].textContent")
    assert "Rubin" in chip
    assert page.inner_text("#compare-table") == "" and page.evaluate("document.body.dataset.compared") is None


def test_editing_one_power_share_rebalances_the_others(page: Page) -> None:
    shares = {
        n: float(page.input_value(f"#power_mix-{n}"))
        for n in ("gas_ccgt", "solar_storage", "nuclear_restart")
    }
    page.fill("#power_mix-gas_ccgt", "0.5")
    after_run(page, lambda: page.press("#power_mix-gas_ccgt", "Tab"))
    assert page.evaluate("document.body.dataset.state") == "ok"
    rest = shares["solar_storage"] + shares["nuclear_restart"]
    for name in ("solar_storage", "nuclear_restart"):
        assert float(page.input_value(f"#power_mix-{name}")) == pytest.approx(
            shares[name] * 0.5 / rest, abs=1e-4
        )


def test_runs_list_shows_a_stored_run(page: Page, server: Live) -> None:
    ds = flopgrid.simulate("reference")
    services = app_services(server.server.config.app)
    run_id = services.runs.record(
        ds, flopgrid.load_scenario("reference"), engine="simulate", seed=0, samples=1
    )
    page.click("#runs-refresh")
    page.wait_for_selector(f'#runs-list button[data-run="{run_id}"]')
    page.click(f'#runs-list button[data-run="{run_id}"]')
    page.wait_for_function(f"document.body.dataset.viewDrawn === 'run:{run_id}'", timeout=60_000)
    assert run_id in page.inner_text("#view-source")


def test_a_damaged_permalink_says_so(browser: Browser, server: Live) -> None:
    context = browser.new_context()
    fresh = context.new_page()
    fresh.goto(server.url + "/#p=AAAAnot-a-link")
    fresh.wait_for_function("document.body.dataset.permalink === 'damaged'", timeout=60_000)
    assert "damaged" in fresh.inner_text("#err-permalink")
    fresh.wait_for_function("Number(document.body.dataset.drawn || 0) >= 1", timeout=60_000)
    assert "damaged" in fresh.inner_text("#err-permalink")  # still there after the first run
    context.close()


def test_no_sideways_scrolling_at_phone_width(browser: Browser, server: Live) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.goto(server.url + "/")
    phone.wait_for_function("Number(document.body.dataset.drawn || 0) >= 1", timeout=60_000)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert re.search(r"\d", phone.inner_text('.card[data-card="Compute"]'))
    context.close()
