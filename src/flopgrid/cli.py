"""The ``flopgrid`` command line: thin, it calls the public API and prints.

Every command takes ``--json``. Bad input exits with status 2 and one message naming the file, line,
field and what is expected; nothing is printed as a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from flopgrid import __version__
from flopgrid.commands import register_all
from flopgrid.commands.common import (
    JsonOpt,
    NoRecordOpt,
    ScenarioArg,
    StoreOpt,
    app,
    err,
    fmt,
    frame_table,
    out,
    print_json,
    record,
    user_errors,
)
from flopgrid.errors import FlopgridError
from flopgrid.layout import axes_for
from flopgrid.library import TABLES, load_library
from flopgrid.scenario import Scenario, load_scenario, shipped_scenarios
from flopgrid.simulate import simulate


@app.command()
def run(
    scenario: ScenarioArg = None,
    samples: Annotated[
        int,
        typer.Option(
            "--samples", "-n", min=1, max=10_000_000, help="Monte Carlo samples (1: deterministic)."
        ),
    ] = 1,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same results.")] = 0,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Save results: .nc, .parquet or .csv.")
    ] = None,
    ask: Annotated[
        list[str] | None,
        typer.Option("--ask", help="A probability to answer, e.g. 'h100e@2030 >= 50e6' (repeatable)."),
    ] = None,
    sampling: Annotated[
        str | None,
        typer.Option(help="Sampling design: lhs, sobol or random (default: the scenario's, else lhs)."),
    ] = None,
    store: StoreOpt = None,
    no_record: NoRecordOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Simulate a scenario and print the per-year summary and horizon totals.

    Up to 100,000 samples every result is kept (and can be saved); above that the run goes in chunks
    that keep only the headline figures and the --ask figures, so memory stays bounded (about 0.7 GB
    plus 8 bytes per sample and kept figure).
    """
    from flopgrid.uncertainty import SAMPLING, parse_question

    with user_errors():
        if sampling is not None and sampling not in SAMPLING:
            raise FlopgridError(f"--sampling {sampling}: use one of {', '.join(SAMPLING)}")
        for question in ask or []:
            parse_question(question)
        chunked = samples > FULL_RESULTS_MAX
        allowed = (".parquet", ".csv") if chunked else (".nc", ".parquet", ".csv")
        if output is not None and output.suffix.lower() not in allowed:
            raise FlopgridError(
                f"--out {output}: use a {', '.join(allowed[:-1])} or {allowed[-1]} file name"
                + (
                    f" (above {FULL_RESULTS_MAX:,} samples a run keeps only headline figures)"
                    if chunked
                    else ""
                )
            )
        loaded = load_scenario(scenario)
        with _progress(samples >= 20_000 and not as_json, samples) as progress:
            if chunked:
                _run_chunked(loaded, samples, seed, sampling, ask or [], output, as_json, progress)
                return
            started = time.perf_counter()
            results = simulate(loaded, samples=samples, seed=seed, progress=progress, sampling=sampling)
            seconds = time.perf_counter() - started
        summary = results.flopgrid.summary()
        totals = results.flopgrid.totals()
        answers = [results.flopgrid.probability(question) for question in ask or []]
        if output is not None:
            results.flopgrid.save(output)
        run_id = record(
            results,
            loaded,
            engine="simulate",
            seed=seed,
            samples=samples,
            seconds=seconds,
            store=store,
            skip=no_record,
        )
    if as_json:
        print_json(
            {
                "scenario": loaded.name,
                "file": loaded.source_file,
                "samples": samples,
                "seed": seed,
                "years": summary.reset_index().to_dict(orient="records"),
                "totals": totals,
                "probabilities": answers,
                "sampling": results.attrs.get("sampling"),
                "output": str(output) if output else None,
                "run_id": run_id,
            }
        )
        return
    title = f"{loaded.name}: {loaded.description}".strip().rstrip(":")
    out.print(
        frame_table(
            summary,
            f"{title}\n(samples: {samples}" + ("; median with P5/P95 columns)" if samples > 1 else ")"),
        )
    )
    out.print(_totals_table(results.flopgrid.total_rows()))
    _print_answers(answers)
    if output is not None:
        out.print(f"results saved to {output}")


