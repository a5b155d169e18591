"""Supply: wafers → good dies → packaged accelerators, capped by packaging and HBM.

Yield model: Poisson, ``Y = exp(-A · D0)`` for a die of area ``A`` at defect density ``D0``. Gross dies
per wafer use the standard edge-loss approximation ``π (d/2)² / A − π d / √(2 A)``. For an 814 mm² die on
a 300 mm wafer at 0.1 defects/cm² this gives ≈ 63.5 gross and ≈ 28 good dies, as Epoch AI's worked
example states. Interposers are counted with the same gross formula and no yield loss (packaging yield
is not in the library; it would lower packaging output in proportion).
"""

from __future__ import annotations

import numpy as np

from flopgrid.model import dot_last

#: The three production caps, in the order of the ``cap`` axis and of the bottleneck codes.
CAPS = ("wafers", "packaging", "hbm")


def gross_dies_per_wafer(die_area: np.ndarray | float, wafer_diameter: np.ndarray | float) -> np.ndarray:
    """Candidate dies of area ``die_area`` (mm²) on a round wafer of ``wafer_diameter`` (mm).

    Examples
    --------
    >>> round(float(gross_dies_per_wafer(814.0, 300.0)), 1)
    63.5
    """
    area = np.asarray(die_area, dtype=float)
    d = np.asarray(wafer_diameter, dtype=float)
    gross: np.ndarray = np.maximum(np.pi * (d / 2) ** 2 / area - np.pi * d / np.sqrt(2 * area), 0.0)
    return gross


def poisson_yield(die_area: np.ndarray | float, defect_density: np.ndarray | float) -> np.ndarray:
    """Share of dies without a killer defect: ``exp(-area · defect_density)`` (mm², 1/mm²)."""
    good: np.ndarray = np.exp(-np.asarray(die_area, dtype=float) * np.asarray(defect_density, dtype=float))
    return good


def good_dies_per_wafer(
    die_area: np.ndarray | float, defect_density: np.ndarray | float, wafer_diameter: np.ndarray | float
) -> np.ndarray:
    """Good dies per wafer: gross dies × Poisson yield.

    Examples
    --------
    >>> round(float(good_dies_per_wafer(814.0, 0.001, 300.0)))
    28
    """
    good: np.ndarray = gross_dies_per_wafer(die_area, wafer_diameter) * poisson_yield(
        die_area, defect_density
    )
    return good


def ramp(years_online: np.ndarray, ramp1: np.ndarray, ramp2: np.ndarray, ramp3: np.ndarray) -> np.ndarray:
    """Share of nameplate capacity ``years_online`` years after a fab's completion (< 0: not built)."""
    level: np.ndarray = np.where(
        years_online < 0, 0.0, np.where(years_online < 1, ramp1, np.where(years_online < 2, ramp2, ramp3))
    )
    return level


def trend(level: np.ndarray, growth: np.ndarray, years: np.ndarray, last_data_year: float) -> np.ndarray:
    """Existing capacity: the library's series up to its last year, then compound growth."""
    ahead = np.maximum(years - last_data_year, 0.0)
    return level * (1.0 + growth) ** ahead


def follow_demand(
    known: np.ndarray, growth: np.ndarray, need: np.ndarray, years: np.ndarray, last_data_year: float
) -> np.ndarray:
    """Capacity that grows only as needed, at most by ``growth`` a year.

    Up to the library's last data year the capacity is what the data say (``known``); after it,
    ``cap(t) = min(max(cap(t-1), need(t)), cap(t-1) · (1 + growth))``: never shrinking, never growing
    faster than the trend rate, and never built beyond what is needed.

    Parameters
    ----------
    known
        The library's series, ``(sample|1, year)``.
    growth
        Most growth a year, ``(sample|1, year)``.
    need
        Capacity needed, ``(sample, year)``.
    """
    known, growth, need = np.broadcast_arrays(known, growth, need)
    cap = np.zeros(known.shape)
    previous = known[:, 0]
    for t in range(known.shape[1]):
        if years[t] <= last_data_year:
            level = known[:, t]
        else:
            level = np.minimum(np.maximum(previous, need[:, t]), previous * (1.0 + growth[:, t]))
        cap[:, t] = level
        previous = level
    return cap


def per_chip(
    mix: np.ndarray,
    good_dies: np.ndarray,
    dies_per_package: np.ndarray,
    packages_per_wafer: np.ndarray,
    hbm_per_package: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logic wafers, interposer wafers and GB of HBM per accelerator of the mix.

    Parameters
    ----------
    mix
        Share of output by accelerator type, ``(sample|1, year, accelerator)``, summing to 1.
    good_dies, dies_per_package, packages_per_wafer, hbm_per_package
        Per accelerator type, broadcastable to ``(sample, year, accelerator)``.
    """
    return (
        dot_last(mix, dies_per_package / good_dies),
        dot_last(mix, 1.0 / packages_per_wafer),
        dot_last(mix, hbm_per_package),
    )


def production(
    wafers: np.ndarray,
    packaging: np.ndarray,
    hbm: np.ndarray,
    mix: np.ndarray,
    needs: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accelerators produced: the least of what wafers, packaging and HBM allow, for a fixed mix.

    Parameters
    ----------
    wafers, packaging, hbm
        Logic wafers, interposer wafers and GB of HBM available to AI accelerators in the year,
        shape ``(sample, year)``.
    mix
        Share of output by accelerator type, ``(sample|1, year, accelerator)``, summing to 1.
    needs
        Wafers, interposer wafers and GB of HBM per accelerator of the mix (:func:`per_chip`).

    Returns
    -------
    produced
        Accelerators by type, ``(sample, year, accelerator)``.
    caps
        Accelerators each input alone would allow, ``(sample, year, cap)`` in the order of ``CAPS``.
    bottleneck
        Index into ``CAPS`` of the binding cap, ``(sample, year)``.
    """
    wafers_per_chip, interposers_per_chip, hbm_per_chip = needs
    with np.errstate(divide="ignore", invalid="ignore"):
        # Each cap may vary by sample or not (an input that is not sampled has one row).
        caps = np.stack(
            np.broadcast_arrays(
                wafers / wafers_per_chip,
                packaging / interposers_per_chip,
                np.where(hbm_per_chip > 0, hbm / hbm_per_chip, np.inf),
            ),
            axis=-1,
        )
    caps = np.nan_to_num(caps, nan=0.0, posinf=np.inf)
    bottleneck = np.argmin(caps, axis=-1)
    total = np.min(caps, axis=-1)
    return total[..., None] * mix, caps, bottleneck
