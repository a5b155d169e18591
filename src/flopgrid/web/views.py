"""How the API shows things: runs, plans and scenarios as JSON, frames as downloads."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from fastapi.responses import Response, StreamingResponse

from flopgrid import charts
from flopgrid.charts.answers import distributions, fans, sweep_lines, tornado
from flopgrid.errors import FlopgridError
from flopgrid.library import load_library
from flopgrid.plan.report import plan_table, rank, shortfall_report, where_table
from flopgrid.questions import probability
from flopgrid.report.numbers import CARDS as REPORT_CARDS
from flopgrid.scenario import Scenario
from flopgrid.schema import FIGURES
from flopgrid.web.assumptions import current
from flopgrid.web.inputs import Format


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame (with its index as columns) as JSON records."""
    return [{str(k): v for k, v in row.items()} for row in frame.reset_index().to_dict(orient="records")]


#: The card of the world market's price, shown for runs with the existing industry (the world's fleet).
MARKET_CARD = "Price of compute"

#: The dashboard's headline cards, (title, registry figures shown on the card) in reading order: the
#: report's (one list for both faces), then the first binding constraint and, for runs with the world's
#: fleet, the market's price.
CARDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    *REPORT_CARDS,
    ("First binding constraint", ("first_bottleneck",)),
    # "As common as electricity" (issue 15): the price of compute the market clears, and its energy.
    (MARKET_CARD, ("market_price_end", "market_price_per_1e21_flop_end", "compute_electricity_share_end")),
)

#: Labels of the card lines where the registry's label alone would not say what is measured.
CARD_LABELS = {
    "it_power_end": "IT power rating at the end (nameplate)",
    "facility_power_end": "facility power, average draw at the end",
    "h100e_end": "compute in service at the end",
    "compute_hours": "compute delivered over the horizon",
}


def _number(value: float) -> float | None:
    return value if np.isfinite(value) else None


def cards(ds: xr.Dataset) -> list[dict[str, Any]]:
    """The headline cards of a run: for each card of :data:`CARDS`, its lines with the figure's name,
    label, display unit and value (the median), and P5 and P95 over samples (``low``, ``high``; null for
    one sample). Figures the Results lack are left out (a plan has no money flows); a plan's binding
    constraint is its most valuable one, in words."""
    ranges = {key: (label, values, unit) for key, label, values, unit in ds.flopgrid.total_ranges()}
    many = int(ds.sizes.get("sample", 1)) > 1
    out = []
    for title, names in CARDS:
        if title == MARKET_CARD and not ds.attrs.get("existing_industry", 0):
            # Without the world's fleet the market would be the programme's alone against the world's
            # demand (the price at its cap): the programme's price is `flopgrid market --against`'s.
            continue
        lines = []
        for name in names:
            if name not in ranges:
                continue
            label, values, unit = ranges[name]
            # The card's title says "money"; its lines need not ("money: NPV …" → "NPV …").
            label = CARD_LABELS.get(name, label.removeprefix("money: "))
            line: dict[str, Any] = {"name": name, "label": label, "unit": unit}
            if isinstance(values, str):
                line.update(value=values, low=None, high=None)
            else:
                low, mid, high = (_number(v) for v in values)
                line.update(value=mid, low=low if many else None, high=high if many else None)
            lines.append(line)
        if title == "First binding constraint" and ds.attrs.get("engine") == "plan":
            # The target's own dual says what the target costs, not what holds the plan back.
            ranked = rank(ds)
            ranked = ranked[ranked.constraint != "compute-target-lower"]
            text = str(ranked.text.iloc[0]) if len(ranked) else "none: no constraint binds"
            label = "most valuable binding constraint (the target aside)"
            lines = [{"name": "bottleneck", "label": label, "unit": "", "value": text}]
        if lines:
            out.append({"title": title, "lines": lines})
    return out


def figure_choices() -> list[dict[str, str]]:
    """The numeric registry figures a distribution or a probability can be asked of (the asset splits
    left out), as ``name``, ``label`` and display ``unit``."""
    return [
        {"name": f.name, "label": f.label, "unit": f.display_unit}
        for f in FIGURES.values()
        if f.kind != "label" and f.asset is None and f.display_unit != "—"
    ]


