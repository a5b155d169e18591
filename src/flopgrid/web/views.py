"""How the API shows things: runs, plans and scenarios as JSON, frames as downloads."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import pandas as pd
import xarray as xr
from fastapi.responses import Response, StreamingResponse

from flopgrid import charts
from flopgrid.library import load_library
from flopgrid.scenario import Scenario
from flopgrid.web.assumptions import current
from flopgrid.web.inputs import Format


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame (with its index as columns) as JSON records."""
    return [{str(k): v for k, v in row.items()} for row in frame.reset_index().to_dict(orient="records")]


def run_view(ds: xr.Dataset, with_charts: bool) -> dict[str, Any]:
    """A run as JSON: with charts, the figures and a headline (fast: what a slider needs); without,
    the per-year summary, horizon totals and the money headline."""
    if with_charts:
        return {
            "scenario": ds.attrs.get("scenario"),
            "scenario_hash": ds.attrs.get("scenario_hash"),
            "engine": ds.attrs.get("engine"),
            "samples": int(ds.sizes.get("sample", 1)),
            "seed": ds.attrs.get("seed"),
            "totals": charts.headline(ds),
            "charts": charts.figures(ds),
        }
    view = ds.flopgrid
    money = view.finance()
    out: dict[str, Any] = {
        "scenario": ds.attrs.get("scenario"),
        "scenario_hash": ds.attrs.get("scenario_hash"),
        "engine": ds.attrs.get("engine"),
        "samples": int(ds.sizes.get("sample", 1)),
        "seed": ds.attrs.get("seed"),
        "summary": frame_records(view.summary()),
        "totals": view.totals(),
        "returns": money["returns"],
        "coverage": money["coverage"],
    }
    return out


def describe(scenario: Scenario) -> dict[str, Any]:
    """A scenario, its key assumptions and the choices the dashboard offers."""
    library = load_library()
    return {
        "name": scenario.name,
        "description": scenario.description,
        "hash": scenario.content_hash(),
        "scenario": scenario.model_dump(mode="json", exclude_none=True),
        "assumptions": current(scenario),
        "choices": {
            "chip": library.ids("accelerators"),
            "power_mix": library.ids("power_sources"),
            "regions": library.ids("regions"),
        },
    }


#: Rows of a CSV download rendered at a time: the response streams, one block in memory at once.
CSV_ROWS = 50_000


def csv_blocks(frame: pd.DataFrame, rows: int = CSV_ROWS) -> Iterator[bytes]:
    """A frame as CSV bytes, ``rows`` rows at a time (the header first).

    >>> b"".join(csv_blocks(pd.DataFrame({"a": [1, 2, 3]}), rows=2)).decode().split()
    ['a', '1', '2', '3']
    """
    for start in range(0, max(len(frame), 1), rows):
        yield frame.iloc[start : start + rows].to_csv(index=False, header=start == 0).encode()


def download(frame: pd.DataFrame, fmt: Format, stem: str) -> Response:
    """A frame as a CSV (streamed) or Parquet attachment named after ``stem``."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem) or "results"
    if fmt == "csv":
        return StreamingResponse(
            csv_blocks(frame),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
        )
    # Parquet is written whole (its footer indexes the row groups); its size is bounded by the
    # sample limits and it is several times smaller than the CSV.
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.apache.parquet",
        headers={"Content-Disposition": f'attachment; filename="{stem}.parquet"'},
    )


def plan_view(ds: xr.Dataset) -> dict[str, Any]:
    """A planner run as JSON: the full view where the plan carries every Results variable, else the
    per-year summary and the names of the variables it has."""
    try:
        return run_view(ds, False)
    except KeyError:
        out: dict[str, Any] = {
            "scenario": ds.attrs.get("scenario"),
            "engine": "plan",
            "variables": [str(v) for v in ds.data_vars],
        }
        with suppress(KeyError):
            out["summary"] = frame_records(ds.flopgrid.summary())
        return out
