"""Uncertainty: distributions, correlated sampling designs, Monte Carlo in chunks, probabilities and
global sensitivity.

- **Distributions.** Every library parameter with ``low < high`` is drawn from a default distribution
  chosen by its kind (:data:`DEFAULT_KINDS`, :func:`default_kind`); a scenario's ``uncertainty:``
  section may give any parameter an explicit one (normal, lognormal, uniform, triangular, PERT, or a
  metalog through its 10th/50th/90th percentiles).
- **Sampling.** One column of uniforms per drawn (table, parameter, item), from a Latin hypercube, a
  scrambled Sobol sequence or plain random numbers (``scipy.stats.qmc``), seeded; the design is made in
  blocks of :data:`DESIGN_BLOCK` samples so any chunk of a run can be drawn on its own and chunked and
  unchunked runs see the same numbers. Rank correlations go through a Gaussian copula.
- **Monte Carlo at scale** (:func:`monte_carlo`): chunks of samples, keeping only the requested figures.
- **Probabilities** (:func:`probability`): ``"h100e@2030 >= 50e6"``.
- **Sensitivity** (:func:`sensitivity`): SALib's Sobol and Morris methods on the simulator, ranked
  drivers with confidence intervals, and one-at-a-time tornado data.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special
from scipy.stats import qmc

from flopgrid.errors import FlopgridError, ScenarioError, UnitError, suggest
from flopgrid.units import parse_quantity

if TYPE_CHECKING:
    import xarray as xr

    from flopgrid.library import Library, ParameterSpec
    from flopgrid.scenario import Scenario

SAMPLING: tuple[str, ...] = ("lhs", "sobol", "random")
#: Samples per block of the design: each block of a Latin hypercube is stratified on its own, and
#: random blocks have their own stream, so a chunk of a run is drawn without drawing the rest.
DESIGN_BLOCK = 65_536
#: Normal quantile of the 95th percentile: library ``low``/``high`` are read as P5/P95 where a
#: distribution is unbounded.
Z95 = 1.6448536269514722
#: How each kind of parameter is drawn from its library row (value, low, high) by default.
DEFAULT_KINDS: dict[str, str] = {
    "growth": "two-piece lognormal of the growth factor 1 + g: median 1 + value, P5/P95 at 1 + low / "
    "1 + high (growth compounds multiplicatively and is skewed upwards)",
    "cost": "PERT(low, value, high): costs and prices (USD in the unit) are bounded expert ranges "
    "with the library value as the most likely",
    "share": "PERT(low, value, high): fractions and PUE stay inside their bounds",
    "wide": "two-piece lognormal: median at value, P5/P95 at low/high, for positive quantities whose "
    "range spans a factor of 3 or more (capacities, fleets, grid additions)",
    "other": "PERT(low, value, high): every other physical or technical parameter",
}
_EPS = 1e-12


# ---------------------------------------------------------------------------------------- distributions


def _beta_table(alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles of Beta(alpha, beta) on a grid dense in the tails: ``scipy``'s inverse is ~2.5 µs a
    value, interpolation in a table ~0.1 µs, and millions of samples need the latter."""
    tails = np.logspace(-12, np.log10(0.2), 600)
    grid = np.unique(np.concatenate([[0.0, 1.0], tails, 1 - tails, np.linspace(0, 1, 4097)]))
    return grid, np.asarray(special.betaincinv(alpha, beta, grid), dtype=float)


_BETA_TABLES: dict[tuple[float, float], tuple[np.ndarray, np.ndarray]] = {}


