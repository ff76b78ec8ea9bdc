"""GET /v1/strikes, /v1/casualties and /v1/statements, with their filters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from sitrep.api.asking import (
    Asking,
    asking,
    asking_present,
    encoded_page,
    moment_param,
    read_model,
)
from sitrep.api.filters import Country, ReportFilter, ranked_list
from sitrep.api.models import Listing
from sitrep.api.moments import EXPECTED
from sitrep.api.now_parties import rank_of
from sitrep.api.paging import DEFAULT_LIMIT, Cursor, Limit
from sitrep.views.casualties import Casualties
from sitrep.views.statements import Statement
from sitrep.views.strikes import Strike

router = APIRouter(prefix="/v1", tags=["reports"])


async def report_filter(
    country: Country = None,
    admin1: Annotated[str | None, Query(description="First-level region, any spelling.")] = None,
    place: Annotated[str | None, Query(description="A place (and what lies in it).")] = None,
    actor: Annotated[str | None, Query(description="Perpetrator, party or speaker.")] = None,
    since: Annotated[str | None, Query(description=f"From: {EXPECTED}.")] = None,
    until: Annotated[str | None, Query(description=f"Until: {EXPECTED}.")] = None,
) -> ReportFilter:
    return ReportFilter(
        country=country,
        admin1=admin1,
        place=place,
        actor=actor,
        since=moment_param("since", since, day_end=False),
        until=moment_param("until", until, day_end=True),
    )


Asked = Annotated[Asking, Depends(asking)]
Present = Annotated[Asking, Depends(asking_present)]
CASUALTIES_LIMIT = 20
"""A party's casualties list its latest 50 periods and reports (tens of KB for a busy party):
a page of 100 was over a megabyte."""
"""A request the index of the present answers when it asks about now."""
Filter = Annotated[ReportFilter, Depends(report_filter)]


@router.get("/strikes", response_model=Listing[Strike])
async def list_strikes(
    ask: Asked, where: Filter, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Response:
    """Each strike once, with every source that reported it, oldest first. A page may hold
    fewer than ``limit`` strikes when a filter passes few of those looked at: follow
    ``next_cursor`` until it is null."""
    page = ask.answers.remembered(
        ("strikes", where, limit, cursor),
        lambda: encoded_page(where.strikes_page(ask.answers, limit, cursor)),
    )
    return ask.listing_encoded(page)


@router.get("/casualties", response_model=Listing[Casualties])
async def list_casualties(
    request: Request,
    ask: Present,
    where: Filter,
    limit: Limit = CASUALTIES_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """Each party's losses as ranges, with the latest periods and reports behind them, most
    killed first, 20 a page unless asked otherwise (a party lists up to 50 of each). A page
    may hold fewer than ``limit`` parties when a filter passes few of those looked at: follow
    ``next_cursor`` until it is null."""
    model = read_model(request)
    if not ask.indexed(model):
        ranked = ranked_list(ask.answers.casualties, rank_of)
        return ask.listing(where.casualties_page(ask.answers, limit, cursor, ranked))
    page = model.now.encoded(
        ("casualties", where, limit, cursor),
        lambda: encoded_page(
            where.casualties_page(ask.answers, limit, cursor, model.now.parties.ranked)
        ),
    )
    return ask.listing_encoded(page)


@router.get("/statements", response_model=Listing[Statement])
async def list_statements(
    ask: Asked, where: Filter, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Response:
    """Statements, newest first; ``country`` is that of the actor spoken for. A page may hold
    fewer than ``limit`` statements when a filter passes few of those looked at: follow
    ``next_cursor`` until it is null."""
    page = ask.answers.remembered(
        ("statements", where, limit, cursor),
        lambda: encoded_page(where.statements_page(ask.answers, limit, cursor)),
    )
    return ask.listing_encoded(page)
