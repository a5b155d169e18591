"""The token of a server started with ``--token``: a FastAPI security dependency, so that the OpenAPI
schema declares the bearer scheme (``Authorization: Bearer T``) and the ``X-Flopgrid-Token`` header."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from flopgrid.web.http import Problem
from flopgrid.web.state import Services, services

#: What a request without the right token is told (401).
UNAUTHORISED = "this server needs its token: send 'Authorization: Bearer TOKEN'"

# auto_error=False: a missing token is not an error on a server without one, and the 401 carries our
# message rather than FastAPI's.
bearer = HTTPBearer(auto_error=False, description="The token the server was started with (--token).")
token_header = APIKeyHeader(
    name="X-Flopgrid-Token",
    auto_error=False,
    description="The same token, for clients without Authorization.",
)


async def require_token(
    state: Annotated[Services, Depends(services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    header: Annotated[str | None, Security(token_header)],
) -> None:
    """Refuse the request (401) unless it carries the server's token; a server without one lets all in.

    The comparison takes the same time whatever the token given, so it cannot be guessed a character
    at a time.
    """
    token = state.settings.token
    if token is None:
        return
    given = header or (credentials.credentials if credentials is not None else "")
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise Problem(401, UNAUTHORISED)
