"""Commands of the run store and sweeps: ``flopgrid runs list|show|diff|export|delete`` and
``flopgrid sweep``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from flopgrid.commands.common import JsonOpt, err, fmt, out, print_json, user_errors
from flopgrid.schema import FIGURES

if TYPE_CHECKING:
    import pandas as pd

StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        envvar="FLOPGRID_STORE",
        help="The run store (a DuckDB file). Default: $FLOPGRID_STORE or ./flopgrid.duckdb.",
        show_default=False,
    ),
]
RunArg = Annotated[
    str, typer.Argument(help="A run id, as `flopgrid runs list` shows it.", show_default=False)
]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    data = frame.astype(object).where(frame.notna(), None)
    return [
        {str(k): (str(v) if hasattr(v, "isoformat") else v) for k, v in row.items()}
        for row in data.to_dict(orient="records")
    ]


def _plain_table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in frame.columns:
        table.add_column(str(column), justify="right" if frame[column].dtype.kind in "iuf" else "left")
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            if value is None or (isinstance(value, float) and value != value):
                cells.append("–")
            elif isinstance(value, float):
                cells.append(fmt(value))
            else:
                cells.append(str(value))
        table.add_row(*cells)
    return table


def displayed(name: str, value: Any, unit: str) -> tuple[str, Any, str]:
    """A stored total as people read it: the registry's label, the value in display units and that
    unit (``energy 7.44e+15 Wh`` → ``electricity over the horizon 7,441 TWh``); as stored otherwise."""
    figure = FIGURES.get(name)
    if (
        figure is None
        or not isinstance(value, int | float)
        or isinstance(value, bool)
        or figure.kind == "label"
    ):
        return (figure.label if figure else name), value, unit
    return figure.label, figure.display(float(value)), figure.display_unit


def _print_runs(frame: pd.DataFrame, path: Path, as_json: bool) -> None:
    if as_json:
        print_json(_records(frame))
        return
    if frame.empty:
        out.print(f"no runs in {path}")
        return
    shown = frame.drop(columns=["scenario_hash", "code_version"]).copy()
    shown["created_at"] = shown["created_at"].astype(str).str.slice(0, 19)
    shown["error"] = shown["error"].map(lambda e: None if e is None else (e[:60] + "…" if len(e) > 60 else e))
    out.print(_plain_table(shown, f"runs in {path} (times UTC)"))


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the app."""
    # The store (DuckDB, pandas) is imported in each command, not here: registering the commands must
    # not load it, so that the command line starts fast (a start-up measure; there is no cycle).
    runs = typer.Typer(no_args_is_help=True, help="Stored runs: list, show, compare, export, delete.")
    app.add_typer(runs, name="runs")

    @runs.command("list")
    def list_runs(
        limit: Annotated[
            int | None, typer.Option("--limit", "-n", min=1, help="Show the newest N runs.")
        ] = None,
        sweep: Annotated[str | None, typer.Option("--sweep", help="Only the runs of this sweep.")] = None,
        store: StoreOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """List stored runs, newest first.

        Then reads the whole store back (checking every block): a damaged file is one line on stderr
        and exit status 2, after the runs that could be listed.
        """
        from flopgrid.store import RunStore

        with user_errors():
            run_store = RunStore(store)
            frame = run_store.list(limit, sweep=sweep)
        _print_runs(frame, run_store.path, as_json)
        with user_errors():
            run_store.verify()

    @runs.command("show")
    def show(run_id: RunArg, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
        """A run's metadata and headline totals."""
        with user_errors():
            from flopgrid.store import RunStore

            info = RunStore(store).show(run_id)
        if as_json:
            print_json(info)
            return
        table = Table(title=f"run {run_id}", title_justify="left", show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value")
        for name in (
            "status",
            "engine",
            "scenario_name",
            "scenario_hash",
            "seed",
            "samples",
            "code_version",
            "created_at",
            "sweep",
            "worker",
            "n_values",
            "error",
        ):
            if info.get(name) is not None:
                table.add_row(name, str(info[name]))
        for name in ("timings", "parameters"):
            if info.get(name):
                table.add_row(
                    name,
                    ", ".join(f"{k}={fmt(v) if isinstance(v, float) else v}" for k, v in info[name].items()),
                )
        out.print(table)
        if info.get("summary"):
            totals = Table(title="totals (medians over samples)", title_justify="left", header_style="bold")
            totals.add_column("quantity")
            totals.add_column("value", justify="right")
            totals.add_column("unit")
            for name, item in info["summary"].items():
                label, value, unit = displayed(name, item["value"], item["unit"])
                totals.add_row(label, fmt(value) if isinstance(value, float | int) else str(value), unit)
            out.print(totals)

    @runs.command("diff")
    def diff(
        a: Annotated[str, typer.Argument(help="First run id.", show_default=False)],
        b: Annotated[str, typer.Argument(help="Second run id.", show_default=False)],
        store: StoreOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Compare two runs: their inputs that differ and their headline totals side by side."""
        from flopgrid.store import RunStore

        with user_errors():
            run_store = RunStore(store)
            frame = run_store.diff(a, b)
            inputs = _input_changes(run_store.show(a), run_store.show(b))
        if as_json:
            print_json({"a": a, "b": b, "inputs": inputs, "totals": _records(frame)})
            return
        if inputs:
            table = Table(title="inputs that differ", title_justify="left", header_style="bold")
            for column in ("field", a, b):
                table.add_column(column)
            for row in inputs:
                table.add_row(row["field"], str(row["a"]), str(row["b"]))
            out.print(table)
        else:
            out.print("the two runs have the same inputs")
        # In display units (JSON keeps the store's base units): rescale a, b and the change together.
        shown = frame.copy()
        for i, name in enumerate(frame["quantity"]):
            figure = FIGURES.get(str(name))
            if figure is None or figure.kind == "label":
                continue
            for column in ("a", "b", "change"):
                value = frame[column].iloc[i]
                if isinstance(value, float):
                    shown.loc[shown.index[i], column] = figure.display(value)
            shown.loc[shown.index[i], ["quantity", "unit"]] = [figure.label, figure.display_unit]
        out.print(_plain_table(shown.rename(columns={"a": a, "b": b, "change_pct": "change %"}), "totals"))

    @runs.command("export")
    def export(
        run_id: RunArg,
        path: Annotated[Path, typer.Argument(help="Output file: .parquet or .csv.", show_default=False)],
        store: StoreOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Write a run's results (long rows with units) to Parquet or CSV."""
        with user_errors():
            from flopgrid.store import RunStore

            written = RunStore(store).export(run_id, path)
        if as_json:
            print_json({"run_id": run_id, "path": str(written)})
        else:
            out.print(f"wrote {written}")

    @runs.command("delete")
    def delete(run_id: RunArg, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
        """Remove a run and its results."""
        with user_errors():
            from flopgrid.store import RunStore

            RunStore(store).delete(run_id)
        if as_json:
            print_json({"deleted": run_id})
        else:
            out.print(f"deleted run {run_id}")

    @app.command()
    def sweep(
        file: Annotated[
            str,
            typer.Argument(
                help="A sweep file (base + grid, cases or lhs), or a scenario file or built-in name "
                "with --vary.",
                show_default=False,
            ),
        ],
        vary: Annotated[
            list[str] | None,
            typer.Option(
                "--vary", help="key=a,b,c: add a grid dimension (repeatable), e.g. horizon.end=2030,2035."
            ),
        ] = None,
        scheduler: Annotated[
            str | None,
            typer.Option(
                "--scheduler", help="tcp://HOST:8786 of a running Dask scheduler (default: a local cluster)."
            ),
        ] = None,
        workers: Annotated[
            int | None,
            typer.Option(
                "--workers", min=1, help="Worker processes of the local cluster (default: one per core)."
            ),
        ] = None,
        engine: Annotated[
            str | None, typer.Option("--engine", help="simulate or plan (default: the sweep file's).")
        ] = None,
        samples: Annotated[
            int | None, typer.Option("--samples", "-n", min=1, help="Monte Carlo samples per task.")
        ] = None,
        seed: Annotated[
            list[int] | None,
            typer.Option("--seed", help="Seed(s) per variant (repeatable; default: the sweep file's, or 0)."),
        ] = None,
        store: StoreOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Run every variant of a sweep on Dask, storing each result; a re-run skips what is stored.

        Exit status: 0 when every task is stored complete, 1 when some failed (stored with their
        errors; run the sweep again to retry them), 2 on bad input.
        """
        from flopgrid.store import RunStore
        from flopgrid.sweep import load_sweep, run_sweep

        with user_errors():
            plan = load_sweep(file, vary or [], engine=engine, samples=samples, seeds=seed)
            run_store = RunStore(store)
            with Progress(
                TextColumn(f"sweep {plan.name}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=err,
                transient=False,
                disable=as_json,
            ) as bar:
                task = bar.add_task("tasks", total=len(plan.tasks))

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                report = run_sweep(plan, run_store, scheduler=scheduler, workers=workers, progress=progress)
        if as_json:
            print_json(report.as_dict())
            if report.failed:
                raise typer.Exit(1)
            return
        rate = f", {report.ran / report.seconds:.1f} tasks/s" if report.ran and report.seconds > 0 else ""
        out.print(
            f"sweep {report.name}: {report.tasks} tasks — {report.skipped} already stored, {report.ran} run "
            f"({report.failed} failed) on {report.workers} worker(s) in {report.seconds:.1f} s{rate}; "
            f"store {report.store}"
        )
        for message in report.errors[:5]:
            err.print(f"[red]failed:[/] {message}", highlight=False, markup=True)
        if len(report.errors) > 5:
            err.print(
                f"… and {len(report.errors) - 5} more; `flopgrid runs list --sweep {report.name}` lists them"
            )
        if not report.sensitivity.empty:
            out.print(
                _plain_table(
                    report.sensitivity.reset_index(),
                    "which swept key moves which output (spread of the output's mean across the "
                    "key's values, % of its mean)",
                )
            )
        # Some tasks failed (they are stored with their errors): scripts can tell from the status.
        if report.failed:
            raise typer.Exit(1)


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        items: dict[str, Any] = {}
        for key, value in data.items():
            items.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return items
    if isinstance(data, list):
        items = {}
        for i, value in enumerate(data):
            items.update(_flatten(value, f"{prefix}[{i}]"))
        return items or {prefix: []}
    return {prefix: data}


def _input_changes(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Fields of the scenario and the run settings that differ between two runs."""
    left = {
        **_flatten(a.get("scenario") or {}, "scenario"),
        **{k: a.get(k) for k in ("engine", "seed", "samples", "code_version")},
    }
    right = {
        **_flatten(b.get("scenario") or {}, "scenario"),
        **{k: b.get(k) for k in ("engine", "seed", "samples", "code_version")},
    }
    return [
        {"field": key, "a": left.get(key, "–"), "b": right.get(key, "–")}
        for key in dict.fromkeys([*left, *right])
        if left.get(key) != right.get(key)
    ]
