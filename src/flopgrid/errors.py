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
        # One short line whatever the input: a key, a file name or a message may hold line breaks.
        where = one_line(self.file or "<scenario>", 120)
        if self.line is not None:
            where += f":{self.line}"
        field = f" {one_line(self.path, 120)}:" if self.path else ""
        return f"{where}:{field} {one_line(self.message)}"


class LibraryError(FlopgridError):
    """A row of the built-in data library is malformed (a bug in flopgrid's data, or in a user's table)."""


class UnitError(FlopgridError):
    """A quantity could not be parsed or has the wrong dimension."""


#: Longest echo of a user's input in a message; a message is one short line whatever the input.
ECHO_CHARS = 60
#: Longest message (and field path) shown; longer ones are cut in the middle.
MESSAGE_CHARS = 400


def shorten(value: Any, limit: int = ECHO_CHARS) -> str:
    """``repr(value)`` on one line and at most ``limit`` characters, for echoing input in messages.

    >>> shorten("5 GW")
    "'5 GW'"
    >>> shorten("x" * 100)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' (102 characters)"
    >>> shorten(10**400)
    'a number of 401 digits'
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        # repr() of a huge int is slow, and refused above 4,300 digits.
        return f"a number of {len(str(value)) if value.bit_length() < 14_000 else 'over 4,000'} digits"
    if isinstance(value, str | bytes) and len(value) > 4 * limit:
        value = value[: 4 * limit]  # repr() of a 3 MB string would build 3 MB to show 60 characters
        text = repr(value)
        return f"{text[: limit - 4]}…' (over {4 * limit} characters)"
    text = repr(value) if not isinstance(value, dict | list | tuple) else _short_container(value, limit)
    if len(text) > limit:
        return f"{text[: limit - 4]}…{text[-1]} ({len(text)} characters)"
    return text


def _short_container(value: Any, limit: int) -> str:
    """The start of a container's repr, without building the whole of a large one."""
    text = repr(value) if len(value) < 20 else f"{type(value).__name__} of {len(value)} items"
    return text if len(text) <= 4 * limit else text[: 4 * limit]


def one_line(text: str, limit: int = MESSAGE_CHARS) -> str:
    """``text`` with line breaks and control characters made visible, cut in the middle to ``limit``.

    >>> one_line("a\\nb")
    'a\\\\nb'
    """
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: 4 * limit])
    if len(text) > limit:
        half = limit // 2 - 1
        text = f"{text[:half]} … {text[-half:]}"
    return text


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
