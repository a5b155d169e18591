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


#: SplitMix64's constants (Steele, Lea & Flood 2014): a counter-based hash whose outputs pass BigCrush.
_GOLDEN, _MIX1, _MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def hashed_uniforms(seed: int, samples: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Uniform draws in [0, 1) for each (sample, key), ``(sample, key)``, from a counter-based hash.

    A draw depends only on the seed, the sample's index in the run and the key (e.g. a hash of an
    asset's id), so a sample draws the same whatever block it is run in and an asset keeps its draws
    when other assets are added.

    >>> u = hashed_uniforms(0, np.arange(3), np.array([1, 2]))
    >>> again = hashed_uniforms(0, np.array([2]), np.array([2]))
    >>> u.shape, bool(((u >= 0) & (u < 1)).all()), bool(u[2, 1] == again[0, 0])
    ((3, 2), True, True)
    """
    with np.errstate(over="ignore"):
        x = (
            np.asarray(samples, dtype=np.uint64)[:, None] * np.uint64(_GOLDEN)
            + np.asarray(keys, dtype=np.uint64)[None, :] * np.uint64(_MIX2)
            + np.uint64(seed % 2**64) * np.uint64(_MIX1)
        )
        x = x + np.uint64(_GOLDEN)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(_MIX1)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(_MIX2)
        x = x ^ (x >> np.uint64(31))
    out: np.ndarray = (x >> np.uint64(11)).astype(float) * 2.0**-53
    return out


def triangular(u: np.ndarray, low: np.ndarray, mode: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The triangular distribution's quantile ``u`` between ``low`` and ``high`` with its peak at ``mode``.

    >>> triangular(np.array([0.0, 0.5, 1.0]), 0.0, 1.0, 2.0).tolist()
    [0.0, 1.0, 2.0]
    """
    u, low, mode, high = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (u, low, mode, high)))
    span = high - low
    with np.errstate(divide="ignore", invalid="ignore"):
        cut = np.where(span > 0, (mode - low) / span, 0.5)
        left = low + np.sqrt(u * span * (mode - low))
        right = high - np.sqrt((1.0 - u) * span * (high - mode))
    out: np.ndarray = np.where(span > 0, np.where(u < cut, left, right), mode)
    return out


def additions(
    capacity: np.ndarray,
    online: np.ndarray,
    full: np.ndarray,
    group: np.ndarray,
    groups: int,
    years: np.ndarray,
    probability: np.ndarray | float = 1.0,
    delay: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Capacity each group's projects add in each year, ``(..., year, group)``: what is in service at
    the end of the year less what was at the end of the year before (:func:`in_service`).

    ``capacity``, ``probability`` and ``delay`` broadcast over ``(..., asset)``: a Monte Carlo draw
    gives ``probability`` 0 or 1 and a delay per sample and asset, the central run their expected
    values.

    >>> additions(np.array([100.0]), np.array([2025.0]), np.array([2026.0]), np.array([0]), 1,
    ...           np.arange(2025, 2028))[..., 0].tolist()
    [50.0, 50.0, 0.0]
    """
    years = np.asarray(years, dtype=float)
    span = np.concatenate([years[:1] - 1.0, years])
    level = by_group(in_service(capacity, online, full, span, probability, delay), group, groups)
    out: np.ndarray = np.diff(level, axis=-2)
    return out


def window_limit(added: np.ndarray, coverage: np.ndarray, window: np.ndarray) -> np.ndarray:
    """The yearly limit the pipeline sets, ``added / coverage`` in the ``window`` (NaN elsewhere).

    Named projects are a share ``coverage`` of a kind's capacity growth, so the kind grows by the named
    additions scaled up by that share. A group with no coverage (NaN) has no window.

    >>> window_limit(np.array([[10.0, 4.0], [10.0, 4.0]]), np.array([0.5, np.nan]),
    ...              np.array([[True, True], [False, True]])).tolist()
    [[20.0, nan], [nan, nan]]
    """
    inside = np.asarray(window, dtype=bool) & np.isfinite(coverage)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: np.ndarray = np.where(inside, added / coverage, np.nan)
    return out


def lagged(limit: np.ndarray, trend: np.ndarray, years: np.ndarray, slate_year: float) -> np.ndarray:
    """The pipeline's limit as measured up to the year its coverage is calibrated on (``slate_year``),
    and after it at least the ``trend``: projects are announced a few years before they enter service,
    so a named pipeline that thins with lead time is missing announcements, not building. NaN (outside
    the window) stays NaN. ``limit`` and ``trend`` broadcast as ``(sample, year, group)``.

    >>> lagged(np.array([[[16.0], [9.0], [np.nan]]]), np.array([[[12.0]]]), np.array([2026, 2027, 2028]),
    ...        2026).ravel().tolist()
    [16.0, 12.0, nan]
    """
    later = np.asarray(years)[None, :, None] > slate_year
    out: np.ndarray = np.where(later & np.isfinite(limit), np.maximum(limit, trend), limit)
    return out


def extend(
    known: np.ndarray, added: np.ndarray, growth: np.ndarray, years: np.ndarray, last_data_year: float
) -> np.ndarray:
    """A capacity path: the library's series up to its last data year, then ``L(t) = L(t − 1) + a(t)``
    in the pipeline's window (``added`` not NaN) and ``L(t) = L(t − 1) (1 + g(t))`` after it, so the
    trend takes over from the level the pipeline reached. Without a window this is
    :func:`flopgrid.model.supply.compound`.

    Parameters
    ----------
    known
        The library's series on the run's years (held after its last year), ``(sample|1, year)``.
    added
        Capacity the pipeline adds each year (coverage-scaled), NaN outside its window.
    growth
        The trend's growth rate each year.
    years, last_data_year
        The run's years and the series' last data year.

    Examples
    --------
    >>> extend(np.array([[10.0, 20.0, 20.0, 20.0, 20.0]]), np.array([[np.nan, np.nan, 5.0, 4.0, np.nan]]),
    ...        np.array([[0.5] * 5]), np.arange(2024, 2029), 2025).tolist()
    [[10.0, 20.0, 25.0, 29.0, 43.5]]
    """
    ahead = np.asarray(years)[None, :] > last_data_year
    inside = ahead & np.isfinite(added)
    factor = np.where(ahead & ~inside, 1.0 + growth, 1.0)
    step = np.where(inside, np.nan_to_num(added, nan=0.0), 0.0)
    shape = np.broadcast_shapes(known.shape, factor.shape, step.shape)
    grown = np.cumprod(np.broadcast_to(factor, shape), axis=1)
    # L(t) = P(t) · (L(last) + Σ_{s ≤ t} a(s) / P(s)) with P the cumulative growth factor.
    out: np.ndarray = grown * (known + np.cumsum(np.broadcast_to(step, shape) / grown, axis=1))
    return out
