"""Standalone HTML reports: a run's answers, inputs, charts and tables in one file that works offline.

The report opens with a summary in words and headline cards (each figure with its P5–P95 range in
Monte Carlo mode), then the scenario's assumptions with their library sources, its financing
tranches, the charts and the tables, all in the schema's display units; it prints to PDF without
cut tables. The file inlines plotly.js (from the installed ``plotly`` package) and the figures' JSON,
so it opens from a disk, an e-mail or an archive with no network at all.

>>> import flopgrid
>>> from flopgrid.report import write_report
>>> path = write_report(flopgrid.simulate("reference"), "reference.html")
>>> path.stat().st_size > 1_000_000  # plotly.js is inside
True
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable
from contextlib import suppress
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from flopgrid.charts import figures
from flopgrid.charts.atlas import asset_map, pipeline
from flopgrid.distributions import SAMPLING
from flopgrid.errors import FlopgridError
from flopgrid.library.atlas import load_atlas
from flopgrid.report.inputs import builds_in_words, key_assumptions, library_sources, tranches
from flopgrid.report.numbers import (
    Figures,
    binding_spans,
    cards,
    first_binding,
    summary,
    totals_table,
    year_tables,
)
from flopgrid.scenario import Scenario, load_scenario
from flopgrid.uncertainty import central_check
from flopgrid.version import __version__

TITLES = {
    "compute": "Compute",
    "power_source": "Power by source",
    "power_region": "Power by region",
    "energy": "Energy and emissions",
    "capex": "Capex by asset class",
    "opex": "Opex by asset class",
    "bottlenecks": "Bottleneck timeline",
    "cash": "Cash flows and funding gap",
    "price": "Price of compute",
    "fan": "Monte Carlo fan chart",
    "shadow_prices": "Planner shadow prices",
    "atlas": "Atlas pipeline (named campuses)",
    "atlas_map": "Atlas map (named assets)",
}
#: Nothing may be fetched: the report is self-contained by construction, and the browser enforces it.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:"
)
STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em;
       color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.5em; } h3 { font-size: 1em; }
.meta { color: #555; font-size: 0.9em; }
.summary p { max-width: 60em; line-height: 1.4; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 0.6em; }
.card { border: 1px solid #ccc; border-radius: 6px; padding: 0.5em 0.7em; break-inside: avoid; }
.card h3 { margin: 0 0 0.3em; font-size: 0.85em; color: #555; text-transform: uppercase; }
.figure { margin: 0.3em 0; }
.figure .label { display: block; font-size: 0.8em; color: #555; }
.figure .value { font-size: 1.25em; font-weight: 600; }
.range { display: block; font-size: 0.8em; color: #666; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 0.75em; }
.chart { height: 380px; border: 1px solid #ddd; break-inside: avoid; }
table { border-collapse: collapse; font-size: 0.8em; margin: 0.5em 0; max-width: 100%; }
td, th { border: 1px solid #ddd; padding: 0.15em 0.45em; text-align: right; vertical-align: top;
         overflow-wrap: anywhere; }
th { font-weight: 600; background: #f5f5f5; }
th:first-child, td:first-child, table.library td, table.assumptions td, table.tranches td,
table.library th, table.tranches th { text-align: left; }
table.per-year .range { font-size: 0.85em; }
.sources { font-size: 0.8em; overflow-wrap: anywhere; }
.override { color: #a33; }
@media print {
  @page { size: A4; margin: 12mm; }
  body { max-width: none; margin: 0; padding: 0; font-size: 9pt; }
  .charts { display: block; }
  .chart { width: 100%; margin-bottom: 0.5em; }
  table { width: 100%; table-layout: fixed; font-size: 7.5pt; }
  thead { display: table-header-group; }
  tr, .card, .figure, li { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""
#: Charts drawn at the printable width of an A4 page (px at 96 dpi, 12 mm margins) when printing.
PRINT_WIDTH = 700


def _plotly_js() -> str:
    path = resources.files("plotly").joinpath("package_data", "plotly.min.js")
    return path.read_text(encoding="utf-8")


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element (no '</script>' can close it early)."""
    text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def scenario_of(results: xr.Dataset) -> Scenario | None:
    """The scenario the Results were run from, when its name loads a scenario with the same content
    hash (a built-in, or a file still unchanged where it was); else None."""
    name, digest = results.attrs.get("scenario"), results.attrs.get("scenario_hash")
    if not name or not digest:
        return None
    with suppress(FlopgridError, OSError, ValueError):
        scenario = load_scenario(str(name))
        if scenario.content_hash() == digest:
            return scenario
    return None