#: Above this many samples ``run`` keeps only headline figures (full results take ~30 kB a sample).
FULL_RESULTS_MAX = 100_000
#: The figures a chunked run keeps, besides those its questions ask about.
HEADLINE_FIGURES = (
    "h100e@end",
    "flops_peak@end",
    "accelerators_installed@end",
    "it_power@end",
    "facility_power@end",
    "largest_run@end",
    "energy",
    "emissions",
    "capex",
    "opex",
    "funding_gap",
    "npv",
)


@contextmanager
def _progress(show: bool, total: int) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr for long runs (``None`` when not shown)."""
    if not show:
        yield None
        return
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("simulate", total=total)
        yield lambda done, _total: bar.update(task, completed=done)


def _run_chunked(
    loaded: Scenario,
    samples: int,
    seed: int,
    sampling: str | None,
    ask: list[str],
    output: Path | None,
    as_json: bool,
    progress: Callable[[int, int], None] | None,
) -> None:
    """A Monte Carlo run in bounded memory: headline figures and asked figures only."""
    from flopgrid.uncertainty import answer, figure_name, monte_carlo, quantiles

    figures = list(dict.fromkeys([*HEADLINE_FIGURES, *(figure_name(q) for q in ask)]))
    frame = monte_carlo(loaded, figures, samples, seed=seed, sampling=sampling, progress=progress)
    units: dict[str, str] = frame.attrs["units"]
    answers = [answer(frame[figure_name(q)].to_numpy(), units[figure_name(q)], q) for q in ask]
    table = quantiles(frame)
    if output is not None:
        saved = frame.rename(columns=lambda name: f"{name} [{units[name]}]")
        tmp = output.with_name(output.name + ".tmp")
        if output.suffix.lower() == ".csv":
            saved.to_csv(tmp)
        else:
            saved.to_parquet(tmp)
        tmp.replace(output)
    if as_json:
        print_json(
            {
                "scenario": loaded.name,
                "file": loaded.source_file,
                "samples": samples,
                "seed": seed,
                "figures": table.reset_index().to_dict(orient="records"),
                "probabilities": answers,
                "output": str(output) if output else None,
            }
        )
        return
    title = f"{loaded.name}: {loaded.description}".strip().rstrip(":")
    out.print(frame_table(table, f"{title}\n(samples: {samples:,}; headline figures, in chunks)", "figure"))
    _print_answers(answers)
    if output is not None:
        out.print(f"figures saved to {output}")


def _print_answers(answers: list[dict[str, Any]]) -> None:
    if not answers:
        return
    asked = Table(title="Probabilities (share of samples)", title_justify="left", header_style="bold")
    for name in ("question", "probability", "± standard error", "samples"):
        asked.add_column(name, justify="left" if name == "question" else "right")
    for item in answers:
        asked.add_row(
            str(item["question"]),
            f"{item['probability']:.3f}",
            f"{item['standard_error']:.3f}",
            f"{item['samples']:,}",
        )
    out.print(asked)


def _totals_table(rows: list[tuple[str, str, float | str, str]]) -> Table:
    """The horizon totals in display units, labelled and ordered by the Results schema."""
    table = Table(title="Horizon totals (median over samples)", title_justify="left", header_style="bold")
    for name in ("figure", "value", "unit"):
        table.add_column(name, justify="right" if name == "value" else "left")
    for key, label, value, unit in rows:
        if key == "payback_year" and isinstance(value, float):
            shown = "never" if value != value else f"{value:.0f}"
        else:
            shown = fmt(value) if isinstance(value, float) else str(value)
        table.add_row(label, shown, unit)
    return table


@app.command()
def finance(
    scenario: ScenarioArg = None,
    samples: Annotated[
        int, typer.Option("--samples", "-n", min=1, max=1_000_000, help="Monte Carlo samples.")
    ] = 1,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same results.")] = 0,
    nominal: Annotated[
        bool,
        typer.Option("--nominal", help="Per-year money in nominal USD at the scenario's finance.inflation."),
    ] = False,
    store: StoreOpt = None,
    no_record: NoRecordOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Print the cash-flow table, the headline returns, and whether the financing covers the plan."""
    with user_errors():
        loaded = load_scenario(scenario)
        started = time.perf_counter()
        results = simulate(loaded, samples=samples, seed=seed)
        seconds = time.perf_counter() - started
        money = results.flopgrid.finance(nominal=nominal)
        run_id = record(
            results,
            loaded,
            engine="simulate",
            seed=seed,
            samples=samples,
            seconds=seconds,
            store=store,
            skip=no_record,
        )
    table = money["table"]
    assert isinstance(table, pd.DataFrame)
    tranches = [
        {
            "name": t.name,
            "investor": t.investor,
            "kind": t.kind,
            "region": t.region,
            "amount": t.total,
            "years": sorted(t.draws()),
            "rate": t.rate,
            "tenor": t.tenor,
        }
        for t in loaded.finance.tranches
    ]
    if as_json:
        print_json(
            {
                "scenario": loaded.name,
                "file": loaded.source_file,
                "samples": samples,
                "seed": seed,
                "currency": money["currency"],
                "revenue": loaded.finance.revenue.kind,
                "tranches": tranches,
                "run_id": run_id,
                "years": table.reset_index().to_dict(orient="records"),
                **{key: value for key, value in money.items() if key not in ("table", "currency")},
            }
        )
        return
    shown = table.copy()
    money_columns = [c for c in shown.columns if c != "dscr"]
    shown[money_columns] = shown[money_columns] / 1e9
    shown.columns = [f"{c} [B USD]" if c != "dscr" else "dscr [x]" for c in shown.columns]
    out.print(
        frame_table(
            shown,
            f"{loaded.name}: cash flows, {money['currency']}"
            + ("; median over samples" if samples > 1 else "")
            + f"; revenue: {loaded.finance.revenue.kind}",
        )
    )
    if tranches:
        listing = Table(title="financing tranches", title_justify="left", header_style="bold")
        for name in ("name", "investor", "kind", "region", "amount [B USD]", "years", "rate", "tenor"):
            listing.add_column(name)
        for t in tranches:
            years = t["years"]
            assert isinstance(years, list)
            listing.add_row(
                str(t["name"]),
                str(t["investor"] or ""),
                str(t["kind"]),
                str(t["region"] or ""),
                fmt(float(str(t["amount"])) / 1e9),
                f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0]),
                "" if t["rate"] is None else f"{float(str(t['rate'])) * 100:.2f}%/year",
                "" if t["tenor"] is None else f"{float(str(t['tenor'])):.0f} year",
            )
        out.print(listing)
    coverage, returns = money["coverage"], money["returns"]
    split, comparisons, breakdown = money["split"], money["comparisons"], money["lcoc_breakdown"]
    assert isinstance(coverage, dict) and isinstance(returns, dict)
    assert isinstance(split, dict) and isinstance(comparisons, dict) and isinstance(breakdown, dict)
    head = Table(title="headline (median over samples)", title_justify="left", header_style="bold")
    for name in ("figure", "value", "unit"):
        head.add_column(name, justify="right" if name == "value" else "left")
    rows: list[tuple[str, float, float, str]] = [
        ("financing committed (tranches)", coverage["committed"], 1e9, "B USD"),
        ("spend: capex + opex", coverage["spend"], 1e9, "B USD"),
        ("  capex", coverage["capex"], 1e9, "B USD"),
        ("  opex", coverage["opex"], 1e9, "B USD"),
        ("revenue", coverage["revenue"], 1e9, "B USD"),
        ("debt service", coverage["debt_service"], 1e9, "B USD"),
        ("committed − spend", coverage["committed_minus_spend"], 1e9, "B USD"),
        ("funding gap (after revenue and cash carried)", coverage["funding_gap"], 1e9, "B USD"),
        ("cash at the end", coverage["cash_end"], 1e9, "B USD"),
        ("NPV at the discount rate", returns["npv"], 1e9, "B USD"),
        ("IRR", returns["irr"], 0.01, "%/year"),
        ("payback year", returns["payback_year"], 1.0, ""),
        ("peak cumulative cash need", returns["peak_cash_need"], 1e9, "B USD"),
        ("discount rate", returns["discount_rate"], 0.01, "%/year"),
        ("weighted cost of the tranches", returns["financing_cost"], 0.01, "%/year"),
        ("levelised cost per H100e-hour", returns["lcoc_per_h100e_hour"], 1.0, "USD"),
        ("levelised cost per 1e21 FLOP", returns["lcoc_per_1e21_flop"], 1.0, "USD"),
    ]
    rows += [(f"  per H100e-hour: {asset}", value, 1.0, "USD") for asset, value in breakdown.items()]
    rows += [(f"capex split: {group}", item["share"], 0.01, "% of capex") for group, item in split.items()]
    for name, item in comparisons.items():
        label = name.replace("_", " ") + f" ({item['benchmark_year']})"
        rows.append(
            (label, item["value"], 0.01 if "share" in name else 1.0, "%" if "share" in name else "years")
        )
    for label, value, scale, unit in rows:
        if label == "payback year":
            head.add_row(label, "never" if value != value else f"{value:.0f}", unit)
        else:
            head.add_row(label, fmt(value / scale), unit)
    out.print(head)
    if coverage["covered"]:
        verdict = (
            f"The financing covers the plan: no funding gap; {fmt(coverage['cash_end'] / 1e9)} B USD "
            "of cash is left at the end."
        )
    else:
        verdict = (
            f"The financing does NOT cover the plan: a funding gap of {fmt(coverage['funding_gap'] / 1e9)} "
            f"B USD over the horizon, from {coverage['first_gap_year']}."
        )
    out.print(verdict)


