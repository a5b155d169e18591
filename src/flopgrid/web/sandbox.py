"""Untrusted scenarios are read and validated in worker processes, with a time and a memory limit.

A scenario a client sends (its YAML text or its content as a mapping) goes through the YAML reader,
the unit parser and pydantic. Should any of them be slow or greedy on some input (a unit expression
such as ``9**9**9 W`` that holds the interpreter in one C call, an alias bomb that expands to
gigabytes), that input must not stop the server: each task runs in a separate process under an
address-space limit (``RLIMIT_AS``), and a task that overruns its time is ended by killing its
process, which is then replaced. The server's event loop and its other clients never wait on it.

``concurrent.futures.ProcessPoolExecutor`` cannot end one overrunning task (only the whole pool,
breaking every other task), hence this small pool of its own: one pipe per worker process.
Worker processes are forked from a ``forkserver`` that has imported flopgrid once, so replacing a
killed worker takes milliseconds, not an import.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import resource
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

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


def _serve(conn: Connection, extra: int) -> None:
    """A worker's loop: run each ``(function, args)`` received, send back ``(ok, value)``."""
    _limit_memory(extra)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        function, args = task
        try:
            reply: tuple[str, Any] = ("ok", function(*args))
        except FlopgridError as exc:
            reply = ("error", exc)
        except MemoryError:
            reply = ("refused", "reading it needs more memory than the server allows one request")
        except RecursionError:
            reply = ("refused", "it is nested too deeply")
        except Exception as exc:
            # Input that trips an unexpected error in a reader is still the input's fault as far as
            # the client is concerned: a 422 naming the error, never a 500.
            reply = ("refused", f"it could not be read ({type(exc).__name__}: {str(exc)[:200]})")
        try:
            conn.send(reply)
        except Exception as exc:  # the value or error would not pickle
            conn.send(("refused", f"its result could not be returned ({type(exc).__name__})"))


class Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: Any, extra: int) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.process: BaseProcess = context.Process(
            target=_serve, args=(child, extra), name="flopgrid-sandbox", daemon=True
        )
        self.process.start()
        child.close()

    def stop(self) -> None:
        """End the process now (it may be stuck in one C call that no signal handler interrupts)."""
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


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
        self._context = multiprocessing.get_context("forkserver")
        # The forkserver imports these once; each worker forked from it starts with them loaded.
        self._context.set_forkserver_preload(["flopgrid.web.inputs"])
        self._idle: queue.Queue[Worker | None] = queue.Queue()
        self._lock = threading.Lock()
        self._started = 0
        self._closed = False
        #: Tasks ended for overrunning their time, and workers replaced for any reason (for health).
        self.timeouts = 0
        self.replaced = 0
        #: Tasks running now.
        self.busy = 0

    def _take(self) -> Worker:
        with self._lock:
            if self._closed:
                raise SandboxBusy("the server is shutting down")
            if self._idle.empty() and self._started < self.size:
                # Workers start on first use, so an app that never reads an upload starts none.
                self._started += 1
                return Worker(self._context, self.memory)
        try:
            worker = self._idle.get(timeout=self.wait)
        except queue.Empty:
            raise SandboxBusy(
                f"all {self.size} scenario readers stayed busy for {self.wait:g} s; retry in a moment"
            ) from None
        if worker is None:  # closed meanwhile
            raise SandboxBusy("the server is shutting down")
        return worker

    def warm(self) -> None:
        """Start the workers now (the first start imports flopgrid in the forkserver: seconds), so
        that the first upload does not wait for it."""
        with self._lock:
            while not self._closed and self._started < self.size:
                self._started += 1
                self._idle.put(Worker(self._context, self.memory))

    def _give_back(self, worker: Worker) -> None:
        with self._lock:
            if self._closed:
                worker.stop()
                return
        self._idle.put(worker)

    def _replace(self, worker: Worker) -> None:
        worker.stop()
        self.replaced += 1
        with self._lock:
            self._started -= 1

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
        worker = self._take()
        with self._lock:
            self.busy += 1
        try:
            return self._run(worker, function, args)
        finally:
            with self._lock:
                self.busy -= 1

    def _run(self, worker: Worker, function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        try:
            worker.conn.send((function, args))
            if not worker.conn.poll(self.seconds):
                self.timeouts += 1
                self._replace(worker)
                raise SandboxRefused(
                    f"reading this scenario took longer than {self.seconds:g} s, the server's limit; "
                    "simplify its unit expressions or YAML"
                )
            status, value = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._replace(worker)
            raise SandboxRefused("reading this scenario crashed its worker process") from None
        if status == "refused":
            # A worker that hit its memory limit may be left fragmented: start afresh.
            self._replace(worker)
            raise SandboxRefused(f"the scenario was refused: {value}")
        self._give_back(worker)
        if status == "error":
            raise value
        return value

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
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            if worker is not None:
                worker.stop()
        self._idle.put(None)
