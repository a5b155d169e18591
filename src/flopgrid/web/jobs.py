"""Background jobs: long runs (planner, large Monte Carlo, sensitivity, sweeps) off the request path.

A bounded queue feeds a small pool of worker threads. Each job reports progress through a callback
that is also where cancellation lands: a cancelled job's next progress report raises
:class:`JobCancelled`, so the engine stops at its next block of samples rather than running to the end.
Finished jobs are kept (up to ``keep``) so clients can fetch their results; the full results (a
5,000-sample run is 170 MB) only of the newest jobs, up to ``keep_bytes`` together: older jobs keep
their summary, and their charts and downloads answer 410.

Cancelling and recording cannot both win: a job calls :meth:`Job.begin_recording` before it writes
its run to the store. A cancel that comes first stops the job there, and nothing is recorded; a cancel
that comes after leaves the job to finish, and it ends ``done`` with the message
:data:`DONE_BEFORE_CANCEL`, so a client never sees "cancelled" for a run that is in the store.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import xarray as xr

from flopgrid.errors import FlopgridError, ScenarioError

Status = Literal["queued", "running", "done", "failed", "cancelled"]
ACTIVE: tuple[Status, ...] = ("queued", "running")


#: The message of a job that a cancel reached only once its run was being recorded.
DONE_BEFORE_CANCEL = "done before cancel: the run was already being recorded when the cancel came"


class JobCancelled(Exception):
    """Raised inside a job's progress callback once the job has been cancelled."""


class QueueFull(FlopgridError):
    """The job queue is at its bound; the client should retry later."""


@dataclass
class Outcome:
    """What a job leaves behind: results (for charts and downloads) and a JSON-ready summary."""

    results: xr.Dataset | None
    summary: dict[str, Any]
    #: The results were let go to bound the server's memory (see ``JobManager.keep_bytes``).
    released: bool = False


@dataclass
class Job:
    id: str
    kind: str
    description: str
    status: Status = "queued"
    progress: float = 0.0
    message: str = "waiting for a worker"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    error: dict[str, Any] | None = None
    outcome: Outcome | None = None
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    #: Set by :meth:`begin_recording`: from then on a cancel no longer stops the job.
    recording: bool = False
    #: A cancel came while the job was recording.
    cancel_too_late: bool = False
    #: Orders cancels against the start of the job and of its recording.
    guard: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: Set once the job has ended (done, failed or cancelled): what a waiter waits on.
    ended: threading.Event = field(default_factory=threading.Event, repr=False)

    def begin_recording(self) -> None:
        """Cross the point after which the job's run is written: raise :class:`JobCancelled` if a
        cancel came first, else make later cancels finish as :data:`DONE_BEFORE_CANCEL`."""
        with self.guard:
            if self.cancel_requested.is_set():
                raise JobCancelled
            self.recording = True
            self.message = "recording the run"

    def report(self, done: float, total: float, message: str | None = None) -> None:
        """Record progress; raise :class:`JobCancelled` when the job was cancelled meanwhile."""
        if self.cancel_requested.is_set():
            raise JobCancelled
        self.progress = min(1.0, done / total) if total else 0.0
        if message is not None:
            self.message = message

    def public(self) -> dict[str, Any]:
        """The job's state as the API shows it."""
        elapsed = None
        if self.started is not None:
            elapsed = (self.finished or time.time()) - self.started
        return {
            "id": self.id,
            "kind": self.kind,
            "description": self.description,
            "status": self.status,
            "progress": round(self.progress, 4),
            "message": self.message,
            "created": self.created,
            "elapsed_s": elapsed,
            "error": self.error,
            "result": self.outcome.summary if self.outcome is not None else None,
        }


Work = Callable[[Job], Outcome]


