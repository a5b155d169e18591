"""What identifies a run and what is written for it: code versions, task keys, run ids, and the
records of complete and failed runs (built off the writer: workers can make them)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import xarray as xr

from flopgrid.errors import FlopgridError
from flopgrid.jsonable import jsonable
from flopgrid.library import load_library
from flopgrid.scenario import Scenario, resolve_overrides
from flopgrid.store.codec import Encoded, encode
from flopgrid.store.schema import ENGINES
from flopgrid.version import __version__

# ------------------------------------------------------------------------------------- code version


@functools.cache
def code_version() -> str:
    """The package version plus a hash of the code and data that make results.

    Results are keyed by it, so a sweep re-run after an edit of the model or the data library
    recomputes instead of reusing stale runs. The CLI, the web app and reports do not change results
    and are left out of the hash. ``$FLOPGRID_CODE_VERSION`` replaces it (e.g. with a release tag or
    commit, where the client and the workers of a cluster are known to run the same code).
    """
    pinned = os.environ.get("FLOPGRID_CODE_VERSION")
    if pinned:
        return pinned
    root = resources.files("flopgrid")
    digest = hashlib.sha256()
    base = Path(str(root))
    # What only shows, keeps or schedules results is left out: the faces, the store, sweeps, the
    # charts, the report and the assumptions list cannot change a result.
    skip = {"web", "commands", "store", "sweep", "charts", "report", "__pycache__"}
    files = sorted(
        p
        for p in base.rglob("*")
        if p.is_file()
        and p.suffix in (".py", ".csv", ".yaml", ".yml", ".json")
        and not skip.intersection(p.relative_to(base).parts)
        and p.name not in ("cli.py", "assumptions.py")
    )
    for path in files:
        digest.update(str(path.relative_to(base)).encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:10]}"


def task_key(scenario_hash: str, engine: str, seed: int, samples: int, version: str | None = None) -> str:
    """The identity of a run's inputs: the same key gives the same results."""
    return f"{scenario_hash}:{engine}:{seed}:{samples}:{version or code_version()}"


def raw_hash(data: Mapping[str, Any]) -> str:
    """A hash of a scenario mapping that could not be loaded (so a failed task still has a key)."""
    text = json.dumps(data, sort_keys=True, default=str)
    return "raw-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def new_run_id() -> str:
    """A short, printable, random run id (10 hex digits)."""
    return secrets.token_hex(5)


# ------------------------------------------------------------------------------------------- records


@dataclass
class RunRecord:
    """One run to write: its metadata and, unless it failed, its encoded results."""

    engine: str
    scenario_name: str
    scenario_hash: str
    seed: int
    samples: int
    scenario_json: dict[str, Any] | None
    encoded: Encoded | None = None
    error: str | None = None
    timings: dict[str, float] | None = None
    parameters: dict[str, Any] | None = None
    overrides: list[dict[str, Any]] | None = None
    sweep: str | None = None
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    version: str = field(default_factory=code_version)
    run_id: str = field(default_factory=new_run_id)

    @property
    def key(self) -> str:
        return task_key(self.scenario_hash, self.engine, self.seed, self.samples, self.version)

    @property
    def status(self) -> str:
        return "failed" if self.encoded is None else "complete"


def check_engine(engine: str) -> None:
    """Raise a :class:`FlopgridError` unless ``engine`` is one the store knows."""
    if engine not in ENGINES:
        raise FlopgridError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")


def _overrides(scenario: Scenario) -> list[dict[str, Any]] | None:
    """The scenario's parameter overrides resolved to model units (what the engine really used)."""
    try:
        resolved = resolve_overrides(scenario, load_library())
    except FlopgridError:
        return None
    return [jsonable(dataclasses.asdict(o), keep_nonfinite=True) for o in resolved]


def run_record(
    results: xr.Dataset,
    scenario: Scenario,
    *,
    engine: str,
    seed: int,
    samples: int,
    timings: dict[str, float] | None = None,
    parameters: dict[str, Any] | None = None,
    sweep: str | None = None,
) -> RunRecord:
    """A complete run, ready for :meth:`RunStore.write` (encoding happens here, off the writer)."""
    check_engine(engine)
    return RunRecord(
        engine=engine,
        scenario_name=scenario.name,
        scenario_hash=scenario.content_hash(),
        seed=int(seed),
        samples=int(samples),
        scenario_json=scenario.model_dump(mode="json"),
        encoded=encode(results),
        timings=timings,
        parameters=parameters,
        overrides=_overrides(scenario),
        sweep=sweep,
    )


def failure_record(
    scenario: Scenario | Mapping[str, Any],
    *,
    engine: str,
    seed: int,
    samples: int,
    error: str,
    parameters: dict[str, Any] | None = None,
    sweep: str | None = None,
    timings: dict[str, float] | None = None,
    scenario_hash: str | None = None,
) -> RunRecord:
    """A failed run. ``scenario`` may be the raw mapping when it did not even load; ``scenario_hash``
    then keys it like the task it stands for (so that a re-run retries and replaces it)."""
    check_engine(engine)
    if isinstance(scenario, Scenario):
        name, digest, data = scenario.name, scenario.content_hash(), scenario.model_dump(mode="json")
    else:
        data = dict(scenario)
        name, digest = str(data.get("name", "unnamed")), scenario_hash or raw_hash(data)
    return RunRecord(
        engine=engine,
        scenario_name=name,
        scenario_hash=digest,
        seed=int(seed),
        samples=int(samples),
        scenario_json=jsonable(data, keep_nonfinite=True),
        error=error,
        timings=timings,
        parameters=parameters,
        sweep=sweep,
    )
