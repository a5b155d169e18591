"""The REST API over real HTTP: a uvicorn server on a free loopback port, called with httpx."""

from __future__ import annotations

import importlib.util
import io
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import uvicorn
from typer.testing import CliRunner

import flopgrid
from flopgrid.cli import app as cli_app
from flopgrid.library import TABLES, load_library
from flopgrid.scenario import shipped_scenarios
from flopgrid.web import Settings, create_app


class Live:
    """A flopgrid app served by uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, settings: Settings) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    store = tmp_path_factory.mktemp("store") / "runs.duckdb"
    server = Live(Settings(store_path=str(store), max_jobs=2))
    yield server
    server.stop()


@pytest.fixture
def client(live: Live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=120) as http:
        yield http


def strict_json(response: httpx.Response) -> Any:
    """Parse JSON refusing NaN and Infinity, which are not JSON."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in a JSON response")

    return json.loads(response.text, parse_constant=refuse)


def wait_job(client: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


# ------------------------------------------------------------------------------------------ library


def test_library_tables_and_csv_download(client: httpx.Client) -> None:
    tables = client.get("/api/library").json()
    assert [t["table"] for t in tables] == list(TABLES)
    library = load_library()
    accelerators = client.get("/api/library/accelerators").json()["rows"]
    assert len(accelerators) == len(library.table("accelerators"))
    assert all(row["source"] for row in accelerators)
    csv = client.get("/api/library/accelerators", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(csv.text))
    assert len(frame) == len(accelerators)
    assert {"value", "unit", "low", "high", "source"} <= set(frame.columns)


def test_unknown_library_table_is_422(client: httpx.Client) -> None:
    response = client.get("/api/library/unicorns")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "table"]


# ---------------------------------------------------------------------------------------- scenarios


def test_scenarios_and_their_assumptions(client: httpx.Client) -> None:
    names = [s["name"] for s in client.get("/api/scenarios").json()]
    assert names == shipped_scenarios()
    described = client.get("/api/scenarios/seed-7t").json()
    scenario = flopgrid.load_scenario("seed-7t")
    assert described["assumptions"]["fabs"] == sum(f.count for f in scenario.builds.fabs)
    assert described["assumptions"]["budget"] == pytest.approx(
        sum(t.total for t in scenario.finance.tranches) / 1e9
    )
    assert described["assumptions"]["campus_gw"] == pytest.approx(
        scenario.builds.datacentres[0].it_rating / 1e9
    )
    assert set(described["choices"]["chip"]) == set(load_library().ids("accelerators"))
    assert client.get("/api/scenarios/nope").status_code == 404


def test_validate_reports_line_and_field_of_an_upload(client: httpx.Client) -> None:
    text = (
        "name: bad\n"
        "horizon: {start: 2025, end: 2030}\n"
        "builds:\n"
        "  fabs:\n"
        "    - {region: TW, capacity: 5 GW, start: 2025}\n"
    )
    response = client.post("/api/validate", json={"yaml": text})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "yaml", "builds", "fabs", 0, "capacity"]
    assert error["line"] == 5
    assert "wafer" in error["msg"]
    assert error["file"] == "upload.yaml"


# ----------------------------------------------------------------------------------------- simulate


def test_simulate_matches_the_python_api(client: httpx.Client) -> None:
    body = strict_json(client.post("/api/simulate", json={"scenario": "reference"}))
    direct = flopgrid.simulate("reference").flopgrid.totals()
    assert body["totals"]["h100e_end"]["value"] == pytest.approx(direct["h100e_end"]["value"])
    assert body["totals"]["capex"]["value"] == pytest.approx(direct["capex"]["value"])
    assert [row["year"] for row in body["summary"]] == list(range(2025, 2041))


