"""Solving the planner's LP with HiGHS and reading its decisions back."""

from __future__ import annotations

import os
import sys

import linopy
import numpy as np
import xarray as xr

from flopgrid.plan.model import BUILDS, Built, PlanError


class _Quiet:
    """Silence HiGHS, which writes its banner to the process's stdout (not Python's), so that
    ``flopgrid plan --json`` prints only JSON."""

    def __enter__(self) -> None:
        sys.stdout.flush()
        self._saved = os.dup(1)
        self._null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(self._null, 1)

    def __exit__(self, *exc: object) -> None:
        os.dup2(self._saved, 1)
        os.close(self._saved)
        os.close(self._null)


def solve(built: Built, threads: int = 1) -> None:
    """Solve with HiGHS; raise :class:`PlanError` on anything but an optimum.

    Parameters
    ----------
    built
        A model from :func:`flopgrid.plan.build`; its solution and duals are stored in it.
    threads
        Threads HiGHS may use.
    """
    with _Quiet():
        status, condition = built.model.solve(
            solver_name="highs", io_api="direct", output_flag=False, threads=threads
        )
    if status != "ok":
        raise PlanError(f"HiGHS did not find an optimum ({status}: {condition}); please report this scenario")


def value(x: linopy.Variable | linopy.LinearExpression) -> xr.DataArray:
    """The solution, with solver round-off (|x| < 1e-9 in LP units) cleared.

    Parameters
    ----------
    x
        A variable or expression of a solved model.

    Returns
    -------
    xarray.DataArray
        Over ``x``'s dimensions, in LP units.
    """
    out: xr.DataArray = x.solution.fillna(0.0)
    return out.where(np.abs(out) > 1e-9, 0.0)


def decisions(built: Built) -> dict[str, xr.DataArray]:
    """Decision values of a solved model in LP units, by variable name (the myopic planner fixes its
    past with them).

    Parameters
    ----------
    built
        A solved model.

    Returns
    -------
    dict of str to xarray.DataArray
        The builds (``BUILDS``) and ``accelerators_shipped``.
    """
    names = [*BUILDS, "accelerators_shipped"]
    return {name: value(built.model.variables[name]) for name in names}
