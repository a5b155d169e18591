"""The simulator's Results variables: dimensions, units and long names, flag meanings, and which
variables the Money stage makes."""

from __future__ import annotations

from flopgrid.model import supply

BOTTLENECKS = ("wafers", "packaging", "hbm", "datacentres", "power", "none")
_Y, _YR, _YRA = ("year",), ("year", "region"), ("year", "region", "accelerator")
#: Kinds of financing (the ``financing`` dimension of ``financing_in``).
FINANCING = ("equity", "debt", "vendor", "grant")
#: Every Results variable: dimensions after ``sample``, units and long name.
VARIABLES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "wafers_ai": (_Y, "wafer", "leading-edge wafers available to AI accelerators"),
    "wafer_capacity": (_YR, "wafer", "leading-edge wafer starts (capacity)"),
    "packaging_capacity": (_Y, "wafer", "advanced-packaging interposer wafers"),
    "hbm_supply": (_Y, "GB", "HBM output"),
    "production_cap": (("year", "cap"), "chip", "accelerators each input alone would allow"),
    "production_bottleneck": (_Y, "1", "binding cap on accelerator production"),
    "accelerators_produced": (("year", "accelerator"), "chip", "accelerators produced"),
    "accelerators_shipped": (_YRA, "chip", "accelerators delivered to the region"),
    "accelerators_installed": (_YRA, "chip", "accelerators in service at year end"),
    "accelerators_added": (_YRA, "chip", "accelerators installed during the year"),
    "accelerators_retired": (_YRA, "chip", "accelerators retired during the year"),
    "accelerators_waiting": (_YRA, "chip", "accelerators delivered but not installed (no energised room)"),
    "h100e": (_YR, "H100e", "installed compute in H100-equivalents (dense BF16)"),
    "flops_peak": (_YR, "FLOP/s", "installed peak dense BF16 compute"),
    "flops_effective": (_YR, "FLOP/s", "installed compute at model FLOP utilisation"),
    "largest_run": (_Y, "FLOP", "largest training run on one campus"),
    "largest_run_distributed": (_Y, "FLOP", "largest run with a share of the whole fleet"),
    "dc_capacity": (_YR, "W", "data-centre IT capacity built"),
    "dc_energised": (_YR, "W", "data-centre IT capacity energised"),
    "grid_connection": (_YR, "W", "grid connection for data centres"),
    "firm_power": (_YR, "W", "firm power available to data centres"),
    "plant_capacity": ((*_YR, "source"), "W", "nameplate capacity of the scenario's own plants"),
    "it_power": (_YR, "W", "all-in IT rating of the installed fleet"),
    "facility_power": (_YR, "W", "average facility power draw"),
    "energy": (_YR, "Wh", "facility electricity use"),
    "it_energy": (_YR, "Wh", "IT electricity use"),
    "generation": ((*_YR, "source"), "Wh", "electricity supplied to data centres by source"),
    "emissions": (_YR, "kg", "greenhouse-gas emissions (CO2e)"),
    "water": (_YR, "m^3", "water consumed on site and in generation"),
    "capex": ((*_YR, "asset"), "USD", "capital expenditure"),
    "opex": ((*_YR, "asset"), "USD", "operating expenditure"),
    "depreciation": (("year", "asset"), "USD", "straight-line depreciation of capex over the asset's life"),
    "compute_hours": (_YR, "H100e*hour", "H100e-hours delivered (average fleet × hours × utilisation)"),
    "revenue": (_YR, "USD", "revenue from the compute delivered"),
    "financing_in": (("year", "financing"), "USD", "financing drawn from the scenario's tranches"),
    "debt_interest": (_Y, "USD", "interest paid on debt and vendor financing"),
    "debt_service": (_Y, "USD", "interest and principal paid on debt and vendor financing"),
    "dscr": (_Y, "1", "debt service coverage: (revenue − opex) / debt service"),
    "net_cash_flow": (_Y, "USD", "project cash flow: revenue − capex − opex"),
    "funding_gap": (_Y, "USD", "uses not covered by sources and cash carried"),
    "cash": (_Y, "USD", "cash carried at the end of the year"),
    "discount_rate": ((), "1/year", "real discount rate (cost of capital)"),
    "financing_cost": ((), "1/year", "weighted cost of the tranches (equity at the discount rate)"),
    "npv": ((), "USD", "net present value of the project cash flow at the discount rate"),
    "irr": ((), "1/year", "internal rate of return of the project cash flow"),
    "payback_year": ((), "calendar year", "first year from which cumulative cash flow stays ≥ 0"),
    "peak_cash_need": ((), "USD", "deepest cumulative project cash flow below zero"),
    "lcoc_per_h100e_hour": ((), "USD/hour", "levelised cost per H100e-hour delivered"),
    "lcoc_per_1e21_flop": ((), "USD", "levelised cost per 1e21 FLOP delivered (peak dense BF16)"),
    "lcoc_breakdown": (("asset",), "USD/hour", "levelised cost per H100e-hour by asset class"),
    "bottleneck": (_Y, "1", "binding constraint of the year"),
}
FLAGS = {
    "bottleneck": BOTTLENECKS,
    "production_bottleneck": supply.CAPS,
}


#: Results variables of the Money stage (``_finance``): a run that keeps none of them skips the stage.
FINANCE_VARIABLES = frozenset(
    {
        "depreciation", "compute_hours", "revenue", "financing_in", "debt_interest", "debt_service", "dscr",
        "net_cash_flow", "funding_gap", "cash", "discount_rate", "financing_cost", "npv", "irr",
        "payback_year", "peak_cash_need", "lcoc_per_h100e_hour", "lcoc_per_1e21_flop", "lcoc_breakdown",
    }
)  # fmt: skip
