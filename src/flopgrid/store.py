"""The run store: every run's metadata and results in one DuckDB file, queryable with SQL.

Tables (one row per run in ``runs``; the others keyed by ``run_id``):

``runs``
    run_id, created_at, status (``complete`` | ``failed``), engine, scenario_name, scenario_hash,
    seed, samples, code_version, task_key, sweep, timings, parameters, overrides, scenario, attrs,
    error, n_values.
``results``
    The results in long format: run_id, variable, unit, one column per dimension (sample, year,
    region, accelerator, source, asset, cap, financing; NULL where the variable lacks it), ``other``
    (any further dimensions as ``dim=label;…``) and value.
``variables`` / ``coords``
    Each variable's dimensions, units and attributes, and each dimension's labels in order, so that
    :meth:`RunStore.load` gives back the Dataset that was recorded.

DuckDB lets one process write a file, or several read it, never both at once. The store therefore
holds a connection only for the length of one operation, and waits (with back-off, up to
``timeout`` seconds) while another process holds the file. Writers are expected to be one process
(the sweep client gathers results from its workers and writes them in batches); readers such as
``flopgrid runs list`` slip in between batches. Every write is one transaction: a run is visible
complete or not at all.

Example
-------
>>> import flopgrid
>>> from flopgrid.store import RunStore
>>> store = RunStore("runs.duckdb")  # doctest: +SKIP
>>> run_id = store.record(flopgrid.simulate("reference"), flopgrid.load_scenario("reference"),
...                       engine="simulate", seed=0, samples=1)  # doctest: +SKIP
>>> store.list().head()  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import math
import os
import secrets
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd
import xarray as xr

from flopgrid import __version__
from flopgrid.errors import FlopgridError
from flopgrid.scenario import Scenario

#: The file used when neither a path nor ``$FLOPGRID_STORE`` is given.
DEFAULT_STORE = "flopgrid.duckdb"
#: Dimensions that get a column of their own in ``results`` (ARCHITECTURE.md, plus ``cap`` and
#: ``financing`` of the simulator); any other dimension goes to the ``other`` column.
DIM_COLUMNS = ("sample", "year", "region", "accelerator", "source", "asset", "cap", "financing")
_INT_DIMS = ("sample", "year")
SCHEMA_VERSION = 1
Engine = Literal["simulate", "plan"]
ENGINES: tuple[str, ...] = ("simulate", "plan")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY,
        created_at TIMESTAMP NOT NULL,
        status VARCHAR NOT NULL,
        engine VARCHAR NOT NULL,
        scenario_name VARCHAR,
        scenario_hash VARCHAR NOT NULL,
        seed BIGINT NOT NULL,
        samples BIGINT NOT NULL,
        code_version VARCHAR NOT NULL,
        task_key VARCHAR NOT NULL,
        sweep VARCHAR,
        timings JSON,
        parameters JSON,
        overrides JSON,
        scenario JSON,
        attrs JSON,
        error VARCHAR,
        n_values BIGINT NOT NULL,
        summary JSON,
        worker VARCHAR,
        extra_coords JSON
    )""",
    """CREATE TABLE IF NOT EXISTS variables (
        run_id VARCHAR NOT NULL,
        position INTEGER NOT NULL,
        variable VARCHAR NOT NULL,
        dims VARCHAR[] NOT NULL,
        units VARCHAR,
        long_name VARCHAR,
        dtype VARCHAR NOT NULL,
        attrs JSON
    )""",
    """CREATE TABLE IF NOT EXISTS coords (
        run_id VARCHAR NOT NULL,
        dim VARCHAR NOT NULL,
        position INTEGER NOT NULL,
        label VARCHAR NOT NULL,
        kind VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS results (
        run_id VARCHAR NOT NULL,
        variable VARCHAR NOT NULL,
        unit VARCHAR,
        sample BIGINT,
        year BIGINT,
        region VARCHAR,
        accelerator VARCHAR,
        source VARCHAR,
        asset VARCHAR,
        cap VARCHAR,
        financing VARCHAR,
        other VARCHAR,
        value DOUBLE
    )""",
    """CREATE INDEX IF NOT EXISTS runs_task_key ON runs (task_key)""",
)
_RUN_COLUMNS = (
    "run_id",
    "created_at",
    "status",
    "engine",
    "scenario_name",
    "scenario_hash",
    "seed",
    "samples",
    "code_version",
    "task_key",
    "sweep",
    "timings",
    "parameters",
    "overrides",
    "scenario",
    "attrs",
    "error",
    "n_values",
    "summary",
    "worker",
    "extra_coords",
)
_RESULT_COLUMNS = ("run_id", "variable", "unit", *DIM_COLUMNS, "other", "value")


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
    skip = {"web", "commands", "__pycache__"}
    files = sorted(
        p
        for p in base.rglob("*")
        if p.is_file()
        and p.suffix in (".py", ".csv", ".yaml", ".yml", ".json")
        and not skip.intersection(p.relative_to(base).parts)
        and p.name not in ("cli.py", "store.py", "sweep.py", "report.py", "charts.py")
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


# ------------------------------------------------------------------------------------------ encoding


@dataclass(frozen=True)
class Encoded:
    """Results turned into the store's tables (no database involved: workers can do it)."""

    values: pd.DataFrame  # the results rows without run_id
    variables: list[tuple[int, str, list[str], str, str, str, str]]
    coords: list[tuple[str, int, str, str]]
    attrs: dict[str, Any]
    summary: dict[str, dict[str, Any]]
    #: Coordinates that are not dimensions (e.g. a unit per constraint): name → dims, kind, values.
    extra_coords: dict[str, dict[str, Any]] = field(default_factory=dict)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _dumps(value: Any) -> str:
    return json.dumps(_jsonable(value), default=str)


def _coord_kind(values: np.ndarray) -> str:
    if values.dtype.kind in "iu":
        return "int"
    if values.dtype.kind == "f":
        return "float"
    return "str"


def encode(results: xr.Dataset) -> Encoded:
    """Results → long rows (one per value) and the metadata to rebuild the Dataset.

    Vectorised per variable: the index of every value along each dimension comes from
    ``numpy.indices``, and labels are looked up by that index.
    """
    coords: list[tuple[str, int, str, str]] = []
    labels: dict[str, np.ndarray] = {}
    for dim in results.dims:
        name = str(dim)
        axis = np.asarray(results[name].values) if name in results.coords else np.arange(results.sizes[name])
        kind = _coord_kind(axis)
        if kind == "str":
            # Labels may be numpy's variable-width StringDType, which does not cast to fixed width.
            axis = np.array([str(v) for v in axis.tolist()], dtype=object)
        labels[name] = axis
        coords.extend((name, i, str(v.item() if hasattr(v, "item") else v), kind) for i, v in enumerate(axis))
    variables: list[tuple[int, str, list[str], str, str, str, str]] = []
    # Columns are gathered as integer codes per variable and joined once: building a frame per
    # variable costs more than the simulation of a small scenario.
    sizes: list[int] = []
    codes: dict[str, list[np.ndarray]] = {d: [] for d in DIM_COLUMNS}
    at: np.ndarray
    others: list[np.ndarray] = []
    values: list[np.ndarray] = []
    # Plain Variables, not DataArrays: building a DataArray per variable costs more than encoding it.
    for position, key in enumerate(results.data_vars):
        var = results.variables[key]
        name = str(key)
        dims = [str(d) for d in var.dims]
        units = str(var.attrs.get("units", ""))
        long_name = str(var.attrs.get("long_name", ""))
        variables.append((position, name, dims, units, long_name, str(var.dtype), _dumps(dict(var.attrs))))
        n = int(var.size)
        sizes.append(n)
        index = np.indices(var.shape).reshape(len(dims), n)
        for d in DIM_COLUMNS:
            codes[d].append(index[dims.index(d)] if d in dims else np.full(n, -1, dtype=np.int64))
        extra = [(d, index[k]) for k, d in enumerate(dims) if d not in DIM_COLUMNS]
        if extra:
            text = np.full(n, "", dtype=object)
            for k, (d, at) in enumerate(extra):
                text = text + ("" if k == 0 else ";") + f"{d}=" + labels[d].astype(str).astype(object)[at]
            others.append(text)
        else:
            others.append(np.full(n, None, dtype=object))
        values.append(np.asarray(var.values, dtype=np.float64).reshape(n))
    names = [v[1] for v in variables]
    unit_names = [v[3] for v in variables]
    which = np.repeat(np.arange(len(names)), sizes)
    columns: dict[str, Any] = {
        "variable": pd.Categorical.from_codes(which, categories=pd.Index(names)),
        "unit": pd.Categorical.from_codes(
            pd.Index(unit_names).unique().get_indexer(pd.Index(np.asarray(unit_names, dtype=object)[which])),
            categories=pd.Index(unit_names).unique(),
        ),
    }
    for d in DIM_COLUMNS:
        at = np.concatenate(codes[d]) if codes[d] else np.zeros(0, dtype=np.int64)
        missing = at < 0
        if d not in labels:
            columns[d] = pd.array([None] * len(at), dtype="Int64" if d in _INT_DIMS else object)
        elif d in _INT_DIMS and labels[d].dtype.kind in "iuf":
            column = labels[d].astype(np.int64)[np.where(missing, 0, at)]
            columns[d] = pd.arrays.IntegerArray(column, missing)
        else:
            columns[d] = pd.Categorical.from_codes(at, categories=pd.Index(labels[d].astype(str)))
    columns["other"] = np.concatenate(others) if others else np.zeros(0, dtype=object)
    columns["value"] = np.concatenate(values) if values else np.zeros(0)
    frame = pd.DataFrame(columns)
    extra_coords = {
        str(name): {
            "dims": [str(d) for d in coord.dims],
            "kind": _coord_kind(np.asarray(coord.values)),
            "values": [
                v if isinstance(v, int | float) else str(v) for v in np.asarray(coord.values).tolist()
            ],
            "attrs": _jsonable(dict(coord.attrs)),
        }
        for name, coord in results.coords.items()
        if name not in results.dims
    }
    return Encoded(
        frame, variables, coords, _jsonable(dict(results.attrs)), _jsonable(_totals(results)), extra_coords
    )


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


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise FlopgridError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")


def _overrides(scenario: Scenario) -> list[dict[str, Any]] | None:
    """The scenario's parameter overrides resolved to model units (what the engine really used)."""
    from flopgrid.library import load_library
    from flopgrid.scenario import resolve_overrides

    try:
        resolved = resolve_overrides(scenario, load_library())
    except FlopgridError:
        return None
    return [_jsonable(dataclasses.asdict(o)) for o in resolved]


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
    _check_engine(engine)
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
    _check_engine(engine)
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
        scenario_json=_jsonable(data),
        error=error,
        timings=timings,
        parameters=parameters,
        sweep=sweep,
    )


