# %% [markdown]
# # The least-cost plan for 100 M H100e by 2030
#
# The reverse question: not "what does this plan buy?" but "what is the cheapest programme that has
# **100 million H100-equivalents** in service by the end of 2030, built from nothing, and what holds it
# back?" The shipped scenario `target-100m-h100e-2030` sets that target, the regions and power sources
# the planner may use, and build limits from precedent (≈25 GW of US gas a year, ≈12 GW of US data
# centres a year). `flopgrid.plan` solves it as a linear program (linopy + HiGHS) and returns the same
# Results as the simulator, plus its decisions and the constraints' shadow prices.

# %%
import subprocess
import sys

import matplotlib.pyplot as plt
import pandas as pd

import flopgrid

pd.set_option("display.precision", 3)
planned = flopgrid.plan("target-100m-h100e-2030")
print(f"discounted cost of the plan: ${planned.attrs['discounted_cost'] / 1e12:.2f}T")
print(f"LP: {planned.attrs['lp_variables']} variables, {planned.attrs['lp_constraints']} constraints")

# %% [markdown]
# ## What it builds, where and when
#
# Data-centre IT capacity and power plants started each year, by region (the decisions `datacentre_build`
# and `plant_build`, in W).

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
dc = planned["datacentre_build"].isel(sample=0).to_pandas() / 1e9
dc.loc[:, dc.sum() > 0].plot.bar(ax=left, stacked=True, rot=0)
left.set_title("Data-centre IT started (GW)")
plants = planned["plant_build"].isel(sample=0).sum("region").to_pandas() / 1e9
plants.loc[:, plants.sum() > 0].plot.bar(ax=right, stacked=True, rot=0)
right.set_title("Power plants started, all regions (GW)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What binds: shadow prices
#
# Each binding constraint's dual value says what relaxing it by one unit is worth to the objective;
# `bottlenecks()` ranks them and says each in words. Constraints are named `{stage}-{what}-{bound}`.

# %%
ranked = planned.flopgrid.bottlenecks()
with pd.option_context("display.max_colwidth", 100):
    print(ranked[["constraint", "year", "location", "text"]].head(10).to_string(index=False))

# %%
top = ranked.head(10).iloc[::-1]
fig, ax = plt.subplots(figsize=(8, 4))
ax.barh(
    top["constraint"] + " " + top["location"] + " " + top["year"].astype(str),
    top["value_per_display_unit"] / 1e9,
)
ax.set_xlabel("value of one more display unit (B USD)")
ax.set_title("The ten most valuable constraints to relax")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The plan simulated back
#
# `flopgrid plan --scenario-out` writes the plan as an ordinary scenario; the simulator then runs it
# with its own equations. The planner calls the same model functions, so the simulated plan should meet
# the target and cost what the planner said.

# %%
subprocess.run(
    [
        sys.executable,
        "-m",
        "flopgrid",
        "plan",
        "target-100m-h100e-2030",
        "--scenario-out",
        "planned.yaml",
        "--no-record",
    ],
    check=True,
    capture_output=True,
    text=True,
)
simulated = flopgrid.simulate("planned.yaml")
compare = pd.DataFrame(
    {
        "planner [M H100e]": planned["h100e"].sum("region").isel(sample=0).to_pandas() / 1e6,
        "simulator [M H100e]": simulated["h100e"].sum("region").isel(sample=0).to_pandas() / 1e6,
    }
)
print(
    f"capex, planner: ${planned['capex'].sum().item() / 1e12:.3f}T; "
    f"simulator: ${simulated['capex'].sum().item() / 1e12:.3f}T"
)
compare

# %%
fig, ax = plt.subplots(figsize=(6, 3.2))
compare.plot(ax=ax, style=["-", "o"])
ax.axhline(100, color="black", lw=0.8, ls=":")
ax.set_ylabel("M H100e in service")
ax.set_title("Planner and simulator agree on the plan")
fig.tight_layout()
plt.show()
