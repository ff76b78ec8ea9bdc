"""The routes' guards: who is calling (from the bearer token), and whether they may.

No token or an unknown one where one is needed is a 401 with ``WWW-Authenticate: Bearer``;
a known token without the role is a 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sitrep.api.access import Access, Caller
from sitrep.api.problems import Problem

_bearer = HTTPBearer(
    auto_error=False,
    description="A token made with `sitrep token`: reader, publisher or admin.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _unauthorized(detail: str, *, invalid: bool) -> Problem:
    challenge = 'Bearer realm="sitrep"' + (', error="invalid_token"' if invalid else "")
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": challenge})


def access_of(request: Request) -> Access:
    access: Access = request.app.state.access
    return access


def _caller(access: Access, token: str | None) -> Caller | None:
    if token is None:
        return None
    caller = access.identify(token)
    if caller is None:
        raise _unauthorized("the bearer token is not one this API knows", invalid=True)
    return caller


def reader(access: Access, token: str | None) -> Caller | None:
    """The caller reading with ``token`` (None: none given), if reading is open to them:
    anyone when anonymous reading is on (a token given must still be valid), else a reader or
    admin. Raises the 401 or 403 :class:`Problem` otherwise."""
    caller = _caller(access, token)
    if access.anonymous_read:
        return caller
    if caller is None:
        raise _unauthorized("reading needs a bearer token", invalid=False)
    if not caller.may_read:
        raise Problem(403, "Forbidden", f"{caller.name} is a {caller.role}: it may not read")
    return caller


async def may_read(request: Request, credentials: Credentials) -> Caller | None:
    """The caller, if reading is open to them (:func:`reader`)."""
    return reader(access_of(request), credentials.credentials if credentials else None)


async def may_publish(request: Request, credentials: Credentials) -> Caller:
    """The caller, who must hold a publisher or admin token."""
    caller = _caller(access_of(request), credentials.credentials if credentials else None)
    if caller is None:
        raise _unauthorized("publishing needs a bearer token", invalid=False)
    if not caller.may_publish:
        raise Problem(403, "Forbidden", f"{caller.name} is a {caller.role}: it may not publish")
    return caller
