"""GET /v1/actors and /v1/actors/{actor}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from sitrep.api.asking import Asking, asking_present, encoded_page, read_model
from sitrep.api.holdings import actor_named, actors_page
from sitrep.api.models import Listing, One
from sitrep.api.now import NowIndex
from sitrep.api.paging import DEFAULT_LIMIT, Cursor, Limit
from sitrep.api.problems import not_found
from sitrep.views.actors import ActorView

router = APIRouter(prefix="/v1/actors", tags=["actors"])


def _now(request: Request, ask: Asking) -> NowIndex | None:
    """The index of the present, if it answers this request."""
    model = read_model(request)
    return model.now if ask.indexed(model) else None


@router.get("", response_model=Listing[ActorView])
async def list_actors(
    request: Request,
    ask: Annotated[Asking, Depends(asking_present)],
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """Every actor described or holding a place, with the places it holds, by id."""
    now = _now(request, ask)
    if now is None:
        return ask.listing(actors_page(ask.answers, limit, cursor, None))
    page = now.encoded(
        ("actors", limit, cursor),
        lambda: encoded_page(actors_page(ask.answers, limit, cursor, now)),
    )
    return ask.listing_encoded(page)


@router.get("/{actor}", response_model=One[ActorView])
async def get_actor(
    actor: str, request: Request, ask: Annotated[Asking, Depends(asking_present)]
) -> Response:
    """One actor by its id or any of its names and aliases."""
    found = actor_named(ask.answers, actor, _now(request, ask))
    if found is None:
        raise not_found(f"no actor called {actor!r} is described or holds a place")
    return ask.one(found)