def beta_ppf(u: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """Quantile function of Beta(alpha, beta) at ``u`` (tabulated; error below 2e-5 of the range)."""
    key = (round(alpha, 12), round(beta, 12))
    if key not in _BETA_TABLES:
        _BETA_TABLES[key] = _beta_table(alpha, beta)
    grid, table = _BETA_TABLES[key]
    out: np.ndarray = np.interp(u, grid, table)
    return out


def pert_ppf(u: np.ndarray, low: float, mode: float, high: float) -> np.ndarray:
    """PERT (beta with shape 4): alpha = 1 + 4 (mode − low) / (high − low), beta likewise."""
    width = high - low
    if width <= 0:
        return np.full(np.shape(u), mode)
    alpha = 1 + 4 * (mode - low) / width
    beta = 1 + 4 * (high - mode) / width
    return low + width * beta_ppf(u, alpha, beta)


def triangular_ppf(u: np.ndarray, low: float, mode: float, high: float) -> np.ndarray:
    width = high - low
    if width <= 0:
        return np.full(np.shape(u), mode)
    c = (mode - low) / width
    left = low + np.sqrt(u * width * (mode - low))
    right = high - np.sqrt((1 - u) * width * (high - mode))
    out: np.ndarray = np.where(u < c, left, right)
    return out


def two_piece_lognormal_ppf(
    u: np.ndarray, median: float, p5: float, p95: float, shift: float = 0.0
) -> np.ndarray:
    """``shift + (median − shift) · exp(σ z)`` with σ below the median from P5 and above from P95."""
    base = median - shift
    if base <= 0 or p5 - shift <= 0:
        return pert_ppf(u, p5, median, p95)
    z = special.ndtri(np.clip(u, _EPS, 1 - _EPS))
    lower = np.log(base / (p5 - shift)) / Z95
    upper = np.log((p95 - shift) / base) / Z95
    out: np.ndarray = shift + base * np.exp(z * np.where(z < 0, lower, upper))
    return out


def metalog_coefficients(p10: float, p50: float, p90: float) -> tuple[float, float, float]:
    """The three-term metalog through the 10th, 50th and 90th percentiles (Keelin 2016):
    ``Q(y) = a1 + a2 L + a3 (y − ½) L`` with ``L = ln(y / (1 − y))``."""
    logit = np.log(0.1 / 0.9)
    a1 = p50
    a2 = (p10 - p90) / (2 * logit)
    a3 = (p10 + p90 - 2 * p50) / (2 * (0.1 - 0.5) * logit)
    return a1, float(a2), float(a3)


@dataclass(frozen=True)
class Distribution:
    """One parameter's distribution, in the parameter's model unit.

    ``kind`` is one of normal (mean, sd), lognormal (median, sigma), uniform (low, high), triangular and
    pert (low, mode, high), or metalog (p10, p50, p90, lower, upper; bounds may be ±inf).
    """

    kind: str
    params: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.kind == "metalog":
            p10, p50, p90, lower, upper = self.params
            if not lower < p10 < p50 < p90 < upper:
                raise ValueError(f"metalog needs lower < p10 < p50 < p90 < upper, got {self.params}")
            _, a2, a3 = metalog_coefficients(*self._metalog_space()[:3])
            # A three-term metalog is a valid (increasing) quantile function only for |a3|/a2 < 1.66711.
            if a2 <= 0 or abs(a3) / a2 >= 1.66711:
                raise ValueError(
                    f"the percentiles {p10:g} / {p50:g} / {p90:g} are too skewed for a three-term "
                    "metalog; give a lower bound (lower: 0) or a less skewed range"
                )

    def _metalog_space(self) -> tuple[float, float, float]:
        p10, p50, p90, lower, upper = self.params
        points = np.array([p10, p50, p90])
        if np.isfinite(lower) and np.isfinite(upper):
            points = np.log((points - lower) / (upper - points))
        elif np.isfinite(lower):
            points = np.log(points - lower)
        elif np.isfinite(upper):
            points = -np.log(upper - points)
        return float(points[0]), float(points[1]), float(points[2])

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """The quantile function at ``u`` (values in (0, 1))."""
        u = np.clip(np.asarray(u, dtype=float), _EPS, 1 - _EPS)
        p = self.params
        if self.kind == "normal":
            out: np.ndarray = p[0] + p[1] * special.ndtri(u)
        elif self.kind == "lognormal":
            out = p[0] * np.exp(p[1] * special.ndtri(u))
        elif self.kind == "uniform":
            out = p[0] + (p[1] - p[0]) * u
        elif self.kind == "triangular":
            out = triangular_ppf(u, *p)
        elif self.kind == "pert":
            out = pert_ppf(u, *p)
        elif self.kind == "metalog":
            a1, a2, a3 = metalog_coefficients(*self._metalog_space())
            logit = np.log(u / (1 - u))
            m = a1 + a2 * logit + a3 * (u - 0.5) * logit
            lower, upper = p[3], p[4]
            if np.isfinite(lower) and np.isfinite(upper):
                out = (lower + upper * np.exp(m)) / (1 + np.exp(m))
            elif np.isfinite(lower):
                out = lower + np.exp(m)
            elif np.isfinite(upper):
                out = upper - np.exp(-m)
            else:
                out = m
        else:
            raise ValueError(f"unknown distribution {self.kind!r}")
        return out


#: Fields of each distribution in a scenario's ``uncertainty.distributions`` (all in the parameter's unit
#: except ``sigma``, the standard deviation of the logarithm).
DISTRIBUTION_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "normal": (("mean", "sd"), ()),
    "lognormal": (("median", "sigma"), ()),
    "uniform": (("low", "high"), ()),
    "triangular": (("low", "mode", "high"), ()),
    "pert": (("low", "mode", "high"), ()),
    "metalog": (("p10", "p50", "p90"), ("lower", "upper")),
}


