"""A scenario's key assumptions and the library rows it uses, with their sources.

The dashboard starts its assumption fields from :func:`current`; the report lists the same key
assumptions, then the library rows the scenario draws on (:func:`library_rows`) with each row's
citations (:func:`cite`: publisher, title, date and URL read out of the library's ``source`` column).

>>> from flopgrid.scenario import load_scenario
>>> rows = library_rows(load_scenario("seed-7t"))
>>> ("accelerators", "Rubin", "flops_bf16") in set(zip(rows.table, rows.id, rows.parameter))
True
>>> cite("Epoch AI, Machine Learning Hardware (2025), CC-BY 4.0, https://epoch.ai/data/x")[0].url
'https://epoch.ai/data/x'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from flopgrid.library import load_library
from flopgrid.scenario import Scenario, resolve_overrides

#: The accelerator every compute figure is counted in (H100-equivalents), so always among the rows used.
REFERENCE_CHIP = "H100"
#: The library item that prices each kind of build (the model has one type of each).
BUILD_ITEMS = {
    "fabs": ("fabs", "leading_edge"),
    "packaging": ("packaging", "cowos"),
    "hbm": ("hbm", "hbm"),
    "datacentres": ("datacentres", "ai_campus"),
}
_URL = re.compile(r"https?://[^\s;]+")
# A date in brackets: "(2025)", "(2024-08-20)", "(2024-10 / 2025-04)", "(Shehabi et al., 2024-12)".
_DATE = re.compile(r"\(([^()]*?\b(?:19|20)\d{2}\b[^()]*)\)")


@dataclass(frozen=True)
class Citation:
    """One work cited in a library ``source`` cell, split into its parts (each may be empty)."""

    publisher: str
    title: str
    date: str
    url: str
    text: str  # the citation as written in the library


def cite(source: str) -> list[Citation]:
    """The citations of one library ``source`` cell (``;`` separates works), best effort.

    The library writes ``Publisher, Title (date), licence, URL``; a cell that does not follow that
    pattern keeps its whole text as the title, so nothing of it is lost.
    """
    out = []
    for part in (p.strip() for p in source.split(";")):
        if not part:
            continue
        url_match = _URL.search(part)
        url = url_match.group(0).rstrip(".,") if url_match else ""
        if url.count(")") > url.count("("):  # the bracket around the URL, not one inside it
            url = url[: url.rindex(")")]
        date_match = _DATE.search(part)
        date = date_match.group(1).strip() if date_match else ""
        head = part[: date_match.start()] if date_match else part
        tail = part[date_match.end() :] if date_match else ""
        publisher, _, title = head.replace(url, "").partition(", ")
        if not title:  # "Publisher (date): what" or a bare name
            title = tail.replace(url, "")
        out.append(Citation(publisher.strip(" ,:"), title.strip(" ,:"), date, url, part))
    return out


def current(scenario: Scenario) -> dict[str, Any]:
    """The scenario's own values of the key assumptions (what the dashboard's fields start from)."""
    builds = scenario.builds
    power_total: dict[str, float] = {}
    for plant in builds.power:
        power_total[plant.source] = power_total.get(plant.source, 0.0) + plant.count * plant.capacity
    capacity = sum(power_total.values())
    mix = scenario.chips.steps("mix", scenario.horizon.start)
    allocation = scenario.chips.steps("allocation", scenario.horizon.start)
    chip = None
    if mix:
        last = mix[max(mix)]
        chip = max(last, key=lambda name: last[name])
    return {
        "budget": sum(t.total for t in scenario.finance.tranches) / 1e9 or None,
        "fabs": sum(f.count for f in builds.fabs),
        "campus_gw": builds.datacentres[0].it_rating / 1e9 if builds.datacentres else None,
        "chip": chip,
        "power_mix": {k: v / capacity for k, v in power_total.items()} if capacity else None,
        "regions": allocation[max(allocation)] if allocation else None,
        "start": scenario.horizon.start,
        "end": scenario.horizon.end,
    }


def items_used(scenario: Scenario) -> set[tuple[str, str]]:
    """(table, item) of every library item the scenario names or the model prices its builds with."""
    builds = scenario.builds
    used = {("accelerators", REFERENCE_CHIP)}
    for steps in (scenario.chips.steps("mix", scenario.horizon.start) or {}).values():
        used |= {("accelerators", name) for name in steps}
    used |= {("accelerators", c.accelerator) for c in builds.datacentres if c.accelerator}
    used |= {("accelerators", p.accelerator) for p in builds.purchases}
    used |= {BUILD_ITEMS[kind] for kind in BUILD_ITEMS if getattr(builds, kind)}
    used |= {("power_sources", p.source) for p in builds.power}
    if builds.datacentres:
        used.add(("power_sources", "grid"))
    regions = {
        b.region
        for kind in ("fabs", "packaging", "hbm", "datacentres", "power")
        for b in getattr(builds, kind)
    }
    regions |= {p.region for p in builds.purchases}
    regions |= {t.region for t in scenario.finance.tranches if t.region}
    for steps in (scenario.chips.steps("allocation", scenario.horizon.start) or {}).values():
        regions |= set(steps)
    used |= {("regions", region) for region in regions}
    return used


def library_rows(scenario: Scenario) -> pd.DataFrame:
    """The library rows the scenario uses: one per item and parameter, the row of the latest year at
    or before the horizon's start (the earliest row when all are later), as the library writes it
    (``table, id, parameter, value, unit, year, low, high, source, note``), sorted by table and item.
    Parameters the scenario overrides (``parameters:``) are marked in an ``overridden`` column."""
    library = load_library()
    rows = library.rows
    used = items_used(scenario)
    keys = pd.MultiIndex.from_frame(rows[["table", "id"]])
    chosen = rows[keys.isin(list(used))].copy()
    # Rank each item-parameter's years: at or before the start first (latest first), then later ones.
    start = scenario.horizon.start
    chosen["_late"] = chosen["year"] > start
    chosen["_order"] = chosen["year"].where(~chosen["_late"], -chosen["year"])
    chosen = chosen.sort_values(["_late", "_order"], ascending=[True, False])
    chosen = chosen.drop_duplicates(["table", "id", "parameter"]).sort_values(["table", "id", "parameter"])
    overrides = resolve_overrides(scenario, library)
    overridden = {(o.table, o.item, o.parameter) for o in overrides}
    chosen["overridden"] = [
        (t, i, p) in overridden or (t, None, p) in overridden
        for t, i, p in zip(chosen.table, chosen.id, chosen.parameter, strict=True)
    ]
    columns = ["table", "id", "parameter", "value", "unit", "year", "low", "high", "source", "note"]
    return chosen[[*columns, "overridden"]].reset_index(drop=True)
