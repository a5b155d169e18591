"""Issue 16, the web server: hostile input gets a 4xx and never freezes the server, caches are keyed on
the validated scenario, the Host header is checked, large runs are not recorded, and a cancel never
loses against recording. Tests synchronise on events and counters, not on sleeps."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from importlib import resources
from typing import Any

import httpx
import pytest
import yaml

from flopgrid.web import Settings
from flopgrid.web.jobs import DONE_BEFORE_CANCEL, Job, JobManager, Outcome
from flopgrid.web.sandbox import Sandbox, SandboxBusy, SandboxRefused
from test_web_api import Live

# The reproducers of issue 16, exactly: the 104-byte scenario whose unit pint would evaluate for minutes.
POWER_BOMB = (
    "name: power bomb in there\n"
    "builds:\n"
    "  datacentres:\n"
    '    - {region: US, start: 2026, it_power: "9**9**9 W"}\n'
)
# A 200 kB unit string.
LONG_UNIT = (
    'name: long unit\nbuilds:\n  datacentres:\n    - {region: US, start: 2026, it_power: "1 '
    + ("W*" * 100_000)
    + 'W"}\n'
)


def alias_bomb(levels: int = 7, width: int = 9) -> str:
    """A YAML alias bomb under the 100-alias limit: ``levels`` × ``width`` aliases and one more (64)."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append(f"name: *a{levels}")
    return "\n".join(lines) + "\n"


HOSTILE_YAML = {
    "power-bomb": POWER_BOMB,
    "long-unit": LONG_UNIT,
    "alias-bomb": alias_bomb(),
    "unhashable-key": "? [a, b]\n: 1\n",
    "400-digit-number": "name: big\nfinance:\n  discount_rate: " + "9" * 400 + "\n",
    "nan-tenor": (
        "name: nan tenor\nfinance:\n  tranches:\n    - {kind: debt, total: 1 GUSD, tenor: 'nan year'}\n"
    ),
    "deep-yaml": "name: deep\nparameters: " + "[" * 5000 + "]" * 5000 + "\n",
}
#: A lone surrogate in a name, sent as the scenario's content (JSON may carry it; UTF-8 may not).
SURROGATE = '{"scenario": {"name": "\\ud800"}}'


def test_the_reproducers_are_what_the_issue_says() -> None:
    assert len(POWER_BOMB.encode()) == 104
    assert len(LONG_UNIT) > 200_000
    assert alias_bomb().count("*") == 7 * 9 + 1 < 100


@pytest.fixture(scope="module")
def hostile() -> Iterator[Live]:
    # Short limits: only hostile input is sent here, so no honest scenario is timed out.
    live = Live(Settings(record=False, read_seconds=2.0, read_bytes=400_000_000))
    yield live
    live.stop()


@pytest.mark.parametrize("name", list(HOSTILE_YAML))
@pytest.mark.parametrize("endpoint", ["/api/validate", "/api/simulate"])
def test_hostile_uploads_are_4xx_never_500(hostile: Live, endpoint: str, name: str) -> None:
    with httpx.Client(base_url=hostile.url, timeout=120) as http:
        response = http.post(endpoint, json={"yaml": HOSTILE_YAML[name]})
        assert 400 <= response.status_code < 500, response.text[:300]
        assert len(response.text) < 5_000  # the input is not echoed back whole
        # The server is still itself after it.
        assert http.post("/api/validate", json={"scenario": "reference"}).status_code == 200


def test_a_lone_surrogate_is_4xx_never_500(hostile: Live) -> None:
    with httpx.Client(base_url=hostile.url, timeout=120) as http:
        for endpoint in ("/api/validate", "/api/simulate"):
            response = http.post(
                endpoint, content=SURROGATE.encode(), headers={"Content-Type": "application/json"}
            )
            assert 400 <= response.status_code < 500, response.text[:300]


