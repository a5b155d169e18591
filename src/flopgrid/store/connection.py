"""The run store's file: DuckDB lets one process write a file, or several read it, never both at
once, so a connection is held for one operation only, with back-off while another process holds it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from flopgrid.errors import FlopgridError
from flopgrid.store.schema import DEFAULT_STORE, SCHEMA, SCHEMA_VERSION


def default_path() -> Path:
    """The store used when no path is given: ``$FLOPGRID_STORE``, else ./flopgrid.duckdb."""
    return Path(os.environ.get("FLOPGRID_STORE") or DEFAULT_STORE)


def _locked(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "resource temporarily unavailable" in text


class StoreFile:
    """The DuckDB file of a run store, opened for one operation at a time.

    Parameters
    ----------
    path
        The DuckDB file; None → ``$FLOPGRID_STORE`` or ``./flopgrid.duckdb``. Created on the first
        write; reading a store that does not exist yet gives no runs.
    timeout
        Seconds to wait while another process holds the file before giving up with a clear error.

    Examples
    --------
    >>> with StoreFile("runs.duckdb").reader() as con:  # a store not written yet reads as empty
    ...     con is None
    True
    """

    def __init__(self, path: str | Path | None = None, *, timeout: float = 60.0) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.timeout = timeout
        if self.path.exists() and self.path.is_dir():
            raise FlopgridError(f"{self.path}: is a folder; give a file for the run store, e.g. runs.duckdb")

    @contextmanager
    def connect(self, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one operation (read-only unless ``write``), waiting while another process
        holds the file; writing creates the tables first."""
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
                for statement in SCHEMA:
                    con.execute(statement)
                con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
            yield con
        finally:
            con.close()

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A read connection, or None when the store has no runs table yet."""
        if not self.path.exists():
            yield None
            return
        with self.connect(write=False) as con:
            tables = {
                row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
            }
            yield con if "runs" in tables else None

    # ------------------------------------------------------------------ writing
