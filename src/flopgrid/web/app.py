"""The FastAPI application: the REST API under ``/api`` and the dashboard at ``/``.

The app is thin: it validates requests, calls the public API (``load_scenario``, ``simulate``, the
planner, the run store) and shapes JSON. Each area has its router in :mod:`flopgrid.web.routes`; what
they share (settings, jobs, the run store, caches) is a :class:`~flopgrid.web.state.Services` on
``app.state``. Its safety rules:

- request bodies are capped (``max_body``), uploads are YAML text (never a server path);
- synchronous runs take at most ``max_sync_samples`` samples, jobs at most ``max_job_samples``, and
  at most ``max_jobs`` jobs wait or run at once;
- with a ``token``, every ``/api`` call must carry it (``Authorization: Bearer T`` or
  ``X-Flopgrid-Token: T``); the OpenAPI schema declares both schemes; without one, only requests
  whose ``Host`` is a loopback name are answered (DNS rebinding);
- scenarios sent by clients are read in worker processes with a time and memory limit
  (:mod:`flopgrid.web.sandbox`), synchronous simulations stop past a time limit, and runs with more
  samples than the store can read back are not recorded;
- bad input is a 422 whose ``detail`` lists ``loc`` (the field), ``msg`` and, for scenario fields,
  ``line``.

The API's documentation pages (``/docs``: Swagger UI, ``/redoc``: ReDoc) load their scripts and styles
from this server (the files the ``fastapi-offline`` package ships, :data:`DOCS_ASSETS`), never from a
CDN, so they work without a network.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route, compile_path

import flopgrid
from flopgrid.errors import FlopgridError
from flopgrid.web.auth import require_token
from flopgrid.web.http import Guard, Problem, SafeJSONResponse, error_detail, responses, unprocessable
from flopgrid.web.jobs import QueueFull
from flopgrid.web.routes import answers, atlas, jobs, meta, runs, store
from flopgrid.web.runs import RunsUnavailable
from flopgrid.web.sandbox import SandboxBusy
from flopgrid.web.state import (
    CACHE_BYTES,
    CACHE_ITEMS,
    MAX_BODY,
    MAX_JOB_SAMPLES,
    MAX_SYNC_SAMPLES,
    RENDERED_BYTES,
    Services,
    Settings,
    app_services,
)
from flopgrid.web.views import run_view

__all__ = [
    "CACHE_BYTES",
    "CACHE_ITEMS",
    "DOCS_ASSETS",
    "DOCS_PATH",
    "MAX_BODY",
    "MAX_JOB_SAMPLES",
    "MAX_SYNC_SAMPLES",
    "RENDERED_BYTES",
    "STATIC",
    "Settings",
    "create_app",
    "plotly_path",
    "run_view",
]

STATIC = resources.files("flopgrid.web").joinpath("static")
#: The package whose files are Swagger UI 5 (``swagger-ui-bundle.js``, ``swagger-ui.css``), ReDoc 2
#: (``redoc.standalone.js``) and a favicon, in its ``static`` folder (a dependency of flopgrid).
DOCS_ASSETS = "fastapi_offline"
#: Where the documentation assets are served.
DOCS_PATH = "/docs-assets"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    services = app_services(app)
    # The scenario readers start in the background: the server answers at once, uploads soon.
    threading.Thread(target=services.sandbox.warm, name="flopgrid-warm", daemon=True).start()
    yield
    services.close()


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = []
    for error in exc.errors():
        entry = {k: error[k] for k in ("loc", "msg", "type") if k in error}
        entry["loc"] = list(entry.get("loc", []))
        details.append(entry)
    return unprocessable(*details)


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return SafeJSONResponse({"detail": exc.message}, status_code=exc.status)


async def _flopgrid(request: Request, exc: Exception) -> Response:
    if isinstance(exc, (QueueFull, SandboxBusy)):
        return SafeJSONResponse({"detail": str(exc)}, status_code=429)
    if isinstance(exc, RunsUnavailable):
        return SafeJSONResponse({"detail": str(exc)}, status_code=404)
    assert isinstance(exc, FlopgridError)
    source = "yaml" if getattr(exc, "file", None) == "upload.yaml" else "scenario"
    return unprocessable(error_detail(exc, source=source))


async def _not_allowed(request: Request, exc: Exception) -> Response:
    """A 405 whose ``Allow`` lists every method of the path: Starlette lists only those of the first
    route that matched it (``GET`` for ``/api/runs/{run_id}``, which also has ``DELETE``)."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code != 405:
        return await http_exception_handler(request, exc)
    allowed: set[str] = set()
    for route in request.app.routes:
        # PARTIAL: the path matches and the method does not (FULL cannot happen in a 405).
        if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE:
            allowed |= set(route.methods or ())
    # The API's routes sit inside included routers: their paths and methods are the schema's.
    for path, item in request.app.openapi()["paths"].items():
        if compile_path(path)[0].fullmatch(request.url.path):
            allowed |= {method.upper() for method in item}
    allow = ", ".join(sorted(allowed)) or (exc.headers or {}).get("Allow", "")
    return SafeJSONResponse(
        {"detail": f"{request.method} is not allowed here; use {allow}"},
        status_code=405,
        headers={"Allow": allow},
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The flopgrid web app.

    Parameters
    ----------
    settings
        Limits, the token and the run store; the defaults of :class:`Settings` when None.

    Examples
    --------
    >>> from flopgrid.web import create_app, Settings
    >>> app = create_app(Settings(record=False))
    """
    settings = settings or Settings()
    app = FastAPI(
        lifespan=_lifespan,
        title="flopgrid",
        version=flopgrid.__version__,
        description="Model the build-out of AI compute: simulate scenarios, run the planner and Monte "
        "Carlo jobs, browse the run store. Quantities are in base units (W, Wh, USD of 2024, FLOP/s) "
        "unless a column name says otherwise.",
        default_response_class=SafeJSONResponse,
        # The documentation pages are served below, with their assets from this server.
        docs_url=None,
        redoc_url=None,
    )
    services = Services(settings)
    app.state.services = services
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(StarletteHTTPException, _not_allowed)
    app.add_exception_handler(FlopgridError, _flopgrid)
    # With a token, every API router goes through the token check (no /api route can be added
    # without it) and the schema declares the schemes; without one, the schema declares none, and
    # the Host check (Guard) answers what a token would (400 rather than 401).
    common = responses(401, 413) if settings.token is not None else responses(400, 413)
    checks = [Depends(require_token)] if settings.token is not None else []
    for area in (meta, runs, jobs, store, answers, atlas):
        app.include_router(area.router, prefix="/api", dependencies=checks, responses=common)

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(STATIC.joinpath("index.html").read_text("utf-8"))

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(plotly_path(), media_type="application/javascript")

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    add_docs(app)
    app.add_middleware(Guard, max_body=settings.max_body, loopback_only=settings.token is None)
    return app


def add_docs(app: FastAPI) -> None:
    """Serve ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) with every script, style and icon from this
    server (FastAPI's recipe for self-hosting the docs' JavaScript and CSS), so they work offline."""
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"
    if importlib.util.find_spec(DOCS_ASSETS) is None:
        # Never a CDN instead: say what is missing (the API itself works without the pages).
        missing = (
            "<!DOCTYPE html><title>flopgrid API docs</title><p>The API's documentation pages need the "
            f"<code>fastapi-offline</code> package (<code>pip install fastapi-offline</code>). The "
            f'schema is at <a href="{openapi_url}">{openapi_url}</a>.</p>'
        )
        for path in ("/docs", "/redoc"):
            app.add_api_route(path, lambda: HTMLResponse(missing, status_code=503), include_in_schema=False)
        return
    folder = resources.files(DOCS_ASSETS).joinpath("static")
    app.mount(DOCS_PATH, StaticFiles(directory=str(folder)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{oauth2_redirect}",
            swagger_js_url=f"{root}{DOCS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_PATH}/favicon.png",
            # No validator badge: Swagger UI would send the schema to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_PATH}/favicon.png",
            with_google_fonts=False,
        )


def plotly_path() -> Path:
    """The plotly.js bundle that ships inside the ``plotly`` Python package (served, never fetched)."""
    return Path(str(resources.files("plotly").joinpath("package_data", "plotly.min.js")))
