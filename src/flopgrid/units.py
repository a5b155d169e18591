"""Quantities with units in, model units out.

Users write quantities as text ("5 GW", "43 billion USD", "$100B", "814 mm^2"); they are parsed with pint
once, at the boundary, and converted to the model unit declared for that field. Inside the model every
number is a plain float in its model unit.

Conventions
-----------
- A year is 365 days (8,760 h), so 1 W for a year is 8,760 Wh.
- ``USD`` is real US dollars of the base year (2024).
- Counting units of their own: ``wafer``, ``chip``, ``H100e`` (H100-equivalents), ``FLOP``.
- Carbon is in kg (of CO2e); water in m^3.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import pint

from flopgrid.errors import UnitError

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

_MULTIPLIERS = {
    "thousand": "1e3",
    "million": "1e6",
    "millions": "1e6",
    "billion": "1e9",
    "billions": "1e9",
    "trillion": "1e12",
    "trillions": "1e12",
}
_SUFFIX = {"k": "1e3", "K": "1e3", "M": "1e6", "B": "1e9", "bn": "1e9", "T": "1e12", "tn": "1e12"}
_DOLLAR = re.compile(
    r"^\s*\$\s*([-+]?[0-9][0-9_,]*\.?[0-9]*(?:[eE][-+]?[0-9]+)?)\s*(k|K|M|B|bn|T|tn)?\s*(.*)$"
)
_NUMBER_WORD = re.compile(r"([0-9])\s*(thousand|millions?|billions?|trillions?)\b", flags=re.IGNORECASE)


def _normalise(text: str) -> str:
    """Rewrite money shorthand and number words into pint syntax."""
    text = text.strip()
    match = _DOLLAR.match(text)
    if match:
        number, suffix, rest = match.groups()
        number = number.replace(",", "").replace("_", "")
        scale = f" * {_SUFFIX[suffix]}" if suffix else ""
        rest = rest.strip()
        # "$40/MWh" or "$ 12 M/MW": the rest divides or multiplies the dollars.
        if rest.startswith("/"):
            return f"({number}{scale}) USD {rest}"
        return f"({number}{scale}) USD {rest}".strip()
    text = _NUMBER_WORD.sub(lambda m: f"{m.group(1)} * {_MULTIPLIERS[m.group(2).lower()]}", text)
    text = text.replace("%", " percent")
    text = re.sub(r"(?<=[0-9]),(?=[0-9]{3}\b)", "", text)
    return text


@lru_cache(maxsize=4096)
def _parse(text: str) -> Any:
    return ureg.Quantity(_normalise(text))


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
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise UnitError(f"expected a calendar year such as 2030, got {value!r}")
        return float(value)
    target = ureg.Unit(unit)
    if isinstance(value, bool):
        raise UnitError(f"expected a quantity in {describe_unit(unit)}, got {value!r}")
    if isinstance(value, int | float):
        if target.dimensionless:
            return float(value) * float(ureg.Quantity(1, target).to("dimensionless").magnitude)
        raise UnitError(
            f"expected a quantity with a unit, like '{example(unit)}' ({describe_unit(unit)}); "
            f"got the bare number {value!r}"
        )
    if not isinstance(value, str):
        raise UnitError(f"expected a quantity such as '{example(unit)}', got {type(value).__name__}")
    try:
        quantity = _parse(value)
    except Exception as exc:  # pint raises many exception types for bad text
        raise UnitError(
            f"cannot read {value!r} as a quantity ({exc}); write it like '{example(unit)}'"
        ) from None
    if not isinstance(quantity, pint.Quantity):
        quantity = ureg.Quantity(quantity)
    try:
        return float(quantity.to(target).magnitude)
    except pint.DimensionalityError:
        given = "no unit" if not quantity._units else f"'{quantity.units:~}'"
        raise UnitError(
            f"{value!r} has {given}, but {describe_unit(unit)} is expected, e.g. '{example(unit)}'"
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
        raise UnitError(f"expected a number or a quantity such as '5 GW', got {value!r}")
    if isinstance(value, int | float):
        return ureg.Quantity(float(value))
    try:
        quantity = _parse(value)
    except Exception as exc:  # pint raises many exception types for bad text
        raise UnitError(f"cannot read {value!r} as a quantity ({exc}); write it like '5 GW'") from None
    if not isinstance(quantity, pint.Quantity):
        quantity = ureg.Quantity(quantity)
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
