"""Deployment: data-centre capacity, energisation by firm power, and the fleet by vintage.

One yearly recurrence, per sample and region (vectorised over both):

1. Accelerators installed ``ceil(lifetime)`` years ago retire; the fleet that existed before the horizon
   retires linearly over ``ceil(lifetime)`` years.
2. Data-centre IT capacity is the scenario's own campuses that are complete, plus — when the existing
   industry is modelled — the industry's capacity, which grows to host the accelerators it receives
   (demand-following: the industry orders shells with its chips) but is never built beyond what firm
   power can energise.
3. Firm power is the firm credit of the region's own plants plus grid connections. Grid connections are
   granted when capacity needs them, at most ``max_new_power`` a year per region; the rest waits.
4. Energised capacity is ``min(capacity, firm power / PUE)``.
5. Accelerators delivered (this year's and those still waiting) are installed while energised capacity
   has room, each needing its all-in IT power. When room is short every type is installed in the same
   proportion and the rest waits for a later year.
6. Orders (the existing industry after its history): the industry ships, at most its supply, what the
   most room the year can energise takes beyond the chips already delivered, plus an inventory of
   ``inventory`` years of that room. Chips waiting are inventory; its value falls by ``value_loss`` a
   year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopgrid.model import dot_last


def whole_life(lifetime: np.ndarray | float) -> np.ndarray:
    """Service life in whole model years, at least 1: a chip installed in year ``s`` serves in years
    ``s … s + life − 1`` (a fractional life is rounded up; ``1e-9`` keeps 4.0000000001 at 4)."""
    life: np.ndarray = np.maximum(np.ceil(np.asarray(lifetime, dtype=float) - 1e-9), 1).astype(int)
    return life


def in_service(age: np.ndarray, life: np.ndarray | int) -> np.ndarray:
    """1.0 where a chip ``age`` years after its installation year (0 in that year) is still in service
    at the end of the year, for a whole-year ``life``; else 0.0."""
    serving: np.ndarray = ((age >= 0) & (age < life)).astype(float)
    return serving


def year_average(stock: np.ndarray, initial: np.ndarray, axis: int = 1) -> np.ndarray:
    """The average of each year's stock at its start and end (what energy and compute-hours use):
    ``(stock(t − 1) + stock(t)) / 2`` along ``axis`` (the year axis), with ``initial`` the stock
    before the first year (broadcast to one year of ``stock``)."""
    shape = (*stock.shape[:axis], 1, *stock.shape[axis + 1 :])
    before = np.broadcast_to(initial, shape)
    # Written in place, slice by slice: the same sums as ``(previous + stock) / 2`` with ``previous``
    # the stock shifted by a year, without building ``previous``.
    average: np.ndarray = np.empty(stock.shape, dtype=np.result_type(stock, before, 1.0))

    def span(start: int | None, stop: int | None) -> tuple[slice, ...]:
        return (*(slice(None),) * (axis % stock.ndim), slice(start, stop))

    np.add(before, stock[span(0, 1)], out=average[span(0, 1)])
    np.add(stock[span(None, -1)], stock[span(1, None)], out=average[span(1, None)])
    average /= 2
    return average


@dataclass(frozen=True)
class Deployment:
    """Outcomes of the deployment stage; fleet arrays are ``(sample, year, region, accelerator)``,
    capacities ``(sample, year, region)`` in W."""

    installed: np.ndarray  # in service at the end of the year
    added: np.ndarray  # installed during the year
    retired: np.ndarray  # retired during the year
    waiting: np.ndarray  # delivered but not installed at the end of the year
    dc_capacity: np.ndarray  # IT capacity built (own campuses + existing industry)
    dc_existing: np.ndarray  # of which the existing industry's
    grid: np.ndarray  # grid connection
    energised: np.ndarray  # IT capacity energised
    ordered: np.ndarray  # the existing industry's supply shipped (what was ordered of it)
    inventory_value: np.ndarray  # (sample, year, region) USD: value of the chips waiting


@dataclass(frozen=True)
class Orders:
    """The existing industry's supply and how it is ordered (step 6 of the recurrence)."""

    supply: np.ndarray  # (sample|1, year, region, accelerator): what it could ship
    ordered: np.ndarray  # (year,) bool: years it ships only what is ordered (else all of its supply)
    inventory: np.ndarray  # (sample|1,) years of the year's room ordered beyond it
    price: np.ndarray  # (sample|1, year, 1, accelerator) USD a chip, for the inventory's value
    value_loss: np.ndarray  # (sample|1,) share of the inventory's value lost a year


