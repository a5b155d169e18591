"""Running a sweep on Dask distributed: the tasks not stored yet go to the workers, their results come
back encoded and the client, the store's only writer, writes them in batches; then the sensitivity
table says which swept key moved which output most.

The client process is the only writer of the store: workers run the tasks and send back their
encoded results; the client writes them in batches, each one transaction. A task whose key (scenario
hash, engine, seed, samples, code version) is already stored complete is not run again, so a sweep
that was killed is finished by running it again.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flopgrid.errors import FlopgridError, UnitError
from flopgrid.plan import plan
from flopgrid.scenario import Scenario, load_scenario
from flopgrid.simulate import simulate
from flopgrid.store import RunRecord, RunStore, failure_record, run_record, task_key
from flopgrid.sweep.spec import Sweep, Task
from flopgrid.units import read_quantity

#: Seconds between the client's writes to the store (readers get the file in between); each write
#: opens and checkpoints the file (0.1–0.2 s), so shorter would make the one writer the bottleneck.
BATCH_SECONDS = 2.0
#: Most runs written in one transaction.
BATCH_RUNS = 200


# --------------------------------------------------------------------------------------------- tasks


def execute(task: Task, sweep: str) -> RunRecord:
    """Run one task on a worker; returns its encoded results (the client writes them)."""
    started = time.perf_counter()
    scenario = load_scenario(task.data)
    loaded = time.perf_counter()
    if task.engine == "plan":
        results = plan(scenario)
    else:
        results = simulate(scenario, samples=task.samples, seed=task.seed)
    ran = time.perf_counter()
    record = run_record(
        results,
        scenario,
        engine=task.engine,
        seed=task.seed,
        samples=task.samples,
        parameters=_plain(task.values),
        sweep=sweep,
    )
    record.version = task.version
    record.timings = {
        "load": loaded - started,
        task.engine: ran - loaded,
        "encode": time.perf_counter() - ran,
    }
    return record


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, int | float | str | bool) or v is None else str(v) for k, v in values.items()
    }


def task_failure(task: Task, sweep: Sweep, error: str, scenario_hash: str | None = None) -> RunRecord:
    """The failure record of a sweep task, under the task's own code version (so a re-run finds it)."""
    record = failure_record(
        task.data,
        engine=task.engine,
        seed=task.seed,
        samples=task.samples,
        error=error,
        parameters=_plain(task.values),
        sweep=sweep.name,
        scenario_hash=scenario_hash,
    )
    record.version = task.version
    return record


def task_keys(sweep: Sweep) -> tuple[dict[int, str], list[RunRecord]]:
    """Each task's store key, and failure records for tasks whose scenario does not validate.

    Only the schema is checked here (fast, on the client); names are checked against the library on
    the worker, where such an error is recorded like any other failure.
    """
    keys: dict[int, str] = {}
    failures: list[RunRecord] = []
    for task in sweep.tasks:
        try:
            scenario = Scenario.model_validate(task.data)
        except ValueError as exc:
            message = f"{sweep.file}: overrides {_plain(task.values)} make an invalid scenario: " + " ".join(
                str(exc).split()
            )
            record = task_failure(task, sweep, message)
            keys[task.index] = record.key
            failures.append(record)
            continue
        keys[task.index] = task_key(
            scenario.content_hash(), task.engine, task.seed, task.samples, task.version
        )
    return keys, failures


# --------------------------------------------------------------------------------------------- runs


