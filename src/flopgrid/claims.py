"""Published claims checked against the model and the data library.

A **claims ledger** is YAML: each claim quotes its source shortly, states its quantities with units and
names one or more **checks**, each comparing a stated quantity with what an expression over the
claim's other figures, the data library and the model says it should be. Every input is sampled
(library and reference figures from a triangular distribution over low, value and high; model figures
from ``simulate(scenario, samples=N)``), so an expected value is a range (P5–P95), not a point.

Each check gets a verdict by how far the stated figure lies outside the expected range
(``docs/claims.md``):

- ``consistent``: inside the range, widened by the claim's tolerance (default 10%: quotes are rounded);
- ``stretched``: outside, by at most a factor of 3;
- ``implausible``: outside by more than a factor of 3;
- ``internally inconsistent``: a check that compares the claim's own figures with each other only
  (no library, reference or model input) and fails the tolerance.

A claim's verdict is its worst check's; the reason names that check and its numbers.

>>> results = evaluate("seed-articles", samples=200, seed=0)
>>> results[0].verdict, results[0].implied["share of US GDP (2023)"].unit
('consistent', 'percent')
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeAlias, cast

import numpy as np
import pint
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from flopgrid.errors import FlopgridError, ScenarioError, UnitError, clean_loc, format_path, suggest
from flopgrid.library import TABLES, Library, load_library
from flopgrid.scenario import load_scenario, read_yaml
from flopgrid.units import parse_quantity, ureg

#: Verdicts, from best to worst; a claim takes its worst check's.
VERDICTS = ("consistent", "stretched", "implausible", "internally inconsistent")
#: Default tolerance: quotes are rounded ("about", "environ"), so 10% beyond the range still agrees.
TOLERANCE = 0.10
#: Beyond this factor outside the expected range a figure is implausible rather than stretched.
IMPLAUSIBLE_FACTOR = 3.0
#: Quantiles that bound the expected range.
LOW_Q, HIGH_Q = 0.05, 0.95
#: Units a stated quantity may have, in the model's base units (ARCHITECTURE.md); tried in order.
BASE_UNITS = (
    "USD",
    "W",
    "Wh",
    "chip",
    "H100e",
    "FLOP",
    "FLOP/s",
    "wafer",
    "wafer/year",
    "USD/year",
    "USD/W",
    "USD/chip",
    "W/chip",
    "year",
    "dimensionless",
)
#: A pint quantity over samples (or a scalar one).
Q: TypeAlias = "pint.Quantity[Any]"
DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"


class ClaimsError(ScenarioError):
    """A claims ledger, or a value in it, is not what flopgrid expects (file, line, field path)."""


def _quantity(value: Any) -> Q:
    """A stated figure ("7000 billion USD", "5 GW", 0.25) as a pint quantity in base units."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UnitError(f"expected a quantity such as '5 GW' or a number, got {value!r}")
    if isinstance(value, int | float):
        return cast(Q, ureg.Quantity(float(value), "dimensionless"))
    problems = []
    for unit in BASE_UNITS:
        try:
            return cast(Q, ureg.Quantity(parse_quantity(value, unit), unit))
        except UnitError as exc:
            problems.append(str(exc))
    if all("cannot read" in p for p in problems):
        raise UnitError(problems[0])
    raise UnitError(
        f"{value!r} has a unit flopgrid does not compare; use one of {', '.join(BASE_UNITS[:-1])} "
        "(with prefixes, e.g. GW, billion USD) or a plain number"
    )


