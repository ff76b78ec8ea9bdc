"""GET /v1/situation: the situation of a region at a glance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from sitrep.api.asking import Asking, asking
from sitrep.api.filters import Country
from sitrep.api.models import One
from sitrep.api.overview import Overview, overview

router = APIRouter(prefix="/v1", tags=["situation"])


@router.get("/situation", response_model=One[Overview])
async def get_situation(
    ask: Annotated[Asking, Depends(asking)],
    country: Country = None,
    admin1: Annotated[str | None, Query(description="First-level region, any spelling.")] = None,
) -> Response:
    """Places held per actor, recent changes of hands, what is disputed or contested and why,
    the last 24 hours' strikes and casualties, and the latest statements."""
    answers = ask.answers
    view = answers.encoded(
        ("situation", country, admin1),
        lambda: overview(answers, country=country, admin1=admin1),
    )
    assert view is not None  # an overview is never None
    return ask.one_encoded(view)
