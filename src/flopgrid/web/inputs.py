"""What API clients send: the request models, and scenarios by shipped name, as a mapping, or as
uploaded YAML text.

Clients never name a server path: a scenario is one of the shipped names, its content as a mapping, or
the text of a YAML file they upload. YAML text is loaded through the same loader as files (so errors
carry line numbers), from a private temporary file whose name is replaced by ``upload.yaml``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flopgrid.errors import ScenarioError
from flopgrid.scenario import Scenario, load_scenario, scenario_from_yaml, shipped_scenarios
from flopgrid.scenario.reader import MAX_YAML_BYTES
from flopgrid.web.assumptions import Assumptions, resolve

#: Largest uploaded YAML text, in characters.
MAX_YAML = MAX_YAML_BYTES
UPLOAD = "upload.yaml"
#: Most values of one sweep job.
MAX_SWEEP_VALUES = 50
Label = Annotated[str, Field(min_length=1, max_length=80)]


class ScenarioInput(BaseModel):
    """A scenario and the edits of its key assumptions.

    Give exactly one of ``scenario`` (a shipped name, or the scenario's content as a mapping) and
    ``yaml`` (the text of a scenario file); with neither, the default scenario (``seed-7t``) is used.
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        # The schema says what _one_source checks: scenario and yaml are not both given (non-null).
        json_schema_extra={
            "not": {
                "required": ["scenario", "yaml"],
                "properties": {"scenario": {"not": {"type": "null"}}, "yaml": {"not": {"type": "null"}}},
            }
        },
    )

    scenario: Annotated[str, Field(max_length=200)] | dict[str, Any] | None = Field(
        default=None,
        description="A shipped scenario name (see GET /api/scenarios) or the scenario's content.",
        examples=["seed-7t"],
    )
    yaml: Annotated[str, Field(max_length=MAX_YAML)] | None = Field(
        default=None, description="The text of a scenario YAML file (an upload)."
    )
    assumptions: Assumptions | None = Field(default=None, description="Edits of the key assumptions.")

    @model_validator(mode="before")
    @classmethod
    def _unicode(cls, data: Any) -> Any:
        # JSON can carry a lone surrogate ("\ud800") that no UTF-8 file, store or response can:
        # refuse it here rather than fail when the name is written out.
        try:
            json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"the request holds a lone surrogate ({exc.object[exc.start : exc.end]!a}), "
                "which is not valid Unicode text"
            ) from None
        return data

    @model_validator(mode="after")
    def _one_source(self) -> ScenarioInput:
        if self.scenario is not None and self.yaml is not None:
            raise ValueError("give either scenario or yaml, not both")
        return self


@lru_cache(maxsize=16)
def shipped(name: str) -> Scenario:
    """A shipped scenario, loaded once per process (scenarios are immutable)."""
    if name not in shipped_scenarios():
        raise ScenarioError(
            f"unknown scenario {name!r}; the shipped scenarios are {', '.join(shipped_scenarios())}, "
            "or send the scenario's content (scenario: {...}) or its YAML text (yaml: '...')",
            path="scenario",
        )
    text = resources.files("flopgrid.scenarios").joinpath(f"{name}.yaml").read_text("utf-8")
    return from_yaml(text, f"{name}.yaml (built in)")


def from_yaml(text: str, file: str = UPLOAD) -> Scenario:
    """Load a scenario from YAML text, with errors naming ``file`` and the line (the shared reader's
    caps on size, depth, aliases and expanded size apply)."""
    return scenario_from_yaml(text, file)


def trusted(request: ScenarioInput) -> bool:
    """Whether the request names a shipped scenario (whose text is ours) rather than sending one."""
    return request.yaml is None and not isinstance(request.scenario, dict)


def load(request: ScenarioInput) -> Scenario:
    """The scenario a request describes, with its assumptions applied and validated."""
    if request.yaml is not None:
        base = from_yaml(request.yaml)
    elif isinstance(request.scenario, dict):
        try:
            base = load_scenario(request.scenario)
        except ScenarioError as exc:
            raise ScenarioError(exc.message, file="scenario", path=exc.path, line=exc.line) from None
    else:
        base = shipped(request.scenario or "seed-7t")
    return resolve(base, request.assumptions)


Format = Literal["csv", "parquet"]


# -------------------------------------------------------------------------------------- requests


class RunRequest(ScenarioInput):
    """A scenario to run, with its samples and seed."""

    samples: Annotated[int, Field(ge=1)] = Field(
        default=1, description="Monte Carlo samples (1: deterministic)."
    )
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    record: bool = Field(
        default=False,
        description="Record the run in the run store (once: an identical run already stored is not "
        "stored again). Interactive runs are not recorded unless asked.",
    )


class SimulateRequest(RunRequest):
    """A synchronous simulation, optionally with the dashboard's charts."""

    charts: bool = Field(default=False, description="Include the dashboard's Plotly figures.")


class CompareItem(ScenarioInput):
    """One scenario of a comparison, with the label its lines carry."""

    label: Annotated[str, Field(min_length=1, max_length=80)] | None = None


class CompareRequest(BaseModel):
    """Two to four scenarios to simulate and compare side by side."""

    model_config = ConfigDict(extra="forbid", strict=True)
    scenarios: list[CompareItem] = Field(min_length=2, max_length=4)
    charts: bool = True

    @model_validator(mode="after")
    def _distinct_labels(self) -> CompareRequest:
        labels = [item.label for item in self.scenarios if item.label]
        if len(set(labels)) != len(labels):
            raise ValueError("labels must be distinct")
        return self


JobId = Annotated[str, PathParam(max_length=64)]
RunId = Annotated[str, PathParam(max_length=128)]
SweepField = Literal["budget", "fabs", "campus_gw", "start", "end"]


class Sweep(BaseModel):
    """A sweep job's one assumption and the values it takes."""

    model_config = ConfigDict(extra="forbid", strict=True)
    assumption: SweepField
    values: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(
        min_length=1, max_length=MAX_SWEEP_VALUES
    )


class JobRequest(RunRequest):
    """A background job: a Monte Carlo run, a plan, a sensitivity analysis or a sweep."""

    kind: Literal["montecarlo", "plan", "sensitivity", "sweep"]
    sweep: Sweep | None = Field(default=None, description="For kind 'sweep': the assumption and its values.")
    output: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        default="h100e@end", description="For kind 'sensitivity': the figure analysed, e.g. 'h100e@2030'."
    )
    method: Literal["sobol", "morris"] = Field(default="sobol", description="For kind 'sensitivity'.")

    @model_validator(mode="after")
    def _sweep_given(self) -> JobRequest:
        if self.kind == "sweep" and self.sweep is None:
            raise ValueError("kind 'sweep' needs sweep: {assumption: ..., values: [...]}")
        if self.kind != "sweep" and self.sweep is not None:
            raise ValueError("sweep applies to kind 'sweep' only")
        return self


def swept(base: Assumptions | None, name: str, value: float, where: str) -> Assumptions:
    """The assumptions with one of them set to a swept value (whole numbers for counts and years)."""
    edits = (base or Assumptions()).model_dump(exclude_none=True)
    if name in ("fabs", "start", "end"):
        if value != int(value):
            raise ScenarioError(f"{name} takes whole numbers, got {value:g}", path=where)
        edits[name] = int(value)
    else:
        edits[name] = value
    try:
        return Assumptions(**edits)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"]
        raise ScenarioError(f"{value:g} is not a valid {name}: {message}", path=where) from None
