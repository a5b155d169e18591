"""The atlas: named assets from public sources (fabs, packaging and HBM sites, AI campuses, power plants).

One CSV per kind (``fabs.csv``, ``packaging.csv``, ``hbm.csv``, ``campuses.csv``, ``power.csv``), one row
per asset or phase, every row with its status, its years, its size in a stated unit and its source
(publisher, title, date, URL, licence). Where a source gives a figure for a whole campus it is one row;
phases that sources report separately are rows of their own that share a ``campus``.

Capacities are converted once, here, to model units (``capacity_model``: wafer/year for fabs, packaging
and HBM lines, W for campuses and plants); ``basis`` says what a campus's power measures (``facility``:
the grid draw, PUE included; ``it``: critical IT power).

The last columns, ``lat``, ``lon`` and ``coords_source``, place an asset on the map: decimal degrees
(north and east positive) of the site or, where sources name only a town or county, of its centre as
the cited page gives it. They are optional: a row without them is left off the map.

>>> atlas = load_atlas()
>>> atlas.get("stargate-abilene").region
'US'
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

import pandas as pd

from flopgrid.errors import LibraryError, suggest
from flopgrid.units import check_unit

#: Kinds of asset and their files.
FILES = {"fab": "fabs", "packaging": "packaging", "hbm": "hbm", "campus": "campuses", "power": "power"}
KINDS = tuple(FILES)
#: What a row's ``status`` may say, in the order of the pipeline.
STATUSES = ("announced", "under_construction", "operating", "cancelled")
#: The unit each kind's ``capacity`` is written in, and the model unit it is converted to.
UNITS = {
    "fab": ("wafer/month", "wafer/year"),
    "packaging": ("wafer/month", "wafer/year"),
    "hbm": ("wafer/month", "wafer/year"),
    "campus": ("MW", "W"),
    "power": ("MW", "W"),
}
#: What ``basis`` may say per kind (empty: not stated).
BASES = {
    "fab": ("", "design", "target"),
    "packaging": ("", "design", "target"),
    "hbm": ("", "design", "target"),
    "campus": ("facility", "it"),
    "power": ("", "nameplate"),
}
CAPEX_SCOPES = ("", "facility", "all_in", "plant", "unknown")
COLUMNS = [
    "id",
    "name",
    "operator",
    "site",
    "country",
    "region",
    "status",
    "announced",
    "construction_start",
    "online_year",
    "full_year",
    "capacity",
    "unit",
    "basis",
    "detail",
    "accelerator",
    "accelerator_count",
    "capex",
    "capex_scope",
    "power_supply",
    "campus",
    "publisher",
    "title",
    "date",
    "url",
    "licence",
    "note",
    "lat",
    "lon",
    "coords_source",
]
#: The map columns, last in every file (a row may leave them empty).
COORD_COLUMNS = ("lat", "lon", "coords_source")
YEAR_COLUMNS = ("announced", "construction_start", "online_year", "full_year")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Asset:
    """One row of the atlas; missing numbers are NaN, missing years None."""

    kind: str
    id: str
    name: str
    operator: str
    site: str
    country: str
    region: str
    status: str
    announced: int | None
    construction_start: int | None
    online_year: int | None
    full_year: int | None
    capacity: float
    unit: str
    capacity_model: float
    basis: str
    detail: str
    accelerator: str
    accelerator_count: float
    capex: float
    capex_scope: str
    power_supply: str
    campus: str
    publisher: str
    title: str
    date: str
    url: str
    licence: str
    note: str
    lat: float = math.nan
    lon: float = math.nan
    coords_source: str = ""

    @property
    def located(self) -> bool:
        """Whether the asset has coordinates (and so a place on the map)."""
        return math.isfinite(self.lat) and math.isfinite(self.lon)

    @property
    def source(self) -> str:
        """The citation: publisher, title, date, URL."""
        return f"{self.publisher}, {self.title} ({self.date}), {self.url}"

    @property
    def start(self) -> int | None:
        """The year construction starts, else the year it was announced (the best start known)."""
        return self.construction_start if self.construction_start is not None else self.announced

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values (NaN stays NaN; ``flopgrid.jsonable`` turns it into null)."""
        return {**asdict(self), "source": self.source}


