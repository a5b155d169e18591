"""``flopgrid check``: validate a scenario and print what it resolves to."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from flopgrid.commands.common import (
    JsonOpt,
    ScenarioArg,
    out,
    print_json,
    user_errors,
)


def check(scenario: ScenarioArg = None, as_json: JsonOpt = False) -> None:
    """Validate a scenario and print what it resolves to."""
    # The engines load here, not at the top: `flopgrid --help` must not pay for pandas and SciPy.
    from flopgrid.layout import axes_for
    from flopgrid.library import load_library
    from flopgrid.scenario import load_scenario
    from flopgrid.simulate import prepare

    with user_errors():
        loaded = load_scenario(scenario)
        axes = axes_for(loaded, load_library())
        if loaded.uncertainty.correlations:
            # Which parameters a run draws is known once its sampling design is made: make it, so that
            # check refuses the correlations a Monte Carlo run (run -n) would.
            prepare(loaded, samples=2)
    resolved = loaded.model_dump(mode="json", exclude={"source_file"})
    info = {
        "valid": True,
        "file": loaded.source_file,
        "hash": loaded.content_hash(),
        "years": [int(axes.horizon[0]), int(axes.horizon[-1])],
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
        f"horizon {axes.horizon[0]}–{axes.horizon[-1]}; existing industry: "
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
                f"{dc.count} × {dc.it_rating / 1e9:,.2f} GW IT"
                + (f" ({dc.facility_power / 1e9:,.2f} GW facility)" if dc.facility_power else "")
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


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the app."""
    app.command()(check)
