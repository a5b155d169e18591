"""The run store's file: DuckDB lets one process write a file, or several read it, never both at
once, so a connection is held for one operation only, with back-off while another process holds it.

Every open checks that the file is a flopgrid run store of a format this flopgrid reads (a foreign or
newer file is refused before anything is read or written); the first write of a :class:`StoreFile`
reads every stored value first, so that a damaged file is refused rather than added to; and every
DuckDB error on the way is one line naming the file and what to do (:func:`store_error`)."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from flopgrid.errors import FlopgridError
from flopgrid.store.schema import DEFAULT_STORE, SCHEMA, SCHEMA_VERSION, STORE_TABLES, VERSION_KEY

#: What every refusal of a file ends with: the store is never repaired or replaced in place.
MOVE_AWAY = "move it away or give another --store (or $FLOPGRID_STORE)"
#: DuckDB's words for a file that ran out of room (ENOSPC, EDQUOT, EFBIG under RLIMIT_FSIZE).
_FULL = ("no space left", "disk quota", "file too large")
#: DuckDB's words for a file whose bytes are not what DuckDB wrote.
_DAMAGED = (
    "corrupt",
    "checksum",
    "could not read enough bytes",
    "not a valid duckdb database",
    "unable to open database",
    "invalidated",
    "serialization",
    "deserializ",
)


def default_path() -> Path:
    """The store used when no path is given: ``$FLOPGRID_STORE``, else ./flopgrid.duckdb."""
    return Path(os.environ.get("FLOPGRID_STORE") or DEFAULT_STORE)


def _locked(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "resource temporarily unavailable" in text


def _first_line(exc: BaseException, limit: int = 160) -> str:
    # DuckDB's messages run over several lines (the query, a caret); users get one short line.
    line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


def store_error(path: Path, exc: duckdb.Error) -> FlopgridError:
    """One line for a DuckDB error on the store at ``path``: what happened and what to do.

    Parameters
    ----------
    path
        The store file.
    exc
        The error DuckDB raised.

    Returns
    -------
    FlopgridError
        A full disk, a damaged file, or any other failure, each naming the file.

    Examples
    --------
    >>> error = store_error(Path("runs.duckdb"), duckdb.IOException("IO Error: No space left on device"))
    >>> str(error).split(";")[0]
    'runs.duckdb: no room left on the disk (IO Error: No space left on device)'
    """
    text = str(exc).lower()
    detail = _first_line(exc)
    if any(word in text for word in _FULL):
        return FlopgridError(
            f"{path}: no room left on the disk ({detail}); nothing was written: free some space, "
            "or give another --store (or $FLOPGRID_STORE)"
        )
    if any(word in text for word in _DAMAGED):
        return FlopgridError(
            f"{path}: the run store is damaged ({detail}); {MOVE_AWAY}; runs in its intact parts "
            "still show and export"
        )
    return FlopgridError(f"{path}: the run store failed ({detail})")


@functools.cache
def expected_columns() -> dict[str, tuple[tuple[str, str], ...]]:
    """The (column, type) pairs of each of flopgrid's tables, as DuckDB reports them for :data:`SCHEMA`."""
    with duckdb.connect(":memory:") as con:
        for statement in SCHEMA:
            con.execute(statement)
        return _columns(con)


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[tuple[str, str], ...]]:
    rows = con.execute(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
        "WHERE t.table_type = 'BASE TABLE' AND c.table_schema = 'main' "
        "AND c.table_catalog = current_database() ORDER BY c.table_name, c.ordinal_position"
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        tables.setdefault(table, []).append((column, kind))
    return {name: tuple(columns) for name, columns in tables.items()}


def _listing(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names)} in all)" if len(names) > limit else "")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Statements that land together or not at all.

    A failed COMMIT (a full disk) has already ended the transaction, so DuckDB refuses the ROLLBACK
    ("cannot rollback"): that refusal is dropped and the error that caused it is raised.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        with suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


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
        # Set once every stored value has been read back through DuckDB's checksums.
        self.verified = False
        if self.path.exists() and self.path.is_dir():
            raise FlopgridError(f"{self.path}: is a folder; give a file for the run store, e.g. runs.duckdb")

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.timeout
        delay = 0.01
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                # DuckDB draws its own progress bar on long queries, which would garble ours.
                con.execute("SET enable_progress_bar = false")
                return con
            except duckdb.ConnectionException as exc:
                # This process already has the file open for writing (e.g. a web app that also
                # records): share that instance instead.
                if read_only and "different configuration" in str(exc):
                    read_only = False
                    continue
                raise FlopgridError(f"{self.path}: cannot open the run store ({_first_line(exc)})") from None
            except duckdb.IOException as exc:
                if not _locked(exc):
                    raise store_error(self.path, exc) from None
                if time.monotonic() > deadline:
                    raise FlopgridError(
                        f"{self.path}: the run store is busy (another process has it open for "
                        f"writing) and stayed busy for {self.timeout:g} s; try again when it finishes"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 1.5, 0.2)
            except duckdb.Error as exc:
                raise FlopgridError(
                    f"{self.path}: not a flopgrid run store (DuckDB cannot open it: {_first_line(exc)}); "
                    f"{MOVE_AWAY}"
                ) from None

    def check(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Refuse a file that is not a flopgrid run store this flopgrid reads; True when it has runs.

        A DuckDB file with no tables is a store not written yet (False). One with other tables and
        none of flopgrid's, with a flopgrid table of other columns, with some of flopgrid's tables
        missing, or with a store format newer than :data:`SCHEMA_VERSION` is refused with a
        :class:`FlopgridError` that names the file and says what to do.
        """
        found = _columns(con)
        expected = expected_columns()
        ours = [name for name in (*STORE_TABLES, "meta") if name in found]
        if not ours:
            if found:
                raise FlopgridError(
                    f"{self.path}: not a flopgrid run store (a DuckDB file with the tables "
                    f"{_listing(sorted(found))}); {MOVE_AWAY}"
                )
            return False
        for name in ours:
            if found[name] != expected[name]:
                have = [column for column, _ in found[name]]
                want = [column for column, _ in expected[name]]
                what = "columns" if have != want else "column types"
                raise FlopgridError(
                    f"{self.path}: not a flopgrid run store (its table {name!r} has the {what} "
                    f"{_listing([f'{c} {t}' for c, t in found[name]])}, not flopgrid's); {MOVE_AWAY}"
                )
        missing = [name for name in STORE_TABLES if name not in found]
        if missing and len(missing) < len(STORE_TABLES):
            raise FlopgridError(
                f"{self.path}: the run store is damaged (the table(s) {', '.join(missing)} are missing); "
                f"{MOVE_AWAY}"
            )
        if "meta" in found:
            row = con.execute("SELECT value FROM meta WHERE key = ?", [VERSION_KEY]).fetchone()
            # No version: a store of a flopgrid before versions, format 1 (migrated on its next write).
            if row is not None:
                version = str(row[0])
                if not version.isdecimal():
                    raise FlopgridError(
                        f"{self.path}: the run store is damaged (its format version is "
                        f"{version[:40]!r}, not a number); {MOVE_AWAY}"
                    )
                if int(version) > SCHEMA_VERSION:
                    raise FlopgridError(
                        f"{self.path}: the run store was written by a newer flopgrid (store format "
                        f"{int(version)}; this flopgrid reads format {SCHEMA_VERSION} and older): "
                        "upgrade flopgrid, or give another --store (or $FLOPGRID_STORE)"
                    )
        return not missing

    def verify(self) -> None:
        """Read every stored value back, so that DuckDB checks each block's checksum.

        Raises a :class:`FlopgridError` naming the file when a block is damaged (garbage written into
        the file, a truncated file). Costs a scan of the whole store (about 0.1 s per million stored
        values); a store that passed is not scanned again by this object.
        """
        if self.verified or not self.path.exists():
            return
        with self._session(write=False, scan=True):
            pass

    def _scan(self, con: duckdb.DuckDBPyConnection) -> None:
        # hash() of every column makes DuckDB load (and checksum) every data block; count(*) alone
        # would be answered from the row groups' metadata.
        found = _columns(con)
        for name, columns in expected_columns().items():
            if name in found:
                hashes = ", ".join(f'bit_xor(hash("{column}"))' for column, _ in columns)
                con.execute(f"SELECT {hashes} FROM {name}").fetchall()

    @contextmanager
    def _session(self, write: bool, scan: bool) -> Iterator[tuple[duckdb.DuckDBPyConnection, bool]]:
        if write and not self.path.parent.exists():
            raise FlopgridError(f"{self.path}: the folder {self.path.parent} does not exist")
        con = self._open(read_only=not write)
        try:
            has_runs = self.check(con)
            if scan and not self.verified:
                self._scan(con)
                self.verified = True
            if write:
                with transaction(con):
                    for statement in SCHEMA:
                        con.execute(statement)
                    # An older store without a version gets one here: its tables are format 1.
                    con.execute(
                        "INSERT OR IGNORE INTO meta VALUES (?, ?)", [VERSION_KEY, str(SCHEMA_VERSION)]
                    )
            yield con, has_runs
        except duckdb.Error as exc:
            raise store_error(self.path, exc) from None
        finally:
            con.close()

    @contextmanager
    def connect(self, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one operation (read-only unless ``write``), waiting while another process
        holds the file, after :meth:`check`. The first write of this object reads the whole store
        first (:meth:`verify`), so that a damaged file is refused rather than added to; writing then
        creates the tables (or adds the format version to an older store) in one transaction. A
        DuckDB error in the operation becomes one line (:func:`store_error`)."""
        with self._session(write=write, scan=write) as (con, _):
            yield con

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A read connection, or None when the store has no runs table yet. Reads only what the
        operation needs, so that the runs in the intact parts of a damaged file stay readable."""
        if not self.path.exists():
            yield None
            return
        with self._session(write=False, scan=False) as (con, has_runs):
            yield con if has_runs else None