@dataclass(frozen=True)
class Atlas:
    """Every asset of the atlas, in file order (fabs, packaging, HBM, campuses, power)."""

    assets: tuple[Asset, ...]

    def ids(self) -> list[str]:
        """Every asset id."""
        return [a.id for a in self.assets]

    def get(self, asset_id: str) -> Asset:
        """The asset ``asset_id``; a ``KeyError`` with a "did you mean" when there is none."""
        for asset in self.assets:
            if asset.id == asset_id:
                return asset
        raise KeyError(f"no atlas asset {asset_id!r}.{suggest(asset_id, self.ids())}")

    def select(
        self, kind: str | None = None, region: str | None = None, status: str | None = None
    ) -> list[Asset]:
        """The assets of one kind, region and status (None: any)."""
        return [
            a
            for a in self.assets
            if (kind is None or a.kind == kind)
            and (region is None or a.region == region)
            and (status is None or a.status == status)
        ]

    def frame(self, assets: list[Asset] | None = None) -> pd.DataFrame:
        """The assets as a table, one row each, with a ``source`` column."""
        rows = [a.as_dict() for a in (self.assets if assets is None else assets)]
        return pd.DataFrame(rows, columns=["kind", *COLUMNS, "capacity_model", "source"])


def _year(raw: str, where: str, column: str) -> int | None:
    if not raw.strip():
        return None
    if not re.fullmatch(r"\d{4}", raw.strip()):
        raise LibraryError(f"{where}: column '{column}' must be a year such as 2026, got {raw!r}")
    return int(raw)


def _number(raw: str, where: str, column: str) -> float:
    """A non-empty cell as a number; a clear error when it is not one."""
    try:
        return float(raw)
    except ValueError:
        raise LibraryError(f"{where}: column '{column}' must be a number, got {raw!r}") from None


def _float(raw: str, where: str, column: str) -> float:
    if not raw.strip():
        return math.nan
    value = _number(raw, where, column)
    if not math.isfinite(value) or value <= 0:
        raise LibraryError(f"{where}: column '{column}' must be a positive number, got {raw!r}")
    return value


def _coordinate(raw: str, where: str, column: str, limit: float) -> float:
    if not raw.strip():
        return math.nan
    value = _number(raw, where, column)
    if not -limit <= value <= limit:
        raise LibraryError(
            f"{where}: column '{column}' must be in decimal degrees between {-limit:g} and {limit:g}, "
            f"got {raw!r}"
        )
    return value


def coordinates(text: dict[str, str], where: str) -> tuple[float, float, str]:
    """A row's ``lat``, ``lon`` and ``coords_source``: both coordinates or neither, and a source URL
    with them (NaN and an empty source when the row has none).

    Raises
    ------
    LibraryError
        Naming ``where``, the column and what is expected.
    """
    lat = _coordinate(text["lat"], where, "lat", 90.0)
    lon = _coordinate(text["lon"], where, "lon", 180.0)
    source = text["coords_source"]
    if math.isnan(lat) != math.isnan(lon):
        raise LibraryError(f"{where}: {text['id']} gives one of 'lat' and 'lon' without the other")
    if math.isnan(lat):
        if source:
            raise LibraryError(f"{where}: {text['id']} has a 'coords_source' but no 'lat' and 'lon'")
        return lat, lon, source
    if not source.startswith("https://"):
        raise LibraryError(
            f"{where}: {text['id']} needs a 'coords_source' starting https:// for its coordinates, "
            f"got {source!r}"
        )
    return lat, lon, source


