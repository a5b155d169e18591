"""The atlas of named assets for the dashboard: the pipeline chart of each kind, the map and the assets
with their sources, all built on the server (the page only draws them) and served with no network."""

from __future__ import annotations

import functools

from fastapi import APIRouter
from fastapi.responses import Response

from flopgrid.charts.atlas import asset_map, pipeline
from flopgrid.library.atlas import KINDS, load_atlas
from flopgrid.web.http import json_bytes

router = APIRouter(tags=["atlas"])

#: What the dashboard's table shows of each asset (the source included).
TABLE_FIELDS = (
    "id",
    "kind",
    "name",
    "operator",
    "site",
    "country",
    "region",
    "status",
    "online_year",
    "full_year",
    "capacity",
    "unit",
    "basis",
    "lat",
    "lon",
    "publisher",
    "title",
    "date",
    "url",
    "licence",
    "coords_source",
)


# The atlas is read-only for the life of the process: its answer is rendered once.
@functools.cache
def atlas_bytes() -> bytes:
    """The atlas view as JSON bytes: kinds, a pipeline figure per kind, the map and the assets."""
    assets = list(load_atlas().assets)
    return json_bytes(
        {
            "kinds": list(KINDS),
            "pipelines": {kind: pipeline(assets, kind) for kind in KINDS},
            "map": asset_map(assets),
            "assets": [{f: row[f] for f in TABLE_FIELDS} for row in (a.as_dict() for a in assets)],
            "located": sum(a.located for a in assets),
        }
    )


@router.get("/atlas", summary="The atlas: pipeline charts by kind, the map and the assets with sources")
async def atlas() -> Response:
    return Response(atlas_bytes(), media_type="application/json")
