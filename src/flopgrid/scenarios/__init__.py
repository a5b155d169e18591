"""The scenarios that ship with flopgrid (YAML files in this folder), listed without loading them.

Listing needs only the file names and each file's ``description``, read with libyaml: the command line
shows them (``flopgrid scenarios``, the help of every scenario argument) without paying for the scenario
schema, the units registry or the data library (see :func:`flopgrid.scenario.load_scenario` for those).
"""

from __future__ import annotations

from importlib import resources

import yaml


def shipped_names() -> list[str]:
    """Names of the scenarios that ship with flopgrid, sorted.

    Examples
    --------
    >>> "seed-7t" in shipped_names()
    True
    """
    folder = resources.files(__name__)
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def descriptions() -> dict[str, str]:
    """Each shipped scenario's ``description`` (empty where it has none), by name, sorted by name."""
    folder = resources.files(__name__)
    out: dict[str, str] = {}
    for name in shipped_names():
        text = folder.joinpath(f"{name}.yaml").read_text(encoding="utf-8")
        data = yaml.load(text, Loader=yaml.CSafeLoader)
        described = data.get("description") if isinstance(data, dict) else None
        out[name] = " ".join(str(described).split()) if described else ""
    return out