def test_an_edited_assumption_changes_the_run_as_editing_the_scenario_would(client: httpx.Client) -> None:
    edited = client.post(
        "/api/simulate", json={"scenario": "seed-7t", "assumptions": {"campus_gw": 2.5}, "charts": True}
    ).json()
    # The same edit made by hand on the scenario's content.
    data = flopgrid.load_scenario("seed-7t").model_dump(mode="json", exclude_none=True)
    for campus in data["builds"]["datacentres"]:
        campus.pop("facility_power", None)  # seed-7t's campuses are sized in facility power
        campus["it_power"] = "2.5 GW"
    by_hand = flopgrid.simulate(flopgrid.load_scenario(data)).flopgrid.totals()
    assert edited["totals"]["facility_power_end"]["value"] == pytest.approx(
        by_hand["facility_power_end"]["value"]
    )
    assert edited["totals"]["h100e_end"]["value"] == pytest.approx(by_hand["h100e_end"]["value"])
    original = client.post("/api/simulate", json={"scenario": "seed-7t", "charts": True}).json()
    assert edited["totals"]["facility_power_end"]["value"] < original["totals"]["facility_power_end"]["value"]
    compute = {t["name"]: t["y"] for t in edited["charts"]["compute"]["data"]}
    assert compute != {t["name"]: t["y"] for t in original["charts"]["compute"]["data"]}


def test_every_dashboard_chart_is_drawn_with_units(client: httpx.Client) -> None:
    charts = client.post("/api/simulate", json={"scenario": "seed-7t", "charts": True}).json()["charts"]
    expected = {
        "compute",
        "power_source",
        "power_region",
        "energy",
        "capex",
        "opex",
        "bottlenecks",
        "cash",
    }
    assert expected <= set(charts)
    # A deterministic run has no fan (issue 17: one line is not a range); a Monte Carlo run has it.
    assert "fan" not in charts
    sampled = client.post("/api/simulate", json={"scenario": "seed-7t", "samples": 4, "charts": True})
    charts = {**charts, "fan": sampled.json()["charts"]["fan"]}
    # The world market's price is drawn for a run with the world's fleet only (a programme alone would
    # face the world's demand at the price cap).
    assert "price" not in charts
    world = client.post("/api/simulate", json={"scenario": "reference", "charts": True})
    charts = {**charts, "price": world.json()["charts"]["price"]}
    for name in expected | {"fan", "price"}:
        assert charts[name]["layout"]["yaxis"]["title"]["text"], name
        assert charts[name]["data"], name
    capex = charts["capex"]
    ds = flopgrid.simulate("seed-7t")
    by_asset = ds["capex"].sum(["region"]).isel(sample=0) / 1e9
    for trace in capex["data"]:
        assert np.allclose(trace["y"], by_asset.sel(asset=trace["name"]).values)


def test_each_slider_edit_reaches_the_totals_and_charts(client: httpx.Client) -> None:
    # Speed (the dashboard's 200 ms from slider to chart) is measured by benchmarks/bench_web.py, not
    # asserted here: a shared machine makes any wall-clock bound flaky. What must hold is that every
    # distinct edit is simulated anew: a larger campus draws proportionally more power and costs more.
    power, capex, charts = [], [], []
    for gw in (1.5, 2.0, 2.5, 3.0, 3.5):
        response = client.post(
            "/api/simulate", json={"scenario": "seed-7t", "assumptions": {"campus_gw": gw}, "charts": True}
        )
        assert response.status_code == 200
        body = response.json()
        power.append(body["totals"]["facility_power_end"]["value"] / gw)
        capex.append(body["totals"]["capex"]["value"])
        charts.append(json.dumps(body["charts"]["energy"], sort_keys=True))
    assert np.allclose(power, power[0], rtol=1e-9)
    assert all(b > a for a, b in itertools.pairwise(capex))
    assert len(set(charts)) == len(charts)


def test_monte_carlo_sync_has_fan_quantiles(client: httpx.Client) -> None:
    body = client.post(
        "/api/simulate", json={"scenario": "reference", "samples": 32, "seed": 3, "charts": True}
    )
    fan = {t["name"]: np.array(t["y"], dtype=float) for t in body.json()["charts"]["fan"]["data"]}
    assert np.all(fan["P5"] <= fan["median"] + 1e-9)
    assert np.all(fan["median"] <= fan["P95"] + 1e-9)
    assert np.any(fan["P5"] < fan["P95"])


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"assumptions": {"campus_gw": -1}}, ["body", "assumptions", "campus_gw"]),
        ({"assumptions": {"start": 2030}}, ["body", "assumptions", "start"]),
        ({"assumptions": {"chip": "H999"}}, ["body", "assumptions", "chip"]),
        ({"assumptions": {"power_mix": {"gas_ccgt": 0.5}}}, ["body", "assumptions", "power_mix"]),
        ({"assumptions": {"regions": {"US": 0.5, "Atlantis": 0.5}}}, ["body", "assumptions", "regions"]),
        ({"scenario": "reference", "assumptions": {"fabs": 3}}, ["body", "assumptions", "fabs"]),
        ({"scenario": "/etc/passwd"}, ["body", "scenario"]),
        ({"scenario": {"horizon": {"start": "soon"}}}, ["body", "scenario", "horizon", "start"]),
        ({"samples": 10_001}, ["body", "samples"]),
        ({"samples": 0}, ["body", "samples"]),
        ({"scenario": "seed-7t", "yaml": "name: x"}, ["body"]),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: httpx.Client, body: dict[str, Any], loc: list[Any]
) -> None:
    response = client.post("/api/simulate", json=body)
    assert response.status_code == 422, response.text
    details = response.json()["detail"]
    assert any(d["loc"][: len(loc)] == loc for d in details), details
    assert all(d["msg"] for d in details)
    assert "root:" not in response.text  # /etc/passwd is never read


