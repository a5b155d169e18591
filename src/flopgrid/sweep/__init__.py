"""Sweeps: many variants of one scenario, run on Dask distributed, every result kept in the run store.

A sweep is a base scenario and a set of variants: a grid (every combination of the values given per
key), a list of cases (named sets of overrides), or a Latin hypercube over numeric ranges. Keys are
dotted paths into the scenario file, e.g. ``horizon.end`` or ``builds.datacentres[0].count`` or
``parameters.accelerators.GB300.price``.

:mod:`~flopgrid.sweep.spec` reads sweep files and ``--vary`` options into tasks;
:mod:`~flopgrid.sweep.runner` runs them (the client is the store's only writer) and ranks the keys.
"""

from __future__ import annotations

from flopgrid.sweep.runner import (
    BATCH_RUNS,
    BATCH_SECONDS,
    SweepReport,
    execute,
    run_sweep,
    sensitivity,
    task_keys,
)
from flopgrid.sweep.spec import (
    DEFAULT_OUTPUTS,
    SWEEP_KEYS,
    Sweep,
    SweepError,
    Task,
    base_data,
    load_sweep,
    parse_vary,
    set_path,
)

__all__ = [
    "BATCH_RUNS",
    "BATCH_SECONDS",
    "DEFAULT_OUTPUTS",
    "SWEEP_KEYS",
    "Sweep",
    "SweepError",
    "SweepReport",
    "Task",
    "base_data",
    "execute",
    "load_sweep",
    "parse_vary",
    "run_sweep",
    "sensitivity",
    "set_path",
    "task_keys",
]