def distribution_from_spec(raw: Any, unit: str) -> Distribution:
    """A :class:`Distribution` from a scenario entry such as ``{dist: pert, low: .., mode: .., high: ..}``.

    Raises ``ValueError`` with a message naming what is wrong (the caller adds the file and field).
    """
    if not isinstance(raw, Mapping) or "dist" not in raw:
        raise ValueError(
            "expected a mapping with 'dist' (one of " + ", ".join(DISTRIBUTION_FIELDS) + ") and its fields"
        )
    kind = str(raw["dist"]).lower()
    if kind not in DISTRIBUTION_FIELDS:
        raise ValueError(f"unknown dist {raw['dist']!r}; expected one of {', '.join(DISTRIBUTION_FIELDS)}")
    required, optional = DISTRIBUTION_FIELDS[kind]
    extra = set(raw) - {"dist", *required, *optional}
    missing = [name for name in required if name not in raw]
    if missing or extra:
        problem = f"missing {', '.join(missing)}" if missing else f"unknown field {sorted(extra)[0]!r}"
        raise ValueError(f"{kind} takes {', '.join(required + optional)}: {problem}")

    def value(name: str, default: float | None = None) -> float:
        if name not in raw:
            assert default is not None
            return default
        if name == "sigma":
            return parse_quantity(raw[name], "dimensionless")
        try:
            return parse_quantity(raw[name], unit)
        except UnitError as exc:
            raise ValueError(f"{name}: {exc}") from None

    if kind == "metalog":
        params = (*(value(n) for n in required), value("lower", -np.inf), value("upper", np.inf))
    else:
        params = tuple(value(n) for n in required)
    problems = {
        "normal": params[-1] <= 0,
        "lognormal": params[0] <= 0 or params[1] <= 0,
        "uniform": params[0] >= params[-1],
        "triangular": not params[0] <= params[1] <= params[-1] or params[0] >= params[-1],
        "pert": not params[0] <= params[1] <= params[-1] or params[0] >= params[-1],
    }
    if problems.get(kind, False):
        raise ValueError(
            {
                "normal": "sd must be greater than 0",
                "lognormal": "median and sigma must be greater than 0",
                "uniform": "needs low < high",
            }.get(kind, "needs low <= mode <= high with low < high")
        )
    return Distribution(kind, tuple(float(p) for p in params))


def default_kind(spec: ParameterSpec, value: np.ndarray, low: np.ndarray, high: np.ndarray) -> str:
    """The kind (a key of :data:`DEFAULT_KINDS`) a library parameter is drawn by."""
    if spec.bounds == "growth":
        return "growth"
    if "USD" in spec.unit:
        return "cost"
    if spec.bounds in ("fraction", "pue"):
        return "share"
    with np.errstate(divide="ignore", invalid="ignore"):
        wide = np.all(low > 0) and np.all(high >= 3 * low)
    return "wide" if wide else "other"