def rss_bytes() -> int:
    """Resident memory of this process (the test server runs in it)."""
    with open("/proc/self/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def test_health_is_answered_while_a_hostile_request_is_in_flight() -> None:
    # The worst hostile upload holds a scenario reader for the whole time limit. Which text does that
    # depends on the readers (the unit grammar now refuses the 104-byte `9**9**9 W` at once), so the
    # test holds a reader with a task that never ends on its own: the server must stay responsive
    # whatever a reader is stuck in. The reproducer itself is sent meanwhile, to the other reader.
    live = Live(Settings(record=False, readers=2, read_seconds=600.0, read_bytes=400_000_000))
    sandbox = live.server.config.app.state.services.sandbox
    before = rss_bytes()

    def stuck_reader() -> None:
        with contextlib.suppress(Exception):  # ended by the sandbox's close below
            sandbox.call(time.sleep, 600)

    held = threading.Thread(target=stuck_reader)
    try:
        with httpx.Client(base_url=live.url, timeout=120) as http:
            held.start()
            # Synchronise on the server's own counter: a reader is busy now, for 600 s.
            while http.get("/api/health").json()["capabilities"]["readers"]["busy"] < 1:
                assert held.is_alive(), "the stuck reader ended before it was seen in flight"
            bomb = http.post("/api/simulate", json={"yaml": POWER_BOMB})
            assert 400 <= bomb.status_code < 500, bomb.text[:300]
            for _ in range(20):
                started = time.perf_counter()
                probe = http.get("/api/health")
                # Generous bound (the issue asks for 1 s; a probe takes ~5 ms on an idle core): the
                # probe is not queued behind the stuck reader, which would hold it for 600 s.
                assert probe.status_code == 200 and time.perf_counter() - started < 5
                assert http.post("/api/validate", json={"scenario": "reference"}).status_code == 200
            # A reading's memory is the worker's, capped there: the server grows by far less than the
            # 4.4-5.5 GB the issue measured (bound: 300 MB, for the probes' own use).
            assert rss_bytes() - before < 300_000_000
            assert http.get("/api/health").json()["capabilities"]["readers"]["busy"] == 1
    finally:
        sandbox.close()
        held.join(timeout=60)
        live.stop()
    assert not held.is_alive()


def test_an_alias_bomb_is_stopped_by_the_workers_memory_limit() -> None:
    sandbox = Sandbox(workers=1, seconds=60, memory=300_000_000)
    try:
        worker = sandbox.call(os.getpid)
        with pytest.raises(SandboxRefused, match="memory"):
            sandbox.call(bytearray, 2_000_000_000)
        # The refused allocation was never held: the same worker goes on serving.
        assert sandbox.call(abs, -3) == 3 and sandbox.call(os.getpid) == worker
        assert sandbox.status()["replaced"] == 0
    finally:
        sandbox.close()


def test_closing_the_sandbox_ends_a_task_in_flight() -> None:
    # A server that stops must not wait on a reader stuck in a hostile scenario.
    sandbox = Sandbox(workers=1, seconds=600)
    outcome: dict[str, BaseException] = {}

    def stuck() -> None:
        try:
            sandbox.call(time.sleep, 600)
        except SandboxBusy as exc:
            outcome["error"] = exc

    caller = threading.Thread(target=stuck)
    caller.start()
    while sandbox.status()["busy"] < 1:
        assert caller.is_alive()
    sandbox.close()
    caller.join(timeout=60)
    assert not caller.is_alive() and "shutting down" in str(outcome["error"])


def test_an_overrunning_task_is_killed_and_its_worker_replaced() -> None:
    sandbox = Sandbox(workers=1, seconds=0.5)
    try:
        with pytest.raises(SandboxRefused, match=r"longer than 0\.5 s"):
            sandbox.call(time.sleep, 60)
        assert sandbox.call(abs, -4) == 4
        assert sandbox.status()["timeouts"] == 1
    finally:
        sandbox.close()


# ---------------------------------------------------------------------------------------- caches


def seed_mapping() -> dict[str, Any]:
    text = resources.files("flopgrid.scenarios").joinpath("reference.yaml").read_text("utf-8")
    mapping: dict[str, Any] = yaml.safe_load(text)
    return mapping


def test_nan_and_infinity_do_not_share_a_cache_entry() -> None:
    def body(value: str) -> bytes:
        mapping = seed_mapping()
        mapping["finance"] = {**mapping.get("finance", {}), "discount_rate": "__X__"}
        return json.dumps({"scenario": mapping}).replace('"__X__"', value).encode()

    headers = {"Content-Type": "application/json"}
    cold = {}
    for value in ("NaN", "Infinity"):
        fresh = Live(Settings(record=False))
        try:
            with httpx.Client(base_url=fresh.url, timeout=120) as http:
                cold[value] = http.post("/api/simulate", content=body(value), headers=headers)
        finally:
            fresh.stop()
    live = Live(Settings(record=False))
    try:
        with httpx.Client(base_url=live.url, timeout=120) as http:
            first = http.post("/api/simulate", content=body("NaN"), headers=headers)
            second = http.post("/api/simulate", content=body("Infinity"), headers=headers)
    finally:
        live.stop()
    assert first.status_code == cold["NaN"].status_code
    # The Infinity request gets the answer it gets from a cold cache, never NaN's "cached" one.
    assert second.status_code == cold["Infinity"].status_code
    if second.status_code == 200:
        assert second.json()["recorded"] != "cached"


# ------------------------------------------------------------------------------------------ hosts


def test_a_token_less_server_answers_only_loopback_host_names() -> None:
    live = Live(Settings(record=False))
    port = live.url.rsplit(":", 1)[1]
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            for host in (
                "localhost",
                f"localhost:{port}",
                "127.0.0.1",
                f"127.0.0.1:{port}",
                "[::1]",
                f"[::1]:{port}",
            ):
                assert http.get("/api/health", headers={"Host": host}).status_code == 200, host
            for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "0.0.0.0"):
                for path in ("/api/health", "/", "/docs", "/openapi.json"):
                    refused = http.get(path, headers={"Host": host})
                    assert refused.status_code == 400, (host, path)
                    assert "localhost" in refused.json()["detail"]
            assert http.delete("/api/runs/x", headers={"Host": "evil.example"}).status_code == 400
            # Its schema declares no token (it takes none) and the 400 it answers instead.
            spec = http.get("/openapi.json").json()
            assert "securitySchemes" not in spec.get("components", {})
            assert "400" in spec["paths"]["/api/health"]["get"]["responses"]
    finally:
        live.stop()


