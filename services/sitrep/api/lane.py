"""A fast lane for ``GET /v1/places/{place}``: the same answer, without FastAPI's per-request
machinery in the way.

Looking a place up is what clients do most, and once :meth:`Answers.encoded` remembers the
encoded view, what a request costs is FastAPI's: routing, solving the dependencies (the
bearer token, the moments asked), validating the parameters. This pure ASGI middleware answers
the requests it can with the very functions the route uses (:func:`sitrep.api.asking.ask`,
:func:`sitrep.api.authorize.reader`, :func:`sitrep.api.routes.places.place_json`), so the
bytes are the same; everything else (a token refused, a bad moment, an unknown place, a
parameter it does not know) goes on to FastAPI, which answers as it always did. It leaves the
route in the scope, so the metrics count its answers under the route's template.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from sitrep.api.access import Access
from sitrep.api.asking import Asking, Clock, ask
from sitrep.api.authorize import reader
from sitrep.api.encoding import ViewResponse
from sitrep.api.problems import Problem
from sitrep.api.remembered import RememberedAnswers
from sitrep.api.routes.places import PLACE, place_json

PREFIX = PLACE.removesuffix("{place}")
PARAMETERS = frozenset({"at", "known_at"})
CONTENT_TYPE = ViewResponse.media_type.encode("latin-1")


@dataclass(frozen=True)
class RouteTemplate:
    """What the router leaves in the scope, as far as the metrics read it: the route's path."""

    path: str


ROUTE = RouteTemplate(PLACE)


class PlaceLane:
    """Answers ``GET /v1/places/{place}`` when all is well; passes anything else on."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        remembered: RememberedAnswers,
        clock: Clock,
        access: Access,
    ) -> None:
        self.app = app
        self.remembered = remembered
        self.clock = clock
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self._answer(scope) if scope["type"] == "http" else None
        if body is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = ROUTE
        headers = [(b"content-length", b"%d" % len(body)), (b"content-type", CONTENT_TYPE)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _answer(self, scope: Scope) -> bytes | None:
        """The body of a 200 for this request, or None to leave it to FastAPI."""
        path: str = scope["path"]
        if scope["method"] != "GET" or not path.startswith(PREFIX) or scope.get("root_path"):
            return None
        place = path[len(PREFIX) :]
        if not place or "/" in place:
            return None
        given: dict[str, str] = {}
        query: bytes = scope["query_string"]
        if query:
            for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                if name not in PARAMETERS or name in given:
                    return None  # FastAPI's way with them is the route's, not this lane's
                given[name] = value
        try:
            reader(self.access, _bearer_token(scope))
            asking: Asking = ask(
                self.remembered, self.clock, given.get("at"), given.get("known_at")
            )
        except (Problem, _NotBearer):
            return None
        view = place_json(asking, place)
        return None if view is None else asking.one_body(view)


class _NotBearer(Exception):
    """An Authorization header this lane leaves to FastAPI's parsing."""


def _bearer_token(scope: Scope) -> str | None:
    """The bearer token of the request, None when it has no Authorization header."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            header: bytes = value
            scheme, _, token = header.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise _NotBearer
            return token
    return None