# ------------------------------------------------------------------------------------------- schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """Where a claim was published: the publication, its date (YYYY, YYYY-MM or YYYY-MM-DD), the
    file in the seed folder, and whom it reports (e.g. the Wall Street Journal)."""

    publication: str
    # YAML reads 2024 as a number and 2024-09-12 as a date: both are dates as written.
    date: Annotated[str, BeforeValidator(lambda v: v if isinstance(v, str) else str(v)), Field(pattern=DATE)]
    file: str | None = None
    reporting: str | None = None
    language: str | None = None


class Stated(_Strict):
    """A figure a claim states: ``value`` with its unit, and a ``low``–``high`` range when the claim
    gives one ("between 5 and 7 trillion", "hundreds of billions")."""

    value: str | float
    low: str | float | None = None
    high: str | float | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _units_agree(self) -> Stated:
        try:
            value = _quantity(self.value)
            bounds = [_quantity(b) for b in (self.low, self.high) if b is not None]
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        for bound in bounds:
            if bound.units != value.units:
                raise ValueError(
                    f"low/high must have the unit of value ({_unit_name(value.units)}), "
                    f"got {_unit_name(bound.units)}"
                )
        low = _quantity(self.low).magnitude if self.low is not None else value.magnitude
        high = _quantity(self.high).magnitude if self.high is not None else value.magnitude
        if not low <= value.magnitude <= high:
            raise ValueError(f"needs low <= value <= high, got {self.low} / {self.value} / {self.high}")
        if low <= 0:
            raise ValueError("checks compare positive figures by ratio; give a value above 0")
        return self

    def interval(self) -> tuple[float, float, float, str]:
        """(low, value, high) in base units, and the unit."""
        value = _quantity(self.value)
        low = _quantity(self.low).magnitude if self.low is not None else value.magnitude
        high = _quantity(self.high).magnitude if self.high is not None else value.magnitude
        return float(low), float(value.magnitude), float(high), _unit_name(value.units)


def _short_stated(value: Any) -> Any:
    """``cost: 7000 billion USD`` is short for ``cost: {value: 7000 billion USD}``."""
    return {"value": value} if isinstance(value, str | int | float) and not isinstance(value, bool) else value


StatedField = Annotated[Stated, BeforeValidator(_short_stated)]


class ReferenceInput(_Strict):
    """A sourced figure the library does not hold, written in the ledger with its range and source."""

    value: str | float
    low: str | float
    high: str | float
    year: int
    source: Annotated[str, Field(min_length=3)]
    note: str | None = None


class ModelInput(_Strict):
    """A model output: ``variable`` of ``simulate(scenario)`` summed over every dimension but samples,
    after selecting ``year`` (one year), ``years`` (first and last, summed) and ``select`` (other
    dimensions, e.g. ``{region: US, asset: [fab, packaging]}``)."""

    scenario: str | dict[str, Any]
    variable: str
    year: int | None = None
    years: tuple[int, int] | None = None
    select: dict[str, str | list[str]] = {}

    @model_validator(mode="after")
    def _one_time(self) -> ModelInput:
        if self.year is not None and self.years is not None:
            raise ValueError("give year (one year) or years ([first, last]), not both")
        return self


class Input(_Strict):
    """One of ``library`` (``table.item.parameter``, at ``year`` or the latest given), ``reference``
    or ``model``."""

    library: str | None = None
    year: int | None = None
    reference: ReferenceInput | None = None
    model: ModelInput | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Input:
        given = [k for k in ("library", "reference", "model") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "an input is exactly one of library: table.item.parameter, reference: {value, low, "
                f"high, year, source}} or model: {{scenario, variable, ...}}; got {given or 'none'}"
            )
        if self.library is not None:
            if not re.fullmatch(r"[A-Za-z_]+\.[^.]+\.[A-Za-z_]+", self.library):
                raise ValueError(
                    f"library: {self.library!r}: write table.item.parameter, e.g. macro.US.gdp or "
                    "accelerators.H100.price"
                )
        elif self.year is not None:
            raise ValueError("year applies to library inputs only")
        return self


class Check(_Strict):
    """``quantity`` (a stated figure) against ``expected`` (an expression over the claim's names).

    ``relation``: ``about`` (the default), ``at_most`` (the stated figure must not exceed the
    expected range: "more than $3B" checked against the reported revenue) or ``at_least``.
    ``basis`` says in words what the expected value is; it opens the reason.
    """

    quantity: str
    expected: str
    basis: Annotated[str, Field(min_length=3)]
    relation: Literal["about", "at_most", "at_least"] = "about"
    tolerance: Annotated[float, Field(ge=0, le=1)] | None = None


class Implied(_Strict):
    """A figure the claim implies, shown with its range: ``expr`` in ``unit`` (e.g. USD/chip)."""

    expr: str
    unit: str


class Claim(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    quote: Annotated[str, Field(min_length=3, max_length=400)]
    translation: str | None = None
    source: str
    stated: dict[str, StatedField]
    inputs: dict[str, Input] = {}
    checks: Annotated[list[Check], Field(min_length=1)]
    implied: dict[str, Implied] = {}
    tolerance: Annotated[float, Field(ge=0, le=1)] | None = None


class Ledger(_Strict):
    """A claims ledger: sources, shared inputs and claims."""

    name: str
    description: str = ""
    samples: Annotated[int, Field(ge=1, le=100_000)] = 500
    seed: int = 0
    tolerance: Annotated[float, Field(ge=0, le=1)] = TOLERANCE
    sources: dict[str, Source]
    inputs: dict[str, Input] = {}
    claims: Annotated[list[Claim], Field(min_length=1)]
    file: str | None = Field(default=None, exclude=True)
    lines: dict[tuple[Any, ...], int] = Field(default={}, exclude=True)


# ------------------------------------------------------------------------------------------ loading


def shipped_ledgers() -> list[str]:
    """Names of the claims ledgers that ship with flopgrid."""
    folder = resources.files("flopgrid.claimsets")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_ledger(source: str | Path | None = None) -> Ledger:
    """Load and check a claims ledger (a path, or the name of a shipped one; default: seed-articles).

    Raises
    ------
    ClaimsError
        Naming the file, the line, the field path and what is expected.
    """
    source = "seed-articles" if source is None else source
    data, lines, file = read_yaml(
        source,
        package="flopgrid.claimsets",
        shipped=shipped_ledgers(),
        what="a claims ledger (YAML)",
        error=ClaimsError,
    )
    if not isinstance(data, dict):
        raise ClaimsError(
            "a claims ledger must be a YAML mapping with name, sources and claims", file=file, line=1
        )
    try:
        ledger = Ledger.model_validate(data)
    except ValidationError as exc:
        raise _from_validation_error(exc, file, lines) from None
    ledger = ledger.model_copy(update={"file": file, "lines": lines})
    _check_names(ledger)
    return ledger


def _line(lines: Mapping[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    return next((lines[loc[:cut]] for cut in range(len(loc), 0, -1) if loc[:cut] in lines), None)


def _from_validation_error(exc: ValidationError, file: str, lines: dict[tuple[Any, ...], int]) -> ClaimsError:
    errors = exc.errors()
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = clean_loc(tuple(error["loc"]))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}; see docs/claims.md for the fields a ledger takes"
    elif error["type"] == "missing":
        message = f"missing required field {loc[-1]!r}"
    elif error["type"] == "string_pattern_mismatch" and loc and loc[-1] == "date":
        message = f"a date is written YYYY, YYYY-MM or YYYY-MM-DD, got {error.get('input')!r}"
    elif "input" in error and error["type"] not in ("value_error",):
        message = f"{message} (got {error['input']!r})"
    # A missing field has no line of its own: point at the mapping that lacks it.
    line = _line(lines, loc) or (_line(lines, loc[:-1]) if len(loc) > 1 else None) or 1
    return ClaimsError(message, file=file, path=format_path(loc) or None, line=line)


def _names_in(expr: str) -> set[str]:
    return {node.id for node in ast.walk(ast.parse(expr, mode="eval")) if isinstance(node, ast.Name)}


def _check_names(ledger: Ledger) -> None:
    """Sources, names in expressions and library references all resolve; ids are unique."""
    library = load_library()

    def fail(loc: tuple[Any, ...], message: str) -> NoReturn:
        raise ClaimsError(message, file=ledger.file, path=format_path(loc), line=_line(ledger.lines, loc))

    def check_library(loc: tuple[Any, ...], item: Input) -> None:
        if item.library is None:
            return
        table, name, parameter = item.library.split(".")
        if table not in TABLES:
            fail((*loc, "library"), f"unknown library table {table!r}.{suggest(table, list(TABLES))}")
        if (table, parameter) not in library.specs:
            fail(
                (*loc, "library"),
                f"unknown parameter {parameter!r} of {table}.{suggest(parameter, library.parameters(table))}",
            )
        if (table, parameter, name) not in library.index:
            items = [i for (t, p, i) in library.index if t == table and p == parameter]
            fail((*loc, "library"), f"{table} has no {parameter} for {name!r}.{suggest(name, items)}")

    def check_name(loc: tuple[Any, ...], name: str) -> None:
        if not name.isidentifier() or keyword.iskeyword(name):
            fail(loc, f"{name!r} cannot be used in expressions; use letters, digits and _ (e.g. us_gdp)")

    for name, item in ledger.inputs.items():
        check_name(("inputs", name), name)
        check_library(("inputs", name), item)
    seen: set[str] = set()
    for i, claim in enumerate(ledger.claims):
        loc: tuple[Any, ...] = ("claims", i)
        if claim.id in seen:
            fail((*loc, "id"), f"two claims have the id {claim.id!r}; give each a distinct id")
        seen.add(claim.id)
        if claim.source not in ledger.sources:
            fail(
                (*loc, "source"),
                f"unknown source {claim.source!r}.{suggest(claim.source, list(ledger.sources))} "
                f"Known: {', '.join(ledger.sources)}",
            )
        clash = set(claim.stated) & set(claim.inputs)
        if clash:
            fail((*loc, "inputs"), f"{sorted(clash)[0]!r} is both a stated figure and an input; rename one")
        for name in claim.stated:
            check_name((*loc, "stated", name), name)
        for name, item in claim.inputs.items():
            check_name((*loc, "inputs", name), name)
            check_library((*loc, "inputs", name), item)
        known = sorted({*claim.stated, *claim.inputs, *ledger.inputs})
        expressions: list[tuple[tuple[Any, ...], str]] = []
        for j, check in enumerate(claim.checks):
            if check.quantity not in claim.stated:
                fail(
                    (*loc, "checks", j, "quantity"),
                    f"{check.quantity!r} is not a stated figure of this claim."
                    f"{suggest(check.quantity, list(claim.stated))} Stated: {', '.join(claim.stated)}",
                )
            expressions.append(((*loc, "checks", j, "expected"), check.expected))
        expressions += [((*loc, "implied", k, "expr"), v.expr) for k, v in claim.implied.items()]
        for where, expr in expressions:
            try:
                names = _names_in(expr)
            except SyntaxError as exc:
                fail(where, f"cannot read the expression {expr!r} ({exc.msg}); write e.g. 'cost / chips'")
            for unknown in sorted(names - set(known)):
                fail(
                    where,
                    f"unknown name {unknown!r}.{suggest(unknown, known)} Known here: {', '.join(known)}",
                )
        for k, implied in claim.implied.items():
            try:
                ureg.Unit(implied.unit)
            except Exception:
                fail(
                    (*loc, "implied", k, "unit"),
                    f"unknown unit {implied.unit!r}; write e.g. 'USD/chip' or 'kW/chip'",
                )


# --------------------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Range:
    """A figure's range over samples (P5, P50, P95) in ``unit``."""

    low: float
    mid: float
    high: float
    unit: str

    def as_dict(self) -> dict[str, float | str]:
        return {"p5": self.low, "p50": self.mid, "p95": self.high, "unit": self.unit}


@dataclass(frozen=True)
class CheckResult:
    quantity: str
    expected: str
    basis: str
    relation: str
    internal: bool
    stated: Range
    expected_range: Range
    factor: float
    verdict: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity,
            "expected": self.expected,
            "basis": self.basis,
            "relation": self.relation,
            "internal": self.internal,
            "stated": {
                "low": self.stated.low,
                "value": self.stated.mid,
                "high": self.stated.high,
                "unit": self.stated.unit,
            },
            "expected_range": self.expected_range.as_dict(),
            "factor_outside": self.factor,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class ClaimResult:
    id: str
    quote: str
    translation: str | None
    source: Source
    verdict: str
    reason: str
    checks: list[CheckResult]
    implied: dict[str, Range] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "quote": self.quote,
            "translation": self.translation,
            "source": self.source.model_dump(),
            "verdict": self.verdict,
            "reason": self.reason,
            "implied": {name: r.as_dict() for name, r in self.implied.items()},
            "checks": [c.as_dict() for c in self.checks],
        }


