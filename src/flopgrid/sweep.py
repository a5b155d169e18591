"""Sweeps: many variants of one scenario, run on Dask distributed, every result kept in the run store.

A sweep is a base scenario and a set of variants: a grid (every combination of the values given per
key), a list of cases (named sets of overrides), or a Latin hypercube over numeric ranges. Keys are
dotted paths into the scenario file, e.g. ``horizon.end`` or ``builds.datacentres[0].count`` or
``parameters.accelerators.GB300.price``.

The client process is the only writer of the store: workers run the tasks and send back their
encoded results; the client writes them in batches, each one transaction. A task whose key (scenario
hash, engine, seed, samples, code version) is already stored complete is not run again, so a sweep
that was killed is finished by running it again.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import math
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from flopgrid.errors import FlopgridError
from flopgrid.scenario import Scenario, load_scenario, shipped_scenarios
from flopgrid.store import (
    ENGINES,
    RunRecord,
    RunStore,
    code_version,
    failure_record,
    run_record,
    task_key,
)

#: Totals shown in the end-of-sweep sensitivity table unless the sweep file names its own.
DEFAULT_OUTPUTS = ("h100e_end", "it_power_end", "energy", "emissions", "capex", "npv", "lcoc_per_h100e_hour")
#: Keys a sweep file may have; a YAML file with none of ``base``/``grid``/``cases``/``lhs`` is a scenario.
SWEEP_KEYS = {"name", "description", "base", "engine", "samples", "seeds", "grid", "cases", "lhs", "outputs"}
#: Seconds between the client's writes to the store (readers get the file in between); each write
#: opens and checkpoints the file (0.1–0.2 s), so shorter would make the one writer the bottleneck.
BATCH_SECONDS = 2.0
#: Most runs written in one transaction.
BATCH_RUNS = 200
_PART = re.compile(r"([A-Za-z0-9_\-*]+)((?:\[\d+\])*)")
_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d[\d_,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Task:
    """One variant: the scenario content after the overrides, and how to run it."""

    index: int
    values: dict[str, Any]  # swept key → value given (as written, or the sampled number)
    data: dict[str, Any]
    engine: str
    seed: int
    samples: int
    # The client's code version: it keys the results, so the worker must not compute its own (a
    # worker that imported the package later, after an edit, would key results the client never asks for).
    version: str = field(default_factory=code_version)


@dataclass
class Sweep:
    name: str
    file: str
    keys: list[str]
    tasks: list[Task]
    outputs: list[str]
    numeric: dict[str, bool] = field(default_factory=dict)  # key → values are numbers (LHS)


# ------------------------------------------------------------------------------------------- loading


def _fail(file: str, where: str, message: str) -> FlopgridError:
    return FlopgridError(f"{file}: {where}: {message}")


def _path(key: str, file: str) -> list[str | int]:
    tokens: list[str | int] = []
    for part in key.split("."):
        match = _PART.fullmatch(part)
        if match is None:
            raise _fail(file, key, "not a key path; write e.g. horizon.end or builds.fabs[0].count")
        tokens.append(match.group(1))
        tokens.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    return tokens


def set_path(data: dict[str, Any], key: str, value: Any, file: str = "<sweep>") -> None:
    """Set ``key`` (``a.b[0].c``) in nested scenario data, creating mappings on the way."""
    tokens = _path(key, file)
    node: Any = data
    for k, token in enumerate(tokens):
        last = k == len(tokens) - 1
        if isinstance(token, int):
            if not isinstance(node, list) or token >= len(node):
                size = len(node) if isinstance(node, list) else 0
                raise _fail(file, key, f"index [{token}] is beyond the {size} item(s) in the base scenario")
            if last:
                node[token] = value
            else:
                node = node[token]
            continue
        if not isinstance(node, dict):
            raise _fail(file, key, f"{token!r} is inside a value that is not a mapping in the base scenario")
        if last:
            node[token] = value
        else:
            node = node.setdefault(token, {})


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise FlopgridError(f"{path}: malformed YAML: {exc}") from None


def base_data(source: str, relative_to: Path | None = None) -> tuple[dict[str, Any], str]:
    """A scenario's raw content (file or built-in name) and a label for messages."""
    path = Path(source)
    if not path.is_absolute() and relative_to is not None and (relative_to / path).exists():
        path = relative_to / path
    if path.exists():
        data = _read_yaml(path)
        label = str(path)
    elif source in shipped_scenarios():
        text = resources.files("flopgrid.scenarios").joinpath(f"{source}.yaml").read_text("utf-8")
        data, label = yaml.safe_load(text), f"{source}.yaml (built in)"
    else:
        raise FlopgridError(
            f"{source}: no such scenario file or built-in scenario ({', '.join(shipped_scenarios())})"
        )
    if not isinstance(data, dict):
        raise FlopgridError(f"{label}: a scenario must be a YAML mapping")
    return data, label