@app.command()
def check(scenario: ScenarioArg = None, as_json: JsonOpt = False) -> None:
    """Validate a scenario and print what it resolves to."""
    with user_errors():
        loaded = load_scenario(scenario)
        axes = axes_for(loaded, load_library())
    resolved = loaded.model_dump(mode="json", exclude={"source_file"})
    info = {
        "valid": True,
        "file": loaded.source_file,
        "hash": loaded.content_hash(),
        "years": [int(axes.years[0]), int(axes.years[-1])],
        "regions": axes.regions,
        "accelerators": axes.accelerators,
        "sources": axes.sources,
        "scenario": resolved,
    }
    if as_json:
        print_json(info)
        return
    out.print(f"[bold green]valid[/]: {loaded.source_file or loaded.name} (hash {info['hash']})")
    out.print(
        f"horizon {axes.years[0]}–{axes.years[-1]}; existing industry: "
        f"{'modelled' if loaded.existing_industry else 'not modelled (programme only)'}"
    )
    out.print(f"regions: {', '.join(axes.regions)}")
    out.print(f"accelerators: {', '.join(axes.accelerators)}")
    out.print(f"power sources: {', '.join(axes.sources)}")
    b = loaded.builds
    rows: list[tuple[str, str, str, str, str]] = []
    for fab in b.fabs:
        rows.append(
            (
                "fab",
                fab.name or "",
                fab.region,
                f"{fab.count} × {fab.capacity / 12:,.0f} wafer/month",
                str(fab.start),
            )
        )
    for line in b.packaging:
        rows.append(
            (
                "packaging",
                line.name or "",
                line.region,
                f"{line.count} × {line.capacity / 12:,.0f} wafer/month",
                str(line.start),
            )
        )
    for hbm in b.hbm:
        rows.append(
            (
                "hbm",
                hbm.name or "",
                hbm.region,
                f"{hbm.count} × {hbm.capacity / 1e9:,.2f} million TB/year",
                str(hbm.start),
            )
        )
    for dc in b.datacentres:
        rows.append(
            (
                "datacentre",
                dc.name or "",
                dc.region,
                f"{dc.count} × {dc.it_power / 1e9:,.2f} GW IT"
                + (f" for {dc.accelerator}" if dc.accelerator else ""),
                str(dc.start),
            )
        )
    for plant in b.power:
        rows.append(
            (
                "power",
                plant.name or "",
                plant.region,
                f"{plant.count} × {plant.capacity / 1e9:,.2f} GW {plant.source}",
                str(plant.start),
            )
        )
    for buy in b.purchases:
        rows.append(("purchase", "", buy.region, f"{buy.quantity:,.0f} {buy.accelerator}", str(buy.year)))
    if rows:
        table = Table(title="builds", title_justify="left", header_style="bold")
        for name in ("kind", "name", "region", "size", "start"):
            table.add_column(name)
        for row in rows:
            table.add_row(*row)
        out.print(table)
    if loaded.parameters:
        out.print("parameter overrides: " + json.dumps(loaded.parameters, default=str))


