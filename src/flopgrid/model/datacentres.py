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

from flopgrid.model import compiled, contiguous


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
    price: np.ndarray  # (sample|1, year, region|1, accelerator) USD a chip, for the inventory's value
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
        All-in IT power per accelerator, W, ``(sample|1, year, region|1, accelerator)``.
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
    n_samples, n_years, n_regions, n_items = arrivals.shape
    full = (n_samples, n_years, n_regions, n_items)
    life = whole_life(lifetime)
    follow = existing_dc is not None
    no_orders = np.zeros((1, 1, 1, 1))
    kernel_args = (
        contiguous(arrivals, full),
        contiguous(planned, full[:3]),
        contiguous(own_firm, full[:3]),
        contiguous(pue, full[:3]),
        contiguous(max_new_grid, full[:3]),
        contiguous(it_power, (n_samples, n_years, it_power.shape[2], n_items)),
        contiguous(life, (n_samples,), np.int64),
        contiguous(initial, (n_samples, n_regions, n_items)),
        contiguous(existing_dc if existing_dc is not None else np.zeros(1), (n_samples, n_regions)),
        follow,
        refresh,
        orders is not None,
        contiguous(orders.supply, full) if orders is not None else no_orders,
        contiguous(orders.ordered if orders is not None else np.zeros(n_years), (n_years,), np.bool_),
        contiguous(orders.inventory, (n_samples,)) if orders is not None else np.zeros(n_samples),
        contiguous(orders.price, (n_samples, n_years, orders.price.shape[2], n_items))
        if orders is not None
        else no_orders,
        contiguous(orders.value_loss, (n_samples,)) if orders is not None else np.zeros(n_samples),
    )
    # Sample-major outputs, written by the compiled recurrence.
    added, retired, installed, waiting, ordered = (np.empty(full) for _ in range(5))
    dc_capacity, dc_existing, grid, energised, value = (np.empty(full[:3]) for _ in range(5))
    _compiled_recurrence()(
        *kernel_args,
        added,
        retired,
        installed,
        waiting,
        ordered,
        dc_capacity,
        dc_existing,
        grid,
        energised,
        value,
    )
    return Deployment(
        installed, added, retired, waiting, dc_capacity, dc_existing, grid, energised, ordered, value
    )


