"""Health, the data library and the shipped scenarios."""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import Response

import flopgrid
from flopgrid.library import TABLES, load_library
from flopgrid.scenario import shipped_scenarios
from flopgrid.web.http import Problem, json_bytes, responses
from flopgrid.web.inputs import MAX_SWEEP_VALUES, ScenarioInput, shipped
from flopgrid.web.state import ServicesDep
from flopgrid.web.views import describe

router = APIRouter()


@router.get("/health", tags=["meta"], summary="Version, capabilities and limits")
def health(state: ServicesDep) -> dict[str, Any]:
    settings = state.settings
    return {
        "version": flopgrid.__version__,
        "capabilities": {
            "store": state.runs.available(),
            "recorder": state.runs.status(),
            "readers": state.sandbox.status(),
            # Both ship with flopgrid; the keys stay for clients written against older servers.
            "planner": True,
            "sensitivity": True,
        },
        "limits": {
            "max_body_bytes": settings.max_body,
            "max_sync_samples": settings.max_sync_samples,
            "max_job_samples": settings.max_job_samples,
            "max_jobs": settings.max_jobs,
            "max_sweep_values": MAX_SWEEP_VALUES,
            "max_recorded_samples": settings.record_samples,
            "read_seconds": settings.read_seconds,
            "simulate_seconds": settings.simulate_seconds,
        },
        "auth": settings.token is not None,
    }


# ---------------------------------------------------------------------------------------- library


# The library is read-only for the life of the process: its answers are rendered once.
@functools.cache
def library_bytes(table: str | None, fmt: str) -> bytes:
    """The library listing (``table`` None) or one table, as JSON or CSV bytes."""
    library = load_library()
    if table is None:
        listing = [
            {
                "table": t,
                "rows": int((library.rows.table == t).sum()),
                "items": library.ids(t),
                "parameters": library.parameters(t),
            }
            for t in TABLES
        ]
        return json_bytes(listing)
    frame = library.table(table)
    if fmt == "csv":
        return frame.to_csv(index=False).encode()
    return json_bytes({"table": table, "rows": frame.to_dict(orient="records")})


@router.get("/library", tags=["library"], summary="The data library's tables")
async def library_tables() -> Response:
    return Response(library_bytes(None, "json"), media_type="application/json")


@router.get(
    "/library/{table}",
    tags=["library"],
    summary="One library table, with sources",
    responses={
        200: {
            "description": "The table as JSON, or as CSV with format=csv",
            "content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def library_table(
    table: Annotated[Literal[TABLES], PathParam(description="A library table")],  # type: ignore[valid-type]
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    if format == "csv":
        return Response(
            library_bytes(str(table), "csv"),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="library-{table}.csv"'},
        )
    return Response(library_bytes(str(table), "json"), media_type="application/json")


# -------------------------------------------------------------------------------------- scenarios


@router.get("/scenarios", tags=["scenarios"], summary="The shipped scenarios")
def scenarios() -> list[dict[str, Any]]:
    return [{"name": n, "description": shipped(n).description} for n in shipped_scenarios()]


@router.get(
    "/scenarios/{name}",
    tags=["scenarios"],
    summary="A shipped scenario and its key assumptions",
    responses=responses(404),
)
def scenario(name: Annotated[str, PathParam(max_length=200)]) -> dict[str, Any]:
    if name not in shipped_scenarios():
        raise Problem(404, f"no shipped scenario {name!r}; known: {', '.join(shipped_scenarios())}")
    return describe(shipped(name))


@router.post(
    "/validate",
    tags=["scenarios"],
    summary="Validate a scenario (with edited assumptions)",
    responses=responses(429),
)
def validate(request: ScenarioInput, state: ServicesDep) -> dict[str, Any]:
    return {"valid": True, **describe(state.load(request))}