def parse_vary(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["horizon.end=2030,2035"]`` → ``{"horizon.end": [2030, 2035]}`` (values read as YAML)."""
    out: dict[str, list[Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or not text.strip():
            raise FlopgridError(
                f"--vary {item!r}: write key=value1,value2,… e.g. --vary horizon.end=2030,2035"
            )
        values = []
        for part in text.split(","):
            try:
                values.append(yaml.safe_load(part.strip()))
            except yaml.YAMLError:
                values.append(part.strip())
        out[key.strip()] = values
    return out


def _lhs(spec: Any, file: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Latin hypercube variants: ``{n: 20, seed: 1, ranges: {key: [low, high]}}``."""
    from scipy.stats import qmc

    if not isinstance(spec, dict) or not isinstance(spec.get("ranges"), dict) or not spec["ranges"]:
        raise _fail(file, "lhs", "give n and ranges, e.g. lhs: {n: 20, ranges: {horizon.end: [2030, 2040]}}")
    n = spec.get("n")
    if not isinstance(n, int) or n < 1:
        raise _fail(file, "lhs.n", f"the number of points must be a whole number ≥ 1, got {n!r}")
    seed = spec.get("seed", 0)
    keys = list(spec["ranges"])
    bounds: list[tuple[float, float, str, bool]] = []
    for key in keys:
        pair = spec["ranges"][key]
        if not isinstance(pair, list) or len(pair) != 2:
            raise _fail(
                file, f"lhs.ranges.{key}", f'give [low, high], e.g. ["30000 USD", "50000 USD"], got {pair!r}'
            )
        first, second = (_NUMBER_UNIT.match(str(v)) for v in pair)
        if first is None or second is None:
            raise _fail(
                file,
                f"lhs.ranges.{key}",
                f'give numbers with a unit, e.g. ["30000 USD", "50000 USD"], got {pair!r}',
            )
        parsed = (first, second)
        units = {first.group(2), second.group(2)}
        if len(units) != 1:
            raise _fail(file, f"lhs.ranges.{key}", f"low and high must have the same unit, got {pair!r}")
        low, high = (float(m.group(1).replace(",", "").replace("_", "")) for m in parsed)
        if not low < high:
            raise _fail(file, f"lhs.ranges.{key}", f"low must be below high, got {pair!r}")
        whole = all(isinstance(v, int) for v in pair)
        bounds.append((low, high, units.pop(), whole))
    points = qmc.LatinHypercube(d=len(keys), seed=np.random.default_rng(seed)).random(n)
    variants: list[dict[str, Any]] = []
    for row in points:
        values: dict[str, Any] = {}
        for key, u, (low, high, unit, whole) in zip(keys, row, bounds, strict=True):
            x = low + u * (high - low)
            values[key] = round(x) if whole else (f"{x:.6g} {unit}" if unit else float(f"{x:.6g}"))
        variants.append(values)
    return variants, {key: True for key in keys}


def _grid(spec: Any, file: str, where: str) -> list[dict[str, Any]]:
    if not isinstance(spec, dict) or not spec:
        raise _fail(file, where, "give keys with lists of values, e.g. grid: {horizon.end: [2030, 2035]}")
    for key, values in spec.items():
        if not isinstance(values, list) or not values:
            raise _fail(file, f"{where}.{key}", f"give a list of values, got {values!r}")
    keys = list(spec)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(spec[k] for k in keys))]


def _cases(spec: Any, file: str) -> list[dict[str, Any]]:
    if not isinstance(spec, list) or not spec:
        raise _fail(file, "cases", "give a list of override mappings, e.g. cases: [{horizon.end: 2030}]")
    for i, case in enumerate(spec):
        if not isinstance(case, dict) or not case:
            raise _fail(file, f"cases[{i}]", f"give a mapping of key: value overrides, got {case!r}")
    return [dict(case) for case in spec]


