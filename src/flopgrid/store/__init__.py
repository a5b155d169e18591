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
>>> store = RunStore("runs.duckdb")
>>> run_id = store.record(flopgrid.simulate("reference"), flopgrid.load_scenario("reference"),
...                       engine="simulate", seed=0, samples=1)
>>> store.list()[["run_id", "scenario", "engine", "status"]].values.tolist() == [
...     [run_id, "reference", "simulate", "complete"]]
True

Modules: :mod:`~flopgrid.store.schema` (the tables), :mod:`~flopgrid.store.codec` (Results ⇄ rows),
:mod:`~flopgrid.store.records` (run keys and records), :mod:`~flopgrid.store.connection` (the file and
its locking) and :mod:`~flopgrid.store.database` (:class:`RunStore`).
"""

from __future__ import annotations

from flopgrid.store.codec import Encoded, coord_kind, decode, dumps, encode
from flopgrid.store.connection import StoreFile, default_path
from flopgrid.store.database import RunStore, record_run
from flopgrid.store.records import (
    RunRecord,
    check_engine,
    code_version,
    failure_record,
    new_run_id,
    raw_hash,
    run_record,
    task_key,
)
from flopgrid.store.schema import (
    DEFAULT_STORE,
    DIM_COLUMNS,
    ENGINES,
    RESULT_COLUMNS,
    RUN_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    Engine,
)

__all__ = [
    "DEFAULT_STORE",
    "DIM_COLUMNS",
    "ENGINES",
    "RESULT_COLUMNS",
    "RUN_COLUMNS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Encoded",
    "Engine",
    "RunRecord",
    "RunStore",
    "StoreFile",
    "check_engine",
    "code_version",
    "coord_kind",
    "decode",
    "default_path",
    "dumps",
    "encode",
    "failure_record",
    "new_run_id",
    "raw_hash",
    "record_run",
    "run_record",
    "task_key",
]
