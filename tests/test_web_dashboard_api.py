"""Issue 17, the server side of the dashboard: runs are recorded only when asked and once, jobs say
what they do after the last sample, the docs work offline, sensitivity jobs carry tornado data, and
errors name the field. Over real HTTP (uvicorn in a thread, httpx, as in test_web_api); waits are on
events (a job's ``ended``, the recorder's idle condition), never on sleeps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

import flopgrid
from flopgrid.cli import app as cli_app
from flopgrid.library import load_library
from flopgrid.simulate import prepare
from flopgrid.store import RunStore, database
from flopgrid.web import Settings
from flopgrid.web.inputs import JobRequest
from flopgrid.web.jobs import Job
from flopgrid.web.routes.jobs import job_work
from flopgrid.web.state import Services, app_services
from test_web_api import Live

#: Seconds any wait may take before the test fails (a bound, not a synchronisation).
WAIT = 120.0


@contextmanager
def serving(settings: Settings) -> Iterator[tuple[httpx.Client, Services]]:
    """A live server, a client of it and the server's shared state (to wait on its events)."""
    live = Live(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=WAIT) as client:
            yield client, app_services(live.server.config.app)
    finally:
        live.stop()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[httpx.Client, Services, Path]]:
    store = tmp_path / "runs.duckdb"
    with serving(Settings(store_path=str(store), max_jobs=4)) as (client, services):
        yield client, services, store


def finished(client: httpx.Client, services: Services, job_id: str) -> dict[str, Any]:
    """The job's public state once it has ended."""
    assert services.jobs.get(job_id).ended.wait(WAIT), f"job {job_id} did not end in {WAIT} s"
    job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
    return job


def stored_rows(services: Services, store: Path) -> int:
    """Runs in the store once the recorder has written everything queued."""
    assert services.runs.wait_idle(WAIT), "the recorder did not finish"
    return len(RunStore(store).list()) if store.exists() else 0


# ------------------------------------------------------------------------------------- recording


def test_interactive_runs_are_not_recorded_unless_asked_and_then_once(
    served: tuple[httpx.Client, Services, Path],
) -> None:
    client, services, store = served
    # Slider-style use: ten edits, none asked to be recorded (before: ten rows in the store).
    for k in range(10):
        response = client.post(
            "/api/simulate", json={"scenario": "seed-7t", "assumptions": {"campus_gw": 1 + k / 4}}
        )
        assert response.status_code == 200 and response.json()["recorded"] == "not-requested"
    assert stored_rows(services, store) == 0
    # The same edit recorded five times, as a user pressing "record" again, is one run.
    body = {"scenario": "seed-7t", "assumptions": {"campus_gw": 1.5}, "record": True}
    answers = [client.post("/api/simulate", json=body).json()["recorded"] for _ in range(5)]
    assert set(answers) == {"queued"}
    assert stored_rows(services, store) == 1
    # Once more after the recorder wrote it: still one row.
    assert client.post("/api/simulate", json=body).json()["recorded"] == "queued"
    assert stored_rows(services, store) == 1
    (row,) = client.get("/api/runs").json()
    assert row["samples"] == 1 and row["status"] == "complete"


def test_jobs_record_only_when_asked_and_an_identical_run_keeps_its_id(
    served: tuple[httpx.Client, Services, Path],
) -> None:
    client, services, store = served
    body = {"kind": "montecarlo", "scenario": "reference", "samples": 20, "seed": 3}
    quiet = finished(client, services, client.post("/api/jobs", json=body).json()["id"])
    assert quiet["status"] == "done" and quiet["result"]["run_id"] is None
    assert stored_rows(services, store) == 0
    first = finished(client, services, client.post("/api/jobs", json={**body, "record": True}).json()["id"])
    again = finished(client, services, client.post("/api/jobs", json={**body, "record": True}).json()["id"])
    assert first["status"] == again["status"] == "done"
    assert first["result"]["run_id"] is not None
    assert again["result"]["run_id"] == first["result"]["run_id"]
    assert stored_rows(services, store) == 1
    # Another seed is another run.
    other = finished(
        client, services, client.post("/api/jobs", json={**body, "seed": 4, "record": True}).json()["id"]
    )
    assert other["result"]["run_id"] not in (None, first["result"]["run_id"])
    assert stored_rows(services, store) == 2


def test_a_sweep_records_its_runs_only_when_asked(served: tuple[httpx.Client, Services, Path]) -> None:
    client, services, store = served
    body = {"kind": "sweep", "scenario": "seed-7t", "sweep": {"assumption": "campus_gw", "values": [1, 2]}}
    quiet = finished(client, services, client.post("/api/jobs", json=body).json()["id"])
    assert [row["run_id"] for row in quiet["result"]["table"]] == [None, None]
    assert stored_rows(services, store) == 0
    kept = finished(client, services, client.post("/api/jobs", json={**body, "record": True}).json()["id"])
    ids = [row["run_id"] for row in kept["result"]["table"]]
    assert all(ids) and len(set(ids)) == 2
    assert stored_rows(services, store) == 2


