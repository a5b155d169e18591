"""The web app's view of the run store (``flopgrid.store.RunStore``, DuckDB).

A run the API makes is recorded only when its request asks (``"record": true``): a dashboard's slider
makes dozens of runs a minute that nobody means to keep. A run is stored once: a run whose key
(scenario hash, engine, seed, samples, code version) is queued already or found in the store is not
encoded or written again (a job's answer is then the stored run's id). Writing a run takes
from a fraction of a second to many seconds (Monte Carlo results are large), far longer than a slider
allows, so synchronous runs are handed to one background recorder thread and appear in the store a
moment later; jobs, already in the background, record directly and report the run id. The store is
opened on first use, and DuckDB calls are serialised with a lock because request handlers run on many
threads. While the store module is not installed, recording is skipped and the store endpoints answer
404 with a message saying why.
"""

from __future__ import annotations

import queue
import sys
import threading
from typing import Any

import pandas as pd
import xarray as xr

from flopgrid.errors import FlopgridError
from flopgrid.scenario import Scenario
from flopgrid.store import RunStore, run_record, task_key

#: Most queued runs the recorder writes in one transaction.
BATCH = 64


class RunsUnavailable(FlopgridError):
    """The run store is not installed, or a run id is unknown."""


class Runs:
    """A lazily opened, thread-safe handle on the run store.

    Parameters
    ----------
    path
        The DuckDB file; None for the store's default location.
    enabled
        False to neither record nor read runs (e.g. a throw-away server).
    max_pending_bytes
        Results waiting for the background recorder, at most; runs beyond it are not recorded (and
        counted in :meth:`status`).
    """

    def __init__(
        self, path: str | None = None, enabled: bool = True, max_pending_bytes: int = 1_000_000_000
    ) -> None:
        self.path = path
        self.enabled = enabled
        self._store: Any = None
        self._lock = threading.RLock()
        #: Notified whenever the recorder finishes a batch (see :meth:`wait_idle`).
        self._idle = threading.Condition(self._lock)
        self._queue: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
        self._recorder: threading.Thread | None = None
        self.max_pending_bytes = max_pending_bytes
        self.pending = 0
        self.pending_bytes = 0
        self.skipped = 0
        self.failed = 0
        self.last_error: str | None = None
        #: Task keys queued for the recorder and not yet written.
        self.queued: set[str] = set()

    def _open(self) -> Any:
        if not self.enabled:
            raise RunsUnavailable("this server was started without a run store (--no-store)")
        if self._store is None:
            self._store = RunStore(self.path)
        return self._store

    def available(self) -> bool:
        """Whether this server has a run store (not started with --no-store)."""
        return self.enabled

    def record(
        self,
        results: xr.Dataset,
        scenario: Scenario,
        *,
        engine: str,
        seed: int,
        samples: int,
        seconds: float | None = None,
    ) -> str | None:
        """Record a run; its id (an identical run's, when one is stored), or None when there is no
        store to record in."""
        if not self.available():
            return None
        timings = {"run": seconds} if seconds is not None else None
        with self._lock:
            store = self._open()
            return str(
                store.record(results, scenario, engine=engine, seed=seed, samples=samples, timings=timings)
            )

    def record_later(
        self,
        results: xr.Dataset,
        scenario: Scenario,
        *,
        engine: str,
        seed: int,
        samples: int,
        seconds: float | None = None,
    ) -> str:
        """Queue a run for recording by the background recorder; says what became of it.

        Returns ``"queued"`` (also when an identical run is queued already: it is written once, and
        not at all when the store holds it), ``"off"`` (no store) or ``"skipped"`` (the queue already holds
        :attr:`max_pending_bytes` of results: the server is recording slower than it runs).
        """
        if not self.available():
            return "off"
        key = task_key(scenario.content_hash(), engine, seed, samples)
        with self._lock:
            if key in self.queued:
                return "queued"
            if self.pending_bytes + results.nbytes > self.max_pending_bytes:
                self.skipped += 1
                return "skipped"
            self.pending_bytes += results.nbytes
            self.pending += 1
            self.queued.add(key)
            if self._recorder is None:
                self._recorder = threading.Thread(target=self._drain, name="flopgrid-recorder", daemon=True)
                self._recorder.start()
        self._queue.put((key, results, scenario, engine, seed, samples, seconds))
        return "queued"

    def _drain(self) -> None:
        # Runs waiting together are written in one transaction: a DuckDB commit costs several times
        # the encoding of a deterministic run, so a backlog clears much faster in batches.
        stop = False
        while not stop:
            batch = [self._queue.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if None in batch:
                stop = True
            items = [item for item in batch if item is not None]
            if not items:
                continue
            try:
                with self._lock:
                    store = self._open()
                    found = {item[0]: store.stored_id(item[0]) for item in items}
                # Runs already in the store (written by the CLI, another server, an earlier session)
                # are not encoded again: encoding is most of the cost of recording a large run.
                fresh = [item for item in items if found[item[0]] is None]
                records = [
                    run_record(
                        results,
                        scenario,
                        engine=engine,
                        seed=seed,
                        samples=samples,
                        timings=None if seconds is None else {"run": seconds},
                    )
                    for _, results, scenario, engine, seed, samples, seconds in fresh
                ]
                with self._lock:
                    store.write(records)
            except FlopgridError as exc:
                self.failed += len(items)
                self.last_error = (
                    str(exc).replace(str(self.path or ""), "run store") if self.path else str(exc)
                )
            finally:
                with self._lock:
                    self.pending -= len(items)
                    self.pending_bytes -= sum(item[1].nbytes for item in items)
                    self.queued.difference_update(item[0] for item in items)
                    self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no run is queued for the recorder (at most ``timeout`` seconds); whether it is
        idle."""
        with self._idle:
            return self._idle.wait_for(lambda: self.pending == 0, timeout)

    def status(self) -> dict[str, Any]:
        """The recorder's counters, for the health endpoint."""
        return {
            "available": self.available(),
            "pending": self.pending,
            "skipped": self.skipped,
            "failed": self.failed,
            "last_error": self.last_error,
        }

    def _call(self, method: str, *args: Any) -> Any:
        with self._lock:
            store = self._open()
            try:
                return getattr(store, method)(*args)
            except (KeyError, LookupError, FlopgridError) as exc:
                # The store names its file; clients of a server are not told server paths.
                message = str(exc.args[0] if exc.args else exc).replace(str(store.path), "run store")
                raise RunsUnavailable(message) from None

    def list(self, limit: int | None = None) -> pd.DataFrame:
        """The stored runs, newest first (at most ``limit``)."""
        frame: pd.DataFrame = self._call("list", limit)
        return frame

    def show(self, run_id: str) -> dict[str, Any]:
        """One run's metadata and headline totals."""
        shown: dict[str, Any] = self._call("show", run_id)
        return shown

    def load(self, run_id: str) -> xr.Dataset:
        """One run's Results, as recorded."""
        ds: xr.Dataset = self._call("load", run_id)
        return ds

    def diff(self, a: str, b: str) -> pd.DataFrame:
        """The headline totals of two runs side by side."""
        frame: pd.DataFrame = self._call("diff", a, b)
        return frame

    def delete(self, run_id: str) -> None:
        """Delete a stored run."""
        self._call("delete", run_id)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the recorder after the runs queued so far, waiting at most ``timeout`` seconds; runs
        still queued then are not recorded, and a line on stderr says how many."""
        if self._recorder is not None:
            self._queue.put(None)
            self._recorder.join(timeout=timeout)
            if self._recorder.is_alive():
                sys.stderr.write(f"flopgrid: {self.pending} run(s) left unrecorded at shutdown\n")
                while True:
                    try:
                        self._queue.get_nowait()
                    except queue.Empty:
                        break
                self._queue.put(None)
            self._recorder = None
        with self._lock:
            closer = getattr(self._store, "close", None)
            if callable(closer):
                closer()
            self._store = None
