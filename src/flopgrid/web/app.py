"""The FastAPI application: the REST API under ``/api`` and the dashboard at ``/``.

The app is thin: it validates requests, calls the public API (``load_scenario``, ``simulate``, the
planner, the run store) and shapes JSON. Its safety rules:

- request bodies are capped (``max_body``), uploads are YAML text (never a server path);
- synchronous runs take at most ``max_sync_samples`` samples, jobs at most ``max_job_samples``, and
  at most ``max_jobs`` jobs wait or run at once;
- with a ``token``, every ``/api`` call must carry it (``Authorization: Bearer T`` or
  ``X-Flopgrid-Token: T``);
- bad input is a 422 whose ``detail`` lists ``loc`` (the field), ``msg`` and, for scenario fields,
  ``line``.
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import xarray as xr
from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

import flopgrid
from flopgrid import charts
from flopgrid.errors import FlopgridError, ScenarioError
from flopgrid.library import TABLES, load_library
from flopgrid.scenario import Scenario, shipped_scenarios
from flopgrid.simulate import simulate
from flopgrid.web.assumptions import current
from flopgrid.web.http import Guard, Problem, SafeJSONResponse, error_detail, json_bytes, unprocessable
from flopgrid.web.inputs import (
    MAX_SWEEP_VALUES,
    CompareRequest,
    Format,
    JobId,
    JobRequest,
    RunId,
    RunRequest,
    ScenarioInput,
    SimulateRequest,
    load,
    swept,
)
from flopgrid.web.jobs import Job, JobManager, Outcome, QueueFull
from flopgrid.web.runs import Runs, RunsUnavailable

STATIC = resources.files("flopgrid.web").joinpath("static")
MAX_BODY = 2_000_000
MAX_SYNC_SAMPLES = 10_000
MAX_JOB_SAMPLES = 50_000
#: Results kept for repeated identical requests (deterministic reruns from the dashboard): count, bytes.
CACHE_ITEMS, CACHE_BYTES = 64, 20_000_000
#: Largest rendered simulate response kept for identical requests.
RENDERED_BYTES = 2_000_000


@dataclass
class Settings:
    """Limits and options of one app instance."""

    token: str | None = None
    store_path: str | None = None
    record: bool = True
    max_body: int = MAX_BODY
    max_sync_samples: int = MAX_SYNC_SAMPLES
    max_job_samples: int = MAX_JOB_SAMPLES
    max_jobs: int = 8
    #: Synchronous simulations computed at once (the others queue).
    compute_slots: int = 2


# ------------------------------------------------------------------------------------------ views


def _frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
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
        "summary": _frame_records(view.summary()),
        "totals": view.totals(),
        "returns": money["returns"],
        "coverage": money["coverage"],
    }
    return out


def _describe(scenario: Scenario) -> dict[str, Any]:
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


def _download(frame: pd.DataFrame, fmt: Format, stem: str) -> Response:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem) or "results"
    if fmt == "csv":
        return Response(
            frame.to_csv(index=False),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
        )
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.apache.parquet",
        headers={"Content-Disposition": f'attachment; filename="{stem}.parquet"'},
    )


def _optional(module: str) -> Any:
    """A capability module, or None while it is not installed (planner, uncertainty, store)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


# -------------------------------------------------------------------------------------------- app


