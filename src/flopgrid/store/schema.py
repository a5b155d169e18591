"""The run store's tables: their SQL, column orders and the dimensions that get a column each."""

from __future__ import annotations

from typing import Literal

#: The file used when neither a path nor ``$FLOPGRID_STORE`` is given.
DEFAULT_STORE = "flopgrid.duckdb"
#: Dimensions that get a column of their own in ``results`` (ARCHITECTURE.md, plus ``cap`` and
#: ``financing`` of the simulator); any other dimension goes to the ``other`` column.
DIM_COLUMNS = ("sample", "year", "region", "accelerator", "source", "asset", "cap", "financing")
INT_DIMS = ("sample", "year")
#: The store format this flopgrid writes and the newest it reads, kept in ``meta`` under
#: :data:`VERSION_KEY`. A file with flopgrid's tables and no version is an older flopgrid store: it
#: reads as format 1 and gets the version on its next write.
SCHEMA_VERSION = 1
VERSION_KEY = "schema_version"
#: flopgrid's tables besides ``meta``: all of them or none (a store not written yet).
STORE_TABLES = ("runs", "variables", "coords", "results")
Engine = Literal["simulate", "plan"]
ENGINES: tuple[str, ...] = ("simulate", "plan")
SCHEMA = (
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
RUN_COLUMNS = (
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
RESULT_COLUMNS = ("run_id", "variable", "unit", *DIM_COLUMNS, "other", "value")
