"""Standalone HTML reports: the dashboard's charts and tables in one file that works offline.

The file inlines plotly.js (from the installed ``plotly`` package) and the figures' JSON, so it opens
from a disk, an e-mail or an archive with no network at all.

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
import math
from contextlib import suppress
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from flopgrid.charts import figures
from flopgrid.errors import FlopgridError
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
    "fan": "Monte Carlo fan chart",
    "shadow_prices": "Planner shadow prices",
}
#: Nothing may be fetched: the report is self-contained by construction, and the browser enforces it.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:"
)
STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.5em; }
.meta { color: #555; font-size: 0.9em; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 0.75em; }
.chart { height: 360px; border: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.8em; margin: 0.5em 0; }
td, th { border: 1px solid #ddd; padding: 0.15em 0.45em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
"""


def _plotly_js() -> str:
    path = resources.files("plotly").joinpath("package_data", "plotly.min.js")
    return path.read_text(encoding="utf-8")


def _number(value: Any) -> str:
    if isinstance(value, str):
        return html.escape(value)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    magnitude = abs(float(value))
    if magnitude == 0:
        return "0"
    if magnitude >= 1e6 or magnitude < 1e-2:
        return f"{value:.3g}"
    return f"{value:,.2f}" if magnitude < 100 else f"{value:,.0f}"


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [frame.index.name or "", *frame.columns])
    rows = []
    for index, row in frame.iterrows():
        cells = "".join(f"<td>{_number(v)}</td>" for v in row.to_numpy())
        rows.append(f"<tr><td>{html.escape(str(index))}</td>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element (no '</script>' can close it early)."""
    text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def render(results: xr.Dataset, title: str | None = None) -> str:
    """The report of one run as an HTML document (a string).

    Parameters
    ----------
    results
        Results of ``flopgrid.simulate`` or ``flopgrid.plan``.
    title
        The heading; by default the scenario's name.
    """
    view = results.flopgrid
    scenario = str(results.attrs.get("scenario", "scenario"))
    title = title or f"flopgrid report: {scenario}"
    charts = figures(results)
    sections = []
    # A planner run carries fewer variables than a simulation: sections it cannot fill are left out.
    with suppress(KeyError):
        totals = view.totals()
        totals_frame = pd.DataFrame(
            {"value": [t["value"] for t in totals.values()], "unit": [t["unit"] for t in totals.values()]},
            index=pd.Index(list(totals), name="figure"),
        )
        sections.append(f"<h2>Horizon totals (medians over samples)</h2>{_table(totals_frame)}")
    currency = "USD (real 2024 base)"
    with suppress(KeyError):
        finance = view.finance()
        currency = str(finance["currency"])
        returns = pd.DataFrame({"value": finance["returns"]}).rename_axis("figure")
        sections.append(f"<h2>Returns</h2>{_table(returns)}")
    with suppress(KeyError):
        sections.append(f"<h2>Per year</h2>{_table(view.summary())}")
    samples = int(results.sizes.get("sample", 1))
    labels = {name: html.escape(TITLES.get(name, name)) for name in charts}
    divs = "".join(
        f'<div class="chart" id="chart-{name}" role="img" aria-label="{label}"></div>'
        for name, label in labels.items()
    )
    created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
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
<div class="charts">{divs}</div>
{"".join(sections)}
<script>
const FIGURES = {_script_json(charts)};
for (const [name, figure] of Object.entries(FIGURES)) {{
  Plotly.newPlot("chart-" + name, figure.data, figure.layout, {{displaylogo: false, responsive: true}});
}}
document.body.dataset.rendered = String(Object.keys(FIGURES).length);
</script>
</body></html>
"""


def write_report(results: xr.Dataset, path: str | Path, title: str | None = None) -> Path:
    """Write the report of a run to ``path`` (``.html``), atomically: never a partial file.

    Raises
    ------
    FlopgridError
        When the path does not end in ``.html``/``.htm`` or its folder does not exist.
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise FlopgridError(f"{path}: a report is HTML; give a name ending in .html")
    if not path.parent.exists():
        raise FlopgridError(f"{path}: the folder {path.parent} does not exist")
    text = render(results, title)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path
