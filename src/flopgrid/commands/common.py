"""What every ``flopgrid`` command shares: the app, the consoles, user-error handling and formatting.

Commands live in ``flopgrid.cli`` (the simulator's) and in ``flopgrid.commands.*`` (one module per
capability, each with ``register(app)``), so no module has to import the command line it extends.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flopgrid.errors import FlopgridError
from flopgrid.jsonable import jsonable
from flopgrid.scenarios import shipped_names

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

    from flopgrid.scenario import Scenario

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="flopgrid: model the build-out of AI compute — fabs, chips, data centres, power, money.",
)
# Piped output is not squeezed to 80 columns: tables stay readable in files and CI logs; a wider COLUMNS
# in the environment widens it (a terminal's own width is used as it is).
PIPED_WIDTH = 220
_asked = os.environ.get("COLUMNS", "")
out = Console(width=None if sys.stdout.isatty() else max(PIPED_WIDTH, int(_asked) if _asked.isdigit() else 0))
# Errors are one line (file:line: field: message) so they can be read by tools; never wrapped.
err = Console(stderr=True, soft_wrap=True)

ScenarioArg = Annotated[
    str | None,
    typer.Argument(
        help=f"Scenario YAML file, or a built-in name ({', '.join(shipped_names())}). Default: seed-7t.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]


@contextmanager
def user_errors() -> Iterator[None]:
    """Map flopgrid's errors to one line on stderr and exit status 2."""
    try:
        yield
    except FlopgridError as exc:
        # The message quotes user input: escape it, or "[/x]" in a name would be read as markup.
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True)
        raise typer.Exit(2) from None


def print_json(data: Any) -> None:
    """Print data as JSON on standard output (NaN and infinities as null)."""
    text = json.dumps(jsonable(data), indent=2, allow_nan=False)
    sys.stdout.write(text + "\n")


