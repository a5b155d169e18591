"""The report's inputs: the scenario's builds and key assumptions, the library rows it uses with their
sources, and its financing tranches."""

from __future__ import annotations

import html
from types import SimpleNamespace
from typing import Any

from flopgrid.assumptions import Citation, cite, current, library_rows
from flopgrid.report.numbers import number, table
from flopgrid.scenario import Scenario
from flopgrid.schema import VARIABLES

#: How the key assumptions of :func:`flopgrid.assumptions.current` read in the report.
ASSUMPTION_LABELS = {
    "budget": "committed financing (B USD)",
    "fabs": "number of fabs",
    "campus_gw": "IT power of the first campus (GW)",
    "chip": "accelerator made (latest mix)",
    "power_mix": "own power plants by source (share of capacity)",
    "regions": "accelerator output by region",
    "start": "first year",
    "end": "last year",
}


def builds_in_words(scenario: Scenario) -> list[str]:
    """What the scenario builds, buys and raises, as short phrases (e.g. "builds 18 fabs")."""
    b = scenario.builds
    power, it = VARIABLES["plant_capacity"], VARIABLES["dc_capacity"]
    phrases = []
    for kind, words in (("fabs", "fabs"), ("packaging", "packaging lines"), ("hbm", "HBM lines")):
        count = sum(x.count for x in getattr(b, kind))
        if count:
            phrases.append(f"builds {count:,} {words}")
    if b.datacentres:
        total = sum(c.count * c.it_rating for c in b.datacentres)
        campuses = sum(c.count for c in b.datacentres)
        phrases.append(
            f"builds {campuses:,} data-centre campuses of {number(it.display(total))} {it.display_unit} IT"
        )
    if b.power:
        total = sum(p.count * p.capacity for p in b.power)
        phrases.append(f"builds {number(power.display(total))} {power.display_unit} of power plants")
    if b.purchases:
        chips = VARIABLES["accelerators_installed"]
        bought = sum(p.quantity for p in b.purchases)
        phrases.append(f"buys {number(chips.display(bought))} {chips.display_unit} accelerators")
    tranches = scenario.finance.tranches
    if tranches:
        money = VARIABLES["financing_in"]
        total = sum(t.total for t in tranches)
        phrases.append(
            f"raises {number(money.display(total))} {money.display_unit} in {len(tranches)} tranche(s)"
        )
    return phrases


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v:.0%}" for k, v in value.items())
    return number(value, year=isinstance(value, int) and value > 1900)


def key_assumptions(scenario: Scenario) -> str:
    """The dashboard's key assumptions with the scenario's values, as a table."""
    rows = "".join(
        f"<tr><td>{html.escape(ASSUMPTION_LABELS.get(name, name))}</td>"
        f"<td>{html.escape(_shown(value))}</td></tr>"
        for name, value in current(scenario).items()
        if value is not None
    )
    return table("assumptions", "<th>assumption</th><th>value</th>", rows)


def _citation(c: Citation) -> str:
    parts = [
        f"{html.escape(c.publisher)}, " if c.publisher else "",
        f"<i>{html.escape(c.title)}</i>" if c.title else "",
    ]
    if c.date:
        parts.append(f" ({html.escape(c.date)})")
    if c.url:
        url = html.escape(c.url, quote=True)
        parts.append(f' <a href="{url}" rel="noreferrer">{html.escape(c.url)}</a>')
    return "".join(parts) or html.escape(c.text)


def library_sources(scenario: Scenario) -> str:
    """The library rows the scenario uses (value, range, year, source numbers) and the numbered list of
    the works they cite, with publisher, title, date and URL."""
    rows = library_rows(scenario)
    numbers: dict[str, int] = {}
    works: list[Citation] = []
    body = []
    # Records, not itertuples: plain values (float, str) for the formatting below.
    for record in rows.to_dict("records"):
        row = SimpleNamespace(**{str(k): v for k, v in record.items()})
        refs = []
        for c in cite(str(row.source)):
            if c.text not in numbers:
                numbers[c.text] = len(works) + 1
                works.append(c)
            refs.append(numbers[c.text])
        marks = "".join(f'<a href="#source-{n}">[{n}]</a>' for n in refs)
        override = ' <span class="override">(the scenario overrides it)</span>' if row.overridden else ""
        year = str(row.unit) == "calendar year"
        spread = (
            "" if row.low == row.high else f"{number(row.low, year=year)} – {number(row.high, year=year)}"
        )
        body.append(
            f"<tr><td>{html.escape(f'{row.table}: {row.id}')}</td>"
            f"<td>{html.escape(str(row.parameter))}{override}</td>"
            f"<td>{number(row.value, year=year)} {html.escape(str(row.unit))}</td><td>{spread}</td>"
            f"<td>{number(row.year, year=True)}</td><td>{marks}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("library item", "parameter", "value", "range (low – high)", "year", "sources")
    )
    items = "".join(f'<li id="source-{n}">{_citation(c)}</li>' for n, c in enumerate(works, start=1))
    return f'{table("library", head, "".join(body))}<h3>Sources</h3><ol class="sources">{items}</ol>'


def tranches(scenario: Scenario) -> str:
    """The financing tranches: who, what kind, how much, when, at what rate and tenor."""
    money, rate = VARIABLES["financing_in"], VARIABLES["financing_cost"]
    rows = []
    for t in scenario.finance.tranches:
        draws = sorted(t.draws())
        when = "" if not draws else (str(draws[0]) if len(draws) == 1 else f"{draws[0]}–{draws[-1]}")
        cells = [
            t.name,
            t.investor or "",
            t.kind,
            t.region or "",
            number(money.display(t.total)),
            when,
            "" if t.rate is None else number(rate.display(t.rate)),
            "" if t.tenor is None else number(t.tenor),
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    if not rows:
        return "<p>The scenario has no financing tranches.</p>"
    head = [
        "tranche",
        "investor",
        "kind",
        "region",
        f"amount ({money.display_unit})",
        "drawn",
        f"rate ({rate.display_unit})",
        "tenor (years)",
    ]
    return table("tranches", "".join(f"<th>{html.escape(h)}</th>" for h in head), "".join(rows))