def default_ppf(kind: str, u: np.ndarray, value: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Draw a library parameter of ``kind`` at quantiles ``u`` (S,) for each of its points.

    ``value``, ``low`` and ``high`` have one entry per point (years, regions); returns ``(S, points)``.
    The few distinct points are looped over (never the samples).
    """
    out = np.empty((u.shape[0], value.size))
    flat = [a.ravel() for a in (value, low, high)]
    seen: dict[tuple[float, float, float], int] = {}
    for k, (v, lo, hi) in enumerate(zip(*flat, strict=True)):
        key = (float(v), float(lo), float(hi))
        if key in seen:
            out[:, k] = out[:, seen[key]]
            continue
        seen[key] = k
        if not hi > lo:
            out[:, k] = v
        elif kind == "growth":
            out[:, k] = two_piece_lognormal_ppf(u, v, lo, hi, shift=-1.0)
        elif kind == "wide":
            out[:, k] = two_piece_lognormal_ppf(u, v, lo, hi)
        else:
            out[:, k] = pert_ppf(u, lo, v, hi)
    return out


# ------------------------------------------------------------------------------------- sampling design


@dataclass(frozen=True)
class Dimension:
    """One column of the design: a parameter of one item, drawn with one quantile per sample."""

    table: str
    parameter: str
    item: str
    kind: str  # a DEFAULT_KINDS key, or "explicit"
    distribution: Distribution | None = None

    @property
    def name(self) -> str:
        return f"{self.table}.{self.item}.{self.parameter}"


def spearman_to_pearson(rho: np.ndarray) -> np.ndarray:
    """The normal-copula correlation that gives Spearman's ``rho``: 2 sin(π ρ / 6)."""
    out: np.ndarray = 2 * np.sin(np.pi * np.asarray(rho) / 6)
    return out


@dataclass
class Design:
    """The sampling design of a run: which parameters are drawn, how, and with what correlations."""

    dimensions: list[Dimension]
    method: str = "lhs"
    seed: int = 0
    #: Samples of the whole run (a Latin hypercube's last block is stratified over what it holds).
    samples: int = DESIGN_BLOCK
    #: Spearman rank correlations between dimensions, by index pair.
    rank_correlations: dict[tuple[int, int], float] = field(default_factory=dict)
    _cholesky: np.ndarray | None = field(default=None, init=False, repr=False)
    _correlated: np.ndarray | None = field(default=None, init=False, repr=False)
    #: The last block drawn: consecutive chunks of a run fall in the same block of the design.
    _last: tuple[int, np.ndarray] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.method not in SAMPLING:
            raise FlopgridError(f"sampling must be one of {', '.join(SAMPLING)}, got {self.method!r}")
        if not self.rank_correlations:
            return
        involved = sorted({i for pair in self.rank_correlations for i in pair})
        where = {dim: k for k, dim in enumerate(involved)}
        matrix = np.eye(len(involved))
        for (i, j), rho in self.rank_correlations.items():
            matrix[where[i], where[j]] = matrix[where[j], where[i]] = spearman_to_pearson(np.array(rho))
        try:
            self._cholesky = np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            raise FlopgridError(
                "uncertainty.correlations: the rank correlations are inconsistent (their matrix is not "
                "positive definite); weaken the strongest ones or drop one of a contradictory triple"
            ) from None
        self._correlated = np.array(involved, dtype=int)

    @property
    def columns(self) -> dict[tuple[str, str, str], int]:
        return {(d.table, d.parameter, d.item): k for k, d in enumerate(self.dimensions)}

    def independent(self, start: int, stop: int) -> np.ndarray:
        """Independent uniforms for samples ``start:stop``, shape ``(stop − start, dimensions)``."""
        d = len(self.dimensions)
        if d == 0 or stop <= start:
            return np.empty((max(stop - start, 0), d))
        if self.method == "sobol":
            engine = qmc.Sobol(d, scramble=True, seed=np.random.default_rng([self.seed, 0x50B]))
            if start:
                engine.fast_forward(start)
            with warnings.catch_warnings():
                # Sobol's balance holds for powers of two; other sizes are still low-discrepancy.
                warnings.simplefilter("ignore", UserWarning)
                sobol: np.ndarray = engine.random(stop - start)
            return sobol
        first, last = start // DESIGN_BLOCK, (stop - 1) // DESIGN_BLOCK
        parts = []
        for block in range(first, last + 1):
            size = max(min(DESIGN_BLOCK, self.samples - block * DESIGN_BLOCK), stop - block * DESIGN_BLOCK)
            size = min(size, DESIGN_BLOCK)
            if self._last is not None and self._last[0] == block and len(self._last[1]) >= size:
                parts.append(self._last[1])
                continue
            rng = np.random.default_rng([self.seed, block])
            if self.method == "lhs":
                parts.append(qmc.LatinHypercube(d, seed=rng).random(size))
            else:
                parts.append(rng.random((size, d)))
            self._last = (block, parts[-1])
        drawn = np.concatenate(parts) if len(parts) > 1 else parts[0]
        offset = first * DESIGN_BLOCK
        out: np.ndarray = drawn[start - offset : stop - offset]
        return out

    def correlate(self, u: np.ndarray) -> np.ndarray:
        """Impose the rank correlations through a Gaussian copula (marginals stay uniform)."""
        if self._cholesky is None or self._correlated is None or u.shape[0] == 0:
            return u
        cols = self._correlated
        z = special.ndtri(np.clip(u[:, cols], _EPS, 1 - _EPS)) @ self._cholesky.T
        out = u.copy()
        out[:, cols] = special.ndtr(z)
        return out

    def uniforms(self, start: int, stop: int) -> np.ndarray:
        return self.correlate(self.independent(start, stop))


def _split_name(name: str, tables: tuple[str, ...]) -> tuple[str, str | None, str]:
    parts = str(name).split(".")
    if len(parts) == 2 and parts[0] in tables:
        return parts[0], None, parts[1]
    if len(parts) == 3 and parts[0] in tables:
        return parts[0], parts[1], parts[2]
    raise ValueError(
        f"expected 'table.parameter' or 'table.item.parameter' (tables: {', '.join(tables)}), got {name!r}"
    )


def explicit_distributions(
    scenario: Scenario, library: Library, lines: Mapping[tuple[Any, ...], int] | None = None
) -> dict[tuple[str, str, str | None], Distribution]:
    """Check and convert a scenario's ``uncertainty.distributions`` → {(table, parameter, item|None)}."""
    from flopgrid.scenario import OVERRIDABLE

    out: dict[tuple[str, str, str | None], Distribution] = {}
    for name, raw in scenario.uncertainty.distributions.items():
        loc = ("uncertainty", "distributions", name)
        try:
            table, item, parameter = _split_name(name, OVERRIDABLE)
            if (table, parameter) not in library.specs:
                choices = library.parameters(table)
                raise ValueError(f"unknown parameter {parameter!r} of {table}.{suggest(parameter, choices)}")
            items = library.ids(table)
            if table == "regions" and item is not None:
                raise ValueError(
                    "a region parameter is drawn with one quantile for every region; give its "
                    f"distribution as regions.{parameter} (and per-region values under parameters)"
                )
            if item is not None and item not in items:
                raise ValueError(f"unknown item {item!r} of {table}.{suggest(item, items)}")
            out[(table, parameter, item)] = distribution_from_spec(
                raw, library.specs[(table, parameter)].unit
            )
        except ValueError as exc:
            line = (lines or {}).get(loc)
            raise ScenarioError(
                str(exc), file=scenario.source_file, path=f"uncertainty.distributions.{name}", line=line
            ) from None
    return out


def correlation_pairs(scenario: Scenario, dimensions: list[Dimension]) -> dict[tuple[int, int], float]:
    """The scenario's rank correlations as pairs of design columns."""
    from flopgrid.scenario import OVERRIDABLE

    pairs: dict[tuple[int, int], float] = {}
    for k, (first, second, rho) in enumerate(scenario.uncertainty.correlations):
        path = f"uncertainty.correlations[{k}]"
        matched = []
        for name in (first, second):
            try:
                table, item, parameter = _split_name(name, OVERRIDABLE)
            except ValueError as exc:
                raise ScenarioError(str(exc), file=scenario.source_file, path=path) from None
            cols = [
                i
                for i, d in enumerate(dimensions)
                if (d.table, d.parameter) == (table, parameter) and item in (None, d.item)
            ]
            if not cols:
                raise ScenarioError(
                    f"{name} is not drawn in this run (it has no range in the library, a value set under "
                    "parameters, or no item in the scenario); give it a distribution under "
                    "uncertainty.distributions",
                    file=scenario.source_file,
                    path=path,
                )
            matched.append(cols)
        if not -1 < rho < 1:
            raise ScenarioError(
                f"a rank correlation must be between -1 and 1 (exclusive), got {rho}",
                file=scenario.source_file,
                path=path,
            )
        for i in matched[0]:
            for j in matched[1]:
                if i != j:
                    pairs[(min(i, j), max(i, j))] = float(rho)
    return pairs


# ------------------------------------------------------------------------------------------ questions

_QUESTION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:@\s*(\d{4}|end))?\s*(>=|<=|>|<|==)?\s*(.*?)\s*$")
#: Variables that are levels at the end of a year (a year must be named); others are flows or
#: horizon figures (without a year: summed over the horizon).
STOCKS = {
    "wafer_capacity", "packaging_capacity", "hbm_supply", "production_cap", "accelerators_installed",
    "accelerators_waiting", "h100e", "flops_peak", "flops_effective", "largest_run",
    "largest_run_distributed", "dc_capacity", "dc_energised", "grid_connection", "firm_power",
    "plant_capacity", "it_power", "facility_power", "dscr", "cash",
}  # fmt: skip


