"""The web app: a REST API (FastAPI) and an interactive dashboard served by the same app.

``flopgrid.charts`` (the figures, shared with the standalone report) does not need FastAPI; the
app is imported on first use of :func:`create_app` or :class:`Settings`.

>>> from flopgrid.web import Settings, create_app
>>> app = create_app(Settings(record=False))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flopgrid.web.app import Settings, create_app

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from flopgrid.web import app

        return getattr(app, name)
    raise AttributeError(name)