def test_downloads_parse_as_csv_and_parquet(client: httpx.Client) -> None:
    csv = client.post("/api/simulate/download", params={"format": "csv"}, json={"scenario": "reference"})
    frame = pd.read_csv(io.StringIO(csv.text))
    parquet = client.post(
        "/api/simulate/download", params={"format": "parquet"}, json={"scenario": "reference"}
    )
    table = pd.read_parquet(io.BytesIO(parquet.content))
    direct = flopgrid.simulate("reference")
    expected = float(direct["h100e"].sum())
    for got in (frame, table):
        assert got.loc[got.variable == "h100e", "value"].sum() == pytest.approx(expected)
    assert "attachment" in parquet.headers["content-disposition"]


# ------------------------------------------------------------------------------------------ compare


def test_compare_two_scenarios(client: httpx.Client) -> None:
    body = client.post(
        "/api/compare",
        json={
            "scenarios": [
                {"scenario": "seed-7t"},
                {"scenario": "seed-7t", "assumptions": {"campus_gw": 1}, "label": "1 GW"},
            ]
        },
    ).json()
    assert body["labels"] == ["seed-7t", "1 GW"]
    lines = {t["name"]: t["y"] for t in body["charts"]["facility_power"]["data"]}
    assert set(lines) == {"seed-7t", "1 GW"}
    assert lines["1 GW"][-1] < lines["seed-7t"][-1]
    assert body["totals"]["1 GW"]["h100e_end"]["value"] < body["totals"]["seed-7t"]["h100e_end"]["value"]


@pytest.mark.parametrize("count", [1, 5])
def test_compare_takes_two_to_four(client: httpx.Client, count: int) -> None:
    response = client.post("/api/compare", json={"scenarios": [{"scenario": "reference"}] * count})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "scenarios"]


def test_compare_names_the_failing_scenario(client: httpx.Client) -> None:
    response = client.post(
        "/api/compare", json={"scenarios": [{"scenario": "reference"}, {"assumptions": {"campus_gw": 500}}]}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:4] == ["body", "scenarios", 1, "assumptions"]


# --------------------------------------------------------------------------------------------- jobs


def test_monte_carlo_job_reports_progress_and_results(client: httpx.Client) -> None:
    started = client.post(
        "/api/jobs", json={"kind": "montecarlo", "scenario": "reference", "samples": 40, "seed": 1}
    )
    assert started.status_code == 202
    job = wait_job(client, started.json()["id"])
    assert job["status"] == "done" and job["progress"] == 1.0
    assert job["result"]["samples"] == 40
    direct = flopgrid.simulate("reference", samples=40, seed=1).flopgrid.totals()
    assert job["result"]["totals"]["h100e_end"]["value"] == pytest.approx(direct["h100e_end"]["value"])
    parquet = client.get(f"/api/jobs/{job['id']}/download", params={"format": "parquet"})
    frame = pd.read_parquet(io.BytesIO(parquet.content), columns=["variable", "sample"])
    assert frame.loc[frame.variable == "npv", "sample"].nunique() == 40
    charts = client.get(f"/api/jobs/{job['id']}/charts").json()["charts"]
    assert "40 samples" in charts["fan"]["layout"]["title"]["text"]


