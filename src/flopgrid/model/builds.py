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


def years_online(years: np.ndarray, builds: BuildArrays, lead_time: np.ndarray) -> np.ndarray:
    """Years since each build came online, ``(sample, year, B)``; negative before completion."""
    online: np.ndarray = years[None, :, None] - builds.start[None, None, :] - lead_time[:, None, :]
    return online


def spend_profile(years: np.ndarray, builds: BuildArrays, lead_time: np.ndarray) -> np.ndarray:
    """Share of each build's capex spent in each year, ``(sample, year, B)``; sums to 1 over years
    inside the horizon."""
    y = years[None, :, None].astype(float)
    s = builds.start[None, None, :]
    length = lead_time[:, None, :]
    overlap = np.clip(np.minimum(y + 1, s + length) - np.maximum(y, s), 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        share: np.ndarray = np.where(
            length > 0, overlap / np.where(length > 0, length, 1.0), (y == s).astype(float)
        )
    return share


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
