"""Sweep faults with real processes and real kills: SIGKILL of the sweep, tasks that raise, a worker
killed mid-task, and readers while the sweep writes. Clusters are small (one worker) and tasks tiny.

Every step waits for an event, never for time: worker plugins (tests/dask_faults.py) pause a worker after
its first task or kill it as a task starts, so a busy machine changes how long a test takes, not what it
sees. Deadlines only bound a wait for an event that must come.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import duckdb
import pytest
from distributed import Client

import dask_faults
from flopgrid.library import load_library
from flopgrid.store import RunStore

#: Pinned so that another engineer's edit of the model during a test does not change the task keys. A paused
#: worker must stay paused until the test resumes it: Dask's memory monitor would otherwise resume it.
ENV = {
    **os.environ,
    "FLOPGRID_CODE_VERSION": "test-faults",
    "DASK_DISTRIBUTED__WORKER__MEMORY__PAUSE": "False",
}
#: How long a wait for an event that must come may last before the test fails (a bound, not a timing).
DEADLINE = 180.0
# The plugins travel to the workers by value: the workers cannot import the tests folder.
cloudpickle.register_pickle_by_value(dask_faults)
BASE = """\
name: tiny
horizon: {start: 2025, end: 2027}
existing_industry: false
builds:
  datacentres: [{region: US, it_power: 100 MW, start: 2025}]
  purchases: [{accelerator: H100, region: US, quantity: 10000, year: 2026}]
"""


def _sweep_file(tmp_path: Path, body: str) -> Path:
    (tmp_path / "base.yaml").write_text(BASE, encoding="utf-8")
    path = tmp_path / "sweep.yaml"
    path.write_text("name: faults\nbase: base.yaml\n" + body, encoding="utf-8")
    return path


def _command(sweep: Path, store: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "flopgrid", "sweep", str(sweep), "--store", str(store), "--json", *extra]


def _start(command: list[str], env: dict[str, str] = ENV) -> subprocess.Popen[str]:
    # A session of its own, so that a kill of the group takes the sweep and its local cluster together.
    return subprocess.Popen(
        command, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )


def _kill_group(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def _finish(proc: subprocess.Popen[str], timeout: float = 90) -> tuple[int, dict[str, Any]]:
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert stdout.strip(), stderr
    return proc.returncode, json.loads(stdout)


def _rows(store: Path) -> list[tuple[str, str, str | None]]:
    with duckdb.connect(str(store), read_only=True) as con:
        return con.execute("SELECT task_key, status, error FROM runs ORDER BY task_key").fetchall()


def _complete(reader: RunStore) -> int:
    frame = reader.list()
    return int((frame["status"] == "complete").sum()) if len(frame) else 0


def _until(condition: Any, what: str, proc: subprocess.Popen[str] | None = None) -> None:
    """Poll `condition` until it holds; fail after DEADLINE, or at once if `proc` ended first."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert proc is None or proc.poll() is None, f"the sweep ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within {DEADLINE:.0f} s"
        time.sleep(0.02)


def _in_flight(client: Client) -> list[str]:
    return [str(k) for keys in client.processing().values() for k in keys if str(k).startswith("flopgrid-")]


