"""``flopgrid run``: simulate a scenario and print the per-year summary and horizon totals (in chunks,
keeping headline figures only, above :data:`FULL_RESULTS_MAX` samples)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from flopgrid.commands.common import (
    JsonOpt,
    NoRecordOpt,
    ScenarioArg,
    StoreOpt,
    err,
    fmt,
    frame_table,
    out,
    print_common,
    print_json,
    record,
    user_errors,
    with_ranges,
    year_label,
)
from flopgrid.errors import FlopgridError

if TYPE_CHECKING:
    from flopgrid.scenario import Scenario

#: Sampling designs (``flopgrid.distributions.SAMPLING``, which a test keeps equal), for the help text.
SAMPLING_DESIGNS = ("lhs", "sobol", "random")


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
    wide: Annotated[
        bool,
        typer.Option(
            "--wide", help="Monte Carlo: P5, P50 and P95 in columns of their own (default: P50 (P5–P95))."
        ),
    ] = False,
    store: StoreOpt = None,
    no_record: NoRecordOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Simulate a scenario and print the per-year summary and horizon totals.

    With several samples each figure reads as its median and the P5–P95 range, e.g. 12.3 (10.1–14.0).
    Up to 100,000 samples every result is kept (and can be saved); above that the run goes in chunks
    that keep only the headline figures and the --ask figures, so memory stays bounded (about 0.7 GB
    plus 8 bytes per sample and kept figure). --ask takes any figure of `flopgrid figures` or a
    Results variable at a year.
    """
    # The engines are imported here, not at the top: `flopgrid --help` then starts without numpy's
    # stack of pandas, SciPy and xarray (a start-up measure; there is no import cycle).
    from flopgrid.questions import parse_question
    from flopgrid.results import Results  # noqa: F401  (registers the ``results.flopgrid`` accessor)
    from flopgrid.scenario import load_scenario
    from flopgrid.simulate import simulate
    from flopgrid.uncertainty import central_check

    with user_errors():
        if sampling is not None and sampling not in SAMPLING_DESIGNS:
            raise FlopgridError(f"--sampling {sampling}: use one of {', '.join(SAMPLING_DESIGNS)}")
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
        central = central_check(loaded, results, seed=seed, sampling=sampling)
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
                "central_check": central,
                "probabilities": answers,
                "as_common_as_electricity": results.flopgrid.common(),
                "sampling": results.attrs.get("sampling"),
                "output": str(output) if output else None,
                "run_id": run_id,
            }
        )
        return
    title = f"{loaded.name}: {loaded.description}".strip().rstrip(":")
    if samples == 1:
        shown, note = summary, ")"
    elif wide:
        shown, note = summary, "; P5, P50 and P95 columns)"
    else:
        shown, note = with_ranges(summary), "; median (P5–P95))"
    out.print(frame_table(shown, f"{title}\n(samples: {samples:,}{note}"))
    out.print(_totals_table(results.flopgrid.total_ranges(), samples))
    print_common(results.flopgrid.common(), samples)
    if central["note"]:
        out.print(central["note"], style="yellow", markup=False)
    idle = results.flopgrid.idle_fabs()
    if idle is not None:
        out.print(idle)
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
    from flopgrid.questions import answer, figure_name
    from flopgrid.uncertainty import monte_carlo, quantiles

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


def _totals_table(rows: list[tuple[str, str, tuple[float, ...] | str, str]], samples: int) -> Table:
    """The horizon totals in display units, labelled and ordered by the figure registry: the median, and
    with several samples the P5–P95 range (rows of ``results.flopgrid.total_ranges()``)."""
    many = samples > 1
    title = "Horizon totals" + (" (median and P5–P95 over samples)" if many else "")
    table = Table(title=title, title_justify="left", header_style="bold")
    for name in ("figure", "value", *(("P5–P95",) if many else ()), "unit"):
        table.add_column(name, justify="left" if name in ("figure", "unit") else "right")
    for key, label, values, unit in rows:
        show = year_label if key == "payback_year" else fmt
        if isinstance(values, str):
            cells = [values, *([""] if many else [])]
        else:
            low, mid, high = values
            cells = [show(mid), *([f"{show(low)}–{show(high)}"] if many else [])]
        table.add_row(label, *cells, unit)
    return table


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the app."""
    app.command()(run)
