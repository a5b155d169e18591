"""Load test of the web API on 127.0.0.1: concurrent clients against the simulate and library endpoints.

The server runs in its own process (uvicorn, one worker, recording runs into a temporary DuckDB store
as ``flopgrid serve`` does); the clients are asyncio tasks with httpx in this process. Two phases, side
by side:

- ``dashboard``: what a room of analysts does — deterministic simulate requests with charts, each an
  edit drawn from 20 campus sizes on two scenarios (repeated edits are served from the results cache),
  mixed with library listings and tables;
- ``uncached``: every simulate request is a scenario never seen before (a random campus size), so
  each one runs the simulator: the worst case.

Targets (issue #7): p99 ≤ 1 s and no errors.

    .venv/bin/python benchmarks/bench_web.py [--clients 50] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np

SERVER = """
import sys, uvicorn
from flopgrid.web import Settings, create_app
store = sys.argv[2] if len(sys.argv) > 2 else None
uvicorn.run(create_app(Settings(store_path=store, record=store is not None)), host="127.0.0.1",
            port=int(sys.argv[1]), log_level="warning")
"""
TABLES = ("accelerators", "fabs", "power_sources", "regions")
SIZES = [round(0.5 + 0.5 * k, 1) for k in range(20)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request_for(phase: str, rng: random.Random) -> tuple[str, str, str, dict[str, object] | None]:
    """(label, method, path, json body) of the next request of a phase."""
    if phase == "uncached":
        body = {
            "scenario": "seed-7t",
            "assumptions": {"campus_gw": round(rng.uniform(0.5, 10), 6)},
            "charts": True,
        }
        return "simulate", "POST", "/api/simulate", body
    draw = rng.random()
    if draw < 0.5:
        scenario = rng.choice(["seed-7t", "hundreds-of-billions"])
        body = {"scenario": scenario, "assumptions": {"campus_gw": rng.choice(SIZES)}, "charts": True}
        return "simulate", "POST", "/api/simulate", body
    if draw < 0.75:
        return "library", "GET", f"/api/library/{rng.choice(TABLES)}", None
    return "library", "GET", "/api/library", None


async def client(
    url: str,
    phase: str,
    deadline: float,
    seed: int,
    latencies: dict[str, list[float]],
    errors: dict[str, int],
) -> None:
    """One client: one keep-alive connection, the next request as soon as the last is answered."""
    rng = random.Random(seed)
    # A client (and connection pool) of its own: one pool shared by 50 tasks costs the load generator
    # more CPU than the server spends answering.
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        while time.perf_counter() < deadline:
            label, method, path, body = request_for(phase, rng)
            started = time.perf_counter()
            try:
                response = await http.request(method, path, json=body)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies[label].append(time.perf_counter() - started)
            if not ok:
                errors[label] += 1


async def run_phase(url: str, phase: str, clients: int, seconds: float) -> dict[str, dict[str, float]]:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(client(url, phase, deadline, k, latencies, errors) for k in range(clients)))
    elapsed = time.perf_counter() - started
    out = {}
    everything = [x for values in latencies.values() for x in values]
    for label, values in [*sorted(latencies.items()), ("all", everything)]:
        array = np.array(values) * 1000
        out[label] = {
            "requests": float(len(array)),
            "rps": len(array) / elapsed,
            "p50_ms": float(np.percentile(array, 50)),
            "p99_ms": float(np.percentile(array, 99)),
            "errors": float(sum(errors.values()) if label == "all" else errors[label]),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--no-store", action="store_true", help="Serve without recording runs.")
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "runs.duckdb"
        command = [sys.executable, "-c", SERVER, str(port)] + ([] if args.no_store else [str(store)])
        server = subprocess.Popen(command)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            # Warm the process (library, scenarios, first simulate) as a running server would be.
            httpx.post(url + "/api/simulate", json={"charts": True}, timeout=60)
            results = {}
            for phase in ("dashboard", "uncached"):
                results[phase] = asyncio.run(run_phase(url, phase, args.clients, args.seconds))
            recorder = httpx.get(url + "/api/health", timeout=10).json()["capabilities"]["recorder"]
            report(args, results, recorder)
        finally:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def report(
    args: argparse.Namespace, results: dict[str, dict[str, dict[str, float]]], recorder: object
) -> None:
    load = os.getloadavg()[0]
    store = "no run store" if args.no_store else "runs recorded in a DuckDB store"
    print(f"bench_web: {args.clients} clients × {args.seconds:g} s per phase, 127.0.0.1, one uvicorn worker,")
    print(f"  {store}")
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} at the end (shared with other work)")
    header = ("phase", "endpoint", "requests", "req/s", "p50 ms", "p99 ms", "errors")
    print("{:<10} {:<9} {:>9} {:>8} {:>8} {:>8} {:>7}".format(*header))
    for phase, rows in results.items():
        for label, row in rows.items():
            print(
                f"{phase:<10} {label:<9} {row['requests']:>9.0f} {row['rps']:>8.1f} {row['p50_ms']:>8.1f} "
                f"{row['p99_ms']:>8.1f} {row['errors']:>7.0f}"
            )
    ratio = results["uncached"]["simulate"]["p99_ms"] / results["dashboard"]["simulate"]["p99_ms"]
    print(f"uncached / dashboard simulate p99: {ratio:.1f}×")
    print(f"run store recorder after the test: {recorder}")
    for phase, rows in results.items():
        verdict = "meets" if rows["all"]["p99_ms"] <= 1000 and rows["all"]["errors"] == 0 else "MISSES"
        print(f"{phase}: {verdict} the target (p99 ≤ 1 s, 0 errors)")


if __name__ == "__main__":
    main()
