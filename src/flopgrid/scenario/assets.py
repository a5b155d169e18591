"""Builds that name an atlas asset: ``builds: {datacentres: [{asset: stargate-abilene}]}``.

Resolved once, when the scenario is loaded and before it is validated: the asset's size, region, start
year, accelerator (campuses) or power source (plants), and its quoted capex where the quote covers what
the build costs in the model, fill the build; any field the scenario writes beside ``asset`` overrides
the atlas's, field by field.

What is taken from the atlas, by build kind:

- ``datacentres`` (campuses): ``it_power`` = the reported IT power, or facility power ÷ the library's
  ``datacentres.ai_campus.pue`` in the start year; ``accelerator`` when the library knows it; ``capex``
  only when the quote covers the facility alone (``capex_scope: facility``; an all-in quote would count
  the chips twice);
- ``fabs``, ``packaging``: ``capacity`` in wafers; ``capex`` when ``capex_scope: plant``;
- ``hbm``: the atlas gives DRAM wafers, the model GB: the scenario must write ``capacity``;
- ``power``: ``capacity`` and ``source`` (the atlas row's ``detail``); ``capex`` when ``capex_scope: plant``.

``start`` is the construction start, else the announcement year; ``name`` is the asset's id.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from flopgrid.errors import ScenarioError, format_path, shorten, suggest
from flopgrid.library import Library
from flopgrid.library.atlas import FILES, Asset, Atlas, load_atlas

#: The atlas kind each build list takes.
BUILD_KINDS = {
    "datacentres": "campus",
    "fabs": "fab",
    "packaging": "packaging",
    "hbm": "hbm",
    "power": "power",
}
#: The capex scope that matches what each build's ``capex`` stands for.
CAPEX_SCOPE = {
    "datacentres": "facility",
    "fabs": "plant",
    "packaging": "plant",
    "hbm": "plant",
    "power": "plant",
}


def asset_fields(build: str, asset: Asset, library: Library) -> dict[str, Any]:
    """The build fields the atlas gives for ``asset`` (quantities as text with their unit).

    >>> from flopgrid.library import load_library
    >>> from flopgrid.library.atlas import load_atlas
    >>> fields = asset_fields("datacentres", load_atlas().get("meta-prometheus"), load_library())
    >>> fields["it_power"], fields["region"], fields["start"]
    ('1000000000.0 W', 'US', 2025)
    """
    fields: dict[str, Any] = {"name": asset.id, "region": asset.region}
    if asset.start is not None:
        fields["start"] = asset.start
    if math.isfinite(asset.capacity_model):
        if build == "datacentres":
            it_power = asset.capacity_model
            if asset.basis == "facility":
                year = float(asset.start or asset.online_year or library.base_year("datacentres", "pue"))
                pue, _, _ = library.series("datacentres", "pue", ["ai_campus"], np.array([year]))
                it_power = asset.capacity_model / float(pue[0, 0])
            fields["it_power"] = f"{it_power!r} W"
        elif build == "power":
            fields["capacity"] = f"{asset.capacity_model!r} W"
        elif build in ("fabs", "packaging"):
            fields["capacity"] = f"{asset.capacity_model!r} wafer/year"
    if build == "datacentres" and asset.accelerator in library.ids("accelerators"):
        fields["accelerator"] = asset.accelerator
    if build == "power" and asset.detail:
        fields["source"] = asset.detail
    if math.isfinite(asset.capex) and asset.capex_scope == CAPEX_SCOPE[build]:
        fields["capex"] = f"{asset.capex!r} USD"
    return fields


def resolve_assets(
    data: dict[str, Any],
    lines: dict[tuple[Any, ...], int],
    file: str | None,
    library: Library,
    atlas: Atlas | None = None,
) -> dict[str, Any]:
    """``data`` with every ``{asset: id}`` build replaced by the atlas's fields and the scenario's own.

    Raises
    ------
    ScenarioError
        For an unknown id (with a "did you mean"), an asset of another kind, or a field the atlas cannot
        give and the scenario does not write; naming the file, the line and the field path.
    """
    builds = data.get("builds")
    if not isinstance(builds, dict) or not any(
        isinstance(entry, dict) and "asset" in entry
        for entries in builds.values()
        if isinstance(entries, list)
        for entry in entries
    ):
        return data
    atlas = atlas or load_atlas()
    resolved_builds = dict(builds)
    for build, kind in BUILD_KINDS.items():
        entries = builds.get(build)
        if not isinstance(entries, list):
            continue
        resolved = []
        for i, entry in enumerate(entries):
            if not (isinstance(entry, dict) and "asset" in entry):
                resolved.append(entry)
                continue
            loc = ("builds", build, i, "asset")
            line = next((lines[loc[:cut]] for cut in range(len(loc), 0, -1) if loc[:cut] in lines), None)

            def fail(message: str, loc: tuple[Any, ...] = loc, line: int | None = line) -> ScenarioError:
                return ScenarioError(message, file=file, path=format_path(loc), line=line)

            asset_id = entry["asset"]
            known = [a.id for a in atlas.select(kind=kind)]
            if not isinstance(asset_id, str) or asset_id not in known:
                other = next((a for a in atlas.assets if a.id == asset_id), None)
                if other is not None:
                    raise fail(
                        f"atlas asset {asset_id!r} is a {other.kind} "
                        f"(library/atlas/{FILES[other.kind]}.csv); builds.{build} takes a {kind} of "
                        f"library/atlas/{FILES[kind]}.csv"
                    )
                raise fail(
                    f"unknown atlas asset {shorten(asset_id)} in library/atlas/{FILES[kind]}.csv (column id)."
                    f"{suggest(str(asset_id), known)} Run 'flopgrid atlas --kind {kind}' for the list"
                )
            fields = asset_fields(build, atlas.get(asset_id), library)
            merged = {**fields, **{k: v for k, v in entry.items() if k != "asset"}}
            needed = {
                "datacentres": ("it_power", "start"),
                "fabs": ("capacity", "start"),
                "packaging": ("capacity", "start"),
                "hbm": ("capacity", "start"),
                "power": ("capacity", "start", "source"),
            }[build]
            for field in needed:
                if field not in merged:
                    raise fail(
                        f"atlas asset {asset_id!r} gives no {field} (library/atlas/{FILES[kind]}.csv); "
                        f"write it beside the asset, e.g. {{asset: {asset_id}, {field}: ...}}"
                    )
            resolved.append(merged)
        resolved_builds[build] = resolved
    return {**data, "builds": resolved_builds}