def create_app(settings: Settings | None = None) -> FastAPI:
    """The flopgrid web app.

    Examples
    --------
    >>> from flopgrid.web import create_app, Settings
    >>> app = create_app(Settings(record=False))
    """
    settings = settings or Settings()
    jobs = JobManager(max_active=settings.max_jobs)
    runs = Runs(settings.store_path, enabled=settings.record)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()
        runs.close()

    app = FastAPI(
        lifespan=lifespan,
        title="flopgrid",
        version=flopgrid.__version__,
        description="Model the build-out of AI compute: simulate scenarios, run the planner and Monte "
        "Carlo jobs, browse the run store. Quantities are in base units (W, Wh, USD of 2024, FLOP/s) "
        "unless a column name says otherwise.",
        default_response_class=SafeJSONResponse,
    )
    cache: OrderedDict[tuple[str, int, int], xr.Dataset] = OrderedDict()
    # Identical requests (a slider moved back, a shared permalink, many viewers) get the same bytes.
    rendered: OrderedDict[str, bytes] = OrderedDict()
    compute_slots = threading.BoundedSemaphore(settings.compute_slots)
    cache_lock = threading.Lock()
    app.state.settings, app.state.jobs, app.state.runs = settings, jobs, runs

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        details = []
        for error in exc.errors():
            entry = {k: error[k] for k in ("loc", "msg", "type") if k in error}
            entry["loc"] = list(entry.get("loc", []))
            details.append(entry)
        return unprocessable(*details)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return SafeJSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(FlopgridError)
    async def _flopgrid(request: Request, exc: FlopgridError) -> Response:
        if isinstance(exc, QueueFull):
            return SafeJSONResponse({"detail": str(exc)}, status_code=429)
        if isinstance(exc, RunsUnavailable):
            return SafeJSONResponse({"detail": str(exc)}, status_code=404)
        source = "yaml" if getattr(exc, "file", None) == "upload.yaml" else "scenario"
        return unprocessable(error_detail(exc, source=source))

    def check_samples(samples: int, limit: int) -> None:
        if samples > limit:
            raise ScenarioError(f"at most {limit:,} samples here, got {samples:,}", path="samples")

    def run_simulation(request: RunRequest, record_now: bool = False) -> tuple[xr.Dataset, str | None]:
        """Simulate (or reuse an identical recent run); returns the results and how the run was
        recorded: its run id when ``record_now``, else ``"queued"``, ``"cached"``, ``"off"`` or
        ``"skipped"`` (see :meth:`Runs.record_later`)."""
        scenario = load(request)
        key = (scenario.content_hash(), request.samples, request.seed)
        with cache_lock:
            hit = cache.get(key)
            if hit is not None:
                cache.move_to_end(key)
        if hit is None:
            started = time.perf_counter()
            ds = simulate(scenario, samples=request.samples, seed=request.seed)
            elapsed: float | None = time.perf_counter() - started
        else:
            ds, elapsed = hit, None
        if record_now:
            run_id = runs.record(ds, scenario, engine="simulate", seed=request.seed, samples=request.samples)
            recorded = run_id
        elif hit is not None:
            recorded = "cached"
        else:
            recorded = runs.record_later(
                ds, scenario, engine="simulate", seed=request.seed, samples=request.samples, seconds=elapsed
            )
        if hit is None and ds.nbytes <= CACHE_BYTES:
            with cache_lock:
                cache[key] = ds
                while len(cache) > CACHE_ITEMS:
                    cache.popitem(last=False)
        return ds, recorded

    # --------------------------------------------------------------------------------- meta

    @app.get("/api/health", tags=["meta"], summary="Version, capabilities and limits")
    def health() -> dict[str, Any]:
        return {
            "version": flopgrid.__version__,
            "capabilities": {
                "store": runs.available(),
                "recorder": runs.status(),
                "planner": _optional("flopgrid.plan") is not None,
                "sensitivity": _sensitivity() is not None,
            },
            "limits": {
                "max_body_bytes": settings.max_body,
                "max_sync_samples": settings.max_sync_samples,
                "max_job_samples": settings.max_job_samples,
                "max_jobs": settings.max_jobs,
                "max_sweep_values": MAX_SWEEP_VALUES,
            },
            "auth": settings.token is not None,
        }

    # ------------------------------------------------------------------------------ library

    # The library is read-only for the life of the process: its answers are rendered once.
    @functools.cache
    def library_bytes(table: str | None, fmt: str) -> bytes:
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

    @app.get("/api/library", tags=["library"], summary="The data library's tables")
    async def library_tables() -> Response:
        return Response(library_bytes(None, "json"), media_type="application/json")

    @app.get("/api/library/{table}", tags=["library"], summary="One library table, with sources")
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

    # ---------------------------------------------------------------------------- scenarios

    @app.get("/api/scenarios", tags=["scenarios"], summary="The shipped scenarios")
    def scenarios() -> list[dict[str, Any]]:
        from flopgrid.web.inputs import shipped

        return [{"name": n, "description": shipped(n).description} for n in shipped_scenarios()]

    @app.get(
        "/api/scenarios/{name}", tags=["scenarios"], summary="A shipped scenario and its key assumptions"
    )
    def scenario(name: Annotated[str, PathParam(max_length=200)]) -> dict[str, Any]:
        from flopgrid.web.inputs import shipped

        if name not in shipped_scenarios():
            raise Problem(404, f"no shipped scenario {name!r}; known: {', '.join(shipped_scenarios())}")
        return _describe(shipped(name))

    @app.post("/api/validate", tags=["scenarios"], summary="Validate a scenario (with edited assumptions)")
    def validate(request: ScenarioInput) -> dict[str, Any]:
        return {"valid": True, **_describe(load(request))}

    # --------------------------------------------------------------------------- simulate

    @app.post("/api/simulate", tags=["runs"], summary="Simulate synchronously (up to the sync sample limit)")
    def simulate_endpoint(request: SimulateRequest) -> Response:
        check_samples(request.samples, settings.max_sync_samples)
        started = time.perf_counter()
        key = request.model_dump_json()
        with cache_lock:
            cached = rendered.get(key)
            if cached is not None:
                rendered.move_to_end(key)
        recorded: str | None = "cached"
        if cached is None:
            # At most ``compute_slots`` requests compute at once: the rest wait without holding the
            # GIL, so the event loop keeps answering cheap requests (library, cached runs, jobs).
            with compute_slots:
                # A request that waited may find its answer rendered meanwhile by an identical one.
                with cache_lock:
                    cached = rendered.get(key)
                if cached is None:
                    ds, recorded = run_simulation(request)
                    body = json_bytes(run_view(ds, request.charts))
                else:
                    body = cached
            if len(body) <= RENDERED_BYTES:
                with cache_lock:
                    rendered[key] = body
                    while len(rendered) > CACHE_ITEMS:
                        rendered.popitem(last=False)
        else:
            body = cached
        # Synchronous runs are recorded in the background: find them by scenario_hash in /api/runs.
        elapsed = (time.perf_counter() - started) * 1000
        head = json.dumps({"recorded": recorded, "elapsed_ms": elapsed}).encode()
        return Response(head[:-1] + b"," + body[1:], media_type="application/json")

    @app.post("/api/simulate/download", tags=["runs"], summary="Simulate and download every variable")
    def simulate_download(request: RunRequest, format: Annotated[Format, Query()] = "csv") -> Response:
        check_samples(request.samples, settings.max_sync_samples)
        ds, _ = run_simulation(request)
        return _download(ds.flopgrid.long_frame(), format, f"{ds.attrs.get('scenario', 'results')}")

    @app.post("/api/compare", tags=["runs"], summary="Compare 2–4 scenarios side by side")
    def compare(request: CompareRequest) -> Response:
        results: dict[str, xr.Dataset] = {}
        errors = []
        for i, item in enumerate(request.scenarios):
            try:
                ds, _ = run_simulation(
                    RunRequest(scenario=item.scenario, yaml=item.yaml, assumptions=item.assumptions)
                )
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

    # ------------------------------------------------------------------------------- jobs

    def _sensitivity() -> Callable[..., Any] | None:
        module = _optional("flopgrid.uncertainty")
        function = getattr(module, "sensitivity", None)
        return function if callable(function) else None

    def job_work(request: JobRequest, scenario: Scenario) -> Callable[[Job], Outcome]:
        if request.kind == "montecarlo":

            def montecarlo(job: Job) -> Outcome:
                job.report(0, request.samples, f"simulating {request.samples:,} samples")
                ds = simulate(
                    scenario,
                    samples=request.samples,
                    seed=request.seed,
                    progress=lambda done, total: job.report(done, total, f"{done:,} of {total:,} samples"),
                )
                run_id = runs.record(
                    ds, scenario, engine="simulate", seed=request.seed, samples=request.samples
                )
                return Outcome(ds, {**run_view(ds, False), "run_id": run_id})

            return montecarlo
        if request.kind == "plan":
            planner = _optional("flopgrid.plan")
            if planner is None:
                raise ScenarioError(
                    "the planner (flopgrid.plan) is not installed in this flopgrid", path="kind"
                )

            def plan(job: Job) -> Outcome:
                job.report(0, 1, "building and solving the linear program (HiGHS)")
                ds = planner.plan(scenario)
                job.report(1, 1, "solved")
                run_id = runs.record(ds, scenario, engine="plan", seed=request.seed, samples=1)
                return Outcome(ds, {"run_id": run_id, **_plan_view(ds)})

            return plan
        if request.kind == "sensitivity":
            analyse = _sensitivity()
            if analyse is None:
                raise ScenarioError(
                    "sensitivity analysis (flopgrid.uncertainty) is not installed in this flopgrid",
                    path="kind",
                )

            def sensitivity(job: Job) -> Outcome:
                # SALib's design runs as one piece: progress jumps from 0 to 1 and a cancel lands after.
                job.report(0, 1, f"{request.method} sensitivity of {request.output}")
                found = analyse(
                    scenario,
                    request.output,
                    method=request.method,
                    samples=request.samples if request.samples > 1 else None,
                    seed=request.seed,
                )
                job.report(1, 1, "done")
                return Outcome(
                    None,
                    {
                        **{k: found[k] for k in ("output", "unit", "method", "runs", "base")},
                        "table": _frame_records(found["drivers"]),
                        "tornado": _frame_records(found["tornado"]),
                    },
                )

            return sensitivity
        sweep = request.sweep
        assert sweep is not None  # checked by JobRequest

        def sweep_work(job: Job) -> Outcome:
            rows = []
            for i, value in enumerate(sweep.values):
                job.report(i, len(sweep.values), f"{sweep.assumption} = {value:g}")
                edited = swept(request.assumptions, sweep.assumption, value, f"sweep.values[{i}]")
                ds, run_id = run_simulation(
                    RunRequest(scenario=request.scenario, yaml=request.yaml, assumptions=edited),
                    record_now=True,
                )
                totals = ds.flopgrid.totals()
                rows.append(
                    {
                        sweep.assumption: value,
                        "run_id": run_id,
                        "h100e_end [H100e]": totals["h100e_end"]["value"],
                        "facility_power_end [W]": totals["facility_power_end"]["value"],
                        "energy [Wh]": totals["energy"]["value"],
                        "capex [USD]": totals["capex"]["value"],
                        "funding_gap [USD]": totals["funding_gap"]["value"],
                        "npv [USD]": totals["npv"]["value"],
                        "first_bottleneck": totals["first_bottleneck"]["value"],
                    }
                )
            return Outcome(None, {"assumption": sweep.assumption, "table": rows})

        return sweep_work

    @app.post("/api/jobs", tags=["jobs"], status_code=202, summary="Start a background job")
    def start_job(request: JobRequest) -> dict[str, Any]:
        check_samples(request.samples, settings.max_job_samples)
        scenario = load(request)
        if request.sweep is not None:
            # Check every value up front, so a bad one is a 422 now, not a failed job later.
            for i, value in enumerate(request.sweep.values):
                swept(request.assumptions, request.sweep.assumption, value, f"sweep.values[{i}]")
        work = job_work(request, scenario)
        description = f"{request.kind} of {scenario.name}"
        if request.kind == "montecarlo":
            description += f", {request.samples:,} samples"
        return jobs.submit(request.kind, description, work).public()

    @app.get("/api/jobs", tags=["jobs"], summary="Jobs, newest first")
    def list_jobs() -> list[dict[str, Any]]:
        return [{**job.public(), "result": None} for job in jobs.list()]

    def find_job(job_id: str) -> Job:
        try:
            return jobs.get(job_id)
        except KeyError:
            raise Problem(404, f"no job {job_id!r}") from None

    @app.get("/api/jobs/{job_id}", tags=["jobs"], summary="A job's status, progress and result")
    def get_job(job_id: JobId) -> dict[str, Any]:
        return find_job(job_id).public()

    @app.delete("/api/jobs/{job_id}", tags=["jobs"], summary="Cancel a job")
    def cancel_job(job_id: JobId) -> dict[str, Any]:
        find_job(job_id)
        return jobs.cancel(job_id).public()

    def finished_results(job_id: str) -> Job:
        job = find_job(job_id)
        if job.status != "done" or job.outcome is None:
            raise Problem(409, f"job {job_id} is {job.status}; results exist once it is done")
        return job

    @app.get("/api/jobs/{job_id}/charts", tags=["jobs"], summary="Charts of a finished job")
    def job_charts(job_id: JobId) -> dict[str, Any]:
        job = finished_results(job_id)
        assert job.outcome is not None
        if job.outcome.results is None:
            return {"charts": {}}
        return {"charts": charts.figures(job.outcome.results)}

    @app.get("/api/jobs/{job_id}/download", tags=["jobs"], summary="Download a finished job's results")
    def job_download(job_id: JobId, format: Annotated[Format, Query()] = "csv") -> Response:
        job = finished_results(job_id)
        assert job.outcome is not None
        if job.outcome.results is not None:
            frame = job.outcome.results.flopgrid.long_frame()
        else:
            frame = pd.DataFrame(job.outcome.summary.get("table", []))
        return _download(frame, format, f"{job.kind}-{job.id}")

    # ------------------------------------------------------------------------------- store

    @app.get("/api/runs", tags=["store"], summary="Runs recorded in the run store")
    def list_runs(
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
        scenario_hash: Annotated[str | None, Query(max_length=64)] = None,
    ) -> list[dict[str, Any]]:
        frame = runs.list(None if scenario_hash else limit).reset_index(drop=True)
        if scenario_hash is not None:
            frame = frame[frame["scenario_hash"] == scenario_hash].head(limit)
        return _frame_records(frame)

    @app.get("/api/runs/{run_id}", tags=["store"], summary="One stored run: its metadata and headline")
    def show_run(run_id: RunId) -> dict[str, Any]:
        return runs.show(run_id)

    @app.get("/api/runs/{run_id}/charts", tags=["store"], summary="Charts of a stored run")
    def run_charts(run_id: RunId) -> dict[str, Any]:
        return run_view(runs.load(run_id), True)

    @app.get("/api/runs/{run_id}/download", tags=["store"], summary="Download a stored run")
    def run_download(run_id: RunId, format: Annotated[Format, Query()] = "csv") -> Response:
        return _download(runs.load(run_id).flopgrid.long_frame(), format, f"run-{run_id}")

    @app.get("/api/runs/{run_a}/diff/{run_b}", tags=["store"], summary="Compare two stored runs")
    def diff_runs(run_a: RunId, run_b: RunId) -> list[dict[str, Any]]:
        return _frame_records(runs.diff(run_a, run_b))

    @app.delete("/api/runs/{run_id}", tags=["store"], summary="Delete a stored run")
    def delete_run(run_id: RunId) -> dict[str, Any]:
        runs.delete(run_id)
        return {"deleted": run_id}

    # --------------------------------------------------------------------------- dashboard

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(STATIC.joinpath("index.html").read_text("utf-8"))

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(plotly_path(), media_type="application/javascript")

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.add_middleware(Guard, token=settings.token, max_body=settings.max_body)
    return app


def _plan_view(ds: xr.Dataset) -> dict[str, Any]:
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
            out["summary"] = _frame_records(ds.flopgrid.summary())
        return out


def plotly_path() -> Path:
    """The plotly.js bundle that ships inside the ``plotly`` Python package (served, never fetched)."""
    return Path(str(resources.files("plotly").joinpath("package_data", "plotly.min.js")))
