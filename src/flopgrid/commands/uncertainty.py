"""``flopgrid sensitivity``: which uncertain parameters drive a figure (SALib Sobol or Morris)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from flopgrid.commands.common import JsonOpt, ScenarioArg, err, fmt, out, print_json, user_errors
from flopgrid.errors import FlopgridError


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the app."""

    @app.command()
    def sensitivity(
        scenario: ScenarioArg = None,
        output: Annotated[
            str, typer.Option("--output", help="The figure, e.g. 'h100e@2030', 'largest_run@2030', 'npv'.")
        ] = "h100e@2030",
        method: Annotated[str, typer.Option(help="sobol (variance-based) or morris (screening).")] = "sobol",
        samples: Annotated[
            int | None,
            typer.Option(
                "--samples",
                "-n",
                min=2,
                max=1_000_000,
                help="Base samples: Sobol runs n × (2 × drivers + 2), Morris n × (drivers + 1). "
                "Default 256 (sobol) or 32 (morris).",
            ),
        ] = None,
        seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same results.")] = 0,
        top: Annotated[int, typer.Option(min=1, help="Drivers shown and in the tornado.")] = 10,
        as_json: JsonOpt = False,
    ) -> None:
        """Rank the uncertain parameters that drive one figure, with confidence intervals and tornado data."""
        from flopgrid.uncertainty import sensitivity as analyse

        with user_errors():
            if method not in ("sobol", "morris"):
                raise FlopgridError(f"--method {method}: use sobol or morris")
            if as_json:
                result = analyse(scenario, output, method=method, samples=samples, seed=seed, top=top)
            else:
                with Progress(
                    TextColumn(f"{method}: model runs"),
                    BarColumn(),
                    TextColumn("{task.completed:,.0f} runs"),
                    TimeElapsedColumn(),
                    console=err,
                    transient=True,
                ) as bar:
                    task = bar.add_task("runs", total=None)
                    result = analyse(
                        scenario,
                        output,
                        method=method,
                        samples=samples,
                        seed=seed,
                        top=top,
                        progress=lambda done, total: bar.update(task, completed=done, total=total),
                    )
        drivers, tornado = result["drivers"], result["tornado"]
        if as_json:
            print_json(
                {
                    "output": result["output"],
                    "unit": result["unit"],
                    "method": method,
                    "runs": result["runs"],
                    "seed": seed,
                    "base": result["base"],
                    "drivers": drivers.to_dict(orient="records"),
                    "tornado": tornado.to_dict(orient="records"),
                }
            )
            return
        title = f"Drivers of {result['output']} [{result['unit']}] — {method}, {result['runs']:,} runs " + (
            "(S1 first-order, ST total; ± 95% confidence)" if method == "sobol" else "(μ* ± 95% confidence)"
        )
        table = Table(title=title, title_justify="left", header_style="bold")
        table.add_column("rank", justify="right")
        for column in drivers.columns:
            table.add_column(str(column), justify="left" if column == "driver" else "right")
        for rank, row in enumerate(drivers.head(top).itertuples(index=False), start=1):
            table.add_row(str(rank), *(v if isinstance(v, str) else fmt(float(v)) for v in row))
        out.print(table)
        swing = Table(
            title=f"Tornado: {result['output']} with each driver at its P10 / P90, the rest at their medians "
            f"(all at median: {fmt(result['base'])} {result['unit']})",
            title_justify="left",
            header_style="bold",
        )
        for column in ("driver", "at P10", "at P90", "swing"):
            swing.add_column(column, justify="left" if column == "driver" else "right")
        for row in tornado.itertuples(index=False):
            swing.add_row(str(row.driver), fmt(row.low), fmt(row.high), fmt(row.swing))
        out.print(swing)