def load_sweep(
    source: str | Path,
    vary: Sequence[str] = (),
    *,
    engine: str | None = None,
    samples: int | None = None,
    seeds: Sequence[int] | None = None,
) -> Sweep:
    """Read a sweep file (or a scenario file with ``vary``) into its tasks.

    Examples
    --------
    >>> sweep = load_sweep("reference", ["horizon.end=2030,2035"])
    >>> len(sweep.tasks)
    2
    """
    path = Path(source)
    spec: dict[str, Any] = {}
    if path.exists():
        loaded = _read_yaml(path)
        if not isinstance(loaded, dict):
            raise FlopgridError(f"{path}: a sweep file must be a YAML mapping")
        is_sweep = bool({"base", "grid", "cases", "lhs"} & set(loaded))
        spec = loaded if is_sweep else {"base": str(path)}
        file = str(path)
    else:
        spec, file = {"base": str(source)}, str(source)
    unknown = set(spec) - SWEEP_KEYS
    if unknown:
        raise _fail(
            file, sorted(unknown)[0], f"unknown sweep key; expected some of {', '.join(sorted(SWEEP_KEYS))}"
        )
    if sum(k in spec for k in ("grid", "cases", "lhs")) > 1:
        raise _fail(file, "grid/cases/lhs", "give one of grid, cases or lhs (add more keys with --vary)")
    base, _ = base_data(str(spec.get("base", "seed-7t")), path.parent if path.exists() else None)
    engine = engine or str(spec.get("engine", "simulate"))
    if engine not in ENGINES:
        raise _fail(file, "engine", f"expected one of {', '.join(ENGINES)}, got {engine!r}")
    samples = samples if samples is not None else spec.get("samples", 1)
    if not isinstance(samples, int) or samples < 1:
        raise _fail(file, "samples", f"expected a whole number ≥ 1, got {samples!r}")
    seed_list = list(seeds) if seeds is not None else spec.get("seeds", [0])
    if not isinstance(seed_list, list) or not seed_list or not all(isinstance(s, int) for s in seed_list):
        raise _fail(file, "seeds", f"expected a list of whole numbers, got {seed_list!r}")
    outputs = spec.get("outputs", list(DEFAULT_OUTPUTS))
    if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
        raise _fail(file, "outputs", f"expected a list of totals names, got {outputs!r}")
    numeric: dict[str, bool] = {}
    if "grid" in spec:
        variants = _grid(spec["grid"], file, "grid")
    elif "cases" in spec:
        variants = _cases(spec["cases"], file)
    elif "lhs" in spec:
        variants, numeric = _lhs(spec["lhs"], file)
    else:
        variants = [{}]
    extra = parse_vary(vary)
    if extra:
        variants = [{**v, **w} for v in variants for w in _grid(extra, file, "--vary")]
    if variants == [{}]:
        raise FlopgridError(
            f"{file}: nothing to sweep; give grid, cases or lhs in a sweep file, or --vary key=a,b"
        )
    keys = list(dict.fromkeys(k for v in variants for k in v))
    for key in keys:
        _path(key, file)
    tasks: list[Task] = []
    for values in variants:
        for seed in seed_list:
            data = _deepcopy(base)
            for key, value in values.items():
                set_path(data, key, value, file)
            tasks.append(Task(len(tasks), values, data, engine, seed, samples))
    name = str(spec.get("name") or Path(file).stem)
    return Sweep(name, file, keys, tasks, outputs, numeric)


def _deepcopy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _deepcopy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deepcopy(v) for v in data]
    return data


# --------------------------------------------------------------------------------------------- tasks


def execute(task: Task, sweep: str) -> RunRecord:
    """Run one task on a worker; returns its encoded results (the client writes them)."""
    started = time.perf_counter()
    scenario = load_scenario(task.data)
    loaded = time.perf_counter()
    if task.engine == "plan":
        # The planner is optional here: sweeps of engine "plan" need flopgrid.plan to be installed.
        planner = importlib.import_module("flopgrid.plan")
        results = planner.plan(scenario)
    else:
        from flopgrid.simulate import simulate

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
            record = failure_record(
                task.data,
                engine=task.engine,
                seed=task.seed,
                samples=task.samples,
                error=message,
                parameters=_plain(task.values),
                sweep=sweep.name,
            )
            record.version = task.version
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
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
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
                        pending.append(
                            failure_record(
                                task.data,
                                engine=task.engine,
                                seed=task.seed,
                                samples=task.samples,
                                error=message,
                                parameters=_plain(task.values),
                                sweep=sweep.name,
                                scenario_hash=keys[task.index].split(":", 1)[0],
                            )
                        )
                        pending[-1].version = task.version
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
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    match = _NUMBER_UNIT.match(str(value))
    return float(match.group(1).replace(",", "").replace("_", "")) if match else None


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