#: Columns of the "as common as electricity" table: (figure, heading, display scale, format).
COMMON = (
    ("market_price", "price, USD per H100e-hour", 1.0, "{:.2f}"),
    ("market_price_per_1e21_flop", "price, USD per 1e21 FLOP", 1.0, "{:,.0f}"),
    ("compute_per_person", "H100e-hours a year per person", 1.0, "{:,.1f}"),
    ("compute_electricity_share", "share of world electricity, %", 0.01, "{:.2f}"),
)


def common_table(common: dict[str, Any]) -> str:
    """The "as common as electricity" figures (``results.flopgrid.common()``) as an HTML table, every
    year's median with its P5–P95 range, and the year the price per unit of work falls N-fold."""
    if not common:
        return ""
    if not common.get("world", True):
        return (
            "<p>This scenario's fleet alone is not the world's market for compute (it has no existing "
            "industry): <code>flopgrid market FILE --against reference</code> clears the world's fleet "
            "with and without it, and gives the price with the programme.</p>"
        )
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _, _ in COMMON)
    rows = []
    for row in common["years"]:
        cells = []
        for name, _, scale, form in COMMON:
            q = row[name]
            mid, low, high = (form.format(q[k] / scale) for k in ("p50", "p5", "p95"))
            cells.append(f"<td>{mid}" + ("" if low == high else f" ({low}–{high})") + "</td>")
        rows.append(f"<tr><td>{row['year']}</td>{''.join(cells)}</tr>")
    fall = common["price_fall"]
    year = fall["year"]["p50"]
    when = (
        "never within the horizon"
        if year != year
        else f"{year:.0f} (in {fall['probability']:.0%} of samples)"
    )
    note = (
        "<p>The scenario's fleet on the world market for compute (docs/model.md §12): the clearing price, "
        "the hours sold per person (UN WPP population) and their energy as a share of world electricity "
        f"(IEA). The price per 1e21 FLOP is {fall['factor']:g}× below the first year's from: "
        f"{html.escape(when)}.</p>"
    )
    return f"{note}<table><tr><th>year</th>{head}</tr>{''.join(rows)}</table>"


def central_line(results: xr.Dataset, scenario: Scenario | None) -> str | None:
    """The line saying where the Monte Carlo medians of a simulated run's headline figures part from
    their values at central inputs (:func:`flopgrid.uncertainty.central_check`); None for one sample,
    a plan, a scenario that no longer loads, or figures that agree."""
    if scenario is None or results.attrs.get("engine") != "simulate" or results.sizes.get("sample", 1) < 2:
        return None
    sampling = str(results.attrs.get("sampling", "lhs"))
    check = central_check(
        scenario,
        results,
        seed=int(results.attrs.get("seed", 0)),
        sampling=sampling if sampling in SAMPLING else None,
    )
    note: str | None = check["note"]
    return note


def _section(title: str, body: str, key: str) -> str:
    return f'<section id="{key}"><h2>{html.escape(title)}</h2>{body}</section>' if body else ""


