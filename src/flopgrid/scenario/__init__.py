"""Scenario files: schema, loading YAML, validation against the data library.

A scenario is YAML. Quantities carry units ("5 GW", "$100B", "50000 wafer/month") and are converted once,
when loaded, to model units. Every problem becomes a :class:`~flopgrid.errors.ScenarioError` naming the
file, the line, the field path, what was given and what is expected.

The package is part of the core and imports no engine:

- :mod:`~flopgrid.scenario.schema`: the pydantic models;
- :mod:`~flopgrid.scenario.reader`: the one YAML reader with line numbers (:func:`read_yaml`);
- :mod:`~flopgrid.scenario.checks`: names, years and finance against the library and the horizon;
- :mod:`~flopgrid.scenario.overrides`: parameter overrides and explicit distributions, resolved;
- :mod:`~flopgrid.scenario.loading`: :func:`load_scenario`, which runs all of the above.
"""

from __future__ import annotations

from flopgrid.scenario.loading import load_scenario, scenario_from_yaml, shipped_scenarios
from flopgrid.scenario.overrides import (
    Override,
    check_correlations,
    explicit_distributions,
    resolve_overrides,
    split_name,
)
from flopgrid.scenario.reader import check_data, parse_yaml, read_yaml
from flopgrid.scenario.schema import (
    OVERRIDABLE,
    BuildLimits,
    Builds,
    Chips,
    DatacentreBuild,
    Exclusion,
    FabBuild,
    Finance,
    HbmBuild,
    Horizon,
    PackagingBuild,
    Planner,
    Policy,
    PowerBuild,
    Purchase,
    Revenue,
    Scenario,
    Tranche,
    Uncertainty,
    shares_in,
)

__all__ = [
    "OVERRIDABLE",
    "BuildLimits",
    "Builds",
    "Chips",
    "DatacentreBuild",
    "Exclusion",
    "FabBuild",
    "Finance",
    "HbmBuild",
    "Horizon",
    "Override",
    "PackagingBuild",
    "Planner",
    "Policy",
    "PowerBuild",
    "Purchase",
    "Revenue",
    "Scenario",
    "Tranche",
    "Uncertainty",
    "check_correlations",
    "check_data",
    "explicit_distributions",
    "load_scenario",
    "parse_yaml",
    "read_yaml",
    "resolve_overrides",
    "scenario_from_yaml",
    "shares_in",
    "shipped_scenarios",
    "split_name",
]