def test_a_server_with_a_token_accepts_any_host_with_the_right_token() -> None:
    live = Live(Settings(record=False, token="right-token-1234"))
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            host = {"Host": "flopgrid.example.org"}
            good = http.get("/api/health", headers={**host, "Authorization": "Bearer right-token-1234"})
            assert good.status_code == 200 and good.json()["auth"] is True
            assert http.get("/api/health", headers=host).status_code == 401
            # The docs and the schema are public (they hold no data); the API is not.
            assert http.get("/docs", headers=host).status_code == 200
            spec = http.get("/openapi.json", headers=host).json()
            assert spec["paths"]["/api/health"]["get"]["security"] == [
                {"HTTPBearer": []},
                {"APIKeyHeader": []},
            ]
            assert "401" in spec["paths"]["/api/health"]["get"]["responses"]
    finally:
        live.stop()


def test_405_lists_every_method_of_the_path() -> None:
    live = Live(Settings(record=False))
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http:
            response = http.put("/api/runs/some-run")
            assert response.status_code == 405
            assert response.headers["allow"] == "DELETE, GET"
            options = http.options("/api/health")
            assert options.status_code == 405 and options.headers["allow"] == "GET"
    finally:
        live.stop()


# ------------------------------------------------------------------------------ large stored runs


def test_a_5000_sample_sync_run_is_not_recorded_and_stored_runs_read_back(tmp_path: Any) -> None:
    live = Live(Settings(store_path=str(tmp_path / "runs.duckdb")))
    try:
        with httpx.Client(base_url=live.url, timeout=300) as http:
            large = http.post(
                "/api/simulate", json={"scenario": "reference", "samples": 5000, "record": True}
            )
            assert large.status_code == 200 and large.json()["recorded"] == "too-large"
            small = http.post("/api/simulate", json={"scenario": "reference", "samples": 20, "record": True})
            assert small.json()["recorded"] == "queued"
            runs: list[dict[str, Any]] = []
            while not runs:  # the recorder writes in the background: wait for its run
                runs = http.get("/api/runs").json()
            assert [run["samples"] for run in runs] == [20]
            run_id = runs[0]["run_id"]
            assert http.get(f"/api/runs/{run_id}/charts").status_code == 200
            csv = http.get(f"/api/runs/{run_id}/download")
            assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
            assert csv.text.count("\n") > 20
    finally:
        live.stop()


# ------------------------------------------------------------------------------ cancel vs record


def test_a_cancel_before_recording_wins_and_nothing_is_recorded() -> None:
    jobs = JobManager(max_active=2)
    started, go = threading.Event(), threading.Event()
    recorded: list[str] = []

    def work(job: Job) -> Outcome:
        started.set()
        go.wait()
        job.begin_recording()
        recorded.append(job.id)
        return Outcome(None, {})

    job = jobs.submit("test", "cancel first", work)
    started.wait()
    assert jobs.cancel(job.id).message == "cancelling"
    go.set()
    jobs.shutdown()
    assert job.status == "cancelled" and recorded == []


def test_a_cancel_during_recording_reports_done_before_cancel() -> None:
    jobs = JobManager(max_active=2)
    recording, go = threading.Event(), threading.Event()

    def work(job: Job) -> Outcome:
        job.begin_recording()
        recording.set()
        go.wait()
        return Outcome(None, {"run_id": "r1"})

    job = jobs.submit("test", "cancel late", work)
    recording.wait()
    jobs.cancel(job.id)
    assert job.status == "running"
    go.set()
    jobs.shutdown()
    assert job.status == "done" and job.message == DONE_BEFORE_CANCEL
    assert job.public()["result"] == {"run_id": "r1"}
