"""``flopgrid data`` and ``flopgrid scenarios``: the built-in data library and scenarios."""

from __future__ import annotations

import difflib
import sys
from typing import Annotated

import typer
from rich.table import Table

from flopgrid.commands.common import (
    JsonOpt,
    fmt,
    frame_table,
    out,
    print_json,
    user_errors,
)
from flopgrid.errors import FlopgridError
from flopgrid.scenarios import descriptions, shipped_names

#: The data library's tables, for the help text (``flopgrid.library.TABLES``, which a test keeps equal):
#: spelt out so that ``flopgrid --help`` does not load the library and pandas.
TABLES = (
    "accelerators",
    "fabs",
    "packaging",
    "hbm",
    "datacentres",
    "power_sources",
    "regions",
    "market",
    "macro",
)


def data(
    table: Annotated[
        str | None,
        typer.Argument(help=f"One of: {', '.join(TABLES)}. Omit to list tables.", show_default=False),
    ] = None,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the table as CSV.")] = False,
) -> None:
    """List a data-library table with values, ranges and sources."""
    # Imported here, not at the top: pandas and the library load only when a table is shown, so that
    # the command line starts fast (a start-up measure; there is no import cycle).
    import pandas as pd

    from flopgrid.library import load_library

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


def scenarios(as_json: JsonOpt = False) -> None:
    """List the built-in scenarios with their descriptions."""
    described = descriptions()
    if as_json:
        print_json([{"name": name, "description": text} for name, text in described.items()])
        return
    listing = Table(title="built-in scenarios", title_justify="left", header_style="bold")
    listing.add_column("name", no_wrap=True)
    listing.add_column("description")
    for name, text in described.items():
        listing.add_row(name, text)
    out.print(listing)


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the app."""
    app.command()(data)
    # The help names every shipped scenario, from the shipped files (not typed here).
    app.command(help=f"List the built-in scenarios ({', '.join(shipped_names())}) with their descriptions.")(
        scenarios
    )
