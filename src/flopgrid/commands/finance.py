"""``flopgrid finance``: the cash-flow table, headline returns and whether the financing covers the plan."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.table import Table

from flopgrid.commands.common import (
    JsonOpt,
    NoRecordOpt,
    ScenarioArg,
    StoreOpt,
    fmt,
    frame_table,
    out,
    print_common,
    print_json,
    record,
    span,
    user_errors,
)


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
    # The engines are imported here, not at the top, so that the command line starts without pandas
    # and the simulator (a start-up measure; there is no import cycle).
    import pandas as pd

    from flopgrid.results import Results  # noqa: F401  (registers the ``results.flopgrid`` accessor)
    from flopgrid.scenario import load_scenario
    from flopgrid.simulate import simulate
    from flopgrid.simulate.finance import investor_returns
    from flopgrid.uncertainty import central_check

    with user_errors():
        loaded = load_scenario(scenario)
        started = time.perf_counter()
        results = simulate(loaded, samples=samples, seed=seed)
        seconds = time.perf_counter() - started
        money = results.flopgrid.finance(nominal=nominal)
        central = central_check(loaded, results, seed=seed)
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
        investors = investor_returns(loaded, results)
        common = results.flopgrid.common()
    table = money["table"]
    assert isinstance(table, pd.DataFrame)
    # Without tranches the "funding gap" is the whole spend: a cost, not a shortfall of financing.
    financed = bool(loaded.finance.tranches)
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
                "revenue": loaded.revenue_kind,
                "tranches": tranches,
                "investors": investors,
                "as_common_as_electricity": common,
                "financing_section": financed,
                "run_id": run_id,
                "central_check": central,
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
            + f"; revenue: {loaded.revenue_kind}",
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
        (
            "funding gap (after revenue and cash carried)"
            if financed
            else "spend not covered (no financing)",
            coverage["funding_gap"],
            1e9,
            "B USD",
        ),
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
    if not financed:
        verdict = (
            "The scenario has no financing section (no tranches): these are its costs only, "
            f"{fmt(coverage['spend'] / 1e9)} B USD of capex and opex; add finance.tranches to ask whether "
            "financing covers them."
        )
    elif coverage["covered"]:
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
    if investors:
        who = Table(
            title="who earns what, within the horizon"
            + (" (median, P5–P95)" if samples > 1 else "")
            + ": equity shares the cash after opex and debt service; lenders get their schedule",
            title_justify="left",
            header_style="bold",
        )
        for name in (
            "investor",
            "kind",
            "paid in [B USD]",
            "received [B USD]",
            "multiple [x]",
            "IRR [%/year]",
        ):
            who.add_column(name, justify="left" if name in ("investor", "kind") else "right")
        for line in investors:
            who.add_row(
                str(line["investor"]),
                ", ".join(line["kinds"]),
                fmt(line["paid"] / 1e9),
                _cell(line, "received", 1e9, samples),
                _cell(line, "multiple", 1.0, samples),
                _cell(line, "irr", 0.01, samples),
            )
        out.print(who)
    print_common(common, samples)
    if central["note"]:
        out.print(central["note"], style="yellow", markup=False)


def _cell(line: dict[str, Any], key: str, scale: float, samples: int) -> str:
    """A median, with its P5–P95 range in a Monte Carlo run."""
    mid = line[key] / scale
    return fmt(mid) if samples == 1 else span(mid, line[f"{key}_p5"] / scale, line[f"{key}_p95"] / scale)


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the app."""
    app.command()(finance)