def answers(ds: xr.Dataset) -> dict[str, Any]:
    """What the dashboard draws of any run: its cards, its figures (with the fans of a Monte Carlo
    run) and the distributions of its numeric headline figures (Monte Carlo only). A run of one
    sample has no fan: a fan of one line would pass a single run off as a range."""
    figures = charts.figures(ds)
    if int(ds.sizes.get("sample", 1)) < 2:
        figures.pop("fan", None)
    figures.update(fans(ds))
    return {
        "cards": cards(ds),
        "charts": figures,
        "distributions": distributions(ds, [c["name"] for c in figure_choices()]),
    }


def run_view(ds: xr.Dataset, with_charts: bool) -> dict[str, Any]:
    """A run as JSON: with charts, the figures, cards, distributions and a headline (fast: what a
    slider needs); without, the per-year summary, horizon totals and the money headline."""
    if with_charts:
        return {
            "scenario": ds.attrs.get("scenario"),
            "scenario_hash": ds.attrs.get("scenario_hash"),
            "engine": ds.attrs.get("engine"),
            "samples": int(ds.sizes.get("sample", 1)),
            "seed": ds.attrs.get("seed"),
            "totals": charts.headline(ds),
            **answers(ds),
            **({"plan": plan_panel(ds)} if ds.attrs.get("engine") == "plan" else {}),
        }
    view = ds.flopgrid
    money = view.finance()
    out: dict[str, Any] = {
        "scenario": ds.attrs.get("scenario"),
        "scenario_hash": ds.attrs.get("scenario_hash"),
        "engine": ds.attrs.get("engine"),
        "samples": int(ds.sizes.get("sample", 1)),
        "seed": ds.attrs.get("seed"),
        "summary": frame_records(view.summary()),
        "totals": view.totals(),
        "returns": money["returns"],
        "coverage": money["coverage"],
    }
    return out


def chips_in_use(scenario: Scenario) -> list[str]:
    """The accelerator types a scenario makes, installs or buys, most used first: its chip mix's
    shares, then its campuses' and purchases' types (so a scenario that only buys Rubin says Rubin)."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    weights: dict[str, float] = {}
    mix = data.get("chips", {}).get("mix", {})
    for key, value in mix.items():
        # A mix is {chip: share} or {year: {chip: share}}.
        for chip, share in value.items() if isinstance(value, dict) else [(key, value)]:
            weights[str(chip)] = weights.get(str(chip), 0.0) + float(share)
    builds = data.get("builds", {})
    for item in [*builds.get("datacentres", []), *builds.get("purchases", [])]:
        chip = item.get("accelerator")
        if chip:
            weights[str(chip)] = weights.get(str(chip), 0.0) + 1.0
    return sorted(weights, key=lambda chip: -weights[chip])


def describe(scenario: Scenario) -> dict[str, Any]:
    """A scenario, its key assumptions, the chips it uses, the choices the dashboard offers and the
    figures it can be asked about."""
    library = load_library()
    return {
        "name": scenario.name,
        "description": scenario.description,
        "hash": scenario.content_hash(),
        "scenario": scenario.model_dump(mode="json", exclude_none=True),
        "assumptions": current(scenario),
        "chips_in_use": chips_in_use(scenario),
        "choices": {
            "chip": library.ids("accelerators"),
            "power_mix": library.ids("power_sources"),
            "regions": library.ids("regions"),
        },
        "figures": figure_choices(),
    }


#: Rows of a CSV download rendered at a time: the response streams, one block in memory at once.
CSV_ROWS = 50_000


def csv_blocks(frame: pd.DataFrame, rows: int = CSV_ROWS) -> Iterator[bytes]:
    """A frame as CSV bytes, ``rows`` rows at a time (the header first).

    >>> b"".join(csv_blocks(pd.DataFrame({"a": [1, 2, 3]}), rows=2)).decode().split()
    ['a', '1', '2', '3']
    """
    for start in range(0, max(len(frame), 1), rows):
        yield frame.iloc[start : start + rows].to_csv(index=False, header=start == 0).encode()


def download(frame: pd.DataFrame, fmt: Format, stem: str) -> Response:
    """A frame as a CSV (streamed) or Parquet attachment named after ``stem``."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem) or "results"
    if fmt == "csv":
        return StreamingResponse(
            csv_blocks(frame),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
        )
    # Parquet is written whole (its footer indexes the row groups); its size is bounded by the
    # sample limits and it is several times smaller than the CSV.
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.apache.parquet",
        headers={"Content-Disposition": f'attachment; filename="{stem}.parquet"'},
    )


