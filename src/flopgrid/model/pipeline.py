"""A pipeline of named projects as capacity over years: ramps, completion probabilities and delays.

Each project (an atlas asset) has a capacity, a first year in service and a year at full capacity. It
ramps linearly between the two: in year ``y`` it provides

    capacity × clip((y − online + 1) / (full − online + 1), 0, 1)

so a project online and full in the same year counts in full from that year. A project that may not be
finished counts with its completion probability; a delay shifts both years.

>>> import numpy as np
>>> in_service(np.array([100.0]), np.array([2025.0]), np.array([2026.0]), np.arange(2024, 2028))
array([[  0.,  50., 100., 100.]])
"""

from __future__ import annotations

import numpy as np


def ramp(online: np.ndarray, full: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Share of each project's capacity in service in each year, shape ``(..., year)``.

    ``online`` and ``full`` broadcast together (e.g. ``(sample, asset)``); NaN years (undated projects)
    give 0. ``full`` before ``online`` is read as ``online``.
    """
    online = np.asarray(online, dtype=float)[..., None]
    full = np.maximum(np.asarray(full, dtype=float)[..., None], online)
    span = full - online + 1.0
    with np.errstate(invalid="ignore"):
        share = np.clip((np.asarray(years, dtype=float) - online + 1.0) / span, 0.0, 1.0)
    result: np.ndarray = np.nan_to_num(share, nan=0.0)
    return result


def in_service(
    capacity: np.ndarray,
    online: np.ndarray,
    full: np.ndarray,
    years: np.ndarray,
    probability: np.ndarray | float = 1.0,
    delay: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Capacity in service by project and year, ``(..., asset, year)``.

    Parameters
    ----------
    capacity
        Each project's capacity (NaN: unknown, counted as 0), shape ``(..., asset)``.
    online, full
        First year in service and year at full capacity (NaN: undated, counted as 0).
    years
        The years to report.
    probability
        Chance that each project is completed (its expected capacity is scaled by it), broadcasting
        with ``capacity``.
    delay
        Years added to ``online`` and ``full``.
    """
    delay = np.asarray(delay, dtype=float)
    share = ramp(np.asarray(online, dtype=float) + delay, np.asarray(full, dtype=float) + delay, years)
    weight = np.nan_to_num(np.asarray(capacity, dtype=float), nan=0.0) * np.asarray(probability, dtype=float)
    result: np.ndarray = share * weight[..., None]
    return result


def by_group(values: np.ndarray, group: np.ndarray, groups: int) -> np.ndarray:
    """Sum ``(..., asset, year)`` over the assets of each group: ``(..., year, group)``.

    ``group`` holds each asset's group index (0 … groups − 1), e.g. its region.

    >>> by_group(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1, 1]), 2)
    array([[0., 4.],
           [0., 6.]])
    """
    onehot = np.eye(groups)[np.asarray(group, dtype=int)]  # (asset, group)
    summed: np.ndarray = np.einsum("...ay,ag->...yg", values, onehot)
    return summed


def expected_pipeline(
    capacity: np.ndarray,
    online: np.ndarray,
    full: np.ndarray,
    region: np.ndarray,
    regions: int,
    years: np.ndarray,
    probability: np.ndarray,
    delay: np.ndarray,
) -> np.ndarray:
    """Probability-weighted pipeline capacity by ``(..., year, region)``.

    ``probability`` and ``delay`` are per asset (e.g. from its status) and may carry leading sample axes
    for a Monte Carlo draw; each asset counts its capacity × its completion probability from its
    delayed online year, ramping to its delayed full year.

    >>> expected_pipeline(np.array([100.0, 50.0]), np.array([2025.0, 2026.0]), np.array([2025.0, 2026.0]),
    ...                   np.array([0, 1]), 2, np.arange(2025, 2028), np.array([1.0, 0.5]),
    ...                   np.array([0.0, 1.0]))
    array([[100.,   0.],
           [100.,   0.],
           [100.,  25.]])
    """
    values = in_service(capacity, online, full, years, probability, delay)
    return by_group(values, region, regions)
