"""Construction: when a build comes online and when its capex is spent.

A build that starts construction in year ``s`` with lead time ``L`` (years, possibly fractional and
sampled) is online from the first model year ``y`` with ``y ≥ s + L``. Its capex is spent evenly over
``[s, s + L)``; a build with ``L = 0`` spends everything in year ``s``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BuildArrays:
    """Builds of one kind as arrays over the build axis ``B``."""

    start: np.ndarray  # (B,) calendar year construction starts
    size: np.ndarray  # (B,) total nameplate, count × capacity, in model units
    region: np.ndarray  # (B,) index into the regions axis
    item: np.ndarray  # (B,) index into the item axis (power source, accelerator), or 0

    @classmethod
    def empty(cls) -> BuildArrays:
        zero = np.zeros(0)
        return cls(zero, zero, zero.astype(int), zero.astype(int))

    def __len__(self) -> int:
        return len(self.start)


def at_start(param: np.ndarray, years: np.ndarray, builds: BuildArrays) -> np.ndarray:
    """A parameter's value for each build at its start year and region, shape ``(sample|1, B)``.

    ``param`` has shape ``(sample|1, year, region|1, item|1)``.
    """
    t = np.clip(np.searchsorted(years, builds.start), 0, len(years) - 1)
    r = builds.region if param.shape[2] > 1 else np.zeros_like(builds.region)
    i = builds.item if param.shape[3] > 1 else np.zeros_like(builds.item)
    values: np.ndarray = param[:, t, r, i]
    return values


def years_since(years: np.ndarray, start: np.ndarray, lead_time: np.ndarray) -> np.ndarray:
    """Years since completion of a build started in ``start`` with ``lead_time``, in each of ``years``
    (negative before completion); the arrays broadcast like ``years − start − lead_time``."""
    since: np.ndarray = np.asarray(years, dtype=float) - start - lead_time
    return since


def in_service(years_online: np.ndarray) -> np.ndarray:
    """1.0 where a build is complete (``years_online ≥ 0``), else 0.0: its share of nameplate online."""
    online: np.ndarray = (np.asarray(years_online) >= 0).astype(float)
    return online


def spend_share(years: np.ndarray, start: np.ndarray, lead_time: np.ndarray) -> np.ndarray:
    """Share of a build's capex spent in each of ``years``: evenly over ``[start, start + lead_time)``,
    all in ``start`` when the lead time is 0. The arrays broadcast against each other.

    Examples
    --------
    >>> spend_share(np.arange(2025, 2029), np.array(2025.0), np.array(2.5)).tolist()
    [0.4, 0.4, 0.2, 0.0]
    """
    y = np.asarray(years, dtype=float)
    overlap = np.clip(np.minimum(y + 1, start + lead_time) - np.maximum(y, start), 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        share: np.ndarray = np.where(
            lead_time > 0, overlap / np.where(lead_time > 0, lead_time, 1.0), (y == start).astype(float)
        )
    return share


def years_online(years: np.ndarray, builds: BuildArrays, lead_time: np.ndarray) -> np.ndarray:
    """Years since each build came online, ``(sample, year, B)``; negative before completion."""
    return years_since(years[None, :, None], builds.start[None, None, :], lead_time[:, None, :])


def spend_profile(years: np.ndarray, builds: BuildArrays, lead_time: np.ndarray) -> np.ndarray:
    """Share of each build's capex spent in each year, ``(sample, year, B)``; sums to 1 over years
    inside the horizon."""
    return spend_share(years[None, :, None], builds.start[None, None, :], lead_time[:, None, :])


def to_regions(values: np.ndarray, builds: BuildArrays, n_regions: int) -> np.ndarray:
    """Sum ``(sample, year, B)`` over builds into ``(sample, year, region)``."""
    onehot = np.zeros((len(builds), n_regions))
    onehot[np.arange(len(builds)), builds.region] = 1.0
    return values @ onehot


def to_regions_items(values: np.ndarray, builds: BuildArrays, n_regions: int, n_items: int) -> np.ndarray:
    """Sum ``(sample, year, B)`` over builds into ``(sample, year, region, item)``."""
    onehot = np.zeros((len(builds), n_regions * n_items))
    onehot[np.arange(len(builds)), builds.region * n_items + builds.item] = 1.0
    out = values @ onehot
    return out.reshape(*values.shape[:-1], n_regions, n_items)
