"""``flopgrid market``: the world market for compute with and without a programme: the clearing price,
the hours sold, the programme's revenue and share, and what it does to everybody else's revenue."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from flopgrid.commands.common import JsonOpt, ScenarioArg, out, print_json, short, span, user_errors

#: Columns of the per-year table: (variable, header, display scale).
COLUMNS = (
    ("price", "price [USD/H100e-h]", 1.0),
    ("price_without", "price without [USD/H100e-h]", 1.0),
    ("quantity", "sold [B H100e-h]", 1e9),
    ("quantity_without", "sold without [B H100e-h]", 1e9),
    ("programme_revenue", "programme revenue [B USD]", 1e9),
    ("others_revenue", "others' revenue [B USD]", 1e9),
    ("others_revenue_change", "others' change [B USD]", 1e9),
    ("share", "programme share [%]", 0.01),
)


def market(
    scenario: ScenarioArg = None,
    against: Annotated[
        str, typer.Option("--against", help="The world without the programme (scenario name or file).")
    ] = "reference",
    samples: Annotated[
        int, typer.Option("--samples", "-n", min=1, max=100_000, help="Monte Carlo samples.")
    ] = 1,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same results.")] = 0,
    ask: Annotated[
        list[str] | None,
        typer.Option("--ask", help="A probability to answer, e.g. 'price@2030 <= 1' (repeatable)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Clear the world market for compute with and without the programme, year by year.

    The world is the --against scenario's fleet (default: reference); with the programme, the
    programme's fleet offers beside it on the same demand (docs/model.md §12). Per year: the clearing
    price per H100e-hour with and without the programme, the hours sold, the programme's revenue and
    share, the rest of the market's revenue and its change. With --samples, medians and P5–P95;
    --ask takes the variables of this table at a year: 'price@2030 <= 1', 'share@2035 >= 0.3'.
    """
    from flopgrid.questions import parse_question, probability
    from flopgrid.simulate.compare import compare

    with user_errors():
        for question in ask or []:
            parse_question(question)
        results = compare(scenario or "seed-7t", against, samples=samples, seed=seed)
        answers = [probability(results, question) for question in ask or []]
    years = [int(y) for y in results.year.values]
    rows: list[dict[str, Any]] = []
    for t, year in enumerate(years):
        row: dict[str, Any] = {"year": year}
        for name, _, _ in COLUMNS:
            values = results[name].values[:, t]
            if samples == 1:
                row[name] = float(values[0])
            else:
                p5, p50, p95 = (float(v) for v in _percentiles(values))
                row[name] = {"p5": p5, "p50": p50, "p95": p95}
        rows.append(row)
    if as_json:
        print_json(
            {
                "scenario": scenario or "seed-7t",
                "against": against,
                "samples": samples,
                "seed": seed,
                "units": {name: results[name].attrs["units"] for name, _, _ in COLUMNS},
                "years": rows,
                "questions": answers,
            }
        )
        return
    title = f"{scenario or 'seed-7t'} against {against}: the world market for compute" + (
        f"; median (P5–P95) of {samples} samples" if samples > 1 else ""
    )
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("year", justify="right")
    for _, header, _ in COLUMNS:
        name, _, unit = header.partition(" [")
        table.add_column(f"{name}\n{unit.rstrip(']')}", justify="right")
    for row in rows:
        cells = []
        for name, _, scale in COLUMNS:
            value = row[name]
            if isinstance(value, dict):
                cells.append(span(value["p50"] / scale, value["p5"] / scale, value["p95"] / scale))
            else:
                cells.append(short(value / scale))
        table.add_row(str(row["year"]), *cells)
    out.print(table)
    if answers:
        asked = Table(title="Probabilities (share of samples)", title_justify="left", header_style="bold")
        for name in ("question", "probability", "± s.e.", "samples"):
            asked.add_column(name, justify="left" if name == "question" else "right")
        for a in answers:
            asked.add_row(
                a["question"], f"{a['probability']:.3f}", f"{a['standard_error']:.3f}", str(a["samples"])
            )
        out.print(asked)


def _percentiles(values: Any) -> Any:
    """P5, P50 and P95 over the samples, ignoring NaN (a year in which nothing is sold has no share)."""
    import numpy as np  # here, like the engines: the command line starts without them

    finite = values[np.isfinite(values)]
    return np.percentile(finite, [5, 50, 95]) if finite.size else [float("nan")] * 3


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the app."""
    app.command()(market)
