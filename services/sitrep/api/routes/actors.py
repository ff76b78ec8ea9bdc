"""GET /v1/actors and /v1/actors/{actor}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from sitrep.api.asking import Asking, asking
from sitrep.api.models import Listing, One
from sitrep.api.paging import DEFAULT_LIMIT, Cursor, Limit, page_of
from sitrep.api.problems import not_found
from sitrep.views.actors import ActorView

router = APIRouter(prefix="/v1/actors", tags=["actors"])


@router.get("", response_model=Listing[ActorView])
async def list_actors(
    ask: Annotated[Asking, Depends(asking)], limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Response:
    """Every actor described or holding a place, with the places it holds."""
    return ask.listing(page_of(ask.answers.actors, limit, cursor))


@router.get("/{actor}", response_model=One[ActorView])
async def get_actor(actor: str, ask: Annotated[Asking, Depends(asking)]) -> Response:
    """One actor by its id or any of its names and aliases."""
    found = ask.answers.actor(actor)
    if found is None:
        raise not_found(f"no actor called {actor!r} is described or holds a place")
    return ask.one(found)
