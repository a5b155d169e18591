"""The web app: a REST API (FastAPI) and an interactive dashboard served by the same app.

>>> from flopgrid.web import Settings, create_app
>>> app = create_app(Settings(record=False))
"""

from __future__ import annotations

from flopgrid.web.app import Settings, create_app

__all__ = ["Settings", "create_app"]
