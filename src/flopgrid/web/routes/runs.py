"""Synchronous runs: simulate (JSON or a download) and compare scenarios."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import xarray as xr
from fastapi import APIRouter, Query
from fastapi.responses import Response

from flopgrid import charts
from flopgrid.errors import FlopgridError
from flopgrid.web.http import DOWNLOAD, SafeJSONResponse, error_detail, json_bytes, responses, unprocessable
from flopgrid.web.inputs import CompareRequest, Format, RunRequest, SimulateRequest
from flopgrid.web.sandbox import SandboxBusy
from flopgrid.web.state import ServicesDep
from flopgrid.web.views import download, run_view

router = APIRouter(tags=["runs"])


@router.post(
    "/simulate", summary="Simulate synchronously (up to the sync sample limit)", responses=responses(429)
)
def simulate_endpoint(request: SimulateRequest, state: ServicesDep) -> Response:
    state.check_samples(request.samples, state.settings.max_sync_samples)
    started = time.perf_counter()
    scenario = state.load(request)
    # Keyed on the validated scenario's hash: a JSON dump of the request would encode NaN and
    # Infinity alike (as null), and one would be served the other's answer.
    key = json.dumps([scenario.content_hash(), request.samples, request.seed, request.charts])
    cached = state.cached_body(key)
    recorded: str | None = "cached"
    if cached is not None and request.record:
        # The answer is rendered already; the run is recorded from the results cache (or run again
        # when it has left it), once.
        _, recorded = state.run_simulation(request, scenario=scenario)
    if cached is None:
        # At most ``compute_slots`` requests compute at once: the rest wait without holding the
        # GIL, so the event loop keeps answering cheap requests (library, cached runs, jobs).
        with state.compute_slots:
            # A request that waited may find its answer rendered meanwhile by an identical one.
            cached = state.cached_body(key)
            if cached is None:
                ds, recorded = state.run_simulation(request, scenario=scenario)
                body = json_bytes(run_view(ds, request.charts))
            else:
                body = cached
        state.keep_body(key, body)
    else:
        body = cached
    # Runs asked to be recorded are written in the background: find them by scenario_hash in /api/runs.
    elapsed = (time.perf_counter() - started) * 1000
    head = json.dumps({"recorded": recorded, "elapsed_ms": elapsed}).encode()
    return Response(head[:-1] + b"," + body[1:], media_type="application/json")


@router.post(
    "/simulate/download",
    summary="Simulate and download every variable",
    responses=DOWNLOAD | responses(429),
)
def simulate_download(
    request: RunRequest, state: ServicesDep, format: Annotated[Format, Query()] = "csv"
) -> Response:
    state.check_samples(request.samples, state.settings.max_sync_samples)
    ds, _ = state.run_simulation(request)
    return download(ds.flopgrid.long_frame(), format, f"{ds.attrs.get('scenario', 'results')}")


@router.post("/compare", summary="Compare 2–4 scenarios side by side", responses=responses(429))
def compare(request: CompareRequest, state: ServicesDep) -> Response:
    results: dict[str, xr.Dataset] = {}
    errors = []
    for i, item in enumerate(request.scenarios):
        try:
            ds, _ = state.run_simulation(
                RunRequest(scenario=item.scenario, yaml=item.yaml, assumptions=item.assumptions)
            )
        except SandboxBusy:
            raise
        except FlopgridError as exc:
            source = "yaml" if getattr(exc, "file", None) == "upload.yaml" else "scenario"
            errors.append(error_detail(exc, ("body", "scenarios", i), source))
            continue
        label = item.label or str(ds.attrs.get("scenario", f"scenario {i + 1}"))
        while label in results:
            label += f" ({i + 1})"
        results[label] = ds
    if errors:
        return unprocessable(*errors)
    totals = {label: ds.flopgrid.totals() for label, ds in results.items()}
    body: dict[str, Any] = {"labels": list(results), "totals": totals}
    if request.charts:
        body["charts"] = charts.comparison(results)
    return SafeJSONResponse(body)
