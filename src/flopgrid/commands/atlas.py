"""``flopgrid atlas``: the named assets of the atlas, their totals by region and year, the pipeline chart
and the map."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from flopgrid.commands.common import JsonOpt, fmt, out, print_json, user_errors
from flopgrid.errors import FlopgridError, suggest

#: Spelt out (``flopgrid.library.atlas.KINDS`` and ``STATUSES``, which a test keeps equal) so that
#: ``flopgrid --help`` does not load the atlas and pandas.
KINDS = ("fab", "packaging", "hbm", "campus", "power")
STATUSES = ("announced", "under_construction", "operating", "cancelled")


def _choice(value: str | None, choices: tuple[str, ...], option: str) -> None:
    if value is not None and value not in choices:
        raise FlopgridError(
            f"{option}: unknown value {value!r}.{suggest(value, list(choices))} Known: {', '.join(choices)}"
        )


def atlas(
    kind: Annotated[str | None, typer.Option(help=f"Only assets of this kind: {', '.join(KINDS)}.")] = None,
    region: Annotated[
        str | None, typer.Option(help="Only assets in this region (an id of library/regions.csv).")
    ] = None,
    status: Annotated[
        str | None, typer.Option(help=f"Only assets in this status: {', '.join(STATUSES)}.")
    ] = None,
    totals: Annotated[
        bool, typer.Option("--totals", help="Capacity in service by kind, region, status and year.")
    ] = False,
    chart: Annotated[
        Path | None,
        typer.Option(
            help="Write the pipeline chart (capacity by status over time) as a self-contained HTML file."
        ),
    ] = None,
    map_file: Annotated[
        Path | None,
        typer.Option(
            "--map",
            help="Write the map of the assets with coordinates as a self-contained HTML file (no network "
            "needed to open it).",
        ),
    ] = None,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
) -> None:
    """List the atlas of named assets (fabs, packaging and HBM sites, AI campuses, power plants) with
    their sources; filter them, total them by region and year, chart the pipeline or map them."""
    # Loaded here, not at the top: `flopgrid --help` must not pay for pandas and Plotly.
    from flopgrid.charts.atlas import asset_map, pipeline
    from flopgrid.charts.atlas import totals as atlas_totals
    from flopgrid.library.atlas import library_regions, load_atlas
    from flopgrid.report import write_figure

    with user_errors():
        _choice(kind, KINDS, "--kind")
        _choice(status, STATUSES, "--status")
        regions = library_regions()
        _choice(region, tuple(regions), "--region")
        loaded = load_atlas()
        assets = loaded.select(kind=kind, region=region, status=status)
        if chart is not None:
            figure = pipeline(assets, kind or "campus")
            write_figure(figure, chart)
            out.print(f"wrote {chart}", highlight=False)
        if map_file is not None:
            drawn = sum(a.located for a in assets)
            write_figure(asset_map(assets), map_file)
            out.print(
                f"wrote {map_file}: {drawn} of {len(assets)} assets drawn ({len(assets) - drawn} without "
                "coordinates left off)",
                highlight=False,
            )
        if chart is not None or map_file is not None:
            return
    if totals:
        frame = atlas_totals(assets)
        if as_json:
            print_json(frame.to_dict(orient="records"))
        elif as_csv:
            sys.stdout.write(frame.to_csv(index=False))
        else:
            wide = frame.pivot_table(
                index=["kind", "region", "status", "unit"], columns="year", values="capacity", aggfunc="sum"
            )
            view = Table(
                title="atlas: capacity in service (ramping from first year to full capacity)",
                title_justify="left",
                header_style="bold",
            )
            for name in ("kind", "region", "status", "unit", *[str(y) for y in wide.columns]):
                view.add_column(name, justify="left" if not name.isdigit() else "right")
            for key, values in zip(wide.index.tolist(), wide.to_numpy(float), strict=True):
                view.add_row(*[str(k) for k in key], *[fmt(float(v)) for v in values])
            out.print(view)
        return
    frame = loaded.frame(assets)
    if as_json:
        print_json([a.as_dict() for a in assets])
    elif as_csv:
        sys.stdout.write(frame.to_csv(index=False))
    else:
        view = Table(title=f"atlas ({len(assets)} assets)", title_justify="left", header_style="bold")
        for name in ("id", "kind", "region", "status", "years", "capacity", "source"):
            view.add_column(name, overflow="fold")
        for a in assets:
            years = "–".join(str(y) for y in (a.start, a.online_year, a.full_year) if y is not None)
            size = "" if a.capacity != a.capacity else f"{fmt(a.capacity)} {a.unit} {a.basis}".strip()
            view.add_row(a.id, a.kind, a.region, a.status, years, size, a.source)
        out.print(view)


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the app."""
    app.command()(atlas)
