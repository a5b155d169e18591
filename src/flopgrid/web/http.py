"""HTTP plumbing of the web app: JSON without NaN, 422 details that name the field, and the ASGI
middleware that checks the ``Host`` header and caps request bodies (the token is checked by
:func:`flopgrid.web.auth.require_token`)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from flopgrid.errors import FlopgridError, ScenarioError
from flopgrid.jsonable import jsonable
from flopgrid.web.assumptions import AssumptionError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# ------------------------------------------------------------------------------------------- JSON


class SafeJSONResponse(JSONResponse):
    """A JSON response that cleans its content first (numpy values, NaN and infinities as null)."""

    def render(self, content: Any) -> bytes:
        """The content as JSON bytes, through :func:`flopgrid.jsonable.jsonable`."""
        return super().render(jsonable(content))


def json_bytes(data: Any) -> bytes:
    """The JSON body the API sends for ``data`` (NaN as null)."""
    return bytes(SafeJSONResponse(data).body)


# ----------------------------------------------------------------------------------------- errors


#: Fields of a request (not of a scenario) that errors may name.
REQUEST_FIELDS = ("samples", "kind", "sweep", "scenario")


def _split_path(path: str | None) -> list[str | int]:
    """``builds.fabs[0].capacity`` → ``["builds", "fabs", 0, "capacity"]``."""
    parts: list[str | int] = []
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", path or ""):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return parts


def error_detail(
    exc: FlopgridError, prefix: tuple[str | int, ...] = ("body",), source: str = "scenario"
) -> dict[str, Any]:
    """One 422 ``detail`` entry for a flopgrid error: the field's ``loc``, the message and the line."""
    if isinstance(exc, AssumptionError):
        return {
            "loc": [*prefix, "assumptions", exc.field],
            "msg": exc.message,
            "type": "assumption",
            "scenario_field": exc.path,
        }
    if isinstance(exc, ScenarioError):
        parts = _split_path(exc.path)
        if parts and parts[0] in REQUEST_FIELDS:
            return {"loc": [*prefix, *parts], "msg": exc.message, "type": "value_error"}
        return {
            "loc": [*prefix, source, *parts],
            "msg": exc.message,
            "type": "scenario",
            "field": exc.path,
            "line": exc.line,
            "file": exc.file,
        }
    return {"loc": list(prefix), "msg": str(exc), "type": "value_error"}


class ErrorBody(BaseModel):
    """The body of a 4xx answer other than a 422: what went wrong, in one line."""

    detail: str


#: What each error status of the API means, for the OpenAPI schema.
ERRORS: dict[int, str] = {
    400: "The Host header does not name this machine (a server without a token answers only "
    "localhost, 127.0.0.1 and [::1])",
    401: "The server has a token and the request does not carry it",
    404: "No such job, run, scenario, or no run store on this server",
    409: "The job is not done yet",
    410: "The job's full results are no longer kept (the server keeps its newest jobs' results)",
    413: "The request body is larger than the server's limit",
    422: "The request or the scenario it describes is not valid; each entry names the field",
    429: "The server is busy (job queue or scenario readers full); retry later",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of these error statuses (422 keeps FastAPI's validation schema)."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        out[code] = {"description": ERRORS[code]}
        if code != 422:
            out[code]["model"] = ErrorBody
    return out


#: A CSV or Parquet download, for the OpenAPI schema.
DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The results as a CSV or Parquet attachment (long format)",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def unprocessable(*details: dict[str, Any]) -> SafeJSONResponse:
    """A 422 answer with the given error details (FastAPI's validation-error shape)."""
    return SafeJSONResponse({"detail": list(details)}, status_code=422)


class Problem(Exception):
    """A 4xx answer with a message (not found, conflicts)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ------------------------------------------------------------------------------------- middleware


def host_name(host: str) -> str:
    """The name in a ``Host`` header, without its port: ``[::1]:8000`` → ``::1``.

    >>> host_name("LocalHost:8000"), host_name("[::1]:8000"), host_name("127.0.0.1")
    ('localhost', '::1', '127.0.0.1')
    """
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name.rstrip(".")


def is_loopback_name(host: str) -> bool:
    """Whether a ``Host`` header names this machine: ``localhost``, ``127.0.0.1``, ``[::1]`` (any port).

    >>> is_loopback_name("localhost:8000"), is_loopback_name("[::1]"), is_loopback_name("evil.example")
    (True, True, False)
    """
    name = host_name(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


#: What a request naming another host is told (400).
FOREIGN_HOST = (
    "this server answers only requests for localhost, 127.0.0.1 or [::1] (it has no token); got Host: {}"
)


class Guard:
    """Pure ASGI middleware: the ``Host`` check and the body-size cap.

    A server without a token answers only requests whose ``Host`` names the loopback interface:
    a web page on another site that points its own name at 127.0.0.1 (DNS rebinding) sends its own
    name as ``Host`` and is refused, so it cannot reach the API from the user's browser. A server
    with a token accepts any ``Host`` (the token protects it; it may be bound to a public address).
    """

    def __init__(self, app: ASGIApp, max_body: int, loopback_only: bool = True) -> None:
        self.app = app
        self.max_body = max_body
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.loopback_only and not is_loopback_name(headers.get("host", "")):
            shown = headers.get("host", "(none)")[:100]
            await _reply(send, 400, FOREIGN_HOST.format(shown))
            return
        limit = self.max_body
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await _reply(send, 413, f"the request body is {int(length):,} bytes; the limit is {limit:,}")
            return
        # Read the whole body first (it is capped), so a chunked upload cannot exceed the limit either.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _reply(send, 413, f"the request body exceeds the limit of {limit:,} bytes")
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        await self.app(
            scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send
        )


def _replay(messages: list[Message], upstream: Receive) -> Receive:
    """A ``receive`` that hands out the buffered body, then waits on the real one (for disconnects)."""
    queue = list(messages)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        return await upstream()

    return receive


async def _reply(send: Send, status: int, message: str) -> None:
    body = SafeJSONResponse({"detail": message}).body
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
