# %% [markdown]
# # A 1 GW campus business case
#
# A developer plans one campus of **1 GW of IT**, filled with bought Nvidia Rubin accelerators, and asks:
# where should it stand, how should it be powered and financed, what does an H100e-hour cost, and is the
# NPV positive once the inputs are uncertain? Which inputs matter most?
#
# The campus is a scenario written as a Python dict (the same fields as a YAML file, see
# [Write a scenario](../guide/scenarios.md)). Only the programme is modelled (`existing_industry: false`):
# chips bought outside the modelled supply chain are `purchases`.

# %%
import json
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml

import flopgrid

pd.set_option("display.precision", 3)
# 1 GW of IT at Rubin's ≈2.85 kW all-in per accelerator (the library's accelerators table) ≈ 350,000.
CHIPS = 350_000


def campus(region: str, source: str) -> dict:
    """The campus in one region, powered by its own plant of one source (or from the grid)."""
    power = (
        []
        if source == "grid"
        else [
            {"name": "campus power", "region": region, "source": source, "capacity": "1.3 GW", "start": 2026}
        ]
    )
    return {
        "name": f"campus-{region}-{source}",
        "description": "One 1 GW campus of bought Rubin accelerators",
        "horizon": {"start": 2025, "end": 2035},
        "existing_industry": False,
        "builds": {
            "datacentres": [
                {
                    "name": "1 GW campus",
                    "region": region,
                    "it_power": "1 GW",
                    "accelerator": "Rubin",
                    "start": 2026,
                }
            ],
            "power": power,
            "purchases": [{"accelerator": "Rubin", "region": region, "quantity": CHIPS, "year": 2028}],
        },
        "finance": {
            "revenue": {"kind": "rental", "price": "2 USD/hour", "decline": "10%/year"},
            "tranches": [
                {"name": "sponsor equity", "kind": "equity", "amount": "$15B", "year": 2026},
                {
                    "name": "project debt",
                    "kind": "debt",
                    "amount": "$30B",
                    "years": [2026, 2028],
                    "rate": "6%/year",
                    "tenor": "8 year",
                },
            ],
        },
    }


# %% [markdown]
# ## Power options by region
#
# Twelve deterministic runs: three regions, each with grid power or its own gas (combined cycle or
# on-site turbines) or solar with storage. The levelised cost per H100e-hour charges each asset class
# its capital recovery over its life plus its opex, over the compute the campus delivers.

# %%
rows = []
for region in ["US", "UAE", "JP"]:
    for source in ["grid", "gas_ccgt", "gas_onsite", "solar_storage"]:
        returns = flopgrid.simulate(campus(region, source)).flopgrid.finance()["returns"]
        rows.append(
            {
                "region": region,
                "power": source,
                "USD per H100e-hour": returns["lcoc_per_h100e_hour"],
                "NPV [B USD]": returns["npv"] / 1e9,
                "IRR": returns["irr"],
            }
        )
options = pd.DataFrame(rows)
options.pivot(index="power", columns="region", values="USD per H100e-hour")

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
options.pivot(index="power", columns="region", values="NPV [B USD]").plot.bar(ax=ax, rot=0)
ax.set_ylabel("NPV, B USD (real 2024)")
ax.set_title("NPV of the campus by region and power source")
ax.grid(axis="y", alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The chosen case: US, own combined-cycle gas
#
# Its cash flow year by year, with the financing drawn and the debt served, and whether the
# tranches cover the plan.

# %%
base = flopgrid.simulate(campus("US", "gas_ccgt"))
money = base.flopgrid.finance()
cash = money["table"] / 1e9
print(f"financing covers the plan: {money['coverage']['covered']}")
print("cost per H100e-hour by asset class (USD):")
print(pd.Series(money["lcoc_breakdown"]).round(3).to_string())
cash[["revenue", "financing_in", "debt_service", "cash"]].round(2)

# %% [markdown]
# ## NPV under uncertainty
#
# Every library parameter with a range is drawn (PERT or two-piece lognormal by kind) on a Latin
# hypercube. **500 samples** keep the page fast; the standard error of a probability is printed with it.

# %%
mc = flopgrid.simulate(campus("US", "gas_ccgt"), samples=500, seed=1)
npv = mc["npv"].values.ravel() / 1e9
print(mc.flopgrid.probability("npv >= 0"))
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.hist(npv, bins=40)
ax.axvline(0, color="black", lw=1)
for q in np.percentile(npv, [5, 50, 95]):
    ax.axvline(q, color="tab:red", ls="--", lw=1)
ax.set_xlabel("NPV, B USD (P5, P50, P95 dashed)")
ax.set_title("NPV of the US gas campus, 500 samples")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What drives the NPV
#
# Sobol indices from `flopgrid sensitivity` (SALib), run through the CLI on the same scenario written
# to a file. A small base of **32** samples (32 × (2 × drivers + 2) runs) gives wide confidence
# intervals; raise `-n` for a real study.

# %%
with open("campus.yaml", "w") as file:
    yaml.safe_dump(campus("US", "gas_ccgt"), file, sort_keys=False)
out = subprocess.run(
    [
        sys.executable,
        "-m",
        "flopgrid",
        "sensitivity",
        "campus.yaml",
        "--output",
        "npv",
        "--method",
        "sobol",
        "-n",
        "32",
        "--top",
        "8",
        "--json",
    ],
    check=True,
    capture_output=True,
    text=True,
)
drivers = pd.DataFrame(json.loads(out.stdout)["drivers"]).set_index("driver")
fig, ax = plt.subplots(figsize=(7, 3.5))
drivers["ST"].iloc[::-1].plot.barh(ax=ax, xerr=drivers["ST_conf"].iloc[::-1])
ax.set_xlabel("total-order Sobol index of the NPV")
fig.tight_layout()
plt.show()
drivers