def test_cancel_a_running_job_and_bounded_queue(client: httpx.Client) -> None:
    big = client.post(
        "/api/jobs", json={"kind": "montecarlo", "scenario": "seed-7t", "samples": 50_000}
    ).json()
    second = client.post("/api/jobs", json={"kind": "montecarlo", "scenario": "reference", "samples": 10})
    assert second.status_code == 202
    third = client.post("/api/jobs", json={"kind": "montecarlo", "scenario": "reference", "samples": 10})
    assert third.status_code == 429  # max_jobs=2 on this server
    assert "queue is full" in third.json()["detail"]
    cancelled = client.delete(f"/api/jobs/{big['id']}").json()
    assert cancelled["status"] in ("running", "cancelled", "queued")
    job = wait_job(client, big["id"])
    assert job["status"] == "cancelled"
    assert wait_job(client, second.json()["id"])["status"] == "done"
    assert client.get(f"/api/jobs/{big['id']}/download").status_code == 409


def test_job_samples_are_bounded(client: httpx.Client) -> None:
    response = client.post("/api/jobs", json={"kind": "montecarlo", "samples": 50_001})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "samples"]


def test_sweep_job_and_its_checks(client: httpx.Client) -> None:
    bad = client.post(
        "/api/jobs", json={"kind": "sweep", "sweep": {"assumption": "fabs", "values": [4, 2.5]}}
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "sweep", "values", 1]
    started = client.post(
        "/api/jobs",
        json={
            "kind": "sweep",
            "scenario": "seed-7t",
            "sweep": {"assumption": "campus_gw", "values": [1, 2, 4]},
        },
    )
    job = wait_job(client, started.json()["id"])
    assert job["status"] == "done"
    table = job["result"]["table"]
    assert [row["campus_gw"] for row in table] == [1, 2, 4]
    power = [row["facility_power_end [W]"] for row in table]
    assert power == sorted(power) and power[0] < power[-1]
    csv = pd.read_csv(io.StringIO(client.get(f"/api/jobs/{job['id']}/download").text))
    assert list(csv["campus_gw"]) == [1, 2, 4]


def test_unknown_job_is_404(client: httpx.Client) -> None:
    assert client.get("/api/jobs/job-0").status_code == 404
    assert client.delete("/api/jobs/job-0").status_code == 404


# -------------------------------------------------------------------------------------------- store


def test_runs_are_recorded_listed_downloaded_compared_and_deleted(client: httpx.Client, live: Live) -> None:
    def recorded(body: dict[str, Any]) -> str:
        # Synchronous runs are written by the background recorder; they appear by scenario hash.
        assert body["recorded"] in ("queued", "cached")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = client.get("/api/runs", params={"scenario_hash": body["scenario_hash"]}).json()
            rows = [row for row in rows if row["samples"] == 1]  # the Monte Carlo job ran it too
            if rows:
                return str(rows[0]["run_id"])
            time.sleep(0.2)
        raise AssertionError("the run was not recorded")

    a = recorded(client.post("/api/simulate", json={"scenario": "reference", "record": True}).json())
    b = recorded(
        client.post(
            "/api/simulate", json={"scenario": "reference", "assumptions": {"end": 2035}, "record": True}
        ).json()
    )
    assert a != b
    listed = [row["run_id"] for row in client.get("/api/runs").json()]
    assert {a, b} <= set(listed)
    shown = client.get(f"/api/runs/{a}").json()
    assert shown["scenario_hash"] == flopgrid.load_scenario("reference").content_hash()
    parquet = client.get(f"/api/runs/{a}/download", params={"format": "parquet"})
    table = pd.read_parquet(io.BytesIO(parquet.content))
    assert table.loc[table.variable == "h100e", "value"].sum() == pytest.approx(
        float(flopgrid.simulate("reference")["h100e"].sum())
    )
    diff = client.get(f"/api/runs/{a}/diff/{b}").json()
    assert any(row["quantity"] == "h100e_end" for row in diff)
    assert client.delete(f"/api/runs/{b}").json() == {"deleted": b}
    missing = client.get(f"/api/runs/{b}")
    assert missing.status_code == 404
    assert "runs.duckdb" not in missing.text  # the server's file path is not shown to clients


# ------------------------------------------------------------------------------------ limits, auth


