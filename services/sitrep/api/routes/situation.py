"""GET /v1/situation: the situation of a region at a glance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from sitrep.api.asking import Asking, asking_present, read_model
from sitrep.api.filters import Country
from sitrep.api.models import One
from sitrep.api.overview import Overview, indexed, overview

router = APIRouter(prefix="/v1", tags=["situation"])


@router.get("/situation", response_model=One[Overview])
async def get_situation(
    request: Request,
    ask: Annotated[Asking, Depends(asking_present)],
    country: Country = None,
    admin1: Annotated[str | None, Query(description="First-level region, any spelling.")] = None,
) -> Response:
    """Places held per actor (the holders of most, each with a count and its first places),
    recent changes of hands and what is disputed or contested and why (the first of each,
    with counts), the last 24 hours' strikes and casualties, and the latest statements."""
    answers, model = ask.answers, read_model(request)

    def made() -> object:
        if ask.indexed(model):
            return indexed(model.now, answers, country=country, admin1=admin1)
        return overview(answers, country=country, admin1=admin1)

    view = answers.encoded(("situation", country, admin1), made)
    assert view is not None  # an overview is never None
    return ask.one_encoded(view)
