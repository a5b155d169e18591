"""The ``flopgrid`` command line: thin, it calls the public API and prints.

Every command takes ``--json``. Bad input exits with status 2 and one message naming the file, line,
field and what is expected; nothing is printed as a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from flopgrid.commands import register_all
from flopgrid.commands.common import app, out
from flopgrid.version import __version__


def _version(value: bool) -> None:
    if value:
        out.print(f"flopgrid {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """flopgrid: model the build-out of AI compute — fabs, chips, data centres, power, money."""


register_all(app)


def main() -> None:
    """Entry point of the ``flopgrid`` script; usage errors exit with status 2 (click's convention)."""
    command: Callable[..., Any] = app
    command()
