"""Errors that users see: each names the file, the field path, what was given and what is expected."""

from __future__ import annotations


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
