"""The dashboard's key assumptions, applied to a scenario.

A user moves a slider; the dashboard sends the base scenario and the edited assumptions; the server
rewrites the scenario accordingly and validates it again with :func:`flopgrid.load_scenario`, so an
edited scenario is checked exactly like a file. Each assumption names the scenario fields it rewrites,
so an error the rewritten scenario raises is reported next to the assumption that caused it.

=============  ==============================================================================
assumption     what it rewrites
=============  ==============================================================================
budget         the committed financing: tranches are scaled to add up to it (or, when the
               scenario has none, one equity tranche spread evenly over the horizon)
fabs           the number of fabs: the counts of ``builds.fabs`` are scaled to add up to it
campus_gw      ``it_power`` of every data-centre campus (``builds.datacentres``)
chip           ``chips.mix`` (all output of this type) and every campus's ``accelerator``
power_mix      the sources of the scenario's own plants: each plant is split by these shares
regions        ``chips.allocation``: shares of accelerator output by region
start, end     ``horizon.start`` and ``horizon.end``
=============  ==============================================================================
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

# The scenario's own values live below the faces, where the report reads them too.
from flopgrid.assumptions import current as current
from flopgrid.errors import ScenarioError
from flopgrid.scenario import Scenario, load_scenario

#: Scenario field prefixes each assumption rewrites (for mapping errors back onto the assumption).
FIELDS: dict[str, tuple[str, ...]] = {
    "budget": ("finance.tranches",),
    "fabs": ("builds.fabs",),
    "campus_gw": ("builds.datacentres",),
    "chip": ("chips.mix",),
    "power_mix": ("builds.power",),
    "regions": ("chips.allocation",),
    "start": ("horizon",),
    "end": ("horizon",),
}
Share = Annotated[float, Field(ge=0, le=1)]


class Assumptions(BaseModel):
    """Key assumptions of a scenario; a field left out (null) keeps the scenario's own value."""

    model_config = ConfigDict(extra="forbid", strict=True)

    budget: Annotated[float, Field(gt=0, le=1e15)] | None = Field(
        default=None, description="Committed financing, in billion USD (real 2024)."
    )
    fabs: Annotated[int, Field(ge=0, le=1000)] | None = Field(default=None, description="Number of fabs.")
    campus_gw: Annotated[float, Field(gt=0, le=100)] | None = Field(
        default=None, description="IT power of each data-centre campus, in GW."
    )
    chip: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="Accelerator type made and installed (a library accelerator)."
    )
    power_mix: dict[Annotated[str, Field(max_length=64)], Share] | None = Field(
        default=None, max_length=32, description="Shares of the scenario's own plant capacity by source."
    )
    regions: dict[Annotated[str, Field(max_length=64)], Share] | None = Field(
        default=None, max_length=64, description="Shares of accelerator output by region."
    )
    start: Annotated[int, Field(ge=1950, le=2200)] | None = Field(default=None, description="First year.")
    end: Annotated[int, Field(ge=1950, le=2200)] | None = Field(default=None, description="Last year.")


