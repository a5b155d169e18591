"""Quantities with units in, model units out.

Users write quantities as text ("5 GW", "43 billion USD", "$100B", "814 mm^2"); they are read once, at the
boundary, by a small grammar (a number, an optional number word, unit names joined by ``*``, ``/`` and
small integer powers; never pint's expression evaluator, which would compute ``9**9**9``), and
converted to the model unit declared for that field. Inside the model every number is a plain float in
its model unit, finite and at most ``MAX_MAGNITUDE``.

Conventions
-----------
- A year is 365 days (8,760 h), so 1 W for a year is 8,760 Wh.
- ``USD`` is real US dollars of the base year (2024).
- Counting units of their own: ``wafer``, ``chip``, ``H100e`` (H100-equivalents), ``FLOP``.
- Carbon is in kg (of CO2e); water in m^3.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any, NoReturn

import pint

from flopgrid.errors import UnitError, shorten

ureg: Any = pint.UnitRegistry(on_redefinition="ignore")
# pint counts bits as dimensionless; memory must not be confused with a plain number. Defined first,
# before pint caches the prefixed forms (GB, TB).
ureg.define("byte = [memory] = B")
# Energy statistics (IEA, LBNL, EIA) count a year as 8,760 h; pint's default is the Julian year.
ureg.define("year = 365 * day = a = yr")
ureg.define("USD = [currency] = dollar = usd")
ureg.define("wafer = [wafer] = wafers")
ureg.define("chip = [chip] = chips = unit_chip")
ureg.define("H100e = [h100e]")
ureg.define("FLOP = [flop] = flop")

CALENDAR_YEAR = "calendar year"
#: Longest quantity text read ("43 billion USD/(wafer/year)" is 27 characters); longer text is refused
#: before it is parsed, so reading a quantity takes bounded time.
MAX_QUANTITY_CHARS = 100
#: Largest exponent of a unit ("mm^2", "m^3"); pint would evaluate any power, even ``9**9**9``.
MAX_EXPONENT = 4
#: Largest magnitude accepted in any model unit. Products of a few such figures (chips x FLOP/s x hours)
#: stay finite in float64, so no input can turn a run's sums into inf or NaN.
MAX_MAGNITUDE = 1e30

_MULTIPLIERS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_SUFFIX = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "bn": 1e9, "T": 1e12, "tn": 1e12}
_NUMBER = r"[-+]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9][0-9_]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_WORD = r"(?:\s*(?P<word>(?i:thousand|millions?|billions?|trillions?))\b)?"
_DOLLAR = re.compile(rf"\$\s*(?P<number>{_NUMBER})\s*(?P<suffix>bn|tn|[kKMBT])?{_WORD}(?P<rest>.*)", re.S)
_PLAIN = re.compile(rf"(?P<number>{_NUMBER}){_WORD}(?P<rest>.*)", re.S)
_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*|1(?![0-9.]))|(?P<power>\*\*|\^)|(?P<op>[*/()]))")


class _Units:
    """A unit expression read by a small grammar: names, ``*``, ``/``, parentheses and ``^`` or ``**``
    with a small integer exponent (pint's own parser evaluates arbitrary Python arithmetic)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> NoReturn:
        raise UnitError(f"{what} at character {self.pos + 1} of the unit")

    def peek(self) -> re.Match[str] | None:
        return _TOKEN.match(self.text, self.pos)

    def expression(self, depth: int = 0) -> Any:
        if depth > 3:
            self.fail("parentheses nested too deeply")
        unit = ureg.Unit("dimensionless")
        divide = False
        first = True
        while True:
            token = self.peek()
            if token is None or token.group("op") == ")":
                if first and not divide:
                    self.fail("expected a unit name")
                return unit
            if token.group("op") in ("*", "/"):
                if first and token.group("op") == "*":
                    self.fail("expected a unit name")
                divide = token.group("op") == "/"
                self.pos = token.end()
                token = self.peek()
            elif not first:
                divide = False  # "kW h": a space multiplies, as in pint
            factor = self.factor(token, depth)
            unit = unit / factor if divide else unit * factor
            first = False
            divide = False

    def factor(self, token: re.Match[str] | None, depth: int) -> Any:
        if token is not None and token.group("name"):
            self.pos = token.end()
            base = _unit(token.group("name"))
        elif token is not None and token.group("op") == "(":
            self.pos = token.end()
            base = self.expression(depth + 1)
            close = self.peek()
            if close is None or close.group("op") != ")":
                self.fail("expected ')'")
            self.pos = close.end()
        else:
            self.fail("expected a unit name")
        power = self.peek()
        if power is None or not power.group("power"):
            return base
        exponent = re.compile(r"\s*(\(?)\s*(-?[0-9]+)\s*(\)?)").match(self.text, power.end())
        if exponent is None or bool(exponent.group(1)) != bool(exponent.group(3)):
            self.fail("expected a whole-number exponent")
        value = int(exponent.group(2)[:4])
        if abs(value) > MAX_EXPONENT:
            self.fail(f"exponent {exponent.group(2)[:8]} is too large (at most {MAX_EXPONENT})")
        self.pos = exponent.end()
        return base**value

    def read(self) -> Any:
        unit = self.expression()
        if self.text[self.pos :].strip():
            self.fail("unexpected text")
        return unit


@lru_cache(maxsize=1024)
def _unit(name: str) -> Any:
    """One unit by name ("GW", "wafer", "percent"; "1" as in "1/year", the form quantities are dumped in)."""
    if name == "1":
        return ureg.Unit("dimensionless")
    try:
        return ureg.Unit(name)
    except Exception:  # pint raises several types for an unknown name
        raise UnitError(f"{name!r} is not a unit flopgrid knows") from None


def parse_unit(text: str) -> Any:
    """A unit expression such as ``"USD/(wafer/year)"`` or ``"mm^2"``, read with the safe grammar.

    Raises
    ------
    UnitError
        For text longer than :data:`MAX_QUANTITY_CHARS`, an unknown name, a large or fractional
        exponent, or anything but names, ``*``, ``/``, parentheses and ``^``/``**``.

    Examples
    --------
    >>> str(parse_unit("USD/(W*year)"))
    'USD / watt / year'
    """
    if len(text) > MAX_QUANTITY_CHARS:
        raise UnitError(f"a unit of {len(text):,} characters; at most {MAX_QUANTITY_CHARS} are read")
    return _Units(text.replace("%", " percent ")).read()


def _number(text: str, word: str | None, scale: float = 1.0) -> float:
    value = float(text.replace(",", "").replace("_", "")) * scale
    if word:
        value *= _MULTIPLIERS[word.lower().rstrip("s")]
    return value


@lru_cache(maxsize=4096)
def _parse(text: str) -> Any:
    """Text such as "5 GW", "$100B", "43 billion USD" or "10%/year" as a pint Quantity."""
    text = text.strip()
    dollar = _DOLLAR.fullmatch(text)
    if dollar:
        suffix = dollar.group("suffix")
        scale = _SUFFIX[suffix] if suffix else 1.0
        number = _number(dollar.group("number"), dollar.group("word"), scale)
        # "$40/MWh" or "$ 12 M/MW": the rest divides or multiplies the dollars.
        rest = dollar.group("rest").strip()
        unit = ureg.Unit("USD") * parse_unit(rest) if rest else ureg.Unit("USD")
    else:
        plain = _PLAIN.fullmatch(text)
        if plain is None:
            raise UnitError("expected a number first")
        number = _number(plain.group("number"), plain.group("word"))
        rest = plain.group("rest").strip()
        unit = parse_unit(rest) if rest else ureg.Unit("dimensionless")
    if not math.isfinite(number):
        raise UnitError("the number is too large")
    return ureg.Quantity(number, unit)


def _read(value: str, expected: str) -> Any:
    """``value`` read with :func:`_parse`; a UnitError that quotes it (shortened) otherwise."""
    if len(value) > MAX_QUANTITY_CHARS:
        raise UnitError(
            f"a quantity of {len(value):,} characters; at most {MAX_QUANTITY_CHARS} are read "
            f"(write it like '{expected}')"
        )
    try:
        return _parse(value)
    except UnitError as exc:
        raise UnitError(
            f"cannot read {shorten(value)} as a quantity ({exc}); write it like '{expected}'"
        ) from None


def _finite(value: float, given: Any) -> float:
    """``value`` when it is finite and at most :data:`MAX_MAGNITUDE`; else a UnitError."""
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise UnitError(
            f"{shorten(given)} is not a finite quantity of at most {MAX_MAGNITUDE:g} in model units"
        )
    return value


def parse_quantity(value: Any, unit: str) -> float:
    """Convert a user's quantity to the magnitude in ``unit``.

    Parameters
    ----------
    value
        A string with a unit ("5 GW", "$100B", "0.1 /cm^2"), or a bare number when ``unit`` is
        dimensionless or a calendar year.
    unit
        The model unit to convert to, e.g. ``"W"``, ``"USD/(wafer/year)"``.

    Returns
    -------
    float
        The magnitude in ``unit``.

    Raises
    ------
    UnitError
        When the text does not parse, the unit is missing, or the dimension differs from ``unit``'s.

    Examples
    --------
    >>> parse_quantity("5 GW", "W")
    5000000000.0
    >>> parse_quantity("$100B", "USD")
    100000000000.0
    """
    if unit == CALENDAR_YEAR:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value != int(value)
            or abs(value) > 1e6
        ):
            raise UnitError(f"expected a calendar year such as 2030, got {shorten(value)}")
        return float(value)
    target = ureg.Unit(unit)
    if isinstance(value, bool):
        raise UnitError(f"expected a quantity in {describe_unit(unit)}, got {value!r}")
    if isinstance(value, int | float):
        if target.dimensionless:
            if isinstance(value, int) and abs(value) > MAX_MAGNITUDE:
                raise UnitError(f"{shorten(value)} is larger than {MAX_MAGNITUDE:g}")
            factor = float(ureg.Quantity(1, target).to("dimensionless").magnitude)
            return _finite(float(value) * factor, value)
        raise UnitError(
            f"expected a quantity with a unit, like '{example(unit)}' ({describe_unit(unit)}); "
            f"got the bare number {shorten(value)}"
        )
    if not isinstance(value, str):
        raise UnitError(f"expected a quantity such as '{example(unit)}', got {type(value).__name__}")
    quantity = _read(value, example(unit))
    try:
        return _finite(float(quantity.to(target).magnitude), value)
    except pint.DimensionalityError:
        given = "no unit" if str(quantity.units) == "dimensionless" else f"'{quantity.units:~}'"
        raise UnitError(
            f"{shorten(value)} has {given}, but {describe_unit(unit)} is expected, e.g. '{example(unit)}'"
        ) from None


