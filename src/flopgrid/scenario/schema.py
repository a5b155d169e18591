"""The scenario schema: pydantic models of a scenario file.

Quantities carry units ("5 GW", "$100B", "50000 wafer/month") and are converted once, here, to model
units. Checks that need the data library or more than one field are in :mod:`flopgrid.scenario.checks`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    model_validator,
)

from flopgrid.errors import UnitError, shorten
from flopgrid.units import parse_quantity

#: Library tables whose items a scenario may override, and the item kind named in messages.
OVERRIDABLE = (
    "accelerators",
    "fabs",
    "packaging",
    "hbm",
    "datacentres",
    "power_sources",
    "regions",
    "market",
)


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
        raise ValueError(f"a rate must be between 0%/year and 100%/year, got {shorten(value)}")
    return rate


#: A yearly rate ("6.5%/year"), between 0 and 100% a year; real (base-year USD), like every flow.
Rate = Annotated[float, BeforeValidator(_rate), _out("1/year")]


class _Strict(BaseModel):
    # NaN and infinity are never a value (NaN passes every gt/ge check, as a comparison with it is False).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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
    """Data-centre campuses, sized by their IT rating (``it_power``, critical IT) or their facility draw
    (``facility_power``: IT times PUE, what the grid or the plants must supply); exactly one is given.

    A ``facility_power`` is converted to IT once, when the scenario is loaded, with the PUE of the
    campus's region in its start year (the library value or the scenario's ``parameters`` override):
    IT = facility power / PUE (:meth:`sized`); :attr:`it_rating` is the IT rating either way. The fields
    keep what the scenario says, so a dumped scenario loads again to the same campus.
    """

    it_power: Power | None = None
    facility_power: Power | None = None
    accelerator: str | None = None
    _it_from_facility: float | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_power(self) -> DatacentreBuild:
        if (self.it_power is None) == (self.facility_power is None):
            raise ValueError(
                "give the campus's size as it_power (IT rating, e.g. '5 GW') or facility_power (facility "
                "draw including cooling, IT x PUE), exactly one of them"
            )
        return self

    def sized(self, pue: float) -> DatacentreBuild:
        """A copy whose facility power is converted to IT with ``pue`` (no change for an IT size)."""
        out = self.model_copy()
        if self.facility_power is not None:
            out._it_from_facility = self.facility_power / pue
        return out

    @property
    def it_rating(self) -> float:
        """The IT rating of one campus, W: ``it_power``, or ``facility_power`` over the PUE at load."""
        if self.it_power is not None:
            return self.it_power
        if self._it_from_facility is None:
            raise ValueError("a campus given by facility_power is sized in IT when the scenario is loaded")
        return self._it_from_facility


class PowerBuild(_Build):
    """Power plants of one source; ``capacity`` is nameplate per plant."""

    source: str
    capacity: Power


class Purchase(_Strict):
    """Accelerators bought from outside the modelled supply chain, delivered in ``year``."""

    accelerator: str
    region: str
    #: Accelerators bought; at most a trillion, so sums over them stay finite.
    quantity: Annotated[float, Field(gt=0, le=1e12)]
    year: Year


class Builds(_Strict):
    """What the scenario builds: fabs, packaging, HBM, data centres, power plants and chip purchases."""

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
    """Policy limits: regions or accelerators excluded from shipments."""

    exclude: list[Exclusion] = []


class Revenue(_Strict):
    """What the compute earns: ``market`` (the hours the fleet sells on the world market for compute at
    its clearing price, docs/model.md §12), ``rental`` (a price per H100e-hour, declining yearly),
    ``tokens`` (a price per million tokens × tokens per FLOP delivered) or ``none`` (cost-only studies).
    Default: ``market`` for scenarios with the existing industry, ``none`` without it
    (:attr:`Scenario.revenue_kind`).

    ``price``, ``decline`` and ``utilisation`` default to the library's ``datacentres.rental_price``,
    ``datacentres.rental_price_decline`` and ``datacentres.utilisation``.
    """

    kind: Literal["market", "rental", "tokens", "none"] | None = None
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
            raise ValueError(f"a compute target must not be negative, got {shorten(value)}")
        return level, unit
    raise ValueError(
        f"expected compute in H100e or FLOP/s, e.g. '100e6 H100e' or '1e23 FLOP/s', got {shorten(value)}"
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


class Emissions(_Strict):
    """The basis every emission figure of a run is on, for own plants and the grid alike: ``direct``
    (combustion at the plant, the default; renewables and nuclear emit none) or ``lifecycle`` (IPCC AR5
    Annex III lifecycle factors: fuel supply, construction and operation)."""

    basis: Literal["direct", "lifecycle"] = "direct"


class Scenario(_Strict):
    """A scenario: the horizon, overrides of library parameters, and the plan.

    Build with :func:`load_scenario` (from a file or a mapping), which also checks every name against
    the library.
    """

    name: str = "unnamed"
    description: str = ""
    horizon: Horizon = Horizon()
    existing_industry: bool = True
    #: False: after the start year the existing industry follows the model from supply-chain inputs
    #: only, as in the backtest; true: it follows the library's history up to the last data year.
    history: bool = True
    #: With the existing industry: true (default), the atlas's named projects drive the near term
    #: (docs/atlas.md): campuses set the yearly most new data-centre grid power per region, TSMC's fabs
    #: and packaging sites extend the wafer and CoWoS series, up to 2030 at most; false: the library's
    #: trends (max_new_power, capacity_growth) throughout, as before the pipeline.
    pipeline: bool = True
    parameters: dict[str, dict[str, Any]] = {}
    chips: Chips = Chips()
    builds: Builds = Builds()
    policy: Policy = Policy()
    finance: Finance = Finance()
    uncertainty: Uncertainty = Uncertainty()
    emissions: Emissions = Emissions()
    planner: Planner | None = None
    source_file: str | None = Field(default=None, exclude=True)

    @property
    def years(self) -> list[int]:
        return list(range(self.horizon.start, self.horizon.end + 1))

    @property
    def revenue_kind(self) -> str:
        """The revenue model: ``finance.revenue.kind``, else ``market`` with the existing industry (a
        market needs the rest of the world's fleet to clear against) and ``none`` without it."""
        if self.finance.revenue.kind is not None:
            return self.finance.revenue.kind
        return "market" if self.existing_industry else "none"

    def content_hash(self) -> str:
        """A hash of the scenario's content (not of its file name)."""
        # Scenarios without a planner section hash as they did before the section existed.
        text = json.dumps(
            self.model_dump(mode="json", exclude={"planner"} if self.planner is None else None),
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]
