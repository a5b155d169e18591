"""Sweep throughput on Dask distributed: tasks per second with 1 and 2 workers, scaling, store bytes.

    .venv/bin/python benchmarks/bench_sweep.py                      # 2,000 simulate + 200 plan tasks
    .venv/bin/python benchmarks/bench_sweep.py --tasks 400 --plan-tasks 40   # a quicker look

Each configuration gets a fresh store and a LocalCluster (one thread per worker process) that is
warmed up (flopgrid imported, one task run) before the clock starts, so the figures are steady-state
throughput of the whole path: client → scheduler → worker (simulate or plan, encode) → client →
DuckDB (one transaction per batch). Store bytes per run are the file size after the sweep divided by
the runs stored.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from distributed import Client, LocalCluster

from flopgrid.scenario import load_scenario
from flopgrid.store import RunStore
from flopgrid.sweep import Sweep, Task, run_sweep

SIMULATE_BASE = {
    "name": "bench-simulate",
    "horizon": {"start": 2025, "end": 2030},
    "existing_industry": False,
    "builds": {
        "datacentres": [{"region": "US", "it_power": "100 MW", "start": 2025}],
        "purchases": [{"accelerator": "H100", "region": "US", "quantity": 10000, "year": 2026}],
    },
}


def _simulate_tasks(n: int) -> list[Task]:
    """n distinct tasks: campus count × purchase size × seed (each a different scenario or seed)."""
    tasks = []
    for i in range(n):
        data = {
            **SIMULATE_BASE,
            "builds": {
                "datacentres": [{"region": "US", "it_power": "100 MW", "start": 2025, "count": 1 + i % 10}],
                "purchases": [
                    {
                        "accelerator": "H100",
                        "region": "US",
                        "quantity": 1000 * (1 + (i // 10) % 20),
                        "year": 2026,
                    }
                ],
            },
        }
        tasks.append(
            Task(
                i,
                {"count": 1 + i % 10, "quantity": 1000 * (1 + (i // 10) % 20)},
                data,
                "simulate",
                i // 200,
                1,
            )
        )
    return tasks


def _plan_tasks(n: int) -> list[Task]:
    """n planner tasks: the shipped 100M-H100e target scaled from 20% to 100%."""
    base = load_scenario("target-100m-h100e-2030").model_dump(mode="json")
    tasks = []
    for i in range(n):
        target = 20e6 + 80e6 * i / max(n - 1, 1)
        data = {**base, "planner": {**base["planner"], "target": {2030: f"{target:.6g} H100e"}}}
        tasks.append(Task(i, {"target": target}, data, "plan", 0, 1))
    return tasks


def _measure(tasks: list[Task], workers: int, folder: Path, label: str) -> dict[str, float]:
    store = RunStore(folder / f"{label}-{workers}.duckdb")
    sweep = Sweep(f"bench-{label}", "bench", list(tasks[0].values), tasks, ["h100e_end"])
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        # Warm-up: import flopgrid and run one task on every worker, off the clock.
        from flopgrid.sweep import execute

        client.run(lambda: __import__("flopgrid.sweep"))
        warm = [
            client.submit(execute, tasks[k % len(tasks)], "warm", pure=False, workers=[w])
            for k, w in enumerate(client.scheduler_info()["workers"])
        ]
        client.gather(warm)
        started = time.perf_counter()
        report = run_sweep(sweep, store, scheduler=cluster.scheduler_address)
        seconds = time.perf_counter() - started
    stats = store.stats()
    assert report.failed == 0, report.errors[:3]
    assert stats["complete"] == len({t.index for t in tasks}) or stats["complete"] == report.tasks
    return {
        "tasks": report.tasks,
        "seconds": seconds,
        "rate": report.tasks / seconds,
        "bytes_per_run": stats["bytes"] / max(stats["complete"], 1),
        "values_per_run": stats["values"] / max(stats["complete"], 1),
    }


def _writer_ceiling(tasks: list[Task], folder: Path, batch: int = 20) -> dict[str, float]:
    """The single writer alone: runs per second that the client can store, and per-task work that
    does not depend on the cluster (engine, encode), measured in this process."""
    from flopgrid.sweep import execute

    records = [execute(task, "ceiling") for task in tasks]
    engine = sum(r.timings[tasks[0].engine] for r in records if r.timings) / len(records)
    encode = sum(r.timings["encode"] for r in records if r.timings) / len(records)
    store = RunStore(folder / "ceiling.duckdb")
    started = time.perf_counter()
    for start in range(0, len(records), batch):
        store.write(records[start : start + batch])
    seconds = time.perf_counter() - started
    return {"write_rate": len(records) / seconds, "engine_s": engine, "encode_s": encode}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=2000, help="simulate tasks (default 2000)")
    parser.add_argument("--plan-tasks", type=int, default=200, help="plan tasks (default 200; 0 to skip)")
    parser.add_argument("--ceiling-only", action="store_true", help="only the writer's ceiling (no cluster)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at start)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        suites: list[tuple[str, list[Task]]] = []
        if args.tasks and not args.ceiling_only:
            suites.append(("simulate", _simulate_tasks(args.tasks)))
        if args.plan_tasks and not args.ceiling_only:
            suites.append(("plan", _plan_tasks(args.plan_tasks)))
        for label, tasks in suites:
            one = _measure(tasks, 1, folder, label)
            two = _measure(tasks, 2, folder, label)
            print(
                f"{label:8s} {len(tasks):5d} tasks"
                f" | 1 worker {one['rate']:7.2f} tasks/s ({one['seconds']:6.1f} s)"
                f" | 2 workers {two['rate']:7.2f} tasks/s ({two['seconds']:6.1f} s)"
                f" | scaling {two['rate'] / one['rate']:.2f}x"
                f" | store {one['bytes_per_run'] / 1024:.0f} KiB/run, {one['values_per_run']:.0f} values/run"
            )
        if not args.tasks:
            return
        ceiling = _writer_ceiling(_simulate_tasks(min(args.tasks, 200)), folder)
        print(
            f"client writer alone: {ceiling['write_rate']:.0f} runs/s in batches of 20"
            f" | per simulate task: engine {1000 * ceiling['engine_s']:.0f} ms,"
            f" encode + totals {1000 * ceiling['encode_s']:.0f} ms"
        )
    print(f"load average at end {os.getloadavg()[0]:.1f} (the machine is shared: figures vary with it)")


if __name__ == "__main__":
    main()
