"""Background jobs: Monte Carlo, the planner, sensitivity analysis and assumption sweeps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import pandas as pd
import xarray as xr
from fastapi import APIRouter, Query
from fastapi.responses import Response

from flopgrid.plan import plan as run_plan
from flopgrid.scenario import Scenario
from flopgrid.simulate import simulate
from flopgrid.uncertainty import sensitivity as analyse
from flopgrid.web.http import DOWNLOAD, Problem, responses
from flopgrid.web.inputs import Format, JobId, JobRequest, RunRequest, swept
from flopgrid.web.jobs import Job, Outcome
from flopgrid.web.state import Services, ServicesDep
from flopgrid.web.tornado import driver_inputs, tornado_records
from flopgrid.web.views import download, frame_records, job_view, plan_view, run_view

router = APIRouter(tags=["jobs"])


def job_work(state: Services, request: JobRequest, scenario: Scenario) -> Callable[[Job], Outcome]:
    """The work of a job of the requested kind, to run on the job manager's thread."""

    def record(job: Job, ds: xr.Dataset, engine: str, samples: int) -> str | None:
        # Only runs asked for are recorded; and one with more samples than the store can read back
        # is not (as in the CLI).
        if not request.record or samples > state.settings.record_samples:
            return None
        job.begin_recording()
        return state.runs.record(ds, scenario, engine=engine, seed=request.seed, samples=samples)

    if request.kind == "montecarlo":

        def montecarlo(job: Job) -> Outcome:
            job.report(0, request.samples, f"simulating {request.samples:,} samples")
            ds = simulate(
                scenario,
                samples=request.samples,
                seed=request.seed,
                progress=lambda done, total: job.report(done, total, f"{done:,} of {total:,} samples"),
            )
            # Past the last sample the job still works: it says so rather than sit at "N of N".
            job.report(1, 1, f"summarising {request.samples:,} samples (per-year ranges, totals, money)")
            view = run_view(ds, False)
            run_id = record(job, ds, "simulate", request.samples)
            return Outcome(ds, {**view, "run_id": run_id})

        return montecarlo
    if request.kind == "plan":

        def plan(job: Job) -> Outcome:
            job.report(0, 1, "building and solving the linear program (HiGHS)")
            ds = run_plan(scenario)
            job.report(1, 1, "solved; summarising the plan")
            view = plan_view(ds)
            run_id = record(job, ds, "plan", 1)
            return Outcome(ds, {"run_id": run_id, **view})

        return plan
    if request.kind == "sensitivity":

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
            job.report(1, 1, "drawing each driver's low and high values for the tornado")
            tornado = found["tornado"]
            inputs = driver_inputs(scenario, [str(d) for d in tornado["driver"]], seed=request.seed)
            return Outcome(
                None,
                {
                    **{k: found[k] for k in ("output", "unit", "method", "runs", "base")},
                    "table": frame_records(found["drivers"]),
                    "tornado": tornado_records(tornado, found["unit"], inputs),
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
            ds, run_id = state.run_simulation(
                RunRequest(
                    scenario=request.scenario, yaml=request.yaml, assumptions=edited, record=request.record
                ),
                record_now=True,
            )
            run_id = run_id if request.record else None
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


@router.post("/jobs", status_code=202, summary="Start a background job", responses=responses(429))
def start_job(request: JobRequest, state: ServicesDep) -> dict[str, Any]:
    """Start a job; poll ``GET /api/jobs/{id}`` for its status, progress, message and result.

    With ``record: true`` its run (every run of a sweep) is recorded in the run store, once. The
    ``result`` of a done job: for ``montecarlo`` and ``plan``, the run's summary, totals and
    ``run_id``; for ``sweep``, a ``table`` with a row per value; for ``sensitivity``, ``output``,
    ``unit``, ``method``, ``runs``, ``base``, the ranked drivers (``table``) and ``tornado``, a row per
    driver, largest swing first, with: ``driver`` (``table.parameter``); ``low`` and ``high``, also
    named ``output_low`` and ``output_high`` (the output with the driver at its P10 and P90, every
    other parameter at its median); ``swing``; ``output_unit``; ``quantile_low`` and
    ``quantile_high`` (0.1, 0.9); ``input_low`` and ``input_high`` (the driver's own values there, in
    the first year of the horizon, the median over its items and regions), ``input_unit``,
    ``input_year``; and ``inputs``, ``{item, low, high}`` per drawn item.
    """
    state.check_samples(request.samples, state.settings.max_job_samples)
    scenario = state.load(request)
    if request.sweep is not None:
        # Check every value up front, so a bad one is a 422 now, not a failed job later.
        for i, value in enumerate(request.sweep.values):
            swept(request.assumptions, request.sweep.assumption, value, f"sweep.values[{i}]")
    work = job_work(state, request, scenario)
    description = f"{request.kind} of {scenario.name}"
    if request.kind == "montecarlo":
        description += f", {request.samples:,} samples"
    return state.jobs.submit(request.kind, description, work).public()


@router.get("/jobs", summary="Jobs, newest first")
def list_jobs(state: ServicesDep) -> list[dict[str, Any]]:
    return [{**job.public(), "result": None} for job in state.jobs.list()]


def find_job(state: Services, job_id: str) -> Job:
    """A job by id, or a 404."""
    try:
        return state.jobs.get(job_id)
    except KeyError:
        raise Problem(404, f"no job {job_id!r}") from None


@router.get("/jobs/{job_id}", summary="A job's status, progress and result", responses=responses(404))
def get_job(job_id: JobId, state: ServicesDep) -> dict[str, Any]:
    return find_job(state, job_id).public()


@router.delete("/jobs/{job_id}", summary="Cancel a job", responses=responses(404))
def cancel_job(job_id: JobId, state: ServicesDep) -> dict[str, Any]:
    find_job(state, job_id)
    return state.jobs.cancel(job_id).public()


def finished_results(state: Services, job_id: str) -> Job:
    """A finished job by id; a 409 while it is not done."""
    job = find_job(state, job_id)
    if job.status != "done" or job.outcome is None:
        raise Problem(409, f"job {job_id} is {job.status}; results exist once it is done")
    if job.outcome.released:
        raise Problem(
            410,
            f"the results of job {job_id} are no longer kept (the server keeps those of its newest jobs); "
            "run it again, or with record: true to keep its run in the store",
        )
    return job


@router.get("/jobs/{job_id}/charts", summary="Charts of a finished job", responses=responses(404, 409, 410))
def job_charts(job_id: JobId, state: ServicesDep) -> dict[str, Any]:
    job = finished_results(state, job_id)
    assert job.outcome is not None
    return job_view(job.kind, job.outcome.results, job.outcome.summary)


@router.get(
    "/jobs/{job_id}/download",
    summary="Download a finished job's results",
    responses=DOWNLOAD | responses(404, 409, 410),
)
def job_download(job_id: JobId, state: ServicesDep, format: Annotated[Format, Query()] = "csv") -> Response:
    job = finished_results(state, job_id)
    assert job.outcome is not None
    if job.outcome.results is not None:
        frame = job.outcome.results.flopgrid.long_frame()
    else:
        frame = pd.DataFrame(job.outcome.summary.get("table", []))
    return download(frame, format, f"{job.kind}-{job.id}")