# --------------------------------------------------------------------------------------------- store


def default_path() -> Path:
    return Path(os.environ.get("FLOPGRID_STORE") or DEFAULT_STORE)


def _locked(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "resource temporarily unavailable" in text


class RunStore:
    """Runs and their results in a DuckDB file.

    Parameters
    ----------
    path
        The DuckDB file; None → ``$FLOPGRID_STORE`` or ``./flopgrid.duckdb``. Created on the first
        write; reading a store that does not exist yet gives no runs.
    timeout
        Seconds to wait while another process holds the file before giving up with a clear error.

    Examples
    --------
    >>> store = RunStore("runs.duckdb")  # doctest: +SKIP
    >>> store.list(limit=5)  # doctest: +SKIP
    """

    def __init__(self, path: str | Path | None = None, *, timeout: float = 60.0) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.timeout = timeout
        if self.path.exists() and self.path.is_dir():
            raise FlopgridError(f"{self.path}: is a folder; give a file for the run store, e.g. runs.duckdb")

    # ------------------------------------------------------------------ connections

    @contextmanager
    def _connect(self, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        if write and not self.path.parent.exists():
            raise FlopgridError(f"{self.path}: the folder {self.path.parent} does not exist")
        deadline = time.monotonic() + self.timeout
        delay = 0.01
        read_only = not write
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                # DuckDB draws its own progress bar on long queries, which would garble ours.
                con.execute("SET enable_progress_bar = false")
                break
            except duckdb.ConnectionException as exc:
                # This process already has the file open for writing (e.g. a web app that also
                # records): share that instance instead.
                if read_only and "different configuration" in str(exc):
                    read_only = False
                    continue
                raise FlopgridError(f"{self.path}: cannot open the run store: {exc}") from None
            except duckdb.IOException as exc:
                if not _locked(exc):
                    raise FlopgridError(f"{self.path}: cannot open the run store: {exc}") from None
                if time.monotonic() > deadline:
                    raise FlopgridError(
                        f"{self.path}: the run store is busy (another process has it open for "
                        f"writing) and stayed busy for {self.timeout:g} s; try again when it finishes"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 1.5, 0.2)
            except duckdb.Error as exc:
                raise FlopgridError(
                    f"{self.path}: not a flopgrid run store (DuckDB could not open it: {exc})"
                ) from None
        try:
            if write:
                for statement in _SCHEMA:
                    con.execute(statement)
                con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
            yield con
        finally:
            con.close()

    @contextmanager
    def _reader(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A read connection, or None when the store has no runs table yet."""
        if not self.path.exists():
            yield None
            return
        with self._connect(write=False) as con:
            tables = {
                row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
            }
            yield con if "runs" in tables else None

    # ------------------------------------------------------------------ writing

    def write(self, records: Sequence[RunRecord]) -> list[str]:
        """Write runs in one transaction; returns their ids in order.

        A complete run whose key (scenario hash, engine, seed, samples, code version) is already stored
        complete is not stored again: its existing id is returned. A new attempt replaces a failed one
        of the same key, so each key has at most one row.
        """
        if not records:
            return []
        ids: list[str] = []
        with self._connect(write=True) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                keys = sorted({r.key for r in records})
                existing = {
                    (row[0], row[1]): row[2]
                    for row in con.execute(
                        "SELECT task_key, status, run_id FROM runs WHERE task_key IN (SELECT unnest(?))",
                        [keys],
                    ).fetchall()
                }
                taken = {
                    row[0]
                    for row in con.execute(
                        "SELECT run_id FROM runs WHERE run_id IN (SELECT unnest(?))",
                        [[r.run_id for r in records]],
                    ).fetchall()
                }
                rows: list[tuple[Any, ...]] = []
                variables: list[tuple[Any, ...]] = []
                coords: list[tuple[Any, ...]] = []
                frames: list[pd.DataFrame] = []
                stale: list[str] = []
                done: dict[str, str] = {}
                now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
                for record in records:
                    key = record.key
                    if (key, "complete") in existing:
                        ids.append(existing[(key, "complete")])
                        continue
                    # The same inputs twice in one batch: the first is kept.
                    if key in done:
                        ids.append(done[key])
                        continue
                    if (key, "failed") in existing:
                        stale.append(existing[(key, "failed")])
                    while record.run_id in taken:
                        record.run_id = new_run_id()
                    taken.add(record.run_id)
                    enc = record.encoded
                    rows.append(
                        (
                            record.run_id,
                            now,
                            record.status,
                            record.engine,
                            record.scenario_name,
                            record.scenario_hash,
                            record.seed,
                            record.samples,
                            record.version,
                            key,
                            record.sweep,
                            _dumps(record.timings or {}),
                            _dumps(record.parameters or {}),
                            _dumps(record.overrides or []),
                            _dumps(record.scenario_json or {}),
                            _dumps(enc.attrs if enc else {}),
                            record.error,
                            len(enc.values) if enc else 0,
                            _dumps(enc.summary) if enc else None,
                            record.worker,
                            _dumps(enc.extra_coords) if enc else None,
                        )
                    )
                    done[key] = record.run_id
                    ids.append(record.run_id)
                    if enc is not None:
                        variables.extend((record.run_id, *v) for v in enc.variables)
                        coords.extend((record.run_id, *c) for c in enc.coords)
                        frame = enc.values.copy(deep=False)
                        frame.insert(0, "run_id", record.run_id)
                        frames.append(frame)
                if stale:
                    con.execute("DELETE FROM runs WHERE run_id IN (SELECT unnest(?))", [stale])
                if rows:
                    marks = ", ".join("?" * len(_RUN_COLUMNS))
                    con.executemany(f"INSERT INTO runs VALUES ({marks})", rows)
                if variables:
                    # One statement per table: executemany runs a statement per row, which made the
                    # writer (the one client of a sweep) the bottleneck of small tasks.
                    var_frame = pd.DataFrame(
                        variables,
                        columns=[
                            "run_id",
                            "position",
                            "variable",
                            "dims",
                            "units",
                            "long_name",
                            "dtype",
                            "attrs",
                        ],
                    )
                    con.register("_variables_batch", var_frame)
                    con.execute("INSERT INTO variables SELECT * FROM _variables_batch")
                    con.unregister("_variables_batch")
                if coords:
                    coord_frame = pd.DataFrame(coords, columns=["run_id", "dim", "position", "label", "kind"])
                    con.register("_coords_batch", coord_frame)
                    con.execute("INSERT INTO coords SELECT * FROM _coords_batch")
                    con.unregister("_coords_batch")
                if frames:
                    batch = pd.concat(frames, ignore_index=True)
                    con.register("_results_batch", batch)
                    con.execute(
                        f"INSERT INTO results SELECT {', '.join(_RESULT_COLUMNS)} FROM _results_batch"
                    )
                    con.unregister("_results_batch")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return ids

    def record(
        self,
        results: xr.Dataset,
        scenario: Scenario,
        *,
        engine: str,
        seed: int,
        samples: int,
        timings: dict[str, float] | None = None,
        parameters: dict[str, Any] | None = None,
        sweep: str | None = None,
    ) -> str:
        """Store a complete run in one transaction; returns its run id.

        Parameters
        ----------
        results
            The Results Dataset of ``simulate`` or ``plan``.
        scenario
            The scenario the run was made from (stored, and reloadable with :meth:`scenario`).
        engine
            ``"simulate"`` or ``"plan"``.
        seed, samples
            As given to the engine.
        timings
            Seconds spent per phase, e.g. ``{"simulate": 0.8}``.
        parameters
            Anything else that defined the run (a sweep stores the swept values here).

        Returns
        -------
        str
            The run id. A run with the same scenario hash, engine, seed, samples and code version
            already stored complete is not stored twice: its id is returned.

        Examples
        --------
        >>> store.record(results, scenario, engine="simulate", seed=0, samples=1)  # doctest: +SKIP
        'a3f09c11d2'
        """
        record = run_record(
            results,
            scenario,
            engine=engine,
            seed=seed,
            samples=samples,
            timings=timings,
            parameters=parameters,
            sweep=sweep,
        )
        return self.write([record])[0]

    def record_failure(
        self,
        scenario: Scenario | Mapping[str, Any],
        *,
        engine: str,
        seed: int,
        samples: int,
        error: str,
        parameters: dict[str, Any] | None = None,
        sweep: str | None = None,
    ) -> str:
        """Store a failed run (status ``failed``, with its error); returns its run id."""
        record = failure_record(
            scenario,
            engine=engine,
            seed=seed,
            samples=samples,
            error=error,
            parameters=parameters,
            sweep=sweep,
        )
        return self.write([record])[0]

    # ------------------------------------------------------------------ reading

    def completed_keys(self, keys: Sequence[str] | None = None) -> set[str]:
        """Task keys stored complete (all of them, or those among ``keys``)."""
        with self._reader() as con:
            if con is None:
                return set()
            if keys is None:
                rows = con.execute("SELECT task_key FROM runs WHERE status = 'complete'").fetchall()
            else:
                rows = con.execute(
                    "SELECT task_key FROM runs WHERE status = 'complete' AND task_key IN (SELECT unnest(?))",
                    [list(keys)],
                ).fetchall()
        return {row[0] for row in rows}

    def summaries(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Headline totals of the complete runs with the given task keys, by key."""
        with self._reader() as con:
            if con is None:
                return {}
            rows = con.execute(
                "SELECT task_key, summary FROM runs "
                "WHERE status = 'complete' AND task_key IN (SELECT unnest(?))",
                [list(keys)],
            ).fetchall()
        return {key: json.loads(summary) for key, summary in rows if summary is not None}

    def list(self, limit: int | None = None, *, sweep: str | None = None) -> pd.DataFrame:
        """One row per run, newest first.

        Columns: run_id, created_at (UTC), status, engine, scenario, scenario_hash, seed, samples,
        code_version, sweep, seconds (sum of the timings), error.
        """
        columns = [
            "run_id",
            "created_at",
            "status",
            "engine",
            "scenario",
            "scenario_hash",
            "seed",
            "samples",
            "code_version",
            "sweep",
            "seconds",
            "error",
        ]
        if limit is not None and limit < 1:
            raise FlopgridError(f"limit must be at least 1, got {limit}")
        with self._reader() as con:
            if con is None:
                return pd.DataFrame({c: [] for c in columns})
            where, args = ("WHERE sweep = ?", [sweep]) if sweep is not None else ("", [])
            query = f"""
                SELECT run_id, created_at, status, engine, scenario_name AS scenario, scenario_hash,
                       seed, samples, code_version, sweep,
                       (SELECT sum(CAST(t.value AS DOUBLE)) FROM json_each(timings) AS t) AS seconds,
                       error
                FROM runs {where} ORDER BY created_at DESC, run_id
                {"LIMIT " + str(int(limit)) if limit is not None else ""}"""
            frame = con.execute(query, args).df()
        return frame[columns]

    def _run_row(self, con: duckdb.DuckDBPyConnection | None, run_id: str) -> dict[str, Any]:
        row = None
        if con is not None:
            cursor = con.execute(f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs WHERE run_id = ?", [run_id])
            row = cursor.fetchone()
        if row is None:
            hint = ""
            if con is not None:
                near = con.execute(
                    "SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id LIMIT 5",
                    [run_id[:3]],
                ).fetchall()
                if near:
                    hint = f" (did you mean {', '.join(r[0] for r in near)}?)"
            raise FlopgridError(
                f"{self.path}: no run {run_id!r}{hint}; `flopgrid runs list` shows the stored runs"
            )
        out = dict(zip(_RUN_COLUMNS, row, strict=True))
        for name in ("timings", "parameters", "overrides", "scenario", "attrs", "summary", "extra_coords"):
            out[name] = json.loads(out[name]) if out[name] is not None else None
        return out

    def _dataset(self, con: duckdb.DuckDBPyConnection, run: dict[str, Any]) -> xr.Dataset:
        run_id = run["run_id"]
        if run["status"] != "complete":
            raise FlopgridError(f"run {run_id} failed ({run['error']}); it has no results")
        coord_rows = con.execute(
            "SELECT dim, label, kind FROM coords WHERE run_id = ? ORDER BY dim, position", [run_id]
        ).fetchall()
        labels: dict[str, list[str]] = {}
        kinds: dict[str, str] = {}
        for dim, label, kind in coord_rows:
            labels.setdefault(dim, []).append(label)
            kinds[dim] = kind
        coords: dict[str, np.ndarray] = {}
        for dim, names in labels.items():
            cast = {"int": np.int64, "float": np.float64}.get(kinds[dim])
            coords[dim] = np.array(names, dtype=cast) if cast else np.array(names, dtype=object)
        var_rows = con.execute(
            "SELECT variable, dims, dtype, attrs FROM variables WHERE run_id = ? ORDER BY position", [run_id]
        ).fetchall()
        frame = con.execute(
            f"SELECT variable, {', '.join(DIM_COLUMNS)}, other, value FROM results WHERE run_id = ?", [run_id]
        ).df()
        groups = dict(tuple(frame.groupby("variable", sort=False))) if len(frame) else {}
        data: dict[str, xr.Variable] = {}
        for name, dims, dtype, attrs_json in var_rows:
            shape = tuple(len(coords[d]) for d in dims)
            values = np.full(shape, np.nan, dtype=np.float64)
            part = groups.get(name)
            if part is not None and len(part):
                position = []
                other = (
                    part["other"].astype(str).str.split(";")
                    if any(d not in DIM_COLUMNS for d in dims)
                    else None
                )
                for d in dims:
                    if d in DIM_COLUMNS:
                        column = part[d].to_numpy()
                        index = pd.Index(coords[d].astype(column.dtype if d in _INT_DIMS else object))
                        at = index.get_indexer(column if d in _INT_DIMS else column.astype(object))
                    else:
                        assert other is not None
                        picked = other.map(
                            lambda items, d=d: next(
                                i.split("=", 1)[1] for i in items if i.startswith(f"{d}=")
                            )
                        )
                        at = pd.Index(coords[d].astype(str)).get_indexer(picked.to_numpy())
                    position.append(at)
                values[tuple(position)] = part["value"].to_numpy()
            data[name] = xr.Variable(dims, values.astype(np.dtype(dtype)), attrs=json.loads(attrs_json))
        ds = xr.Dataset(
            data, coords={d: v if kinds[d] != "str" else v.astype(str) for d, v in coords.items()}
        )
        for name, extra in (run["extra_coords"] or {}).items():
            kind_of: Any = {"int": np.int64, "float": np.float64}.get(extra["kind"], str)
            ds = ds.assign_coords(
                {
                    name: xr.Variable(
                        extra["dims"], np.array(extra["values"], dtype=kind_of), attrs=extra["attrs"]
                    )
                }
            )
        ds.attrs.update(run["attrs"] or {})
        return ds

    def load(self, run_id: str) -> xr.Dataset:
        """The results of a complete run, with the same variables, dimensions and attributes."""
        with self._reader() as con:
            run = self._run_row(con, run_id)
            assert con is not None
            return self._dataset(con, run)

    def show(self, run_id: str) -> dict[str, Any]:
        """A run's metadata and, for a complete run, its headline totals (``summary``)."""
        with self._reader() as con:
            run = self._run_row(con, run_id)
            assert con is not None
        run["created_at"] = str(run["created_at"])
        return run

    def scenario(self, run_id: str) -> Scenario:
        """The scenario the run was made from."""
        from flopgrid.scenario import load_scenario

        with self._reader() as con:
            run = self._run_row(con, run_id)
        data = run["scenario"]
        if not data or str(run["scenario_hash"]).startswith("raw-"):
            raise FlopgridError(f"run {run_id} has no valid scenario (it failed to load: {run['error']})")
        return load_scenario(data)

    def diff(self, a: str, b: str) -> pd.DataFrame:
        """Headline totals of two runs side by side.

        Columns: quantity, unit, a, b, change (b − a), change_pct (relative to a; NaN where a is 0).
        Text quantities (the first bottleneck) give a and b and no change.
        """
        with self._reader() as con:
            run_a, run_b = self._run_row(con, a), self._run_row(con, b)
        for run in (run_a, run_b):
            if run["status"] != "complete":
                raise FlopgridError(
                    f"run {run['run_id']} failed ({run['error']}); it has no results to compare"
                )
        totals_a, totals_b = run_a["summary"] or {}, run_b["summary"] or {}
        rows = []
        for name in dict.fromkeys([*totals_a, *totals_b]):
            ta, tb = totals_a.get(name), totals_b.get(name)
            unit = str((ta or tb or {}).get("unit", ""))
            va = ta["value"] if ta else None
            vb = tb["value"] if tb else None
            if isinstance(va, str) or isinstance(vb, str):
                rows.append(
                    {"quantity": name, "unit": unit, "a": va, "b": vb, "change": None, "change_pct": None}
                )
                continue
            fa = float("nan") if va is None else float(va)
            fb = float("nan") if vb is None else float(vb)
            change = fb - fa
            pct = 100.0 * change / abs(fa) if fa != 0 and math.isfinite(fa) else float("nan")
            rows.append(
                {"quantity": name, "unit": unit, "a": fa, "b": fb, "change": change, "change_pct": pct}
            )
        return pd.DataFrame(rows, columns=["quantity", "unit", "a", "b", "change", "change_pct"])

    def export(self, run_id: str, path: Path) -> Path:
        """Write a run's results (long rows with units) to ``.parquet`` or ``.csv``.

        Written to a temporary name and moved into place, so a failed export leaves no partial file.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".parquet", ".csv"):
            raise FlopgridError(
                f"{path}: cannot export to '{suffix or 'no extension'}'; use .parquet or .csv"
            )
        if not path.parent.exists():
            raise FlopgridError(f"{path}: the folder {path.parent} does not exist")
        partial = path.with_name(f".{path.name}.partial")
        target = str(partial).replace("'", "''")
        fmt = "PARQUET" if suffix == ".parquet" else "CSV, HEADER"
        with self._reader() as con:
            run = self._run_row(con, run_id)
            assert con is not None
            if run["status"] != "complete":
                raise FlopgridError(f"run {run_id} failed ({run['error']}); it has no results to export")
            try:
                con.execute(
                    f"COPY (SELECT {', '.join(_RESULT_COLUMNS)} FROM results WHERE run_id = ? "
                    f"ORDER BY variable, {', '.join(DIM_COLUMNS)}) TO '{target}' (FORMAT {fmt})",
                    [run_id],
                )
                partial.replace(path)
            finally:
                partial.unlink(missing_ok=True)
        return path

    def delete(self, run_id: str) -> None:
        """Remove a run and its results (one transaction)."""
        with self._reader() as con:
            self._run_row(con, run_id)
        with self._connect(write=True) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for table in ("results", "coords", "variables", "runs"):
                    con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def stats(self) -> dict[str, Any]:
        """Runs by status, stored values and the file's size in bytes."""
        with self._reader() as con:
            if con is None:
                return {"runs": 0, "complete": 0, "failed": 0, "values": 0, "bytes": 0}
            row = con.execute(
                "SELECT count(*), count(*) FILTER (status = 'complete'), "
                "count(*) FILTER (status = 'failed'), coalesce(sum(n_values), 0) FROM runs"
            ).fetchone()
        assert row is not None
        size = self.path.stat().st_size + (
            wal.stat().st_size if (wal := Path(f"{self.path}.wal")).exists() else 0
        )
        return {"runs": row[0], "complete": row[1], "failed": row[2], "values": int(row[3]), "bytes": size}


def _totals(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    """Headline totals of a run; every variable's all-cell sum when the Results lack the usual ones."""
    from flopgrid import results as _results  # noqa: F401  (registers the accessor)

    try:
        return {k: dict(v) for k, v in ds.flopgrid.totals().items()}
    except KeyError:
        return {
            str(name): {"value": float(var.sum().item()), "unit": str(var.attrs.get("units", ""))}
            for name, var in ds.data_vars.items()
        }


def record_run(
    results: xr.Dataset,
    scenario: Scenario,
    *,
    engine: str,
    seed: int,
    samples: int,
    timings: dict[str, float] | None = None,
    store: str | Path | None = None,
    parameters: dict[str, Any] | None = None,
) -> str:
    """Record a run in the store (``store`` path, else ``$FLOPGRID_STORE``, else ./flopgrid.duckdb).

    Examples
    --------
    >>> run_id = record_run(results, scenario, engine="simulate", seed=0, samples=1)  # doctest: +SKIP
    """
    return RunStore(store).record(
        results, scenario, engine=engine, seed=seed, samples=samples, timings=timings, parameters=parameters
    )
