"""An independent scalar reference implementation of ``flopgrid.simulate`` (the oracle).

Written from ``docs/model.md`` with plain Python loops over sample, year, region, accelerator and build,
plain floats and ``math``. numpy is used only to read the parameter arrays and to store the outputs.
Parameters come from the package's own resolution (``flopgrid.simulate.prepare``) so both
implementations see the same numbers, drawn in the same order.

Section numbers (§) refer to docs/model.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from flopgrid.simulate import prepare

H = 8760.0
ASSETS = ("fab", "packaging", "hbm", "datacentre", "power", "accelerator", "network")
CAPS = ("wafers", "packaging", "hbm")
BOTTLENECKS = ("wafers", "packaging", "hbm", "datacentres", "power")
SINGLE = {"fabs": "leading_edge", "packaging": "cowos", "hbm": "hbm", "datacentres": "ai_campus"}


class Params:
    """Scalar access to the resolved parameter arrays: ``P(table, parameter, s, t, r, i)``."""

    def __init__(self, params: Any, axes: Any) -> None:
        self.params = params
        self.axes = axes

    def __call__(self, table: str, parameter: str, s: int, t: int, r: int = 0, i: int = 0) -> float:
        arr = self.params.get(table, parameter)
        return float(
            arr[s if arr.shape[0] > 1 else 0, t, r if arr.shape[2] > 1 else 0, i if arr.shape[3] > 1 else 0]
        )

    def reg(self, parameter: str, s: int, t: int, r: int) -> float:
        return self(("regions"), parameter, s, t, r, 0)


def _step_shares(spec: Mapping[Any, Any], year: int, first_year: int) -> Mapping[str, float]:
    """A constant share map, or a by-year map applying from its year (the earliest before any)."""
    if all(isinstance(k, int) for k in spec):
        keys = sorted(spec)
        eligible = [k for k in keys if k <= year]
        return spec[eligible[-1] if eligible else keys[0]]
    return spec


#: Vendors of the named parts and the roadmap's generic prefix, as docs/model.md §2 states them.
_VENDORS = {
    "NVIDIA": ("H100", "H200", "B200", "GB200", "GB300", "Rubin"),
    "AMD": ("MI300X", "MI355X"),
    "Google": ("TPUv5p", "TPUv6e", "TPUv7"),
    "Amazon": ("Trainium2",),
}


def _default_mix_shares(library: Any, year: int, first_year: int) -> dict[str, float]:
    """Each vendor's compute share to its newest part in volume (the newest generic generation once one
    is in volume), turned into unit shares by each part's dense BF16 FLOP/s."""
    names = library.ids("accelerators")
    y = np.array([first_year])
    first = dict(
        zip(names, library.series("accelerators", "first_volume_year", names, y)[0][:, 0], strict=True)
    )
    speed = dict(zip(names, library.series("accelerators", "flops_bf16", names, y)[0][:, 0], strict=True))
    generic = [n for n in names if n.startswith("NextGen-") and first[n] <= year]
    compute: dict[str, float] = {}
    for vendor, parts in _VENDORS.items():
        share = float(library.series("macro", "compute_share", [vendor], np.array([year]))[0][0, 0])
        live = [n for n in parts if first[n] <= year]
        if generic:
            best = None
            for n in generic:
                if best is None or (first[n], speed[n]) > (first[best], speed[best]):
                    best = n
        elif live:
            best = None
            for n in live:
                if best is None or (first[n], speed[n], n) > (first[best], speed[best], best):
                    best = n
        else:
            continue
        assert best is not None
        compute[best] = compute.get(best, 0.0) + share
    if not compute:
        return {min(names, key=lambda n: first[n]): 1.0}
    units = {n: c / speed[n] for n, c in compute.items()}
    total = sum(units.values())
    return {n: u / total for n, u in units.items()}


def gross(area: float, d: float) -> float:
    return max(math.pi * (d / 2.0) ** 2 / area - math.pi * d / math.sqrt(2.0 * area), 0.0)


