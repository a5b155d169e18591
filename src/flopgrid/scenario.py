"""Scenario files: schema, loading YAML, validation against the data library.

A scenario is YAML. Quantities carry units ("5 GW", "$100B", "50000 wafer/month") and are converted once,
here, to model units. Every problem becomes a :class:`~flopgrid.errors.ScenarioError` naming the file,
the line, the field path, what was given and what is expected.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    model_validator,
)

from flopgrid.errors import ScenarioError, UnitError, clean_loc, format_path, suggest
from flopgrid.library import Library, load_library
from flopgrid.units import parse_quantity

#: Library tables whose items a scenario may override, and the item kind named in messages.
OVERRIDABLE = ("accelerators", "fabs", "packaging", "hbm", "datacentres", "power_sources", "regions")


def _in(unit: str) -> BeforeValidator:
    def convert(value: Any) -> float:
        try:
            return parse_quantity(value, unit)
        except UnitError as exc:
            raise ValueError(str(exc)) from None

    return BeforeValidator(convert)


def _out(unit: str) -> PlainSerializer:
    """Dump a quantity with its model unit, so a dumped scenario loads again unchanged."""
    return PlainSerializer(lambda value: f"{value!r} {unit}", return_type=str)


Power = Annotated[float, _in("W"), _out("W"), Field(gt=0)]
WaferRate = Annotated[float, _in("wafer/year"), _out("wafer/year"), Field(gt=0)]
MemoryRate = Annotated[float, _in("GB/year"), _out("GB/year"), Field(gt=0)]
Money = Annotated[float, _in("USD"), _out("USD"), Field(ge=0)]
Fraction = Annotated[float, _in("dimensionless"), Field(ge=0, le=1)]
Year = Annotated[int, Field(ge=1950, le=2200)]
Count = Annotated[int, Field(ge=1, le=100_000)]
PositiveMoney = Annotated[float, _in("USD"), _out("USD"), Field(gt=0)]
Duration = Annotated[float, _in("year"), _out("year")]


def _rate(value: Any) -> float:
    try:
        rate = parse_quantity(value, "1/year")
    except UnitError as exc:
        raise ValueError(str(exc)) from None
    if not 0 <= rate <= 1:
        raise ValueError(f"a rate must be between 0%/year and 100%/year, got {value!r}")
    return rate


#: A yearly rate ("6.5%/year"), between 0 and 100% a year; real (base-year USD), like every flow.
Rate = Annotated[float, BeforeValidator(_rate), _out("1/year")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Every build may state ``capex``: the all-in cost of ONE unit (of ``count``) as quoted, e.g. "$100B" for
# a campus. It replaces the library's cost per unit of capacity and is not scaled by the region's
# construction-cost factor.


class Horizon(_Strict):
    """First and last simulated year (inclusive)."""

    start: Year = 2025
    end: Year = 2040

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) must not be before start ({self.start})")
        if self.end - self.start > 100:
            raise ValueError("a horizon longer than 100 years is not supported")
        return self


class _Build(_Strict):
    """What every build has: ``count`` units in ``region``, construction starting in ``start``, and an
    optional quoted ``capex`` per unit."""

    name: str | None = None
    region: str
    count: Count = 1
    start: Year
    capex: Money | None = None


class FabBuild(_Build):
    """Logic fabs: ``count`` fabs of ``capacity`` wafer starts each."""

    capacity: WaferRate
    ai_share: Fraction = 1.0


class PackagingBuild(_Build):
    """Advanced-packaging (CoWoS-class) lines, capacity in interposer wafers."""

    capacity: WaferRate


class HbmBuild(_Build):
    """HBM production lines, capacity in GB of HBM per year."""

    capacity: MemoryRate


class DatacentreBuild(_Build):
    """Data-centre campuses of ``it_power`` critical IT each."""

    it_power: Power
    accelerator: str | None = None


class PowerBuild(_Build):
    """Power plants of one source; ``capacity`` is nameplate per plant."""

    source: str
    capacity: Power


class Purchase(_Strict):
    """Accelerators bought from outside the modelled supply chain, delivered in ``year``."""

    accelerator: str
    region: str
    quantity: Annotated[float, Field(gt=0)]
    year: Year


class Builds(_Strict):
    fabs: list[FabBuild] = []
    packaging: list[PackagingBuild] = []
    hbm: list[HbmBuild] = []
    datacentres: list[DatacentreBuild] = []
    power: list[PowerBuild] = []
    purchases: list[Purchase] = []


ShareMap = dict[str, Fraction]


class Chips(_Strict):
    """Which accelerators are made and where they go.

    ``mix`` gives shares of accelerator output by type, either constant (``{GB300: 0.5, Rubin: 0.5}``)
    or by year from which it applies (``{2025: {GB300: 1}, 2028: {Rubin: 1}}``). ``allocation`` gives
    shares of output by region, constant or by year likewise.
    """

    mix: ShareMap | dict[Year, ShareMap] | None = None
    allocation: ShareMap | dict[Year, ShareMap] | None = None
    #: Re-buy retired accelerators (same type, at the price of the year they retire); programme-only.
    refresh: bool = False

    def steps(
        self, field: Literal["mix", "allocation"], first_year: int
    ) -> dict[int, dict[str, float]] | None:
        """The shares as ``{year from which they apply: {name: share}}``, or None when not given."""
        spec = getattr(self, field)
        if spec is None:
            return None
        if spec and all(isinstance(key, int) for key in spec):
            return {int(year): dict(shares) for year, shares in spec.items()}
        return {first_year: dict(spec)}


def shares_in(steps: dict[int, dict[str, float]], year: int) -> dict[str, float]:
    """The shares that apply in ``year``: the latest step at or before it (the first step before any)."""
    eligible = [y for y in steps if y <= year]
    return steps[max(eligible) if eligible else min(steps)]


class Exclusion(_Strict):
    """No accelerators of this type (``*`` for all) to this region."""

    accelerator: str = "*"
    region: str


class Policy(_Strict):
    exclude: list[Exclusion] = []


class Revenue(_Strict):
    """What the compute earns: ``rental`` (a price per H100e-hour, declining yearly), ``tokens`` (a
    price per million tokens × tokens per FLOP delivered) or ``none`` (cost-only studies).

    ``price``, ``decline`` and ``utilisation`` default to the library's ``datacentres.rental_price``,
    ``datacentres.rental_price_decline`` and ``datacentres.utilisation``.
    """

    kind: Literal["rental", "tokens", "none"] = "none"
    price: Annotated[float, _in("USD/hour"), _out("USD/hour"), Field(gt=0)] | None = None
    token_price: PositiveMoney | None = None
    tokens_per_flop: Annotated[float, _in("1/FLOP"), _out("1/FLOP"), Field(gt=0)] | None = None
    decline: Rate | None = None
    utilisation: Fraction | None = None


class Tranche(_Strict):
    """A named source of financing: ``amount`` drawn in ``year``, or ``years`` as ``{year: amount}``
    or as ``[first, last]`` (``amount`` spread evenly). Debt and vendor financing carry a ``rate`` and
    a ``tenor`` (level annuity from the year after each draw); equity and grants are never repaid."""

    name: str
    investor: str | None = None
    kind: Literal["equity", "debt", "vendor", "grant"]
    region: str | None = None
    amount: PositiveMoney | None = None
    year: Year | None = None
    years: dict[Year, PositiveMoney] | tuple[Year, Year] | None = None
    rate: Rate | None = None
    tenor: Duration | None = None

    def draws(self) -> dict[int, float]:
        """The amount drawn each year (checked by :func:`load_scenario`)."""
        if isinstance(self.years, dict):
            return dict(self.years)
        if self.years is not None:
            first, last = self.years
            span = range(first, last + 1)
            return dict.fromkeys(span, (self.amount or 0.0) / len(span))
        return {} if self.year is None else {self.year: self.amount or 0.0}

    @property
    def total(self) -> float:
        return sum(self.draws().values())


class Finance(_Strict):
    """Revenue, discounting and financing of the plan (docs/model.md §10)."""

    revenue: Revenue = Revenue()
    #: Default: the library's regions.cost_of_capital, weighted by where the capex is spent.
    discount_rate: Rate | None = None
    #: For nominal reporting only; the model computes in real base-year USD.
    inflation: Rate = 0.0
    tranches: list[Tranche] = []


class Uncertainty(_Strict):
    """How a Monte Carlo run draws its parameters (docs/uncertainty.md).

    ``distributions`` maps ``table.parameter`` or ``table.item.parameter`` to a distribution such as
    ``{dist: pert, low: .., mode: .., high: ..}``; ``correlations`` lists ``[name, name, spearman rho]``.
    Both are checked against the library by ``flopgrid.uncertainty`` when the scenario is loaded.
    """

    sampling: Literal["lhs", "sobol", "random"] = "lhs"
    distributions: dict[str, dict[str, Any]] = {}
    correlations: list[tuple[str, str, float]] = []


def _compute(value: Any) -> tuple[float, str]:
    """A compute level in H100e ("100e6 H100e", or a bare number) or in FLOP/s ("1e23 FLOP/s")."""
    if isinstance(value, tuple | list) and len(value) == 2:
        value = f"{value[0]} {value[1]}"
    for unit in ("H100e", "FLOP/s"):
        try:
            level = parse_quantity(value, unit)
        except UnitError:
            continue
        if level < 0:
            raise ValueError(f"a compute target must not be negative, got {value!r}")
        return level, unit
    raise ValueError(
        f"expected compute in H100e or FLOP/s, e.g. '100e6 H100e' or '1e23 FLOP/s', got {value!r}"
    )


#: A compute level and its unit (``H100e`` or ``FLOP/s``).
Compute = Annotated[
    tuple[float, str],
    BeforeValidator(_compute),
    PlainSerializer(lambda value: f"{value[0]!r} {value[1]}", return_type=str),
]
PowerRate = Annotated[float, _in("W/year"), _out("W/year"), Field(ge=0)]


class BuildLimits(_Strict):
    """Most new capacity started per year, per region: one value for every region or ``{region: value}``."""

    fabs: dict[str, WaferRate] | WaferRate | None = None
    packaging: dict[str, WaferRate] | WaferRate | None = None
    hbm: dict[str, MemoryRate] | MemoryRate | None = None
    datacentres: dict[str, PowerRate] | PowerRate | None = None
    power: dict[str, PowerRate] | PowerRate | None = None


class Planner(_Strict):
    """What ``flopgrid plan`` optimises (docs/plan.md): a compute target at least cost, or the most compute
    within a budget, and the planner's own limits."""

    objective: Literal["min_cost", "max_compute"] = "min_cost"
    #: Installed compute to reach by each year; a target holds from its year until the next one.
    target: dict[Year, Compute] = {}
    #: Total discounted cost (capex and opex) allowed, for ``max_compute``.
    budget: PositiveMoney | None = None
    #: Most capex per year: one amount for every year or ``{year: amount}``.
    capital_budget: dict[Year, PositiveMoney] | PositiveMoney | None = None
    mode: Literal["perfect", "myopic"] = "perfect"
    #: Years the myopic planner looks ahead (its rolling window).
    window: Annotated[int, Field(ge=1, le=100)] = 5
    #: Where the planner may build and send chips (default: every region of the library).
    regions: list[str] | None = None
    #: Power sources the planner may build (default: every source of the library but ``grid``).
    sources: list[str] | None = None
    #: Most of the installed compute any one region may hold.
    max_region_share: Annotated[float, _in("dimensionless"), Field(gt=0, le=1)] | None = None
    build_limits: BuildLimits = BuildLimits()
    #: Cost of one H100e missing from a target for a year; high, so targets are missed only when impossible.
    shortfall_penalty: Annotated[float, _in("USD/H100e"), _out("USD/H100e"), Field(gt=0)] = 1e6
    #: Let fabs run below capacity (the simulator runs them full, so the round trip then differs).
    allow_idle_fabs: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Planner:
        if self.objective == "min_cost" and not self.target:
            raise ValueError("objective min_cost needs a target, e.g. target: {2030: '100e6 H100e'}")
        if self.objective == "max_compute" and self.budget is None:
            raise ValueError("objective max_compute needs a budget, e.g. budget: '2 trillion USD'")
        return self


