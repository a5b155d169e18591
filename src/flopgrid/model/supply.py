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
#: What can bind production: the caps, then the existing industry's orders (what can be deployed).
LIMITS = (*CAPS, "orders", "none")


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


def declined(cost: np.ndarray, rate: np.ndarray, years: np.ndarray, data_year: float) -> np.ndarray:
    """A unit cost that falls by ``rate`` a year after its data year, ``cost · (1 − rate)^(y − data_year)``
    (held before it), along axis 1 (the year axis of a parameter array).

    Examples
    --------
    >>> declined(np.array([[100.0, 100.0, 100.0]]), np.array([[0.1]]), np.array([2024, 2025, 2027]),
    ...          2025).round(2).tolist()
    [[100.0, 100.0, 81.0]]
    """
    # The trend formula with a negative rate, its years laid along axis 1 of the parameter array.
    shape = (1, len(years)) + (1,) * (np.ndim(cost) - 2)
    return trend(cost, -np.asarray(rate), np.asarray(years, dtype=float).reshape(shape), data_year)


def compound(known: np.ndarray, growth: np.ndarray, years: np.ndarray, last_data_year: float) -> np.ndarray:
    """Existing capacity on its own trend: the library's series up to its last year, then growing each
    year at that year's rate, ``cap(t) = cap(t − 1) · (1 + growth(t))`` (the rate may change by year).

    Examples
    --------
    >>> compound(np.array([[10.0, 20.0, 20.0, 20.0]]), np.array([[0.5, 0.5, 0.5, 0.1]]),
    ...          np.array([2024, 2025, 2026, 2027]), 2025).tolist()
    [[10.0, 20.0, 30.0, 33.0]]
    """
    factor = np.where(np.asarray(years)[None, :] > last_data_year, 1.0 + growth, 1.0)
    out: np.ndarray = known * np.cumprod(
        np.broadcast_to(factor, np.broadcast_shapes(known.shape, factor.shape)), axis=1
    )
    return out


def follow_need(
    ceiling: np.ndarray,
    need: np.ndarray,
    before: np.ndarray,
    years: np.ndarray,
    last_data_year: float,
    averaged: bool,
) -> np.ndarray:
    """Capacity that grows on its own trend but is not built beyond what is needed.

    Up to the library's last data year the capacity is the series (``ceiling`` there); after it,
    ``L(t) = min(ceiling(t), max(L(t − 1), need'(t)))``: never shrinking, never above its trend path,
    so that it binds when its trend is slower than the need. ``need'`` is the need itself for a
    capacity that is a year's output, and ``2 · need − L(t − 1)`` for an end-of-year level whose
    year's output is the average of its start and end (:func:`over_year`).

    Parameters
    ----------
    ceiling
        The trend path (:func:`compound`), ``(sample|1, year)``.
    need
        Output needed in each year, ``(sample|1, year)``.
    before
        The level the year before the first, ``(sample|1, 1)``.
    averaged
        Whether a year's output is the average of the level at its start and end.

    Examples
    --------
    >>> follow_need(np.array([[10.0, 15.0, 30.0]]), np.array([[0.0, 20.0, 12.0]]), np.array([[10.0]]),
    ...             np.array([2025, 2026, 2027]), 2025, False).tolist()
    [[10.0, 15.0, 15.0]]
    """
    ceiling, need = np.broadcast_arrays(ceiling, need)
    out = np.zeros(ceiling.shape)
    previous = np.broadcast_to(before[:, 0], ceiling.shape[:1])
    for t in range(ceiling.shape[1]):
        if years[t] <= last_data_year:
            level = ceiling[:, t]
        else:
            wanted = 2 * need[:, t] - previous if averaged else need[:, t]
            level = np.minimum(ceiling[:, t], np.maximum(previous, wanted))
        out[:, t] = level
        previous = level
    return out


def over_year(level: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Output over a year from capacity levels at the end of each year: the average of the level at
    the start (the end of the year before; ``before`` for the first year) and at the end, along axis 1.

    Examples
    --------
    >>> over_year(np.array([[35.0, 75.0]]), np.array([[15.0]])).tolist()
    [[25.0, 55.0]]
    """
    previous = np.concatenate([np.broadcast_to(before, (level.shape[0], 1)), level[:, :-1]], axis=1)
    out: np.ndarray = (previous + level) / 2
    return out


def per_type(
    good_dies: np.ndarray,
    dies_per_package: np.ndarray,
    packages_per_wafer: np.ndarray,
    hbm_per_package: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logic wafers, interposer wafers and GB of HBM per accelerator of each type (broadcast shapes)."""
    return dies_per_package / good_dies, 1.0 / packages_per_wafer, hbm_per_package


def own_chip_cost(
    needs: tuple[np.ndarray, np.ndarray, np.ndarray],
    wafer_cost: np.ndarray,
    interposer_cost: np.ndarray,
    hbm_price: np.ndarray,
    operating_share: np.ndarray,
    overhead: np.ndarray,
) -> np.ndarray:
    """Cost of an accelerator made in a programme's own fabs, packaging and HBM lines, USD a chip.

    The lines' capital is the programme's own capex, so each input costs only its operating share of
    its market price; test, assembly and board add ``overhead`` (a share):
    ``(w · wafer_cost + p · interposer_cost + h · hbm_price) · operating_share · (1 + overhead)``.

    Parameters
    ----------
    needs
        Logic wafers, interposer wafers and GB of HBM per chip (:func:`per_type`).
    wafer_cost, interposer_cost, hbm_price
        Market prices of a logic wafer, an interposer wafer and a GB of HBM.
    operating_share, overhead
        Share of a market price that is operating cost; test and assembly as a share of the inputs.
    """
    wafers, interposers, hbm = needs
    inputs = wafers * wafer_cost + interposers * interposer_cost + hbm * hbm_price
    out: np.ndarray = inputs * operating_share * (1.0 + overhead)
    return out


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