def read_quantity(value: Any) -> Any:
    """A user's quantity as a pint Quantity in the unit it was written in (no target unit needed).

    Parameters
    ----------
    value
        Text with or without a unit ("5 GW", "43 billion USD", "$100B", "2 %/year", "0.05"), or a
        number (dimensionless).

    Returns
    -------
    pint.Quantity
        Convert it with ``.to(unit)``; ``.dimensionless`` says whether a unit was given.

    Raises
    ------
    UnitError
        When the value is not a number or text that pint reads as a quantity.

    Examples
    --------
    >>> read_quantity("43 billion USD").to("USD").magnitude
    43000000000.0
    >>> read_quantity(0.5).dimensionless
    True
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UnitError(f"expected a number or a quantity such as '5 GW', got {shorten(value)}")
    if isinstance(value, int | float):
        if isinstance(value, int) and abs(value) > MAX_MAGNITUDE:
            raise UnitError(f"{shorten(value)} is larger than {MAX_MAGNITUDE:g}")
        return ureg.Quantity(_finite(float(value), value))
    quantity = _read(value, "5 GW")
    _finite(float(quantity.magnitude), value)
    return quantity


def check_unit(unit: str, model_unit: str) -> float:
    """Return the factor that converts one ``unit`` into ``model_unit``; raise if the dimensions differ."""
    if unit == CALENDAR_YEAR or model_unit == CALENDAR_YEAR:
        if unit != model_unit:
            raise UnitError(f"unit {unit!r} given where {model_unit!r} is expected")
        return 1.0
    try:
        return float(ureg.Quantity(1.0, unit).to(model_unit).magnitude)
    except pint.DimensionalityError:
        raise UnitError(f"unit {unit!r} cannot be converted to {model_unit!r}") from None
    except Exception as exc:
        raise UnitError(f"unknown unit {unit!r} ({exc})") from None


_EXAMPLES = {
    "W": "5 GW",
    "USD": "43 billion USD",
    "mm^2": "814 mm^2",
    "wafer/year": "50000 wafer/month",
    "GB/year": "2e9 GB/year",
    "W/year": "5 GW/year",
    "year": "3 year",
    "1/year": "6.5%/year",
    "USD/hour": "2 USD/hour",
    "1/FLOP": "7e-12 /FLOP",
    "s": "180 day",
    "chip": "2e6 chip",
    "USD/W": "11.7 million USD/MW",
}


def example(unit: str) -> str:
    """A short example of a quantity in ``unit``'s dimension, for error messages."""
    if unit in _EXAMPLES:
        return _EXAMPLES[unit]
    if unit == CALENDAR_YEAR:
        return "2030"
    return f"1 {unit}"


def describe_unit(unit: str) -> str:
    """Plain words for a unit's dimension, for error messages."""
    if unit == CALENDAR_YEAR:
        return "a calendar year"
    dims = ureg.Unit(unit).dimensionality
    names = {
        "[mass] * [length] ** 2 / [time] ** 3": "a power",
        "[currency]": "an amount of money",
        "[length] ** 2": "an area",
        "[time]": "a duration",
        "1 / [time]": "a rate per year",
        "": "a plain number (fraction)",
    }
    return names.get(str(dims), f"a quantity in {unit}")