def test_the_cli_records_an_identical_run_once(tmp_path: Path) -> None:
    store = tmp_path / "runs.duckdb"
    runner = CliRunner()
    said = []
    for _ in range(2):
        result = runner.invoke(
            cli_app, ["run", "reference", "-n", "5", "--json", "--store", str(store)], env={"COLUMNS": "200"}
        )
        assert result.exit_code == 0, result.output
        said.append(re.findall(r"run ([0-9a-f]{10})", result.stderr))
    assert said[0] and said[0] == said[1]
    listed = RunStore(store).list()
    assert list(listed["run_id"]) == said[0]
    # The web app finds the CLI's run too: recording it from the API adds nothing.
    with serving(Settings(store_path=str(store))) as (client, services):
        job = client.post(
            "/api/jobs", json={"kind": "montecarlo", "scenario": "reference", "samples": 5, "record": True}
        ).json()
        assert finished(client, services, job["id"])["result"]["run_id"] == said[0][0]
        assert stored_rows(services, store) == 1


def test_the_store_answers_an_identical_run_without_encoding_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RunStore(tmp_path / "runs.duckdb")
    scenario = flopgrid.load_scenario("reference")
    results = flopgrid.simulate(scenario)
    run_id = store.record(results, scenario, engine="simulate", seed=0, samples=1)

    def no_encoding(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an identical run was encoded again")

    monkeypatch.setattr(database, "run_record", no_encoding)
    assert store.record(results, scenario, engine="simulate", seed=0, samples=1) == run_id
    with pytest.raises(AssertionError, match="encoded again"):
        store.record(results, scenario, engine="simulate", seed=1, samples=1)
    assert len(store.list()) == 1


# ----------------------------------------------------------------------------------- offline docs

#: What each kind of documentation asset must be served as.
ASSET_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_every_asset_from_the_server(page: str) -> None:
    with serving(Settings(record=False)) as (client, _):
        html = client.get(page)
        assert html.status_code == 200
        # Every script, style, icon and spec the page names (src=, href=, spec-url=, url:).
        urls = re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']|url: ?'([^']+)'""", html.text)
        named = [a or b for a, b in urls]
        assert any(u.endswith(".js") for u in named) and "/openapi.json" in named, named
        assert all(u.startswith("/") and not u.startswith("//") for u in named), named
        assert "http://" not in html.text.replace("http://www.w3.org", "")
        assert "https://" not in html.text
        for url in named:
            asset = client.get(url)
            assert asset.status_code == 200, url
            suffix = Path(url).suffix
            if suffix in ASSET_TYPES:
                assert ASSET_TYPES[suffix] in asset.headers["content-type"], (url, asset.headers)
                assert len(asset.content) > 4_000, url  # the real bundle, not a stub


def test_swagger_ui_renders_the_api_without_a_network() -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip(f"{chromium} is not installed (apt-get install chromium)")
    with serving(Settings(record=False)) as (client, _), playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        base = str(client.base_url).rstrip("/")
        try:
            page = browser.new_page()
            elsewhere: list[str] = []

            # Any request off this server is refused, as it would fail offline.
            def offline(route: Any) -> None:
                if route.request.url.startswith(base):
                    route.continue_()
                else:
                    elsewhere.append(route.request.url)
                    route.abort()

            page.route("**/*", offline)
            page.goto(f"{base}/docs")
            # Swagger UI drew the operations of the schema, the jobs endpoint among them.
            page.wait_for_selector("#operations-jobs-start_job_api_jobs_post", timeout=60_000)
            assert [u for u in elsewhere if not u.startswith(("data:", "blob:"))] == []
            page.goto(f"{base}/redoc")
            # ReDoc drew the operation's heading.
            page.get_by_role("heading", name="Start a background job").wait_for(timeout=60_000)
            # ReDoc's one outside request is the Redocly badge, an <img> that removes itself when it
            # fails to load (its onError handler): offline, the page simply has no badge.
            badge = "https://cdn.redoc.ly/redoc/logo-mini.svg"
            assert [u for u in elsewhere if not u.startswith(("data:", "blob:")) and u != badge] == []
        finally:
            browser.close()


# ------------------------------------------------------------------------------------- sensitivity


def test_a_sensitivity_job_returns_what_a_tornado_draws(served: tuple[httpx.Client, Services, Path]) -> None:
    client, services, _ = served
    body = {"kind": "sensitivity", "scenario": "reference", "samples": 6, "method": "morris"}
    started = client.post("/api/jobs", json={**body, "output": "h100e@2030"})
    job = finished(client, services, started.json()["id"])
    assert job["status"] == "done", job
    result = job["result"]
    assert result["unit"] == "H100e"
    tornado = result["tornado"]
    assert len(tornado) > 0
    _, params, _ = prepare(flopgrid.load_scenario("reference"))
    specs = load_library().specs
    for bar in tornado:
        # The output at the driver's low and high ends, in the output's unit.
        assert (bar["output_low"], bar["output_high"]) == (bar["low"], bar["high"])
        assert bar["swing"] == pytest.approx(abs(bar["high"] - bar["low"]))
        assert bar["output_unit"] == "H100e"
        assert (bar["quantile_low"], bar["quantile_high"]) == (0.1, 0.9)
        # The driver's own values: P10 below P90, each inside the library's range of the parameter
        # (after the scenario's overrides) in the first year, in the parameter's model unit.
        table, parameter = bar["driver"].split(".")[0], bar["driver"].split(".")[-1]
        assert bar["input_unit"] == specs[(table, parameter)].unit
        assert bar["input_year"] == int(params.years[0])
        assert bar["input_low"] < bar["input_high"], bar
        _, low, high = (a[0] for a in params.base(table, parameter))
        for entry in bar["inputs"]:
            assert entry["low"] < entry["high"], (bar["driver"], entry)
            assert np.nanmin(low) * (1 - 1e-9) <= entry["low"], (bar["driver"], entry)
            assert entry["high"] <= np.nanmax(high) * (1 + 1e-9), (bar["driver"], entry)


# ------------------------------------------------------------------------------- job status messages


@dataclass
class Logged(Job):
    """A job that keeps every status message it was given, in order."""

    said: list[str] = field(default_factory=list)

    def report(self, done: float, total: float, message: str | None = None) -> None:
        super().report(done, total, message)
        self.said.append(self.message)

    def begin_recording(self) -> None:
        super().begin_recording()
        self.said.append(self.message)


def test_a_job_says_what_it_does_after_the_last_sample(tmp_path: Path) -> None:
    services = Services(Settings(store_path=str(tmp_path / "runs.duckdb")))
    try:
        for record in (False, True):
            request = JobRequest(kind="montecarlo", scenario="reference", samples=40, record=record)
            job = Logged(id="job", kind="montecarlo", description="")
            outcome = job_work(services, request, services.load(request))(job)
            last_sample = job.said.index("40 of 40 samples")
            after = job.said[last_sample + 1 :]
            # Never silent at "40 of 40": it summarises, then (when asked) records.
            assert after[0].startswith("summarising 40 samples"), job.said
            assert after[1:] == (["recording the run"] if record else []), job.said
            assert (outcome.summary["run_id"] is not None) == record
    finally:
        services.close()


def test_only_the_newest_jobs_keep_their_full_results() -> None:
    # A budget below one job's results: each new job's results push out the previous ones.
    with serving(Settings(record=False, job_results_bytes=1)) as (client, services):
        body = {"kind": "montecarlo", "scenario": "reference", "samples": 20}
        first = finished(client, services, client.post("/api/jobs", json=body).json()["id"])
        assert client.get(f"/api/jobs/{first['id']}/charts").status_code == 200
        second = finished(client, services, client.post("/api/jobs", json={**body, "seed": 1}).json()["id"])
        for path in ("charts", "download"):
            gone = client.get(f"/api/jobs/{first['id']}/{path}")
            assert gone.status_code == 410 and "no longer kept" in gone.json()["detail"]
            assert client.get(f"/api/jobs/{second['id']}/{path}").status_code == 200
        # The summary of the released job stays.
        assert client.get(f"/api/jobs/{first['id']}").json()["result"]["samples"] == 20


# ------------------------------------------------------------------------------ errors name the field

#: What a damaged permalink (scenario name, YAML, mapping, edits, samples, seed) or an oversized job
#: sends, and the ``loc`` its 422 must carry so that the dashboard puts the message by that field.
DAMAGED = [
    ("/api/simulate", {"scenario": "seed-7", "samples": 1}, ["body", "scenario"]),
    ("/api/validate", {"yaml": "name: [unclosed"}, ["body", "yaml"]),
    (
        "/api/validate",
        {"scenario": {"name": "x", "horizon": {"start": "soon"}}},
        ["body", "scenario", "horizon", "start"],
    ),
    (
        "/api/simulate",
        {"scenario": "seed-7t", "assumptions": {"campus_gw": "lots"}},
        ["body", "assumptions", "campus_gw"],
    ),
    (
        "/api/simulate",
        {"scenario": "seed-7t", "assumptions": {"start": 2039}},
        ["body", "assumptions", "start"],
    ),
    ("/api/simulate", {"scenario": "seed-7t", "samples": 0}, ["body", "samples"]),
    ("/api/simulate", {"scenario": "seed-7t", "samples": 10_001}, ["body", "samples"]),
    ("/api/simulate", {"scenario": "seed-7t", "seed": -1}, ["body", "seed"]),
    ("/api/simulate", {"scenario": "seed-7t", "record": "yes"}, ["body", "record"]),
    ("/api/jobs", {"kind": "montecarlo", "samples": 50_001}, ["body", "samples"]),
    ("/api/jobs", {"kind": "sensitivity", "samples": 50_001}, ["body", "samples"]),
]


def test_damaged_requests_are_422s_that_name_the_field() -> None:
    with serving(Settings(record=False)) as (client, _):
        for path, body, loc in DAMAGED:
            response = client.post(path, json=body)
            assert response.status_code == 422, (body, response.text)
            detail = response.json()["detail"]
            assert detail[0]["loc"] == loc, (body, detail)
            assert detail[0]["msg"], body
