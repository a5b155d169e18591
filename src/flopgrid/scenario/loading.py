"""Loading a scenario: read the YAML, validate it against the schema, check it against the library."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flopgrid.errors import ScenarioError
from flopgrid.library import Library, load_library
from flopgrid.scenario.assets import resolve_assets
from flopgrid.scenario.checks import check_names, validation_error
from flopgrid.scenario.overrides import (
    check_correlations,
    explicit_distributions,
    resolve_overrides,
    with_it_power,
)
from flopgrid.scenario.reader import check_data, parse_yaml, read_yaml
from flopgrid.scenario.schema import Scenario


def load_scenario(
    source: str | Path | Mapping[str, Any] | None = None, library: Library | None = None
) -> Scenario:
    """Load, validate and check a scenario.

    Parameters
    ----------
    source
        A path to a YAML file, a mapping with the scenario's content, or None for the built-in default
        scenario (``seed-7t``). A bare name such as ``"reference"`` loads a shipped scenario.
    library
        The data library to check names against (default: the built-in one).

    Raises
    ------
    ScenarioError
        With the file, line, field path and the expected form.

    Examples
    --------
    >>> s = load_scenario({"name": "tiny", "horizon": {"start": 2025, "end": 2027}})
    >>> s.years
    [2025, 2026, 2027]
    """
    library = library or load_library()
    lines: dict[tuple[Any, ...], int] = {}
    file: str | None = None
    if source is None:
        source = "seed-7t"
    if isinstance(source, Mapping):
        # The reader's caps (depth, size, string length, lone surrogates) for data not read from YAML.
        check_data(source)
        data: Any = dict(source)
    else:
        data, lines, file = read_yaml(
            source, package="flopgrid.scenarios", shipped=shipped_scenarios(), what="a YAML scenario"
        )
    return _validated(data, lines, file, library)


def scenario_from_yaml(text: str, file: str, library: Library | None = None) -> Scenario:
    r"""Load, validate and check a scenario from YAML text (an upload), with errors naming ``file``.

    >>> scenario_from_yaml("name: tiny\nhorizon: {start: 2025, end: 2026}\n", "upload.yaml").years
    [2025, 2026]
    """
    data, lines = parse_yaml(text, file)
    return _validated(data, lines, file, library or load_library())


def _validated(data: Any, lines: dict[tuple[Any, ...], int], file: str | None, library: Library) -> Scenario:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError("a scenario must be a YAML mapping (key: value lines)", file=file, line=1)
    # Builds naming an atlas asset take its fields before validation, so the schema checks them all.
    data = resolve_assets(data, lines, file, library)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, file, lines) from None
    scenario = scenario.model_copy(update={"source_file": file})
    check_names(scenario, library, file, lines)
    # Parameter overrides and distributions are checked by resolving them once; errors carry the path.
    overrides = resolve_overrides(scenario, library, lines)
    explicit_distributions(scenario, library, lines)
    check_correlations(scenario, library, lines)
    return with_it_power(scenario, library, overrides)


def shipped_scenarios() -> list[str]:
    """Names of the scenarios that ship with flopgrid."""
    folder = resources.files("flopgrid.scenarios")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))