class JobManager:
    """A bounded queue of background jobs run by ``workers`` threads.

    Parameters
    ----------
    max_active
        Most jobs queued or running at once; :meth:`submit` raises :class:`QueueFull` beyond it.
    workers
        Threads running jobs (one by default: jobs are CPU-bound and the simulator already uses a
        thread per core for large runs).
    keep
        Finished jobs kept for clients to fetch; the oldest are forgotten first.
    keep_bytes
        Most bytes of full results kept over the finished jobs; the newest job's are always kept,
        older ones are released (their summaries stay).
    """

    def __init__(
        self, max_active: int = 8, workers: int = 1, keep: int = 50, keep_bytes: int = 2_000_000_000
    ) -> None:
        self.max_active = max_active
        self.keep = keep
        self.keep_bytes = keep_bytes
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flopgrid-job")

    def submit(self, kind: str, description: str, work: Work) -> Job:
        """Queue a job and start it on the pool; refused (429) when too many jobs are active."""
        with self._lock:
            active = sum(job.status in ACTIVE for job in self._jobs.values())
            if active >= self.max_active:
                raise QueueFull(
                    f"the job queue is full ({active} of {self.max_active} jobs queued or running); "
                    "wait for one to finish or cancel one"
                )
            job = Job(
                id=f"job-{next(self._ids)}-{int(time.time() * 1000) % 100000:05d}",
                kind=kind,
                description=description,
            )
            self._jobs[job.id] = job
            self._forget_old()
        self._pool.submit(self._run, job, work)
        return job

    def _release_old(self) -> None:
        with self._lock:
            held = 0
            for job in sorted(self._jobs.values(), key=lambda j: j.finished or 0.0, reverse=True):
                outcome = job.outcome
                if outcome is None or outcome.results is None:
                    continue
                held += outcome.results.nbytes
                if held > self.keep_bytes and held > outcome.results.nbytes:
                    held -= outcome.results.nbytes
                    outcome.results, outcome.released = None, True

    def _forget_old(self) -> None:
        finished = [job for job in self._jobs.values() if job.status not in ACTIVE]
        for job in sorted(finished, key=lambda j: j.created)[: max(0, len(finished) - self.keep)]:
            del self._jobs[job.id]

    def _run(self, job: Job, work: Work) -> None:
        with job.guard:
            if job.cancel_requested.is_set():
                job.ended.set()
                return
            job.status, job.started, job.message = "running", time.time(), "running"
        try:
            job.outcome = work(job)
        except JobCancelled:
            job.status, job.message = "cancelled", "cancelled while running"
        except ScenarioError as exc:
            job.status, job.message = "failed", str(exc)
            job.error = {"msg": exc.message, "path": exc.path, "line": exc.line}
        except FlopgridError as exc:
            job.status, job.message = "failed", str(exc)
            job.error = {"msg": str(exc), "path": None, "line": None}
        except MemoryError:
            job.status, job.message = "failed", "the job ran out of memory; use fewer samples"
            job.error = {"msg": job.message, "path": "samples", "line": None}
        except Exception as exc:
            # A job runner must not leave a job "running" forever: an unexpected error (a bug in an
            # engine) fails the job with its type and message so it can be reported.
            job.status, job.message = "failed", f"internal error: {type(exc).__name__}: {exc}"
            job.error = {"msg": job.message, "path": None, "line": None}
        else:
            with job.guard:
                job.status, job.progress = "done", 1.0
                job.message = DONE_BEFORE_CANCEL if job.cancel_too_late else "done"
        finally:
            job.finished = time.time()
            self._release_old()
            job.ended.set()

    def get(self, job_id: str) -> Job:
        """The job, or KeyError."""
        return self._jobs[job_id]

    def list(self) -> list[Job]:
        """Every job, newest first."""
        return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    def cancel(self, job_id: str) -> Job:
        """Ask a job to stop: a queued job never starts, a running one stops at its next report, and
        one already recording its run finishes (as :data:`DONE_BEFORE_CANCEL`)."""
        job = self._jobs[job_id]
        with job.guard:
            if job.status not in ACTIVE:
                return job
            if job.recording:
                job.cancel_too_late = True
                job.message = "recording the run; it will be done before the cancel"
                return job
            job.cancel_requested.set()
            if job.status == "queued":
                job.status, job.message, job.finished = (
                    "cancelled",
                    "cancelled before it started",
                    time.time(),
                )
                job.ended.set()
            else:
                job.message = "cancelling"
        return job

    def shutdown(self) -> None:
        """Cancel the active jobs and stop the pool (the server is stopping)."""
        for job in list(self._jobs.values()):
            if job.status in ACTIVE:
                job.cancel_requested.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
