"""Command modules of the ``flopgrid`` command line, one per capability.

Each module has ``register(app)``, which adds its commands to the shared Typer app.
"""

from __future__ import annotations

import typer

from flopgrid.commands import (
    atlas,
    check,
    claims,
    figures,
    finance,
    library,
    plan,
    run,
    store,
    uncertainty,
    web,
)

#: In the order their commands appear in ``flopgrid --help``.
MODULES = (run, figures, finance, check, library, atlas, plan, uncertainty, store, claims, web)


def register_all(app: typer.Typer) -> None:
    """Add every capability's commands to the app, in the order of ``flopgrid --help``."""
    for module in MODULES:
        module.register(app)