def deploy(
    arrivals: np.ndarray,
    planned: np.ndarray,
    own_firm: np.ndarray,
    pue: np.ndarray,
    max_new_grid: np.ndarray,
    it_power: np.ndarray,
    lifetime: np.ndarray,
    initial: np.ndarray,
    existing_dc: np.ndarray | None,
    refresh: bool = False,
    orders: Orders | None = None,
) -> Deployment:
    """Run the deployment recurrence.

    Parameters
    ----------
    arrivals
        Accelerators delivered, ``(sample, year, region, accelerator)``.
    planned
        The scenario's own campuses complete by each year, W of IT, ``(sample|1, year, region)``.
    own_firm
        Firm power of the scenario's own plants, W, ``(sample|1, year, region)``.
    pue
        ``(sample|1, year, region|1)``.
    max_new_grid
        Most new grid connection per year, W, ``(sample|1, year, region)``.
    it_power
        All-in IT power per accelerator, W, ``(sample|1, year, 1, accelerator)``.
    lifetime
        Service life, years, ``(sample|1,)``.
    initial
        Fleet in service before the first year, ``(sample|1, region, accelerator)``.
    existing_dc
        The existing industry's IT capacity before the first year, ``(sample|1, region)``; None when
        the existing industry is not modelled (then only the scenario's campuses exist).
    refresh
        Replace every retired accelerator by a new one of the same type, delivered the year it retires.
    orders
        The existing industry's supply that ships only as ordered, and the value of the chips; None:
        no orders (every arrival ships) and no inventory value.
    """
    n_samples, n_years, n_regions = arrivals.shape[:3]
    cell = arrivals.shape[2:]
    life = np.broadcast_to(whole_life(lifetime), (n_samples,))
    # Sample-major outputs written a year at a time: no transposition of every array at the end.
    fleet = (n_samples, n_years, *cell)
    added, retired, installed, waiting = (np.empty(fleet) for _ in range(4))
    by_region = (n_samples, n_years, n_regions)
    dc_capacity, dc_existing, grid, energised, value = (np.empty(by_region) for _ in range(5))
    ordered = np.zeros(fleet)
    queue_value = np.zeros((n_samples, *cell))
    # Chips leaving service by year (a last row for beyond the horizon), and the mean years the chips
    # in the queue have waited: a chip's service life runs from its delivery, so waiting uses it up.
    leaving = np.zeros((n_years + 1, n_samples, *cell))
    queue_age = np.zeros((n_samples, *cell))
    lives = [int(x) for x in np.unique(life)]
    shortest, longest = lives[0], lives[-1]
    n_cells = queue_age.size
    # Year-major flat positions: a chip of cell c leaving in year y is ``leaving.flat[y * n_cells + c]``.
    cells = np.arange(n_cells)
    life_rows = life[:, None, None]
    # Years in which the existing industry ships anything: in the others its orders change nothing.
    ships: np.ndarray = np.zeros(n_years, dtype=bool)
    if orders is not None:
        ships = np.asarray(orders.supply.any(axis=(0, 2, 3)))
    keep = None if orders is None else 1.0 - orders.value_loss[:, None, None]

    initial = np.broadcast_to(initial, (n_samples, *cell))
    # The fleet before the horizon retires by ``initial / life`` a year (as ``initial × (1 / life)``).
    initial_out = initial * (1.0 / life)[:, None, None]
    in_service = initial.astype(float).copy()
    queue = np.zeros((n_samples, *cell))
    follow = existing_dc is not None
    industry = np.zeros((n_samples, n_regions))
    if existing_dc is not None:
        industry = industry + existing_dc
    pue0 = np.broadcast_to(pue[:, 0], (n_samples, pue.shape[2]))
    connected = industry * pue0
    for t in range(n_years):
        # ``initial_out`` where the year is within the chip's life, else 0 (one pass when all agree).
        if t < shortest:
            out = leaving[t] + initial_out
        elif t >= longest:
            out = leaving[t] + 0.0
        else:
            out = leaving[t] + np.where((t < life)[:, None, None], initial_out, 0.0)
        in_service -= out
        # Cohorts leave by subtraction; what is left of a fully retired cohort is rounding, not chips.
        np.copyto(in_service, 0.0, where=in_service < 1e-6)

        power = it_power[:, t]
        used = dot_last(in_service, power)
        candidates = queue + arrivals[:, t]
        if refresh:
            candidates += out
        demand = dot_last(candidates, power)
        own = planned[:, t]
        if orders is not None and ships[t]:
            shipped = orders.supply[:, t]
            if orders.ordered[t]:
                # The most room the year can energise: firm power with the year's most new grid.
                most = (own_firm[:, t] + connected + max_new_grid[:, t]) / pue[:, t]
                free_most = np.maximum(most - used, 0.0)
                wanted_w = np.maximum(free_most * (1.0 + orders.inventory[:, None]) - demand, 0.0)
                offered = dot_last(shipped, power)
                with np.errstate(divide="ignore", invalid="ignore"):
                    take = np.where(offered > 0, np.minimum(wanted_w / offered, 1.0), 0.0)
                shipped = shipped * take[..., None]
            ordered[:, t] = shipped
            candidates += shipped
            demand = demand + dot_last(shipped, power)
            inflow = (arrivals[:, t] + shipped) * orders.price[:, t]
        elif orders is not None:
            inflow = arrivals[:, t] * orders.price[:, t]
        if keep is not None:
            queue_value *= keep
            queue_value += inflow
        wanted = np.maximum(industry, used + demand - own) if follow else industry
        shortfall = np.maximum((own + wanted) * pue[:, t] - own_firm[:, t] - connected, 0.0)
        connected = connected + np.minimum(shortfall, max_new_grid[:, t])
        firm_it = (own_firm[:, t] + connected) / pue[:, t]
        if follow:
            industry = np.maximum(industry, np.minimum(wanted, firm_it - own))
        capacity = own + industry
        room = np.minimum(capacity, firm_it)

        free = np.maximum(room - used, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(demand > 0, np.minimum(free / demand, 1.0), 0.0)
            # Mean years the candidates have waited: last year's queue one year more, new chips none.
            waited = (
                np.where(candidates > 0, queue * (queue_age + 1.0) / candidates, 0.0)
                if queue.any()
                else np.zeros_like(queue)
            )
        # Room for all but rounding is room for all.
        np.copyto(share, 1.0, where=share > 1.0 - 1e-12)
        new = candidates * share[..., None]
        # What is left of chips all installed is rounding, not chips.
        queue = candidates - new
        np.copyto(queue, 0.0, where=share[..., None] >= 1.0)
        queue_age = np.where(queue > 0, waited, 0.0)
        # Installed chips serve the life left after their wait (at least their first year), split
        # between the two whole years around a fractional mean wait so the mean life is kept.
        if not waited.any():
            # No chip waited: each leaves a whole life after this year (the common case, made cheap).
            for whole_life_ in lives:
                if t + whole_life_ <= n_years:
                    if len(lives) == 1:
                        leaving[t + whole_life_] += new
                    else:
                        sel = life == whole_life_
                        leaving[t + whole_life_, sel] += new[sel]
        else:
            whole = np.floor(waited)
            later = waited - whole
            offset = life_rows - whole
            parts = [(offset, new * (1.0 - later))]
            if later.any():
                parts.append((offset - 1.0, new * later))
            flat = leaving.reshape(-1)  # a view
            for offset, leave in parts:
                # Each cell leaves in one year (past the horizon: the last row), so one scatter of
                # distinct positions books them all.
                step = np.maximum(offset, 1.0)
                step += t
                np.minimum(step, n_years, out=step)
                when = step.astype(np.intp).reshape(-1)
                when *= n_cells
                when += cells
                flat[when] += leave.reshape(-1)
        if keep is not None:
            queue_value *= 1.0 - share[..., None]
        in_service = in_service + new

        added[:, t], retired[:, t], installed[:, t], waiting[:, t] = new, out, in_service, queue
        dc_capacity[:, t], dc_existing[:, t] = capacity, industry
        grid[:, t], energised[:, t] = connected, room
        value[:, t] = queue_value.sum(axis=-1)
    return Deployment(
        installed, added, retired, waiting, dc_capacity, dc_existing, grid, energised, ordered, value
    )
