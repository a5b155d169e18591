"""Published claims checked against the model and the data library.

A **claims ledger** is YAML: each claim quotes its source shortly, states its quantities with units and
names one or more **checks**, each comparing a stated quantity with what an expression over the
claim's other figures, the data library and the model says it should be. Every input is sampled on
the simulator's one sampling path (library rows are the parameter draws of a simulator run, PERT or
two-piece lognormal by kind or as the scenario's ``uncertainty:`` gives them, and a claim's library
inputs are those of its own model run; reference figures and stated ranges follow the same default
rule; model figures are the samples of ``simulate(scenario, samples=N)``), so an expected value is a
range (P5–P95), not a point.

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

from flopgrid.claims.draws import LibraryDraws, draw_range
from flopgrid.claims.schema import (
    IMPLAUSIBLE_FACTOR,
    TOLERANCE,
    VERDICTS,
    Claim,
    ClaimsError,
    Ledger,
    load_ledger,
    shipped_ledgers,
)
from flopgrid.claims.verdicts import CheckResult, ClaimResult, Range, evaluate, show, verdict_for

__all__ = [
    "IMPLAUSIBLE_FACTOR",
    "TOLERANCE",
    "VERDICTS",
    "CheckResult",
    "Claim",
    "ClaimResult",
    "ClaimsError",
    "Ledger",
    "LibraryDraws",
    "Range",
    "draw_range",
    "evaluate",
    "load_ledger",
    "shipped_ledgers",
    "show",
    "verdict_for",
]
