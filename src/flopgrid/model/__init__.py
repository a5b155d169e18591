"""The chain as pure array functions, one module per stage.

Arrays follow the axis order ``(sample, year, region, item)``; any axis may have length 1 and broadcast.
Flows (wafers started, chips produced, energy, money) are per model year; stocks (capacity, installed
fleet) are at the end of the year.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np


def dot_last(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum over the last axis, weighted when ``weights`` is given (broadcasting like ``*``).

    The item axes (accelerators, sources, assets) are short; numpy's reductions over a short last axis
    are several times slower than ``einsum``, which is why the model sums with this.
    """
    if weights is None:
        total: np.ndarray = np.einsum("...a->...", values)
        return total
    values, weights = np.broadcast_arrays(values, weights)
    weighted: np.ndarray = np.einsum("...a,...a->...", values, weights)
    return weighted


def sum_over(values: np.ndarray, axis: int | tuple[int, ...]) -> np.ndarray:
    """Sum over ``axis`` (one or several), as ``values.sum(axis)``: with ``einsum``, several times faster
    than numpy's reductions over the model's short axes (regions, items), wherever they sit.

    Examples
    --------
    >>> sum_over(np.arange(24.0).reshape(2, 3, 4), (0, 2)).tolist()
    [60.0, 92.0, 124.0]
    """
    out: np.ndarray = np.einsum(values, list(range(values.ndim)), _kept(values.ndim, axis), order="C")
    return out


@functools.cache
def _kept(ndim: int, axis: int | tuple[int, ...]) -> list[int]:
    """The axes of an ``ndim`` array left after summing over ``axis``."""
    gone = {a % ndim for a in ((axis,) if isinstance(axis, int) else axis)}
    return [a for a in range(ndim) if a not in gone]


def contiguous(
    values: np.ndarray, shape: tuple[int, ...], dtype: type[np.generic] = np.float64
) -> np.ndarray:
    """``values`` broadcast to ``shape`` as a C-ordered, writeable array of ``dtype``: the one memory
    layout a :func:`compiled` loop is built for (another layout would be compiled anew)."""
    # A broadcast view is read-only, so only what needs broadcasting is (or it would always be copied).
    shaped = values if np.shape(values) == shape else np.broadcast_to(values, shape)
    out: np.ndarray = np.require(shaped, dtype, ["C", "W"])
    return out


def compiled(function: Callable[..., None]) -> Callable[[], Callable[..., None]]:
    """A getter of ``function`` compiled by Numba, on first use and cached on disk across processes.

    For the model's loops whose state is carried from year to year or that gather along the year axis
    (the deployment, the market's clearing with retirement, the IRR's bisection, the amortisation; see
    docs/architecture.md): written as array operations on a block of samples, each year's operations cost
    more in memory traffic and interpreter time than their arithmetic; a compiled loop keeps a sample's
    state in registers and releases the interpreter lock, so the blocks' threads run in parallel
    (benchmarks/README.md). Division by zero gives inf or NaN as in numpy (``error_model="numpy"``),
    never an exception.
    """

    @functools.cache
    def build() -> Callable[..., None]:
        import numba  # imported on first use: the command line and the web app start without it

        try:
            kernel: Callable[..., None] = numba.njit(cache=True, nogil=True, error_model="numpy")(function)
        except RuntimeError:
            # No writable place for the cache (an installation read-only to this user, no writable
            # home): compiled anew in each process, a few seconds, rather than not run at all.
            kernel = numba.njit(cache=False, nogil=True, error_model="numpy")(function)
        return kernel

    return build
