"""The report's figures in words and numbers: headline cards, the summary, the totals and per-year tables.

Every number comes from the Results accessor (``totals``, ``total_rows``, ``total_ranges``, ``summary``,
``bottlenecks``) and is shown in the schema's display unit, with its P5–P95 range when the run has
samples; nothing here scales a value by a typed factor.

>>> import flopgrid
>>> figures = Figures(flopgrid.simulate("reference"))
>>> figures.text("h100e_end").endswith("M H100e")
True
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd
import xarray as xr

from flopgrid.schema import VARIABLES

#: Headline cards: (title, totals keys shown in it); the lines' labels are the schema's total labels.
CARDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Total cost", ("capex", "opex")),
    ("Compute", ("h100e_end", "compute_hours")),
    ("Power", ("it_power_end", "facility_power_end")),
    ("Cost per H100e-hour", ("lcoc_per_h100e_hour",)),
    ("Returns", ("npv", "irr")),
    ("Funding gap", ("funding_gap",)),
)
#: Totals shown as calendar years (no thousands separator, no decimals).
YEAR_KEYS = frozenset(v.total_key for v in VARIABLES.values() if v.unit == "calendar year")
#: Per-year tables, by the schema's summary columns: narrow enough to print on a page each.
YEAR_TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Chips and compute", ("produced", "installed", "waiting", "h100e", "largest_run")),
    ("Power and energy", ("it_rating", "facility_draw", "energy", "emissions")),
    ("Money", ("capex", "opex")),
)


def number(value: Any, *, year: bool = False) -> str:
    """A value for a reader: three significant figures, thousands separated, whole numbers without
    decimals, very large or small ones in scientific notation, years as written; "–" for none."""
    if isinstance(value, str):
        return value
    if value is None or not math.isfinite(float(value)):
        return "–"
    value = float(value)
    if year:
        return str(round(value))
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if magnitude >= 1e7 or magnitude < 1e-3:
        mantissa, exponent = f"{value:.3g}".split("e")
        return f"{mantissa}e{int(exponent)}"
    if magnitude >= 100 or value == round(value):
        return f"{value:,.0f}"
    return f"{value:,.{max(0, 2 - math.floor(math.log10(magnitude)))}f}"


def table(kind: str, head: str, rows: str) -> str:
    """A table of class ``kind`` from its header cells and its rows (HTML)."""
    return f'<table class="{kind}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def label_of(total_label: str) -> str:
    """A totals label without the ``money:`` prefix the CLI groups by."""
    return total_label.removeprefix("money: ")


class Figures:
    """The totals of one run, in display units, with their ranges over samples."""

    def __init__(self, results: xr.Dataset) -> None:
        view = results.flopgrid
        self.samples = int(results.sizes.get("sample", 1))
        self.rows = {key: (label, value, unit) for key, label, value, unit in view.total_rows()}
        self.ranges = {
            key: values
            for key, _, values, _ in view.total_ranges((0.05, 0.95))
            if self.samples > 1 and not isinstance(values, str)
        }

    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def value(self, key: str) -> str:
        """The figure (median over samples) and its unit."""
        _, value, unit = self.rows[key]
        return f"{number(value, year=key in YEAR_KEYS)} {unit}".strip()

    def range(self, key: str) -> str:
        """ "P5–P95 a – b" in Monte Carlo mode, else an empty string."""
        if key not in self.ranges:
            return ""
        year = key in YEAR_KEYS
        low, high = (number(q, year=year) for q in self.ranges[key])
        return f"P5–P95 {low} – {high}"

    def text(self, key: str) -> str:
        """The figure with its range in brackets, for sentences."""
        spread = self.range(key)
        return f"{self.value(key)} ({spread})" if spread else self.value(key)


def cards(figures: Figures, binding: str | None) -> str:
    """The headline cards: one per entry of :data:`CARDS` the run has, then the binding constraint."""
    out = []
    for title, keys in CARDS:
        lines = []
        for key in (k for k in keys if k in figures):
            spread = figures.range(key)
            lines.append(
                f'<div class="figure" data-key="{key}"><span class="label">'
                f"{html.escape(label_of(figures.rows[key][0]))}</span>"
                f'<span class="value">{html.escape(figures.value(key))}</span>'
                + (f'<span class="range">{html.escape(spread)}</span>' if spread else "")
                + "</div>"
            )
        if lines:
            out.append(f'<div class="card"><h3>{html.escape(title)}</h3>{"".join(lines)}</div>')
    if binding is not None:
        out.append(
            '<div class="card"><h3>First binding constraint</h3><div class="figure" '
            f'data-key="first_bottleneck"><span class="value">{html.escape(binding)}</span></div></div>'
        )
    return f'<div class="cards">{"".join(out)}</div>'


def binding_spans(results: xr.Dataset) -> list[tuple[str, int, int, float]]:
    """Runs of years with the same most frequent binding constraint: (label, first, last, mean share
    of samples), in order; a planner run (whose bottlenecks are ranked duals) has none."""
    if "bottleneck" not in results or results.attrs.get("engine") == "plan":
        return []
    frame = results.flopgrid.bottlenecks()
    spans: list[tuple[str, int, int, float]] = []
    run = (frame["bottleneck"] != frame["bottleneck"].shift()).cumsum()
    for _, group in frame.groupby(run, sort=False):
        label = str(group["bottleneck"].iloc[0])
        spans.append(
            (label, int(group.index[0]), int(group.index[-1]), float(group["share_of_samples"].mean()))
        )
    return spans


def first_binding(spans: list[tuple[str, int, int, float]], samples: int) -> str | None:
    """The first constraint that binds and from when, e.g. "wafers, from 2025"."""
    for label, first, _, share in spans:
        if label != "none":
            often = f" (in {share:.0%} of samples)" if samples > 1 else ""
            return f"{label}, from {first}{often}"
    return "none binds" if spans else None


def _years(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}–{last}"


def summary(results: xr.Dataset, figures: Figures, description: str, builds: list[str]) -> str:
    """The summary in words: what the scenario is, what it buys, what it costs, what binds and when."""
    years = results.year.values
    start, end = int(years[0]), int(years[-1])
    has = figures.__contains__
    para = []
    what = html.escape(description.rstrip(".")) + "." if description else ""
    if builds:
        what += f" Over {start}–{end} it {html.escape(', '.join(builds))}."
    if what:
        para.append(f"<p><b>What it is.</b> {what.strip()}</p>")
    buys = [
        f"{figures.text(key)} {label_of(figures.rows[key][0])}"
        for key in ("h100e_end", "compute_hours", "accelerators_produced")
        if has(key)
    ]
    if buys:
        para.append(f"<p><b>What it buys.</b> {html.escape('; '.join(buys))} (end of {end}).</p>")
    costs = [f"{label_of(figures.rows[k][0])}: {figures.text(k)}" for k in ("capex", "opex") if has(k)]
    costs += [
        f"{label_of(figures.rows[k][0])}: {figures.text(k)}"
        for k in ("lcoc_per_h100e_hour", "npv", "irr", "funding_gap")
        if has(k)
    ]
    if costs:
        para.append(f"<p><b>What it costs.</b> {html.escape('; '.join(costs))}.</p>")
    power = [
        f"{label_of(figures.rows[k][0])}: {figures.text(k)}"
        for k in ("it_power_end", "facility_power_end", "energy", "emissions")
        if has(k)
    ]
    if power:
        para.append(f"<p><b>Power.</b> {html.escape('; '.join(power))}.</p>")
    spans = binding_spans(results)
    if spans:
        often = " (the most frequent constraint of each year over the samples)" if figures.samples > 1 else ""
        words = ", then ".join(f"{label} in {_years(first, last)}" for label, first, last, _ in spans)
        para.append(f"<p><b>What binds, when.</b> {html.escape(words)}{often}.</p>")
    return "".join(para)


def totals_table(figures: Figures) -> str:
    """Every horizon total: label, value (median), its P5–P95 range in Monte Carlo mode, unit."""
    ranged = bool(figures.ranges)
    head = "<th>figure</th><th>value</th>" + ("<th>P5–P95</th>" if ranged else "") + "<th>unit</th>"
    rows = []
    for key, (label, value, unit) in figures.rows.items():
        low_high = ""
        if ranged:
            low_high = f"<td>{html.escape(figures.range(key).removeprefix('P5–P95 '))}</td>"
        value_text = number(value, year=key in YEAR_KEYS)
        rows.append(
            f'<tr data-key="{key}"><td>{html.escape(label_of(label))}</td>'
            f"<td>{html.escape(value_text)}</td>{low_high}<td>{html.escape(unit)}</td></tr>"
        )
    return f'<table class="totals"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def year_tables(results: xr.Dataset) -> str:
    """The per-year summary as a few narrow tables (:data:`YEAR_TABLES`); in Monte Carlo mode each
    cell is the median with its P5–P95 range under it, so 1,000 samples do not widen the page."""
    frame = results.flopgrid.summary()
    many = int(results.sizes.get("sample", 1)) > 1
    declared = {v.summary: v for v in VARIABLES.values() if v.summary is not None}
    out = []
    for title, names in YEAR_TABLES:
        present = [declared[n] for n in names if n in declared and declared[n].name in results]
        if not present:
            continue
        head = "".join(
            f"<th>{html.escape(v.long_name)}"
            + (f" <small>[{html.escape(v.display_unit)}]</small>" if v.display_unit else "")
            + "</th>"
            for v in present
        )
        rows = []
        for year in frame.index:
            cells = []
            for v in present:
                unit = f" [{v.display_unit}]"
                if many:
                    low, mid, high = (frame.at[year, f"{v.summary}_p{p}{unit}"] for p in (5, 50, 95))
                    cells.append(
                        f'<td>{number(mid)}<span class="range">{number(low)} – {number(high)}</span></td>'
                    )
                else:
                    cells.append(f"<td>{number(frame.at[year, f'{v.summary}{unit}'])}</td>")
            rows.append(f"<tr><td>{int(year)}</td>{''.join(cells)}</tr>")
        note = " (median, P5 – P95 under it)" if many else ""
        out.append(
            f'<h3>{html.escape(title)}{note}</h3><table class="per-year"><thead><tr><th>year</th>{head}'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    if "bottleneck" in frame:
        out.append(_bottleneck_table(frame["bottleneck"], many))
    return "".join(out)


def _bottleneck_table(column: pd.Series, many: bool) -> str:
    rows = "".join(
        f"<tr><td>{year}</td><td>{html.escape(str(label))}</td></tr>"
        for year, label in zip(column.index.astype(int).tolist(), column.tolist(), strict=True)
    )
    head = "binding constraint" + (" (most frequent over the samples)" if many else "")
    return f"<h3>Binding constraint</h3>{table('per-year', f'<th>year</th><th>{head}</th>', rows)}"