class Scenario(_Strict):
    """A scenario: the horizon, overrides of library parameters, and the plan.

    Build with :func:`load_scenario` (from a file or a mapping), which also checks every name against
    the library.
    """

    name: str = "unnamed"
    description: str = ""
    horizon: Horizon = Horizon()
    existing_industry: bool = True
    parameters: dict[str, dict[str, Any]] = {}
    chips: Chips = Chips()
    builds: Builds = Builds()
    policy: Policy = Policy()
    finance: Finance = Finance()
    uncertainty: Uncertainty = Uncertainty()
    planner: Planner | None = None
    source_file: str | None = Field(default=None, exclude=True)

    @property
    def years(self) -> list[int]:
        return list(range(self.horizon.start, self.horizon.end + 1))

    def content_hash(self) -> str:
        """A hash of the scenario's content (not of its file name)."""
        # Scenarios without a planner section hash as they did before the section existed.
        text = json.dumps(
            self.model_dump(mode="json", exclude={"planner"} if self.planner is None else None),
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------- loading


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that remembers the line of every mapping key and sequence item."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise ScenarioError(f"key {key!r} appears twice", line=key_node.start_mark.line + 1)
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line_index(node: yaml.Node | None, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map every field path in a composed YAML document to its 1-based line."""
    index: dict[tuple[Any, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = yaml.safe_load(key_node.value) if key_node.tag.endswith(":int") else key_node.value
            index[(*path, key)] = key_node.start_mark.line + 1
            index.update(_line_index(value_node, (*path, key)))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            index[(*path, i)] = item.start_mark.line + 1
            index.update(_line_index(item, (*path, i)))
    return index


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the field at ``loc`` (for 'did you mean' on unknown keys)."""
    model: type[BaseModel] | None = Scenario
    for part in loc[:-1]:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return model


def _from_validation_error(
    exc: ValidationError, file: str | None, lines: dict[tuple[Any, ...], int]
) -> ScenarioError:
    errors = exc.errors()
    # A typo shows as an unknown key and a missing one; the unknown key is the one to name. A union
    # (constant map or by-year map) reports one error per branch; the first is the clearest.
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = clean_loc(tuple(error["loc"]))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        owner = _model_at(loc)
        choices = list(owner.model_fields) if owner else []
        choices = [c for c in choices if c != "source_file"]
        # The raw location's last part is the user's key, even one that looks like a union label.
        key = str(error["loc"][-1]) if error["loc"] else ""
        message = f"unknown key {key!r}.{suggest(key, choices)} Allowed here: {', '.join(choices)}"
    elif error["type"] == "missing":
        message = f"missing required field {error['loc'][-1]!r}"
    elif "input" in error and error["type"] not in ("value_error",):
        message = f"{message} (got {error['input']!r})"
    line = None
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in lines:
            line = lines[loc[:cut]]
            break
    return ScenarioError(message, file=file, path=format_path(loc) or None, line=line)


def read_yaml(
    source: str | Path,
    *,
    package: str,
    shipped: list[str],
    what: str,
    error: type[ScenarioError] = ScenarioError,
) -> tuple[Any, dict[tuple[Any, ...], int], str]:
    """Read a YAML file, or a built-in one by name from ``package``: its data, the line of each key
    path, and the file name to put in messages. Unreadable or malformed files raise ``error`` naming
    the file and line."""
    path = Path(source)
    if not path.exists() and str(source) in shipped:
        text = resources.files(package).joinpath(f"{source}.yaml").read_text("utf-8")
        file = f"{source}.yaml (built in)"
    elif not path.exists():
        raise error(
            f"no such file. Give a path to {what} or one of the built-in names: {', '.join(shipped)}",
            file=str(source),
        )
    else:
        file = str(source)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise error(f"cannot read the file ({exc})", file=file) from None
    try:
        data = yaml.load(text, Loader=_LineLoader)
        lines = _line_index(yaml.compose(text, Loader=yaml.SafeLoader))
    except ScenarioError as exc:
        raise error(exc.message, file=file, line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"malformed YAML: {problem}", file=file, line=mark.line + 1 if mark else None) from None
    return data, lines, file


def load_scenario(
    source: str | Path | Mapping[str, Any] | None = None, library: Library | None = None
) -> Scenario:
    """Load, validate and check a scenario.

    Parameters
    ----------
    source
        A path to a YAML file, a mapping with the scenario's content, or None for the built-in default
        scenario (``seed-7t``). A bare name such as ``"reference"`` loads a shipped scenario.
    library
        The data library to check names against (default: the built-in one).

    Raises
    ------
    ScenarioError
        With the file, line, field path and the expected form.

    Examples
    --------
    >>> s = load_scenario({"name": "tiny", "horizon": {"start": 2025, "end": 2027}})
    >>> s.years
    [2025, 2026, 2027]
    """
    library = library or load_library()
    lines: dict[tuple[Any, ...], int] = {}
    file: str | None = None
    if source is None:
        source = "seed-7t"
    if isinstance(source, Mapping):
        data: Any = dict(source)
    else:
        data, lines, file = read_yaml(
            source, package="flopgrid.scenarios", shipped=shipped_scenarios(), what="a YAML scenario"
        )
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ScenarioError("a scenario must be a YAML mapping (key: value lines)", file=file, line=1)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _from_validation_error(exc, file, lines) from None
    scenario = scenario.model_copy(update={"source_file": file})
    _check_names(scenario, library, file, lines)
    # Parameter overrides are checked by resolving them once; errors carry the path.
    from flopgrid.parameters import resolve_overrides

    resolve_overrides(scenario, library, lines)
    from flopgrid.uncertainty import explicit_distributions

    explicit_distributions(scenario, library, lines)
    return scenario


def shipped_scenarios() -> list[str]:
    """Names of the scenarios that ship with flopgrid."""
    folder = resources.files("flopgrid.scenarios")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def _check_names(
    scenario: Scenario, library: Library, file: str | None, lines: dict[tuple[Any, ...], int]
) -> None:
    regions = library.ids("regions")
    accelerators = library.ids("accelerators")
    sources = library.ids("power_sources")
    years = scenario.years

    def fail(loc: tuple[Any, ...], message: str) -> None:
        line = next((lines[loc[:cut]] for cut in range(len(loc), 0, -1) if loc[:cut] in lines), None)
        raise ScenarioError(message, file=file, path=format_path(loc), line=line)

    def check(loc: tuple[Any, ...], value: str, choices: list[str], kind: str) -> None:
        if value not in choices:
            fail(loc, f"unknown {kind} {value!r}.{suggest(value, choices)} Known: {', '.join(choices)}")

    def check_year(loc: tuple[Any, ...], year: int, what: str) -> None:
        if not years[0] <= year <= years[-1]:
            fail(
                loc,
                f"{what} {year} is outside the horizon {years[0]}–{years[-1]}; "
                "change the year or horizon.start/horizon.end",
            )

    for kind in ("fabs", "packaging", "hbm", "datacentres", "power"):
        for i, build in enumerate(getattr(scenario.builds, kind)):
            loc = ("builds", kind, i)
            check((*loc, "region"), build.region, regions, "region")
            check_year((*loc, "start"), build.start, "start year")
            if kind == "power":
                check((*loc, "source"), build.source, sources, "power source")
            if kind == "datacentres" and build.accelerator is not None:
                check((*loc, "accelerator"), build.accelerator, accelerators, "accelerator")
    for i, purchase in enumerate(scenario.builds.purchases):
        loc = ("builds", "purchases", i)
        check((*loc, "accelerator"), purchase.accelerator, accelerators, "accelerator")
        check((*loc, "region"), purchase.region, regions, "region")
        check_year((*loc, "year"), purchase.year, "delivery year")
    if scenario.builds.purchases and scenario.existing_industry:
        fail(
            ("builds", "purchases"),
            "purchases are accelerators bought from outside the modelled supply chain, but with "
            "existing_industry: true the whole industry's output is already modelled and shipped; "
            "steer it with chips.allocation instead, or set existing_industry: false",
        )

    fields: tuple[tuple[Literal["mix", "allocation"], list[str], str], ...] = (
        ("mix", accelerators, "accelerator"),
        ("allocation", regions, "region"),
    )
    for field, choices, kind in fields:
        steps = scenario.chips.steps(field, years[0])
        if steps is None:
            continue
        by_year = all(isinstance(k, int) for k in getattr(scenario.chips, field))
        for year, mapping in steps.items():
            yloc: tuple[Any, ...] = ("chips", field, year) if by_year else ("chips", field)
            if by_year:
                check_year(yloc, year, f"{field} year")
            for name in mapping:
                check((*yloc, name), name, choices, kind)
            total = sum(mapping.values())
            if total <= 0:
                fail(yloc, f"the shares of chips.{field} add up to 0; give at least one positive share")
            if abs(total - 1) > 1e-6:
                fail(yloc, f"the shares of chips.{field} must add up to 1, they add up to {total:g}")
    if scenario.chips.refresh and scenario.existing_industry:
        fail(
            ("chips", "refresh"),
            "refresh re-buys the programme's retired accelerators, but with existing_industry: true the "
            "industry's output already replaces them; set existing_industry: false or drop refresh",
        )
    _check_finance(scenario, regions, fail, check)
    for i, exclusion in enumerate(scenario.policy.exclude):
        loc = ("policy", "exclude", i)
        check((*loc, "region"), exclusion.region, regions, "region")
        if exclusion.accelerator != "*":
            check((*loc, "accelerator"), exclusion.accelerator, accelerators, "accelerator")


def _check_finance(scenario: Scenario, regions: list[str], fail: Any, check: Any) -> None:
    """Checks of the ``finance`` section that need the horizon or more than one field."""
    years = scenario.years
    revenue = scenario.finance.revenue
    needs = {"rental": (), "tokens": ("token_price", "tokens_per_flop"), "none": ()}[revenue.kind]
    for name in needs:
        if getattr(revenue, name) is None:
            fail(("finance", "revenue", name), f"revenue kind 'tokens' needs {name}")
    unused = {"rental": ("token_price", "tokens_per_flop"), "tokens": ("price",), "none": ()}[revenue.kind]
    if revenue.kind == "none":
        unused = ("price", "token_price", "tokens_per_flop", "decline", "utilisation")
    for name in unused:
        if getattr(revenue, name) is not None:
            fail(
                ("finance", "revenue", name),
                f"{name} does not apply to revenue kind {revenue.kind!r}; remove it or change the kind",
            )
    seen: set[str] = set()
    for i, tranche in enumerate(scenario.finance.tranches):
        loc: tuple[Any, ...] = ("finance", "tranches", i)
        if tranche.name in seen:
            fail((*loc, "name"), f"two tranches are named {tranche.name!r}; give each a distinct name")
        seen.add(tranche.name)
        if tranche.region is not None:
            check((*loc, "region"), tranche.region, regions, "region")
        if (tranche.year is None) == (tranche.years is None):
            fail(
                loc,
                'give the drawdown as year: 2026 (with amount), years: {2026: "$10B", 2027: "$5B"}, '
                "or years: [2026, 2030] (with amount, spread evenly) — exactly one of year and years",
            )
        if tranche.amount is None and not isinstance(tranche.years, dict):
            fail((*loc, "amount"), 'missing the amount, e.g. amount: "$43B"')
        if isinstance(tranche.years, tuple) and tranche.years[0] > tranche.years[1]:
            fail(
                (*loc, "years"),
                f"years [{tranche.years[0]}, {tranche.years[1]}]: the first comes after the last",
            )
        if isinstance(tranche.years, dict) and tranche.amount is not None:
            total = sum(tranche.years.values())
            if abs(total - tranche.amount) > 1e-6 * tranche.amount:
                fail(
                    (*loc, "amount"),
                    f"amount {tranche.amount:.4g} USD differs from the sum of years ({total:.4g} USD); "
                    "drop amount or make them agree",
                )
        for year in tranche.draws():
            where = (*loc, "year") if tranche.year is not None else (*loc, "years")
            if year < years[0]:
                fail(
                    where,
                    f"tranche {tranche.name!r} is drawn in {year}, in the past of the horizon "
                    f"(it starts in {years[0]}); money already spent is not modelled — move it to "
                    f"{years[0]} or later",
                )
            if year > years[-1]:
                fail(
                    where,
                    f"tranche {tranche.name!r} is drawn in {year}, after the horizon ends ({years[-1]})",
                )
        if tranche.kind in ("debt", "vendor"):
            if tranche.rate is None:
                fail((*loc, "rate"), f'a {tranche.kind} tranche needs a rate, e.g. rate: "6.5%/year"')
            if tranche.tenor is None:
                fail((*loc, "tenor"), f'a {tranche.kind} tranche needs a tenor, e.g. tenor: "15 year"')
            elif tranche.tenor < 1 or tranche.tenor != round(tranche.tenor) or tranche.tenor > 100:
                fail(
                    (*loc, "tenor"),
                    f"tenor must be a whole number of years from 1 to 100, got {tranche.tenor:g} year",
                )
        else:
            for name in ("rate", "tenor"):
                if getattr(tranche, name) is not None:
                    fail(
                        (*loc, name),
                        f"{name} applies to debt and vendor tranches only; {tranche.kind} is not repaid",
                    )
