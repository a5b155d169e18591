# %% [markdown]
# # A Monte Carlo study
#
# How much AI compute will the world have in 2030 if current trends hold, and how sure can we be? The
# shipped `reference` scenario models the existing industry growing on trend. Here every library
# parameter with a range is drawn, two inputs get distributions and a rank correlation of our own, and
# the results answer questions as probabilities. Then Sobol indices say which inputs drive the answer,
# and a small sweep runs variants of the seed plan on a local Dask cluster.
#
# Sample counts are kept small so that this page builds in seconds on two cores: **1,000** Latin
# hypercube samples, a Sobol base of **32**, a sweep of three variants × 50 samples. The same calls
# take 100,000 samples or more for a real study.

# %%
import json
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import flopgrid

pd.set_option("display.precision", 3)
scenario = flopgrid.load_scenario("reference").model_dump(mode="json", exclude_none=True)
scenario["uncertainty"] = {
    "sampling": "lhs",
    # Our own view of PUE, instead of the library's range.
    "distributions": {"datacentres.pue": {"dist": "triangular", "low": 1.1, "mode": 1.2, "high": 1.4}},
    # Where grid connections come fast, power plants tend to be cheap: a negative rank correlation
    # between the regions' connection rate and plant capex (a Gaussian copula keeps the marginals).
    "correlations": [["regions.max_new_power", "power_sources.capex", -0.5]],
}
mc = flopgrid.simulate(scenario, samples=1000, seed=1)
world = mc["h100e"].sum("region") / 1e6
fan = world.quantile([0.05, 0.25, 0.5, 0.75, 0.95], "sample").to_pandas().T
fan.loc[[2025, 2027, 2030, 2035]]

# %%
fig, ax = plt.subplots(figsize=(7, 3.6))
ax.fill_between(fan.index, fan[0.05], fan[0.95], alpha=0.2, label="P5–P95")
ax.fill_between(fan.index, fan[0.25], fan[0.75], alpha=0.4, label="P25–P75")
ax.plot(fan.index, fan[0.5], label="median")
ax.set_yscale("log")
ax.set_ylabel("M H100e in service (world)")
ax.set_title("Installed AI compute, reference scenario, 1,000 samples")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Probabilities of targets
#
# `results.flopgrid.probability` answers a question written as `variable@year op threshold` (summed over
# regions), with the Monte Carlo standard error. Thresholds around the 2030 median:

# %%
median_2030 = float(fan.loc[2030, 0.5]) * 1e6
thresholds = [round(median_2030 * f, -6) for f in (0.5, 0.8, 1.0, 1.25, 2.0)]
answers = pd.DataFrame(mc.flopgrid.probability(f"h100e@2030 >= {t:.0f}") for t in thresholds)
answers[["question", "probability", "standard_error"]]

# %%
values = np.sort(world.sel(year=2030).values.ravel())
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(values, 1 - np.arange(values.size) / values.size)
ax.set_xscale("log")
ax.set_xlabel("M H100e in service in 2030")
ax.set_ylabel("P(at least this much)")
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Which inputs drive it: Sobol indices
#
# `flopgrid sensitivity` runs a Saltelli design (SALib) and returns first-order (`S1`) and total
# (`ST`) indices with confidence intervals. A base of 32 is enough to rank the largest drivers, not
# to separate the small ones.

# %%
out = subprocess.run(
    [
        sys.executable,
        "-m",
        "flopgrid",
        "sensitivity",
        "reference",
        "--output",
        "h100e@2030",
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
sobol = pd.DataFrame(json.loads(out.stdout)["drivers"]).set_index("driver")
fig, ax = plt.subplots(figsize=(7, 3.6))
sobol[["S1", "ST"]].iloc[::-1].plot.barh(ax=ax)
ax.set_xlabel("Sobol index of H100e in 2030")
fig.tight_layout()
plt.show()
sobol

# %% [markdown]
# ## A sweep on Dask
#
# `flopgrid sweep` runs every variant on Dask distributed (here a local cluster of two workers),
# records each run in the run store (DuckDB) and skips what is stored, so a killed sweep is finished by
# running it again. Three variants of the seed plan: one, two or three US campuses in its first tranche.

# %%
subprocess.run(
    [
        sys.executable,
        "-m",
        "flopgrid",
        "sweep",
        "seed-7t",
        "--vary",
        "builds.datacentres[0].count=1,2,3",
        "-n",
        "50",
        "--workers",
        "2",
        "--store",
        "sweep.duckdb",
        "--json",
    ],
    check=True,
    capture_output=True,
    text=True,
)


def flopgrid_json(*args: str) -> object:
    """Run a flopgrid command with --json and return what it prints."""
    out = subprocess.run(
        [sys.executable, "-m", "flopgrid", *args, "--store", "sweep.duckdb", "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


rows = []
for run in flopgrid_json("runs", "list"):
    shown = flopgrid_json("runs", "show", run["run_id"])
    rows.append(
        {
            "US campuses 2026": shown["parameters"]["builds.datacentres[0].count"],
            "M H100e at the end": shown["summary"]["h100e_end"]["value"] / 1e6,
            "capex [T USD]": shown["summary"]["capex"]["value"] / 1e12,
        }
    )
pd.DataFrame(rows).set_index("US campuses 2026").sort_index()
