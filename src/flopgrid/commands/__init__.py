"""Command modules of the ``flopgrid`` command line, one per capability.

Each module has ``register(app)``, which adds its commands to the shared Typer app.
"""

from __future__ import annotations

import importlib

import typer

MODULES: tuple[str, ...] = (
    "run",
    "finance",
    "check",
    "library",
    "plan",
    "uncertainty",
    "store",
    "claims",
    "web",
)


def register_all(app: typer.Typer) -> None:
    for name in MODULES:
        importlib.import_module(f"flopgrid.commands.{name}").register(app)
