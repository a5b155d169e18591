"""The chain as pure array functions, one module per stage.

Arrays follow the axis order ``(sample, year, region, item)``; any axis may have length 1 and broadcast.
Flows (wafers started, chips produced, energy, money) are per model year; stocks (capacity, installed
fleet) are at the end of the year.
"""

from __future__ import annotations

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
