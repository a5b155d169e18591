"""Errors that users see: each names the file, the field path, what was given and what is expected."""

from __future__ import annotations

import difflib
from typing import Any


class FlopgridError(Exception):
    """Base class of every error flopgrid reports to a user (CLI exit status 2, API 422)."""


class ScenarioError(FlopgridError):
    """A scenario file or a value in it is not what flopgrid expects.

    Parameters
    ----------
    message
        What is wrong and how to fix it.
    file
        The scenario file, when the scenario came from one.
    path
        The field path, e.g. ``builds.fabs[0].capacity``.
    line
        1-based line number in the file, where known.
    """

    def __init__(
        self, message: str, *, file: str | None = None, path: str | None = None, line: int | None = None
    ) -> None:
        self.message = message
        self.file = file
        self.path = path
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.file or "<scenario>"
        if self.line is not None:
            where += f":{self.line}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class LibraryError(FlopgridError):
    """A row of the built-in data library is malformed (a bug in flopgrid's data, or in a user's table)."""


class UnitError(FlopgridError):
    """A quantity could not be parsed or has the wrong dimension."""


def format_path(loc: tuple[Any, ...]) -> str:
    """A field path as users write it: ``builds.fabs[0].capacity``.

    >>> format_path(("builds", "fabs", 0, "capacity"))
    'builds.fabs[0].capacity'
    """
    out = ""
    for part in loc:
        if isinstance(part, int) and out:
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def suggest(word: str, choices: list[str]) -> str:
    """ " Did you mean 'x'?" for the closest choice, or an empty string.

    >>> suggest("fbas", ["fabs", "hbm"])
    " Did you mean 'fabs'?"
    """
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" Did you mean '{close[0]}'?" if close else ""


def clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's union-branch labels (e.g. ``dict[str,...]``) from an error location."""
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
