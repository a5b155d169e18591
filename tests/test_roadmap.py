"""The technology roadmap (issue 13, item 6): generic generations continue the sourced hardware trends
after the last named chip, and the default mix follows market share by vendor."""

from __future__ import annotations

import numpy as np
import pytest

import flopgrid
from flopgrid.layout import GENERIC_PREFIX, VENDORS, default_mix
from flopgrid.library import load_library

#: FLOP/s per W and memory per chip, yearly growth fitted to Epoch's ML hardware data (library notes).
FLOPS_PER_W = 1.2037
MEMORY = 1.2441


def _last(parameter: str, item: str) -> float:
    return float(load_library().index[("accelerators", parameter, item)][1][-1])


def _per_watt(item: str) -> float:
    return _last("flops_bf16", item) / _last("it_power", item)


def test_flops_per_watt_rise_after_the_last_named_chip_at_the_trend_rate() -> None:
    lib = load_library()
    generic = [n for n in lib.ids("accelerators") if n.startswith(GENERIC_PREFIX)]
    assert generic[0] == "NextGen-2028" and generic[-1] == "NextGen-2040"
    named = [n for n in lib.ids("accelerators") if not n.startswith(GENERIC_PREFIX)]
    last_year = max(_last("first_volume_year", n) for n in named)
    assert last_year == _last("first_volume_year", "Rubin") < _last("first_volume_year", generic[0])
    for name in generic:
        years = _last("first_volume_year", name) - _last("first_volume_year", "Rubin")
        assert _per_watt(name) / _per_watt("Rubin") == pytest.approx(FLOPS_PER_W**years, rel=1e-4)
        assert _last("hbm_capacity", name) / _last("hbm_capacity", "Rubin") == pytest.approx(
            MEMORY**years, rel=1e-4
        )
        # every trend carries a range for Monte Carlo, widening with the years from the last named chip
        _, value, low, high = (a[-1] for a in lib.index[("accelerators", "flops_bf16", name)])
        assert low < value < high
    # generations come every two years (the flagship cadence), so the frontier never freezes
    cadence = np.diff([_last("first_volume_year", n) for n in generic])
    assert set(cadence.tolist()) == {2.0}


def test_the_default_mix_follows_vendor_shares_not_one_newest_part() -> None:
    lib = load_library()
    years = np.arange(2024, 2041)
    mix = dict(zip(years.tolist(), default_mix(lib, years), strict=True))
    for shares in mix.values():
        assert sum(shares.values()) == pytest.approx(1.0)
    # 2025: every vendor's newest part in volume, each in proportion to its vendor's compute share
    in_2025 = mix[2025]
    assert set(in_2025) == {"GB300", "MI355X", "TPUv6e", "Trainium2"}
    speed = {n: _last("flops_bf16", n) for n in in_2025}
    compute = {n: in_2025[n] * speed[n] for n in in_2025}
    total = sum(compute.values())
    for vendor, parts in VENDORS.items():
        share = float(lib.index[("macro", "compute_share", vendor)][1][-1])
        held = sum(compute[n] for n in parts if n in compute) / total
        expected = share / sum(float(lib.index[("macro", "compute_share", v)][1][-1]) for v in VENDORS)
        assert held == pytest.approx(expected, rel=1e-9), vendor
    # not one vendor's newest part for everything (the old rule gave MI300X for 2024, MI355X for 2025)
    assert mix[2024].get("MI300X", 0.0) < 0.1 and mix[2025].get("MI355X", 0.0) < 0.1
    # after the last named chips the roadmap's generic generation carries the whole output
    assert mix[2030] == {"NextGen-2030": 1.0} and mix[2031] == {"NextGen-2030": 1.0}


def test_compute_per_chip_keeps_rising_in_the_reference_run() -> None:
    r = flopgrid.simulate("reference")
    added = r["accelerators_added"].sum(["region", "accelerator"]).isel(sample=0)
    h100e = r["h100e"].sum("region").isel(sample=0)
    installed = r["accelerators_installed"].sum(["region", "accelerator"]).isel(sample=0)
    per_chip = (h100e / installed).sel(year=[2027, 2030, 2035, 2040]).values
    assert np.all(np.diff(per_chip) > 0) and float(added.sel(year=2035)) > 0
    # H100e per installed chip at least doubles from 2030 to 2040 on the FLOP/s-per-W trend
    assert per_chip[-1] > 2 * per_chip[1]
