"""The atlas on a map and in the dashboard: coordinates checked, the map drawn with no network request
(no CDN topojson: the land ships with flopgrid), one marker per asset with coordinates, and the
dashboard's atlas panel (pipeline chart by kind, map, assets with sources) served offline."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, Route
from typer.testing import CliRunner

from flopgrid.charts.atlas import asset_map, pipeline
from flopgrid.charts.geo import decode_arcs, land_rings, ring, wrapped
from flopgrid.cli import app
from flopgrid.errors import LibraryError
from flopgrid.library.atlas import COLUMNS, COORD_COLUMNS, KINDS, load_atlas, parse_row, read_kind
from flopgrid.web import Settings
from test_atlas import REGIONS, good_row
from test_web_api import Live
from test_web_browser import browser, needs_chromium

# One browser per module (as the report tests): two Playwright drivers must not run at once.
__all__ = ["browser"]

runner = CliRunner()

#: Rough extents (lat, lon) of the countries the shipped rows name: a sign or order error in a
#: coordinate (a west longitude written east, lat and lon swapped) lands outside its country's box.
BOXES = {
    "US": ((24.0, 50.0), (-125.0, -66.0)),
    "TW": ((21.5, 25.5), (119.5, 122.5)),
    "KR": ((33.0, 39.0), (124.0, 131.0)),
    "JP": ((24.0, 46.0), (122.0, 146.0)),
    "NO": ((57.0, 72.0), (4.0, 32.0)),
    "AE": ((22.0, 26.5), (51.0, 57.0)),
    # Ireland (the island): 51.37-55.43 N, 10.70-5.42 W
    # (wesleyjohnston.com/users/ireland/geography/extremities.html)
    "IE": ((51.0, 55.5), (-11.0, -5.0)),
    # Saudi Arabia: "between latitudes 16° and 33° N, and longitudes 34° and 56° E" (Wikipedia text via
    # best-country.com/en/asia/saudi_arabia/geography)
    "SA": ((16.0, 33.0), (34.0, 56.0)),
    # Malaysia: "latitude 1° – 7° north, and longitude 100° – 119° east" (talkmalaysia.com/about-malaysia)
    "MY": ((1.0, 7.0), (100.0, 119.0)),
    # India: "between 6°4' ... to 37°6' north latitude and 68°7' to 97°25' east longitude" (Wikipedia's
    # Geography of India via piglix.com/piglix/Geography_of_India)
    "IN": ((6.0, 37.2), (68.0, 97.5)),
}


def markers(figure: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """The asset markers of a map figure: id → (lon, lat)."""
    out = {}
    for trace in figure["data"]:
        if trace.get("mode") == "markers":
            out.update(zip(trace["customdata"], zip(trace["x"], trace["y"], strict=True), strict=True))
    return out


def figure_of(html: str) -> dict[str, Any]:
    """The figure JSON a single-figure HTML file draws."""
    match = re.search(r"const FIGURE = (\{.*?\});\n", html, re.S)
    assert match, "no FIGURE in the file"
    data: dict[str, Any] = json.loads(match.group(1).replace("<\\/", "</"))
    return data


# -------------------------------------------------------------------------------- coordinates


def test_shipped_coordinates_fall_in_their_country() -> None:
    located = [a for a in load_atlas().assets if a.located]
    checked = 0
    for a in located:
        assert a.coords_source.startswith("https://"), a.id
        if a.country in BOXES:
            (lat0, lat1), (lon0, lon1) = BOXES[a.country]
            assert lat0 <= a.lat <= lat1 and lon0 <= a.lon <= lon1, (a.id, a.country, a.lat, a.lon)
            checked += 1
    assert checked >= 80  # the shipped rows on this branch: 84 located, all in these ten countries


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("lat", "95", "'lat' must be in decimal degrees between -90 and 90"),
        ("lon", "-200", "'lon' must be in decimal degrees between -180 and 180"),
        ("lat", "north", "'lat' must be a number"),
        ("lon", "", "gives one of 'lat' and 'lon' without the other"),
        ("coords_source", "", "needs a 'coords_source' starting https://"),
    ],
)
def test_a_bad_coordinate_is_refused_naming_file_line_and_column(
    column: str, value: str, message: str
) -> None:
    row = good_row()
    assert row["lat"] and row["lon"] and row["coords_source"]  # the cases above rely on this row
    row[column] = value
    with pytest.raises(LibraryError, match=r"fabs\.csv:2") as info:
        parse_row("fab", row, "library/atlas/fabs.csv:2", REGIONS)
    assert message in str(info.value)


def test_a_source_without_coordinates_is_refused() -> None:
    row = good_row()
    row["lat"] = row["lon"] = ""
    with pytest.raises(LibraryError, match="has a 'coords_source' but no 'lat' and 'lon'"):
        parse_row("fab", row, "library/atlas/fabs.csv:2", REGIONS)


def test_a_row_without_the_coordinate_columns_loads_and_stays_off_the_map() -> None:
    # Rows written before the map columns existed (a merge may bring some) end after 'note'.
    row = good_row()
    fields = [row[c] for c in COLUMNS if c not in COORD_COLUMNS]
    text = ",".join(COLUMNS) + "\n" + ",".join(f'"{v}"' for v in fields) + "\n"
    (asset,) = read_kind("fab", text, REGIONS, "library/atlas/fabs.csv")
    assert not asset.located and np.isnan(asset.lat) and asset.coords_source == ""
    assert asset.capacity == float(row["capacity"])
    figure = asset_map([asset, *[a for a in load_atlas().assets if a.located][:2]])
    assert len(markers(figure)) == 2
    assert "1 without coordinates left off" in figure["layout"]["annotations"][0]["text"]


# ----------------------------------------------------------------------------------- the land


def test_quantized_arcs_rings_and_the_antimeridian_by_hand() -> None:
    topology = {
        "transform": {"scale": [2.0, 3.0], "translate": [10.0, 20.0]},
        "arcs": [[[0, 0], [1, 0], [0, 1]]],
    }
    (arc,) = decode_arcs(topology)
    # Deltas (0,0), (1,0), (0,1) → integers (0,0), (1,0), (1,1) → ×(2,3) + (10,20).
    assert arc.tolist() == [[10.0, 20.0], [12.0, 20.0], [12.0, 23.0]]
    # ~0 is arc 0 reversed; a second arc drops the point the first ended on.
    assert ring([arc], [0, ~0]).tolist() == [[10, 20], [12, 20], [12, 23], [12, 20], [10, 20]]
    # A ring that jumps from 179° to -179° is made continuous and drawn again 360° to the west.
    crossing = np.array([[170.0, 60.0], [179.0, 61.0], [-179.0, 62.0], [-170.0, 60.0]])
    east, west = wrapped(crossing)
    assert east[:, 0] == pytest.approx([170, 179, 181, 190])
    assert west[:, 0] == pytest.approx([-190, -181, -179, -170])
    assert len(wrapped(np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]))) == 1


def test_the_shipped_land_covers_the_continents() -> None:
    outer, _ = land_rings()
    points = np.concatenate(outer)
    # Natural Earth 1:110m: every continent's extent is there (Cape Horn, Chukotka, Cape Town…).
    assert points[:, 1].min() < -80 and points[:, 1].max() > 80
    assert points[:, 0].min() <= -180 and points[:, 0].max() >= 180
    assert len(points) > 5000


# ------------------------------------------------------------------------------------- the map


def test_map_has_one_marker_per_located_asset_and_no_url() -> None:
    assets = list(load_atlas().assets)
    figure = asset_map(assets)
    located = {a.id: (a.lon, a.lat) for a in assets if a.located}
    assert markers(figure) == located
    # Plain scatter traces on lon/lat axes: no geo trace, so plotly.js has no topojson to fetch.
    assert {t["type"] for t in figure["data"]} == {"scatter"}
    assert "geo" not in figure["layout"] and "http" not in json.dumps(figure)
    # Assets at one point (sources name the town) hide each other's markers: each hover names the rest.
    campus = next(t for t in figure["data"] if t["name"] == "campus")
    hover = dict(zip(campus["customdata"], campus["text"], strict=True))
    assert "also here: Stargate Abilene expansion" in hover["stargate-abilene"]
    assert "also here: Entergy" in hover["meta-hyperion"]  # across kinds: the plant built for it
    assert "also here: Intel Ohio One Mod 1" in hover["meta-prometheus"]  # New Albany: the fabs too
    assert "also here" not in hover["stargate-milam"]  # alone at the Milam County centre
    text = figure["layout"]["annotations"][0]["text"]
    assert f"{len(located)} assets drawn; {len(assets) - len(located)} without coordinates" in text


def test_cli_map_is_self_contained_with_a_marker_per_asset(tmp_path: Path) -> None:
    path = tmp_path / "map.html"
    result = runner.invoke(app, ["atlas", "--kind", "campus", "--map", str(path)])
    assert result.exit_code == 0, result.output
    campuses = load_atlas().select(kind="campus")
    drawn = [a for a in campuses if a.located]
    assert f"{len(drawn)} of {len(campuses)} assets drawn" in result.output
    html = path.read_text(encoding="utf-8")
    assert "default-src 'none'" in html  # the page's CSP forbids every fetch
    figure = figure_of(html)
    assert markers(figure) == {a.id: (a.lon, a.lat) for a in drawn}
    # No URL in what the page draws: no topojson (or tile) address for plotly.js to fetch.
    assert not re.search(r"https?://", json.dumps(figure))
    assert not re.search(r"topojsonURL|PlotlyGeoAssets|scattergeo|choropleth", json.dumps(figure))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "fabs", "--map", "m.html"], "--kind: unknown value 'fabs'. Did you mean 'fab'?"),
        (["--map", "map.png"], "give a name ending in .html"),
        (["--map", "no/such/folder/map.html"], "does not exist"),
    ],
)
def test_cli_map_bad_input_exits_2_with_the_fix(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["atlas", *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


@needs_chromium
def test_map_file_draws_every_marker_with_no_request(tmp_path: Path, browser: Browser) -> None:
    path = tmp_path / "map.html"
    assert runner.invoke(app, ["atlas", "--map", str(path)]).exit_code == 0
    context = browser.new_context(offline=True)
    page = context.new_page()
    attempted: list[str] = []

    def only_the_file(route: Route) -> None:
        attempted.append(route.request.url)
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", only_the_file)
    page.goto(path.as_uri())
    page.wait_for_function("document.body.dataset.rendered === '1'", timeout=60_000)
    located = sum(a.located for a in load_atlas().assets)
    drawn = page.evaluate(
        "document.getElementById('chart').data.filter(t => t.mode === 'markers')"
        ".reduce((n, t) => n + t.x.length, 0)"
    )
    assert drawn == located
    # Plotly drew a point for each: one SVG path per marker in the markers' traces.
    paths = page.locator(".scatterlayer .trace .points path").count()
    assert paths >= located
    assert attempted == [path.as_uri()]  # the file itself, nothing else
    context.close()


# ----------------------------------------------------------------------------------- dashboard


@pytest.fixture(scope="module")
def server() -> Iterator[Live]:
    live = Live(Settings(record=False))
    yield live
    live.stop()


def test_api_atlas_gives_pipelines_map_and_sourced_assets(server: Live) -> None:
    response = httpx.get(server.url + "/api/atlas", timeout=60)
    assert response.status_code == 200
    body = response.json()
    atlas = load_atlas()
    assert body["kinds"] == list(KINDS) and set(body["pipelines"]) == set(KINDS)
    assert body["pipelines"]["campus"] == json.loads(json.dumps(pipeline(list(atlas.assets), "campus")))
    assert len(body["assets"]) == len(atlas.assets) and body["located"] == sum(
        a.located for a in atlas.assets
    )
    assert all(a["url"].startswith("https://") and a["publisher"] for a in body["assets"])
    assert len(markers(body["map"])) == body["located"]


@pytest.fixture(scope="module")
def dashboard(browser: Browser, server: Live) -> Iterator[tuple[Page, list[str]]]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    outside: list[str] = []

    def local_only(route: Route) -> None:
        # Anything not for this server is recorded and refused: the test sees an attempt, not a miss.
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    page.goto(server.url + "/")
    page.wait_for_function("document.body.dataset.atlas === 'drawn'", timeout=120_000)
    yield page, outside
    context.close()


@needs_chromium
def test_dashboard_atlas_panel_draws_pipeline_map_and_sources(dashboard: tuple[Page, list[str]]) -> None:
    page, outside = dashboard
    atlas = load_atlas()
    assert page.locator("#chart-atlas-pipeline .main-svg").count() >= 1
    assert page.locator("#chart-atlas-map .main-svg").count() >= 1
    assert "campus capacity" in page.evaluate(
        "document.getElementById('chart-atlas-pipeline').layout.title.text"
    )
    drawn = page.evaluate(
        "document.getElementById('chart-atlas-map').data.filter(t => t.mode === 'markers')"
        ".reduce((n, t) => n + t.x.length, 0)"
    )
    assert drawn == sum(a.located for a in atlas.assets)
    campuses = atlas.select(kind="campus")
    assert page.locator("#atlas-table tbody tr").count() == len(campuses)
    first = page.locator(f"#atlas-table tr[data-asset='{campuses[0].id}'] td.source a")
    assert first.get_attribute("href") == campuses[0].url
    # Another kind: its pipeline and its assets.
    page.select_option("#atlas-kind", "fab")
    page.wait_for_function("document.body.dataset.atlasKind === 'fab'")
    assert "fab capacity" in page.evaluate(
        "document.getElementById('chart-atlas-pipeline').layout.title.text"
    )
    assert page.locator("#atlas-table tbody tr").count() == len(atlas.select(kind="fab"))
    assert outside == []  # no request left localhost: no CDN, no map tiles, no fonts
