"""``flopgrid plan``: the least-cost build plan for a scenario's target, and what holds it back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from flopgrid.commands.common import (
    JsonOpt,
    NoRecordOpt,
    StoreOpt,
    err,
    fmt,
    frame_table,
    out,
    print_json,
    record,
    user_errors,
)
from flopgrid.errors import FlopgridError

if TYPE_CHECKING:
    import xarray as xr

    from flopgrid.library import Library
    from flopgrid.scenario import Scenario

TargetArg = Annotated[
    str | None,
    typer.Argument(
        help="Scenario YAML file with a planner section, or a built-in name. "
        "Default: target-100m-h100e-2030.",
        show_default=False,
    ),
]
#: Library tables whose builds have a lead time (construction start to first output).
LEAD_TABLES = ("fabs", "packaging", "hbm", "datacentres", "power_sources")


def lead_times(library: Library) -> dict[str, float]:
    """The longest lead time of each kind of build in the library, in years."""
    out: dict[str, float] = {}
    for table in LEAD_TABLES:
        frame = library.table(table)
        values = frame.loc[frame["parameter"] == "lead_time", "value"].astype(float)
        if len(values):
            out[table] = float(values.max())
    return out


def window_warning(scenario: Scenario, library: Library) -> str | None:
    """A warning when a myopic planner's window is shorter than the longest lead time (its builds then
    come online after the window it plans for, so it may build nothing); ``None`` otherwise."""
    planner = scenario.planner
    if planner is None or planner.mode != "myopic":
        return None
    leads = lead_times(library)
    longest = max(leads.values(), default=0.0)
    if planner.window >= longest:
        return None
    named = ", ".join(f"{table} {years:g}" for table, years in leads.items())
    return (
        f"warning: the myopic window of {planner.window} year(s) is shorter than the longest lead time "
        f"({longest:g} years; lead times in years: {named}): builds that come online after the window "
        "are not seen, so the planner may build nothing; use --window "
        f"{int(-(-longest // 1))} or more"
    )


def _report(results: xr.Dataset, top: int) -> dict[str, Any]:
    from flopgrid.plan.report import plan_table, rank, shortfall_report, where_table

    ranked = rank(results)
    r = results.isel(sample=0)
    mix = r["accelerators_shipped"].sum(["year", "region"])
    return {
        "scenario": results.attrs["scenario"],
        "objective": results.attrs["objective"],
        "mode": results.attrs["planner_mode"],
        "discounted_cost_usd": results.attrs["discounted_cost"],
        "discount_rate": results.attrs["discount_rate"],
        "chips": {str(k): float(v) for k, v in zip(mix.accelerator.values, mix.values, strict=True) if v > 0},
        "build_plan": plan_table(results).reset_index().to_dict(orient="records"),
        "by_region": where_table(results).reset_index().to_dict(orient="records"),
        "bottlenecks": ranked.head(top).to_dict(orient="records"),
        "shortfall": shortfall_report(results),
    }


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the app."""

    @app.command("plan")
    def plan_command(
        scenario: TargetArg = None,
        as_json: JsonOpt = False,
        mode: Annotated[
            str | None,
            typer.Option(
                "--mode",
                help="perfect (perfect foresight, default) or myopic (rolling horizon); overrides "
                "planner.mode.",
                show_default=False,
            ),
        ] = None,
        window: Annotated[
            int | None,
            typer.Option(
                "--window", min=1, help="Years the myopic planner looks ahead; overrides planner.window."
            ),
        ] = None,
        out_path: Annotated[
            Path | None,
            typer.Option("--out", help="Save the plan's Results to .nc, .parquet or .csv."),
        ] = None,
        scenario_out: Annotated[
            Path | None,
            typer.Option(
                "--scenario-out",
                help="Write the plan's builds as a scenario YAML that `flopgrid run` simulates.",
            ),
        ] = None,
        top: Annotated[int, typer.Option("--top", min=1, help="Bottlenecks to show.")] = 10,
        store: StoreOpt = None,
        no_record: NoRecordOpt = False,
    ) -> None:
        """Find the least-cost build plan for a scenario's planner target and rank what binds.

        The scenario needs a planner section (see docs/plan.md), e.g. the built-in
        target-100m-h100e-2030.
        """
        import flopgrid
        from flopgrid.plan import to_scenario

        with user_errors():
            loaded = flopgrid.load_scenario(scenario or "target-100m-h100e-2030")
            if mode is not None or window is not None:
                if loaded.planner is None:
                    raise FlopgridError(f"{loaded.source_file}: planner: the scenario has no planner section")
                if mode not in (None, "perfect", "myopic"):
                    raise FlopgridError(f"--mode: expected perfect or myopic, got {mode!r}")
                update: dict[str, Any] = {}
                if mode is not None:
                    chosen: Literal["perfect", "myopic"] = "myopic" if mode == "myopic" else "perfect"
                    update["mode"] = chosen
                if window is not None:
                    update["window"] = window
                loaded = loaded.model_copy(update={"planner": loaded.planner.model_copy(update=update)})
            warning = window_warning(loaded, flopgrid.load_library())
            if warning is not None:
                err.print(warning, highlight=False)
            for path in (out_path, scenario_out):
                if path is not None and not path.parent.exists():
                    raise FlopgridError(f"{path}: the folder {path.parent} does not exist")
            if scenario_out is not None and scenario_out.suffix.lower() not in (".yaml", ".yml"):
                raise FlopgridError(f"{scenario_out}: --scenario-out writes YAML; use a .yaml name")

            def progress(done: int, total: int) -> None:
                if not as_json:
                    err.print(f"myopic planner: year {done} of {total} solved", highlight=False)

            started = time.perf_counter()
            results = flopgrid.plan(loaded, progress=progress)
            seconds = time.perf_counter() - started
            if out_path is not None:
                results.flopgrid.save(out_path)
            if scenario_out is not None:
                import yaml

                planned = to_scenario(results, loaded)
                text = yaml.safe_dump(planned.model_dump(mode="json", exclude={"planner"}), sort_keys=False)
                partial = scenario_out.with_name(f".{scenario_out.name}.partial")
                partial.write_text(text, encoding="utf-8")
                partial.replace(scenario_out)
            report = _report(results, top)
            report["run_id"] = record(
                results,
                loaded,
                engine="plan",
                seed=0,
                samples=1,
                seconds=seconds,
                store=store,
                skip=no_record,
            )
        if as_json:
            print_json(report)
            return
        out.print(
            f"[bold]{report['scenario']}[/]: {report['objective']} ({report['mode']} foresight), "
            f"discounted cost ${fmt(report['discounted_cost_usd'] / 1e9)} B at "
            f"{report['discount_rate']:.1%}/year",
            highlight=False,
        )
        from flopgrid.plan.report import plan_table, where_table

        out.print(frame_table(plan_table(results), "Build plan (construction starts; fleet in service)"))
        out.print(frame_table(where_table(results), "Where", index_name="region"))
        chips = ", ".join(f"{k} {fmt(v / 1e6)} M" for k, v in report["chips"].items())
        out.print(f"Chips bought: {chips or 'none'}", highlight=False)
        for line in report["shortfall"]:
            out.print(f"[bold red]{line}[/]", highlight=False)
        out.print("[bold]Bottlenecks[/] (binding constraints, most valuable first):")
        if not report["bottlenecks"]:
            out.print("  none: no constraint binds")
        for row in report["bottlenecks"]:
            out.print(f"  {row['text']}  [dim]({row['constraint']})[/]", highlight=False)
        if out_path is not None:
            out.print(f"Results saved to {out_path}", highlight=False)
        if scenario_out is not None:
            out.print(f"Plan written as a scenario to {scenario_out} (simulate it with flopgrid run)")