@dataclass
class SweepReport:
    """What a sweep did: tasks in all, skipped (already stored), run, failed, and the timings."""

    name: str
    tasks: int
    skipped: int
    ran: int
    failed: int
    seconds: float
    workers: int
    errors: list[str]
    sensitivity: pd.DataFrame
    store: str

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON, for ``flopgrid sweep --json``."""
        return {
            "sweep": self.name,
            "tasks": self.tasks,
            "skipped": self.skipped,
            "ran": self.ran,
            "failed": self.failed,
            "seconds": self.seconds,
            "workers": self.workers,
            "tasks_per_second": self.ran / self.seconds if self.seconds > 0 else None,
            "errors": self.errors,
            "store": self.store,
            "sensitivity": self.sensitivity.reset_index().to_dict(orient="records"),
        }


def _client(scheduler: str | None, workers: int | None) -> tuple[Any, Any]:
    """A Dask client on the given scheduler, or on a LocalCluster of one process per core."""
    import dask
    from distributed import Client, LocalCluster

    # Worker death must be recovered from (the task rescheduled), not reported as the task's failure,
    # unless the same task keeps killing workers.
    dask.config.set({"distributed.scheduler.allowed-failures": 3})
    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise FlopgridError(
                f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc}); start it with "
                "`dask scheduler` and give its tcp://HOST:8786 address"
            ) from None
    n = workers or os.cpu_count() or 1
    if n < 1:
        raise FlopgridError(f"--workers must be at least 1, got {n}")
    # The scheduler serves its HTTP routes (health, metrics) even without a dashboard, on port 8787 by
    # default, and warns "Port 8787 is already in use" into the sweep's output when another cluster or
    # program holds it: ask for any free port on the loopback instead, with no dashboard.
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        silence_logs=50,
    )
    return Client(cluster), cluster  # type: ignore[no-untyped-call]


def run_sweep(
    sweep: Sweep,
    store: RunStore,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_seconds: float = BATCH_SECONDS,
) -> SweepReport:
    """Run a sweep's tasks that are not stored yet, and write each result as it arrives.

    Parameters
    ----------
    sweep
        From :func:`load_sweep`.
    store
        Where results go (the client is its only writer while the sweep runs).
    scheduler
        ``tcp://HOST:8786`` of a running Dask scheduler; None starts a LocalCluster.
    workers
        Worker processes of the LocalCluster (default: one per core).
    progress
        Called as ``progress(done, total)`` after every finished task.
    """
    from distributed import wait

    started = time.perf_counter()
    keys, failures = task_keys(sweep)
    done = store.completed_keys(list(set(keys.values())))
    failed_keys = {r.key for r in failures}
    todo: dict[str, Task] = {}
    for task in sweep.tasks:
        key = keys[task.index]
        if key not in done and key not in failed_keys:
            todo.setdefault(key, task)
    unique = len(set(keys.values()))
    skipped = len({k for k in keys.values() if k in done})
    errors = [r.error or "" for r in failures]
    pending: list[RunRecord] = list(failures)
    finished = skipped + len(failures)
    n_failed = len(failures)
    if progress is not None:
        progress(finished, unique)
    n_workers = 0
    last_write = time.monotonic()

    def flush() -> None:
        nonlocal last_write
        store.write(pending)
        pending.clear()
        last_write = time.monotonic()

    if todo:
        client, cluster = _client(scheduler, workers)
        try:
            n_workers = len(client.scheduler_info().get("workers", {}))
            futures = {
                client.submit(execute, task, sweep.name, key=f"flopgrid-{key}-{sweep.name}", pure=False): task
                for key, task in todo.items()
            }
            waiting: set[Any] = set(futures)
            while waiting:
                # Wait for the next result, but no longer than until the pending batch is due: a result
                # must reach the store within `batch_seconds` even when the next task is slow, or a kill
                # in between would lose it.
                due = None if not pending else max(0.0, batch_seconds - (time.monotonic() - last_write))
                arrived: set[Any] = set()
                with contextlib.suppress(TimeoutError):
                    arrived, waiting = wait(  # type: ignore[no-untyped-call]
                        waiting, timeout=due, return_when="FIRST_COMPLETED"
                    )
                for future in arrived:
                    task = futures.pop(future)
                    if future.status == "error":
                        exc = future.exception()
                        message = f"{type(exc).__name__}: {exc}"
                        errors.append(message)
                        n_failed += 1
                        pending.append(task_failure(task, sweep, message, keys[task.index].split(":", 1)[0]))
                    else:
                        pending.append(future.result())
                    future.release()
                    finished += 1
                    if progress is not None:
                        progress(finished, unique)
                if pending and (time.monotonic() - last_write >= batch_seconds or len(pending) >= BATCH_RUNS):
                    flush()
        finally:
            # Also on Ctrl-C or a lost scheduler: what has arrived is kept, so a re-run does less.
            if pending:
                flush()
            client.close()
            if cluster is not None:
                cluster.close()
    elif pending:
        flush()
    seconds = time.perf_counter() - started
    return SweepReport(
        name=sweep.name,
        tasks=unique,
        skipped=skipped,
        ran=len(todo),
        failed=n_failed,
        seconds=seconds,
        workers=n_workers,
        errors=errors,
        sensitivity=sensitivity(sweep, store, keys),
        store=str(store.path),
    )


# ------------------------------------------------------------------------------------- sensitivity


def _number(value: Any) -> float | None:
    """A swept value as a number in base units (for binning sampled keys), or None."""
    if isinstance(value, bool):
        return None
    try:
        return float(read_quantity(value).to_base_units().magnitude)
    except UnitError:
        return None


def sensitivity(sweep: Sweep, store: RunStore, keys: Mapping[int, str]) -> pd.DataFrame:
    """Which swept key moves which output most.

    For each key and output: the spread of the output's mean across the key's values (for sampled
    keys, across five quantile bins), as a percentage of the output's mean over all runs. It is a
    main effect, one key at a time: interactions between keys are not separated.
    """
    summaries = store.summaries(sorted(set(keys.values())))
    rows = []
    for task in sweep.tasks:
        summary = summaries.get(keys[task.index])
        if summary is None:
            continue
        row: dict[str, Any] = {f"key:{k}": task.values.get(k) for k in sweep.keys}
        for output in sweep.outputs:
            item = summary.get(output)
            value = item.get("value") if isinstance(item, dict) else None
            row[output] = float(value) if isinstance(value, int | float) else math.nan
        rows.append(row)
    columns = [*sweep.outputs, "moved most by"]
    if not rows or not sweep.keys:
        return pd.DataFrame(columns=columns).rename_axis("output")
    frame = pd.DataFrame(rows)
    table = pd.DataFrame(index=pd.Index(sweep.outputs, name="output"), columns=sweep.keys, dtype=float)
    for key in sweep.keys:
        levels = frame[f"key:{key}"]
        numbers = levels.map(_number)
        if sweep.numeric.get(key) and numbers.notna().all() and numbers.nunique() > 5:
            groups = pd.qcut(numbers.astype(float), 5, duplicates="drop")
        else:
            groups = levels.astype(str)
        for output in sweep.outputs:
            values = frame[output]
            scale = abs(float(values.mean()))
            means = values.groupby(groups, observed=True).mean()
            if len(means) < 2 or not math.isfinite(scale) or scale == 0:
                continue
            table.loc[output, key] = 100.0 * float(means.max() - means.min()) / scale
    table.columns = [f"{k} [% of mean]" for k in sweep.keys]
    filled = table.fillna(-1.0)
    table["moved most by"] = [
        sweep.keys[int(np.argmax(filled.loc[o].to_numpy()))] if (filled.loc[o] >= 0).any() else "–"
        for o in sweep.outputs
    ]
    return table