def figure(results: xr.Dataset, expression: str) -> tuple[np.ndarray, str]:
    """One number per sample for ``VARIABLE[@YEAR]`` (summed over regions, items; with no year, over
    the horizon for flows). Returns the values and their unit."""
    match = _QUESTION.match(expression)
    if not match or match.group(3):
        raise FlopgridError(f"{expression!r}: expected a figure such as 'h100e@2030' or 'capex'")
    return _figure(results, match.group(1), match.group(2), expression)


def variable(expression: str) -> str:
    """The Results variable a figure or question is about (``"h100e@2030 >= 5"`` → ``"h100e"``)."""
    match = _QUESTION.match(expression)
    if not match:
        raise FlopgridError(f"{expression!r}: expected a figure such as 'h100e@2030'")
    return match.group(1)


def _figure(results: xr.Dataset, name: str, year: str | None, expression: str) -> tuple[np.ndarray, str]:
    if name not in results.data_vars:
        import difflib

        close = difflib.get_close_matches(name, [str(v) for v in results.data_vars], n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise FlopgridError(f"{expression!r}: unknown figure {name!r}.{hint} Use a Results variable name")
    var = results[name]
    if "flag_values" in var.attrs:
        raise FlopgridError(f"{expression!r}: {name} is a label, not a number")
    if "year" in var.dims:
        if year is None and name in STOCKS:
            raise FlopgridError(
                f"{expression!r}: {name} is a level at the end of each year; name one, e.g. {name}@2030"
            )
        if year is not None:
            years = results.year.values
            at = int(years[-1]) if year == "end" else int(year)
            if at not in years:
                raise FlopgridError(f"{expression!r}: {at} is outside the run's years {years[0]}–{years[-1]}")
            var = var.sel(year=at)
    other = [d for d in var.dims if d != "sample"]
    values = np.asarray(var.sum(other).values if other else var.values, dtype=float)
    return values, str(var.attrs.get("units", ""))


def parse_question(expression: str) -> tuple[str, str | None, str, str]:
    """Split ``"h100e@2030 >= 50e6"`` into (variable, year, operator, right-hand side)."""
    match = _QUESTION.match(expression)
    if not match or not match.group(3) or not match.group(4):
        raise FlopgridError(
            f"{expression!r}: expected a question such as 'h100e@2030 >= 50e6' or 'funding_gap <= 0' "
            "(figure[@year] then one of >=, <=, >, <, == then a number, with a unit if you like)"
        )
    return match.group(1), match.group(2), match.group(3), match.group(4)


def probability(results: xr.Dataset, expression: str) -> dict[str, Any]:
    """P(question) over the samples, with its Monte Carlo standard error.

    Examples
    --------
    >>> import flopgrid
    >>> r = flopgrid.simulate("reference", samples=200, seed=1)
    >>> 0.0 <= probability(r, "h100e@2030 >= 50e6")["probability"] <= 1.0
    True
    """
    name, year, _, _ = parse_question(expression)
    values, unit = _figure(results, name, year, expression)
    return answer(values, unit, expression)


def answer(values: np.ndarray, unit: str, expression: str) -> dict[str, Any]:
    """P(question) from one value per sample of the question's figure (see :func:`probability`)."""
    _, _, op, rhs = parse_question(expression)
    try:
        threshold = float(rhs)
    except ValueError:
        try:
            threshold = parse_quantity(rhs, unit)
        except UnitError as exc:
            raise FlopgridError(f"{expression!r}: the threshold {rhs!r}: {exc}") from None
    with np.errstate(invalid="ignore"):
        hits = {
            ">=": values >= threshold,
            "<=": values <= threshold,
            ">": values > threshold,
            "<": values < threshold,
            "==": values == threshold,
        }[op]
    finite = np.isfinite(values)
    n = int(finite.sum())
    p = float(hits[finite].mean()) if n else float("nan")
    return {
        "question": expression.strip(),
        "probability": p,
        "standard_error": float(np.sqrt(p * (1 - p) / n)) if n else float("nan"),
        "samples": n,
        "threshold": threshold,
        "unit": unit,
    }


# ------------------------------------------------------------------------------- Monte Carlo in chunks

#: Samples per chunk of a chunked run: the chunk's drawn parameters and the kept variables are held
#: while its blocks of samples (``simulate.CHUNK``) run on the worker threads.
MC_CHUNK = 16_384


def monte_carlo(
    scenario: Scenario | str | Path | Mapping[str, Any] | None,
    outputs: list[str],
    samples: int,
    seed: int = 0,
    sampling: str | None = None,
    chunk: int = MC_CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run ``samples`` samples in chunks and keep only the figures named in ``outputs`` (one column
    each, in their unit, e.g. ``"h100e@2030"``), so that memory is bounded by the chunk, not the run.

    Memory bound: the process's fixed part and one chunk (measured peak resident memory ≈ 0.7 GB on
    the seed scenario at the default chunk, the same at 50,000 and 200,000 samples) plus
    ``8 × samples × len(outputs)`` bytes for the kept figures (80 MB a figure at 10 million samples).
    Without a Money figure among ``outputs``, the Money stage is skipped.

    The design is drawn per chunk from the same blocks as an unchunked run, so the numbers equal those
    of :func:`flopgrid.simulate` with the same seed and sampling.
    """
    from flopgrid.simulate import prepare, run_block

    if chunk < 1:
        raise FlopgridError(f"chunk must be at least 1, got {chunk}")
    loaded, params, axes = prepare(scenario, samples=samples, seed=seed, sampling=sampling)
    columns = {name: np.empty(samples) for name in outputs}
    units: dict[str, str] = {}
    keep = {variable(name) for name in outputs}
    for start in range(0, samples, chunk):
        stop = min(start + chunk, samples)
        ds = run_block(loaded, params, axes, start, stop, keep)
        for name in outputs:
            values, units[name] = figure(ds, name)
            columns[name][start:stop] = values
        if progress is not None:
            progress(stop, samples)
    frame = pd.DataFrame(columns)
    frame.index.name = "sample"
    frame.attrs["units"] = units
    return frame


def figure_name(expression: str) -> str:
    """The figure a question is about, as :func:`monte_carlo` names it (``"h100e@2030 >= 5"`` →
    ``"h100e@2030"``)."""
    name, year, _, _ = parse_question(expression)
    return f"{name}@{year}" if year else name


def quantiles(frame: pd.DataFrame, levels: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
    """P5/P50/P95 (by default) and the mean of each figure of a :func:`monte_carlo` frame, with units."""
    table = frame.quantile(list(levels)).T
    table.columns = [f"P{round(level * 100)}" for level in levels]
    table["mean"] = frame.mean()
    table.insert(0, "unit", [frame.attrs.get("units", {}).get(name, "") for name in table.index])
    table.index.name = "figure"
    return table


# ------------------------------------------------------------------------------------------ sensitivity


def indices(
    evaluate: Callable[[np.ndarray], np.ndarray],
    names: list[str],
    method: str = "sobol",
    samples: int = 512,
    seed: int = 0,
    groups: list[str] | None = None,
) -> pd.DataFrame:
    """Global sensitivity of ``evaluate`` (uniforms ``(n, d)`` → outputs ``(n,)``) with SALib.

    Sobol (Saltelli's design, ``samples × (2 g + 2)`` runs for ``g`` groups): first-order ``S1`` and
    total ``ST`` indices with 95% confidence half-widths. Morris (``samples`` trajectories, 4 levels):
    ``mu_star`` (mean absolute elementary effect), its confidence half-width and ``sigma``. Rows are
    ranked by ``ST`` or ``mu_star``.
    """
    from SALib.analyze import morris as morris_analyze  # type: ignore[import-untyped]
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample  # type: ignore[import-untyped]
    from SALib.sample import sobol as sobol_sample

    problem: dict[str, Any] = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    if groups is not None and len(set(groups)) < len(names):
        problem["groups"] = groups
    labels = list(dict.fromkeys(groups)) if "groups" in problem and groups is not None else names
    if method == "sobol":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # N that is not a power of two: noted in docs
            x = sobol_sample.sample(problem, samples, calc_second_order=False, seed=seed)
        y = np.asarray(evaluate(np.clip(x, _EPS, 1 - _EPS)), dtype=float)
        if not np.all(np.isfinite(y)):
            raise FlopgridError("the output is not a finite number in every sample; choose another figure")
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            result = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed)
        frame = pd.DataFrame(
            {
                "driver": labels,
                "S1": result["S1"],
                "S1_conf": result["S1_conf"],
                "ST": result["ST"],
                "ST_conf": result["ST_conf"],
            }
        ).sort_values("ST", ascending=False, kind="stable")
    elif method == "morris":
        x = morris_sample.sample(problem, samples, num_levels=4, seed=seed)
        y = np.asarray(evaluate(np.clip(x, _EPS, 1 - _EPS)), dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            result = morris_analyze.analyze(problem, x, y, num_levels=4, seed=seed)
        frame = pd.DataFrame(
            {
                "driver": list(result["names"]),
                "mu_star": result["mu_star"],
                "mu_star_conf": result["mu_star_conf"],
                "sigma": result["sigma"],
            }
        ).sort_values("mu_star", ascending=False, kind="stable")
    else:
        raise FlopgridError(f"method must be sobol or morris, got {method!r}")
    frame.attrs["runs"] = len(y)
    return frame.reset_index(drop=True)


def sensitivity(
    scenario: Scenario | str | Path | Mapping[str, Any] | None,
    output: str,
    method: str = "sobol",
    samples: int | None = None,
    seed: int = 0,
    top: int = 10,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Which uncertain parameters drive ``output`` (e.g. ``"h100e@2030"``): ranked drivers with SALib
    indices and confidence intervals, and tornado data (the output with each driver at its P10 and P90,
    every other parameter at its median).

    Drivers are the drawn parameters grouped by ``table.parameter`` (all items and regions together).
    With rank correlations, the indices refer to the independent factors before the copula.
    ``progress(done, total)`` is called after each chunk of model runs.
    """
    from flopgrid.parameters import design_for
    from flopgrid.simulate import prepare, run_uniforms

    loaded, params, axes = prepare(scenario, samples=1, seed=seed)
    design = design_for(loaded, params, seed, "random", 1)
    dims = design.dimensions
    if not dims:
        raise FlopgridError(f"{output}: nothing in this scenario is uncertain (no parameter has a range)")
    # Checks the figure's name (against every variable, for the hint) and gives its unit.
    _, unit = figure(run_uniforms(loaded, params, axes, design, np.full((1, len(dims)), 0.5)), output)
    groups = [f"{d.table}.{d.parameter}" for d in dims]
    keep = {variable(output)}

    def evaluate(u: np.ndarray) -> np.ndarray:
        out = np.empty(u.shape[0])
        for start in range(0, u.shape[0], MC_CHUNK):
            stop = min(start + MC_CHUNK, u.shape[0])
            ds = run_uniforms(loaded, params, axes, design, u[start:stop], keep)
            out[start:stop] = figure(ds, output)[0]
            if progress is not None:
                progress(stop, u.shape[0])
        return out

    n = samples or (256 if method == "sobol" else 32)
    ranked = indices(evaluate, [d.name for d in dims], method, n, seed, groups)
    drivers = list(ranked["driver"])[:top]
    rows = np.full((1 + 2 * len(drivers), len(dims)), 0.5)
    for k, name in enumerate(drivers):
        cols = [i for i, g in enumerate(groups) if g == name]
        rows[1 + 2 * k, cols] = 0.1
        rows[2 + 2 * k, cols] = 0.9
    values = evaluate(rows)
    base = float(values[0])
    tornado = pd.DataFrame(
        {
            "driver": drivers,
            "low": values[1::2],
            "high": values[2::2],
        }
    )
    tornado["swing"] = (tornado["high"] - tornado["low"]).abs()
    tornado = tornado.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    return {
        "output": output,
        "unit": unit,
        "method": method,
        "runs": ranked.attrs["runs"],
        "drivers": ranked,
        "tornado": tornado,
        "base": base,
    }
