"""GET /v1/strikes, /v1/casualties and /v1/statements, with their filters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from sitrep.api.asking import Asking, asking, moment_param
from sitrep.api.filters import Country, ReportFilter
from sitrep.api.models import Listing
from sitrep.api.moments import EXPECTED
from sitrep.api.paging import DEFAULT_LIMIT, Cursor, Limit, page_of
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
Filter = Annotated[ReportFilter, Depends(report_filter)]


@router.get("/strikes", response_model=Listing[Strike])
async def list_strikes(
    ask: Asked, where: Filter, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Response:
    """Each strike once, with every source that reported it, oldest first. A page may hold
    fewer than ``limit`` strikes when a filter passes few of those looked at: follow
    ``next_cursor`` until it is null."""
    return ask.listing(where.strikes_page(ask.answers, limit, cursor))


@router.get("/casualties", response_model=Listing[Casualties])
async def list_casualties(
    ask: Asked, where: Filter, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Response:
    """Each party's losses as ranges, with every report behind them, largest first."""
    return ask.listing(page_of(where.casualties(ask.answers), limit, cursor))


@router.get("/statements", response_model=Listing[Statement])
async def list_statements(
    ask: Asked, where: Filter, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Response:
    """Statements, newest first; ``country`` is that of the actor spoken for."""
    return ask.listing(page_of(where.statements(ask.answers), limit, cursor))
