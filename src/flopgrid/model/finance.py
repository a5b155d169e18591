"""Money: capex of builds spread over construction, capex of capacity added, and operating costs.

Real base-year USD. Capex by asset class (``ASSETS``) and region; opex likewise.
"""

from __future__ import annotations

import numpy as np

from flopgrid.model import builds as bld
from flopgrid.model.builds import BuildArrays

ASSETS = ("fab", "packaging", "hbm", "datacentre", "power", "accelerator", "network")


def build_capex(
    builds: BuildArrays,
    unit_cost: np.ndarray,
    cost_factor: np.ndarray,
    quoted: np.ndarray,
    years: np.ndarray,
    lead_time: np.ndarray,
    n_regions: int,
) -> np.ndarray:
    """Capex of builds by year and region, spread evenly over each build's construction.

    Parameters
    ----------
    builds
        The builds of one asset class.
    unit_cost
        Cost per unit of capacity, ``(sample|1, year, region|1, item|1)``; taken at each build's start.
    cost_factor
        Regional construction-cost factor, ``(sample|1, year, region)``; taken at each build's start.
    quoted
        Each build's quoted all-in cost (count × the quoted unit), NaN where none was quoted; a quoted
        cost replaces ``size × unit cost × factor``.
    years, lead_time, n_regions
        The model years, each build's lead time ``(sample|1, B)`` and the number of regions.

    Returns
    -------
    numpy.ndarray
        ``(sample, year, region)`` in USD.
    """
    factor = bld.at_start(cost_factor[..., None], years, builds)
    cost = builds.size * bld.at_start(unit_cost, years, builds) * factor
    cost = np.where(np.isnan(quoted), cost, quoted)
    spend = bld.spend_profile(years, builds, lead_time) * cost[:, None, :]
    return bld.to_regions(spend, builds, n_regions)


def added(level: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Capacity added each year, ``max(level(t) − level(t−1), 0)`` along the year axis (axis 1), with
    ``before`` the level the year before the first."""
    previous = np.concatenate(
        [np.broadcast_to(before, (level.shape[0], 1, *level.shape[2:])), level[:, :-1]], axis=1
    )
    out: np.ndarray = np.maximum(level - previous, 0.0)
    return out


def network_capex(accelerator_capex: np.ndarray, network_share: np.ndarray) -> np.ndarray:
    """Capex of the network (switches, optics, cabling) bought with accelerators: a share of their
    capex."""
    out: np.ndarray = accelerator_capex * network_share
    return out
