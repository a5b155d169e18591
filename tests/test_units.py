"""Quantities with units in, model units out."""

from __future__ import annotations

import pytest

from flopgrid.errors import UnitError
from flopgrid.units import check_unit, parse_quantity


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("5 GW", "W", 5e9),
        ("43 billion USD", "USD", 43e9),
        ("$100B", "USD", 100e9),
        ("$7 T", "USD", 7e12),
        ("$40/MWh", "USD/Wh", 40e-6),
        ("814 mm^2", "mm^2", 814.0),
        ("0.1 /cm^2", "1/mm^2", 0.001),
        ("50000 wafer/month", "wafer/year", 600_000.0),
        ("28 billion USD", "USD", 28e9),
        ("1 TB", "GB", 1000.0),
        ("20%", "dimensionless", 0.2),
        ("180 day", "s", 180 * 86400.0),
        ("1 W*year", "Wh", 8760.0),  # a model year is 8,760 h
        ("1,200 MW", "W", 1.2e9),
    ],
)
def test_parse_quantity_converts_to_the_model_unit(text: str, unit: str, expected: float) -> None:
    assert parse_quantity(text, unit) == pytest.approx(expected, rel=1e-12)


def test_bare_numbers_are_accepted_only_for_dimensionless_fields() -> None:
    assert parse_quantity(0.25, "dimensionless") == 0.25
    with pytest.raises(UnitError, match="bare number"):
        parse_quantity(5, "W")


@pytest.mark.parametrize(
    ("text", "unit", "message"),
    [
        ("5 GB", "W", "a power is expected"),
        ("5", "W", "has no unit"),
        ("5 GW", "USD", "an amount of money is expected"),
        ("five gigawatts", "W", "cannot read"),
    ],
)
def test_bad_quantities_say_what_is_expected(text: str, unit: str, message: str) -> None:
    with pytest.raises(UnitError, match=message):
        parse_quantity(text, unit)


def test_memory_is_not_dimensionless() -> None:
    # pint treats bytes as dimensionless by default; flopgrid must not accept "192 GB" as a fraction.
    with pytest.raises(UnitError):
        parse_quantity("192 GB", "dimensionless")


def test_check_unit_gives_the_conversion_factor() -> None:
    assert check_unit("USD/(wafer/month)", "USD/(wafer/year)") == pytest.approx(1 / 12)
    with pytest.raises(UnitError):
        check_unit("GW", "USD")
