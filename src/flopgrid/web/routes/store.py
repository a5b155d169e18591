"""The run store: list, show, chart, download, compare and delete stored runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from flopgrid.web.http import DOWNLOAD, responses
from flopgrid.web.inputs import Format, RunId
from flopgrid.web.state import ServicesDep
from flopgrid.web.views import download, frame_records, run_view

# Every store route answers 404 on a server without a store, and for an unknown run.
router = APIRouter(tags=["store"], responses=responses(404))


@router.get("/runs", summary="Runs recorded in the run store")
def list_runs(
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    scenario_hash: Annotated[str | None, Query(max_length=64)] = None,
    *,
    state: ServicesDep,
) -> list[dict[str, Any]]:
    frame = state.runs.list(None if scenario_hash else limit).reset_index(drop=True)
    if scenario_hash is not None:
        frame = frame[frame["scenario_hash"] == scenario_hash].head(limit)
    return frame_records(frame)


@router.get("/runs/{run_id}", summary="One stored run: its metadata and headline")
def show_run(run_id: RunId, state: ServicesDep) -> dict[str, Any]:
    return state.runs.show(run_id)


@router.get("/runs/{run_id}/charts", summary="Charts of a stored run")
def run_charts(run_id: RunId, state: ServicesDep) -> dict[str, Any]:
    return run_view(state.runs.load(run_id), True)


@router.get("/runs/{run_id}/download", summary="Download a stored run", responses=DOWNLOAD)
def run_download(run_id: RunId, state: ServicesDep, format: Annotated[Format, Query()] = "csv") -> Response:
    return download(state.runs.load(run_id).flopgrid.long_frame(), format, f"run-{run_id}")


@router.get("/runs/{run_a}/diff/{run_b}", summary="Compare two stored runs")
def diff_runs(run_a: RunId, run_b: RunId, state: ServicesDep) -> list[dict[str, Any]]:
    return frame_records(state.runs.diff(run_a, run_b))


@router.delete("/runs/{run_id}", summary="Delete a stored run")
def delete_run(run_id: RunId, state: ServicesDep) -> dict[str, Any]:
    state.runs.delete(run_id)
    return {"deleted": run_id}