@app.command()
def data(
    table: Annotated[
        str | None,
        typer.Argument(help=f"One of: {', '.join(TABLES)}. Omit to list tables.", show_default=False),
    ] = None,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the table as CSV.")] = False,
) -> None:
    """List a data-library table with values, ranges and sources."""
    with user_errors():
        library = load_library()
        if table is None:
            listing = [
                {
                    "table": t,
                    "items": len(library.ids(t)),
                    "parameters": len(library.parameters(t)),
                    "rows": len(library.table(t)),
                }
                for t in TABLES
            ]
            if as_json:
                print_json(listing)
            elif as_csv:
                sys.stdout.write(pd.DataFrame(listing).to_csv(index=False))
            else:
                listing_frame = pd.DataFrame(listing).set_index("table")
                out.print(frame_table(listing_frame, "data library tables", "table"))
            return
        if table not in TABLES:
            import difflib

            close = difflib.get_close_matches(table, TABLES, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise FlopgridError(f"unknown table {table!r}.{hint} Known: {', '.join(TABLES)}")
        frame = library.table(table)
    if as_json:
        print_json(frame.to_dict(orient="records"))
    elif as_csv:
        sys.stdout.write(frame.to_csv(index=False))
    else:
        rich_table = Table(
            title=f"{table} (value, low–high, source)", title_justify="left", header_style="bold"
        )
        for name in ("id", "parameter", "value", "unit", "year", "low–high", "source"):
            rich_table.add_column(name, overflow="fold")
        for row in frame.itertuples():
            value, low, high = (float(str(x)) for x in (row.value, row.low, row.high))
            rich_table.add_row(
                str(row.id),
                str(row.parameter),
                fmt(value),
                str(row.unit),
                str(row.year),
                f"{fmt(low)}–{fmt(high)}",
                str(row.source),
            )
        out.print(rich_table)


@app.command()
def scenarios(as_json: JsonOpt = False) -> None:
    """List the built-in scenarios."""
    names = shipped_scenarios()
    if as_json:
        print_json(names)
    else:
        for name in names:
            out.print(name)


def _version(value: bool) -> None:
    if value:
        out.print(f"flopgrid {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """flopgrid: model the build-out of AI compute — fabs, chips, data centres, power, money."""


register_all(app)


def main() -> None:
    """Entry point of the ``flopgrid`` script; usage errors exit with status 2 (click's convention)."""
    command: Callable[..., Any] = app
    command()
