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
        for t in range(Y):
            d = P("fabs", "wafer_diameter", s, t)
            D0 = P("fabs", "defect_density", s, t)
            for a in range(A):
                m = mix[t][a]
                if m == 0:
                    continue
                area = P("accelerators", "logic_die_area", s, t, 0, a)
                good = gross(area, d) * math.exp(-area * D0)
                interposers = gross(P("accelerators", "interposer_area", s, t, 0, a), d)
                w_chip[t] += m * P("accelerators", "dies_per_package", s, t, 0, a) / good
                p_chip[t] += m / interposers
                h_chip[t] += m * P("accelerators", "hbm_capacity", s, t, 0, a)

        W = list(W_own)
        Pk, M = list(P_own), list(M_own)
        ex_added = {"fab": [0.0] * Y, "packaging": [0.0] * Y, "hbm": [0.0] * Y}
        if existing:
            y0 = lib.base_year("fabs", "existing_capacity")
            tw = regions.index("TW")
            for t in range(Y):
                level = P("fabs", "existing_capacity", s, t)
                g = P("fabs", "capacity_growth", s, t)
                F = level * (1 + g) ** max(years[t] - y0, 0)
                F_before = level * (1 + g) ** max(years[t] - 1 - y0, 0)
                share = P("fabs", "ai_share", s, t)
                W[t] += F * share
                wafer_cap_r[t][tw] += F
                ex_added["fab"][t] = max(F - F_before, 0.0) * share
            for asset, table, lvl, grw, own, per_chip, total in (
                ("packaging", "packaging", "existing_capacity", "capacity_growth", P_own, p_chip, Pk),
                ("hbm", "hbm", "existing_supply", "supply_growth", M_own, h_chip, M),
            ):
                y0 = lib.base_year(table, lvl)
                prev = None
                for t in range(Y):
                    known = P(table, lvl, s, t)
                    if years[t] <= y0:
                        cap = known
                    else:
                        if prev is None:
                            prev = known  # the series held after its last year
                        need = max(W[t] / w_chip[t] * per_chip[t] - own[t], 0.0)
                        cap = min(max(prev, need), prev * (1 + P(table, grw, s, t)))
                    if t == 0:
                        # the capacity the year before the horizon: the library's own step from the
                        # year before into the first year, applied to this sample's level (§6)
                        pair = lib.series(table, lvl, [SINGLE[table]], np.array([years[0] - 1, years[0]]))[0][
                            0
                        ]
                        before = known * (float(pair[0]) / float(pair[1]) if pair[1] > 0 else 1.0)
                    else:
                        before = prev
                    ex_added[asset][t] = max(cap - before, 0.0)
                    total[t] += cap
                    prev = cap

        produced = [[0.0] * A for _ in range(Y)]
        for t in range(Y):
            Nw = W[t] / w_chip[t]
            Np = Pk[t] / p_chip[t]
            Nh = M[t] / h_chip[t] if h_chip[t] > 0 else math.inf
            caps = [Nw, Np, Nh]
            N = min(caps)
            k = caps.index(N)  # first of the minima
            others = [c for j, c in enumerate(caps) if j != k]
            out["production_fragile"][s, t] = any(
                abs(c - N) <= 1e-9 * max(abs(N), abs(c)) for c in others if math.isfinite(c)
            )
            out["production_cap"][s, t] = caps
            out["production_bottleneck"][s, t] = k
            for a in range(A):
                produced[t][a] = mix[t][a] * N
            out["wafers_ai"][s, t] = W[t]
            out["packaging_capacity"][s, t] = Pk[t]
            out["hbm_supply"][s, t] = M[t]
            for r in range(R):
                out["wafer_capacity"][s, t, r] = wafer_cap_r[t][r]
        out["accelerators_produced"][s] = produced

        # ------------------------------------------------------------------ §3 shipment
        D = [
            [[produced[t][a] * q[t][r][a] + purchases[t][r][a] for a in range(A)] for r in range(R)]
            for t in range(Y)
        ]
        out["accelerators_shipped"][s] = D

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
        for r in range(R):
            if existing:
                if "H100" in accs:
                    initial[r][accs.index("H100")] = P.reg("existing_ai_fleet", s, 0, r)
                # §4: at least the capacity the existing fleet itself draws
                fleet_power = sum(initial[r][a] * P("accelerators", "it_power", s, 0, r, a) for a in range(A))
                C_ex0[r] = max(P.reg("existing_ai_dc_capacity", s, 0, r), fleet_power)
            in_service = list(initial[r])
            queue = [0.0] * A
            C_ex = C_ex0[r]
            G = C_ex * P("datacentres", "pue", s, 0, r)
            for t in range(Y):
                pue = P("datacentres", "pue", s, t, r)
                for a in range(A):
                    cohort = added[t - lam][r][a] if t - lam >= 0 else 0.0
                    out_a = cohort + (initial[r][a] / lam if t < lam else 0.0)
                    out["accelerators_retired"][s, t, r, a] = out_a
                    in_service[a] = max(in_service[a] - out_a, 0.0)
                itp = [P("accelerators", "it_power", s, t, r, a) for a in range(A)]
                used = sum(in_service[a] * itp[a] for a in range(A))
                cand = [queue[a] + D[t][r][a] for a in range(A)]
                demand = sum(cand[a] * itp[a] for a in range(A))
                own = C_own[t][r]
                C_star = max(C_ex, used + demand - own) if existing else C_ex
                F_own = sum(
                    plant[t][r][k] * P("power_sources", "firm_capacity_credit", s, t, r, k) for k in range(K)
                )
                G = G + min(max((own + C_star) * pue - F_own - G, 0.0), P.reg("max_new_power", s, t, r))
                room_firm = (F_own + G) / pue
                if existing:
                    C_ex = max(C_ex, min(C_star, room_firm - own))
                C = own + C_ex
                E = min(C, room_firm)
                free = max(E - used, 0.0)
                f = min(free / demand, 1.0) if demand > 0 else 0.0
                for a in range(A):
                    new = cand[a] * f
                    added[t][r][a] = new
                    queue[a] = cand[a] - new
                    in_service[a] += new
                    installed[t][r][a] = in_service[a]
                    out["accelerators_waiting"][s, t, r, a] = queue[a]
                C_tot[t][r], C_ex_series[t][r], E_r[t][r], G_series[t][r] = C, C_ex, E, G
                out["firm_power"][s, t, r] = F_own + G
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
                capex[t, r, ASSETS.index("accelerator")] += sum(
                    D[t][r][a] * P("accelerators", "price", s, t, r, a) for a in range(A)
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
            arrived = sum(D[t][r][a] for r in range(R) for a in range(A))
            threshold = 1e-6 * max(arrived, 1.0)
            total = stuck_power + stuck_dc
            near_threshold = abs(total - threshold) <= 1e-6 * threshold
            if total > threshold:
                code = 4 if stuck_power >= stuck_dc else 3
                fragile = deploy_fragile or near_threshold or abs(stuck_power - stuck_dc) <= 1e-9 * total
            else:
                code = int(out["production_bottleneck"][s, t])
                fragile = near_threshold or bool(out["production_fragile"][s, t])
            out["bottleneck"][s, t] = code
            out["bottleneck_fragile"][s, t] = fragile
    return out
