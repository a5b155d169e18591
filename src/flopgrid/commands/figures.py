"""``flopgrid figures``: the figure registry, the one list of headline figure names.

The names are the keys of ``results.flopgrid.totals()`` (JSON totals, the run store), the rows of the
totals tables and what ``--ask`` accepts (besides any Results variable at a year, ``h100e@2030``).
"""

from __future__ import annotations

import typer
from rich.table import Table

from flopgrid.commands.common import JsonOpt, out, print_json
from flopgrid.schema import FIGURES


def figures(as_json: JsonOpt = False) -> None:
    """List the headline figures: name, label, display unit and kind.

    Use a name in --ask ('h100e_end >= 100e6', 'capex_fab <= 500e9'), or any Results variable at a
    year ('h100e@2030'). Stocks are levels at the horizon's end, flows sums over the horizon.
    """
    rows = [
        {
            "name": f.name,
            "label": f.label,
            "display_unit": f.display_unit,
            "unit": f.unit,
            "kind": f.kind,
            "meaning": f.meaning,
        }
        for f in FIGURES.values()
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title="headline figures (flopgrid figures)", title_justify="left", header_style="bold")
    for name in ("name", "label", "display unit", "kind"):
        table.add_column(name, no_wrap=name == "name")
    for row in rows:
        table.add_row(row["name"], row["label"], row["display_unit"] or "—", row["kind"])
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the app."""
    app.command()(figures)
