"""What the routers of one app share: its settings, the job manager, the run store, the caches of
recent results, and the ``Depends`` helpers that hand them to a request.

The state lives on ``app.state.services``; a route asks for it with a :data:`ServicesDep` parameter, so
two apps in one process (tests, a benchmark) never share caches or jobs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, cast

import xarray as xr
from cachetools import LRUCache
from fastapi import Depends, Request

from flopgrid.errors import ScenarioError
from flopgrid.scenario import Scenario
from flopgrid.simulate import simulate
from flopgrid.web.inputs import RunRequest, ScenarioInput, load, trusted
from flopgrid.web.jobs import JobManager
from flopgrid.web.runs import Runs
from flopgrid.web.sandbox import Sandbox

MAX_BODY = 2_000_000
MAX_SYNC_SAMPLES = 10_000
MAX_JOB_SAMPLES = 50_000
#: Results kept for repeated identical requests (deterministic reruns from the dashboard): count, bytes.
CACHE_ITEMS, CACHE_BYTES = 64, 20_000_000
#: Largest rendered simulate response kept for identical requests.
RENDERED_BYTES = 2_000_000
#: Most samples of a run recorded in the store, as the CLI (``flopgrid run``) does: a run keeps every
#: sample, and a 5,000-sample run (21.6 M rows) cannot be read back in bounded memory.
RECORD_SAMPLES = 1_000
#: Bytes of finished jobs' full results kept for their charts and downloads (a 5,000-sample run of
#: the seed scenario is 170 MB): fifty kept jobs would otherwise hold gigabytes.
JOB_RESULTS_BYTES = 2_000_000_000
#: Seconds a synchronous simulation may run; it stops at its next block of samples past this.
SIMULATE_SECONDS = 120.0


@dataclass
class Settings:
    """Limits and options of one app instance."""

    token: str | None = None
    store_path: str | None = None
    record: bool = True
    max_body: int = MAX_BODY
    max_sync_samples: int = MAX_SYNC_SAMPLES
    max_job_samples: int = MAX_JOB_SAMPLES
    max_jobs: int = 8
    #: Synchronous simulations computed at once (the others queue).
    compute_slots: int = 2
    #: Processes reading untrusted scenarios (uploads, mappings), and the limits of one reading.
    readers: int = 2
    read_seconds: float = 5.0
    read_bytes: int = 1_000_000_000
    #: Time limit of one synchronous simulation.
    simulate_seconds: float = SIMULATE_SECONDS
    #: Most samples of a run recorded in the run store (above, the run is not recorded).
    record_samples: int = RECORD_SAMPLES
    #: Most bytes of finished jobs' full results kept in memory (the newest job's always are).
    job_results_bytes: int = JOB_RESULTS_BYTES


class Services:
    """The shared state of one app: settings, jobs, the run store and the caches.

    The caches are read and written from the request threads, so every access holds :attr:`lock`
    (``cachetools`` caches are not thread-safe by themselves).

    Parameters
    ----------
    settings
        The app's limits and options.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.jobs = JobManager(max_active=settings.max_jobs, keep_bytes=settings.job_results_bytes)
        self.sandbox = Sandbox(
            workers=settings.readers, seconds=settings.read_seconds, memory=settings.read_bytes
        )
        self.runs = Runs(settings.store_path, enabled=settings.record)
        #: Results by (scenario hash, samples, seed): the hash of the validated scenario, which tells
        #: NaN from Infinity (a JSON encoding of the request would not).
        self.results: LRUCache[tuple[str, int, int], xr.Dataset] = LRUCache(maxsize=CACHE_ITEMS)
        # Identical requests (a slider moved back, a shared permalink, many viewers) get the same bytes.
        self.rendered: LRUCache[str, bytes] = LRUCache(maxsize=CACHE_ITEMS)
        self.lock = threading.Lock()
        #: At most ``compute_slots`` synchronous simulations at once.
        self.compute_slots = threading.BoundedSemaphore(settings.compute_slots)

    def close(self) -> None:
        """Stop the jobs and the background recorder (at the app's shutdown)."""
        self.jobs.shutdown()
        self.sandbox.close()
        self.runs.close()

    def load(self, request: ScenarioInput) -> Scenario:
        """The scenario a request describes, validated; untrusted content is read in the sandbox.

        A shipped scenario with edited assumptions is read here (its text is ours and the
        assumptions are bounded by their model); YAML text or a mapping from the client is read in a
        worker process with a time and memory limit (:class:`~flopgrid.web.sandbox.Sandbox`).
        """
        if trusted(request):
            return load(request)
        scenario: Scenario = self.sandbox.call(load, request)
        return scenario

    def check_samples(self, samples: int, limit: int) -> None:
        """Raise a 422 (``ScenarioError`` on ``samples``) above ``limit``."""
        if samples > limit:
            raise ScenarioError(f"at most {limit:,} samples here, got {samples:,}", path="samples")

    def cached_body(self, key: str) -> bytes | None:
        """A rendered response kept for an identical request, or None."""
        with self.lock:
            return self.rendered.get(key)

    def deadline(self, started: float) -> Callable[[int, int], None]:
        """A ``progress`` callback that stops a simulation past :attr:`Settings.simulate_seconds`."""
        limit = self.settings.simulate_seconds

        def check(done: int, total: int) -> None:
            if time.perf_counter() - started > limit:
                raise ScenarioError(
                    f"the simulation ran past the server's limit of {limit:g} s after {done:,} of "
                    f"{total:,} samples; use fewer samples or a background job (POST /api/jobs)",
                    path="samples",
                )

        return check

    def keep_body(self, key: str, body: bytes) -> None:
        """Keep a rendered response for identical requests, unless it is too large."""
        if len(body) <= RENDERED_BYTES:
            with self.lock:
                self.rendered[key] = body

    def run_simulation(
        self, request: RunRequest, record_now: bool = False, scenario: Scenario | None = None
    ) -> tuple[xr.Dataset, str | None]:
        """Simulate (or reuse an identical recent run); returns the results and how the run was
        recorded. Without ``request.record``: ``"not-requested"``, or ``"cached"`` when an identical
        recent run answered. With it: the run id when ``record_now``, else ``"queued"``, ``"off"`` or
        ``"skipped"`` (see :meth:`Runs.record_later`), or ``"too-large"`` (more samples than
        :attr:`Settings.record_samples`). ``scenario`` is the request's, when already loaded."""
        scenario = scenario or self.load(request)
        key = (scenario.content_hash(), request.samples, request.seed)
        with self.lock:
            hit = self.results.get(key)
        if hit is None:
            started = time.perf_counter()
            ds = simulate(
                scenario, samples=request.samples, seed=request.seed, progress=self.deadline(started)
            )
            elapsed: float | None = time.perf_counter() - started
        else:
            ds, elapsed = hit, None
        if not request.record:
            recorded: str | None = "cached" if hit is not None else "not-requested"
        elif request.samples > self.settings.record_samples:
            recorded = "too-large"
        elif record_now:
            recorded = self.runs.record(
                ds, scenario, engine="simulate", seed=request.seed, samples=request.samples
            )
        else:
            # A run answered from the cache is recorded too when asked: the first may not have been.
            # The recorder stores it once.
            recorded = self.runs.record_later(
                ds, scenario, engine="simulate", seed=request.seed, samples=request.samples, seconds=elapsed
            )
        if hit is None and ds.nbytes <= CACHE_BYTES:
            with self.lock:
                self.results[key] = ds
        return ds, recorded


async def services(request: Request) -> Services:
    """The app's :class:`Services` (a FastAPI dependency)."""
    return cast(Services, request.app.state.services)


ServicesDep = Annotated[Services, Depends(services)]


def app_services(app: Any) -> Services:
    """The :class:`Services` of an app (outside a request, e.g. at shutdown)."""
    return cast(Services, app.state.services)