def reference(mapping: Any, samples: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """Run the oracle; returns arrays named and laid out like the Dataset's variables."""
    scenario, params, axes = prepare(mapping, samples=samples, seed=seed)
    # Draw every parameter in the order simulate() does, so that samples see the same numbers.
    for table, parameter in params.library.specs:
        if table != "macro":
            params.get(table, parameter)
    P = Params(params, axes)
    lib = params.library
    years = [int(y) for y in axes.years]
    regions, accs, sources = list(axes.regions), list(axes.accelerators), list(axes.sources)
    S, Y, R, A, K = samples, len(years), len(regions), len(accs), len(sources)
    b = scenario.builds
    existing = scenario.existing_industry
    # §8: a scenario that only buys chips makes none, so no production cap binds ("none")
    makes = bool(existing or b.fabs or b.packaging or b.hbm)
    k_grid = sources.index("grid")

    # ---- mix m[t][a] (§2 Mix)
    mix = [[0.0] * A for _ in range(Y)]
    chip_share = lib.series("regions", "chip_share", regions, np.array(years))[0]
    for t, year in enumerate(years):
        if scenario.chips.mix is None:
            for name, share in _default_mix_shares(lib, year, years[0]).items():
                mix[t][accs.index(name)] = share
        else:
            for name, share in _step_shares(scenario.chips.mix, year, years[0]).items():
                mix[t][accs.index(name)] = float(share)

    # ---- shipment shares q[t][r][a] (§3)
    base_q = [[0.0] * R for _ in range(Y)]
    for t, year in enumerate(years):
        if scenario.chips.allocation is not None:
            for name, share in _step_shares(scenario.chips.allocation, year, years[0]).items():
                base_q[t][regions.index(name)] = float(share)
        elif not existing and b.datacentres:
            started = [d for d in b.datacentres if d.start <= year] or list(b.datacentres)
            for d in started:
                base_q[t][regions.index(d.region)] += d.count * d.it_rating
        else:
            for r in range(R):
                v = float(chip_share[r, t])
                base_q[t][r] = 0.0 if math.isnan(v) else v
    q = [[[base_q[t][r] for _ in range(A)] for r in range(R)] for t in range(Y)]
    for rule in scenario.policy.exclude:
        if rule.region not in regions:
            continue
        r = regions.index(rule.region)
        for a in range(A):
            if rule.accelerator == "*" or rule.accelerator == accs[a]:
                for t in range(Y):
                    q[t][r][a] = 0.0
    for t in range(Y):
        for a in range(A):
            tot = sum(q[t][r][a] for r in range(R))
            for r in range(R):
                q[t][r][a] = q[t][r][a] / tot

    purchases = [[[0.0] * A for _ in range(R)] for _ in range(Y)]
    for x in b.purchases:
        purchases[years.index(x.year)][regions.index(x.region)][accs.index(x.accelerator)] += x.quantity

    out: dict[str, np.ndarray] = {
        name: np.zeros(shape)
        for name, shape in {
            "wafers_ai": (S, Y),
            "wafer_capacity": (S, Y, R),
            "packaging_capacity": (S, Y),
            "hbm_supply": (S, Y),
            "production_cap": (S, Y, 3),
            "production_bottleneck": (S, Y),
            "accelerators_produced": (S, Y, A),
            "accelerators_shipped": (S, Y, R, A),
            "accelerators_installed": (S, Y, R, A),
            "accelerators_added": (S, Y, R, A),
            "accelerators_retired": (S, Y, R, A),
            "accelerators_waiting": (S, Y, R, A),
            "inventory_value": (S, Y, R),
            "h100e": (S, Y, R),
            "flops_peak": (S, Y, R),
            "flops_effective": (S, Y, R),
            "largest_run": (S, Y),
            "largest_run_distributed": (S, Y),
            "dc_capacity": (S, Y, R),
            "dc_energised": (S, Y, R),
            "grid_connection": (S, Y, R),
            "firm_power": (S, Y, R),
            "plant_capacity": (S, Y, R, K),
            "it_power": (S, Y, R),
            "facility_power": (S, Y, R),
            "energy": (S, Y, R),
            "it_energy": (S, Y, R),
            "generation": (S, Y, R, K),
            "emissions": (S, Y, R),
            "water": (S, Y, R),
            "capex": (S, Y, R, len(ASSETS)),
            "opex": (S, Y, R, len(ASSETS)),
            "bottleneck": (S, Y),
        }.items()
    }
    # cells where a bottleneck code is decided by a near-tie (skipped in comparisons)
    out["bottleneck_fragile"] = np.zeros((S, Y), dtype=bool)
    out["production_fragile"] = np.zeros((S, Y), dtype=bool)

    def lead(table: str, s: int, build: Any, r: int, i: int = 0) -> float:
        return P(table, "lead_time", s, years.index(build.start), r, i)

    def online_years(t: int, start: float, L: float) -> float:
        return years[t] - start - L  # §1: online when >= 0

    def spend_share(t: int, start: float, L: float) -> float:
        if L == 0:
            return 1.0 if years[t] == start else 0.0
        lo, hi = max(years[t], start), min(years[t] + 1, start + L)
        return max(hi - lo, 0.0) / L

    reference_flops = float(lib.series("accelerators", "flops_bf16", ["H100"], np.array(years[:1]))[0][0, 0])

    for s in range(S):
        # ------------------------------------------------------------------ §2 supply
        ctb = {"fab": "fabs", "packaging": "packaging", "hbm": "hbm", "datacentre": "datacentres"}
        W_own = [0.0] * Y
        wafer_cap_r = [[0.0] * R for _ in range(Y)]
        for x in b.fabs:
            r = regions.index(x.region)
            ts = years.index(x.start)
            L = lead("fabs", s, x, r)
            size = x.count * x.capacity
            ramps = [P("fabs", f"ramp_year{k}", s, ts, r) for k in (1, 2, 3)]
            for t in range(Y):
                o = online_years(t, x.start, L)
                level = 0.0 if o < 0 else ramps[0] if o < 1 else ramps[1] if o < 2 else ramps[2]
                W_own[t] += size * x.ai_share * level
                wafer_cap_r[t][r] += size * level
        P_own = [0.0] * Y
        for x in b.packaging:
            r = regions.index(x.region)
            L = lead("packaging", s, x, r)
            for t in range(Y):
                if online_years(t, x.start, L) >= 0:
                    P_own[t] += x.count * x.capacity
        M_own = [0.0] * Y
        for x in b.hbm:
            r = regions.index(x.region)
            L = lead("hbm", s, x, r)
            for t in range(Y):
                if online_years(t, x.start, L) >= 0:
                    M_own[t] += x.count * x.capacity

        # per chip requirements (supply-side accelerator parameters have no region: region 0)
        w_chip, p_chip, h_chip = [0.0] * Y, [0.0] * Y, [0.0] * Y
        own_cost = [[0.0] * A for _ in range(Y)]
        for t in range(Y):
            d = P("fabs", "wafer_diameter", s, t)
            D0 = P("fabs", "defect_density", s, t)
            for a in range(A):
                area = P("accelerators", "logic_die_area", s, t, 0, a)
                good = gross(area, d) * math.exp(-area * D0)
                interposers = gross(P("accelerators", "interposer_area", s, t, 0, a), d)
                w_a = P("accelerators", "dies_per_package", s, t, 0, a) / good
                h_a = P("accelerators", "hbm_capacity", s, t, 0, a)
                # §6: an own-made chip costs the operating share of its inputs' prices, plus overhead
                inputs = (
                    w_a * P("fabs", "wafer_cost", s, t)
                    + P("packaging", "interposer_cost", s, t) / interposers
                    + h_a * P("hbm", "price", s, t)
                )
                own_cost[t][a] = (
                    inputs * P("fabs", "operating_share", s, t) * (1 + P("fabs", "own_chip_overhead", s, t))
                )
                m = mix[t][a]
                if m == 0:
                    continue
                w_chip[t] += m * w_a
                p_chip[t] += m / interposers
                h_chip[t] += m * h_a

        def caps_of(
            w: float,
            pk: float,
            hb: float,
            t: int,
            w_chip: list[float] = w_chip,
            p_chip: list[float] = p_chip,
            h_chip: list[float] = h_chip,
        ) -> list[float]:
            return [w / w_chip[t], pk / p_chip[t], hb / h_chip[t] if h_chip[t] > 0 else math.inf]

        # §2: the programme's own chips come from its own lines only
        own_made = [[0.0] * A for _ in range(Y)]
        own_caps = [caps_of(W_own[t], P_own[t], M_own[t], t) for t in range(Y)]
        for t in range(Y):
            for a in range(A):
                own_made[t][a] = mix[t][a] * min(own_caps[t])
        W, Pk, M = list(W_own), list(P_own), list(M_own)
        ex_caps = [[0.0, 0.0, 0.0] for _ in range(Y)]
        industry = [[0.0] * A for _ in range(Y)]
        ex_added = {"fab": [0.0] * Y, "packaging": [0.0] * Y, "hbm": [0.0] * Y}
        hist_last = int(lib.index[("datacentres", "ai_fleet", "ai_campus")][0][-1])
        history = [
            existing and (years[t] <= hist_last if scenario.history else years[t] < scenario.horizon.start)
            for t in range(Y)
        ]
        fleet_before = 0.0
        if existing:
            y0 = lib.base_year("fabs", "existing_capacity")
            tw = regions.index("TW")
            W_ex = [0.0] * Y
            for t in range(Y):
                level = P("fabs", "existing_capacity", s, t)
                g = P("fabs", "capacity_growth", s, t)
                F = level * (1 + g) ** max(years[t] - y0, 0)
                F_before = level * (1 + g) ** max(years[t] - 1 - y0, 0)
                share = P("fabs", "ai_share", s, t)
                W_ex[t] = (F + F_before) / 2 * share
                wafer_cap_r[t][tw] += (F + F_before) / 2
                ex_added["fab"][t] = max(F - F_before, 0.0) * share
            flows: dict[str, list[float]] = {}
            for asset, table, lvl, grw, per_chip in (
                ("packaging", "packaging", "existing_capacity", "capacity_growth", p_chip),
                ("hbm", "hbm", "existing_supply", "supply_growth", h_chip),
            ):
                y0 = lib.base_year(table, lvl)
                pair = lib.series(table, lvl, [SINGLE[table]], np.array([years[0] - 1, years[0]]))[0][0]
                before = P(table, lvl, s, 0) * (float(pair[0]) / float(pair[1]) if pair[1] > 0 else 1.0)
                flow = [0.0] * Y
                grown = 1.0
                for t in range(Y):
                    # the trend path: the series up to its last year, then each year's growth rate
                    if years[t] > y0:
                        grown *= 1 + P(table, grw, s, t)
                    ceiling = P(table, lvl, s, t) * grown
                    if years[t] <= y0:
                        cap = ceiling
                    else:
                        # built as the AI wafers need it (packaging: so that the year's average
                        # output meets the need), never shrinking, never above the trend path
                        need = W_ex[t] / w_chip[t] * per_chip[t]
                        wanted = 2 * need - before if asset == "packaging" else need
                        cap = min(ceiling, max(before, wanted))
                    ex_added[asset][t] = max(cap - before, 0.0)
                    # packaging is an end-of-year capacity: a year's output averages start and end
                    flow[t] = (before + cap) / 2 if asset == "packaging" else cap
                    before = cap
                flows[asset] = flow
            for t in range(Y):
                ex_caps[t] = caps_of(W_ex[t], flows["packaging"][t], flows["hbm"][t], t)
                W[t] += W_ex[t]
                Pk[t] += flows["packaging"][t]
                M[t] += flows["hbm"][t]
            # the history: the fleet's growth plus the starting fleet's retirements, as chips of the mix
            pair = lib.series("datacentres", "ai_fleet", ["ai_campus"], np.array([years[0] - 1, years[0]]))[
                0
            ][0]
            fleet_before = P("datacentres", "ai_fleet", s, 0) * (
                float(pair[0]) / float(pair[1]) if pair[1] > 0 else 1.0
            )
            lam0 = max(math.ceil(P("datacentres", "accelerator_lifetime", s, 0) - 1e-9), 1)
            previous = fleet_before
            h100 = accs.index("H100")
            for t in range(Y):
                now = P("datacentres", "ai_fleet", s, t)
                shipped_h = max(now - previous + fleet_before / lam0, 0.0)
                previous = now
                per_chip = sum(mix[t][a] * P("accelerators", "flops_bf16", s, t, 0, a) for a in range(A)) / P(
                    "accelerators", "flops_bf16", s, t, 0, h100
                )
                N = min(ex_caps[t])
                for a in range(A):
                    industry[t][a] = mix[t][a] * (shipped_h / per_chip if history[t] else N)

        for t in range(Y):
            caps = [own_caps[t][j] + ex_caps[t][j] for j in range(3)]
            decide = ex_caps[t] if existing else own_caps[t]
            N = min(decide)
            k = decide.index(N)  # first of the minima
            others = [c for j, c in enumerate(decide) if j != k]
            out["production_fragile"][s, t] = any(
                abs(c - N) <= 1e-9 * max(abs(N), abs(c)) for c in others if math.isfinite(c)
            )
            out["production_cap"][s, t] = caps
            out["production_bottleneck"][s, t] = k if makes else 4  # LIMITS: wafers … orders, none
            out["wafers_ai"][s, t] = W[t]
            out["packaging_capacity"][s, t] = Pk[t]
            out["hbm_supply"][s, t] = M[t]
            for r in range(R):
                out["wafer_capacity"][s, t, r] = wafer_cap_r[t][r]

        # ------------------------------------------------------------------ §3 shipment
        D = [
            [[own_made[t][a] * q[t][r][a] + purchases[t][r][a] for a in range(A)] for r in range(R)]
            for t in range(Y)
        ]
        own_D = [[[own_made[t][a] * q[t][r][a] for a in range(A)] for r in range(R)] for t in range(Y)]
        supply_D = [[[industry[t][a] * q[t][r][a] for a in range(A)] for r in range(R)] for t in range(Y)]
        shipped_ex = [[[0.0] * A for _ in range(R)] for _ in range(Y)]

        # ------------------------------------------------------------------ own campuses and plants
        C_own = [[0.0] * R for _ in range(Y)]
        for x in b.datacentres:
            r = regions.index(x.region)
            L = lead("datacentres", s, x, r)
            for t in range(Y):
                if online_years(t, x.start, L) >= 0:
                    C_own[t][r] += x.count * x.it_rating
        plant = [[[0.0] * K for _ in range(R)] for _ in range(Y)]
        for x in b.power:
            r = regions.index(x.region)
            k = sources.index(x.source)
            L = lead("power_sources", s, x, r, k)
            for t in range(Y):
                if online_years(t, x.start, L) >= 0:
                    plant[t][r][k] += x.count * x.capacity
        out["plant_capacity"][s] = plant

        # ------------------------------------------------------------------ §4 deployment
        life = P("datacentres", "accelerator_lifetime", s, 0)
        lam = max(math.ceil(life - 1e-9), 1)
        installed = [[[0.0] * A for _ in range(R)] for _ in range(Y)]
        added = [[[0.0] * A for _ in range(R)] for _ in range(Y)]
        C_tot = [[0.0] * R for _ in range(Y)]
        C_ex_series = [[0.0] * R for _ in range(Y)]
        E_r = [[0.0] * R for _ in range(Y)]
        G_series = [[0.0] * R for _ in range(Y)]
        initial = [[0.0] * A for _ in range(R)]
        C_ex0 = [0.0] * R
        inventory_months = P("datacentres", "inventory_months", s, 0)
        value_loss = P("datacentres", "rental_price_decline", s, 0)
        scale = fleet_before / sum(P.reg("existing_ai_fleet", s, 0, r) for r in range(R)) if existing else 0.0
        for r in range(R):
            if existing:
                # §4: the regional split of the fleet, scaled to the history's starting stock
                initial[r][accs.index("H100")] = P.reg("existing_ai_fleet", s, 0, r) * scale
                # §4: at least the capacity the existing fleet itself draws
                fleet_power = sum(initial[r][a] * P("accelerators", "it_power", s, 0, r, a) for a in range(A))
                C_ex0[r] = max(P.reg("existing_ai_dc_capacity", s, 0, r) * scale, fleet_power)
            in_service = list(initial[r])
            queue = [0.0] * A
            queue_value = [0.0] * A
            # §4 step 6: chips leaving service by year, and the mean years the queue has waited
            leaving = [[0.0] * A for _ in range(Y + 1)]
            queue_age = [0.0] * A
            C_ex = C_ex0[r]
            G = C_ex * P("datacentres", "pue", s, 0, r)
            for t in range(Y):
                pue = P("datacentres", "pue", s, t, r)
                max_new = math.inf if history[t] else P.reg("max_new_power", s, t, r)
                for a in range(A):
                    out_a = leaving[t][a] + (initial[r][a] / lam if t < lam else 0.0)
                    out["accelerators_retired"][s, t, r, a] = out_a
                    in_service[a] = max(in_service[a] - out_a, 0.0)
                itp = [P("accelerators", "it_power", s, t, r, a) for a in range(A)]
                used = sum(in_service[a] * itp[a] for a in range(A))
                cand = [queue[a] + D[t][r][a] for a in range(A)]
                demand = sum(cand[a] * itp[a] for a in range(A))
                own = C_own[t][r]
                F_own = sum(
                    plant[t][r][k] * P("power_sources", "firm_capacity_credit", s, t, r, k) for k in range(K)
                )
                # §4 orders: after its history the industry ships what the most room can take, plus
                # an inventory of inventory_months of that room
                take = 1.0
                if existing and not history[t]:
                    free_most = max((F_own + G + max_new) / pue - used, 0.0)
                    wanted = max(free_most * (1 + inventory_months) - demand, 0.0)
                    offered = sum(supply_D[t][r][a] * itp[a] for a in range(A))
                    take = min(wanted / offered, 1.0) if offered > 0 else 0.0
                for a in range(A):
                    shipped_ex[t][r][a] = supply_D[t][r][a] * take
                    cand[a] += shipped_ex[t][r][a]
                    queue_value[a] = queue_value[a] * (1 - value_loss) + (
                        D[t][r][a] + shipped_ex[t][r][a]
                    ) * P("accelerators", "price", s, t, r, a)
                demand = sum(cand[a] * itp[a] for a in range(A))
                C_star = max(C_ex, used + demand - own) if existing else C_ex
                G = G + min(max((own + C_star) * pue - F_own - G, 0.0), max_new)
                room_firm = (F_own + G) / pue
                if existing:
                    C_ex = max(C_ex, min(C_star, room_firm - own))
                C = own + C_ex
                E = min(C, room_firm)
                free = max(E - used, 0.0)
                f = min(free / demand, 1.0) if demand > 0 else 0.0
                f = 1.0 if f > 1.0 - 1e-12 else f  # room for all but rounding is room for all
                for a in range(A):
                    new = cand[a] * f
                    added[t][r][a] = new
                    waited = queue[a] * (queue_age[a] + 1) / cand[a] if cand[a] > 0 else 0.0
                    # the life left after the wait, split around a fractional mean wait
                    whole = math.floor(waited)
                    later = waited - whole
                    for k, part in ((lam - whole, 1 - later), (lam - whole - 1, later)):
                        k = max(k, 1)
                        if t + k <= Y and part > 0:
                            leaving[t + k][a] += new * part
                    queue[a] = 0.0 if f >= 1.0 else cand[a] - new
                    queue_age[a] = waited if queue[a] > 0 else 0.0
                    queue_value[a] *= 1 - f
                    in_service[a] += new
                    installed[t][r][a] = in_service[a]
                    out["accelerators_waiting"][s, t, r, a] = queue[a]
                C_tot[t][r], C_ex_series[t][r], E_r[t][r], G_series[t][r] = C, C_ex, E, G
                out["inventory_value"][s, t, r] = sum(queue_value)
                out["firm_power"][s, t, r] = F_own + G
        for t in range(Y):
            for a in range(A):
                out["accelerators_produced"][s, t, a] = own_made[t][a] + sum(
                    shipped_ex[t][r][a] for r in range(R)
                )
                for r in range(R):
                    out["accelerators_shipped"][s, t, r, a] = D[t][r][a] + shipped_ex[t][r][a]
            made = sum(shipped_ex[t][r][a] for r in range(R) for a in range(A))
            could = sum(industry[t])
            if existing and not history[t] and made < could * (1 - 1e-9) - 1e-9:
                out["production_bottleneck"][s, t] = 3  # orders
                out["production_fragile"][s, t] = abs(made - could) <= 1e-6 * max(could, 1.0)
        out["accelerators_installed"][s] = installed
        out["accelerators_added"][s] = added
        out["dc_capacity"][s] = C_tot
        out["dc_energised"][s] = E_r
        out["grid_connection"][s] = G_series

        # ------------------------------------------------------------------ §5 power and energy
        for t in range(Y):
            for r in range(R):
                it_e = 0.0
                rating = 0.0
                for a in range(A):
                    prev = installed[t - 1][r][a] if t > 0 else initial[r][a]
                    avg = (prev + installed[t][r][a]) / 2.0
                    itp = P("accelerators", "it_power", s, t, r, a)
                    it_e += avg * itp
                    rating += installed[t][r][a] * itp
                it_e *= P("datacentres", "utilisation", s, t, r) * H
                load = it_e * P("datacentres", "pue", s, t, r)
                avail = [
                    0.0
                    if k == k_grid
                    else plant[t][r][k] * P("power_sources", "capacity_factor", s, t, r, k) * H
                    for k in range(K)
                ]
                tot = sum(avail)
                frac = min(load / tot, 1.0) if tot > 0 else 0.0
                used_k = [avail[k] * frac for k in range(K)]
                grid_e = max(load - sum(used_k), 0.0)
                gen = list(used_k)
                gen[k_grid] = grid_e
                # one basis for plants and grid: direct (default) or lifecycle factors
                suffix = "_lifecycle" if scenario.emissions.basis == "lifecycle" else ""
                emissions = grid_e * P.reg("grid_carbon_intensity" + suffix, s, t, r)
                for k in range(K):
                    if k != k_grid and used_k[k] > 0:
                        emissions += used_k[k] * P("power_sources", "carbon_intensity" + suffix, s, t, r, k)
                water = it_e * P("datacentres", "wue", s, t, r) + sum(
                    gen[k] * P("power_sources", "water", s, t, r, k) for k in range(K)
                )
                out["it_energy"][s, t, r] = it_e
                out["energy"][s, t, r] = load
                out["facility_power"][s, t, r] = load / H
                out["it_power"][s, t, r] = rating
                out["generation"][s, t, r] = gen
                out["emissions"][s, t, r] = emissions
                out["water"][s, t, r] = water

                # ---- §6 opex
                fuel = 0.0
                for k in range(K):
                    if k == k_grid:
                        continue
                    fc = P("power_sources", "fuel_cost", s, t, r, k)
                    fc = 0.0 if math.isnan(fc) else fc
                    fuel += used_k[k] * (fc + P("power_sources", "variable_om", s, t, r, k))
                fixed = sum(plant[t][r][k] * P("power_sources", "fixed_om", s, t, r, k) for k in range(K))
                out["opex"][s, t, r, ASSETS.index("power")] = (
                    grid_e * P.reg("electricity_price", s, t, r) + fuel + fixed
                )
                out["opex"][s, t, r, ASSETS.index("datacentre")] = C_tot[t][r] * P(
                    "datacentres", "opex", s, t, r
                )

        # ------------------------------------------------------------------ §6 capex
        capex = out["capex"][s]
        for asset, table, items in (
            ("fab", "fabs", b.fabs),
            ("packaging", "packaging", b.packaging),
            ("hbm", "hbm", b.hbm),
            ("datacentre", "datacentres", b.datacentres),
            ("power", "power_sources", b.power),
        ):
            for x in items:
                r = regions.index(x.region)
                ts = years.index(x.start)
                k = sources.index(x.source) if asset == "power" else 0
                size = x.count * (x.it_rating if asset == "datacentre" else x.capacity)
                if x.capex is not None:
                    cost = x.capex * x.count
                else:
                    cost = size * P(table, "capex", s, ts, r, k) * P.reg("construction_cost_factor", s, ts, r)
                L = lead(table, s, x, r, k)
                for t in range(Y):
                    capex[t, r, ASSETS.index(asset)] += spend_share(t, x.start, L) * cost
        if existing:
            for asset, region in (("fab", "TW"), ("packaging", "TW"), ("hbm", "KR")):
                r = regions.index(region)
                for t in range(Y):
                    capex[t, r, ASSETS.index(asset)] += (
                        ex_added[asset][t]
                        * P(ctb[asset], "capex", s, t)
                        * P.reg("construction_cost_factor", s, t, r)
                    )
        for r in range(R):
            for t in range(Y):
                ccf = P.reg("construction_cost_factor", s, t, r)
                dc_prev = C_ex_series[t - 1][r] if t > 0 else C_ex0[r]
                capex[t, r, ASSETS.index("datacentre")] += (
                    (C_ex_series[t][r] - dc_prev) * P("datacentres", "capex", s, t, r) * ccf
                )
                g_prev = G_series[t - 1][r] if t > 0 else C_ex0[r] * P("datacentres", "pue", s, 0, r)
                capex[t, r, ASSETS.index("power")] += (
                    (G_series[t][r] - g_prev) * P("power_sources", "capex", s, t, r, k_grid) * ccf
                )
                # §6: bought chips at the vendor's price, own-made ones at their cost, when shipped
                capex[t, r, ASSETS.index("accelerator")] += sum(
                    (D[t][r][a] - own_D[t][r][a] + shipped_ex[t][r][a])
                    * P("accelerators", "price", s, t, r, a)
                    + own_D[t][r][a] * own_cost[t][a]
                    for a in range(A)
                )
                capex[t, r, ASSETS.index("network")] = capex[t, r, ASSETS.index("accelerator")] * P(
                    "datacentres", "network_capex_share", s, t, r
                )

        # ------------------------------------------------------------------ §7 operations
        for t in range(Y):
            mfu = P("datacentres", "mfu", s, t)
            dur = P("datacentres", "training_duration", s, t)
            world = 0.0
            for r in range(R):
                peak = sum(installed[t][r][a] * P("accelerators", "flops_bf16", s, t, r, a) for a in range(A))
                out["flops_peak"][s, t, r] = peak
                out["h100e"][s, t, r] = peak / reference_flops
                out["flops_effective"][s, t, r] = peak * mfu
                world += peak

            def fpw(a: int, t: int = t, s: int = s) -> float:
                return P("accelerators", "flops_bf16", s, t, 0, a) / P("accelerators", "it_power", s, t, 0, a)

            best = max((fpw(a) for a in range(A) if mix[t][a] > 0), default=0.0)
            biggest = 0.0
            for x in b.datacentres:
                r = regions.index(x.region)
                if online_years(t, x.start, lead("datacentres", s, x, r)) < 0:
                    continue
                C, E, Pr = C_tot[t][r], E_r[t][r], out["it_power"][s, t, r]
                usable = (E / C if C > 0 else 0.0) * (min(Pr / E, 1.0) if E > 0 else 0.0)
                per_watt = fpw(accs.index(x.accelerator)) if x.accelerator else best
                biggest = max(biggest, x.it_rating * usable * per_watt)
            if existing:
                biggest = max(biggest, P("datacentres", "largest_campus", s, t) * best)
            out["largest_run"][s, t] = biggest * mfu * dur
            out["largest_run_distributed"][s, t] = (
                world * P("datacentres", "largest_run_share", s, t) * mfu * dur
            )

        # ------------------------------------------------------------------ §8 bottleneck
        for t in range(Y):
            stuck_power = stuck_dc = 0.0
            deploy_fragile = False
            for r in range(R):
                waiting = sum(out["accelerators_waiting"][s, t, r, a] for a in range(A))
                C, E = C_tot[t][r], E_r[t][r]
                margin = 1e-6 * max(C, 1.0)
                short = existing or C - margin > E
                if not existing and waiting > 0 and abs(E - (C - margin)) <= 1e-9 * max(C, 1.0):
                    deploy_fragile = True
                if short:
                    stuck_power += waiting
                else:
                    stuck_dc += waiting
            arrived = sum(D[t][r][a] + shipped_ex[t][r][a] for r in range(R) for a in range(A))
            threshold = 1e-6 * max(arrived, 1.0)
            total = stuck_power + stuck_dc
            near_threshold = abs(total - threshold) <= 1e-6 * threshold
            if total > threshold:
                code = 4 if stuck_power >= stuck_dc else 3
                fragile = deploy_fragile or near_threshold or abs(stuck_power - stuck_dc) <= 1e-9 * total
            else:
                code = int(out["production_bottleneck"][s, t])
                code = 4 if code == 3 else code  # orders bind where power holds deployment back
                code = code if makes else 5  # none
                fragile = near_threshold or bool(out["production_fragile"][s, t])
            out["bottleneck"][s, t] = code
            out["bottleneck_fragile"][s, t] = fragile
    # §1: the years stepped through before the horizon only set its starting stocks
    return {name: values[:, axes.skip :] for name, values in out.items()}
