"""Verdicts of a ledger's checks, the reasons in words and the evaluation of a whole ledger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pint

from flopgrid.claims.inputs import Inputs
from flopgrid.claims.schema import (
    HIGH_Q,
    IMPLAUSIBLE_FACTOR,
    LOW_Q,
    VERDICTS,
    ClaimsError,
    Ledger,
    Source,
    load_ledger,
    names_in,
    unit_name,
)
from flopgrid.errors import FlopgridError
from flopgrid.units import ureg


@dataclass(frozen=True)
class Range:
    """A figure's range over samples (P5, P50, P95) in ``unit``."""

    low: float
    mid: float
    high: float
    unit: str

    def as_dict(self) -> dict[str, float | str]:
        """The range as JSON: P5, P50, P95 and the unit."""
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
        """As JSON, for ``flopgrid claims --json``."""
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
        """As JSON, for ``flopgrid claims --json``."""
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


def _number(value: float) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.3g} million"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def spread(values: np.ndarray) -> tuple[float, float, float]:
    """P5, P50 and P95 of the finite values (NaN where none is finite)."""
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


def reason_for(check: CheckResult) -> str:
    """The reason of a verdict in words: the stated figure, what it was compared with and how far."""
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
    ev = Inputs(ledger, samples, seed)
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
                    f"{check.expected!r} is in {unit_name(expected.units)}, but {check.quantity} is in "
                    f"{unit_name(ureg.Unit(unit))}",
                )
            e_low, e_mid, e_high = spread(magnitudes)
            internal = not (names_in(check.expected) - set(claim.stated))
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
                    *spread(np.asarray(value_q.to(spec.unit).magnitude, dtype=float)), spec.unit
                )
            except pint.DimensionalityError:
                ev.fail(
                    loc,
                    f"{spec.expr!r} is in {unit_name(value_q.units)}, which cannot be shown in {spec.unit}",
                )
        worst = max(checks, key=lambda c: (VERDICTS.index(c.verdict), c.factor))
        reason = reason_for(worst)
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
