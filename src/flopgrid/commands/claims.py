"""``flopgrid claims`` (published claims checked against the model) and ``flopgrid validate`` (the
model against the published record)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from flopgrid.commands.common import JsonOpt, err, fmt, out, print_json, user_errors
from flopgrid.errors import FlopgridError

VERDICT_STYLE = {
    "consistent": "green",
    "stretched": "yellow",
    "implausible": "red",
    "internally inconsistent": "magenta",
}
CASES = ("published", "epoch2030", "backtest", "campuses")


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the app."""

    @app.command()
    def claims(
        ledger: Annotated[
            str | None,
            typer.Argument(
                help="Claims ledger (YAML), or a built-in name (seed-articles). Default: seed-articles.",
                show_default=False,
            ),
        ] = None,
        samples: Annotated[
            int | None,
            typer.Option(
                "--samples", "-n", min=2, max=100_000, help="Monte Carlo samples (default: the ledger's)."
            ),
        ] = None,
        seed: Annotated[int | None, typer.Option(help="Random seed (default: the ledger's).")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Check every claim of a ledger against the model and the data library: verdict, implied
        figures and the reason."""
        from flopgrid.claims import VERDICTS, evaluate, load_ledger, show

        with user_errors():
            loaded = load_ledger(ledger)
            if as_json or not err.is_terminal:
                results = evaluate(loaded, samples=samples, seed=seed)
            else:
                with Progress(
                    TextColumn("checking claims"),
                    BarColumn(),
                    TextColumn("{task.completed}/{task.total}"),
                    console=err,
                    transient=True,
                ) as bar:
                    task = bar.add_task("claims", total=len(loaded.claims))
                    results = evaluate(
                        loaded,
                        samples=samples,
                        seed=seed,
                        progress=lambda done, _total: bar.update(task, completed=done),
                    )
        counts = {v: sum(r.verdict == v for r in results) for v in VERDICTS}
        if as_json:
            print_json(
                {
                    "ledger": loaded.name,
                    "file": loaded.file,
                    "samples": samples or loaded.samples,
                    "seed": loaded.seed if seed is None else seed,
                    "verdicts": counts,
                    "claims": [r.as_dict() for r in results],
                }
            )
            return
        table = Table(
            title=f"{loaded.name}: {loaded.description}".rstrip(": ")
            + f"\n(samples: {samples or loaded.samples}; ranges are P5–P95)",
            title_justify="left",
            header_style="bold",
            show_lines=True,
        )
        for name, ratio in (
            ("claim", 2),
            ("source", 1),
            ("verdict", 1),
            ("implied figures", 2),
            ("reason", 4),
        ):
            table.add_column(name, ratio=ratio, overflow="fold")
        for r in results:
            implied = "\n".join(
                f"{name}: {show(v.mid, v.unit)}"
                + ("" if v.low == v.high else f" ({show(v.low, v.unit)}–{show(v.high, v.unit)})")
                for name, v in r.implied.items()
            )
            table.add_row(
                f"[bold]{r.id}[/]\n«{r.quote}»" + (f"\n[dim]{r.translation}[/]" if r.translation else ""),
                f"{r.source.publication}, {r.source.date}",
                f"[{VERDICT_STYLE[r.verdict]}]{r.verdict}[/]",
                implied,
                r.reason,
            )
        out.print(table)
        out.print(", ".join(f"{n} {v}" for v, n in counts.items()))

    @app.command()
    def validate(
        case: Annotated[
            str,
            typer.Argument(
                help="published (the record: IEA, LBNL, Epoch's arithmetic, plus the Epoch 2030 case "
                "when installed), epoch2030 (that case alone), backtest (the model from 2023 on supply-chain "
                "inputs against 2023–2025) or campuses (atlas campuses' announced capex against the model's)."
            ),
        ] = "published",
        samples: Annotated[
            int, typer.Option("--samples", "-n", min=2, max=100_000, help="Monte Carlo samples.")
        ] = 500,
        seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same results.")] = 0,
        as_json: JsonOpt = False,
    ) -> None:
        """Compare the model's outputs with published figures: ours, theirs, error, tolerance, pass/fail,
        and which inputs were calibrated on which figure."""
        from flopgrid.validation import (
            CAMPUS_TOLERANCE,
            ValidationTable,
            backtest_table,
            campus_rows,
            epoch2030_rows,
            validation_table,
        )
        from flopgrid.validation import (
            as_json as table_json,
        )

        with user_errors():
            if case not in CASES:
                import difflib

                close = difflib.get_close_matches(case, CASES, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise FlopgridError(f"unknown validation case {case!r}.{hint} Known: {', '.join(CASES)}")
            if case == "epoch2030":
                table = ValidationTable(epoch2030_rows(samples, seed), [], samples, seed)
            elif case == "backtest":
                table = backtest_table(samples=samples, seed=seed)
            elif case == "campuses":
                table = ValidationTable(
                    campus_rows(samples, seed),
                    [
                        f"Tolerance ±{CAMPUS_TOLERANCE:.0%} of the announcement (flopgrid.validation."
                        "campuses.CAMPUS_TOLERANCE: the library's own facility cost spans $9.3M–$20M/MW)."
                    ],
                    samples,
                    seed,
                )
            else:
                table = validation_table(samples=samples, seed=seed)
        if as_json:
            print_json({"case": case, **table_json(table)})
            return
        view = Table(
            title=f"flopgrid against the published record ({case}; samples: {samples})",
            title_justify="left",
            header_style="bold",
            show_lines=True,
        )
        for name in (
            "figure",
            "year",
            "unit",
            "ours (range)",
            "theirs (range)",
            "error",
            "tolerance",
            "result",
            "calibrated on this figure",
        ):
            view.add_column(
                name, overflow="fold", justify="right" if name in ("year", "error", "tolerance") else "left"
            )
        for row in table.rows:
            f = row.figure
            theirs = fmt(f.value) if f.kind == "point" else f"{fmt(f.low)}–{fmt(f.high)}"
            if f.kind == "range" and f.value == f.value:
                theirs += f" (central {fmt(f.value)})"
            result = "[green]pass[/]" if row.passed else "[red]FAIL[/]"
            if row.role == "calibration":
                result += " [dim](calibration: not counted)[/]"
            elif row.role == "reproduction":
                result += " [dim](reproduction)[/]"
            view.add_row(
                f"{f.label}\n[dim]{row.method}[/]",
                str(f.year),
                f.unit,
                f"{fmt(row.ours[1])} ({fmt(row.ours[0])}–{fmt(row.ours[2])}, {row.band})",
                theirs,
                "–" if row.error != row.error else f"{row.error:+.0%}",
                "–"
                if row.tolerance != row.tolerance
                else ("in range" if f.kind == "range" else f"±{row.tolerance:.0%}"),
                result,
                "\n".join(row.calibrated) or "none",
            )
        out.print(view)
        passed, counted = table.score()
        out.print(
            f"validation: {passed} of {counted} counted figures pass (calibration figures are not counted)"
        )
        for note in table.notes:
            out.print(f"note: {note}", highlight=False)