def _triangular(rng: np.random.Generator, low: float, mode: float, high: float, n: int) -> np.ndarray:
    if high <= low:
        return np.full(n, mode)
    return rng.triangular(low, mode, high, n)


def show(value: float, unit: str) -> str:
    """A figure in readable units: $7.0T, 43 B USD as $43B, 5 GW, 176 TWh, 0.25."""
    if value != value:
        return "–"
    scales = {
        "USD": ((1e12, "$", "T"), (1e9, "$", "B"), (1e6, "$", "M"), (1e3, "$", "k"), (1.0, "$", "")),
        "W": ((1e12, "", " TW"), (1e9, "", " GW"), (1e6, "", " MW"), (1e3, "", " kW"), (1.0, "", " W")),
        "Wh": ((1e12, "", " TWh"), (1e9, "", " GWh"), (1e6, "", " MWh"), (1e3, "", " kWh"), (1.0, "", " Wh")),
    }
    if unit == "percent":
        return f"{value:.3g}%"
    if unit in ("dimensionless", ""):
        return _number(value)
    key = {"dollar": "USD", "watt": "W", "watt_hour": "Wh"}.get(unit, unit)
    head, slash, per = key.partition("/")
    if slash and head in scales:
        return f"{show(value, head)}/{per}"
    for scale, prefix, suffix in scales.get(key, ()):
        if abs(value) >= scale or scale == 1.0:
            return f"{prefix}{value / scale:,.3g}{suffix}"
    return f"{_number(value)} {unit}"