def _address(file: Path) -> str | None:
    """The scheduler's address once its file is written whole."""
    try:
        return str(json.loads(file.read_text())["address"])
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `dask scheduler` and one `dask worker` (with its nanny), as on a cluster; shared by the
    tests of this module so that the worker imports flopgrid once."""
    dask = str(Path(sys.executable).with_name("dask"))
    file = tmp_path_factory.mktemp("dask") / "scheduler.json"
    common = {
        "env": ENV,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
        "start_new_session": True,
    }
    scheduler = subprocess.Popen(
        [
            dask,
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(file),
        ],
        **common,  # type: ignore[call-overload]
    )
    worker = None
    try:
        _until(lambda: _address(file) is not None, "scheduler file")
        address = _address(file)
        assert address is not None
        worker = subprocess.Popen(
            [dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
            **common,  # type: ignore[call-overload]
        )
        yield address
    finally:
        for proc in (worker, scheduler):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


def test_sweep_killed_at_any_point_and_rerun_stores_every_task_exactly_once(
    tmp_path: Path, dask_cluster: str
) -> None:
    sweep = _sweep_file(
        tmp_path, "grid:\n  horizon.end: [2026, 2027, 2028, 2029, 2030]\nseeds: [0, 1, 2, 3, 4]\n"
    )
    store = tmp_path / "runs.duckdb"
    total = 25
    reader = RunStore(store, timeout=30)

    # Kill 1 (local cluster): once a first result is stored, with the sweep still running. Its worker
    # pauses after its first task (a preload of tests/dask_faults.py), so the sweep cannot finish first.
    paused_env = {
        **ENV,
        "FLOPGRID_TEST_PAUSE_AFTER_FIRST": "1",
        "DASK_DISTRIBUTED__WORKER__PRELOAD": json.dumps([dask_faults.__file__]),
    }
    proc = _start(_command(sweep, store, "--workers", "1"), env=paused_env)
    try:
        _until(lambda: _complete(reader) >= 1, "a first stored result", proc)
    finally:
        _kill_group(proc)
    after_first = _complete(reader)
    assert 1 <= after_first < total

    # Kill 2 (on a cluster): while a task is in flight on the worker, not at a write.
    with Client(dask_cluster, timeout="30s") as client:
        proc = _start(_command(sweep, store, "--scheduler", dask_cluster))
        try:
            _until(lambda: bool(_in_flight(client)), "a task in flight", proc)
        finally:
            _kill_group(proc)
    before_last = _complete(reader)
    assert before_last >= after_first

    status, report = _finish(_start(_command(sweep, store, "--scheduler", dask_cluster)))
    assert status == 0, report
    assert (report["tasks"], report["skipped"], report["ran"], report["failed"]) == (
        total,
        before_last,
        total - before_last,
        0,
    )
    rows = _rows(store)
    keys = [key for key, _, _ in rows]
    assert len(rows) == total and len(set(keys)) == total
    assert {status for _, status, _ in rows} == {"complete"}
    # Every stored run is whole: its values are all there.
    with duckdb.connect(str(store), read_only=True) as con:
        counts = con.execute(
            "SELECT r.n_values, count(*) FROM runs r JOIN results v USING (run_id) "
            "GROUP BY r.run_id, r.n_values"
        ).fetchall()
    assert len(counts) == total and all(expected == found for expected, found in counts)


def test_a_task_that_raises_is_recorded_failed_and_the_rest_go_on(tmp_path: Path, dask_cluster: str) -> None:
    regions = load_library().ids("regions")
    exclude = ", ".join(f"{{region: {r}, accelerator: '*'}}" for r in regions)
    sweep = _sweep_file(
        tmp_path,
        "cases:\n"
        "  - {horizon.end: 2027}\n"
        f"  - {{policy.exclude: [{exclude}]}}\n"  # loads, then raises in the simulator on the worker
        "  - {horizon.end: soon}\n"  # not even a valid scenario: fails on the client
        "  - {horizon.end: 2028}\n",
    )
    store = tmp_path / "runs.duckdb"
    status, report = _finish(_start(_command(sweep, store, "--scheduler", dask_cluster)))
    assert status == 1
    assert (report["tasks"], report["ran"], report["failed"]) == (4, 3, 2)
    rows = _rows(store)
    assert sorted(s for _, s, _ in rows) == ["complete", "complete", "failed", "failed"]
    errors = sorted(e for _, _, e in rows if e)
    assert any("ScenarioError" in e and "no region may receive" in e for e in errors)
    assert any("horizon" in e and "soon" in e for e in errors)

    # A re-run retries only the failed tasks, and their new failures replace the old rows.
    status, again = _finish(_start(_command(sweep, store, "--scheduler", dask_cluster)))
    assert status == 1
    assert (again["skipped"], again["failed"]) == (2, 2)
    assert sorted(s for _, s, _ in _rows(store)) == ["complete", "complete", "failed", "failed"]


def test_readers_work_while_a_sweep_writes(tmp_path: Path, dask_cluster: str) -> None:
    sweep = _sweep_file(
        tmp_path,
        "samples: 10\ngrid:\n  horizon.end: [2026, 2027, 2028, 2029]\nseeds: [0, 1, 2, 3, 4, 5]\n",
    )
    store = tmp_path / "runs.duckdb"
    total = 24
    reader = RunStore(store, timeout=30)
    seen: list[int] = []
    with Client(dask_cluster, timeout="30s") as client:
        # The worker pauses after its first task: the sweep is then mid-way for as long as the test wants.
        client.register_plugin(dask_faults.PauseAfterFirst())
        proc = _start(_command(sweep, store, "--scheduler", dask_cluster))
        try:

            def stored() -> bool:
                seen.append(_complete(reader))
                return seen[-1] >= 1

            _until(stored, "a first stored result", proc)
            first = seen[-1]
            # The CLI reader, a process of its own, while the sweep holds the store mid-way.
            listed = subprocess.run(
                [sys.executable, "-m", "flopgrid", "runs", "list", "--store", str(store), "--json"],
                env=ENV,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert listed.returncode == 0, listed.stderr
            listing = len(json.loads(listed.stdout))
            seen.append(_complete(reader))
            assert proc.poll() is None, "the sweep ended while its worker was paused"
            client.unregister_worker_plugin(dask_faults.PauseAfterFirst.name)
            client.run(dask_faults.resume)
            while proc.poll() is None:
                seen.append(_complete(reader))
            status, report = _finish(proc, timeout=DEADLINE)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert status == 0 and report["ran"] == total
    assert seen == sorted(seen), "a reader saw runs disappear"
    assert 0 < first < total and 0 < listing < total
    assert _complete(reader) == total


def test_a_worker_killed_mid_task_is_replaced_and_the_task_retried(tmp_path: Path, dask_cluster: str) -> None:
    sweep = _sweep_file(tmp_path, "samples: 400\ngrid:\n  horizon.end: [2026, 2027, 2028, 2029]\n")
    store = tmp_path / "runs.duckdb"
    marker = tmp_path / "killed"
    with Client(dask_cluster, timeout="30s") as client:
        client.wait_for_workers(1, timeout=60)
        old_pid = next(iter(client.run(os.getpid).values()))
        # The worker kills itself as the first flopgrid task starts executing: mid-task, by construction.
        client.register_plugin(dask_faults.KillOnceOnStart(marker))
        try:
            status, report = _finish(_start(_command(sweep, store, "--scheduler", dask_cluster)), DEADLINE)
        finally:
            client.unregister_worker_plugin(dask_faults.KillOnceOnStart.name)
        assert marker.exists(), "no task started on the worker"
        killed = marker.read_text(encoding="utf-8")
        assert status == 0 and (report["ran"], report["failed"]) == (4, 0)
        # The scheduler's own record: the killed task was sent to a worker twice.
        story = client.story(killed)
        assert sum(1 for event in story if event[2] == "processing") >= 2
        client.wait_for_workers(1, timeout=60)
        new_pid = next(iter(client.run(os.getpid).values()))
    assert new_pid != old_pid
    rows = _rows(store)
    assert len(rows) == 4 and len({k for k, _, _ in rows}) == 4
    assert {s for _, s, _ in rows} == {"complete"}
    assert killed.split("-", 1)[1].rsplit("-", 1)[0] in {k for k, _, _ in rows}
