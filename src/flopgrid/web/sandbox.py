"""Untrusted scenarios are read and validated in worker processes, with a time and a memory limit.

A scenario a client sends (its YAML text or its content as a mapping) goes through the YAML reader,
the unit parser and pydantic. Should any of them be slow or greedy on some input (a unit expression
that holds the interpreter in one C call, an alias bomb that expands to gigabytes), that input must not
stop the server: each task runs in a worker process of a :class:`pebble.ProcessPool` under an
address-space limit (``RLIMIT_AS``), and a task that overruns its time is ended by pebble, which kills
its worker and starts another. The server's event loop and its other clients never wait on it.

(``concurrent.futures.ProcessPoolExecutor`` cannot end one overrunning task without breaking the whole
pool; pebble's pool is made for exactly this.) Workers are started from a ``forkserver`` that has
imported flopgrid once, so replacing a killed worker takes milliseconds, not an import.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as TaskTimeout
from typing import Any

from pebble import ProcessExpired, ProcessPool

from flopgrid.errors import FlopgridError

#: Seconds one validation task may take (a shipped scenario validates in well under 0.1 s).
TASK_SECONDS = 5.0
#: Memory a worker may add to what it holds after start-up (bytes of address space).
TASK_BYTES = 1_000_000_000
#: Seconds a request waits for a free worker before it is turned away (429).
WAIT_SECONDS = 10.0


class SandboxBusy(FlopgridError):
    """Every worker stayed busy for longer than the wait allowed (a 429: retry later)."""


class SandboxRefused(FlopgridError):
    """A task overran its time or memory, or crashed its worker (the input is refused: a 422)."""


def _limit_memory(extra: int) -> None:
    """Cap this process's address space at what it uses now plus ``extra`` bytes."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[0])
    used = pages * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (used + extra, used + extra))


def _guarded(function: Callable[..., Any], args: tuple[Any, ...]) -> tuple[str, Any]:
    """Run in a worker: ``("ok", value)``, ``("error", FlopgridError)`` or ``("refused", why)``."""
    try:
        return ("ok", function(*args))
    except FlopgridError as exc:
        return ("error", exc)
    except MemoryError:
        return ("refused", "reading it needs more memory than the server allows one request")
    except RecursionError:
        return ("refused", "it is nested too deeply")
    except Exception as exc:
        # Input that trips an unexpected error in a reader is still the input's fault as far as the
        # client is concerned: a 422 naming the error, never a 500.
        return ("refused", f"it could not be read ({type(exc).__name__}: {str(exc)[:200]})")


class Sandbox:
    """A pool of worker processes running functions of untrusted input with limits.

    Parameters
    ----------
    workers
        Processes, i.e. untrusted inputs read at once.
    seconds
        Time limit of one task; the worker running an overrunning task is killed and replaced.
    memory
        Bytes of address space one worker may add to its start-up size; beyond, the task fails
        with a ``MemoryError`` inside the worker, which is then replaced.
    wait
        Seconds a caller waits for a free worker before :class:`SandboxBusy`.

    Examples
    --------
    >>> sandbox = Sandbox(workers=1)
    >>> sandbox.call(abs, -3)
    3
    >>> sandbox.close()
    """

    def __init__(
        self,
        workers: int = 2,
        seconds: float = TASK_SECONDS,
        memory: int = TASK_BYTES,
        wait: float = WAIT_SECONDS,
    ) -> None:
        self.size = workers
        self.seconds = seconds
        self.memory = memory
        self.wait = wait
        self._slots = threading.BoundedSemaphore(workers)
        # Re-entrant: a task is scheduled and registered under it, and starting the pool takes it too.
        self._lock = threading.RLock()
        self._pool: ProcessPool | None = None
        self._closed = False
        #: Tasks running now, so that closing can end them (a stopped pool leaves them unresolved).
        self._running: set[Future[Any]] = set()
        #: Tasks ended for overrunning their time, and workers replaced for any reason (for health).
        self.timeouts = 0
        self.replaced = 0
        #: Tasks running now.
        self.busy = 0

    def _started(self) -> ProcessPool:
        """The pool, started on first use (an app that never reads an upload starts none)."""
        with self._lock:
            if self._closed:
                raise SandboxBusy("the server is shutting down")
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                # The forkserver imports these once; each worker forked from it starts with them loaded.
                context.set_forkserver_preload(["flopgrid.web.inputs"])
                self._pool = ProcessPool(
                    max_workers=self.size, initializer=_limit_memory, initargs=(self.memory,), context=context
                )
            return self._pool

    def warm(self) -> None:
        """Start the workers now (the first start imports flopgrid in the forkserver: seconds), so
        that the first upload does not wait for it."""
        try:
            pool = self._started()
            for future in [pool.schedule(os.getpid) for _ in range(self.size)]:
                future.result()
        except (SandboxBusy, RuntimeError):
            pass  # closed meanwhile: nothing to warm

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` in a worker process: its value, or the ``FlopgridError`` it raised.

        ``function`` and ``args`` must pickle (a module-level function and plain data or models).

        Raises
        ------
        SandboxRefused
            The task overran :attr:`seconds` or its memory, or its worker died.
        SandboxBusy
            No worker became free within :attr:`wait` seconds.
        """
        if not self._slots.acquire(timeout=self.wait):
            raise SandboxBusy(
                f"all {self.size} scenario readers stayed busy for {self.wait:g} s; retry in a moment"
            )
        with self._lock:
            self.busy += 1
        try:
            status, value = self._outcome(function, args)
        finally:
            with self._lock:
                self.busy -= 1
            self._slots.release()
        if status == "refused":
            raise SandboxRefused(f"the scenario was refused: {value}")
        if status == "error":
            raise value
        return value

    def _outcome(self, function: Callable[..., Any], args: tuple[Any, ...]) -> tuple[str, Any]:
        """Run one task on the pool: its ``(status, value)``, or the error of its time, worker or close."""
        with self._lock:  # scheduled and registered at once: a close either sees it or comes first
            future = self._started().schedule(_guarded, args=(function, args), timeout=self.seconds)
            self._running.add(future)
        try:
            outcome: tuple[str, Any] = future.result()
            return outcome
        except CancelledError:
            raise SandboxBusy("the server is shutting down") from None
        except TaskTimeout:
            with self._lock:
                self.timeouts += 1
                self.replaced += 1
            raise SandboxRefused(
                f"reading this scenario took longer than {self.seconds:g} s, the server's limit; "
                "simplify its unit expressions or YAML"
            ) from None
        except ProcessExpired:
            with self._lock:
                self.replaced += 1
            raise SandboxRefused("reading this scenario crashed its worker process") from None
        except Exception as exc:  # the value or error would not pickle
            raise SandboxRefused(f"its result could not be returned ({type(exc).__name__})") from None
        finally:
            with self._lock:
                self._running.discard(future)

    def status(self) -> dict[str, Any]:
        """Counters for the health endpoint."""
        return {
            "workers": self.size,
            "seconds": self.seconds,
            "memory_bytes": self.memory,
            "timeouts": self.timeouts,
            "replaced": self.replaced,
            "busy": self.busy,
        }

    def close(self) -> None:
        """Stop every worker (at the app's shutdown); later calls raise :class:`SandboxBusy`."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            running = list(self._running)
        for future in running:
            future.cancel()  # pebble ends the worker running it; its caller gets SandboxBusy
        if pool is not None:
            pool.stop()  # type: ignore[no-untyped-call]
            pool.join(timeout=5)