def test_request_size_limit(client: httpx.Client) -> None:
    big = {"yaml": "#" * 2_100_000}
    assert client.post("/api/validate", json=big).status_code == 413

    def chunks() -> Iterator[bytes]:
        # No Content-Length: the limit must hold for a chunked upload too.
        yield b'{"yaml": "'
        for _ in range(30):
            yield b"#" * 100_000
        yield b'"}'

    response = client.post("/api/validate", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_token_is_required_on_every_api_call() -> None:
    server = Live(Settings(token="s3cret-token", record=False))
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            assert http.get("/api/health").status_code == 401
            assert http.post("/api/simulate", json={}).status_code == 401
            assert http.get("/api/health", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
            assert (
                http.get("/api/health", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
            )
            assert (
                http.get("/api/health", headers={"X-Flopgrid-Token": "s3cret-token"}).json()["auth"] is True
            )
            assert http.get("/").status_code == 200  # the page itself holds no data
    finally:
        server.stop()


def test_openapi_declares_the_bearer_scheme_and_the_server_checks_the_token() -> None:
    # The schema of a server with a token (one without declares none: it takes none).
    spec = create_app(Settings(record=False, token="right-token-1234")).openapi()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["type"] == "http" and schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Flopgrid-Token",
        "description": schemes["APIKeyHeader"]["description"],
    }
    # Every API operation accepts either scheme (a list of alternatives, not both at once).
    operations = [op for path, item in spec["paths"].items() for op in item.values()]
    assert operations and all(path.startswith("/api/") for path in spec["paths"])
    assert all(op["security"] == [{"HTTPBearer": []}, {"APIKeyHeader": []}] for op in operations)

    server = Live(Settings(token="right-token-1234", record=False))
    body = {"scenario": "reference"}
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            right = http.post(
                "/api/validate", json=body, headers={"Authorization": "Bearer right-token-1234"}
            )
            assert right.status_code == 200 and right.json()["valid"] is True
            for headers in (
                {"Authorization": "Bearer wrong-token-1234"},
                {"Authorization": "Basic right-token-1234"},
                {"X-Flopgrid-Token": "right-token-123"},
                {},
            ):
                wrong = http.post("/api/validate", json=body, headers=headers)
                assert wrong.status_code == 401, headers
                assert wrong.json() == {
                    "detail": "this server needs its token: send 'Authorization: Bearer TOKEN'"
                }
    finally:
        server.stop()


def test_serve_refuses_a_public_bind_without_token() -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2
    assert "--token" in result.output


def test_dashboard_and_local_plotly_are_served(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "/static/plotly.min.js" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    bundle = client.get("/static/plotly.min.js")
    assert bundle.status_code == 200 and len(bundle.content) > 1_000_000
    assert client.get("/static/app.js").status_code == 200


def test_openapi_documents_the_api(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/simulate",
        "/api/validate",
        "/api/jobs",
        "/api/runs",
        "/api/compare",
        "/api/library/{table}",
    ):
        assert path in paths


# ------------------------------------------------------------------------------- planner, sensitivity

HAS_PLANNER = importlib.util.find_spec("flopgrid.plan") is not None


@pytest.mark.skipif(not HAS_PLANNER, reason="flopgrid.plan (the planner) is not installed")
def test_planner_job_draws_shadow_prices(client: httpx.Client) -> None:
    started = client.post("/api/jobs", json={"kind": "plan", "scenario": "target-100m-h100e-2030"})
    assert started.status_code == 202, started.text
    job = wait_job(client, started.json()["id"], timeout=120)
    assert job["status"] == "done", job
    assert job["result"]["engine"] == "plan"
    charts = client.get(f"/api/jobs/{job['id']}/charts").json()["charts"]
    lines = charts["shadow_prices"]["data"]
    assert lines and all(any(y not in (0, None) for y in line["y"]) for line in lines)


@pytest.mark.skipif(not HAS_PLANNER, reason="flopgrid.plan (the planner) is not installed")
def test_planner_job_without_a_target_fails_with_the_reason(client: httpx.Client) -> None:
    started = client.post("/api/jobs", json={"kind": "plan", "scenario": "seed-7t"})
    job = wait_job(client, started.json()["id"])
    assert job["status"] == "failed"
    assert "planner" in job["error"]["msg"]


def test_sensitivity_job_ranks_drivers(client: httpx.Client) -> None:
    body = {
        "kind": "sensitivity",
        "scenario": "reference",
        "samples": 6,
        "method": "morris",
        "output": "h100e@2030",
    }
    job = wait_job(client, client.post("/api/jobs", json=body).json()["id"], timeout=120)
    assert job["status"] == "done", job
    table = pd.DataFrame(job["result"]["table"])
    assert list(table["mu_star"]) == sorted(table["mu_star"], reverse=True)
    assert job["result"]["unit"] == "H100e" and len(job["result"]["tornado"]) > 0