def render(results: xr.Dataset, title: str | None = None, scenario: Scenario | None = None) -> str:
    """The report of one run as an HTML document (a string).

    Parameters
    ----------
    results
        Results of ``flopgrid.simulate`` or ``flopgrid.plan``.
    title
        The heading; by default the scenario's name.
    scenario
        The scenario run, for its description, assumptions, library sources and tranches; by default
        the one the Results name, when it still loads with the same content (see :func:`scenario_of`).
    """
    scenario = scenario or scenario_of(results)
    name = str(results.attrs.get("scenario", "scenario"))
    title = title or f"flopgrid report: {name}"
    samples = int(results.sizes.get("sample", 1))
    charts = figures(results)
    if samples == 1:
        charts.pop("fan", None)  # a fan of one sample is a line: the compute chart already draws it
    # The named campuses of the atlas over the run's years: the pipeline the run's build-out meets.
    atlas = load_atlas()
    charts["atlas"] = pipeline(atlas.select(kind="campus"), "campus", np.asarray(results.year.values))
    # Where the named assets are: drawn over land outlines shipped with flopgrid (no map tiles).
    charts["atlas_map"] = asset_map(list(atlas.assets))
    numbers = Figures(results)
    description = scenario.description if scenario else ""
    builds = builds_in_words(scenario) if scenario else []
    note = central_line(results, scenario)
    sections = [
        _section(
            "Summary",
            f'<div class="summary">{summary(results, numbers, description, builds)}</div>'
            + (f'<p class="central-note">{html.escape(note)}</p>' if note else ""),
            "summary",
        ),
        _section(
            "Headline figures" + (f" (medians of {samples:,} samples, with P5–P95)" if samples > 1 else ""),
            cards(numbers, first_binding(binding_spans(results), samples)),
            "headline",
        ),
    ]
    if scenario is not None:
        sections.append(
            _section(
                "Assumptions and sources",
                f"<h3>Key assumptions</h3>{key_assumptions(scenario)}"
                f"<h3>Library data used</h3>{library_sources(scenario)}",
                "assumptions",
            )
        )
        sections.append(_section("Financing tranches", tranches(scenario), "tranches"))
    labels = {key: html.escape(TITLES.get(key, key)) for key in charts}
    divs = "".join(
        f'<div class="chart" id="chart-{key}" role="img" aria-label="{label}"></div>'
        for key, label in labels.items()
    )
    sections.append(_section("Charts", f'<div class="charts">{divs}</div>', "charts"))
    sections.append(_section("As common as electricity?", common_table(results.flopgrid.common()), "common"))
    heading = "Totals" + (f" (medians of {samples:,} samples)" if samples > 1 else "")
    sections.append(_section(heading, totals_table(numbers), "totals"))
    sections.append(_section("Per year", year_tables(results), "per-year"))
    created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    currency = str(results.attrs.get("currency", "USD (real 2024)"))
    meta = (
        f"engine {html.escape(str(results.attrs.get('engine', '')))}, {samples:,} sample(s), seed "
        f"{html.escape(str(results.attrs.get('seed', '')))}, scenario hash "
        f"{html.escape(str(results.attrs.get('scenario_hash', '')))}; money in "
        f"{html.escape(currency)}; flopgrid {__version__}; made {created}"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{html.escape(title)}</title><style>{STYLE}</style>
<script>{_plotly_js()}</script></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="meta">{meta}</p>
{"".join(sections)}
<script>
const FIGURES = {_script_json(charts)};
for (const [name, figure] of Object.entries(FIGURES)) {{
  Plotly.newPlot("chart-" + name, figure.data, figure.layout, {{displaylogo: false, responsive: true}});
}}
// Printing: draw the charts at the page's width, and back at the window's afterwards.
const charts = () => document.querySelectorAll(".chart.js-plotly-plot");
matchMedia("print").addEventListener("change", (event) => {{
  for (const div of charts()) {{
    Plotly.relayout(div, event.matches ? {{width: {PRINT_WIDTH}}} : {{width: null, autosize: true}});
  }}
}});
document.body.dataset.rendered = String(Object.keys(FIGURES).length);
</script>
</body></html>
"""


def figure_html(figure: dict[str, Any], title: str | None = None) -> str:
    """One figure as a self-contained HTML document (plotly.js inlined: it opens with no network).

    >>> "Plotly.newPlot" in figure_html({"title": "t", "data": [], "layout": {}})
    True
    """
    heading = html.escape(title or str(figure.get("title", "flopgrid chart")))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{heading}</title><style>{STYLE}</style>
<script>{_plotly_js()}</script></head>
<body><h1>{heading}</h1><div class="chart" id="chart" role="img" aria-label="{heading}"></div>
<script>
const FIGURE = {_script_json(figure)};
Plotly.newPlot("chart", FIGURE.data, FIGURE.layout, {{displaylogo: false, responsive: true}});
document.body.dataset.rendered = "1";
</script>
</body></html>
"""


def _write_html(path: str | Path, what: str, text: Callable[[], str]) -> Path:
    """Write the HTML ``text()`` builds to ``path`` atomically (a partial file renamed into place, so
    never a partial file under the name), after checking the name and the folder."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise FlopgridError(f"{path}: {what}; give a name ending in .html")
    if not path.parent.exists():
        raise FlopgridError(f"{path}: the folder {path.parent} does not exist")
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text(), encoding="utf-8")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def write_figure(figure: dict[str, Any], path: str | Path) -> Path:
    """Write one figure as a self-contained HTML file (atomically, as :func:`write_report`).

    Raises
    ------
    FlopgridError
        When the path does not end in ``.html``/``.htm`` or its folder does not exist.
    """
    return _write_html(path, "a chart is written as HTML", lambda: figure_html(figure))


def write_report(
    results: xr.Dataset, path: str | Path, title: str | None = None, scenario: Scenario | None = None
) -> Path:
    """Write the report of a run to ``path`` (``.html``), atomically: never a partial file.

    Raises
    ------
    FlopgridError
        When the path does not end in ``.html``/``.htm`` or its folder does not exist.
    """
    return _write_html(path, "a report is HTML", lambda: render(results, title, scenario))