def _unit_name(units: Any) -> str:
    """A unit as users write it (W, USD, USD/chip, chip*W)."""
    text = str(units).replace(" / ", "/").replace(" * ", "*")
    return text.replace("watt_hour", "Wh").replace("watt", "W")


def _number(value: float) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.3g} million"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


class _Evaluator:
    """Draws and caches every name a ledger uses, as pint quantities over samples."""

    def __init__(self, ledger: Ledger, samples: int, seed: int, library: Library) -> None:
        self.ledger = ledger
        self.samples = samples
        self.seed = seed
        self.library = library
        self.rng = np.random.default_rng(seed)
        self.cache: dict[str, Q] = {}
        self.runs: dict[str, Any] = {}

    def fail(self, loc: tuple[Any, ...], message: str) -> NoReturn:
        raise ClaimsError(
            message, file=self.ledger.file, path=format_path(loc), line=_line(self.ledger.lines, loc)
        )

    def stated(self, claim: Claim, name: str) -> Q:
        low, value, high, unit = claim.stated[name].interval()
        return cast(Q, ureg.Quantity(_triangular(self.rng, low, value, high, self.samples), unit))

    def input(self, loc: tuple[Any, ...], key: str, item: Input) -> Q:
        if key in self.cache:
            return self.cache[key]
        quantity: Q
        if item.library is not None:
            table, name, parameter = item.library.split(".")
            years, *_ = self.library.index[(table, parameter, name)]
            year = float(years[-1]) if item.year is None else float(item.year)
            value, low, high = self.library.series(table, parameter, [name], np.array([year]))
            unit = self.library.specs[(table, parameter)].unit
            if unit == "calendar year":
                self.fail((*loc, "library"), f"{item.library} is a calendar year, not a quantity to compare")
            if table == "accelerators":
                # The accelerators table describes one package: its figures are per chip.
                unit = f"({unit})/chip"
            quantity = ureg.Quantity(
                _triangular(self.rng, float(low[0, 0]), float(value[0, 0]), float(high[0, 0]), self.samples),
                unit,
            )
        elif item.reference is not None:
            ref = item.reference
            try:
                value_q, low_q, high_q = (_quantity(v) for v in (ref.value, ref.low, ref.high))
            except UnitError as exc:
                self.fail((*loc, "reference"), str(exc))
            if not (low_q.units == value_q.units == high_q.units):
                self.fail((*loc, "reference"), "value, low and high must have the same unit")
            if not low_q.magnitude <= value_q.magnitude <= high_q.magnitude:
                self.fail((*loc, "reference"), "needs low <= value <= high")
            quantity = ureg.Quantity(
                _triangular(self.rng, low_q.magnitude, value_q.magnitude, high_q.magnitude, self.samples),
                value_q.units,
            )
        else:
            assert item.model is not None
            quantity = self.model(loc, item.model)
        self.cache[key] = quantity
        return quantity

    def model(self, loc: tuple[Any, ...], spec: ModelInput) -> Q:
        from flopgrid.simulate import VARIABLES, simulate

        scenario_loc = (*loc, "model", "scenario")
        source: str | dict[str, Any] = spec.scenario
        if isinstance(source, str) and self.ledger.file and not self.ledger.file.endswith("(built in)"):
            beside = Path(self.ledger.file).parent / source
            if beside.exists():
                source = str(beside)
        try:
            scenario = load_scenario(source)
        except ScenarioError as exc:
            where = f" (in {exc.file}{':' + str(exc.line) if exc.line else ''})" if exc.file else ""
            self.fail(
                (*scenario_loc, *(exc.path.split(".") if exc.path and not exc.file else ())),
                exc.message + where,
            )
        key = scenario.content_hash()
        if key not in self.runs:
            self.runs[key] = simulate(scenario, samples=self.samples, seed=self.seed)
        results = self.runs[key]
        if spec.variable not in VARIABLES:
            self.fail(
                (*loc, "model", "variable"),
                f"unknown model variable {spec.variable!r}.{suggest(spec.variable, list(VARIABLES))}",
            )
        var = results[spec.variable]
        units = str(var.attrs["units"])
        if units == "calendar year":
            self.fail(
                (*loc, "model", "variable"), f"{spec.variable} is a calendar year, not a quantity to compare"
            )
        first, last = int(results.year.values[0]), int(results.year.values[-1])
        for year in [y for y in (spec.year, *(spec.years or ())) if y is not None]:
            if not first <= year <= last:
                self.fail((*loc, "model"), f"year {year} is outside the scenario's horizon {first}–{last}")
        if "year" in var.dims:
            if spec.year is not None:
                var = var.sel(year=spec.year)
            elif spec.years is not None:
                var = var.sel(year=slice(spec.years[0], spec.years[1]))
        for dim, chosen in spec.select.items():
            if dim not in var.dims:
                self.fail(
                    (*loc, "model", "select", dim),
                    f"{spec.variable} has no dimension {dim!r}; it has {', '.join(map(str, var.dims))}",
                )
            labels = [str(v) for v in var[dim].values]
            for label in [chosen] if isinstance(chosen, str) else chosen:
                if label not in labels:
                    self.fail(
                        (*loc, "model", "select", dim), f"unknown {dim} {label!r}.{suggest(label, labels)}"
                    )
            var = var.sel({dim: chosen})
        summed = var.sum([d for d in var.dims if d != "sample"])
        return cast(
            Q,
            ureg.Quantity(np.asarray(summed.values, dtype=float), "dimensionless" if units == "1" else units),
        )

    def names(self, i: int, claim: Claim) -> Callable[[str], Q]:
        def lookup(name: str) -> Q:
            if name in claim.stated:
                key = f"claims.{claim.id}.stated.{name}"
                if key not in self.cache:
                    self.cache[key] = self.stated(claim, name)
                return self.cache[key]
            if name in claim.inputs:
                return self.input(
                    ("claims", i, "inputs", name), f"claims.{claim.id}.{name}", claim.inputs[name]
                )
            return self.input(("inputs", name), f"inputs.{name}", self.ledger.inputs[name])

        return lookup

    def expression(self, loc: tuple[Any, ...], expr: str, lookup: Callable[[str], Q]) -> Q:
        def ev(node: ast.AST) -> Any:
            if isinstance(node, ast.Expression):
                return ev(node.body)
            if isinstance(node, ast.Name):
                return lookup(node.id)
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, int | float)
                and not isinstance(node.value, bool)
            ):
                return float(node.value)
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                try:
                    return _quantity(node.value)
                except UnitError as exc:
                    self.fail(loc, str(exc))
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
                return -ev(node.operand)
            if isinstance(node, ast.BinOp) and isinstance(
                node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow
            ):
                left, right = ev(node.left), ev(node.right)
                if isinstance(node.op, ast.Pow):
                    if not isinstance(right, float):
                        self.fail(loc, f"an exponent must be a plain number in {expr!r}")
                    return left**right
                try:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        if isinstance(node.op, ast.Add):
                            return left + right
                        if isinstance(node.op, ast.Sub):
                            return left - right
                        if isinstance(node.op, ast.Mult):
                            return left * right
                        return left / right
                except pint.DimensionalityError as exc:
                    self.fail(loc, f"{expr!r} adds or subtracts figures of different units ({exc})")
            self.fail(
                loc,
                f"{expr!r}: only + - * / ** of names, numbers and quoted quantities ('8760 hour') "
                "are allowed",
            )

        value = ev(ast.parse(expr, mode="eval"))
        if not isinstance(value, pint.Quantity):
            value = ureg.Quantity(value, "dimensionless")
        if np.ndim(value.magnitude) == 0:
            value = ureg.Quantity(np.full(self.samples, float(value.magnitude)), value.units)
        return cast(Q, value)