def parse_row(kind: str, row: dict[str, str], where: str, regions: list[str]) -> Asset:
    """One checked row: units, status, dates in order, a known region and a full source.

    Raises
    ------
    LibraryError
        Naming ``where`` (file and line), the column and what is expected.
    """
    text = {c: (row.get(c) or "").strip() for c in COLUMNS}
    if not _ID.match(text["id"]):
        raise LibraryError(
            f"{where}: column 'id' must be lower-case letters, digits and '-', got {text['id']!r}"
        )
    for column in ("name", "operator", "country", "publisher", "title"):
        if not text[column]:
            raise LibraryError(f"{where}: {text['id']} has no '{column}'")
    if text["region"] not in regions:
        raise LibraryError(
            f"{where}: {text['id']} region {text['region']!r} is not a region of library/regions.csv "
            f"({', '.join(regions)}).{suggest(text['region'], regions)}"
        )
    if text["status"] not in STATUSES:
        raise LibraryError(
            f"{where}: {text['id']} status must be one of {', '.join(STATUSES)}, got {text['status']!r}"
        )
    unit, model_unit = UNITS[kind]
    if text["unit"] != unit:
        raise LibraryError(f"{where}: {text['id']} unit must be {unit!r} for a {kind}, got {text['unit']!r}")
    if text["basis"] not in BASES[kind]:
        raise LibraryError(
            f"{where}: {text['id']} basis must be one of {', '.join(repr(b) for b in BASES[kind])}, "
            f"got {text['basis']!r}"
        )
    if text["capex_scope"] not in CAPEX_SCOPES:
        raise LibraryError(f"{where}: {text['id']} capex_scope must be one of {', '.join(CAPEX_SCOPES[1:])}")
    if not text["url"].startswith("https://"):
        raise LibraryError(f"{where}: {text['id']} needs a source URL starting https://, got {text['url']!r}")
    if not _DATE.match(text["date"]):
        raise LibraryError(f"{where}: {text['id']} source date must be YYYY, YYYY-MM or YYYY-MM-DD")
    if not text["licence"]:
        raise LibraryError(f"{where}: {text['id']} has no licence (say 'news article: facts cited' if none)")
    years = {c: _year(text[c], where, c) for c in YEAR_COLUMNS}
    known = [(c, y) for c, y in years.items() if y is not None]
    for (c1, y1), (c2, y2) in pairwise(known):
        if y2 < y1:
            raise LibraryError(f"{where}: {text['id']} {c2} ({y2}) is before {c1} ({y1})")
    capacity = _float(text["capacity"], where, "capacity")
    capex = _float(text["capex"], where, "capex")
    if not math.isnan(capex) and not text["capex_scope"]:
        raise LibraryError(f"{where}: {text['id']} states a capex without its capex_scope")
    lat, lon, coords_source = coordinates(text, where)
    return Asset(
        kind=kind,
        id=text["id"],
        name=text["name"],
        operator=text["operator"],
        site=text["site"],
        country=text["country"],
        region=text["region"],
        status=text["status"],
        announced=years["announced"],
        construction_start=years["construction_start"],
        online_year=years["online_year"],
        full_year=years["full_year"],
        capacity=capacity,
        unit=unit,
        capacity_model=capacity * check_unit(unit, model_unit),
        basis=text["basis"],
        detail=text["detail"],
        accelerator=text["accelerator"],
        accelerator_count=_float(text["accelerator_count"], where, "accelerator_count"),
        capex=capex,
        capex_scope=text["capex_scope"],
        power_supply=text["power_supply"],
        campus=text["campus"],
        publisher=text["publisher"],
        title=text["title"],
        date=text["date"],
        url=text["url"],
        licence=text["licence"],
        note=text["note"],
        lat=lat,
        lon=lon,
        coords_source=coords_source,
    )


def read_kind(kind: str, text: str, regions: list[str], file: str) -> list[Asset]:
    """The checked rows of one kind's CSV ``text`` (``file`` names it in errors)."""
    rows = list(csv.DictReader(text.splitlines()))
    if rows and list(rows[0].keys()) != COLUMNS:
        raise LibraryError(f"{file}: header must be {','.join(COLUMNS)}")
    return [parse_row(kind, row, f"{file}:{line}", regions) for line, row in enumerate(rows, start=2)]


def library_regions() -> list[str]:
    """The region ids of library/regions.csv, in file order."""
    text = resources.files("flopgrid.library").joinpath("regions.csv").read_text(encoding="utf-8")
    return list(dict.fromkeys(row["id"] for row in csv.DictReader(text.splitlines())))


@cache
def load_atlas() -> Atlas:
    """Load and check the atlas (cached); ids are unique across kinds.

    Raises
    ------
    LibraryError
        Naming the file, the line and the column of the first malformed row.
    """
    regions = library_regions()
    folder = resources.files("flopgrid.library.atlas")
    assets: list[Asset] = []
    for kind, name in FILES.items():
        file = f"library/atlas/{name}.csv"
        assets += read_kind(kind, folder.joinpath(f"{name}.csv").read_text(encoding="utf-8"), regions, file)
    seen: set[str] = set()
    for asset in assets:
        if asset.id in seen:
            raise LibraryError(f"library/atlas: asset id {asset.id!r} appears twice")
        seen.add(asset.id)
    return Atlas(tuple(assets))


__all__ = [
    "BASES",
    "CAPEX_SCOPES",
    "COLUMNS",
    "COORD_COLUMNS",
    "FILES",
    "KINDS",
    "STATUSES",
    "UNITS",
    "Asset",
    "Atlas",
    "coordinates",
    "library_regions",
    "load_atlas",
    "parse_row",
    "read_kind",
]
