"""Claims ledgers: the schema (sources, stated figures, inputs, checks) and loading with error
locations (file, line, field path)."""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeAlias, cast

import pint
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from flopgrid.errors import ScenarioError, UnitError, clean_loc, format_path, shorten, suggest
from flopgrid.library import TABLES, load_library
from flopgrid.scenario import read_yaml
from flopgrid.units import parse_quantity, parse_unit, read_quantity, ureg

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


def quantity(value: Any) -> Q:
    """A stated figure ("7000 billion USD", "5 GW", 0.25) as a pint quantity in base units."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UnitError(f"expected a quantity such as '5 GW' or a number, got {shorten(value)}")
    if isinstance(value, int | float):
        return cast(Q, read_quantity(value))
    problems = []
    for unit in BASE_UNITS:
        try:
            return cast(Q, ureg.Quantity(parse_quantity(value, unit), unit))
        except UnitError as exc:
            problems.append(str(exc))
    if all("cannot read" in p for p in problems):
        raise UnitError(problems[0])
    raise UnitError(
        f"{shorten(value)} has a unit flopgrid does not compare; use one of {', '.join(BASE_UNITS[:-1])} "
        "(with prefixes, e.g. GW, billion USD) or a plain number"
    )


# ------------------------------------------------------------------------------------------- schema


class _Strict(BaseModel):
    # NaN and infinity are never a value (NaN passes every gt/ge check, as a comparison with it is False).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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
            value = quantity(self.value)
            bounds = [quantity(b) for b in (self.low, self.high) if b is not None]
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        for bound in bounds:
            if bound.units != value.units:
                raise ValueError(
                    f"low/high must have the unit of value ({unit_name(value.units)}), "
                    f"got {unit_name(bound.units)}"
                )
        low = quantity(self.low).magnitude if self.low is not None else value.magnitude
        high = quantity(self.high).magnitude if self.high is not None else value.magnitude
        if not low <= value.magnitude <= high:
            raise ValueError(f"needs low <= value <= high, got {self.low} / {self.value} / {self.high}")
        if low <= 0:
            raise ValueError("checks compare positive figures by ratio; give a value above 0")
        return self

    def interval(self) -> tuple[float, float, float, str]:
        """(low, value, high) in base units, and the unit."""
        value = quantity(self.value)
        low = quantity(self.low).magnitude if self.low is not None else value.magnitude
        high = quantity(self.high).magnitude if self.high is not None else value.magnitude
        return float(low), float(value.magnitude), float(high), unit_name(value.units)


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
                    f"library: {shorten(self.library)}: write table.item.parameter, e.g. macro.US.gdp or "
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
    """One claim of a ledger: its quote, source, what it states and the checks that test it."""

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
    """A claims ledger: sources, shared inputs and claims.

    ``scenario`` (a shipped name, a path beside the ledger or a mapping; default: none, the plain
    library) is the run whose parameter draws a claim's library inputs follow when the claim has no
    model input: its ``parameters:`` overrides and ``uncertainty:`` distributions apply.
    """

    name: str
    description: str = ""
    scenario: str | dict[str, Any] | None = None
    samples: Annotated[int, Field(ge=1, le=100_000)] = 500
    #: A numpy seed: a non-negative integer.
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
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
        raise from_validation_error(exc, file, lines) from None
    ledger = ledger.model_copy(update={"file": file, "lines": lines})
    check_names(ledger)
    return ledger


def line_of(lines: Mapping[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    """The line of ``loc`` in the file, or of its nearest enclosing field that has one."""
    return next((lines[loc[:cut]] for cut in range(len(loc), 0, -1) if loc[:cut] in lines), None)


def from_validation_error(exc: ValidationError, file: str, lines: dict[tuple[Any, ...], int]) -> ClaimsError:
    """The first schema error of a ledger as a :class:`ClaimsError` with its file, line and path."""
    errors = exc.errors()
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = clean_loc(tuple(error["loc"]))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown key {shorten(loc[-1])}; see docs/claims.md for the fields a ledger takes"
    elif error["type"] == "missing":
        message = f"missing required field {shorten(loc[-1])}"
    elif error["type"] == "string_pattern_mismatch" and loc and loc[-1] == "date":
        message = f"a date is written YYYY, YYYY-MM or YYYY-MM-DD, got {shorten(error.get('input'))}"
    elif "input" in error and error["type"] not in ("value_error",):
        message = f"{message} (got {shorten(error['input'])})"
    # A missing field has no line of its own: point at the mapping that lacks it.
    line = line_of(lines, loc) or (line_of(lines, loc[:-1]) if len(loc) > 1 else None) or 1
    return ClaimsError(message, file=file, path=format_path(loc) or None, line=line)


#: Longest expression read; the seed ledger's longest is under 100 characters.
MAX_EXPRESSION_CHARS = 500
#: Most parentheses open at once plus signs in an expression: each nests the parse one level deeper.
MAX_EXPRESSION_DEPTH = 60


def parse_expression(expr: str) -> ast.Expression:
    """``expr`` parsed by :mod:`ast`, after caps on its length and nesting that keep the parser's time,
    memory and recursion bounded (a long or deeply nested text made ``ast.parse`` raise MemoryError or
    RecursionError).

    Raises
    ------
    SyntaxError
        For text that is too long, nested too deeply or not an expression; ``msg`` says which.

    Examples
    --------
    >>> type(parse_expression("cost / chips").body).__name__
    'BinOp'
    """
    if len(expr) > MAX_EXPRESSION_CHARS:
        raise SyntaxError(f"an expression of {len(expr):,} characters; at most {MAX_EXPRESSION_CHARS}")
    depth = deepest = 0
    for char in expr:
        depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(char, 0)
        deepest = max(deepest, depth)
    # Unary signs nest too ("- - - x"), one level each.
    deepest += expr.count("-") + expr.count("+") + expr.count("~")
    if deepest > MAX_EXPRESSION_DEPTH:
        raise SyntaxError(f"more than {MAX_EXPRESSION_DEPTH} nested parentheses and signs")
    try:
        return ast.parse(expr, mode="eval")
    except (ValueError, MemoryError, RecursionError) as exc:  # ValueError: a NUL character
        raise SyntaxError(f"cannot parse ({type(exc).__name__})") from None


def names_in(expr: str) -> set[str]:
    """The names an expression uses (``'chips * chip_power'`` → ``{'chips', 'chip_power'}``)."""
    return {node.id for node in ast.walk(parse_expression(expr)) if isinstance(node, ast.Name)}


def check_names(ledger: Ledger) -> None:
    """Sources, names in expressions and library references all resolve; ids are unique."""
    library = load_library()

    def fail(loc: tuple[Any, ...], message: str) -> NoReturn:
        raise ClaimsError(message, file=ledger.file, path=format_path(loc), line=line_of(ledger.lines, loc))

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
            fail((*loc, "library"), f"{table} has no {parameter} for {shorten(name)}.{suggest(name, items)}")

    def check_name(loc: tuple[Any, ...], name: str) -> None:
        if not name.isidentifier() or keyword.iskeyword(name):
            fail(
                loc, f"{shorten(name)} cannot be used in expressions; use letters, digits and _ (e.g. us_gdp)"
            )

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
                names = names_in(expr)
            except SyntaxError as exc:
                fail(
                    where,
                    f"cannot read the expression {shorten(expr)} ({exc.msg}); write e.g. 'cost / chips'",
                )
            for unknown in sorted(names - set(known)):
                fail(
                    where,
                    f"unknown name {unknown!r}.{suggest(unknown, known)} Known here: {', '.join(known)}",
                )
        for k, implied in claim.implied.items():
            try:
                parse_unit(implied.unit)
            except UnitError:
                fail(
                    (*loc, "implied", k, "unit"),
                    f"unknown unit {shorten(implied.unit)}; write e.g. 'USD/chip' or 'kW/chip'",
                )


def unit_name(units: Any) -> str:
    """A unit as users write it (W, USD, USD/chip, chip*W)."""
    text = str(units).replace(" / ", "/").replace(" * ", "*")
    return text.replace("watt_hour", "Wh").replace("watt", "W")
