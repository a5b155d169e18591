# %% [markdown]
# # The seed plan audited
#
# In 2024 the press reported a plan to raise **$5–7 trillion** for "36 fabs and data centres", with
# UAE-funded fabs worth $43B, TSMC building and running fabs, campuses of **$100B, two million chips and
# 5 GW each**, and 5 GW of restarted nuclear in Japan. The shipped scenario `seed-7t` writes that plan
# down line by line, each line citing its sentence or saying "assumption"
# (`src/flopgrid/scenarios/seed-7t.yaml`).
#
# This example runs it, reads where it bottlenecks, checks the articles' own claims against the model and
# the data library, and says what $7T buys and what it would really cost. Everything comes from the
# public API: `flopgrid.simulate`, the `results.flopgrid` accessor and `flopgrid.claims.evaluate`.

# %%
import matplotlib.pyplot as plt
import pandas as pd

import flopgrid
from flopgrid.claims import evaluate

pd.set_option("display.precision", 3)
results = flopgrid.simulate("seed-7t")
summary = results.flopgrid.summary()
summary.loc[[2025, 2027, 2029, 2031, 2035, 2040]]

# %% [markdown]
# ## What gets built, year by year
#
# A deterministic run (one sample, the library's central values). The programme models only itself
# (`existing_industry: false`): what would these 36 fabs and campuses alone deliver?

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
summary[["produced [M chips]", "installed [M chips]", "waiting [M chips]"]].plot(ax=left)
left.set_title("Accelerators (millions)")
summary[["it_rating [GW]", "facility_draw [GW]"]].plot(ax=right)
right.set_title("Power (GW)")
for ax in (left, right):
    ax.set_xlabel("year")
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Where it bottlenecks
#
# Each year the binding constraint is recorded: a deployment constraint (`power`, `datacentres`) when
# chips are left waiting, else the production cap that binds (`wafers`, `packaging`, `hbm`).

# %%
bottlenecks = results.flopgrid.bottlenecks()
runs = (bottlenecks["bottleneck"] != bottlenecks["bottleneck"].shift()).cumsum()
spells = (
    bottlenecks.reset_index()
    .groupby(runs.to_numpy())
    .agg(first=("year", "min"), last=("year", "max"), bottleneck=("bottleneck", "first"))
)
spells

# %% [markdown]
# ## The articles' claims, checked
#
# The seed articles' figures are a claims ledger (`claims/seed-articles.yaml`). Each claim gets a verdict
# from how far its stated figure lies outside the range the model and the library imply. The ranges are
# drawn on the simulator's sampling path; **200 samples** keep this page quick to build (the CLI's
# `flopgrid claims` uses more).

# %%
verdicts = evaluate("seed-articles", samples=200, seed=0)
claims = pd.DataFrame({"claim": c.id, "verdict": c.verdict, "reason": c.reason} for c in verdicts).set_index(
    "claim"
)
claims["verdict"].value_counts()

# %%
with pd.option_context("display.max_colwidth", 140):
    print(claims.to_string())

# %% [markdown]
# ## What $7T buys, and what it would really cost
#
# The horizon totals and the money section of the same run. `coverage` compares the committed
# financing with the spend; `split` says where the money goes.

# %%
totals = pd.DataFrame(results.flopgrid.total_rows(), columns=["key", "figure", "value", "unit"]).set_index(
    "key"
)
totals.loc[
    ["h100e_end", "it_power_end", "energy", "emissions", "capex", "opex", "npv", "lcoc_per_h100e_hour"]
]

# %%
money = results.flopgrid.finance()
coverage, split, comparisons = money["coverage"], money["split"], money["comparisons"]
print(f"committed financing: ${coverage['committed'] / 1e12:.2f}T")
print(f"capex + opex over the horizon: ${coverage['spend'] / 1e12:.2f}T")
print(f"compute in service at the end: {totals.loc['h100e_end', 'value']:.0f} M H100e")
print(f"spend over US GDP: {comparisons['spend_share_of_us_gdp']['value']:.0%}")
print(
    f"spend in years of hyperscaler capex: {comparisons['spend_in_years_of_hyperscaler_capex']['value']:.0f}"
)

fig, ax = plt.subplots(figsize=(6, 3.2))
shares = pd.Series({name: part["value"] / 1e12 for name, part in split.items()})
shares.plot.barh(ax=ax)
ax.set_xlabel("trillion USD (real 2024) over the horizon")
ax.set_title("Where the money goes")
fig.tight_layout()
plt.show()

# %% [markdown]
# Most of the money buys chips, not fabs: the fabs are a small share of the spend, and the
# accelerators they make, with the networks around them, take most of it. The claims table says which of
# the articles' figures hold together at the library's prices. Change one assumption in
# `seed-7t.yaml` (a campus's power source, the chip) and run the page again to see what moves.
