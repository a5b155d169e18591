"""A background Monte Carlo job through the API against the same samples in the CLI (issue 17).

In one run, ``--repeat`` times each, side by side:

- ``cli``: what ``flopgrid run SCENARIO -n N`` computes after its start-up, in this process (load the
  scenario, simulate, per-year summary and totals);
- ``cli process``: the command itself, ``python -m flopgrid run SCENARIO -n N --no-record`` (start-up
  included);
- ``api job``: a real server (uvicorn, one worker, with a temporary run store, as ``flopgrid
  serve``) started in its own process; the time from ``POST /api/jobs`` until the job's status is
  ``done``, polled every 50 ms as a client would, and until its charts (``GET /api/jobs/ID/charts``,
  what the dashboard fetches next) are in.

The three alternate run by run (the machine is shared: a change of load then weighs on each side). The
job's status messages are printed with the time they were first seen, so a phase where the job
sits without saying what it does shows up. Target: the API job at most 1.5× the CLI.

    .venv/bin/python benchmarks/bench_web_job.py [-n 5000] [-r 3] [--scenario seed-7t] [--record]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

SERVER = """
import sys, uvicorn
from flopgrid.web import Settings, create_app
uvicorn.run(create_app(Settings(store_path=sys.argv[2])), host="127.0.0.1", port=int(sys.argv[1]),
            log_level="warning")
"""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli_in_process(scenario: str, samples: int) -> float:
    """Seconds for what ``flopgrid run`` does after start-up (no store: it keeps at most 1,000 samples)."""
    from flopgrid.results import Results  # noqa: F401  (registers the ``flopgrid`` accessor)
    from flopgrid.scenario import load_scenario
    from flopgrid.simulate import simulate

    started = time.perf_counter()
    results = simulate(load_scenario(scenario), samples=samples, seed=0)
    results.flopgrid.summary()
    results.flopgrid.totals()
    return time.perf_counter() - started


def cli_process(scenario: str, samples: int) -> float:
    """Seconds of the command ``flopgrid run`` in a fresh interpreter (start-up included)."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "flopgrid", "run", scenario, "-n", str(samples), "--no-record"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def api_job(
    url: str, scenario: str, samples: int, record: bool = False
) -> tuple[float, float, list[tuple[float, str]]]:
    """(seconds until done, seconds until the charts are in, status messages with their times)."""
    messages: list[tuple[float, str]] = []
    with httpx.Client(base_url=url, timeout=120) as http:
        started = time.perf_counter()
        body: dict[str, object] = {"kind": "montecarlo", "scenario": scenario, "samples": samples}
        if record:  # only when asked: servers before issue 17 had no such field (and recorded all)
            body["record"] = True
        job = http.post("/api/jobs", json=body)
        job.raise_for_status()
        job_id = job.json()["id"]
        while True:
            status = http.get(f"/api/jobs/{job_id}").json()
            if not messages or messages[-1][1] != status["message"]:
                messages.append((time.perf_counter() - started, status["message"]))
            if status["status"] not in ("queued", "running"):
                break
            time.sleep(0.05)
        done = time.perf_counter() - started
        if status["status"] != "done":
            raise SystemExit(f"the job ended {status['status']}: {status['message']}")
        http.get(f"/api/jobs/{job_id}/charts").raise_for_status()
        charted = time.perf_counter() - started
    return done, charted, messages


def start_server(folder: str) -> tuple[subprocess.Popen[bytes], str]:
    """A uvicorn server in its own process and its URL, once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    store = str(Path(folder) / "runs.duckdb")
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), store])
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise SystemExit("the server did not start")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--samples", type=int, default=5000)
    parser.add_argument("-r", "--repeat", type=int, default=3)
    parser.add_argument("--scenario", default="seed-7t")
    parser.add_argument(
        "--record", action="store_true", help="The job asks to be recorded (runs of ≤ 1,000 samples are)."
    )
    args = parser.parse_args()
    # Warm this process's imports and caches, as the server's are warm after its first request.
    cli_in_process(args.scenario, 100)
    cli: list[float] = []
    process: list[float] = []
    jobs: list[tuple[float, float, list[tuple[float, str]]]] = []
    with tempfile.TemporaryDirectory() as folder:
        server, url = start_server(folder)
        try:
            httpx.post(url + "/api/simulate", json={"scenario": args.scenario, "samples": 100}, timeout=120)
            # Interleaved, so that a change of the machine's load (it is shared) weighs on both sides.
            for _ in range(args.repeat):
                cli.append(cli_in_process(args.scenario, args.samples))
                jobs.append(api_job(url, args.scenario, args.samples, args.record))
                process.append(cli_process(args.scenario, args.samples))
        finally:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    done = [j[0] for j in jobs]
    charted = [j[1] for j in jobs]
    recorded = ", the job asks to be recorded" if args.record else ""
    print(f"bench_web_job: {args.scenario}, {args.samples:,} samples, {args.repeat} runs each{recorded}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end (shared)")
    print(f"{'what':<28} {'best s':>8} {'median s':>9}")
    for label, values in (
        ("cli (in process)", cli),
        ("cli process (with start-up)", process),
        ("api job until done", done),
        ("api job until charts", charted),
    ):
        print(f"{label:<28} {min(values):>8.2f} {statistics.median(values):>9.2f}")
    ratio = statistics.median(charted) / statistics.median(cli)
    print(f"api job (with charts) / cli in process, medians: {ratio:.2f}×")
    pairs = [job / alone for job, alone in zip(charted, cli, strict=True)]
    print(f"api job (with charts) / cli in process, run by run: {', '.join(f'{r:.2f}×' for r in pairs)}")
    with_startup = statistics.median(charted) / statistics.median(process)
    print(f"api job (with charts) / cli process, medians: {with_startup:.2f}×")
    print("status messages of the last job (seconds after POST):")
    for at, message in jobs[-1][2]:
        print(f"  {at:7.2f}  {message}")
    # The issue timed the command a user types (`flopgrid run seed-7t -n 5000`: 5.4 s, against 26 s in the
    # dashboard); the in-process figure is the stricter reading (the command's computation alone).
    for what, value in (
        ("the cli command, as the issue timed it", with_startup),
        ("the cli in process", ratio),
    ):
        verdict = "meets" if value <= 1.5 else "MISSES"
        print(f"{verdict} the target against {what} (api job with charts ≤ 1.5×): {value:.2f}×")


if __name__ == "__main__":
    main()