class AssumptionError(ScenarioError):
    """An assumption cannot be applied to the scenario; ``field`` names the assumption."""

    def __init__(self, field: str, message: str, scenario_path: str | None = None) -> None:
        super().__init__(message, path=scenario_path)
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its own arguments when it crosses from a sandbox worker process (the default
        # would call the class with the formatted message alone).
        return (type(self), (self.field, self.message, self.path))


def _scale_counts(counts: list[int], total: int) -> list[int]:
    """Integer counts proportional to ``counts`` that add up to ``total`` (largest remainders)."""
    base = sum(counts)
    exact = [c * total / base for c in counts]
    out = [int(x) for x in exact]
    order = sorted(range(len(counts)), key=lambda i: exact[i] - out[i], reverse=True)
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def apply(scenario: Scenario, assumptions: Assumptions) -> dict[str, Any]:
    """The scenario's content with the assumptions applied (not yet validated).

    Raises
    ------
    AssumptionError
        When an assumption has nothing to act on (e.g. a number of fabs for a scenario without fabs).
    """
    data: dict[str, Any] = copy.deepcopy(scenario.model_dump(mode="json", exclude_none=True))
    builds = data.setdefault("builds", {})
    a = assumptions
    if a.start is not None or a.end is not None:
        horizon = data.setdefault("horizon", {})
        if a.start is not None:
            horizon["start"] = a.start
        if a.end is not None:
            horizon["end"] = a.end
    start = int(data.get("horizon", {}).get("start", scenario.horizon.start))
    end = int(data.get("horizon", {}).get("end", scenario.horizon.end))
    if a.fabs is not None:
        fabs = builds.get("fabs", [])
        if not fabs and a.fabs > 0:
            raise AssumptionError(
                "fabs", "this scenario builds no fabs to scale; add builds.fabs to it first"
            )
        counts = _scale_counts([int(f.get("count", 1)) for f in fabs], a.fabs) if fabs else []
        builds["fabs"] = [{**f, "count": c} for f, c in zip(fabs, counts, strict=True) if c > 0]
    if a.campus_gw is not None:
        if not builds.get("datacentres"):
            raise AssumptionError("campus_gw", "this scenario builds no data-centre campuses")
        for campus in builds["datacentres"]:
            # the slider is the IT rating (as shown); it replaces a size given as facility power
            campus.pop("facility_power", None)
            campus["it_power"] = f"{a.campus_gw!r} GW"
    if a.chip is not None:
        data.setdefault("chips", {})["mix"] = {a.chip: 1.0}
        for campus in builds.get("datacentres", []):
            campus["accelerator"] = a.chip
    if a.power_mix is not None:
        plants = builds.get("power", [])
        if not plants:
            raise AssumptionError("power_mix", "this scenario builds no power plants whose mix could change")
        total = sum(a.power_mix.values())
        if abs(total - 1) > 1e-6:
            raise AssumptionError("power_mix", f"the shares must add up to 1, they add up to {total:g}")
        split = []
        for plant, plant_was in zip(plants, scenario.builds.power, strict=True):
            for source, share in a.power_mix.items():
                if share <= 0:
                    continue
                part = {**plant, "source": source, "capacity": f"{plant_was.capacity * share!r} W"}
                part["name"] = f"{plant_was.name or plant_was.source} ({source})"
                if plant_was.capex is not None:
                    part["capex"] = f"{plant_was.capex * share!r} USD"
                split.append(part)
        builds["power"] = split
    if a.regions is not None:
        data.setdefault("chips", {})["allocation"] = dict(a.regions)
    if a.budget is not None:
        budget = a.budget * 1e9
        tranches = data.setdefault("finance", {}).get("tranches", [])
        committed = sum(t.total for t in scenario.finance.tranches)
        if tranches and committed > 0:
            factor = budget / committed
            for tranche, original in zip(tranches, scenario.finance.tranches, strict=True):
                if isinstance(original.years, dict):
                    tranche["years"] = {str(y): f"{v * factor!r} USD" for y, v in original.years.items()}
                    tranche.pop("amount", None)
                else:
                    tranche["amount"] = f"{original.total * factor!r} USD"
        else:
            data["finance"]["tranches"] = [
                {"name": "budget", "kind": "equity", "amount": f"{budget!r} USD", "years": [start, end]}
            ]
    return data


def resolve(scenario: Scenario, assumptions: Assumptions | None) -> Scenario:
    """The scenario with the assumptions applied, validated like a scenario file.

    A :class:`~flopgrid.errors.ScenarioError` raised by the edited scenario in a field an assumption
    rewrote comes back as an :class:`AssumptionError` naming that assumption.
    """
    if assumptions is None or not assumptions.model_dump(exclude_none=True):
        return scenario
    data = apply(scenario, assumptions)
    try:
        return load_scenario(data)
    except ScenarioError as exc:
        raise blame(exc, assumptions) from None


def blame(exc: ScenarioError, assumptions: Assumptions) -> ScenarioError:
    """The assumption responsible for an error of the edited scenario, when one is."""
    path = exc.path or ""
    given = [name for name, value in assumptions.model_dump().items() if value is not None]
    horizon_words = ("outside the horizon", "after the horizon", "past of the horizon")
    if "chip" in given and path.startswith("builds.datacentres") and path.endswith(".accelerator"):
        return AssumptionError("chip", exc.message, path)
    # A year outside the horizon is the horizon's doing first: with both the years and the number of
    # fabs edited, "fab start 2025 is outside the horizon 2030–2040" is about the first year, not
    # about the fabs whose path it names.
    for name in ("start", "end"):
        if name in given and (
            path.startswith("horizon") or any(word in exc.message for word in horizon_words)
        ):
            return AssumptionError(name, exc.message, path)
    for name in given:
        if any(path.startswith(prefix) for prefix in FIELDS[name]):
            return AssumptionError(name, exc.message, path)
    return exc
