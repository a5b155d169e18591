"""The run store: runs written in transactions, listed, shown, compared, exported and deleted."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import xarray as xr

from flopgrid.errors import FlopgridError
from flopgrid.scenario import Scenario, load_scenario
from flopgrid.store.codec import decode, dumps
from flopgrid.store.connection import StoreFile, transaction
from flopgrid.store.records import RunRecord, failure_record, new_run_id, run_record, task_key
from flopgrid.store.schema import DIM_COLUMNS, RESULT_COLUMNS, RUN_COLUMNS


class RunStore(StoreFile):
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
    >>> store = RunStore("runs.duckdb")
    >>> len(store.list(limit=5))
    0
    """

    def write(self, records: Sequence[RunRecord]) -> list[str]:
        """Write runs in one transaction; returns their ids in order.

        A complete run whose key (scenario hash, engine, seed, samples, code version) is already stored
        complete is not stored again: its existing id is returned. A new attempt replaces a failed one
        of the same key, so each key has at most one row.
        """
        if not records:
            return []
        ids: list[str] = []
        with self.connect(write=True) as con, transaction(con):
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
                        dumps(record.timings or {}),
                        dumps(record.parameters or {}),
                        dumps(record.overrides or []),
                        dumps(record.scenario_json or {}),
                        dumps(enc.attrs if enc else {}),
                        record.error,
                        len(enc.values) if enc else 0,
                        dumps(enc.summary) if enc else None,
                        record.worker,
                        dumps(enc.extra_coords) if enc else None,
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
                marks = ", ".join("?" * len(RUN_COLUMNS))
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
                con.execute(f"INSERT INTO results SELECT {', '.join(RESULT_COLUMNS)} FROM _results_batch")
                con.unregister("_results_batch")
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
        >>> store = RunStore("runs.duckdb")
        >>> run_id = store.record(results, scenario, engine="simulate", seed=0, samples=1)
        >>> store.record(results, scenario, engine="simulate", seed=0, samples=1) == run_id
        True
        """
        # A run already stored is found before its results are encoded: encoding a 1,000-sample run
        # takes seconds, and the same run recorded again (a rerun, a slider moved back) is common.
        stored = self.stored_id(task_key(scenario.content_hash(), engine, seed, samples))
        if stored is not None:
            return stored
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
        with self.reader() as con:
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

    def stored_id(self, key: str) -> str | None:
        """The id of the complete run stored under task ``key`` (see :func:`task_key`), or None."""
        with self.reader() as con:
            if con is None:
                return None
            row = con.execute(
                "SELECT run_id FROM runs WHERE status = 'complete' AND task_key = ? LIMIT 1", [key]
            ).fetchone()
        return None if row is None else str(row[0])

    def summaries(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Headline totals of the complete runs with the given task keys, by key."""
        with self.reader() as con:
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
        with self.reader() as con:
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
            cursor = con.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE run_id = ?", [run_id])
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
        out = dict(zip(RUN_COLUMNS, row, strict=True))
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
        var_rows = con.execute(
            "SELECT variable, dims, dtype, attrs FROM variables WHERE run_id = ? ORDER BY position", [run_id]
        ).fetchall()
        frame = con.execute(
            f"SELECT variable, {', '.join(DIM_COLUMNS)}, other, value FROM results WHERE run_id = ?", [run_id]
        ).df()
        return decode(run, coord_rows, var_rows, frame)

    def load(self, run_id: str) -> xr.Dataset:
        """The results of a complete run, with the same variables, dimensions and attributes."""
        with self.reader() as con:
            run = self._run_row(con, run_id)
            assert con is not None
            return self._dataset(con, run)

    def show(self, run_id: str) -> dict[str, Any]:
        """A run's metadata and, for a complete run, its headline totals (``summary``)."""
        with self.reader() as con:
            run = self._run_row(con, run_id)
            assert con is not None
        run["created_at"] = str(run["created_at"])
        return run

    def scenario(self, run_id: str) -> Scenario:
        """The scenario the run was made from."""
        with self.reader() as con:
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
        with self.reader() as con:
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
        with self.reader() as con:
            run = self._run_row(con, run_id)
            assert con is not None
            if run["status"] != "complete":
                raise FlopgridError(f"run {run_id} failed ({run['error']}); it has no results to export")
            try:
                con.execute(
                    f"COPY (SELECT {', '.join(RESULT_COLUMNS)} FROM results WHERE run_id = ? "
                    f"ORDER BY variable, {', '.join(DIM_COLUMNS)}) TO '{target}' (FORMAT {fmt})",
                    [run_id],
                )
                partial.replace(path)
            finally:
                partial.unlink(missing_ok=True)
        return path

    def delete(self, run_id: str) -> None:
        """Remove a run and its results (one transaction)."""
        with self.reader() as con:
            self._run_row(con, run_id)
        with self.connect(write=True) as con, transaction(con):
            for table in ("results", "coords", "variables", "runs"):
                con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])

    def stats(self) -> dict[str, Any]:
        """Runs by status, stored values and the file's size in bytes."""
        with self.reader() as con:
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
    >>> run_id = record_run(results, scenario, engine="simulate", seed=0, samples=1, store="runs.duckdb")
    >>> RunStore("runs.duckdb").show(run_id)["status"]
    'complete'
    """
    return RunStore(store).record(
        results, scenario, engine=engine, seed=seed, samples=samples, timings=timings, parameters=parameters
    )
