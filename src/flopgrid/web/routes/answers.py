"""Answers of a Monte Carlo run: the probability that a headline figure passes a threshold, asked of
a synchronous run (the dashboard's samples) or of a finished Monte Carlo job; the CLI's ``--ask``
engine (:mod:`flopgrid.questions`) answers both."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from flopgrid.web.http import Problem, responses
from flopgrid.web.inputs import JobId, SimulateRequest
from flopgrid.web.routes.jobs import finished_results
from flopgrid.web.state import ServicesDep
from flopgrid.web.views import probability_answer

router = APIRouter(tags=["answers"])

Operator = Literal[">=", "<=", ">", "<"]
FigureName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class Question(BaseModel):
    """A question about one headline figure: ``figure op threshold``, the threshold in the figure's
    display unit (``flopgrid figures`` lists names and units)."""

    model_config = ConfigDict(extra="forbid")

    figure: FigureName = Field(description="A numeric figure of the registry, e.g. 'h100e_end'.")
    op: Operator = ">="
    threshold: float = Field(allow_inf_nan=False, description="In the figure's display unit.")


class ProbabilityRequest(SimulateRequest):
    """A synchronous Monte Carlo run (as ``POST /simulate``) and a question about it."""

    question: Question


@router.post(
    "/probability",
    summary="Probability that a figure of a synchronous Monte Carlo run passes a threshold",
    responses=responses(429),
)
def probability(request: ProbabilityRequest, state: ServicesDep) -> dict[str, Any]:
    state.check_samples(request.samples, state.settings.max_sync_samples)
    # The same key as the simulation the dashboard just drew: the run comes from the results cache.
    ds, _ = state.run_simulation(request)
    q = request.question
    return probability_answer(ds, q.figure, q.op, q.threshold)


@router.get(
    "/jobs/{job_id}/probability",
    summary="Probability that a figure of a finished Monte Carlo job passes a threshold",
    responses=responses(404, 409, 410),
)
def job_probability(
    job_id: JobId,
    state: ServicesDep,
    figure: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")],
    threshold: Annotated[float, Query(allow_inf_nan=False)],
    op: Annotated[Operator, Query()] = ">=",
) -> dict[str, Any]:
    job = finished_results(state, job_id)
    assert job.outcome is not None
    if job.outcome.results is None:
        raise Problem(409, f"job {job_id} is a {job.kind} job; ask a Monte Carlo job")
    return probability_answer(job.outcome.results, figure, op, threshold)
