"""GET /v1/places, /v1/places/{place} and its history: the control view."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from sitrep.api.asking import Asking, asking, encoded_page
from sitrep.api.encoding import CSV, GEOJSON, csv_of, feature_collection, freshness_headers
from sitrep.api.filters import Country, places_page
from sitrep.api.models import Listing, One
from sitrep.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, after_key, key_cursor
from sitrep.api.problems import Problem, not_found
from sitrep.views.control import Change, ControlView, Status

router = APIRouter(prefix="/v1/places", tags=["places"])


@router.get(
    "",
    response_model=Listing[ControlView],
    responses={
        200: {
            "description": "json (below), an RFC 7946 FeatureCollection, or CSV, as `format` asks",
            "content": {
                GEOJSON: {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def list_places(
    ask: Annotated[Asking, Depends(asking)],
    country: Country = None,
    admin1: Annotated[str | None, Query(description="First-level region, any spelling.")] = None,
    controller: Annotated[str | None, Query(description="The holder, by id or any alias.")] = None,
    status: Annotated[Status | None, Query()] = None,
    format: Annotated[Literal["json", "geojson", "csv"], Query()] = "json",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """Who controls each place, as asked, by name; json, an RFC 7946 FeatureCollection, or
    CSV. A page may hold fewer than ``limit`` places when a filter passes few of those looked
    at: follow ``next_cursor`` until it is null."""
    asked = ("places", country, admin1, controller, status, limit, cursor)
    made: Page[ControlView] | None = None

    def page() -> Page[ControlView]:
        nonlocal made
        if made is None:
            made = places_page(
                ask.answers,
                limit,
                cursor,
                country=country,
                admin1=admin1,
                controller=controller,
                status=status,
            )
        return made

    # Answered once for the moment asked: the other requests of the second take its bytes.
    answers = ask.answers
    if format == "geojson":
        return ask.features_encoded(
            answers.remembered(
                (*asked, format),
                lambda: feature_collection(page().items, {"next_cursor": page().next_cursor}),
            )
        )
    if format == "csv":
        headers = freshness_headers(ask.freshness)
        cursor_after = answers.remembered(
            (*asked, "cursor"), lambda: (page().next_cursor or "").encode()
        )
        if cursor_after:
            headers["Sitrep-Next-Cursor"] = cursor_after.decode()
        body = answers.remembered((*asked, format), lambda: csv_of(page().items))
        return Response(body, media_type=CSV, headers=headers)
    return ask.listing_encoded(answers.remembered((*asked, format), lambda: encoded_page(page())))


def _unknown(place: str) -> Problem:
    return not_found(f"no reports about a place called {place!r} (by id, name or spelling)")


def _place(ask: Asking, place: str) -> ControlView:
    view = ask.answers.place(place)
    if view is None:
        raise _unknown(place)
    return view


PLACE = f"{router.prefix}/{{place}}"
"""The route of one place; :mod:`sitrep.api.lane` answers most of its requests."""


def place_json(ask: Asking, place: str) -> bytes | None:
    """The control view of ``place`` as asked, encoded (once per remembered moment)."""
    return ask.answers.encoded(("place", place), lambda: ask.answers.place(place))


# Place ids may hold slashes ("sy/syria", a country-level place): both routes take the rest
# of the path, the history first so that ".../history" is not read as part of an id.
@router.get("/{place:path}/history", response_model=Listing[Change])
async def get_place_history(
    place: str,
    ask: Annotated[Asking, Depends(asking)],
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """Every change of hands of a place as asked, the latest first, each with every report
    of it; the place's own answer lists only the latest."""
    history = ask.answers.history(place)
    if history is None:
        raise _unknown(place)
    return ask.listing(_latest_first(history, limit, cursor))


def _latest_first(history: list[Change], limit: int, cursor: str | None) -> Page[Change]:
    """A page of changes of hands, the latest first; a change is known by its first report
    (each report is part of one change), which the cursor holds."""
    changes = history[::-1]
    start = 0
    if cursor is not None:
        (after,) = after_key(cursor, 1)
        firsts = [change.sources[0].event_id for change in changes]
        start = firsts.index(after) + 1 if after in firsts else len(changes)
    page = changes[start : start + limit]
    more = start + limit < len(changes)
    return Page(page, key_cursor([page[-1].sources[0].event_id]) if more else None)


@router.get("/{place:path}", response_model=One[ControlView])
async def get_place(place: str, ask: Annotated[Asking, Depends(asking)]) -> Response:
    """One place by its id or any of its names and spellings."""
    view = place_json(ask, place)
    if view is None:
        raise _unknown(place)
    return ask.one_encoded(view)