def _recurrence(
    arrivals: np.ndarray,
    planned: np.ndarray,
    own_firm: np.ndarray,
    pue: np.ndarray,
    max_new_grid: np.ndarray,
    it_power: np.ndarray,
    life: np.ndarray,
    initial: np.ndarray,
    existing_dc: np.ndarray,
    follow: bool,
    refresh: bool,
    has_orders: bool,
    supply: np.ndarray,
    ordered_years: np.ndarray,
    inventory: np.ndarray,
    price: np.ndarray,
    value_loss: np.ndarray,
    added: np.ndarray,
    retired: np.ndarray,
    installed: np.ndarray,
    waiting: np.ndarray,
    ordered: np.ndarray,
    dc_capacity: np.ndarray,
    dc_existing: np.ndarray,
    grid: np.ndarray,
    energised: np.ndarray,
    value: np.ndarray,
) -> None:
    """The deployment recurrence (the module's steps 1–6) for each sample and region, arrays at full
    shape (see :func:`deploy`); writes the outputs. Plain Python that Numba compiles."""
    n_samples, n_years, n_regions, n_items = arrivals.shape
    # Chips leaving service by year, a last row for beyond the horizon; per-item state of one cell.
    leaving = np.zeros((n_years + 1, n_items))
    state = np.zeros((11, n_items))
    serving, queue, queue_age, queue_value = state[0], state[1], state[2], state[3]
    initial_out, candidates, shipped, inflow, waited, new, out = (
        state[4],
        state[5],
        state[6],
        state[7],
        state[8],
        state[9],
        state[10],
    )
    for s in range(n_samples):
        life_s = life[s]
        keep = 1.0 - value_loss[s]
        for r in range(n_regions):
            # Power and price may be the same in every region (a region axis of 1).
            rp = r if it_power.shape[2] > 1 else 0
            rc = r if price.shape[2] > 1 else 0
            leaving[:] = 0.0
            queue[:] = 0.0
            queue_age[:] = 0.0
            queue_value[:] = 0.0
            for a in range(n_items):
                serving[a] = initial[s, r, a]
                # The fleet before the horizon retires by ``initial / life`` a year.
                initial_out[a] = initial[s, r, a] * (1.0 / life_s)
            industry = existing_dc[s, r] if follow else 0.0
            connected = industry * pue[s, 0, r]
            for t in range(n_years):
                used = 0.0
                for a in range(n_items):
                    out[a] = leaving[t, a] + (initial_out[a] if t < life_s else 0.0)
                    serving[a] -= out[a]
                    # Cohorts leave by subtraction; what is left of a retired cohort is rounding.
                    if serving[a] < 1e-6:
                        serving[a] = 0.0
                    used += serving[a] * it_power[s, t, rp, a]
                demand = 0.0
                for a in range(n_items):
                    candidates[a] = queue[a] + arrivals[s, t, r, a]
                    if refresh:
                        candidates[a] += out[a]
                    demand += candidates[a] * it_power[s, t, rp, a]
                own = planned[s, t, r]
                if has_orders:
                    offered = 0.0
                    for a in range(n_items):
                        shipped[a] = supply[s, t, r, a]
                        offered += shipped[a] * it_power[s, t, rp, a]
                    if ordered_years[t]:
                        # The most room the year can energise: firm power with the year's most new grid.
                        most = (own_firm[s, t, r] + connected + max_new_grid[s, t, r]) / pue[s, t, r]
                        free_most = max(most - used, 0.0)
                        wanted_w = max(free_most * (1.0 + inventory[s]) - demand, 0.0)
                        take = wanted_w / offered if offered > 0 else 0.0
                        take = 1.0 if take > 1.0 else take
                        for a in range(n_items):
                            shipped[a] = shipped[a] * take
                    extra = 0.0
                    for a in range(n_items):
                        ordered[s, t, r, a] = shipped[a]
                        candidates[a] += shipped[a]
                        extra += shipped[a] * it_power[s, t, rp, a]
                        inflow[a] = (arrivals[s, t, r, a] + shipped[a]) * price[s, t, rc, a]
                        queue_value[a] = queue_value[a] * keep + inflow[a]
                    demand = demand + extra
                else:
                    for a in range(n_items):
                        ordered[s, t, r, a] = 0.0
                wanted = max(industry, used + demand - own) if follow else industry
                shortfall = max((own + wanted) * pue[s, t, r] - own_firm[s, t, r] - connected, 0.0)
                connected = connected + min(shortfall, max_new_grid[s, t, r])
                firm_it = (own_firm[s, t, r] + connected) / pue[s, t, r]
                if follow:
                    industry = max(industry, min(wanted, firm_it - own))
                capacity = own + industry
                room = min(capacity, firm_it)
                free = max(room - used, 0.0)
                share = free / demand if demand > 0 else 0.0
                # At most all of them; room for all but rounding is room for all.
                share = 1.0 if share > 1.0 - 1e-12 else share
                total_value = 0.0
                for a in range(n_items):
                    # Mean years the candidates have waited: last year's queue one year more.
                    waited[a] = queue[a] * (queue_age[a] + 1.0) / candidates[a] if candidates[a] > 0 else 0.0
                    new[a] = candidates[a] * share
                    queue[a] = 0.0 if share >= 1.0 else candidates[a] - new[a]
                    queue_age[a] = waited[a] if queue[a] > 0 else 0.0
                    # Installed chips serve the life left after their wait (at least their first year),
                    # split between the two whole years around a fractional mean wait so the mean life
                    # is kept; past the horizon they leave in the last row.
                    whole = np.floor(waited[a])
                    later = waited[a] - whole
                    offset = life_s - whole
                    step = int(min(max(offset, 1.0) + t, n_years))
                    leaving[step, a] += new[a] * (1.0 - later)
                    if later > 0:
                        step = int(min(max(offset - 1.0, 1.0) + t, n_years))
                        leaving[step, a] += new[a] * later
                    if has_orders:
                        queue_value[a] *= 1.0 - share
                        total_value += queue_value[a]
                    serving[a] = serving[a] + new[a]
                    added[s, t, r, a] = new[a]
                    retired[s, t, r, a] = out[a]
                    installed[s, t, r, a] = serving[a]
                    waiting[s, t, r, a] = queue[a]
                dc_capacity[s, t, r] = capacity
                dc_existing[s, t, r] = industry
                grid[s, t, r] = connected
                energised[s, t, r] = room
                value[s, t, r] = total_value


_compiled_recurrence = compiled(_recurrence)