def _spread(values: np.ndarray) -> tuple[float, float, float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return float("nan"), float("nan"), float("nan")
    low, mid, high = np.quantile(finite, [LOW_Q, 0.5, HIGH_Q])
    return float(low), float(mid), float(high)


def verdict_for(
    stated: tuple[float, float],
    expected: tuple[float, float],
    relation: str,
    tolerance: float,
    internal: bool,
) -> tuple[str, float]:
    """The verdict of one check and the factor by which the stated figure lies outside the range.

    ``stated`` and ``expected`` are (low, high) intervals of positive figures (the expected one is
    P5–P95). The factor is 1 when they overlap; otherwise the ratio across the gap.
    """
    s_low, s_high = stated
    e_low, e_high = expected
    if not (e_low > 0 and e_high > 0):
        raise FlopgridError("the expected range is not positive; a ratio check needs positive figures")
    above = s_low / e_high if relation in ("about", "at_most") else 0.0
    below = e_low / s_high if relation in ("about", "at_least") else 0.0
    factor = max(above, below, 1.0)
    if factor <= 1.0 + tolerance:
        return "consistent", factor
    if internal:
        return "internally inconsistent", factor
    return ("stretched" if factor <= IMPLAUSIBLE_FACTOR else "implausible"), factor


def _reason(check: CheckResult) -> str:
    s, e = check.stated, check.expected_range
    stated = show(s.mid, s.unit) if s.low == s.high else f"{show(s.low, s.unit)}–{show(s.high, s.unit)}"
    expected = f"{show(e.low, e.unit)}–{show(e.high, e.unit)} (median {show(e.mid, e.unit)})"
    if check.verdict == "internally inconsistent":
        return (
            f"The claim's own figures disagree: {check.quantity} is {stated}, but {check.basis} gives "
            f"{expected}, a factor of {check.factor:,.3g} apart."
        )
    if check.verdict == "consistent":
        within = {"about": "within", "at_most": "at or below", "at_least": "at or above"}[check.relation]
        return f"Stated {check.quantity} ({stated}) lies {within} {check.basis}: {expected}."
    side = "above" if s.low > e.high else "below"
    return f"Stated {check.quantity} ({stated}) is {check.factor:.2g}× {side} {check.basis}: {expected}."


def evaluate(
    ledger: Ledger | str | Path | None = None,
    samples: int | None = None,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ClaimResult]:
    """Evaluate every claim of a ledger: verdicts, implied figures and reasons.

    Parameters
    ----------
    ledger
        A loaded :class:`Ledger`, a path, or the name of a shipped ledger (default: seed-articles).
    samples, seed
        Monte Carlo samples and seed (default: the ledger's).
    progress
        Called as ``progress(done, total)`` after each claim.
    """
    if not isinstance(ledger, Ledger):
        ledger = load_ledger(ledger)
    samples = ledger.samples if samples is None else samples
    seed = ledger.seed if seed is None else seed
    if samples < 2:
        raise ClaimsError("claims need at least 2 samples to give a range", file=ledger.file, path="samples")
    ev = _Evaluator(ledger, samples, seed, load_library())
    results = []
    for i, claim in enumerate(ledger.claims):
        lookup = ev.names(i, claim)
        checks = []
        for j, check in enumerate(claim.checks):
            loc: tuple[Any, ...] = ("claims", i, "checks", j, "expected")
            expected = ev.expression(loc, check.expected, lookup)
            low, value, high, unit = claim.stated[check.quantity].interval()
            try:
                magnitudes = np.asarray(expected.to(unit).magnitude, dtype=float)
            except pint.DimensionalityError:
                ev.fail(
                    loc,
                    f"{check.expected!r} is in {_unit_name(expected.units)}, but {check.quantity} is in "
                    f"{_unit_name(ureg.Unit(unit))}",
                )
            e_low, e_mid, e_high = _spread(magnitudes)
            internal = not (_names_in(check.expected) - set(claim.stated))
            tolerance = next(t for t in (check.tolerance, claim.tolerance, ledger.tolerance) if t is not None)
            try:
                verdict, factor = verdict_for(
                    (low, high), (e_low, e_high), check.relation, tolerance, internal
                )
            except FlopgridError as exc:
                ev.fail(loc, f"{exc} (got {e_low:.3g}–{e_high:.3g})")
            checks.append(
                CheckResult(
                    check.quantity,
                    check.expected,
                    check.basis,
                    check.relation,
                    internal,
                    Range(low, value, high, unit),
                    Range(e_low, e_mid, e_high, unit),
                    factor,
                    verdict,
                )
            )
        implied = {}
        for name, spec in claim.implied.items():
            loc = ("claims", i, "implied", name, "expr")
            value_q = ev.expression(loc, spec.expr, lookup)
            try:
                implied[name] = Range(
                    *_spread(np.asarray(value_q.to(spec.unit).magnitude, dtype=float)), spec.unit
                )
            except pint.DimensionalityError:
                ev.fail(
                    loc,
                    f"{spec.expr!r} is in {_unit_name(value_q.units)}, which cannot be shown in {spec.unit}",
                )
        worst = max(checks, key=lambda c: (VERDICTS.index(c.verdict), c.factor))
        reason = _reason(worst)
        others = [c for c in checks if c is not worst]
        if others and worst.verdict == "consistent":
            reason += " The other check agrees too." if len(others) == 1 else " The other checks agree too."
        elif others:
            agreeing = [c.quantity for c in others if c.verdict == "consistent"]
            if agreeing:
                reason += f" ({', '.join(agreeing)}: consistent.)"
        results.append(
            ClaimResult(
                claim.id,
                claim.quote,
                claim.translation,
                ledger.sources[claim.source],
                worst.verdict,
                reason,
                checks,
                implied,
            )
        )
        if progress is not None:
            progress(i + 1, len(ledger.claims))
    return results


__all__ = [
    "IMPLAUSIBLE_FACTOR",
    "TOLERANCE",
    "VERDICTS",
    "Claim",
    "ClaimResult",
    "ClaimsError",
    "Ledger",
    "evaluate",
    "load_ledger",
    "shipped_ledgers",
    "show",
    "verdict_for",
]
