"""The Results schema: every variable either engine can put in Results, declared once.

One row per variable of ``variables.csv`` (the PyPSA attribute-table style): its dimensions after
``sample``, base unit, display unit and scale, kind, stage and long name, plus the name of its column in the
per-year summary and its label among the horizon totals where it has one. The engines allocate and label
their Results from it; the results layer derives stocks, the summary, the totals and their display from it;
the CLI, the charts, the store and the docs' variable list read the same rows.

Kinds:

- ``stock``: a level at the end of each year (its total is the level at the horizon's end, ``NAME_end``);
- ``flow``: an amount during each year (its total is the sum over the horizon, ``NAME``);
- ``horizon``: one figure per run (NPV, IRR …);
- ``label``: a flag-coded category per year (the binding constraint).

>>> VARIABLES["h100e"].kind, VARIABLES["h100e"].total_key
('stock', 'h100e_end')
>>> VARIABLES["energy"].display(3.5e12)
3.5
>>> VARIABLES["energy"].display_unit
'TWh'
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal

Kind = Literal["stock", "flow", "horizon", "label"]
KINDS: tuple[str, ...] = ("stock", "flow", "horizon", "label")
#: Stages of the chain a variable comes from: ``money`` is capex and opex, ``finance`` the Money stage's
#: revenue, financing and returns, ``plan`` the planner's decisions and target.
STAGES: tuple[str, ...] = ("supply", "deployment", "power", "operations", "money", "finance", "plan")
COLUMNS: tuple[str, ...] = (
    "name",
    "dims",
    "unit",
    "display_unit",
    "display_scale",
    "kind",
    "stage",
    "summary",
    "total_label",
    "long_name",
)


@dataclass(frozen=True)
class Variable:
    """One declared Results variable."""

    name: str
    dims: tuple[str, ...]
    unit: str
    display_unit: str
    display_scale: float
    kind: Kind
    stage: str
    summary: str | None
    total_label: str | None
    long_name: str

    @property
    def total_key(self) -> str:
        """Its key among the horizon totals: ``NAME_end`` for a stock, ``NAME`` otherwise."""
        return f"{self.name}_end" if self.kind == "stock" else self.name

    @property
    def attrs(self) -> dict[str, Any]:
        """The attributes its DataArray carries in Results."""
        return {"units": self.unit, "long_name": self.long_name, "kind": self.kind}

    def display(self, value: float) -> float:
        """A value in base units, in display units."""
        return value / self.display_scale


def _read() -> dict[str, Variable]:
    text = resources.files("flopgrid.schema").joinpath("variables.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    out: dict[str, Variable] = {}
    for line, row in enumerate(rows, start=2):
        where = f"flopgrid/schema/variables.csv:{line}"
        if tuple(row) != COLUMNS:
            raise ValueError(f"{where}: expected the columns {', '.join(COLUMNS)}")
        if row["kind"] not in KINDS or row["stage"] not in STAGES or row["name"] in out:
            raise ValueError(f"{where}: bad kind or stage, or a repeated name: {row}")
        dims = tuple(row["dims"].split())
        if (row["kind"] == "horizon") == ("year" in dims):
            raise ValueError(f"{where}: a horizon figure has no year, every other kind has one")
        out[row["name"]] = Variable(
            name=row["name"],
            dims=dims,
            unit=row["unit"],
            display_unit=row["display_unit"],
            display_scale=float(row["display_scale"]),
            kind=row["kind"],  # type: ignore[arg-type]
            stage=row["stage"],
            summary=row["summary"] or None,
            total_label=row["total_label"] or None,
            long_name=row["long_name"],
        )
    return out


#: Every declared variable by name, in display order.
VARIABLES: Mapping[str, Variable] = MappingProxyType(_read())


def variables(*, stage: str | None = None, kind: str | None = None) -> list[Variable]:
    """The declared variables, in display order, optionally of one stage and/or kind."""
    return [
        v
        for v in VARIABLES.values()
        if (stage is None or v.stage == stage) and (kind is None or v.kind == kind)
    ]


#: Prefix of the planner's dual values: one Results variable per constraint, ``shadow_price_`` and the
#: constraint's name with ``_`` for ``-``, over the constraint's own dimensions. The family is declared
#: here, not row by row: its members are the constraints a plan registers (each with its rule, which
#: gives the variable's ``constraint``, ``units`` and ``unit_words`` attributes).
DUAL_PREFIX = "shadow_price_"

#: Names of the variables that are levels at the end of a year.
STOCKS: frozenset[str] = frozenset(v.name for v in VARIABLES.values() if v.kind == "stock")


#: The asset classes of capex and opex (the ``asset`` dimension, in its order) and how each reads among
#: the totals ("of which fabs"); the model's ``flopgrid.model.finance.ASSETS`` (a test keeps them equal).
ASSET_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "fab": "fabs",
        "packaging": "packaging",
        "hbm": "HBM",
        "datacentre": "data centres",
        "power": "power and grid",
        "accelerator": "accelerators",
        "network": "cluster networking",
    }
)


@dataclass(frozen=True)
class Figure:
    """One headline figure: a horizon total of a Results variable, under one name everywhere.

    The CLI's totals, the JSON totals, ``--ask`` questions, the run store and the report all use
    :attr:`name` (``h100e_end``, ``capex``, ``capex_fab``, ``first_bottleneck``), :attr:`label` and the
    display unit.
    """

    name: str
    label: str
    variable: Variable
    asset: str | None = None

    @property
    def kind(self) -> Kind:
        """The kind of its variable: a stock's figure is its level at the horizon's end."""
        return self.variable.kind

    @property
    def unit(self) -> str:
        """Its base unit (none for a label)."""
        return "" if self.kind == "label" else self.variable.unit

    @property
    def display_unit(self) -> str:
        """The unit people read it in."""
        return self.variable.display_unit

    def display(self, value: float) -> float:
        """A value in base units, in display units."""
        return self.variable.display(value)

    @property
    def meaning(self) -> str:
        """How it is taken from the Results, in words."""
        where = f" of {ASSET_LABELS.get(self.asset, self.asset)}" if self.asset else ""
        return {
            "stock": f"{self.variable.name}{where} at the end of the horizon",
            "flow": f"{self.variable.name}{where} summed over the horizon",
            "horizon": f"{self.variable.name}, one figure per run",
            "label": f"{self.variable.name} most often binding in the first year (a label, not a number)",
        }[self.kind]


def _figures() -> dict[str, Figure]:
    out: dict[str, Figure] = {}
    for v in VARIABLES.values():
        if v.total_label is None:
            continue
        if v.kind == "label":
            out[f"first_{v.name}"] = Figure(f"first_{v.name}", v.total_label, v)
            continue
        out[v.total_key] = Figure(v.total_key, v.total_label, v)
        if "asset" in v.dims:
            for asset, words in ASSET_LABELS.items():
                name = f"{v.name}_{asset}"
                out[name] = Figure(name, f"{v.total_label.split(' over ')[0]}: {words}", v, asset)
    return out


#: The figure registry: every headline figure by name, in display order (the keys of
#: ``results.flopgrid.totals()``; ``flopgrid figures`` lists them).
FIGURES: Mapping[str, Figure] = MappingProxyType(_figures())


def glossary() -> str:
    """The variable list of the docs, as a Markdown table (``python -m flopgrid.schema``)."""
    lines = [
        "# Results variables",
        "",
        "Every variable either engine can put in Results, from `src/flopgrid/schema/variables.csv`",
        "(generated by `python -m flopgrid.schema`; a test keeps this page in step with the table).",
        "Values are stored in the base unit; tables and charts show the display unit. A *stock* is a level",
        "at the end of each year, a *flow* an amount during the year, a *horizon* figure one number per run,",
        "a *label* a category per year.",
        "",
        "| variable | dimensions (after sample) | unit | shown in | kind | stage | meaning |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in VARIABLES.values():
        cells = [f"`{v.name}`", ", ".join(v.dims) or "—", v.unit, v.display_unit or "—", v.kind, v.stage]
        lines.append(f"| {' | '.join(cells)} | {v.long_name} |")
    lines += [
        "",
        f"The planner adds one `{DUAL_PREFIX}<constraint>` variable per constraint of its linear program:",
        "the dual value of the constraint over its own dimensions (year, region, and source or accelerator",
        "where it has them), in objective units per unit of the constraint, named in its attributes.",
    ]
    return "\n".join(lines) + "\n"
