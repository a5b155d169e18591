"""Dask worker plugins that put the fault tests' events at exact points of a task's life, so that the
tests synchronise on those events instead of on sleeps: a worker that pauses after its first flopgrid task
(nothing else runs until the test resumes it), and a worker that kills itself the moment a flopgrid task
starts executing (once: a marker file says it happened, so the replacement worker runs the retry).

Loaded in two ways: registered from a test with ``client.register_plugin`` (pickled by value), or as a
Dask preload file (``distributed.worker.preload``) for the workers of a sweep's own LocalCluster, which
adds :class:`PauseAfterFirst` when ``FLOPGRID_TEST_PAUSE_AFTER_FIRST`` is set.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from distributed import WorkerPlugin
from distributed.core import Status

#: Task keys of a sweep start with this (see flopgrid.sweep.run_sweep).
PREFIX = "flopgrid-"


def _ours(key: Any) -> bool:
    return str(key).startswith(PREFIX)


class PauseAfterFirst(WorkerPlugin):
    """Pause the worker as soon as its first flopgrid task has finished (its result is kept and sent).

    A paused worker starts no new task until ``resume`` runs on it, so the sweep is held with exactly the
    tasks that were executing (one per thread) finished.
    """

    name = "flopgrid-pause-after-first"

    def __init__(self) -> None:
        self.paused = False
        self.worker: Any = None

    def setup(self, worker: Any) -> None:
        self.worker = worker

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if self.paused or not _ours(key) or (start, finish) != ("executing", "memory"):
            return
        self.paused = True
        # Not from inside the state machine's own transition: on the event loop, right after it.
        self.worker.loop.add_callback(_pause, self.worker)


def _pause(worker: Any) -> None:
    worker.status = Status.paused


def resume(dask_worker: Any) -> None:
    """For ``client.run``: let a paused worker take tasks again."""
    dask_worker.status = Status.running


class KillOnceOnStart(WorkerPlugin):
    """SIGKILL the worker process the moment a flopgrid task starts executing, the first time only.

    ``marker`` is created (exclusively) before the kill; the nanny's replacement worker gets the plugin
    again from the scheduler, sees the marker and lets the retried task run.
    """

    name = "flopgrid-kill-once-on-start"

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if not _ours(key) or finish != "executing":
            return
        try:
            with open(self.marker, "x", encoding="utf-8") as file:
                file.write(str(key))
        except FileExistsError:
            return
        os.kill(os.getpid(), signal.SIGKILL)


async def dask_setup(worker: Any) -> None:
    """Preload hook: a sweep's own LocalCluster workers pause after their first task when asked."""
    if os.environ.get("FLOPGRID_TEST_PAUSE_AFTER_FIRST"):
        await worker.plugin_add(PauseAfterFirst())