def plan_panel(ds: xr.Dataset, top: int = 10) -> dict[str, Any]:
    """What a plan says, for the dashboard's plan panel (as ``flopgrid plan`` prints it): what to build
    and when (per year), where (per region), its cost, the chips it buys, the ``top`` binding
    constraints in words with their units, and a missed target's causes."""
    ranked = rank(ds)
    chips = ds["accelerators_shipped"].isel(sample=0).sum(["year", "region"])
    capex = float(ds["capex"].isel(sample=0).sum())
    opex = float(ds["opex"].isel(sample=0).sum())
    return {
        "objective": ds.attrs.get("objective"),
        "mode": ds.attrs.get("planner_mode"),
        "discounted_cost_busd": float(ds.attrs.get("discounted_cost", float("nan"))) / 1e9,
        "discount_rate": ds.attrs.get("discount_rate"),
        "capex_busd": capex / 1e9,
        "opex_busd": opex / 1e9,
        "chips_m": {
            str(k): float(v) / 1e6
            for k, v in zip(chips.accelerator.values, chips.values, strict=True)
            if v > 0
        },
        "build_plan": frame_records(plan_table(ds)),
        "by_region": frame_records(where_table(ds)),
        "bottlenecks": [str(t) for t in ranked.text.head(top)],
        "shortfall": shortfall_report(ds),
    }


def job_view(kind: str, results: xr.Dataset | None, summary: dict[str, Any]) -> dict[str, Any]:
    """What the dashboard draws of a finished job: a run's cards, charts, fans and distributions (a
    plan's with its plan panel); a sensitivity analysis's tornado; a sweep's lines."""
    if results is not None:
        out = answers(results)
        if kind == "plan":
            out["plan"] = plan_panel(results)
        return out
    if kind == "sensitivity" and summary.get("tornado"):
        figure = tornado(
            summary["tornado"], str(summary["output"]), str(summary["unit"]), float(summary["base"])
        )
        return {"charts": {"tornado": figure}}
    if kind == "sweep" and summary.get("table"):
        return {"charts": sweep_lines(summary["table"], str(summary["assumption"]))}
    return {"charts": {}}


#: Comparison operators as people write them.
SYMBOLS = {">=": "≥", "<=": "≤"}


def probability_answer(ds: xr.Dataset, name: str, op: str, threshold: float) -> dict[str, Any]:
    """P(figure ``op`` threshold) over a Monte Carlo run's samples, the threshold in the figure's
    display unit; answered by :func:`flopgrid.questions.probability` (the CLI's ``--ask``)."""
    registered = FIGURES.get(name)
    if registered is None or registered.kind == "label":
        raise FlopgridError(f"{name!r} is not a numeric headline figure (flopgrid figures lists them)")
    samples = int(ds.sizes.get("sample", 1))
    if samples < 2:
        raise FlopgridError(
            "a probability needs a Monte Carlo run: set Samples above 1 or run a Monte Carlo job"
        )
    base = threshold * registered.variable.display_scale
    found = probability(ds, f"{name} {op} {base!r}")
    shown = f"{threshold:g} {registered.display_unit}".strip()
    return {
        "question": f"P({registered.label} {SYMBOLS.get(op, op)} {shown})",
        "expression": found["question"],
        "probability": _number(found["probability"]),
        "standard_error": _number(found["standard_error"]),
        "samples": found["samples"],
    }


def plan_view(ds: xr.Dataset) -> dict[str, Any]:
    """A planner run as JSON: the full view where the plan carries every Results variable, else the
    per-year summary and the names of the variables it has."""
    try:
        return run_view(ds, False)
    except KeyError:
        out: dict[str, Any] = {
            "scenario": ds.attrs.get("scenario"),
            "engine": "plan",
            "variables": [str(v) for v in ds.data_vars],
        }
        with suppress(KeyError):
            out["summary"] = frame_records(ds.flopgrid.summary())
        return out
