"""The standalone HTML report: one file, the dashboard's charts, renders with no network at all."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser
from typer.testing import CliRunner

import flopgrid
from flopgrid.charts import figures
from flopgrid.cli import app as cli_app
from flopgrid.errors import FlopgridError
from flopgrid.library.atlas import load_atlas
from flopgrid.report import render, write_report
from test_web_browser import browser, needs_chromium

# One browser per module (the fixture is imported from the dashboard tests): two Playwright drivers
# must not run at once, and module fixtures end before the next module starts.
__all__ = ["browser"]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "seed.html"
    result = CliRunner().invoke(cli_app, ["report", "seed-7t", "-o", str(path), "--samples", "20", "--json"])
    assert result.exit_code == 0, result.output
    return path


def test_report_is_one_self_contained_file(report_file: Path) -> None:
    text = report_file.read_text(encoding="utf-8")
    # Nothing is loaded from elsewhere: no src= or href= attribute pointing anywhere.
    assert not re.search(r"""<(script|link|img|iframe)[^>]*(src|href)=""", text)
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    expected = set(figures(flopgrid.simulate("seed-7t", samples=20)))
    assert {f"chart-{name}" for name in expected} <= set(re.findall(r'id="(chart-[a-z_]+)"', text))


def test_report_maps_the_atlas_without_a_url(report_file: Path) -> None:
    text = report_file.read_text(encoding="utf-8")
    found = re.search(r"const FIGURES = (\{.*?\});\n", text, re.S)
    assert found is not None
    atlas_map = json.loads(found.group(1).replace("<\\/", "</"))["atlas_map"]
    drawn = {i for t in atlas_map["data"] if t.get("mode") == "markers" for i in t["customdata"]}
    assert drawn == {a.id for a in load_atlas().assets if a.located}
    # Plain scatter traces over shipped land outlines: nothing for plotly.js to fetch.
    assert {t["type"] for t in atlas_map["data"]} == {"scatter"} and "http" not in json.dumps(atlas_map)


@needs_chromium
def test_report_renders_offline_without_any_request(report_file: Path, browser: Browser) -> None:
    context = browser.new_context(offline=True)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort()
    )
    page.goto(report_file.as_uri())
    page.wait_for_function("document.body.dataset.rendered !== undefined", timeout=60_000)
    rendered = int(page.evaluate("Number(document.body.dataset.rendered)"))
    assert rendered == page.locator(".chart").count() >= 9
    assert page.locator(".chart .main-svg").count() >= rendered
    assert requests == [report_file.as_uri()]  # the file itself, and nothing else
    fan = page.evaluate("document.getElementById('chart-fan').layout.title.text")
    assert "20 samples" in fan
    context.close()


def test_report_escapes_names_from_the_scenario(tmp_path: Path) -> None:
    hostile = "</script><script>alert(1)</script>"
    results = flopgrid.simulate({"name": hostile, "horizon": {"start": 2025, "end": 2027}})
    text = render(results)
    assert hostile not in text
    assert "&lt;/script&gt;" in text


def test_report_refuses_other_extensions_and_missing_folders(tmp_path: Path) -> None:
    results = flopgrid.simulate("reference")
    with pytest.raises(FlopgridError, match=r"\.html"):
        write_report(results, tmp_path / "report.pdf")
    with pytest.raises(FlopgridError, match="does not exist"):
        write_report(results, tmp_path / "missing" / "report.html")
    result = CliRunner().invoke(cli_app, ["report", "reference", "-o", str(tmp_path / "r.txt")])
    assert result.exit_code == 2
    assert not (tmp_path / "r.txt").exists()


def test_report_of_a_bad_scenario_is_one_line_and_no_file(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("name: bad\nhorizon: {start: 2030, end: 2020}\n", encoding="utf-8")
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli_app, ["report", str(scenario), "-o", str(out)])
    assert result.exit_code == 2
    assert "horizon" in result.output and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.skipif(
    importlib.util.find_spec("flopgrid.plan") is None, reason="flopgrid.plan is not installed"
)
def test_report_of_a_planner_run_shows_its_shadow_prices(tmp_path: Path) -> None:
    from flopgrid.plan import plan

    results = plan(flopgrid.load_scenario("target-100m-h100e-2030"))
    text = write_report(results, tmp_path / "plan.html").read_text(encoding="utf-8")
    assert 'id="chart-shadow_prices"' in text
    assert '"Planner shadow prices"' in text


# ------------------------------------------------------------------ a report worth sending (issue 17)


@pytest.fixture(scope="module")
def monte_carlo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "seed-1000.html"
    result = CliRunner().invoke(cli_app, ["report", "seed-7t", "-o", str(path), "--samples", "1000"])
    assert result.exit_code == 0, result.output
    return path


def _figures_of(text: str) -> dict[str, Any]:
    found = re.search(r"const FIGURES = (\{.*?\});\n", text, re.S)
    assert found is not None
    figures_json: dict[str, Any] = json.loads(found.group(1).replace("<\\/", "</"))
    return figures_json


@needs_chromium
def test_monte_carlo_report_is_narrow_and_answers_up_front(
    monte_carlo_report: Path, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(monte_carlo_report.as_uri())
    page.wait_for_function("document.body.dataset.rendered !== undefined", timeout=60_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    summary = page.locator("#summary").inner_text()
    assert "What it buys" in summary and "What binds, when" in summary and "P5–P95" in summary
    assert "$7T programme" in summary  # the scenario's description
    # Headline cards: each numeric figure with its range, in display units and the schema's labels.
    figures = page.locator("#headline .figure")
    keys = figures.evaluate_all("els => els.map(e => e.dataset.key)")
    for key in ("capex", "opex", "h100e_end", "compute_hours", "it_power_end", "facility_power_end"):
        assert key in keys
    for key in ("lcoc_per_h100e_hour", "npv", "irr", "funding_gap", "first_bottleneck"):
        assert key in keys
    for key in keys:
        if key != "first_bottleneck":
            assert re.match(
                r"P5–P95 \S+ – \S+", page.locator(f'#headline [data-key="{key}"] .range').inner_text()
            )
    power = page.locator("#headline").inner_text()
    assert "IT power rating" in power and "average facility power draw" in power
    assert page.locator('#headline [data-key="irr"] .value').inner_text().endswith("%/year")
    # Assumptions with their sources: a library URL and its publisher, and the tranches.
    assumptions = page.locator("#assumptions").inner_text()
    assert "https://epoch.ai/data/machine-learning-hardware" in assumptions and "Epoch AI" in assumptions
    assert "Rubin" in assumptions
    assert "project debt" in page.locator("#tranches").inner_text()
    # Charts: the fan knows its samples, the median charts say so.
    fan = page.evaluate("document.getElementById('chart-fan').layout.title.text")
    assert "1,000 samples" in fan and "set samples" not in fan
    compute = page.evaluate("document.getElementById('chart-compute').layout.title.text")
    assert "median of 1,000 samples" in compute
    page.close()


def test_report_tables_use_display_units_and_labels(monte_carlo_report: Path) -> None:
    text = monte_carlo_report.read_text(encoding="utf-8")
    totals = text[text.index('<section id="totals">') : text.index('<section id="per-year">')]
    assert 'data-key="payback_year"><td>payback year</td><td>20' in totals  # a year, not "2,034"
    # No year-valued figure is written with a thousands separator (a total of 2,004 B USD may be).
    years = re.findall(r'data-key="(\w*year\w*)"><td>[^<]*</td><td>([^<]*)<', totals)
    assert years and all("," not in shown for _, shown in years)
    assert ">irr<" not in totals and "%/year" in totals and "TWh" in totals and "e+" not in totals
    per_year = text[text.index('<section id="per-year">') :]
    assert "h100e_p5" not in per_year and 'class="range"' in per_year
    figures = _figures_of(text)
    for name, figure in figures.items():
        assert figure["layout"]["yaxis"]["automargin"] is True, name


def test_deterministic_report_has_no_fan_placeholder(tmp_path: Path) -> None:
    text = write_report(flopgrid.simulate("seed-7t"), tmp_path / "one.html").read_text(encoding="utf-8")
    assert 'id="chart-fan"' not in text and "set samples" not in text
    assert "median of" not in text  # one sample: nothing is a median
    assert 'id="summary"' in text and 'id="headline"' in text and "P5–P95" not in text


@needs_chromium
def test_report_prints_to_pdf_without_cut_tables(monte_carlo_report: Path, browser: Browser) -> None:
    # A4 with 12 mm margins leaves about 700 CSS px: lay the page out at that width in print media.
    page = browser.new_page(viewport={"width": 700, "height": 1000})
    page.goto(monte_carlo_report.as_uri())
    page.wait_for_function("document.body.dataset.rendered !== undefined", timeout=60_000)
    page.emulate_media(media="print")
    widths = page.evaluate(
        "[...document.querySelectorAll('table')].map(t => t.getBoundingClientRect().width)"
    )
    assert len(widths) >= 6
    assert max(widths) <= 700
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    page.close()


def test_assumptions_cite_publisher_title_date_and_url() -> None:
    from flopgrid.assumptions import cite, current, library_rows
    from flopgrid.web.assumptions import current as web_current

    assert web_current is current  # the dashboard reads the same key assumptions as the report
    [work] = cite("Epoch AI, Machine Learning Hardware (2025), CC-BY 4.0, https://epoch.ai/data/x")
    assert (work.publisher, work.title, work.date, work.url) == (
        "Epoch AI",
        "Machine Learning Hardware",
        "2025",
        "https://epoch.ai/data/x",
    )
    first, second = cite("Korea Herald (2024-04-24): M15X; TrendForce (2025-09)")
    assert (first.publisher, first.date, first.title) == ("Korea Herald", "2024-04-24", "M15X")
    assert (second.publisher, second.date) == ("TrendForce", "2025-09")
    rows = library_rows(flopgrid.load_scenario("seed-7t"))
    used = set(zip(rows.table, rows.id, strict=True))
    assert {("accelerators", "Rubin"), ("power_sources", "gas_ccgt"), ("regions", "UAE")} <= used
    assert ("accelerators", "MI300X") not in used
    assert not rows.duplicated(["table", "id", "parameter"]).any()