def fmt(value: float) -> str:
    """A number for a table: thousands separators, about four significant figures; a count (an
    integer) in full, without decimals."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) or (hasattr(value, "dtype") and value.dtype.kind in "iu"):
        return f"{int(value):,}"
    if value != value:
        return "–"
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if magnitude >= 1e6 or magnitude < 1e-2:
        return f"{value:.3g}"
    return f"{value:,.2f}" if magnitude < 10 else f"{value:,.1f}" if magnitude < 1000 else f"{value:,.0f}"


def frame_table(frame: pd.DataFrame, title: str, index_name: str = "year") -> Table:
    """A rich table of a data frame, its index as the first column."""
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column(index_name, justify="right")
    for column in frame.columns:
        name, _, unit = str(column).partition(" [")
        table.add_column(f"{name}\n{unit.rstrip(']')}" if unit else name, justify="right")
    # itertuples keeps each column's type (iterrows would turn a count into a float beside floats).
    for index, *values in frame.itertuples(name=None):
        table.add_row(str(index), *(fmt(v) for v in values))
    return table


def short(value: float) -> str:
    """A number in at most three significant figures, for the compact ranges of a Monte Carlo table
    (``192``, ``6.35``, ``5.8e28``)."""
    if value != value:
        return "–"
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if magnitude >= 1e5 or magnitude < 1e-2:
        # Always in e-notation: ".2g" writes 0.00021 without an exponent.
        mantissa, _, exponent = f"{value:.1e}".partition("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.0f}" if magnitude >= 99.95 else f"{value:.1f}" if magnitude >= 9.995 else f"{value:.2f}"


def span(mid: float, low: float, high: float) -> str:
    """A median and its P5–P95 range in one cell: ``192 (161–224)``; the value alone when the range is
    one value (every sample agrees)."""
    if short(low) == short(high) == short(mid):
        return short(mid)
    return f"{short(mid)} ({short(low)}–{short(high)})"


def year_label(value: float) -> str:
    """A year as people write it: 2034, not 2,034.0; "never" for a missing one (NaN)."""
    return "never" if value != value else f"{value:.0f}"


def with_ranges(summary: pd.DataFrame) -> pd.DataFrame:
    """A Monte Carlo summary with one column per figure: its P50 and the P5–P95 range in one cell
    (``12.3 (10.1–14.0)``), so that every figure fits a terminal; other columns are kept as they are."""
    frame = summary.copy()
    columns: dict[str, object] = {}
    for column in summary.columns:
        name, _, unit = str(column).partition(" [")
        stem, _, level = name.rpartition("_p")
        if level not in ("5", "50", "95") or not stem:
            columns[str(column)] = frame[column]
            continue
        if level != "50":
            continue
        low, high = (summary[f"{stem}_p{q} [{unit}"] for q in (5, 95))
        mid = summary[column]
        columns[f"{stem} [{unit}"] = [span(m, lo, hi) for m, lo, hi in zip(mid, low, high, strict=True)]
    return type(summary)(columns, index=summary.index)


StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        envvar="FLOPGRID_STORE",
        help="Run store (DuckDB file) to record the run in. Default: ./flopgrid.duckdb.",
        show_default=False,
    ),
]
NoRecordOpt = Annotated[bool, typer.Option("--no-record", help="Do not record this run in the run store.")]
#: The store keeps every sample of a run; above this many, runs are not recorded (save them with --out).
RECORD_SAMPLES_MAX = 1_000


def record(
    results: xr.Dataset,
    scenario: Scenario,
    *,
    engine: str,
    seed: int,
    samples: int,
    seconds: float,
    store: Path | None,
    skip: bool,
) -> str | None:
    """Record a finished run in the run store and say so on stderr; the run id, or None if not recorded."""
    if skip:
        return None
    if samples > RECORD_SAMPLES_MAX:
        err.print(
            f"not recorded in the run store: it keeps every sample and this run has {samples:,} "
            f"(at most {RECORD_SAMPLES_MAX:,}); save the results with --out",
            highlight=False,
        )
        return None
    from flopgrid.store import RunStore

    target = RunStore(store)
    run_id = target.record(
        results, scenario, engine=engine, seed=seed, samples=samples, timings={engine: seconds}
    )
    err.print(f"recorded as run {run_id} in {target.path}", highlight=False)
    return run_id


#: Columns of the "as common as electricity" table: (figure, header, display scale).
COMMON_COLUMNS = (
    ("market_price", "price [USD/H100e-h]", 1.0),
    ("market_price_per_1e21_flop", "price [USD/1e21 FLOP]", 1.0),
    ("compute_per_person", "per person [H100e-h/year]", 1.0),
    ("compute_electricity_share", "of world electricity [%]", 0.01),
)


def print_common(common: dict[str, Any], samples: int) -> None:
    """Print ``results.flopgrid.common()``: the price of compute, compute per person and its share of
    world electricity per year, and the year compute's price per unit of work has fallen N-fold."""
    if not common:
        return
    if not common.get("world", True):
        out.print(
            "The price of compute: this scenario's fleet alone is not the world's market (it has no "
            "existing industry); `flopgrid market FILE --against reference` clears the world's fleet with "
            "and without it."
        )
        return
    table = Table(
        title="as common as electricity? the scenario's fleet on the world market for compute"
        + (" (median, P5–P95)" if samples > 1 else ""),
        title_justify="left",
        header_style="bold",
    )
    table.add_column("year", justify="right")
    for _, header, _ in COMMON_COLUMNS:
        name, _, unit = header.partition(" [")
        table.add_column(f"{name}\n{unit.rstrip(']')}", justify="right")
    for row in common["years"]:
        cells = []
        for name, _, scale in COMMON_COLUMNS:
            q = row[name]
            cells.append(
                short(q["p50"] / scale)
                if samples == 1
                else span(q["p50"] / scale, q["p5"] / scale, q["p95"] / scale)
            )
        table.add_row(str(row["year"]), *cells)
    out.print(table)
    fall = common["price_fall"]
    year = fall["year"]
    when = (
        "never within the horizon"
        if fall["probability"] == 0
        else year_label(year["p50"])
        + (
            ""
            if samples == 1
            else f" (P5–P95 {year_label(year['p5'])}–{year_label(year['p95'])}, "
            f"in {fall['probability']:.0%} of samples)"
        )
    )
    out.print(f"Year the price per 1e21 FLOP is {fall['factor']:g}× below the first year's: {when}.")
