"""The standalone HTML report: one file, the dashboard's charts, renders with no network at all."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from typer.testing import CliRunner

import flopgrid
from flopgrid.charts import figures
from flopgrid.cli import app as cli_app
from flopgrid.errors import FlopgridError
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
