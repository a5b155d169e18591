"""Damaged, foreign, truncated and older run stores and a full disk (issue 16): one line naming the
file and what to do, exit status 2, nothing half-written and no stored run lost."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import flopgrid
from flopgrid.cli import app
from flopgrid.errors import FlopgridError
from flopgrid.store import SCHEMA_VERSION, RunStore
from flopgrid.store.connection import transaction

runner = CliRunner()

TINY = """\
name: tiny
horizon: {start: 2025, end: 2029}
existing_industry: false
builds:
  datacentres: [{region: US, it_power: 100 MW, start: 2025}]
  purchases: [{accelerator: H100, region: US, quantity: 10000, year: 2026}]
"""
#: DuckDB's blocks: 3 headers of 4 kB, then blocks of 256 kB (``PRAGMA database_size``).
HEADER, BLOCK = 3 * 4096, 262_144
#: The reproducer's garbage: 256 kB written into the middle of the file.
GARBAGE = 256 * 1024


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """A scenario file and a store of four 50-sample runs of it (4.8 MB, 18 blocks, 6 of them used:
    the layout is deterministic, and the middle of the file is a used block of ``results``)."""
    folder = tmp_path_factory.mktemp("pristine")
    scenario_file = folder / "tiny.yaml"
    scenario_file.write_text(TINY, encoding="utf-8")
    scenario = flopgrid.load_scenario(scenario_file)
    store = RunStore(folder / "runs.duckdb")
    ids = [
        store.record(flopgrid.simulate(scenario, samples=50, seed=seed), scenario,
                     engine="simulate", seed=seed, samples=50)
        for seed in range(4)
    ]  # fmt: skip
    return scenario_file, store.path, ids


@pytest.fixture
def store(pristine: tuple[Path, Path, list[str]], tmp_path: Path) -> Path:
    """A copy of the pristine store, to damage."""
    return Path(shutil.copy(pristine[1], tmp_path / "runs.duckdb"))


def _one_line(stderr: str, path: Path) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"error: {path}") and "Traceback" not in stderr, stderr
    return lines[0]


def _cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _used_blocks(path: Path) -> set[int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            block
            for table in ("runs", "variables", "coords", "results")
            for (block,) in con.execute(
                f"SELECT block_id FROM pragma_storage_info('{table}') WHERE block_id >= 0"
            ).fetchall()
        }


def test_a_store_truncated_to_half_is_refused_and_left_as_it_is(
    pristine: tuple[Path, Path, list[str]], store: Path
) -> None:
    os.truncate(store, store.stat().st_size // 2)
    before = store.read_bytes()
    code, _, stderr = _cli("runs", "list", "--store", str(store))
    assert code == 2 and "damaged" in _one_line(stderr, store) and "move it away" in stderr
    code, _, stderr = _cli("run", str(pristine[0]), "--seed", "9", "--store", str(store))
    assert code == 2 and "damaged" in _one_line(stderr, store)
    assert store.read_bytes() == before


def test_a_duckdb_file_with_an_unrelated_runs_table_is_not_a_store(
    pristine: tuple[Path, Path, list[str]], tmp_path: Path
) -> None:
    foreign = tmp_path / "foreign.duckdb"
    with duckdb.connect(str(foreign)) as con:
        con.execute("CREATE TABLE runs (id INTEGER, name VARCHAR)")
        con.execute("INSERT INTO runs VALUES (1, 'mine')")
    before = foreign.read_bytes()
    for args in (["runs", "list"], ["run", str(pristine[0]), "--seed", "9"], ["runs", "show", "x"]):
        code, _, stderr = _cli(*args, "--store", str(foreign))
        line = _one_line(stderr, foreign)
        assert code == 2 and "not a flopgrid run store" in line and "'runs'" in line, line
        assert "move it away or give another --store" in line
    assert foreign.read_bytes() == before
    with duckdb.connect(str(foreign), read_only=True) as con:
        assert con.execute("SELECT * FROM runs").fetchall() == [(1, "mine")]


def test_a_duckdb_file_of_other_tables_is_not_filled_with_runs(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE prices (day DATE, usd DOUBLE)")
    with pytest.raises(FlopgridError, match=r"other\.duckdb: not a flopgrid run store .*prices"):
        RunStore(other).list()
    with pytest.raises(FlopgridError, match="not a flopgrid run store"):
        RunStore(other).record_failure({"name": "x"}, engine="simulate", seed=0, samples=1, error="boom")


def test_256_kb_of_garbage_mid_file_is_refused_and_intact_runs_stay_readable(
    pristine: tuple[Path, Path, list[str]], store: Path
) -> None:
    _, _, ids = pristine
    middle = store.stat().st_size // 2
    # The reproducer only means something where the garbage lands on stored values.
    assert (middle - HEADER) // BLOCK in _used_blocks(store)
    with store.open("r+b") as file:
        file.seek(middle)
        file.write(np.random.default_rng(16).bytes(GARBAGE))
    before = store.read_bytes()

    # The runs table is intact: listed, then the damage reported with exit status 2.
    code, stdout, stderr = _cli("runs", "list", "--json", "--store", str(store))
    assert code == 2 and "damaged" in _one_line(stderr, store) and "Corrupt database file" in stderr
    assert sorted(run["run_id"] for run in json.loads(stdout)) == sorted(ids)
    # No new run goes into a damaged file.
    code, _, stderr = _cli("run", str(pristine[0]), "--seed", "9", "--store", str(store))
    assert code == 2 and "damaged" in _one_line(stderr, store)
    assert store.read_bytes() == before
    # Every run's metadata is in intact blocks and still shows; a run's results load whole and
    # unchanged where their blocks are intact, else give one line.
    original = RunStore(pristine[1])
    for run_id in ids:
        assert RunStore(store).show(run_id)["summary"] == original.show(run_id)["summary"]
        try:
            xr.testing.assert_identical(RunStore(store).load(run_id), original.load(run_id))
        except FlopgridError as exc:
            assert str(exc).startswith(f"{store}: the run store is damaged (Corrupt database file")
            assert "\n" not in str(exc)


def test_garbage_in_the_headers_is_refused(store: Path) -> None:
    with store.open("r+b") as file:
        file.write(np.random.default_rng(1).bytes(HEADER))
    code, _, stderr = _cli("runs", "list", "--store", str(store))
    assert code == 2 and "move it away" in _one_line(stderr, store)


def test_an_older_store_without_a_version_reads_and_is_migrated_on_write(
    pristine: tuple[Path, Path, list[str]], store: Path
) -> None:
    _, _, ids = pristine
    with duckdb.connect(str(store)) as con:
        con.execute("DROP TABLE meta")
    old = RunStore(store)
    assert sorted(old.list()["run_id"]) == sorted(ids)
    old.delete(ids[0])
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT key, value FROM meta").fetchall() == [
            ("schema_version", str(SCHEMA_VERSION))
        ]
    assert sorted(RunStore(store).list()["run_id"]) == sorted(ids[1:])


def test_a_store_of_a_newer_format_is_refused(store: Path) -> None:
    with duckdb.connect(str(store)) as con:
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    before = store.read_bytes()
    for args in (["runs", "list"], ["runs", "delete", "x"]):
        code, _, stderr = _cli(*args, "--store", str(store))
        assert code == 2 and "written by a newer flopgrid" in _one_line(stderr, store)
    assert store.read_bytes() == before


def test_a_store_missing_some_of_its_tables_is_damaged(store: Path) -> None:
    with duckdb.connect(str(store)) as con:
        con.execute("DROP TABLE coords")
    with pytest.raises(FlopgridError, match=r"damaged \(the table\(s\) coords are missing\)"):
        RunStore(store).list()


# ------------------------------------------------------------------ a full disk

#: Runs the CLI with the size of any file it writes capped at argv[1] bytes (RLIMIT_FSIZE): a write
#: past it fails with EFBIG, as on a full disk (Python ignores SIGXFSZ, so DuckDB sees the error).
CAPPED = (
    "import resource, runpy, sys\n"
    "cap = int(sys.argv.pop(1))\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))\n"
    "sys.argv[0] = 'flopgrid'\n"
    "runpy.run_module('flopgrid', run_name='__main__')\n"
)


@contextlib.contextmanager
def _small_tmpfs(folder: Path, size: int) -> Iterator[Path]:
    folder.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc}); the RLIMIT_FSIZE case covers a full disk")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False, capture_output=True)


def _state(path: Path, ids: list[str]) -> tuple[list[str], list[xr.Dataset]]:
    store = RunStore(path)
    return sorted(store.list()["run_id"]), [store.load(run_id) for run_id in ids]


def _full_disk_run(scenario_file: Path, store: Path, cap: int | None) -> subprocess.CompletedProcess[str]:
    # 1,000 samples (the most the CLI records) need more room than the store's free blocks.
    args = ["run", str(scenario_file), "--samples", "1000", "--seed", "9", "--store", str(store)]
    command = (
        [sys.executable, "-c", CAPPED, str(cap), *args] if cap else [sys.executable, "-m", "flopgrid", *args]
    )
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)


@pytest.mark.parametrize("disk", ["rlimit_fsize", "tmpfs"])
def test_a_full_disk_is_one_line_and_loses_no_run(
    pristine: tuple[Path, Path, list[str]], tmp_path: Path, disk: str
) -> None:
    scenario_file, source, ids = pristine
    before = _state(source, ids)
    if disk == "tmpfs":
        # A tmpfs with 64 kB to spare after the store: as a disk that fills up.
        context: contextlib.AbstractContextManager[Path] = _small_tmpfs(
            tmp_path / "disk", source.stat().st_size + 64 * 1024
        )
    else:
        context = contextlib.nullcontext(tmp_path)
    with context as folder:
        store = Path(shutil.copy(source, folder / "runs.duckdb"))
        proc = _full_disk_run(scenario_file, store, store.stat().st_size if disk == "rlimit_fsize" else None)
        line = _one_line(proc.stderr, store)
        assert proc.returncode == 2 and "no room left on the disk" in line and "nothing was written" in line
        after = _state(store, ids)
        assert after[0] == before[0]
        for old, new in zip(before[1], after[1], strict=True):
            xr.testing.assert_identical(old, new)
        code, _, stderr = _cli("runs", "list", "--store", str(store))
        assert code == 0, stderr


class _FailingCommit:
    """A connection whose COMMIT fails as on a full disk, after which DuckDB refuses the ROLLBACK."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def execute(self, statement: str) -> None:
        self.statements.append(statement)
        if statement == "COMMIT":
            raise duckdb.IOException(
                'IO Error: Could not write file "runs.duckdb.wal": No space left on device'
            )
        if statement == "ROLLBACK":
            raise duckdb.TransactionException(
                "TransactionContext Error: cannot rollback - no transaction is active"
            )


def test_a_failed_commit_raises_its_own_error_not_the_refused_rollback() -> None:
    con = _FailingCommit()
    with pytest.raises(duckdb.IOException, match="No space left on device"), transaction(con):  # type: ignore[arg-type]
        con.execute("INSERT INTO runs VALUES (1)")
    assert con.statements == ["BEGIN TRANSACTION", "INSERT INTO runs VALUES (1)", "COMMIT", "ROLLBACK"]
