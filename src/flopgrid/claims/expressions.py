"""The expressions of a claims ledger, evaluated safely over samples with their units.

An expression is Python syntax restricted to ``+ - * /``, ``**`` with a plain number, parentheses,
names (looked up as pint quantities over samples), numbers and quoted quantities (``'8760 hour'``).
It is walked with :mod:`ast`, never passed to ``eval``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any, NoReturn, cast

import numpy as np
import pint

from flopgrid.claims.schema import Q, parse_expression, quantity
from flopgrid.errors import UnitError, shorten
from flopgrid.units import MAX_MAGNITUDE, ureg

BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
#: Largest exponent after ``**`` (a growth over decades: ``(1 + g) ** 30``).
MAX_POWER = 100


def evaluate_expression(
    expr: str, lookup: Callable[[str], Q], samples: int, fail: Callable[[str], NoReturn]
) -> Q:
    """The value of ``expr`` over ``samples`` as a pint quantity (a constant is repeated).

    Parameters
    ----------
    expr
        The expression, e.g. ``"chips * chip_power * pue"``.
    lookup
        Gives the quantity (over samples) of a name.
    samples
        Samples of the run, for a constant expression.
    fail
        Called with a message when the expression is not allowed or its units do not add up.

    Examples
    --------
    >>> def fail(message: str) -> NoReturn:
    ...     raise ValueError(message)
    >>> power = evaluate_expression("2 * p", lambda _: ureg.Quantity(np.array([1.0, 2.0]), "W"), 2, fail)
    >>> power.magnitude.tolist(), str(power.units)
    ([2.0, 4.0], 'watt')
    """

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
            if not abs(node.value) <= MAX_MAGNITUDE:  # also catches inf from a literal such as 1e400
                fail(f"{shorten(expr)}: a number larger than {MAX_MAGNITUDE:g}")
            return float(node.value)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                return quantity(node.value)
            except UnitError as exc:
                fail(str(exc))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, BINARY):
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and not (isinstance(right, float) and abs(right) <= MAX_POWER):
                fail(
                    f"an exponent must be a plain number from -{MAX_POWER} to {MAX_POWER} in {shorten(expr)}"
                )
            try:
                # A ratio over samples may divide by zero in a few of them: those become inf/nan and
                # drop out of the quantiles, rather than stopping the run.
                with np.errstate(divide="ignore", invalid="ignore"):
                    if isinstance(node.op, ast.Add):
                        return left + right
                    if isinstance(node.op, ast.Sub):
                        return left - right
                    if isinstance(node.op, ast.Mult):
                        return left * right
                    if isinstance(node.op, ast.Pow):
                        return left**right
                    return left / right
            except pint.DimensionalityError as exc:
                fail(f"{shorten(expr)} adds or subtracts figures of different units ({exc})")
            except (ZeroDivisionError, OverflowError) as exc:
                # Between plain numbers Python raises instead of giving inf: the figure is not finite.
                fail(f"{shorten(expr)} has no finite value ({exc})")
        fail(
            f"{shorten(expr)}: only + - * / ** of names, numbers and quoted quantities ('8760 hour') "
            "are allowed"
        )

    try:
        tree = parse_expression(expr)
    except SyntaxError as exc:
        fail(f"cannot read the expression {shorten(expr)} ({exc.msg})")
    value = ev(tree)
    if np.ndim(getattr(value, "magnitude", value)) == 0 and not np.isfinite(
        getattr(value, "magnitude", value)
    ):
        fail(f"{shorten(expr)} has no finite value")
    if not isinstance(value, pint.Quantity):
        value = ureg.Quantity(value, "dimensionless")
    if np.ndim(value.magnitude) == 0:
        value = ureg.Quantity(np.full(samples, float(value.magnitude)), value.units)
    return cast(Q, value)
