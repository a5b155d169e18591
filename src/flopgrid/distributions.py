"""Distributions and sampling designs: the low-level draws every engine shares.

- **Distributions.** Every library parameter with ``low < high`` is drawn from a default distribution
  chosen by its kind (:data:`DEFAULT_KINDS`, :func:`default_kind`); a scenario's ``uncertainty:``
  section may give any parameter an explicit one (normal, lognormal, uniform, triangular, PERT, or a
  metalog through its 10th/50th/90th percentiles), read by :func:`distribution_from_spec`.
- **Sampling.** One column of uniforms per drawn (table, parameter, item), from a Latin hypercube, a
  scrambled Sobol sequence or plain random numbers (``scipy.stats.qmc``), seeded; the design is made in
  blocks of :data:`DESIGN_BLOCK` samples so any chunk of a run can be drawn on its own and chunked and
  unchunked runs see the same numbers. Rank correlations go through a Gaussian copula.

This module is part of the core: it imports nothing of flopgrid but errors, units and the library, so
that the scenario schema can check an ``uncertainty:`` section without an engine.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from scipy import special
from scipy.stats import qmc

from flopgrid.errors import FlopgridError, UnitError, shorten
from flopgrid.library import ParameterSpec
from flopgrid.units import parse_quantity

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
    "cost": "split PERT(low, value, high): costs and prices (USD in the unit) are bounded expert ranges "
    "with the library value as the median (and the mode)",
    "share": "split PERT(low, value, high): fractions and PUE stay inside their bounds",
    "wide": "two-piece lognormal: median at value, P5/P95 at low/high, for positive quantities whose "
    "range spans a factor of 3 or more (capacities, fleets, grid additions)",
    "other": "split PERT(low, value, high): every other physical or technical parameter",
}
#: Quantiles are kept this far inside (0, 1), where normal and beta inverses are finite.
EPS = 1e-12


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


def split_pert_ppf(u: np.ndarray, low: float, median: float, high: float) -> np.ndarray:
    """A PERT split at its median: half the probability on each side of ``median``, each side the half
    of a symmetric PERT (Beta(3, 3)) that reaches ``low`` or ``high``.

    The library value of a parameter is its central estimate, so it is the median of its default
    distribution (and the mode): the deterministic run, at every input's median, then runs at the library
    values, however lopsided a range is. A plain PERT with the value as its mode would move the median
    towards the longer side.
    """
    u = np.asarray(u, dtype=float)
    return split_pert_scaled(u, split_pert_shape(u), low, median, high)


def split_pert_shape(u: np.ndarray) -> np.ndarray:
    """How far into its side of the median each quantile of a split PERT lies, in [0, 1): the part of
    :func:`split_pert_ppf` that depends on ``u`` alone (one table look-up for every point drawn at ``u``)."""
    # q in [0, 1): how far into its side the quantile lies; half of Beta(3, 3) above its centre.
    q = np.abs(2.0 * np.asarray(u, dtype=float) - 1.0)
    g: np.ndarray = np.where(q > 0, 2.0 * beta_ppf(0.5 + q / 2.0, 3.0, 3.0) - 1.0, 0.0)
    return g


def split_pert_scaled(u: np.ndarray, g: np.ndarray, low: float, median: float, high: float) -> np.ndarray:
    """:func:`split_pert_ppf` from its shape ``g`` (:func:`split_pert_shape` of ``u``)."""
    out: np.ndarray = np.where(u < 0.5, median - (median - low) * g, median + (high - median) * g)
    return out


def triangular_ppf(u: np.ndarray, low: float, mode: float, high: float) -> np.ndarray:
    """Quantiles of the triangular distribution (low, mode, high) at probabilities ``u``."""
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
    return two_piece_lognormal_scaled(u, normal_scores(u), median, p5, p95, shift)


def normal_scores(u: np.ndarray) -> np.ndarray:
    """Standard normal quantiles of ``u``, clipped off 0 and 1: the part of
    :func:`two_piece_lognormal_ppf` that depends on ``u`` alone."""
    z: np.ndarray = special.ndtri(np.clip(u, EPS, 1 - EPS))
    return z


def two_piece_lognormal_scaled(
    u: np.ndarray, z: np.ndarray, median: float, p5: float, p95: float, shift: float = 0.0
) -> np.ndarray:
    """:func:`two_piece_lognormal_ppf` from the normal scores ``z`` of ``u`` (:func:`normal_scores`)."""
    base = median - shift
    if base <= 0 or p5 - shift <= 0:
        return pert_ppf(u, p5, median, p95)
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
        u = np.clip(np.asarray(u, dtype=float), EPS, 1 - EPS)
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
        raise ValueError(
            f"unknown dist {shorten(raw['dist'])}; expected one of {', '.join(DISTRIBUTION_FIELDS)}"
        )
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
        try:
            return parse_quantity(raw[name], "dimensionless" if name == "sigma" else unit)
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
    # What depends on u alone is computed once for all the points (the look-up of a quantile is most of
    # a draw's cost).
    shape: np.ndarray | None = None
    for k, (v, lo, hi) in enumerate(zip(*flat, strict=True)):
        key = (float(v), float(lo), float(hi))
        if key in seen:
            out[:, k] = out[:, seen[key]]
            continue
        seen[key] = k
        if not hi > lo:
            out[:, k] = v
            continue
        if shape is None:
            shape = normal_scores(u) if kind in ("growth", "wide") else split_pert_shape(u)
        if kind == "growth":
            out[:, k] = two_piece_lognormal_scaled(u, shape, v, lo, hi, shift=-1.0)
        elif kind == "wide":
            out[:, k] = two_piece_lognormal_scaled(u, shape, v, lo, hi)
        else:
            out[:, k] = split_pert_scaled(u, shape, lo, v, hi)
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
    #: The central design of a deterministic run: every dimension at its median (quantile ½).
    central: bool = False
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

    @cached_property
    def columns(self) -> dict[tuple[str, str, str], int]:
        """The column of each (table, parameter, item) drawn (computed once: it is read per parameter)."""
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
        z = special.ndtri(np.clip(u[:, cols], EPS, 1 - EPS)) @ self._cholesky.T
        out = u.copy()
        out[:, cols] = special.ndtr(z)
        return out

    def uniforms(self, start: int, stop: int) -> np.ndarray:
        """Correlated uniforms of samples ``start`` to ``stop`` (one column per dimension); ½ in every
        column of a central design."""
        if self.central:
            return np.full((max(stop - start, 0), len(self.dimensions)), 0.5)
        return self.correlate(self.independent(start, stop))
